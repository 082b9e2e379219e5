package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/digest"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/channels"
	"github.com/sfmcwatch/sfmcwatch/internal/report"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func digestCommand() command {
	return command{name: "digest", summary: "weekly post-mortem digest of the stored incidents (Markdown, HTML, text)", run: runDigest}
}

const digestHelp = `
Build the post-mortem digest of the period ending now (or at --at) from the
store the config names: incidents per tenant and family, time to detection
and time to resolve (median, p90) against the period before, recurring
patterns with their fix, silent failures caught, API budget spent, and a
"fix these first" list ranked by business impact. A period with no
incidents says so in one line.

--send RECEIVER queues the digest for an alerting receiver (HTML e-mail
with a text part, Markdown for chat channels) in the store's durable
outbox; sfmcwatch serve delivers it. serve also runs the digest itself on
digest.schedule (default Monday 08:00 in digest.timezone), once across
replicas.

Exit status: 0 written (and queued), 2 usage error, unreadable config or
store, unknown receiver.`

func runDigest(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("digest", "--config F [--since 168h] [--format markdown|html|text|json] [--out F] [--send RECEIVER] [--at TIME]", digestHelp, s)
	cfgPath := fs.String("config", "", "configuration file (required)")
	since := durationFlag(fs, "since", 0, "length of the period (default digest.period, 168h)")
	format := fs.String("format", "markdown", "output format: markdown, html, text or json")
	outPath := fs.String("out", "", "write the digest to this file instead of stdout")
	at := fs.String("at", "", "end of the period (RFC 3339; default now)")
	var send []string
	fs.Func("send", "queue the digest for this alerting receiver (repeatable)", func(v string) error {
		send = append(send, v)
		return nil
	})
	if _, code, done := parseFlags(fs, args, s); done {
		return code
	}
	if *cfgPath == "" {
		fmt.Fprintln(s.Err, "digest: --config is required")
		return ExitUsage
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		fmt.Fprintf(s.Err, "digest: --format: %v\n", err)
		return ExitUsage
	}
	now := time.Now
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(s.Err, "digest: --at: want RFC 3339 (2026-11-09T08:00:00+01:00): %v\n", err)
			return ExitUsage
		}
		now = func() time.Time { return t }
	}
	// Without --send the digest only reads the store: the SFMC and receiver
	// secrets need not be set.
	load := func(p string) (*config.Config, error) {
		cfg, _, err := loadConfigOffline(p)
		return cfg, err
	}
	if len(send) > 0 {
		load = config.Load
	}
	cfg, err := load(*cfgPath)
	if err != nil {
		printConfigError(s, "digest", err)
		return ExitUsage
	}
	period := cfg.Digest.Period.Std()
	if *since > 0 {
		period = *since
	}
	logger := slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := store.Open(ctx, store.Config{Driver: cfg.Storage.Driver, Path: cfg.Storage.Path, DSN: cfg.Storage.DSN.Reveal()}, logger)
	if err != nil {
		fmt.Fprintf(s.Err, "digest: store: %v\n", err)
		return ExitUsage
	}
	defer st.Close()
	d, err := digest.Build(ctx, st, digest.Options{Period: period, Now: now, Config: cfg, Location: cfg.Digest.Location()})
	if err != nil {
		fmt.Fprintf(s.Err, "digest: %v\n", err)
		return ExitUsage
	}
	var w io.Writer = s.Out
	if *outPath != "" {
		file, err := os.Create(*outPath)
		if err != nil {
			fmt.Fprintf(s.Err, "digest: %v\n", err)
			return ExitUsage
		}
		defer file.Close()
		w = file
	}
	if err := writeDigest(w, f, d); err != nil {
		fmt.Fprintf(s.Err, "digest: %v\n", err)
		return ExitUsage
	}
	if len(send) > 0 {
		disp, err := notify.New(notify.Options{Store: st, Config: config.NewHolder(cfg, config.Loader{}), Logger: logger,
			Build: channels.Builder(channels.Options{Stdout: s.Out, Stderr: s.Err})})
		if err != nil {
			fmt.Fprintf(s.Err, "digest: --send: %v\n", err)
			return ExitUsage
		}
		for _, r := range send {
			if err := sendDigest(ctx, disp, r, d); err != nil {
				fmt.Fprintf(s.Err, "digest: --send %s: %v\n", r, err)
				return ExitUsage
			}
			fmt.Fprintf(s.Err, "digest: queued for receiver %s (sfmcwatch serve delivers it)\n", r)
		}
	}
	return ExitOK
}

func writeDigest(w io.Writer, f report.Format, d *digest.Digest) error {
	switch f {
	case report.HTML:
		return report.WriteDigestHTML(w, d)
	case report.Text:
		return report.WriteDigestText(w, d)
	case report.JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	return report.WriteDigestMarkdown(w, d)
}

// reportSender is what delivering a digest needs from the notifiers
// (notify.Dispatcher).
type reportSender interface {
	SendReport(ctx context.Context, receiver string, r notify.Report) error
}

// sendDigest renders d for a receiver: HTML e-mail with a text part, and
// Markdown for chat channels; the key makes a re-run idempotent.
func sendDigest(ctx context.Context, to reportSender, receiver string, d *digest.Digest) error {
	e, err := report.NewDigestEmail(d)
	if err != nil {
		return err
	}
	var md bytes.Buffer
	if err := report.WriteDigestMarkdown(&md, d); err != nil {
		return err
	}
	return to.SendReport(ctx, receiver, notify.Report{Subject: e.Subject, Text: e.Text, HTML: e.HTML, Markdown: md.String(),
		Key: "digest-" + d.To.UTC().Format("2006-01-02T15:04")})
}

// digestDeliverer is the scheduled digest's delivery in serve: Markdown and
// HTML files into digest.out_dir, and each digest.receivers entry through
// the notifiers (sender nil: receivers are reported as not sent).
func digestDeliverer(current func() *config.Config, sender reportSender, logger *slog.Logger) func(context.Context, *digest.Digest) error {
	return func(ctx context.Context, d *digest.Digest) error {
		cfg := current()
		var errs []error
		if dir := cfg.Digest.OutDir; dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				errs = append(errs, err)
			}
			stamp := d.To.In(cfg.Digest.Location()).Format("2006-01-02")
			for _, f := range []report.Format{report.Markdown, report.HTML} {
				ext := map[report.Format]string{report.Markdown: "md", report.HTML: "html"}[f]
				p := filepath.Join(dir, "digest-"+stamp+"."+ext)
				var b bytes.Buffer
				if err := writeDigest(&b, f, d); err != nil {
					errs = append(errs, err)
					continue
				}
				if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
					errs = append(errs, err)
					continue
				}
				logger.Info("weekly digest written", "file", p)
			}
		}
		for _, r := range cfg.Digest.Receivers {
			if sender == nil {
				errs = append(errs, fmt.Errorf("receiver %s: no notifier dispatcher in this process", r))
				continue
			}
			if err := sendDigest(ctx, sender, r, d); err != nil {
				errs = append(errs, fmt.Errorf("receiver %s: %w", r, err))
			}
		}
		return errors.Join(errs...)
	}
}
