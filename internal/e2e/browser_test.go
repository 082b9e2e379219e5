package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserPath finds Debian's chromium, or skips (fails when required).
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("SFMCWATCH_CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("SFMCWATCH_REQUIRE_BROWSER") != "" {
		t.Fatal("chromium not found but SFMCWATCH_REQUIRE_BROWSER is set (apt-get install chromium)")
	}
	t.Skip("chromium not found: install Debian's chromium package to run browser tests")
	return ""
}

// newBrowser starts a headless chromium with no network beyond loopback,
// a 1280×1600 window and a 90-second deadline.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return startBrowser(t, 1280, 1600, 90*time.Second)
}

// startBrowser starts a headless chromium of the given window size whose
// context ends after timeout.
func startBrowser(t *testing.T, width, height int, timeout time.Duration) context.Context {
	t.Helper()
	exe := browserPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(width, height),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	return ctx
}

// artifactDir is where screenshots go: $SFMCWATCH_ARTIFACTS or a temp dir.
func artifactDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("SFMCWATCH_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func saveScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	p := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}
