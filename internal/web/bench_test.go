package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
	"github.com/sfmcwatch/sfmcwatch/internal/web"
	"github.com/sfmcwatch/sfmcwatch/internal/web/webtest"
)

// BenchmarkViews measures the server time of each dashboard view over a
// month of data for a default-size business unit (60 automations, 20
// journeys, 120 data extensions, 30 triggered sends, 8 transactional
// definitions, 20 imports; hourly snapshots, 120 API calls an hour with
// about 6% failing, ~10 incidents a day). The target is < 100 ms per view.
//
//	go test -run '^$' -bench Views -benchtime 20x ./internal/web/
//
// SFMCWATCH_BENCH_DB keeps the seeded SQLite file between runs.
// SFMCWATCH_BENCH_DAYS seeds fewer days than the month (.ci/run's
// once-each run: seeding the month is most of its time; the README's
// figures are the month's).
func BenchmarkViews(b *testing.B) {
	ctx := context.Background()
	days := 30
	if v, err := strconv.Atoi(os.Getenv("SFMCWATCH_BENCH_DAYS")); err == nil && v > 0 {
		days = v
	}
	path := os.Getenv("SFMCWATCH_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "month.db")
	}
	_, statErr := os.Stat(path)
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: path}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var seeded *webtest.Result
	if statErr != nil {
		start := time.Now()
		seeded, err = webtest.Seed(ctx, st, webtest.Options{Now: seedNow, Days: days})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d snapshots, %d events, %d incidents in %s", seeded.Snapshots, seeded.Events, seeded.Incidents, time.Since(start).Round(time.Second))
	}
	drift := int64(0)
	if list, err := st.ListIncidents(ctx, store.IncidentFilter{Rule: "data_extension.schema_drift", Limit: 1}); err == nil && len(list) > 0 {
		drift = list[0].ID
	}
	h := web.New(web.Options{Store: st, Clock: func() time.Time { return seedNow }}).Handler()
	for _, v := range []struct{ name, path string }{
		{"overview", "/"},
		{"incidents", "/incidents"},
		{"incident", "/incidents/" + itoa(drift)},
		{"errors-24h", "/errors"},
		{"errors-30d", "/errors?range=30d"},
		{"events", "/errors/events?range=7d&family=auth"},
		{"objects-automation", "/objects"},
		{"objects-data_extension", "/objects?type=data_extension"},
		{"objects-triggered_send", "/objects?type=triggered_send"},
		{"objects-journey", "/objects?type=journey"},
		{"api-overview", "/api/v1/overview"},
		{"metrics", "/metrics"},
	} {
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", v.path, nil)
				req.Host = "127.0.0.1" // open mode answers only loopback names (DNS rebinding)
				req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, loopbackAddr{}))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%s: %d %s", v.path, rec.Code, rec.Body.String())
				}
			}
		})
	}
}

type loopbackAddr struct{}

func (loopbackAddr) Network() string { return "tcp" }
func (loopbackAddr) String() string  { return "127.0.0.1:80" }
