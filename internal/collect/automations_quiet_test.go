package collect_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// noHistory satisfies detect.Snapshots for continuous-mode evaluation
// without a store (the automation and import rules carry what they need in
// the payload), which keeps a week of 5-minute polls fast.
type noHistory struct{}

func (noHistory) LatestSnapshots(context.Context, string, string) ([]store.Snapshot, error) {
	return nil, nil
}

func (noHistory) SnapshotHistory(context.Context, store.ResourceRef, time.Time, time.Time, int) ([]store.Snapshot, error) {
	return nil, nil
}

// TestQuietWeek: a healthy simulated tenant polled every 5 minutes for a
// week (SFMCWATCH_LONG=1; 8 hours by default) raises no automation or import
// finding.
func TestQuietWeek(t *testing.T) {
	if raceDetector {
		t.Skip("quiet-week simulation is skipped under -race; .ci/run runs it without -race")
	}
	// Single-threaded simulations: the long-simulation step of .ci/run
	// runs them side by side on its cores.
	t.Parallel()
	// A full week takes ~45 s (rules decode every payload each poll, slower
	// under -race); by default 8 hours run, SFMCWATCH_LONG=1 runs the week.
	span := 8 * time.Hour
	if os.Getenv("SFMCWATCH_LONG") != "" {
		span = 7 * 24 * time.Hour
	}
	env := fastEnv(t, 3, sim.Size{Automations: 20, Imports: 10, DataExtensions: 30, Journeys: 1, TriggeredSends: 1, Transactional: 1})
	ctx := context.Background()
	reg, err := detect.NewRegistry(append(stepRules(), importRules()...)...)
	if err != nil {
		t.Fatal(err)
	}
	prev := map[resource.Type]map[string]store.Snapshot{resource.Automation: {}, resource.Import: {}}
	colls := []collect.Collector{collect.AutomationCollector{}, collect.ImportCollector{}}
	polls := int(span / poll)
	preExisting := map[string]bool{}
	for i := 0; i < polls; i++ {
		for _, c := range colls {
			out, err := c.Collect(ctx, &collect.Input{Now: env.Now(), Tenant: env.Tenant, Client: env.Client, Previous: prev[c.Type()]})
			if err != nil {
				t.Fatalf("poll %d %s: %v", i, c.Type(), err)
			}
			next := map[string]store.Snapshot{}
			for _, s := range out.Snapshots {
				next[s.ResourceKey] = s
			}
			prev[c.Type()] = next
			res, err := reg.Evaluate(ctx, &detect.Input{Now: env.Now(), Tenant: env.Tenant, Rules: env.Rules, Type: c.Type(),
				Current: out.Snapshots, Snapshots: noHistory{}})
			if err != nil {
				t.Fatal(err)
			}
			for rule, fs := range res {
				for _, f := range fs {
					// The first look reports what the simulated tenant already
					// had (automations paused long before); a quiet week
					// raises nothing new after it.
					if i == 0 && rule == "automation.paused" {
						preExisting[f.Fingerprint()] = true
						continue
					}
					if preExisting[f.Fingerprint()] {
						continue
					}
					t.Errorf("%s poll %d: %s %s: %s — %s", env.Now().Format(time.RFC3339), i, rule, f.ResourceKey, f.Title, f.Detail)
				}
			}
		}
		if t.Failed() {
			return
		}
		env.Advance(poll)
	}
}
