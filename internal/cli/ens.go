package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/ens"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func ensCommand() command {
	return command{name: "ens", summary: "set up SFMC Event Notification Service push (the one write to SFMC)", run: runENS}
}

const ensHelp = `
ens setup creates an Event Notification Service callback for one tenant,
confirms its verification and subscribes it to Automation Studio instance
events and transactional send outcomes (sent, not sent, bounced).

This is the ONLY sfmcwatch action that writes to SFMC. The tenant's
installed package needs write scopes for it (event notification callback
and subscription create/read); everything else sfmcwatch does is
read-only, so keep these credentials out of the monitor's config or
remove the scopes afterwards.

Before running it, start 'sfmcwatch serve' with the same config (the same
store) and make --url its public HTTPS address of /hooks/ens: SFMC posts a
verification there while the callback is created; serve accepts it only
during this command's window and hands it back through the store.

SFMC returns the callback's signature key once, at creation: it is written
to --key-out (mode 0600; never printed). Then add the source and reload:

  ingest:
    sources:
      - name: ens-prod
        type: ens
        tenant: <T>
        signature_key_file: <key-out>

Exit status: 0 when the callback is verified and subscribed, 1 when SFMC
refused a step (the key file is kept when the callback exists), 2 for bad
flags or config.`

func runENS(ctx context.Context, args []string, s IO) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help") {
		args = []string{"setup", "--help"}
	}
	if len(args) == 0 || args[0] != "setup" {
		fmt.Fprintln(s.Err, "usage: sfmcwatch ens setup --config F --tenant T --url U [flags] (see sfmcwatch ens --help)")
		return ExitUsage
	}
	fs := newFlagSet("ens setup", "--config F --tenant T --url U", ensHelp, s)
	path := fs.String("config", "sfmcwatch.yaml", "config file (its store must be the running serve's)")
	tenant := fs.String("tenant", "", "tenant whose credentials create the callback")
	url := fs.String("url", "", "public https URL of /hooks/ens on the running serve")
	name := fs.String("name", "sfmcwatch", "callback and subscription name")
	events := fs.String("events", strings.Join(ens.DefaultEventTypes(), ","), "comma-separated event category types")
	filter := fs.String("filter", "", "optional subscription filters, comma-separated (e.g. definitionKey=welcome)")
	keyOut := fs.String("key-out", "", "file to write the signature key to (default: ens-<tenant>.key beside the config)")
	wait := durationFlag(fs, "wait", time.Minute, "how long to wait for the verification to reach serve")
	rest, code, done := parseFlags(fs, args[1:], s)
	if done {
		return code
	}
	if len(rest) > 0 || *tenant == "" || *url == "" {
		fmt.Fprintln(s.Err, "ens setup: --tenant and --url are required (and no other arguments)")
		return ExitUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		printConfigError(s, "ens setup", err)
		return ExitUsage
	}
	var tc *config.Tenant
	for i := range cfg.Tenants {
		if cfg.Tenants[i].Name == *tenant {
			tc = &cfg.Tenants[i]
		}
	}
	if tc == nil {
		fmt.Fprintf(s.Err, "ens setup: %s: no tenant named %q\n", *path, *tenant)
		return ExitUsage
	}
	out := *keyOut
	if out == "" {
		out = filepath.Join(filepath.Dir(*path), "ens-"+tc.Name+".key")
	}
	// Create the key file first: a key SFMC shows once must have a home.
	kf, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		fmt.Fprintf(s.Err, "ens setup: key file: %v (remove it or choose another --key-out)\n", err)
		return ExitUsage
	}
	logger, err := newLogger(cfg.Logging, s.Err)
	if err != nil {
		kf.Close()
		os.Remove(out)
		fmt.Fprintf(s.Err, "ens setup: %s: logging: %v\n", *path, err)
		return ExitUsage
	}
	st, err := store.Open(ctx, store.Config{Driver: cfg.Storage.Driver, Path: cfg.Storage.Path, DSN: cfg.Storage.DSN.Reveal()}, logger)
	if err != nil {
		kf.Close()
		os.Remove(out)
		fmt.Fprintf(s.Err, "ens setup: open the store: %v\n", err)
		return ExitFindings
	}
	defer st.Close()
	ep := tc.Endpoints()
	res, err := ens.Setup(ctx, ens.SetupOptions{AuthURL: ep.Auth, RestURL: ep.REST, ClientID: tc.ClientID,
		ClientSecret: tc.ClientSecret.Reveal(), AccountID: tc.AccountID, CallbackName: *name, URL: *url,
		EventTypes: splitList(*events), Filters: splitList(*filter), Cursors: st, VerifyWait: *wait, Logger: logger})
	if res.SignatureKey != "" {
		if _, werr := kf.WriteString(res.SignatureKey + "\n"); werr != nil {
			err = errors.Join(err, fmt.Errorf("write key file: %w", werr))
		}
	}
	kf.Close()
	if res.SignatureKey == "" {
		os.Remove(out)
	}
	if res.CallbackID != "" {
		fmt.Fprintf(s.Out, "callback %s created; signature key written to %s\n", res.CallbackID, out)
	}
	if err != nil {
		fmt.Fprintf(s.Err, "ens setup: %v\n", err)
		return ExitFindings
	}
	fmt.Fprintf(s.Out, "callback verified; subscription(s) %s active\n", strings.Join(res.SubscriptionIDs, ", "))
	fmt.Fprintf(s.Out, "next: add an ingest source {type: ens, tenant: %s, signature_key_file: %s} and reload serve\n", tc.Name, out)
	return ExitOK
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
