package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func alertingConfig(t *testing.T, hookURL string) (path, db string) {
	t.Helper()
	dir := t.TempDir()
	db = filepath.Join(dir, "cli.db")
	path = filepath.Join(dir, "sfmcwatch.yaml")
	cfg := fmt.Sprintf(`
storage: {driver: sqlite, path: %q}
tenants:
  - name: sim
    auth_url: http://127.0.0.1:8899
    rest_url: http://127.0.0.1:8899
    soap_url: http://127.0.0.1:8899
    client_id: sim-client
    client_secret: cli-test-secret-7f1e
alerting:
  receivers:
    - name: hook
      webhook: {url: %q, signing_key: "0123456789abcdef0123"}
    - name: down
      webhook: {url: %q}
`, db, hookURL+"/hook/TOKENsecret123", hookURL+"/down/TOKENsecret123")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, db
}

func TestSilenceCommands(t *testing.T) {
	cfg, db := alertingConfig(t, "http://127.0.0.1:1")
	code, out, errOut := runConfigCLI(t, "silence", "add", "--config", cfg, "--duration", "1h", "--comment", "SFMC release",
		"--by", "ops", "tenant=sim", `family=~"server|timeout"`)
	if code != ExitOK || !strings.HasPrefix(out, "silence 1 created: tenant=\"sim\" family=~\"server|timeout\" until ") {
		t.Fatalf("add: %d %q %q", code, out, errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"silence", "add", "--config", cfg, "--comment", "x", "colour=red"}, `matcher label "colour"`},
		{[]string{"silence", "add", "--config", cfg, "tenant=sim"}, "--comment is required"},
		{[]string{"silence", "add", "--config", cfg, "--comment", "x"}, "at least one MATCHER"},
		{[]string{"silence", "add", "--config", cfg, "--comment", "x", "--ends", "yesterday", "tenant=sim"}, "--ends: want RFC 3339"},
		{[]string{"silence", "expire", "--config", cfg, "99"}, "no silence 99"},
		{[]string{"silence", "frobnicate"}, "unknown sub-command"},
		{[]string{"silence"}, "Usage: sfmcwatch silence"},
	} {
		code, _, errOut := runConfigCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
	code, out, _ = runConfigCLI(t, "silence", "list", "--config", cfg)
	if code != ExitOK || !strings.Contains(out, "active") || !strings.Contains(out, "SFMC release") || !strings.Contains(out, "ops") {
		t.Fatalf("list: %d %q", code, out)
	}
	code, out, _ = runConfigCLI(t, "silence", "expire", "--config", cfg, "1")
	if code != ExitOK || !strings.HasPrefix(out, "silence 1 expired at ") {
		t.Fatalf("expire: %d %q", code, out)
	}
	if code, out, _ = runConfigCLI(t, "silence", "list", "--config", cfg); code != ExitOK || strings.TrimSpace(out) != "no silences" {
		t.Fatalf("list after expire: %q", out)
	}
	code, out, _ = runConfigCLI(t, "silence", "list", "--config", cfg, "--all", "--json")
	var sils []store.Silence
	if code != ExitOK || json.Unmarshal([]byte(out), &sils) != nil || len(sils) != 1 || sils[0].CreatedBy != "ops" || len(sils[0].Matchers) != 2 {
		t.Fatalf("list --all --json: %d %q", code, out)
	}
	// The store the dispatcher reads has it.
	st, err := store.Open(context.Background(), store.Config{Path: db}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got, _ := st.ListSilences(t.Context(), store.SilenceFilter{}); len(got) != 1 || !got[0].EndsAt.Before(time.Now().Add(time.Second)) {
		t.Fatalf("store: %+v", got)
	}
}

func TestAckCommand(t *testing.T) {
	cfg, db := alertingConfig(t, "http://127.0.0.1:1")
	st, err := store.Open(context.Background(), store.Config{Path: db}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := st.OpenOrUpdateIncident(t.Context(), store.IncidentUpsert{Fingerprint: "f", Rule: "tenant.blocked", Severity: "critical", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errOut := runConfigCLI(t, "ack", "--config", cfg, "--by", "dana", fmt.Sprint(in.ID))
	if code != ExitOK || !strings.Contains(out, "acknowledged by dana") {
		t.Fatalf("ack: %d %q %q", code, out, errOut)
	}
	for _, args := range [][]string{{"ack", "--config", cfg, "4242"}, {"ack", "--config", cfg, "abc"}, {"ack", "--config", cfg}} {
		if code, _, _ := runConfigCLI(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}

func TestTestAlertCommand(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if strings.HasPrefix(r.URL.Path, "/down") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("X-Sfmcwatch-Signature") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		hits.Add(1)
	}))
	defer srv.Close()
	cfg, _ := alertingConfig(t, srv.URL)
	code, out, errOut := runConfigCLI(t, "test-alert", "--config", cfg, "hook")
	if code != ExitOK || hits.Load() != 1 || !strings.Contains(out, "delivered to hook") {
		t.Fatalf("test-alert: %d %q %q", code, out, errOut)
	}
	code, _, errOut = runConfigCLI(t, "test-alert", "--config", cfg, "down")
	if code != ExitFindings || !strings.Contains(errOut, "transient") || strings.Contains(errOut, "TOKENsecret123") {
		t.Fatalf("test-alert down: %d %q", code, errOut)
	}
	code, _, errOut = runConfigCLI(t, "test-alert", "--config", cfg, "nope")
	if code != ExitUsage || !strings.Contains(errOut, `no receiver "nope"`) {
		t.Fatalf("unknown receiver: %d %q", code, errOut)
	}
}
