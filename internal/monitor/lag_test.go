package monitor_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// slowCollector takes d (engine time) per collection.
type slowCollector struct{ d atomic.Int64 }

func (c *slowCollector) Type() resource.Type { return resource.Automation }

func (c *slowCollector) Collect(ctx context.Context, in *collect.Input) (*collect.Output, error) {
	select {
	case <-time.After(time.Duration(c.d.Load())):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s := in.Snapshot(resource.Automation, "nightly")
	s.Status = "ready"
	return &collect.Output{Snapshots: []store.Snapshot{s}}, nil
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func lagConfig(t testing.TB, tenants int, every time.Duration) *config.Holder {
	t.Helper()
	var b strings.Builder
	b.WriteString("tenants:\n")
	for i := range tenants {
		fmt.Fprintf(&b, `  - name: bu%02d
    auth_url: http://127.0.0.1:9
    rest_url: http://127.0.0.1:9
    soap_url: http://127.0.0.1:9
    client_id: id
    client_secret: secret
    account_id: "%d"
`, i, i+1)
	}
	cfg, err := config.Parse("lag.yaml", []byte(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Tenants {
		cfg.Tenants[i].Monitors.Automations.Interval = config.Duration(every)
	}
	return config.NewHolder(cfg, config.Loader{})
}

// More work than a fixed pool can do: 20 tenants polled every minute, 10 s
// a poll, 2 workers (3.3 busy workers of work). Polls fall behind; after
// LagSustain of late minutes the engine warns once (not once per poll),
// sfmcwatch_monitor_behind is 1 and every lagging tenant has a
// monitor.lagging incident. When the polls get fast again the engine logs
// that it is back on schedule and the incidents resolve.
func TestLagEpisodeWarnsOnceAndOpensMonitorLagging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		st := openSQLite(t, filepath.Join(t.TempDir(), "lag.db"))
		h := lagConfig(t, 20, time.Minute)
		c := &slowCollector{}
		c.d.Store(int64(10 * time.Second))
		var logs syncBuf
		eng, err := monitor.New(monitor.Options{Store: st, Config: h, Owner: "solo", Workers: 2,
			Collectors: []collect.Collector{c}, Rules: []detect.Rule{},
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = eng.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		behind := func() float64 { return metricValue(t, eng.Collector(), "sfmcwatch_monitor_behind") }
		start := time.Now()
		time.Sleep(monitor.LagSustain - time.Minute)
		synctest.Wait()
		if n := strings.Count(logs.String(), "monitor behind schedule"); n != 0 || behind() != 0 {
			t.Fatalf("behind after %s (<%s of late polls): %d warnings, gauge %v", time.Since(start), monitor.LagSustain, n, behind())
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if n := strings.Count(logs.String(), "monitor behind schedule"); n != 1 {
			t.Fatalf("%d 'behind schedule' warnings after 14 min of lag, want exactly 1:\n%s", n, logs.String())
		}
		if strings.Contains(logs.String(), "poll running late") {
			t.Fatal("single late polls logged above debug")
		}
		if behind() != 1 {
			t.Fatal("sfmcwatch_monitor_behind is not 1 while behind")
		}
		open, err := st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Rule: monitor.LaggingRule})
		if err != nil || len(open) < 10 {
			t.Fatalf("%d monitor.lagging incidents open (%v), want one per late tenant (most of 20)", len(open), err)
		}
		for _, in := range open {
			if in.ResourceType != string(resource.Tenant) || in.ResourceKey != in.Tenant {
				t.Fatalf("incident on %s/%s of tenant %s, want the tenant resource", in.ResourceType, in.ResourceKey, in.Tenant)
			}
		}

		// The work gets light: the backlog drains, the episode ends.
		c.d.Store(int64(100 * time.Millisecond))
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		if !strings.Contains(logs.String(), "monitor back on schedule") || behind() != 0 {
			t.Fatalf("not back on schedule (gauge %v):\n%s", behind(), logs.String())
		}
		if n := strings.Count(logs.String(), "monitor behind schedule"); n != 1 {
			t.Fatalf("%d 'behind schedule' warnings, want 1", n)
		}
		open, _ = st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Rule: monitor.LaggingRule})
		all, _ := st.ListIncidents(ctx, store.IncidentFilter{Rule: monitor.LaggingRule})
		if len(open) != 0 || len(all) < 10 {
			t.Fatalf("after catching up: %d monitor.lagging open of %d, want all resolved", len(open), len(all))
		}
	})
}

// metricValue is the sum of the samples of one metric family of c.
func metricValue(t *testing.T, c prometheus.Collector, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	v := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				v += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				v += m.GetCounter().GetValue()
			}
		}
	}
	return v
}
