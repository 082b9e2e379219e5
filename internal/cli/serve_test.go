package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

func TestServeSmoke(t *testing.T) {
	s, err := sim.New(sim.Options{Seed: 3, Size: sim.Size{Automations: 3, Journeys: 2, DataExtensions: 3, TriggeredSends: 2, Transactional: 2, Imports: 2}})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(s.Handler())
	defer simSrv.Close()
	cr := s.Credentials()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
storage:
  path: serve.db
logging:
  level: debug
  format: json
tenants:
  - name: sim
    auth_url: %[1]s
    rest_url: %[1]s
    soap_url: %[1]s
    client_id: %[2]s
    client_secret: %[3]s
    account_id: "%[4]d"
`, simSrv.URL, cr.ClientID, cr.ClientSecret, cr.MIDs[0])
	path := filepath.Join(dir, "sfmcwatch.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errb := &lockedBuf{}, &lockedBuf{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--config", path, "--listen", "127.0.0.1:0"}, IO{Out: out, Err: errb})
	}()
	re := regexp.MustCompile(`serving on (http://\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	var base string
	for base == "" {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no address: %s %s", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var list struct {
		Incidents []json.RawMessage `json:"incidents"`
	}
	for _, p := range []string{"/healthz", "/readyz", "/api/v1/incidents"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		if p == "/api/v1/incidents" {
			if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
				t.Fatal(err)
			}
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
	}
	// The monitor is polling the simulator.
	for s.Stats().Total == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the monitor never called the simulator: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}
	t.Log(errb.String())
	if strings.Contains(errb.String(), cr.ClientSecret) {
		t.Fatal("the client secret was logged")
	}
}

func TestServeBadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("tenants:\n  - name: x\n    nope: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errb := &lockedBuf{}, &lockedBuf{}
	if code := Run(context.Background(), []string{"serve", "--config", path}, IO{Out: out, Err: errb}); code != ExitUsage {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errb.String(), "bad.yaml:3") {
		t.Fatalf("error does not name file and line: %s", errb.String())
	}
}
