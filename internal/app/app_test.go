package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/app"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/sink"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// TestEventsWakeTheTriggerWithoutProxy: events an ingest source stores
// are judged by the event trigger right away, whether or not the proxy
// runs (serve used to start the trigger only with the proxy, so events
// that arrived by ingest waited for the next tenant tick, a minute).
func TestEventsWakeTheTriggerWithoutProxy(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "sfmcwatch.yaml")
	yaml := fmt.Sprintf(`storage:
  driver: sqlite
  path: %q
monitors:
  automations:     { enabled: false }
  journeys:        { enabled: false }
  triggered_sends: { enabled: false }
  transactional:   { enabled: false }
  data_extensions: { enabled: false }
  imports:         { enabled: false }
tenants:
  - name: bu
    auth_url: http://127.0.0.1:1
    rest_url: http://127.0.0.1:1
    soap_url: http://127.0.0.1:1
    client_id: id
    client_secret: secret
`, filepath.Join(dir, "s.db"))
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: cfg.Storage.Path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The tenant tick (which would also judge the events) runs once at
	// start and then hourly: only the trigger can open the incident.
	a, err := app.New(app.Options{Store: st, Config: config.NewHolder(cfg, config.Loader{}),
		Engine: func(o *monitor.Options) { o.TenantInterval, o.ShutdownGrace = time.Hour, time.Second }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	time.Sleep(2 * time.Second) // past the start-up tick
	rec := sink.NewRecorder(nil)
	now := time.Now().UTC()
	var recs []store.EventRecord
	for i := range 8 {
		recs = append(recs, rec.Record(event.Event{TS: now.Add(time.Duration(i-8) * time.Second), Tenant: "bu", Integration: "crm-sync",
			Source: "ingest", Method: "POST", URL: "https://x.auth.marketingcloudapis.com/v2/token", Status: 401,
			Body: []byte(`{"error":"invalid_client","error_description":"Client authentication failed."}`)}, now))
	}
	if _, err := st.InsertEvents(ctx, recs); err != nil {
		t.Fatal(err)
	}
	a.EventsStored([]string{"bu"})
	// Functional bound, not a timing target: the trigger's debounce is
	// 250 ms; the tenant tick that would otherwise judge them is a minute.
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := st.ListIncidents(ctx, store.IncidentFilter{Tenant: "bu", Rule: "api.errors", Status: store.IncidentOpen})
		if err != nil {
			t.Fatal(err)
		}
		if len(l) > 0 {
			t.Logf("opened after %s: %s", time.Since(now), l[0].Title)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no api.errors incident 10 s after the events were stored")
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("stopped in %s", time.Since(stop))
}
