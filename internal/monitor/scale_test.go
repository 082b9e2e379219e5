package monitor_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// timedCollector takes d per collection (a tenant's calls, paced by its
// rate limit) and records when each (tenant, type) poll started.
type timedCollector struct {
	typ    resource.Type
	d      time.Duration
	mu     sync.Mutex
	starts map[string][]time.Time
}

func (c *timedCollector) Type() resource.Type { return c.typ }

func (c *timedCollector) Collect(ctx context.Context, in *collect.Input) (*collect.Output, error) {
	c.mu.Lock()
	c.starts[in.Tenant.Name] = append(c.starts[in.Tenant.Name], time.Now())
	c.mu.Unlock()
	select {
	case <-time.After(c.d):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s := in.Snapshot(c.typ, "one")
	s.Status = "ready"
	return &collect.Output{Snapshots: []store.Snapshot{s}}, nil
}

// 200 business units at default intervals (automations, journeys,
// triggered sends every 5 min, data extensions every 15 min), each poll
// taking as long as the per-tenant rate limit makes the measured calls
// last (10 calls/s: automations 26 calls ≈ 2.6 s, DEs 53 calls ≈ 5.3 s):
// with the pool sized from the work the first full cycle ends within one
// interval and every later poll starts within 10 s of its due time. A
// fixed pool of 3 (the old default) cannot.
func TestTwoHundredTenantsKeepTheirSchedule(t *testing.T) {
	if raceDetector {
		t.Skip("minutes long under -race; .ci/run runs it without (the worker pool runs under -race in the engine tests)")
	}
	for _, c := range []struct {
		name    string
		workers int
		keeps   bool
	}{{"auto", 0, true}, {"fixed 3", 3, false}} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ok := runScale(t, c.workers)
				if ok != c.keeps {
					t.Fatalf("schedule kept = %v, want %v", ok, c.keeps)
				}
			})
		})
	}
}

func runScale(t *testing.T, workers int) bool {
	const runFor = 20 * time.Minute
	ctx, cancel := context.WithCancel(t.Context())
	st := openSQLite(t, filepath.Join(t.TempDir(), "scale.db"))
	h := lagConfig(t, 200, 5*time.Minute)
	cfg := h.Current()
	for i := range cfg.Tenants {
		m := &cfg.Tenants[i].Monitors
		m.Journeys.Enabled, m.Journeys.Interval = true, m.Automations.Interval
		m.TriggeredSends.Enabled, m.TriggeredSends.Interval = true, m.Automations.Interval
		m.DataExtensions.Enabled = true
		m.DataExtensions.Interval = 3 * m.Automations.Interval
	}
	cols := []*timedCollector{
		{typ: resource.Automation, d: 2600 * time.Millisecond},
		{typ: resource.Journey, d: 300 * time.Millisecond},
		{typ: resource.TriggeredSend, d: 1100 * time.Millisecond},
		{typ: resource.DataExtension, d: 5300 * time.Millisecond},
	}
	var cs []collect.Collector
	for _, c := range cols {
		c.starts = map[string][]time.Time{}
		cs = append(cs, c)
	}
	eng, err := monitor.New(monitor.Options{Store: st, Config: h, Owner: "solo", Workers: workers,
		Collectors: cs, Rules: []detect.Rule{}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	start := time.Now()
	go func() { _ = eng.Run(ctx); close(done) }()
	time.Sleep(runFor)
	cancel()
	<-done

	keeps := true
	var worst, firstCycle time.Duration
	for _, c := range cols {
		every := 5 * time.Minute
		if c.typ == resource.DataExtension {
			every = 15 * time.Minute
		}
		if len(c.starts) != 200 {
			t.Logf("%s: %d tenants polled, want 200", c.typ, len(c.starts))
			keeps = false
		}
		for tn, ss := range c.starts {
			// First full cycle: the first poll started (and, taking c.d,
			// ended) within one interval of start.
			firstCycle = max(firstCycle, ss[0].Add(c.d).Sub(start))
			for i := 1; i < len(ss); i++ {
				// The next poll is due an interval after the previous one
				// started.
				lag := ss[i].Sub(ss[i-1]) - every
				worst = max(worst, lag)
				if lag > 10*time.Second {
					keeps = false
				}
			}
			if len(ss) < int(runFor/every) {
				t.Logf("%s %s: %d polls in %s", c.typ, tn, len(ss), runFor)
				keeps = false
			}
		}
	}
	if firstCycle > 5*time.Minute {
		keeps = false
	}
	t.Logf("workers %d (asked %d): first full cycle %s, worst poll lag after it %s", eng.Workers(), workers, firstCycle, worst)
	return keeps
}
