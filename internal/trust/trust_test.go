package trust_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/trust"
)

// The instance status shape public Trust clients read from GET
// https://api.status.salesforce.com/v1/instances/{key}/status: "key",
// "location", "environment", "releaseVersion", "releaseNumber", "status",
// "isActive", "Incidents" [...], "Maintenances" [...]. (Salesforce now
// recommends the authenticated My Trust Center API; this public endpoint
// needs no credentials, which is why it is the one read.)
func TestParse(t *testing.T) {
	for _, c := range []struct {
		body, note string
		err        bool
	}{
		{`{"key":"S7","location":"NA","environment":"production","status":"OK","isActive":true,"Incidents":[],"Maintenances":[]}`, "", false},
		{`{"key":"S7","status":"MAJOR_INCIDENT_CORE","Incidents":[{"id":1}],"Maintenances":[]}`, "SFMC reports an incident on your instance S7 (Salesforce Trust)", false},
		{`{"key":"S7","status":"MAINTENANCE_CORE","Incidents":[],"Maintenances":[{"id":2}]}`, "SFMC reports maintenance on your instance S7 (Salesforce Trust)", false},
		{`{"key":"S7","status":"OK","Incidents":[{"id":1}],"Maintenances":[{"id":2}]}`, "SFMC reports an incident and maintenance on your instance S7 (Salesforce Trust)", false},
		{`{"key":"S7","status":"MINOR_INCIDENT_CORE"}`, "SFMC reports an incident on your instance S7 (Salesforce Trust)", false},
		{`<html>not json</html>`, "", true},
		{`{"message":"not found"}`, "", true},
	} {
		st, err := trust.Parse([]byte(c.body))
		if (err != nil) != c.err {
			t.Errorf("%s: err %v", c.body, err)
			continue
		}
		if got := st.Note(); got != c.note {
			t.Errorf("%s: note %q, want %q", c.body, got, c.note)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"key":"S7","status":"OK","Incidents":[],"Maintenances":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := trust.Parse(b)
		if err == nil && len(st.State) > 40 {
			t.Fatalf("unbounded state %q", st.State)
		}
		_ = st.Note()
	})
}

// The client against the simulator standing in for Trust (loopback):
// "OK" says nothing; a trust_incident fault on the instance is reported;
// answers are cached for TTL.
func TestClientAgainstSimulator(t *testing.T) {
	start := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	s, err := sim.New(sim.Options{Seed: 1, Size: sim.Size{Automations: 1, Journeys: 1, DataExtensions: 1, TriggeredSends: 1, Transactional: 1, Imports: 1},
		Start: start, Now: func() time.Time { return start }, Speed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/instances/") {
			hits.Add(1)
		}
		s.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	cl := &trust.Client{BaseURL: srv.URL, HTTP: srv.Client(), TTL: 5 * time.Minute, Now: s.Now}
	st, err := cl.Status(t.Context(), "s7")
	if err != nil || st.Note() != "" || st.Instance != "S7" {
		t.Fatalf("healthy: %+v %v", st, err)
	}
	s.Inject(sim.Fault{Kind: sim.FaultTrustIncident, Target: "S7"})
	if st, _ := cl.Status(t.Context(), "S7"); st.Note() != "" || hits.Load() != 1 {
		t.Fatalf("cache not used: %+v after %d requests", st, hits.Load())
	}
	s.Clock().Advance(6 * time.Minute)
	st, err = cl.Status(t.Context(), "S7")
	if err != nil || !strings.Contains(st.Note(), "incident on your instance S7") || hits.Load() != 2 {
		t.Fatalf("incident: %+v %v (%d requests)", st, err, hits.Load())
	}
	if st, _ := cl.Status(t.Context(), "S9"); st.Note() != "" {
		t.Fatalf("another instance reported: %+v", st)
	}
	s.Inject(sim.Fault{Kind: sim.FaultTrustIncident, Target: "S9", Params: map[string]string{"kind": "maintenance"}})
	s.Clock().Advance(6 * time.Minute)
	if st, _ := cl.Status(t.Context(), "S9"); !strings.Contains(st.Note(), "maintenance on your instance S9") {
		t.Fatalf("maintenance: %+v", st)
	}
	// Unreachable: an error, no note.
	bad := &trust.Client{BaseURL: "http://127.0.0.1:1", TTL: time.Minute}
	if _, err := bad.Status(t.Context(), "S7"); err == nil {
		t.Fatal("no error from an unreachable Trust")
	}
}
