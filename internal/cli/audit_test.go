package cli

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

	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

func TestAuditFormatsAndFailOn(t *testing.T) {
	start := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	s, err := sim.New(sim.Options{Seed: 5, Start: start, Now: func() time.Time { return start },
		Size: sim.Size{Automations: 6, Journeys: 3, DataExtensions: 8, TriggeredSends: 4, Transactional: 2, Imports: 2}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	s.Inject(sim.Fault{Kind: sim.FaultScopeRemoved, Target: "email_read"})
	c := s.Credentials()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("tenants:\n  - name: sim\n    auth_url: %[1]s\n    rest_url: %[1]s\n    soap_url: %[1]s\n    client_id: %[2]s\n    client_secret: %[3]s\n    account_id: \"%[4]d\"\n",
		srv.URL, c.ClientID, c.ClientSecret, c.MIDs[0])), 0o644)
	for _, f := range []struct{ format, want string }{
		{"markdown", "| read scopes missing | 1 | `email_read` |"},
		{"html", `<table class="coverage">`},
		{"text", "read scopes missing                              email_read"},
		{"json", `"missing_scopes": [`},
	} {
		out := filepath.Join(dir, "audit."+f.format)
		var stderr bytes.Buffer
		// The missing scope is an error finding: --fail-on error exits 1,
		// --fail-on critical does not.
		code := Run(context.Background(), []string{"audit", "--config", cfg, "--format", f.format, "--out", out, "--fail-on", "error"},
			IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &stderr})
		if code != ExitFindings {
			t.Errorf("%s: exit %d, want 1: %s", f.format, code, stderr.String())
		}
		b, _ := os.ReadFile(out)
		if !strings.Contains(string(b), f.want) {
			t.Errorf("%s output lacks %q", f.format, f.want)
		}
	}
	if code := Run(context.Background(), []string{"audit", "--config", cfg, "--format", "html", "--out", filepath.Join(dir, "x"), "--fail-on", "critical"},
		IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}); code != ExitOK {
		t.Errorf("--fail-on critical: exit %d", code)
	}
	var stderr bytes.Buffer
	if code := Run(context.Background(), []string{"audit", "--config", cfg, "--format", "pdf"}, IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &stderr}); code != ExitUsage {
		t.Errorf("--format pdf: exit %d", code)
	}
}
