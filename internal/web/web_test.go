package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
	"github.com/sfmcwatch/sfmcwatch/internal/web"
)

var t0 = time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)

const validConfig = `
tenants:
  - name: acme
    subdomain: mc123
    client_id: abc
    client_secret: s3cr3t-value
`

func setup(t *testing.T) (*httptest.Server, store.Store, int64, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: filepath.Join(dir, "w.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.InsertEvents(ctx, []store.EventRecord{{Event: event.Event{TS: t0.Add(-time.Minute), Tenant: "acme", Source: "client",
		Integration: "sfmcwatch", Method: "GET", Endpoint: "/automation/v1/automations", Status: 500,
		Body: []byte(`{"message":"boom","email":"jane.doe@example.com","access_token":"abcdefghijklmnop"}`)},
		Family: "server", Code: "500", Surface: "http", IsError: true, Count: 1}}); err != nil {
		t.Fatal(err)
	}
	evs, err := st.QueryEvents(ctx, store.EventQuery{})
	if err != nil || len(evs) != 1 {
		t.Fatal(err)
	}
	ids, err := st.InsertSnapshots(ctx, []store.Snapshot{{ResourceRef: store.ResourceRef{Tenant: "acme", ResourceType: "tenant", ResourceKey: "acme"},
		ObservedAt: t0, Status: "blind"}})
	if err != nil {
		t.Fatal(err)
	}
	inc, _, err := st.OpenOrUpdateIncident(ctx, store.IncidentUpsert{Fingerprint: "api.errors|acme|tenant|acme|x", Rule: "api.errors",
		Severity: "warning", Family: "server", Tenant: "acme", ResourceType: "tenant", ResourceKey: "acme", Title: "boom",
		Owner: "infrastructure", Remediation: []string{"wait"}, FirstSeen: t0.Add(-time.Minute), FailureStartedAt: t0.Add(-time.Hour), Now: t0,
		Evidence: []store.Evidence{{Kind: store.EvidenceEvent, RefID: evs[0].ID}, {Kind: store.EvidenceSnapshot, RefID: ids[0]}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.OpenOrUpdateIncident(ctx, store.IncidentUpsert{Fingerprint: "tenant.blind|other|tenant|other", Rule: "tenant.blind",
		Severity: "critical", Family: "auth", Tenant: "other", ResourceType: "tenant", ResourceKey: "other", Title: "blind", Now: t0}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sfmcwatch.yaml")
	if err := os.WriteFile(path, []byte(validConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	h := config.NewHolder(cfg, config.Loader{})
	srv := httptest.NewServer(web.New(web.Options{Store: st, Config: h, ConfigPath: path}).Handler())
	t.Cleanup(srv.Close)
	return srv, st, inc.ID, path
}

func get(t *testing.T, url string, want int, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d", url, resp.StatusCode, want)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: content type %q", url, ct)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIncidentsAPI(t *testing.T) {
	srv, _, id, _ := setup(t)
	var list struct {
		Incidents []map[string]any `json:"incidents"`
		Count     int              `json:"count"`
	}
	get(t, srv.URL+"/api/v1/incidents", 200, &list)
	if list.Count != 2 {
		t.Fatalf("list: %+v", list)
	}
	for _, k := range []string{"id", "rule", "severity", "family", "tenant", "resource_type", "resource_key", "title", "status",
		"first_seen", "first_seen_at", "failure_started_at", "opened_at", "resolved_at", "ttd_seconds", "ttd_since_failure_seconds",
		"owner", "remediation"} {
		for _, in := range list.Incidents {
			if _, ok := in[k]; !ok {
				t.Fatalf("field %s missing: %v", k, in)
			}
		}
	}
	get(t, srv.URL+"/api/v1/incidents?tenant=acme&status=open&family=server&severity=warning&rule=api.errors", 200, &list)
	if list.Count != 1 || list.Incidents[0]["ttd_seconds"].(float64) != 60 {
		t.Fatalf("filtered: %+v", list)
	}
	// The three times and time to detection both ways.
	in := list.Incidents[0]
	if in["failure_started_at"] != "2026-11-02T05:00:00Z" || in["first_seen_at"] != "2026-11-02T05:59:00Z" || in["first_seen"] != in["first_seen_at"] ||
		in["opened_at"] != "2026-11-02T06:00:00Z" || in["ttd_since_failure_seconds"].(float64) != 3600 {
		t.Fatalf("times: %v", in)
	}
	// Unknown failure start: null, not a zero time or 0 seconds.
	get(t, srv.URL+"/api/v1/incidents?tenant=other", 200, &list)
	if list.Count != 1 || list.Incidents[0]["failure_started_at"] != nil || list.Incidents[0]["ttd_since_failure_seconds"] != nil {
		t.Fatalf("unknown failure start: %v", list.Incidents)
	}
	get(t, srv.URL+"/api/v1/incidents?status=resolved", 200, &list)
	if list.Count != 0 {
		t.Fatalf("resolved: %+v", list)
	}
	var e struct{ Error string }
	get(t, srv.URL+"/api/v1/incidents?status=bogus", 400, &e)
	if e.Error == "" {
		t.Fatal("no error message")
	}
	get(t, srv.URL+"/api/v1/incidents?family=bogus", 400, nil)
	get(t, srv.URL+"/api/v1/incidents/abc", 400, nil)
	get(t, srv.URL+"/api/v1/incidents/99999", 404, nil)
	get(t, srv.URL+"/nope", 404, nil)

	var detail web.IncidentDetailJSON
	resp, err := http.Get(srv.URL + "/api/v1/incidents/" + itoa(id))
	if err != nil {
		t.Fatal(err)
	}
	raw := new(strings.Builder)
	_, _ = ioCopy(raw, resp)
	if err := json.Unmarshal([]byte(raw.String()), &detail); err != nil {
		t.Fatal(err)
	}
	if detail.ID != id || len(detail.Evidence) != 2 || detail.EvidenceTotal != 2 {
		t.Fatalf("detail: %s", raw)
	}
	var sawEvent, sawSnap bool
	for _, ev := range detail.Evidence {
		if ev.Event != nil {
			sawEvent = true
			if ev.Event.Status != 500 || ev.Event.BodySample == "" {
				t.Fatalf("event evidence: %+v", ev.Event)
			}
		}
		if ev.Snapshot != nil {
			sawSnap = ev.Snapshot.Status == "blind"
		}
	}
	if !sawEvent || !sawSnap {
		t.Fatalf("evidence not inlined: %s", raw)
	}
	if strings.Contains(raw.String(), "jane.doe@example.com") || strings.Contains(raw.String(), "abcdefghijklmnop") {
		t.Fatalf("body not masked: %s", raw)
	}
}

func TestProbesAndReload(t *testing.T) {
	srv, st, _, path := setup(t)
	get(t, srv.URL+"/healthz", 200, nil)
	get(t, srv.URL+"/readyz", 200, nil)

	post := func(want int) map[string]any {
		t.Helper()
		resp, err := http.Post(srv.URL+"/-/reload", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != want {
			t.Fatalf("reload: %d %v", resp.StatusCode, out)
		}
		return out
	}
	if out := post(200); out["status"] != "ok" || out["tenants"].(float64) != 1 {
		t.Fatalf("reload: %v", out)
	}
	if err := os.WriteFile(path, []byte("tenants:\n  - name: acme\n    bogus_key: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := post(400)
	probs, _ := out["problems"].([]any)
	if len(probs) == 0 || !strings.Contains(probs[0].(string), "sfmcwatch.yaml") {
		t.Fatalf("invalid reload: %v", out)
	}
	resp, err := http.Get(srv.URL + "/-/reload")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /-/reload: %d", resp.StatusCode)
	}

	st.Close()
	get(t, srv.URL+"/readyz", 503, nil)
}
