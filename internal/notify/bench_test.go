package notify

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// BenchmarkEvaluate measures one evaluation (read open incidents, silences
// and the notification log, route, group, decide) with 2,000 open
// incidents in 50 tenants, all already notified (the steady state).
func BenchmarkEvaluate(b *testing.B) {
	cfg, err := config.Parse("b.yaml", []byte(baseConfig), nil)
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(b.Context(), store.Config{Path: filepath.Join(b.TempDir(), "b.db")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	owners := []string{"marketing_ops", "data_engineering", "infrastructure", "salesforce_support"}
	families := []string{"auth", "client", "rate_limit", "server", "timeout"}
	for i := range 2000 {
		if _, _, err := st.OpenOrUpdateIncident(b.Context(), store.IncidentUpsert{
			Fingerprint: fmt.Sprintf("r|t%d|x|%d", i%50, i), Rule: "api.errors", Severity: "error",
			Family: families[i%5], Tenant: fmt.Sprintf("t%d", i%50), ResourceType: "x", ResourceKey: fmt.Sprint(i),
			Title: "t", Owner: owners[i%4], Now: t0}); err != nil {
			b.Fatal(err)
		}
	}
	now := t0.Add(time.Minute)
	fixed := map[string]Notifier{}
	for _, r := range cfg.Alerting.Receivers {
		fixed[r.Name] = &recorder{}
	}
	d, err := New(Options{Store: st, Config: config.NewHolder(cfg, config.Loader{}), Notifiers: fixed, Clock: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.Evaluate(b.Context()); err != nil { // first notifications
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := d.Evaluate(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
