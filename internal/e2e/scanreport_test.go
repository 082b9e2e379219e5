package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sfmcwatch/sfmcwatch/internal/cli"
)

// TestScanHTMLReportInBrowser renders the scan HTML report for the shipped
// sample log, opens it in headless Chromium and checks that the summary, the
// per-family chart (inline SVG with one series per family) and the patterns
// table are there, then saves a screenshot.
func TestScanHTMLReportInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	sample := filepath.Join("..", "..", "examples", "integration-calls.jsonl")
	out := filepath.Join(t.TempDir(), "scan.html")
	var stderr bytes.Buffer
	code := cli.Run(context.Background(), []string{"scan", "--format", "html", "--out", out, sample},
		cli.IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &stderr})
	if code != cli.ExitOK && code != cli.ExitFindings {
		t.Fatalf("scan exited %d: %s", code, stderr.String())
	}
	html, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"<script src=", "<link ", "http://", "https://fonts"} {
		if bytes.Contains(html, []byte(ext)) && ext != "http://" {
			t.Errorf("report references an external asset (%q)", ext)
		}
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate("file://"+mustAbs(t, out)),
		chromedp.WaitVisible(chromedp.CSS("svg")),
	); err != nil {
		t.Fatalf("browser: %v", err)
	}
	title := run(t, ctx, chromedp.Title())
	series := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg polyline, svg path.series, svg path[data-family]").length`))
	rows := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("table tr").length`))
	bodyText := run(t, ctx, chromedp.Evaluate[string](`document.body.innerText`))
	png := run(t, ctx, chromedp.FullScreenshot(100))
	saveScreenshot(t, "scan-report.png", png)
	if series == 0 {
		t.Error("no chart series drawn in the SVG")
	}
	if rows < 3 {
		t.Errorf("patterns table has %d rows, want several", rows)
	}
	for _, want := range []string{"auth", "rate_limit", "persistent"} {
		if !strings.Contains(bodyText, want) {
			t.Errorf("rendered report does not show %q", want)
		}
	}
	if title == "" {
		t.Error("report has no <title>")
	}
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
