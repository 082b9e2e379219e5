package collect_test

import (
	"context"
	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/sfmcwatch/sfmcwatch/internal/collect/collecttest"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// msgSize is the small tenant of the journey / triggered send /
// transactional timeline tests.
var msgSize = sim.Size{Journeys: 20, TriggeredSends: 30, Transactional: 10}

// msgRules are the rules of this area.
func msgRules() []detect.Rule {
	return []detect.Rule{detect.JourneyStoppedRule{}, detect.JourneyEnrollmentDropRule{}, detect.TriggeredSendInactiveRule{},
		detect.TriggeredSendErrorsRule{}, detect.TriggeredSendBacklogRule{}, detect.SilentFailureRule{}}
}

// msgEnv is collecttest.New with a client that is not paced in real time
// (the default 10 calls/s would make week-long timelines take minutes).
func msgEnv(t *testing.T, configure func(*config.Config)) *collecttest.Env {
	t.Helper()
	e := collecttest.New(t, collecttest.Options{Seed: 7, Size: msgSize, Configure: configure})
	ep := e.Tenant.Endpoints()
	cl, err := sfmc.New(sfmc.Tenant{Name: e.Tenant.Name, AuthURL: ep.Auth, RestURL: ep.REST, SOAPURL: ep.SOAP,
		ClientID: e.Tenant.ClientID, ClientSecret: e.Tenant.ClientSecret.Reveal(), AccountID: e.Tenant.AccountID},
		sfmc.Options{Clock: e.Sim.Now, RateLimit: rate.Inf, Burst: 1000, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
			MaxRetryAfter: 10 * time.Millisecond, CallTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.Client = cl
	return e
}

// msgPoll collects and evaluates one type with this area's rules and
// returns the findings on key (all keys when key is "").
func msgPoll(ctx context.Context, e *collecttest.Env, typ resource.Type, rule, key string) []detect.Finding {
	e.T.Helper()
	res := e.Poll(ctx, typ, msgRules()...)
	var out []detect.Finding
	for _, f := range res[rule] {
		if key == "" || f.ResourceKey == key {
			out = append(out, f)
		}
	}
	return out
}

// msgLatest returns the latest stored snapshots of a type by key.
func msgLatest(ctx context.Context, e *collecttest.Env, typ resource.Type) map[string]store.Snapshot {
	e.T.Helper()
	ss, err := e.Store.LatestSnapshots(ctx, e.Tenant.Name, string(typ))
	if err != nil {
		e.T.Fatal(err)
	}
	out := map[string]store.Snapshot{}
	for _, s := range ss {
		out[s.ResourceKey] = s
	}
	return out
}

// msgBusiest returns the key with the largest growth of counter between
// two snapshot sets, among snapshots with status.
func msgBusiest(t *testing.T, before, after map[string]store.Snapshot, counter, status string, maxGrowth int64) (string, int64) {
	t.Helper()
	best, bestD := "", int64(-1)
	for k, s := range after {
		b, ok := before[k]
		if !ok || s.Status != status {
			continue
		}
		d := s.Counters[counter] - b.Counters[counter]
		if d > bestD && (maxGrowth <= 0 || d <= maxGrowth) {
			best, bestD = k, d
		}
	}
	if best == "" {
		t.Fatalf("no %s object with %s", status, counter)
	}
	return best, bestD
}

// msgUntil polls every step until findings on key appear (want true) or
// disappear (want false) and returns the simulated time it took; it fails
// after limit.
func msgUntil(ctx context.Context, e *collecttest.Env, typ resource.Type, rule, key string, step, limit time.Duration, want bool, also ...resource.Type) time.Duration {
	e.T.Helper()
	start := e.Now()
	for e.Now().Sub(start) < limit {
		e.Advance(step)
		for _, a := range also {
			e.Collect(ctx, a)
		}
		fs := msgPoll(ctx, e, typ, rule, key)
		if (len(fs) > 0) == want {
			return e.Now().Sub(start)
		}
	}
	e.T.Fatalf("%s on %s: no change to firing=%v within %s", rule, key, want, limit)
	return 0
}

func TestJourneyStoppedTimeline(t *testing.T) {
	for _, kind := range []sim.Kind{sim.FaultJourneyStopped, sim.FaultJourneyPaused} {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			e := msgEnv(t, nil)
			const poll = 5 * time.Minute
			// The first look reports the journeys the simulated tenant had
			// stopped long before (at info); nothing else may fire.
			pre := map[string]bool{}
			for _, f := range msgPoll(ctx, e, resource.Journey, "journey.stopped", "") {
				if f.Severity != catalog.Info {
					t.Fatalf("first look: %s %s", f.Severity, f.Title)
				}
				pre[f.ResourceKey] = true
			}
			e.Advance(poll)
			for _, f := range msgPoll(ctx, e, resource.Journey, "journey.stopped", "") {
				if !pre[f.ResourceKey] {
					t.Fatalf("healthy tenant: %+v", f)
				}
			}
			var key string
			for k, s := range msgLatest(ctx, e, resource.Journey) {
				if s.Status == resource.StatusPublished {
					key = k
					break
				}
			}
			id := e.Inject(sim.Fault{Kind: kind, Target: key})
			if d := msgUntil(ctx, e, resource.Journey, "journey.stopped", key, poll, poll, true); d > poll {
				t.Fatalf("TTD %s", d)
			}
			e.Sim.Clear(id)
			// keep_firing_for (15 min) after the republish, then resolved.
			e.Advance(poll)
			if fs := msgPoll(ctx, e, resource.Journey, "journey.stopped", key); len(fs) != 1 {
				t.Fatalf("want keep-firing finding after republish, got %d", len(fs))
			}
			d := msgUntil(ctx, e, resource.Journey, "journey.stopped", key, poll, 30*time.Minute, false)
			if d > 15*time.Minute {
				t.Fatalf("resolved %s after republish (+5m), want ≤ keep_firing_for", d)
			}
		})
	}
}

func TestJourneyEnrollmentDropHighVolumeTimeline(t *testing.T) {
	ctx := context.Background()
	e := msgEnv(t, nil)
	const poll = 5 * time.Minute
	msgPoll(ctx, e, resource.Journey, "", "")
	before := msgLatest(ctx, e, resource.Journey)
	for range 36 { // 3 h of history
		e.Advance(poll)
		if fs := msgPoll(ctx, e, resource.Journey, "journey.enrollment_drop", ""); len(fs) != 0 {
			t.Fatalf("healthy: %+v", fs)
		}
	}
	key, grew := msgBusiest(t, before, msgLatest(ctx, e, resource.Journey), resource.CounterCumulativePopulation, resource.StatusPublished, 0)
	if grew < 3*36 { // ≥ 36/h: every poll sees entries, silence threshold = silence_min
		t.Skipf("busiest journey only grew %d in 3h", grew)
	}
	id := e.Inject(sim.Fault{Kind: sim.FaultJourneyStalled, Target: key})
	// Inherent bound: silence_min (30 min) + 1 poll.
	if d := msgUntil(ctx, e, resource.Journey, "journey.enrollment_drop", key, poll, 2*time.Hour, true); d > 35*time.Minute {
		t.Fatalf("TTD %s > 35m", d)
	}
	e.Sim.Clear(id)
	if d := msgUntil(ctx, e, resource.Journey, "journey.enrollment_drop", key, poll, time.Hour, false); d > poll {
		t.Fatalf("still firing %s after entries resumed", d)
	}
}

func TestJourneyEnrollmentDropLowVolumeTimeline(t *testing.T) {
	if raceDetector {
		t.Skip("a day of 15-minute polls is minutes long under -race (the high-volume timeline runs the same collector and rule under it); .ci/run runs it without -race")
	}
	// Single-threaded simulations: the long-simulation step of .ci/run
	// runs them side by side on its cores.
	t.Parallel()
	ctx := context.Background()
	// Every journey takes the low-volume path.
	e := msgEnv(t, func(c *config.Config) { c.Rules.JourneyEnrollmentDrop.MinBaselinePerHour = 1e9 })
	const poll = 15 * time.Minute
	msgPoll(ctx, e, resource.Journey, "", "")
	before := msgLatest(ctx, e, resource.Journey)
	for range 14 * 4 { // 14 h: baseline ≥ one 6 h window before the window
		e.Advance(poll)
		if fs := msgPoll(ctx, e, resource.Journey, "journey.enrollment_drop", ""); len(fs) != 0 {
			t.Fatalf("healthy: %+v", fs)
		}
	}
	key, _ := msgBusiest(t, before, msgLatest(ctx, e, resource.Journey), resource.CounterCumulativePopulation, resource.StatusPublished, 0)
	id := e.Inject(sim.Fault{Kind: sim.FaultJourneyStalled, Target: key})
	// Inherent bound: (1 − drop_ratio) × window + 1 poll = 4.8 h + 15 min.
	if d := msgUntil(ctx, e, resource.Journey, "journey.enrollment_drop", key, poll, 8*time.Hour, true); d > 4*time.Hour+48*time.Minute+poll {
		t.Fatalf("TTD %s", d)
	}
	e.Sim.Clear(id)
	// Resolves once the window holds drop_ratio × expected again: ≤ 0.2 × 6 h + 1 poll.
	if d := msgUntil(ctx, e, resource.Journey, "journey.enrollment_drop", key, poll, 4*time.Hour, false); d > 72*time.Minute+poll {
		t.Fatalf("resolved after %s", d)
	}
}
