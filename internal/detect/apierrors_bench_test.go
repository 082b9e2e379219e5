package detect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// BenchmarkAPIErrorsPass times one api.errors evaluation over a store
// holding SFMCWATCH_BENCH_EVENTS events (default 100,000) spread over the
// last 15 minutes — 20 integrations × 10 endpoints, 2% rate-limited, one
// endpoint failing throughout — by the event-by-event scan and from the
// running aggregates:
//
//	SFMCWATCH_BENCH_EVENTS=360000 go test -run '^$' -bench APIErrorsPass -benchtime 3x ./internal/detect/
func BenchmarkAPIErrorsPass(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("SFMCWATCH_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: filepath.Join(b.TempDir(), "pass.db")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	step := 15 * time.Minute / time.Duration(n)
	batch := make([]store.EventRecord, 0, 1000)
	for i := range n {
		integ, ep := fmt.Sprintf("app-%02d", i%20), fmt.Sprintf("/data/v1/async/dataextensions/key:DE%d/rows", (i/20)%10)
		r := store.EventRecord{Event: event.Event{TS: now.Add(-15*time.Minute + time.Duration(i)*step), Tenant: "acme",
			Integration: integ, Source: "ingest", Method: "POST", Endpoint: ep, Status: 202}, Family: "none", Count: 1}
		switch {
		case i%20 == 7 && (i/20)%10 == 3:
			r.Status, r.IsError, r.Family, r.Surface, r.Code = 500, true, "server", "rest", "500"
		case i%50 == 0:
			r.Status, r.IsError, r.Family, r.Surface, r.Code = 429, true, "rate_limit", "rest", "50100"
		}
		batch = append(batch, r)
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := st.InsertEvents(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	rules := config.DefaultRules()
	for _, c := range []struct {
		name string
		ev   Events
	}{{"scan", scanOnly{st}}, {"aggregates", st}} {
		b.Run(c.name, func(b *testing.B) {
			var found int
			for range b.N {
				fs, err := APIErrors{}.Evaluate(context.Background(), &Input{Now: now, Tenant: &config.Tenant{Name: "acme"}, Rules: &rules,
					Type: resource.Tenant, Events: c.ev})
				if err != nil {
					b.Fatal(err)
				}
				found = len(fs)
			}
			b.ReportMetric(float64(found), "findings")
			b.ReportMetric(float64(n), "events")
		})
	}
}
