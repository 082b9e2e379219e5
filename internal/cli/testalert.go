package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/channels"
)

func testAlertCommand() command {
	return command{name: "test-alert", summary: "send a sample notification through a configured receiver", run: runTestAlert}
}

const testAlertHelp = `
Send a sample notification (a fake auth incident with its fix, evidence and
link) through the receiver named RECEIVER in the config, directly (not via
the outbox), and report the outcome. PagerDuty gets a trigger and an
immediate resolve for a throw-away incident.

Exit status: 0 delivered, 1 delivery failed (the message says whether a
retry could help), 2 usage error, invalid config or unknown receiver.`

func runTestAlert(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("test-alert", "--config F RECEIVER", testAlertHelp, s)
	cfgPath := fs.String("config", "", "configuration file (required)")
	timeout := durationFlag(fs, "timeout", 30*time.Second, "give up after this long")
	rest, code, done := parseFlags(fs, args, s)
	if done {
		return code
	}
	if len(rest) != 1 || *cfgPath == "" {
		fmt.Fprintln(s.Err, "test-alert: --config and exactly one RECEIVER are required")
		return ExitUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		printConfigError(s, "test-alert", err)
		return ExitUsage
	}
	r := cfg.Alerting.Receiver(rest[0])
	if r == nil {
		var names []string
		for _, x := range cfg.Alerting.Receivers {
			names = append(names, x.Name)
		}
		fmt.Fprintf(s.Err, "test-alert: no receiver %q in %s (configured: %v)\n", rest[0], *cfgPath, names)
		return ExitUsage
	}
	n, err := channels.Build(*r, channels.Options{Stdout: s.Out, Stderr: s.Err})
	if err != nil {
		fmt.Fprintf(s.Err, "test-alert: %v\n", err)
		return ExitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	m := notify.SampleMessage(r.Name, cfg.Server.ExternalURL, time.Now())
	if err := n.Notify(ctx, m); err != nil {
		hint := "permanent: fix the receiver's configuration"
		if notify.IsRetryable(err) {
			hint = "transient: sfmcwatch serve would retry it"
		}
		fmt.Fprintf(s.Err, "test-alert: %s: delivery failed (%s): %v\n", r.Name, hint, err)
		return ExitFindings
	}
	fmt.Fprintf(s.Out, "test-alert: sample notification delivered to %s (%v)\n", r.Name, r.Channels())
	return ExitOK
}
