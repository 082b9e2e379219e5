package monitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/collect/collecttest"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// TestMonitorKeysScheduleJobs: each monitors.<m>.enabled and interval
// changes the collector jobs the engine schedules: enabled, the resource
// type of m is polled at its interval; disabled, it is not polled. A
// monitor without a collector would be a key that does nothing.
func TestMonitorKeysScheduleJobs(t *testing.T) {
	cfg := config.Default()
	holder := config.NewHolder(cfg, config.Loader{})
	eng, err := monitor.New(monitor.Options{Store: openMem(t), Config: holder, Owner: "o"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	mons := config.DefaultMonitors()
	n := 0
	mons.Each(func(name string, _ *config.Monitor) {
		n++
		var typ resource.Type
		for _, r := range resource.Types {
			if r.Monitor() == name {
				typ = r
			}
		}
		if typ == "" {
			t.Errorf("monitors.%s: no resource type polls it", name)
			return
		}
		for _, c := range []struct {
			enabled  bool
			interval time.Duration
		}{{true, 7 * time.Minute}, {true, 2 * time.Hour}, {false, 7 * time.Minute}} {
			tn := config.Tenant{Name: "t", Monitors: config.DefaultMonitors()}
			m := tn.Monitors.Get(name)
			m.Enabled, m.Interval = c.enabled, config.Duration(c.interval)
			got, scheduled := monitor.Jobs(eng, &tn)[typ]
			switch {
			case c.enabled && (!scheduled || got != c.interval):
				t.Errorf("monitors.%s enabled every %s: job %v every %s", name, c.interval, scheduled, got)
			case !c.enabled && scheduled:
				t.Errorf("monitors.%s disabled: still scheduled", name)
			}
		}
	})
	if n < 8 {
		t.Errorf("only %d monitors", n)
	}
}

func openMem(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: t.TempDir() + "/m.db"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestAuditMonitorRunsTheCollector: with monitors.audit enabled the engine
// runs the audit-trail collector on its schedule — it reads SFMC's audit
// and security event feeds, stores the new installed package as a security
// snapshot and opens security.new_integration; disabled (the default), the
// feeds are never called.
func TestAuditMonitorRunsTheCollector(t *testing.T) {
	for _, enabled := range []bool{true, false} {
		var cfg *config.Config
		env := collecttest.New(t, collecttest.Options{Seed: 3, Size: sim.Size{Automations: 1, Journeys: 1, DataExtensions: 1},
			Configure: func(c *config.Config) {
				cfg = c
				c.Tenants[0].Monitors.Audit.Enabled = enabled
			}})
		env.Inject(sim.Fault{Kind: sim.FaultSecurityNewIntegration, Target: "Shadow Export", Start: env.Now().Add(-time.Hour)})
		eng, err := monitor.New(monitor.Options{
			Store: env.Store, Config: config.NewHolder(cfg, config.Loader{}), Clock: env.Sim.Now, Owner: "o", Workers: 1,
			CallTimeout: 10 * time.Second,
			Collectors:  []collect.Collector{collect.TenantCollector{}, collect.SecurityCollector{}},
			Rules:       []detect.Rule{detect.SecurityNewIntegrationRule{}},
			ClientOptions: func(o *sfmc.Options) {
				o.BackoffBase, o.BackoffMax, o.MaxRetryAfter = time.Millisecond, 5*time.Millisecond, 10*time.Millisecond
				o.RateLimit, o.Burst = 1e6, 1000
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		ran, err := eng.RunDue(ctx)
		eng.Close()
		if err != nil {
			t.Fatal(err)
		}
		var feedCalls int64
		for route, c := range env.Sim.Stats().ByRoute {
			if strings.Contains(route, "/data/v1/audit/") {
				feedCalls += c
			}
		}
		snaps, err := env.Store.LatestSnapshots(ctx, "sim", string(resource.Security))
		if err != nil {
			t.Fatal(err)
		}
		incs, err := env.Store.ListIncidents(ctx, store.IncidentFilter{})
		if err != nil {
			t.Fatal(err)
		}
		opened := false
		for _, inc := range incs {
			opened = opened || inc.Rule == "security.new_integration"
		}
		t.Logf("monitors.audit.enabled=%v: %d jobs run, %d audit feed calls, %d security snapshots, incident %v",
			enabled, ran, feedCalls, len(snaps), opened)
		if enabled && (ran != 2 || feedCalls == 0 || len(snaps) == 0 || !opened) {
			t.Errorf("enabled: %d jobs, %d feed calls, %d snapshots, incident %v; want the collector to run and the change to open an incident",
				ran, feedCalls, len(snaps), opened)
		}
		if !enabled && (ran != 1 || feedCalls != 0 || len(snaps) != 0 || opened) {
			t.Errorf("disabled: %d jobs, %d feed calls, %d snapshots, incident %v; want no audit-trail read", ran, feedCalls, len(snaps), opened)
		}
	}
}
