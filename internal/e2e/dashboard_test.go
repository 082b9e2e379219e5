package e2e

import (
	"context"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
	"github.com/sfmcwatch/sfmcwatch/internal/web"
	"github.com/sfmcwatch/sfmcwatch/internal/web/webtest"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write the overview screenshot to docs/dashboard.png")

// dashboard is a web server on loopback over a seeded store with one admin.
type dashboard struct {
	URL      string
	Store    store.Store
	Seeded   *webtest.Result
	User, PW string
}

func startDashboard(t *testing.T) *dashboard {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "dash.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC()
	res, err := webtest.Seed(ctx, st, webtest.Options{Now: now, Days: 3})
	if err != nil {
		t.Fatal(err)
	}
	const user, pw = "ana", "correct horse battery"
	hash, err := web.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, store.User{Name: user, Role: store.RoleAdmin, PasswordHash: hash}, now); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Store: st}).HTTPServer(ln.Addr().String())
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &dashboard{URL: "http://" + ln.Addr().String(), Store: st, Seeded: res, User: user, PW: pw}
}

// TestDashboardInBrowser walks the dashboard as an operator would: log in,
// see the open incidents on the overview, open one, acknowledge it, silence
// similar alerts, scan a log, decode an error — saving a screenshot of
// each step.
func TestDashboardInBrowser(t *testing.T) {
	ctx := newDashboardBrowser(t, 4*time.Minute)
	d := startDashboard(t)

	// Anonymous visitors land on the login page.
	if err := chromedp.Do(ctx, chromedp.Navigate(d.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#username"))); err != nil {
		t.Fatalf("login page: %v", err)
	}
	// A wrong password is refused with a message.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#username"), d.User),
		chromedp.SendKeys(chromedp.CSS("#password"), "wrong password!"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS(".error-box")),
	); err != nil {
		t.Fatalf("wrong password: %v", err)
	}
	if msg := run(t, ctx, chromedp.Text(chromedp.CSS(".error-box"))); !strings.Contains(msg, "Wrong user name or password") {
		t.Errorf("wrong-password message = %q", msg)
	}
	if err := chromedp.Do(ctx,
		chromedp.Clear(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), d.User),
		chromedp.SendKeys(chromedp.CSS("#password"), d.PW),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS(".cards .card")),
		chromedp.WaitVisible(chromedp.CSS(".plot canvas")), // uPlot drew the families chart
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
	body := run(t, ctx, chromedp.Evaluate[string](`document.body.innerText`))
	for _, want := range []string{"Overview", "acme-bu", "open incidents", "Orders_001 schema changed", "Time to detect", "Since the failure began", "Errors by family"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview does not show %q", want)
		}
	}
	// The median time to detection is a number (0s included), never the
	// dash that means "no incidents".
	medians := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("td.ttd-median")).map(td => td.innerText.trim())`))
	if len(medians) != 2 {
		t.Errorf("median TTD cells: %q", medians)
	}
	for _, m := range medians {
		if !regexp.MustCompile(`^[0-9]+[smhd]`).MatchString(m) {
			t.Errorf("median TTD shows %q, want a number", m)
		}
	}
	png := run(t, ctx, chromedp.FullScreenshot(100))
	saveScreenshot(t, "dashboard-overview.png", png)
	if *updateScreenshot {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "dashboard.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Open the schema-drift incident from the latest incidents list.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//a[contains(., "Orders_001 schema changed")]`)),
		chromedp.WaitVisible(chromedp.CSS("#ack")),
	); err != nil {
		t.Fatalf("open incident: %v", err)
	}
	body = run(t, ctx, chromedp.Evaluate[string](`document.body.innerText`))
	for _, want := range []string{"Timeline", "First evidence", "Opened", "What changed", "field OrderId", "field Currency", "data engineering"} {
		if !strings.Contains(body, want) {
			t.Errorf("incident page does not show %q", want)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#ack")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	); err != nil {
		t.Fatalf("acknowledge: %v", err)
	}
	body = run(t, ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if !strings.Contains(body, "Incident acknowledged.") || !strings.Contains(body, "Acknowledged by ana") {
		t.Errorf("acknowledgement not shown; page says:\n%s", body)
	}
	inc, err := d.Store.GetIncident(context.Background(), d.Seeded.SchemaDrift)
	if err != nil || inc.AcknowledgedBy != d.User {
		t.Errorf("store: incident acknowledged by %q (err %v), want %q", inc.AcknowledgedBy, err, d.User)
	}
	saveScreenshot(t, "dashboard-incident.png", run(t, ctx, chromedp.FullScreenshot(100)))

	// Silence similar alerts from the incident page.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#s-comment"), "schema change agreed with the CRM team"),
		chromedp.Click(chromedp.CSS("#silence-similar")),
		chromedp.WaitVisible(chromedp.CSS("table.silences")),
	); err != nil {
		t.Fatalf("silence: %v", err)
	}
	body = run(t, ctx, chromedp.Evaluate[string](`document.body.innerText`))
	for _, want := range []string{"Silence created.", "active", `rule="data_extension.schema_drift"`, `resource_key="de_001"`, "schema change agreed"} {
		if !strings.Contains(body, want) {
			t.Errorf("silences page does not show %q", want)
		}
	}
	saveScreenshot(t, "dashboard-silences.png", run(t, ctx, chromedp.FullScreenshot(100)))

	// Upload a log on the scan page and read the report.
	sample := mustAbs(t, filepath.Join("..", "..", "examples", "integration-calls.jsonl"))
	if err := chromedp.Do(ctx,
		chromedp.Navigate(d.URL+"/scan"),
		chromedp.WaitVisible(chromedp.CSS("#file")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{sample}),
		chromedp.Click(chromedp.CSS("#scan-submit")),
		chromedp.WaitVisible(chromedp.CSS("#scan-result iframe")),
	); err != nil {
		t.Fatalf("scan: %v", err)
	}
	var report string
	for range 50 { // the srcdoc frame loads after the page
		report = run(t, ctx, chromedp.Evaluate[string](`(function(){var f=document.querySelector("iframe.report");return f&&f.contentDocument&&f.contentDocument.body?f.contentDocument.body.innerText:""})()`))
		if strings.Contains(report, "persistent") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{"auth", "rate_limit", "persistent"} {
		if !strings.Contains(report, want) {
			t.Errorf("scan report in the page does not show %q", want)
		}
	}
	body = run(t, ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if !strings.Contains(body, "Report for integration-calls.jsonl") {
		t.Errorf("scan page does not name the uploaded file")
	}
	saveScreenshot(t, "dashboard-scan.png", run(t, ctx, chromedp.FullScreenshot(100)))

	// The error decoder, the objects and the API errors pages.
	for _, p := range []struct{ path, sel, want, shot string }{
		{"/decoder?q=soap:17", ".explain", "rate_limit", "dashboard-decoder.png"},
		{"/objects?type=data_extension", "table.objects", "Freshness vs SLA", "dashboard-objects.png"},
		{"/errors?range=7d", ".plot canvas", "By integration and endpoint", "dashboard-errors.png"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(d.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel))); err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		if body := run(t, ctx, chromedp.Evaluate[string](`document.body.innerText`)); !strings.Contains(body, p.want) {
			t.Errorf("%s does not show %q", p.path, p.want)
		}
		saveScreenshot(t, p.shot, run(t, ctx, chromedp.CaptureScreenshot()))
	}

	// Keyboard: the skip link is the first tab stop.
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
		t.Fatal(err)
	}
	if focused := run(t, ctx, chromedp.Evaluate[string](`document.activeElement.textContent`)); focused != "Skip to content" {
		t.Errorf("first tab stop = %q, want the skip link", focused)
	}

	// Logging out ends the session.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".who button")), chromedp.WaitVisible(chromedp.CSS("#username"))); err != nil {
		t.Fatalf("log out: %v", err)
	}
	resp, err := http.Get(d.URL + "/api/v1/incidents")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API without credentials: %d, want 401", resp.StatusCode)
	}
}
