package collect_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/collect/collecttest"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
	"golang.org/x/time/rate"
)

const dePoll = 15 * time.Minute

func deRules() []detect.Rule {
	return []detect.Rule{detect.DERowDrop{}, detect.DEEmpty{}, detect.DESchemaDrift{}, detect.DEStale{}}
}

// smallDESize keeps the simulator small: the DE collector reads only DEs.
func smallDESize(des int) sim.Size {
	return sim.Size{DataExtensions: des, Automations: 2, Journeys: 1, TriggeredSends: 1, Transactional: 1, Imports: 1}
}

// newDEEnv starts a small tenant. With roomy set the daily budget lets
// every DE be counted every poll (tier-1 behaviour for every DE).
func newDEEnv(t *testing.T, des int, roomy bool, configure func(*config.Config)) *collecttest.Env {
	t.Helper()
	env := collecttest.New(t, collecttest.Options{Seed: 7, Size: smallDESize(des), Configure: func(cfg *config.Config) {
		if roomy {
			cfg.Tenants[0].DailyAPIBudget = 200_000
		}
		if configure != nil {
			configure(cfg)
		}
	}})
	fastClient(t, env)
	return env
}

// fastClient replaces the harness client with one whose rate limit does
// not throttle simulated weeks (the default 10 req/s is real time).
func fastClient(t *testing.T, env *collecttest.Env) {
	t.Helper()
	tc := env.Tenant
	ep := tc.Endpoints()
	cl, err := sfmc.New(sfmc.Tenant{Name: tc.Name, AuthURL: ep.Auth, RestURL: ep.REST, SOAPURL: ep.SOAP,
		ClientID: tc.ClientID, ClientSecret: tc.ClientSecret.Reveal(), AccountID: tc.AccountID},
		sfmc.Options{Clock: env.Sim.Now, RateLimit: rate.Inf, Burst: 1000, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
			MaxRetryAfter: 10 * time.Millisecond, CallTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	env.Client = cl
}

// dePoll1 polls the DEs as a tenant whose DEs are all counted every poll
// (as critical DEs, or those an automation writes, are), then evaluates
// the DE rules: these timelines test the rules on fresh counts.
func dePoll1(t *testing.T, env *collecttest.Env) map[string][]detect.Finding {
	t.Helper()
	ctx := context.Background()
	prev := map[string]store.Snapshot{}
	latest, err := env.Store.LatestSnapshots(ctx, env.Tenant.Name, string(resource.DataExtension))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range latest {
		prev[s.ResourceKey] = s
	}
	c := collect.DataExtensionCollector{Refresh: dePoll}
	out, err := c.Collect(ctx, &collect.Input{Now: env.Now(), Tenant: env.Tenant, Client: env.Client, Previous: prev, Cursors: env.Store})
	if err != nil {
		t.Fatal(err)
	}
	if err := collect.Persist(ctx, env.Store, out, env.Now()); err != nil {
		t.Fatal(err)
	}
	return env.Evaluate(ctx, resource.DataExtension, deRules()...)
}

func findingOf(res map[string][]detect.Finding, rule, key string) *detect.Finding {
	for i, f := range res[rule] {
		if f.ResourceKey == key {
			return &res[rule][i]
		}
	}
	return nil
}

func deStates(t *testing.T, env *collecttest.Env) map[string]resource.DataExtensionState {
	t.Helper()
	snaps, err := env.Store.LatestSnapshots(context.Background(), env.Tenant.Name, string(resource.DataExtension))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]resource.DataExtensionState{}
	for _, s := range snaps {
		var st resource.DataExtensionState
		if err := resource.Decode(s, &st); err != nil {
			t.Fatal(err)
		}
		if s.RowCount != nil && *s.RowCount >= 1000 {
			out[s.ResourceKey] = st
		}
	}
	return out
}

// pickDE returns a DE with ≥ 1,000 rows (and, with hourly, a learned 1 h
// load interval).
func pickDE(t *testing.T, env *collecttest.Env, hourly bool) string {
	t.Helper()
	states := deStates(t, env)
	keys := slices.Sorted(maps.Keys(states))
	for _, k := range keys {
		st := states[k]
		if !hourly || detect.LearnedInterval(st.Loads, 20, 7) == time.Hour {
			return k
		}
	}
	t.Fatal("no suitable data extension in the simulated tenant")
	return ""
}

func anyFinding(res map[string][]detect.Finding) []string {
	var out []string
	for rule, fs := range res {
		for _, f := range fs {
			out = append(out, rule+" "+f.ResourceKey+": "+f.Title)
		}
	}
	return out
}

func TestDataExtensionTimelineRowDrop(t *testing.T) {
	env := newDEEnv(t, 20, true, nil)
	for range 3 {
		if fs := anyFinding(dePoll1(t, env)); len(fs) > 0 {
			t.Fatalf("healthy tenant raised %v", fs)
		}
		env.Advance(dePoll)
	}
	key := pickDE(t, env, false)
	at := env.Now()
	id := env.Inject(sim.Fault{Kind: sim.FaultDERowDrop, Target: key})
	env.Advance(dePoll)
	res := dePoll1(t, env)
	f := findingOf(res, "data_extension.row_drop", key)
	if f == nil {
		t.Fatalf("no row_drop finding one poll after the fault: %v", anyFinding(res))
	}
	if f.Severity != catalog.Error || !strings.Contains(f.Detail, "−70%") {
		t.Errorf("finding = %s %q, want error with −70%%", f.Severity, f.Detail)
	}
	if f.FirstSeen.Before(at) || f.FirstSeen.After(at.Add(dePoll)) {
		t.Errorf("first seen %s, want within one poll of %s", f.FirstSeen, at)
	}
	if findingOf(res, "data_extension.empty", key) != nil {
		t.Error("a 70% drop is not empty")
	}
	// Still depressed: the finding holds.
	env.Advance(dePoll)
	if findingOf(dePoll1(t, env), "data_extension.row_drop", key) == nil {
		t.Fatal("finding resolved while the drop persists")
	}
	env.Sim.Clear(id)
	env.Advance(dePoll)
	res = dePoll1(t, env)
	if fs := anyFinding(res); len(fs) > 0 {
		t.Fatalf("findings after recovery: %v", fs)
	}
}

func TestDataExtensionTimelineEmpty(t *testing.T) {
	env := newDEEnv(t, 20, true, nil)
	for range 2 {
		dePoll1(t, env)
		env.Advance(dePoll)
	}
	key := pickDE(t, env, false)
	id := env.Inject(sim.Fault{Kind: sim.FaultDEEmptied, Target: key})
	env.Advance(dePoll)
	res := dePoll1(t, env)
	if f := findingOf(res, "data_extension.empty", key); f == nil || f.Severity != catalog.Error {
		t.Fatalf("empty finding = %+v; all: %v", f, anyFinding(res))
	}
	if findingOf(res, "data_extension.row_drop", key) != nil {
		t.Error("row_drop must leave an emptied DE to data_extension.empty")
	}
	env.Sim.Clear(id)
	env.Advance(dePoll)
	if fs := anyFinding(dePoll1(t, env)); len(fs) > 0 {
		t.Fatalf("findings after refill: %v", fs)
	}
}

// untilFinding polls every dePoll until rule finds key, failing when it
// has not within limit.
func untilFinding(t *testing.T, env *collecttest.Env, rule, key string, limit time.Duration) *detect.Finding {
	t.Helper()
	var res map[string][]detect.Finding
	for range limit / dePoll {
		env.Advance(dePoll)
		res = dePoll1(t, env)
		if f := findingOf(res, rule, key); f != nil {
			return f
		}
	}
	t.Fatalf("no %s finding within %s of the change: %v", rule, limit, anyFinding(res))
	return nil
}

func TestDataExtensionTimelineSchemaDrift(t *testing.T) {
	env := newDEEnv(t, 20, true, nil)
	for range 2 {
		dePoll1(t, env)
		env.Advance(dePoll)
	}
	key := env.Keys("data_extension")[3]
	id := env.Inject(sim.Fault{Kind: sim.FaultDESchemaChange, Target: key, Params: map[string]string{"field": "Consent_Status"}})
	// The DataExtension list (ModifiedDate) is read every
	// callplan.DEDefinitionsRefresh: the drift shows at its next read.
	f := untilFinding(t, env, "data_extension.schema_drift", key, callplan.DEDefinitionsRefresh)
	if f.Severity != catalog.Warning || !strings.Contains(f.Title, "1 field added, 1 field retyped") ||
		!strings.Contains(f.Detail, "Added: Consent_Status Text(20)") || !strings.Contains(f.Detail, "Retyped: ") {
		t.Errorf("finding = %s %q / %q", f.Severity, f.Title, f.Detail)
	}
	changedAt := f.FirstSeen
	// Drift is an event: the finding stays open (not re-detected) while the
	// new schema stays.
	for range 4 {
		env.Advance(time.Hour)
		if findingOf(dePoll1(t, env), "data_extension.schema_drift", key) == nil {
			t.Fatal("schema drift closed before its 24 h window")
		}
	}
	// Reverting is a change too: a new window whose diff shows the revert.
	env.Sim.Clear(id)
	var res map[string][]detect.Finding
	for range callplan.DEDefinitionsRefresh / dePoll {
		env.Advance(dePoll)
		res = dePoll1(t, env)
		if f = findingOf(res, "data_extension.schema_drift", key); f != nil && f.FirstSeen.After(changedAt) {
			break
		}
	}
	if f == nil || !f.FirstSeen.After(changedAt) || !strings.Contains(f.Detail, "Removed: Consent_Status") {
		t.Fatalf("revert finding = %+v", f)
	}
	for env.Now().Sub(f.FirstSeen) < detect.DESchemaDriftHold {
		env.Advance(2 * time.Hour)
		dePoll1(t, env)
	}
	env.Advance(dePoll)
	if fs := anyFinding(dePoll1(t, env)); len(fs) > 0 {
		t.Fatalf("findings 24 h after the last change: %v", fs)
	}
}

func TestDataExtensionTimelineStaleLearned(t *testing.T) {
	env := newDEEnv(t, 20, true, nil)
	// Learn: ≥ 8 hourly loads (7 intervals).
	for range 10 {
		dePoll1(t, env)
		env.Advance(time.Hour)
	}
	key := pickDE(t, env, true)
	for range 2 {
		dePoll1(t, env)
		env.Advance(dePoll)
	}
	at := env.Now()
	id := env.Inject(sim.Fault{Kind: sim.FaultDERefreshStopped, Target: key})
	cfg := env.Rules.DataExtensionStale
	// TTD: the last load before the fault (≤ at) is seen at most one poll
	// later (LastLoadAt is that observation), and the threshold crossing at
	// most one poll after it: warn_after/error_after + 2 polls.
	warnBy := at.Add(time.Duration(cfg.WarnFactor*float64(time.Hour)) + 2*dePoll)
	errBy := at.Add(time.Duration(cfg.ErrorFactor*float64(time.Hour)) + 2*dePoll)
	var warned, errored time.Time
	for env.Now().Before(errBy) {
		env.Advance(dePoll)
		res := dePoll1(t, env)
		if f := findingOf(res, "data_extension.stale", key); f != nil {
			if warned.IsZero() {
				warned = env.Now()
			}
			if f.Severity == catalog.Error && errored.IsZero() {
				errored = env.Now()
			}
		}
		for _, x := range anyFinding(res) {
			if !strings.Contains(x, key) {
				t.Fatalf("unrelated finding: %s", x)
			}
		}
	}
	if warned.IsZero() || warned.After(warnBy) {
		st := deStates(t, env)[key]
		t.Logf("%s: last load %s, count at %s, loads %+v", key, st.LastLoadAt, st.RowCountAt, st.Loads)
		t.Fatalf("stale warning at %s, want by %s (fault at %s)", warned, warnBy, at)
	}
	if errored.IsZero() || errored.After(errBy) {
		t.Fatalf("stale error at %s, want by %s", errored, errBy)
	}
	env.Sim.Clear(id)
	cleared := env.Now()
	for {
		env.Advance(dePoll)
		if findingOf(dePoll1(t, env), "data_extension.stale", key) == nil {
			break
		}
		if env.Now().Sub(cleared) > time.Hour+dePoll {
			t.Fatal("stale finding still open one load interval after the loads resumed")
		}
	}
}

// TestDataExtensionQuietWeek: a week without faults, polled at the DE
// interval with a budget that makes row counts rotate, opens
// no finding. The loop keeps the previous snapshots in memory, as the
// engine does, instead of re-reading the latest ones from the store.
func TestDataExtensionQuietWeek(t *testing.T) {
	if raceDetector {
		t.Skip("quiet-week simulation is skipped under -race; .ci/run runs it without -race")
	}
	// Single-threaded simulations: the long-simulation step of .ci/run
	// runs them side by side on its cores.
	t.Parallel()
	// 24 DEs, 8 row counts a poll: each DE is counted every 3 polls.
	env := newDEEnv(t, 24, false, func(cfg *config.Config) {
		cfg.Tenants[0].DailyAPIBudget = budgetForCounts(&cfg.Tenants[0], 8)
	})
	if b := collect.RowCountBudget(env.Tenant, 0); b != 8 {
		t.Fatalf("budget %d, want 8", b)
	}
	ctx := context.Background()
	reg, err := detect.NewRegistry(deRules()...)
	if err != nil {
		t.Fatal(err)
	}
	// Every DE due every poll: the budget alone makes the counts rotate.
	c := collect.DataExtensionCollector{Refresh: dePoll}
	prev := map[string]store.Snapshot{}
	end := env.Now().Add(7 * 24 * time.Hour)
	polls := 0
	for env.Now().Before(end) {
		out, err := c.Collect(ctx, &collect.Input{Now: env.Now(), Tenant: env.Tenant, Client: env.Client, Previous: prev, Cursors: env.Store})
		if err != nil {
			t.Fatal(err)
		}
		// Snapshots stay in memory: storing them only matters to the
		// schema-diff and hour-of-week lookups, which a quiet week (no schema
		// change, < 3 weeks of history) never makes — and SQLite under the
		// race detector would dominate the run.
		for i, s := range out.Snapshots {
			s.ID = int64(polls*1000 + i + 1)
			prev[s.ResourceKey] = s
		}
		cur := make([]store.Snapshot, 0, len(prev))
		for _, s := range prev {
			cur = append(cur, s)
		}
		res, err := reg.Evaluate(ctx, &detect.Input{Now: env.Now(), Tenant: env.Tenant, Rules: env.Rules, Type: resource.DataExtension,
			Current: cur, Snapshots: env.Store, Events: env.Store, Usage: env.Store})
		if err != nil {
			t.Fatal(err)
		}
		if fs := anyFinding(res); len(fs) > 0 {
			t.Fatalf("quiet tenant at %s (poll %d): %v", env.Now(), polls, fs)
		}
		polls++
		env.Advance(dePoll)
	}
	// The week did exercise learned freshness.
	learned := 0
	for _, s := range prev {
		var st resource.DataExtensionState
		if err := resource.Decode(s, &st); err != nil {
			t.Fatal(err)
		}
		if detect.LearnedInterval(st.Loads, 20, 7) > 0 {
			learned++
		}
	}
	if learned == 0 {
		t.Error("no DE reached learned freshness in a week")
	}
	t.Logf("%d polls, %d DEs with a learned interval", polls, learned)
}

// TestDataExtensionEconomy reports the calls one poll spends on the
// default-size tenant (500 DEs).
func TestDataExtensionEconomy(t *testing.T) {
	env := collecttest.New(t, collecttest.Options{Seed: 3})
	fastClient(t, env)
	ctx := context.Background()
	budget := collect.RowCountBudget(env.Tenant, 0)
	for i := range 3 {
		env.Sim.ResetStats()
		env.Collect(ctx, resource.DataExtension)
		st := env.Sim.Stats()
		var defs, fields, counts, other int64
		for route, n := range st.ByRoute {
			switch {
			case strings.Contains(route, "DataExtensionField"):
				fields += n
			case strings.Contains(route, "DataExtension"):
				defs += n
			case strings.Contains(route, "rowset"):
				counts += n
			default:
				other += n
			}
		}
		t.Logf("poll %d: %d calls = %d definition pages + %d field batches + %d row counts (+%d other: %v)",
			i+1, st.Total, defs, fields, counts, other, st.ByRoute)
		if counts > int64(budget) {
			t.Errorf("poll %d: %d row counts, budget %d", i+1, counts, budget)
		}
		if i > 0 && fields != 0 {
			t.Errorf("poll %d: %d field reads without schema changes", i+1, fields)
		}
		env.Advance(dePoll)
	}
}
