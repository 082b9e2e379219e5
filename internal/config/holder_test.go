package config

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestHolderReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sfmcwatch.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("logging: {level: info}\n")
	l := Loader{Env: func(string) (string, bool) { return "", false }}
	first, err := l.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHolder(first, l)
	var calls []string
	cancel := h.Subscribe(func(old, cur *Config) { calls = append(calls, old.Logging.Level+"->"+cur.Logging.Level) })

	write("logging: {level: verbose}\nstorage: {drivr: x}\n")
	err = h.Reload(path)
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != 2 {
		t.Fatalf("Reload of an invalid file: %v", err)
	}
	if h.Current() != first {
		t.Fatal("invalid reload replaced the running config")
	}
	if err := h.Reload(filepath.Join(dir, "missing.yaml")); err == nil || h.Current() != first {
		t.Fatalf("missing file: err=%v", err)
	}

	write("logging: {level: debug}\n")
	if err := h.Reload(path); err != nil {
		t.Fatal(err)
	}
	if h.Current().Logging.Level != "debug" {
		t.Errorf("level = %q", h.Current().Logging.Level)
	}
	cancel()
	write("logging: {level: warn}\n")
	if err := h.Reload(path); err != nil {
		t.Fatal(err)
	}
	if strings.Join(calls, ",") != "info->debug" {
		t.Errorf("subscriber calls = %v", calls)
	}
}

func TestReloadHandler(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte("logging: {format: jsn}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := NewHolder(Default(), Loader{})
	srv := h.ReloadHandler(path, slog.New(slog.NewTextHandler(&logs, nil)))

	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/-/reload", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/-/reload", nil))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "c.yaml:1:11: logging.format") {
		t.Errorf("invalid: %d %s", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), "keeping the running config") {
		t.Errorf("log: %s", logs.String())
	}
	if err := os.WriteFile(path, []byte("logging: {format: json}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/-/reload", nil))
	if rec.Code != http.StatusOK || h.Current().Logging.Format != "json" {
		t.Errorf("valid: %d %s", rec.Code, rec.Body.String())
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/valid.yaml", "../../examples/sfmcwatch.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("tenants: [{<<: {name: x}, client_secret: '${'}]\n"))
	env := func(string) (string, bool) { return "v", true }
	l := Loader{Env: env, ReadFile: func(string) ([]byte, error) { return []byte("x"), nil }}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := l.Parse("fuzz.yaml", data)
		if err == nil {
			var buf bytes.Buffer
			if err := Dump(&buf, cfg); err != nil {
				t.Fatalf("dump: %v", err)
			}
			if err := DumpJSON(&buf, cfg); err != nil {
				t.Fatalf("dump json: %v", err)
			}
		}
	})
}

func TestWatchSIGHUP(t *testing.T) {
	// Catch SIGHUP here first so the test process never dies of it.
	guard := make(chan os.Signal, 8)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)

	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("logging: {level: warn}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := NewHolder(Default(), Loader{})
	reloaded := make(chan struct{}, 1)
	h.Subscribe(func(_, _ *Config) {
		select {
		case reloaded <- struct{}{}:
		default:
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		WatchSIGHUP(ctx, h, path, slog.New(slog.DiscardHandler))
		close(done)
	}()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-reloaded:
			break loop
		case <-tick.C:
			_ = syscall.Kill(os.Getpid(), syscall.SIGHUP)
		case <-deadline:
			t.Fatal("no reload after SIGHUP")
		}
	}
	if h.Current().Logging.Level != "warn" {
		t.Errorf("level = %q", h.Current().Logging.Level)
	}
	cancel()
	<-done
}
