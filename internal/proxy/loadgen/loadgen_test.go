package loadgen_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/proxy"
	"github.com/sfmcwatch/sfmcwatch/internal/proxy/loadgen"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// TestDemoIntegrationsOpenIncidents plays the demo's integrations through
// the proxy against the simulator on a stepped clock (as the demo does)
// with the story's faults, and checks that each storm becomes its
// incident: 401s (secret rotated), 429s (throttling), 400s (broken deploy)
// and the accepted-but-not-sent triggered sends of a paused definition
// (the story's times compressed to keep the test short).
func TestDemoIntegrationsOpenIncidents(t *testing.T) {
	start := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	s, err := sim.New(sim.Options{Seed: 1, Size: sim.Size{Automations: 1, Journeys: 1, DataExtensions: 2, TriggeredSends: 6, Transactional: 1, Imports: 1},
		Start: start, Speed: 1, Now: func() time.Time { return start }})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(loadgen.SendAPI(s, s.Handler()))
	defer simSrv.Close()
	creds := s.Credentials()
	mid := creds.MIDs[0]
	tsKeys := s.ObjectKeys(mid, "triggered_send")
	deKeys := s.ObjectKeys(mid, "data_extension")
	if len(tsKeys) == 0 || len(deKeys) == 0 {
		t.Fatal("simulated tenant has no triggered send or data extension")
	}
	paused := tsKeys[0]
	for _, f := range []sim.Fault{
		{Kind: sim.FaultCredentialsRotated, Start: start.Add(2 * time.Minute), Duration: 10 * time.Minute},
		{Kind: sim.FaultRESTThrottle, Start: start.Add(14 * time.Minute), Duration: 10 * time.Minute, Params: map[string]string{"retry_after": "5"}},
		{Kind: sim.FaultTriggeredSendInactive, Target: paused, Start: start.Add(35 * time.Minute), Duration: 60 * time.Minute},
	} {
		f.MID = mid
		if _, err := s.InjectErr(f); err != nil {
			t.Fatal(err)
		}
	}
	yaml := "monitors:\n  triggered_sends: { enabled: true, interval: 5m }\n  transactional: { enabled: true, interval: 5m }\n" +
		"tenants:\n  - name: demo-bu\n    auth_url: " + simSrv.URL + "\n    rest_url: " + simSrv.URL + "\n    soap_url: " + simSrv.URL +
		"\n    client_id: " + creds.ClientID + "\n    client_secret: " + creds.ClientSecret + "\n    account_id: \"" + strconv.FormatInt(mid, 10) + "\"\n"
	cfg, err := config.Parse("demo.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "demo.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := monitor.New(monitor.Options{Store: st, Config: config.NewHolder(cfg, config.Loader{}), Clock: s.Now, Lease: 3 * time.Hour, TenantInterval: 5 * time.Minute,
		Collectors: []collect.Collector{collect.TenantCollector{}, collect.TriggeredSendCollector{}, collect.TransactionalCollector{}},
		ClientOptions: func(o *sfmc.Options) {
			o.BackoffBase, o.BackoffMax, o.MaxRetryAfter = time.Millisecond, 5*time.Millisecond, 10*time.Millisecond
			o.RateLimit, o.Burst = 1e6, 1000
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	trig := eng.NewTrigger(monitor.TriggerOptions{})
	rec, err := proxy.NewRecorder(proxy.RecorderOptions{Store: st, OnStored: func(tn []string) { trig.EventsArrived(tn...) }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(proxy.Options{Tenant: "demo-bu", Upstream: proxy.Upstream{Auth: simSrv.URL, REST: simSrv.URL, SOAP: simSrv.URL},
		IntegrationHeader: "X-Sfmcwatch-Integration", Sink: rec, Clock: s.Now})
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(p)
	defer ps.Close()
	gs, err := loadgen.Demo(loadgen.DemoOptions{BaseURL: ps.URL, Credentials: creds, Start: start, DataExtension: deKeys[0], TriggeredSend: paused,
		BadRequestsFrom: 25 * time.Minute, BadRequestsUntil: 40 * time.Minute, SendsFrom: 35 * time.Minute, SendsUntil: 95 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The demo's loop: step the clock, make the integrations' due calls,
	// store their events, evaluate what they triggered, run due polls.
	for s.Now().Before(start.Add(70 * time.Minute)) {
		s.Clock().Advance(time.Minute)
		if _, err := loadgen.StepAll(ctx, gs, s.Now()); err != nil {
			t.Fatal(err)
		}
		if err := rec.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := trig.EvaluatePending(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	totals := map[string]loadgen.Result{}
	for _, g := range gs {
		totals[g.Name()] = g.Totals()
	}
	for name, want := range map[string]int{"crm-sync": 401, "order-loader": 429, "reporting": 400, "web-app": 202} {
		if totals[name].ByStatus[want] == 0 {
			t.Errorf("%s never got %d: %+v", name, want, totals[name])
		}
	}
	incs, err := st.ListIncidents(ctx, store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	found := func(rule, fpPart string) bool {
		for _, in := range incs {
			if in.Rule == rule && strings.Contains(in.Fingerprint, fpPart) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct{ rule, fp string }{
		{"api.errors", "|crm-sync|auth|"},
		{"api.errors", "|order-loader|rate_limit|"},
		{"api.errors", "|reporting|client|"},
		{"triggered_send.silent_failure", "|triggered_send|" + paused + "|xref"},
	} {
		if !found(c.rule, c.fp) {
			var have []string
			for _, in := range incs {
				have = append(have, in.Fingerprint+" — "+in.Title)
			}
			t.Errorf("no %s incident matching %q; incidents:\n%s", c.rule, c.fp, strings.Join(have, "\n"))
		}
	}
}

// "{seq}" in a call's path and body numbers the calls: each transactional
// message gets its own messageKey, each entry event its own ContactKey.
func TestCallSeq(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/token" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"t","expires_in":1079}`))
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.URL.Path+" "+string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	g, err := loadgen.New(loadgen.Options{Name: "shop", BaseURL: srv.URL, Start: start, Calls: []loadgen.Call{
		{Every: time.Second, Method: http.MethodPost, Path: "/messaging/v1/email/messages/order-{seq}", Body: []byte(`{"k":"c-{seq}"}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Step(context.Background(), start.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	want := []string{`/messaging/v1/email/messages/order-1 {"k":"c-1"}`, `/messaging/v1/email/messages/order-2 {"k":"c-2"}`, `/messaging/v1/email/messages/order-3 {"k":"c-3"}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
