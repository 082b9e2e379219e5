package cli

import (
	"bytes"
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
)

// fakeENSTenant answers the token and ENS set-up calls; creating a
// callback posts the verification to its URL, as SFMC does.
func fakeENSTenant(t *testing.T) *httptest.Server {
	const sigKey = "V27FXfqI3DnhfQW1bhFDeJixpt8eDAY5R24UJI3cK6M="
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("POST /v2/token", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"access_token":"tok","expires_in":1079,"rest_instance_url":%q}`, srv.URL)
	})
	mux.HandleFunc("POST /platform/v1/ens-callbacks", func(w http.ResponseWriter, r *http.Request) {
		var req []map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		body := `{"callbackId":"cb-1","verificationKey":"vk-1"}`
		resp, err := http.Post(req[0]["url"].(string), "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode != 200 {
			w.WriteHeader(400)
			return
		}
		w.WriteHeader(201)
		fmt.Fprintf(w, `[{"callbackId":"cb-1","signatureKey":%q}]`, sigKey)
	})
	mux.HandleFunc("POST /platform/v1/ens-verify", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]string
		json.NewDecoder(r.Body).Decode(&req)
		if req["verificationKey"] != "vk-1" {
			w.WriteHeader(404)
		}
	})
	mux.HandleFunc("POST /platform/v1/ens-subscriptions", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
		fmt.Fprint(w, `[{"subscriptionId":"sub-1","status":"active"}]`)
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestServeIngestAndENSSetup runs serve with an http ingest source, pushes
// lines to it, then runs `ens setup` against a fake tenant whose
// verification goes through the running serve.
func TestServeIngestAndENSSetup(t *testing.T) {
	sfmc := fakeENSTenant(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
storage:
  path: serve.db
tenants:
  - name: acme
    auth_url: %[1]s
    rest_url: %[1]s
    soap_url: %[1]s
    client_id: writer
    client_secret: write-secret-0001
monitors:
  automations: {enabled: false}
  journeys: {enabled: false}
  triggered_sends: {enabled: false}
  transactional: {enabled: false}
  data_extensions: {enabled: false}
  imports: {enabled: false}
ingest:
  sources:
    - name: crm
      type: http
      tenant: acme
      token: push-token-123
`, sfmc.URL)
	path := filepath.Join(dir, "sfmcwatch.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &lockedBuf{}, &lockedBuf{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--config", path, "--listen", "127.0.0.1:0"}, IO{Out: out, Err: errb})
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exit %d: %s", code, errb.String())
		}
	}()
	re := regexp.MustCompile(`serving on (http://\S+)`)
	var base string
	for i := 0; base == "" && i < 1000; i++ {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	if base == "" {
		t.Fatalf("serve did not start: %s", errb.String())
	}

	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/events", bytes.NewBufferString(`{"url":"/hub/v1/dataevents/key:x/rowset","status":401}`+"\n"+`oops`+"\n"))
	req.Header.Set("Authorization", "Bearer push-token-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	json.NewDecoder(resp.Body).Decode(&rep)
	resp.Body.Close()
	if resp.StatusCode != 200 || rep["inserted"] != float64(1) || rep["rejected"] != float64(1) {
		t.Fatalf("ingest: %d %v", resp.StatusCode, rep)
	}

	var so, se bytes.Buffer
	code := Run(context.Background(), []string{"ens", "setup", "--config", path, "--tenant", "acme", "--url", base + "/hooks/ens", "--wait", "5s"}, IO{Out: &so, Err: &se})
	if code != 0 {
		t.Fatalf("ens setup exit %d: %s %s", code, so.String(), se.String())
	}
	keyFile := filepath.Join(dir, "ens-acme.key")
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if strings.Contains(so.String()+se.String(), "V27FXfqI3Dnh") {
		t.Fatal("signature key printed")
	}
	if !strings.Contains(so.String(), "sub-1") {
		t.Fatalf("output: %s", so.String())
	}
	// A second run refuses to overwrite the key file.
	if code := Run(context.Background(), []string{"ens", "setup", "--config", path, "--tenant", "acme", "--url", base + "/hooks/ens"}, IO{Out: &so, Err: &se}); code != ExitUsage {
		t.Fatalf("second run exit %d", code)
	}
}

func TestENSSetupUsage(t *testing.T) {
	for _, args := range [][]string{{"ens"}, {"ens", "setup"}, {"ens", "setup", "--tenant", "x"}, {"ens", "frobnicate"}} {
		var o, e bytes.Buffer
		if code := Run(context.Background(), args, IO{Out: &o, Err: &e}); code != ExitUsage {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}
