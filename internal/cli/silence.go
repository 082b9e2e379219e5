package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func silenceCommand() command {
	return command{name: "silence", summary: "add, list or expire alert silences (silence add|list|expire)", run: runSilence}
}

const silenceHelp = `
Silences mute the notifications of matching incidents for a while; the
incidents are still detected, stored and shown. They live in the store the
config names, so a running sfmcwatch serve applies them within
alerting.poll_interval, and they end by themselves.

  sfmcwatch silence add --config F [--duration 2h | --ends TIME] [--starts TIME]
                        --comment TEXT [--by NAME] MATCHER...
  sfmcwatch silence list --config F [--all] [--json]
  sfmcwatch silence expire --config F ID

MATCHER is label=value, label!=value, label=~regexp or label!~regexp on the
labels family, rule, severity, tenant, owner, resource_type, resource_key,
e.g. tenant=acme 'family=~"server|timeout"'. TIME is RFC 3339.

Exit status: 0 done, 2 usage error, invalid matcher, unreadable config or
store, unknown silence id.`

// currentUser names the operator for created_by / acknowledged_by.
func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if v := os.Getenv("USER"); v != "" {
		return v
	}
	return "cli"
}

// openConfiguredStore loads the config and opens its store.
func openConfiguredStore(ctx context.Context, cmd, path string, s IO) (*config.Config, store.Store, bool) {
	if path == "" {
		fmt.Fprintf(s.Err, "%s: --config is required\n", cmd)
		return nil, nil, false
	}
	cfg, _, err := loadConfigOffline(path)
	if err != nil {
		printConfigError(s, cmd, err)
		return nil, nil, false
	}
	logger := slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := store.Open(ctx, store.Config{Driver: cfg.Storage.Driver, Path: cfg.Storage.Path, DSN: cfg.Storage.DSN.Reveal()}, logger)
	if err != nil {
		fmt.Fprintf(s.Err, "%s: store: %v\n", cmd, err)
		return nil, nil, false
	}
	return cfg, st, true
}

func runSilence(ctx context.Context, args []string, s IO) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs := newFlagSet("silence", "add|list|expire [flags]", silenceHelp, s)
		if _, code, done := parseFlags(fs, args, s); done {
			return code
		}
		fs.SetOutput(s.Err)
		fs.Usage()
		return ExitUsage
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "add":
		return runSilenceAdd(ctx, args, s)
	case "list", "ls":
		return runSilenceList(ctx, args, s)
	case "expire", "rm":
		return runSilenceExpire(ctx, args, s)
	}
	fmt.Fprintf(s.Err, "silence: unknown sub-command %q (want add, list or expire)\n", sub)
	return ExitUsage
}

func runSilenceAdd(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("silence add", "--config F [--duration 2h | --ends TIME] [--starts TIME] --comment TEXT [--by NAME] MATCHER...", silenceHelp, s)
	cfgPath := fs.String("config", "", "configuration file (required)")
	duration := durationFlag(fs, "duration", 2*time.Hour, "how long the silence lasts (ignored with --ends)")
	starts := fs.String("starts", "", "start (RFC 3339; default now)")
	ends := fs.String("ends", "", "end (RFC 3339)")
	comment := fs.String("comment", "", "why (required)")
	by := fs.String("by", currentUser(), "author")
	rest, code, done := parseFlags(fs, args, s)
	if done {
		return code
	}
	if len(rest) == 0 {
		fmt.Fprintln(s.Err, "silence add: at least one MATCHER is required, e.g. tenant=acme family=server")
		return ExitUsage
	}
	if strings.TrimSpace(*comment) == "" {
		fmt.Fprintln(s.Err, "silence add: --comment is required (say why, for whoever wonders where the alerts went)")
		return ExitUsage
	}
	sil := store.Silence{CreatedBy: *by, Comment: *comment, StartsAt: time.Now().UTC()}
	for _, arg := range rest {
		m, err := store.ParseMatcher(arg)
		if err != nil {
			fmt.Fprintf(s.Err, "silence add: %v\n", err)
			return ExitUsage
		}
		sil.Matchers = append(sil.Matchers, m)
	}
	sil.CreatedAt = sil.StartsAt
	if *starts != "" {
		t, err := time.Parse(time.RFC3339, *starts)
		if err != nil {
			fmt.Fprintf(s.Err, "silence add: --starts: want RFC 3339: %v\n", err)
			return ExitUsage
		}
		sil.StartsAt = t.UTC()
	}
	sil.EndsAt = sil.StartsAt.Add(*duration)
	if *ends != "" {
		t, err := time.Parse(time.RFC3339, *ends)
		if err != nil {
			fmt.Fprintf(s.Err, "silence add: --ends: want RFC 3339: %v\n", err)
			return ExitUsage
		}
		sil.EndsAt = t.UTC()
	}
	_, st, ok := openConfiguredStore(ctx, "silence add", *cfgPath, s)
	if !ok {
		return ExitUsage
	}
	defer st.Close()
	created, err := st.CreateSilence(ctx, sil)
	if err != nil {
		fmt.Fprintf(s.Err, "silence add: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintf(s.Out, "silence %d created: %s until %s\n", created.ID, matcherList(created.Matchers), created.EndsAt.Format(time.RFC3339))
	return ExitOK
}

func matcherList(ms []store.SilenceMatcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return strings.Join(parts, " ")
}

func runSilenceList(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("silence list", "--config F [--all] [--json]", silenceHelp, s)
	cfgPath := fs.String("config", "", "configuration file (required)")
	all := fs.Bool("all", false, "include expired and future silences")
	asJSON := fs.Bool("json", false, "print JSON")
	rest, code, done := parseFlags(fs, args, s)
	if done {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintln(s.Err, "silence list: unexpected arguments")
		return ExitUsage
	}
	_, st, ok := openConfiguredStore(ctx, "silence list", *cfgPath, s)
	if !ok {
		return ExitUsage
	}
	defer st.Close()
	now := time.Now().UTC()
	f := store.SilenceFilter{ActiveAt: now}
	if *all {
		f.ActiveAt = time.Time{}
	}
	sils, err := st.ListSilences(ctx, f)
	if err != nil {
		fmt.Fprintf(s.Err, "silence list: %v\n", err)
		return ExitUsage
	}
	if *asJSON {
		if sils == nil {
			sils = []store.Silence{}
		}
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(sils)
		return ExitOK
	}
	if len(sils) == 0 {
		fmt.Fprintln(s.Out, "no silences")
		return ExitOK
	}
	tw := tabwriter.NewWriter(s.Out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSTARTS\tENDS\tBY\tMATCHERS\tCOMMENT")
	for _, x := range sils {
		state := "active"
		switch {
		case !now.Before(x.EndsAt):
			state = "expired"
		case now.Before(x.StartsAt):
			state = "pending"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", x.ID, state, x.StartsAt.Format(time.RFC3339),
			x.EndsAt.Format(time.RFC3339), x.CreatedBy, matcherList(x.Matchers), x.Comment)
	}
	_ = tw.Flush()
	return ExitOK
}

func runSilenceExpire(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("silence expire", "--config F ID", silenceHelp, s)
	cfgPath := fs.String("config", "", "configuration file (required)")
	rest, code, done := parseFlags(fs, args, s)
	if done {
		return code
	}
	if len(rest) != 1 {
		fmt.Fprintln(s.Err, "silence expire: exactly one silence ID is required")
		return ExitUsage
	}
	id, err := strconv.ParseInt(rest[0], 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(s.Err, "silence expire: %q is not a silence ID\n", rest[0])
		return ExitUsage
	}
	_, st, ok := openConfiguredStore(ctx, "silence expire", *cfgPath, s)
	if !ok {
		return ExitUsage
	}
	defer st.Close()
	sil, err := st.ExpireSilence(ctx, id, time.Now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(s.Err, "silence expire: no silence %d\n", id)
		return ExitUsage
	}
	if err != nil {
		fmt.Fprintf(s.Err, "silence expire: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintf(s.Out, "silence %d expired at %s\n", sil.ID, sil.EndsAt.Format(time.RFC3339))
	return ExitOK
}
