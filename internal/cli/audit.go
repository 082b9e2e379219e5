package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/audit"
	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/report"
)

func auditCommand() command {
	return command{name: "audit", summary: "one-shot read-only audit of every configured tenant, with a health score", run: runAudit}
}

const auditHelp = `
Read every configured tenant once (one bulk read per resource type, read-only),
apply the detection rules that need no history, and report findings grouped by
area with owner and fix, a 0-100 health score with each deduction explained,
and the API calls the audit spent. Nothing is stored.

Coverage gaps are reported as findings too: automations with no
error-notification address, critical journeys fed by a data extension with
no freshness SLA, triggered sends not Active, and read scopes the enabled
monitors need but the installed package lacks.

Exit status: 0 no finding at or above --fail-on, 1 such a finding exists,
2 usage error or invalid config.`

func runAudit(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("audit", "--config F [--format text|json|markdown|html] [--fail-on SEVERITY] [--out F]", auditHelp, s)
	cfgPath := fs.String("config", "", "configuration file (required)")
	format := fs.String("format", "text", "output format: text, json, markdown or html (one self-contained file)")
	failOn := fs.String("fail-on", "critical", "exit 1 when a finding has at least this severity (critical, error, warning, info, or none)")
	outPath := fs.String("out", "", "write the report to this file instead of stdout")
	if _, code, done := parseFlags(fs, args, s); done {
		return code
	}
	if *cfgPath == "" {
		fmt.Fprintln(s.Err, "audit: --config is required")
		return ExitUsage
	}
	var threshold catalog.Severity
	if *failOn != "none" {
		sev, err := catalog.ParseSeverity(*failOn)
		if err != nil {
			fmt.Fprintf(s.Err, "audit: --fail-on: %v\n", err)
			return ExitUsage
		}
		threshold = sev
	}
	outFormat, err := report.ParseFormat(*format)
	if err != nil {
		fmt.Fprintf(s.Err, "audit: --format: %v\n", err)
		return ExitUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(s.Err, "audit: %v\n", err)
		return ExitUsage
	}
	if len(cfg.Tenants) == 0 {
		fmt.Fprintf(s.Err, "audit: %v\n", audit.ErrNoTenants)
		return ExitUsage
	}
	logger := slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Progress on stderr once the audit has taken more than 2 s (several
	// tenants, large business units): API calls so far and the last host.
	var calls atomic.Int64
	var lastHost atomic.Value
	lastHost.Store("")
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		lastHost.Store(r.URL.Host)
		return http.DefaultTransport.RoundTrip(r)
	})}
	prog := startProgress(s.Err, 2*time.Second, 5*time.Second, func(el time.Duration) string {
		return fmt.Sprintf("audit: %d tenant(s), %d API calls so far (last to %s), %s", len(cfg.Tenants), calls.Load(), lastHost.Load(), el)
	})
	rep, err := audit.Run(ctx, cfg, audit.Options{Logger: logger, HTTPClient: hc})
	prog.Stop()
	if err != nil {
		fmt.Fprintf(s.Err, "audit: %v\n", err)
		return ExitUsage
	}
	var w io.Writer = s.Out
	if *outPath != "" {
		f, err := os.Create(*outPath)
		if err != nil {
			fmt.Fprintf(s.Err, "audit: %v\n", err)
			return ExitUsage
		}
		defer f.Close()
		w = f
	}
	switch outFormat {
	case report.JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	case report.Markdown:
		err = report.WriteAuditMarkdown(w, rep)
	case report.HTML:
		err = report.WriteAuditHTML(w, rep)
	default:
		err = report.WriteAuditText(w, rep)
	}
	if err != nil {
		fmt.Fprintf(s.Err, "audit: %v\n", err)
		return ExitUsage
	}
	if threshold != "" && rep.MaxSeverity().Rank() >= threshold.Rank() {
		return ExitFindings
	}
	return ExitOK
}

// roundTripFunc is an http.RoundTripper from a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
