package e2e

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sfmcwatch/sfmcwatch/internal/demo"
)

// syncBuffer is a bytes.Buffer safe for the demo's writer and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	demoLogin = regexp.MustCompile(`dashboard +(http://[0-9.:]+)/ +\(log in as (\S+) / (\S+)\)`)
	demoOver  = regexp.MustCompile(`Story over; the API stays up`)
)

// TestDemoDashboardInBrowser plays the whole demo (simulator, engine,
// proxy, alerting) and walks its dashboard in chromium with the login the
// demo prints: the story's incidents are on the overview, one opens and is
// acknowledged. It takes about a minute of CPU, so it runs only when
// SFMCWATCH_DEMO_E2E=1 (.ci/run sets it, without -race).
func TestDemoDashboardInBrowser(t *testing.T) {
	if os.Getenv("SFMCWATCH_DEMO_E2E") != "1" {
		t.Skip("set SFMCWATCH_DEMO_E2E=1 to play the demo and walk its dashboard (about a minute; .ci/run does)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		_, err := demo.Run(ctx, demo.Options{Addr: "127.0.0.1:0", Speed: 1e6, Serve: true, Out: out})
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	})
	deadline := time.Now().Add(6 * time.Minute)
	for !demoOver.MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("the demo's story did not end in time:\n%s", out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	m := demoLogin.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the demo printed no dashboard login:\n%s", out.String()[:min(2000, len(out.String()))])
	}
	url, user, pw := m[1], m[2], m[3]
	bctx := newDashboardBrowser(t, 5*time.Minute)
	began := time.Now()
	// step runs one part of the walk under its own deadline and, when it
	// fails, says how long it took and what the browser was showing (a
	// timeout alone does not tell a slow server from a missing element).
	// The first run starts the browser and binds it to its context: start
	// it on bctx, so that a step's own deadline does not stop it.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	step := func(name string, d time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
		t.Helper()
		start := time.Now()
		sctx, cancel := context.WithTimeout(bctx, d)
		err := chromedp.Do(sctx, actions...)
		cancel()
		t.Logf("step %q: %s (walk at %s)", name, time.Since(start).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
		if err == nil {
			return nil
		}
		// Is the server answering? (/readyz reads the store.)
		hc := &http.Client{Timeout: 10 * time.Second}
		hstart := time.Now()
		if resp, herr := hc.Get(url + "/readyz"); herr != nil {
			t.Logf("step %q: GET /readyz after %s: %v", name, time.Since(hstart).Round(time.Millisecond), herr)
		} else {
			resp.Body.Close()
			t.Logf("step %q: GET /readyz: %d in %s", name, resp.StatusCode, time.Since(hstart).Round(time.Millisecond))
		}
		dctx, dcancel := context.WithTimeout(bctx, 10*time.Second)
		defer dcancel()
		text, derr := chromedp.Run(dctx, chromedp.Evaluate[string](`location.href + "\n" + (document.body ? document.body.innerText : "")`))
		if derr != nil {
			t.Logf("step %q failed (%v); the browser could not be read: %v", name, err, derr)
		} else {
			t.Logf("step %q failed (%v); the browser shows:\n%s", name, err, text[:min(len(text), 3000)])
		}
		return err
	}

	if err := step("log in", 90*time.Second,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS(".cards .card")),
	); err != nil {
		t.Fatalf("log in with the demo's login: %v", err)
	}
	body := run(t, bctx, chromedp.Evaluate[string](`document.body.innerText`))
	for _, want := range []string{"demo-bu", "Time to detect", "Latest incidents"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview does not show %q", want)
		}
	}
	saveScreenshot(t, "demo-overview.png", run(t, bctx, chromedp.FullScreenshot(100)))

	// The incidents list shows the story's incidents; open the critical
	// automation's and acknowledge it.
	if err := step("incidents list", 60*time.Second,
		chromedp.Navigate(url+"/incidents"),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(., "Hourly ERP Export")]`)),
	); err != nil {
		t.Fatalf("incidents list: %v", err)
	}
	list := run(t, bctx, chromedp.Evaluate[string](`document.body.innerText`))
	for _, want := range []string{"Journey 'Browse Abandonment - US'", "DE_Orders_Sendable", "TS_Password_Reset", "crm-sync"} {
		if !strings.Contains(list, want) {
			t.Errorf("incidents list does not show the story's %q", want)
		}
	}
	if err := step("open incident", 60*time.Second,
		chromedp.Click(chromedp.Search(`//a[contains(., "Hourly ERP Export")]`)),
		chromedp.WaitVisible(chromedp.CSS("h1")),
	); err != nil {
		t.Fatalf("open incident: %v", err)
	}
	detail := run(t, bctx, chromedp.Evaluate[string](`document.body.innerText`))
	for _, want := range []string{"Timeline", "First evidence", "data engineering", "Invalid column name"} {
		if !strings.Contains(detail, want) {
			t.Errorf("incident page does not show %q", want)
		}
	}
	saveScreenshot(t, "demo-incident.png", run(t, bctx, chromedp.FullScreenshot(100)))
}
