package cli

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/digest"
	"github.com/sfmcwatch/sfmcwatch/internal/digest/digesttest"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func digestConfig(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "sfmcwatch.db")
	cfg := filepath.Join(dir, "sfmcwatch.yaml")
	os.WriteFile(cfg, []byte(`storage: {driver: sqlite, path: sfmcwatch.db}
tenants:
  - name: prod
    subdomain: mcprod
    client_id: a
    client_secret: b
    timezone: Europe/Berlin
digest:
  out_dir: digests
`), 0o644)
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: db}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	digesttest.Seed(t, st, digesttest.Week, true)
	st.Close()
	return cfg, dir
}

func TestDigestCommand(t *testing.T) {
	cfg, dir := digestConfig(t)
	out := filepath.Join(dir, "d.md")
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"digest", "--config", cfg, "--at", digesttest.End.Format(time.RFC3339), "--out", out},
		IO{In: strings.NewReader(""), Out: &stdout, Err: &stderr})
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	md, _ := os.ReadFile(out)
	for _, s := range digesttest.Week[2:] {
		if !strings.Contains(string(md), s.Title) {
			t.Errorf("digest does not name %q", s.Title)
		}
	}
	if !strings.Contains(string(md), "CET") || !strings.Contains(string(md), "## Fix these first") {
		t.Errorf("digest:\n%s", md)
	}
	// An unknown receiver is a usage error, after the digest was written.
	stderr.Reset()
	code = Run(context.Background(), []string{"digest", "--config", cfg, "--format", "text", "--send", "nobody"}, IO{In: strings.NewReader(""), Out: &stdout, Err: &stderr})
	if code != ExitUsage || !strings.Contains(stderr.String(), `unknown receiver "nobody"`) {
		t.Errorf("--send nobody: exit %d: %s", code, stderr.String())
	}
	for _, bad := range [][]string{{"digest"}, {"digest", "--config", cfg, "--format", "pdf"}, {"digest", "--config", cfg, "--at", "monday"}} {
		if code := Run(context.Background(), bad, IO{In: strings.NewReader(""), Out: &stdout, Err: &stderr}); code != ExitUsage {
			t.Errorf("%v: exit %d", bad, code)
		}
	}
}

type fakeSender struct{ got map[string]notify.Report }

func (f *fakeSender) SendReport(_ context.Context, receiver string, r notify.Report) error {
	f.got[receiver] = r
	return nil
}

func TestDigestDeliverer(t *testing.T) {
	cfgPath, dir := digestConfig(t)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Digest.Receivers = []string{"team-mail"}
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: cfg.Storage.Path}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, err := digest.Build(context.Background(), st, digest.Options{Now: func() time.Time { return digesttest.End }, Config: cfg, Location: cfg.Digest.Location()})
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeSender{got: map[string]notify.Report{}}
	deliver := digestDeliverer(func() *config.Config { return cfg }, fs, slog.New(slog.DiscardHandler))
	if err := deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"digest-2026-11-09.md", "digest-2026-11-09.html"} {
		if _, err := os.Stat(filepath.Join(dir, "digests", f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	r := fs.got["team-mail"]
	if r.Key != "digest-2026-11-09T08:00" || r.HTML == "" || r.Text == "" || r.Markdown == "" || !strings.HasPrefix(r.Subject, "sfmcwatch weekly digest: 7 incidents") {
		t.Errorf("report %+v", r.Subject)
	}
	if err := digestDeliverer(func() *config.Config { return cfg }, nil, slog.New(slog.DiscardHandler))(context.Background(), d); err == nil ||
		!strings.Contains(err.Error(), "receiver team-mail: no notifier dispatcher") {
		t.Errorf("no sender: %v", err)
	}
}
