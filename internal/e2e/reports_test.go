package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sfmcwatch/sfmcwatch/internal/audit"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/digest"
	"github.com/sfmcwatch/sfmcwatch/internal/digest/digesttest"
	"github.com/sfmcwatch/sfmcwatch/internal/report"
	"github.com/sfmcwatch/sfmcwatch/internal/selfcheck"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// noExternal fails when an HTML report references anything off the page.
func noExternal(t *testing.T, html []byte) {
	t.Helper()
	for _, bad := range []string{"<script", "<link", `src="http`, `href="http`, "@import", "url("} {
		if bytes.Contains(html, []byte(bad)) {
			t.Errorf("report is not self-contained: %q", bad)
		}
	}
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return mustAbs(t, p)
}

// TestAuditHTMLReportInBrowser audits a simulated tenant (with a paused
// triggered send and a removed scope), renders the HTML report and checks
// in Chromium that the gauge, the deduction chart, every area and the
// coverage table are there.
func TestAuditHTMLReportInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	start := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	s, err := sim.New(sim.Options{Seed: 3, Start: start, Now: func() time.Time { return start },
		Size: sim.Size{Automations: 24, Journeys: 8, DataExtensions: 30, TriggeredSends: 10, Transactional: 3, Imports: 5}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	mid := s.MIDs()[0]
	s.Inject(sim.Fault{Kind: sim.FaultTriggeredSendInactive, Target: s.ObjectKeys(mid, "triggered_send")[0]})
	s.Inject(sim.Fault{Kind: sim.FaultScopeRemoved, Target: "data_extensions_read"})
	c := s.Credentials()
	cfg, err := config.Parse("audit.yaml", []byte(fmt.Sprintf(`
tenants:
  - name: sim
    auth_url: %[1]s
    rest_url: %[1]s
    soap_url: %[1]s
    client_id: %[2]s
    client_secret: %[3]s
    account_id: "%[4]d"
    monitors:
      journeys: {critical: [%[5]s]}
`, srv.URL, c.ClientID, c.ClientSecret, mid, strings.Join(s.ObjectKeys(mid, "journey")[:3], ", "))), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Run(context.Background(), cfg, audit.Options{Now: func() time.Time { return start }})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := report.WriteAuditHTML(&b, rep); err != nil {
		t.Fatal(err)
	}
	noExternal(t, b.Bytes())
	page := writeTemp(t, "audit.html", b.Bytes())

	if _, err := chromedp.Run(ctx, chromedp.Navigate("file://"+page)); err != nil {
		t.Fatalf("browser: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.WaitVisible(chromedp.CSS("svg.gauge"))); err != nil {
		t.Fatalf("browser: %v", err)
	}
	title := run(t, ctx, chromedp.Title())
	gauge := run(t, ctx, chromedp.Evaluate[string](`document.querySelector("svg.gauge").getAttribute("aria-label")`))
	bars := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.deductions rect").length`))
	areas := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("section.tenant h4").length`))
	gaps := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(".gap").length`))
	coverageRows := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.coverage tr").length`))
	text := run(t, ctx, chromedp.Evaluate[string](`document.body.innerText`))
	// The gauge and the bars are laid out inside the page (not clipped).
	width := run(t, ctx, chromedp.Evaluate[float64](`document.querySelector("svg.deductions").getBoundingClientRect().right`))
	png := run(t, ctx, chromedp.FullScreenshot(100))
	saveScreenshot(t, "audit-report.png", png)

	tn := rep.Tenants[0]
	if !strings.Contains(title, fmt.Sprintf("%d/100", tn.Score)) || gauge != fmt.Sprintf("Health score %d of 100 (%s)", tn.Score, tn.Grade) {
		t.Errorf("title %q gauge %q, score %d", title, gauge, tn.Score)
	}
	if bars != len(tn.Deductions) || bars == 0 {
		t.Errorf("%d deduction bars for %d deductions", bars, len(tn.Deductions))
	}
	if areas != 6 {
		t.Errorf("%d area headings, want 6 (access, automations, journeys, sends, data extensions, imports)", areas)
	}
	if gaps == 0 || coverageRows != 4 {
		t.Errorf("%d coverage-gap badges, %d coverage rows", gaps, coverageRows)
	}
	for _, want := range []string{"data_extensions_read", "How the health score is computed", "API calls this audit spent", "not Active"} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered audit lacks %q", want)
		}
	}
	if width > 1280 {
		t.Errorf("deduction chart overflows the window: right edge %.0f", width)
	}
}

// TestDigestHTMLInBrowser renders the digest of a seeded week and checks
// the sections, the family chart and that every incident is listed with
// its detection time.
func TestDigestHTMLInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	st := digesttest.Open(t)
	digesttest.Seed(t, st, digesttest.Week, true)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata")
	}
	d, err := digest.Build(context.Background(), st, digest.Options{Now: func() time.Time { return digesttest.End }, Location: berlin})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := report.WriteDigestHTML(&b, d); err != nil {
		t.Fatal(err)
	}
	noExternal(t, b.Bytes())
	page := writeTemp(t, "digest.html", b.Bytes())
	if _, err := chromedp.Run(ctx, chromedp.Navigate("file://"+page)); err != nil {
		t.Fatalf("browser: %v", err)
	}
	sections := run(t, ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("h2")).map(h => h.id).join(",")`))
	rows := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.incidents tr").length`))
	bars := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.families rect").length`))
	fix := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("ol.fixfirst > li").length`))
	text := run(t, ctx, chromedp.Evaluate[string](`document.body.innerText`))
	png := run(t, ctx, chromedp.FullScreenshot(100))
	saveScreenshot(t, "digest.png", png)

	if sections != "fix-first,by-tenant,timing,recurring,silent,api,incidents" {
		t.Errorf("sections %s", sections)
	}
	if rows != len(d.Incidents)+1 {
		t.Errorf("%d incident rows for %d incidents", rows-1, len(d.Incidents))
	}
	if bars != 2*len(d.Families) {
		t.Errorf("%d family bars for %d families", bars, len(d.Families))
	}
	if fix != len(d.FixFirst) {
		t.Errorf("%d fix-first items, want %d", fix, len(d.FixFirst))
	}
	for _, in := range d.Incidents {
		if !strings.Contains(text, in.Title) {
			t.Errorf("digest does not name %q", in.Title)
		}
	}
	if !strings.Contains(text, "median 5m, p90 1h13m") {
		t.Error("TTD figures missing")
	}
}

// TestSelfcheckPageInBrowser answers the five questions in the page and
// checks the result (score, risks, a starter config the loader accepts).
func TestSelfcheckPageInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	srv := httptest.NewServer(selfcheck.Handler(nil))
	defer srv.Close()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/selfcheck")); err != nil {
		t.Fatalf("browser: %v", err)
	}
	for _, sel := range []string{`input[name=failed_automations][value=manual]`, `input[name=api_errors_logged][value=no]`,
		`input[name=freshness_slas][value=none]`, `input[name=notification_recipients][value=one_person]`, `input[name=credential_rotation][value=on_break]`} {
		if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
	}
	if _, err := chromedp.Run(ctx, chromedp.Click(chromedp.CSS(`button[type=submit]`))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.WaitVisible(chromedp.CSS("#score"))); err != nil {
		t.Fatal(err)
	}
	score := run(t, ctx, chromedp.Evaluate[string](`document.querySelector("#score").innerText`))
	risks := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll(".risk").length`))
	cfgText := run(t, ctx, chromedp.Evaluate[string](`document.querySelector("#config").innerText`))
	png := run(t, ctx, chromedp.FullScreenshot(100))
	saveScreenshot(t, "selfcheck.png", png)
	if score != "Maturity 15/100: reactive" || risks != 5 {
		t.Errorf("score %q, %d risks", score, risks)
	}
	if _, err := config.Parse("sfmcwatch.yaml", []byte(cfgText), func(n string) (string, bool) { return "x", n == "SFMC_CLIENT_SECRET" }); err != nil {
		t.Errorf("the page's starter config is invalid: %v", err)
	}
}
