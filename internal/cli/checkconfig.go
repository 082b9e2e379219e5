package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
)

func checkConfigCommand() command {
	return command{name: "check-config", summary: "validate a config file and print its problems", run: runCheckConfig}
}

const checkConfigHelp = `
Load, default and validate the config file. Prints "ok" with a short
summary and any warnings when the file is valid; otherwise prints every
problem as file:line:column: key: message. Without --online nothing is
sent to SFMC, and unset SFMC secrets (${ENV} or *_file) are warnings, not
errors: serve needs them, the offline check does not.

--online also checks every tenant against SFMC: that its hosts answer, that
the token request succeeds with the configured client id, secret and MID,
which scopes the token carries, and one cheap read per enabled monitor
(a lookup of an object that does not exist: a token and at most 7 calls per tenant).
Each failure names its cause: unreachable, credentials refused, or the
exact scope (and the installed-package permission) that is missing.

Exit status: 0 valid (and, with --online, every check passed), 1 valid with
warnings and --strict, or an --online check failed, 2 invalid or
unreadable.`

func runCheckConfig(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("check-config", "[--config F] [--strict] [--online]", checkConfigHelp, s)
	path := fs.String("config", "sfmcwatch.yaml", "config file")
	strict := fs.Bool("strict", false, "exit 1 when there are warnings")
	online := fs.Bool("online", false, "also check reachability, credentials and scopes against SFMC (one cheap call per monitor)")
	rest, code, done := parseFlags(fs, args, s)
	if done {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintln(s.Err, "check-config: unexpected arguments (use --config F)")
		return ExitUsage
	}
	var (
		cfg  *config.Config
		err  error
		note string
	)
	if *online {
		cfg, err = config.Load(*path)
	} else {
		cfg, note, err = loadConfigOffline(*path)
	}
	if err != nil {
		printConfigError(s, "check-config", err)
		return ExitUsage
	}
	if note != "" {
		cfg.Warnings = append(cfg.Warnings, config.Problem{File: *path, Message: "secrets " + note + " (serve and --online need them)"})
	}
	monitors, rules := 0, 0
	for i := range cfg.Tenants {
		cfg.Tenants[i].Monitors.Each(func(_ string, m *config.Monitor) {
			if m.Enabled {
				monitors++
			}
		})
	}
	all := cfg.Rules.All()
	for _, r := range all {
		if r.Base.Enabled {
			rules++
		}
	}
	fmt.Fprintf(s.Out, "ok: %s: %d tenant(s), %d monitor(s) enabled, %d of %d rules enabled, %d ingest source(s), storage %s\n",
		*path, len(cfg.Tenants), monitors, rules, len(all), len(cfg.Ingest.Sources), cfg.Storage.Driver)
	for _, t := range cfg.Tenants {
		printCallPlan(s, &t)
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(s.Out, "warning: %s\n", w)
	}
	if *online {
		if n := onlineCheck(ctx, cfg, &http.Client{Timeout: 30 * time.Second}, s.Out); n > 0 {
			fmt.Fprintf(s.Out, "check-config --online: %d problem(s)\n", n)
			return ExitFindings
		}
		fmt.Fprintln(s.Out, "check-config --online: every tenant reachable, authorized and scoped for its monitors")
	}
	if *strict && len(cfg.Warnings) > 0 {
		return ExitFindings
	}
	return ExitOK
}

// printCallPlan prints a tenant's planned API calls a day, by monitor and
// kind of call, for the reference business unit (the collectors' own
// plan: internal/callplan).
func printCallPlan(s IO, t *config.Tenant) {
	inv := callplan.Reference()
	p := t.CallPlan(inv)
	fmt.Fprintf(s.Out, "  tenant %s: ~%d API calls/day of a %s budget (+%d once while the tenant is learned)\n",
		t.Name, p.PerDay(), budgetText(t.DailyAPIBudget), p.Once())
	fmt.Fprintf(s.Out, "    planned for %d automations, %d journeys, %d data extensions, %d triggered sends, %d transactional definitions, %d imports:\n",
		inv.Automations, inv.Journeys, inv.DataExtensions, inv.TriggeredSends, inv.Transactional, inv.Imports)
	for _, m := range p.Monitors {
		every := ""
		if m.Name != callplan.Tokens {
			every = " every " + shortInterval(m.Interval)
		}
		fmt.Fprintf(s.Out, "    %-16s %6.0f/day%s\n", m.Name, m.PerDay(), every)
		for _, l := range m.Lines {
			fmt.Fprintf(s.Out, "      %6.0f  %s\n", l.PerDay, l.Call)
		}
	}
}

func shortInterval(d time.Duration) string {
	switch {
	case d > 0 && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

func budgetText(b int64) string {
	if b == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d", b)
}

// printConfigError prints every problem of a config error, one a line.
func printConfigError(s IO, cmd string, err error) {
	var ce *config.Error
	if errors.As(err, &ce) {
		for _, p := range ce.Problems {
			fmt.Fprintf(s.Err, "error: %s\n", p)
		}
		fmt.Fprintf(s.Err, "%s: %d problem(s); the config is invalid\n", cmd, len(ce.Problems))
		return
	}
	fmt.Fprintf(s.Err, "%s: %v\n", cmd, err)
}
