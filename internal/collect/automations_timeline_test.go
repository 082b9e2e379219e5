package collect_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/collect/collecttest"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// Timeline tests: fault at T, poll every 5 simulated minutes, the finding
// must be present within a documented bound and gone after recovery.

const poll = 5 * time.Minute

var smallTenant = sim.Size{Automations: 40, Imports: 20, DataExtensions: 60, Journeys: 1, TriggeredSends: 1, Transactional: 1}

func autoRules() []detect.Rule {
	return []detect.Rule{detect.AutomationErrorRule{}, detect.AutomationStalledRule{}, detect.AutomationMissedRunRule{},
		detect.AutomationPausedRule{}, detect.AutomationPartialRule{}}
}

func importRules() []detect.Rule {
	return []detect.Rule{detect.ImportFailedRule{}, detect.ImportPartialRule{}}
}

type tl struct {
	t     *testing.T
	env   *collecttest.Env
	typ   resource.Type
	rules []detect.Rule
}

func newTL(t *testing.T, typ resource.Type, rules []detect.Rule) *tl {
	return &tl{t: t, env: fastEnv(t, 11, smallTenant), typ: typ, rules: rules}
}

// fastEnv is collecttest.New with a client whose real-time rate limiter
// does not slow down hundreds of simulated polls.
func fastEnv(t testing.TB, seed int64, size sim.Size) *collecttest.Env {
	env := collecttest.New(t, collecttest.Options{Seed: seed, Size: size})
	tc := env.Tenant
	ep := tc.Endpoints()
	cl, err := sfmc.New(sfmc.Tenant{Name: tc.Name, AuthURL: ep.Auth, RestURL: ep.REST, SOAPURL: ep.SOAP,
		ClientID: tc.ClientID, ClientSecret: tc.ClientSecret.Reveal(), AccountID: tc.AccountID},
		sfmc.Options{Clock: env.Sim.Now, RateLimit: 10000, Burst: 10000, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
			MaxRetryAfter: 10 * time.Millisecond, CallTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	env.Client = cl
	return env
}

// poll advances one poll interval (except the first call when advance is
// false), collects, evaluates and returns the finding of rule on key.
func (x *tl) poll(advance bool, rule, key string) *detect.Finding {
	x.t.Helper()
	if advance {
		x.env.Advance(poll)
	}
	res := x.env.Poll(context.Background(), x.typ, x.rules...)
	for _, f := range res[rule] {
		if f.ResourceKey == key {
			return &f
		}
	}
	return nil
}

// until polls until want(finding) holds or the deadline passes; it returns
// the finding and the simulated time it took.
func (x *tl) until(rule, key string, bound time.Duration, want func(*detect.Finding) bool) (*detect.Finding, time.Duration) {
	x.t.Helper()
	start := x.env.Now()
	for {
		f := x.poll(true, rule, key)
		if want(f) {
			return f, x.env.Now().Sub(start)
		}
		if x.env.Now().Sub(start) > bound {
			x.t.Fatalf("%s on %s: condition not met within %v (last finding %+v)", rule, key, bound, f)
			return nil, 0
		}
	}
}

func present(f *detect.Finding) bool { return f != nil }
func absent(f *detect.Finding) bool  { return f == nil }

// states decodes the latest automation snapshots.
func (x *tl) autoStates() map[string]struct {
	status string
	st     resource.AutomationState
} {
	x.t.Helper()
	snaps, err := x.env.Store.LatestSnapshots(context.Background(), x.env.Tenant.Name, string(resource.Automation))
	if err != nil {
		x.t.Fatal(err)
	}
	out := map[string]struct {
		status string
		st     resource.AutomationState
	}{}
	for _, s := range snaps {
		var st resource.AutomationState
		if err := resource.Decode(s, &st); err != nil {
			x.t.Fatal(err)
		}
		out[s.ResourceKey] = struct {
			status string
			st     resource.AutomationState
		}{s.Status, st}
	}
	return out
}

// pickAutomation returns a healthy scheduled automation with the shortest
// interval (≤ 1 h) that satisfies ok.
func (x *tl) pickAutomation(ok func(resource.AutomationState) bool) (string, resource.AutomationState) {
	x.t.Helper()
	best, bestKey := resource.AutomationState{}, ""
	for k, v := range x.autoStates() {
		st := v.st
		if st.FileDrop || st.ScheduleStatus != "active" || st.Interval <= 0 || st.Interval > time.Hour || len(st.Runs) == 0 {
			continue
		}
		if v.status != resource.StatusScheduled && v.status != resource.StatusRunning {
			continue
		}
		bad := false
		for _, r := range st.Runs {
			bad = bad || r.Status == resource.StatusError
		}
		if bad || (ok != nil && !ok(st)) {
			continue
		}
		if bestKey == "" || st.Interval < best.Interval || (st.Interval == best.Interval && k < bestKey) {
			best, bestKey = st, k
		}
	}
	if bestKey == "" {
		x.t.Skip("no suitable automation in this simulated tenant")
	}
	return bestKey, best
}

func (x *tl) setObject(key string, o config.Object) {
	if x.env.Tenant.Objects == nil {
		x.env.Tenant.Objects = map[string]config.Object{}
	}
	x.env.Tenant.Objects["automation:"+key] = o
}

// maxRun is the longest runtime the simulator gives an automation with
// this interval (runtime ≤ interval/2 × 1.2, and ≤ 12.5 min × 1.2).
func maxRun(interval time.Duration) time.Duration {
	return min(interval/2, 750*time.Second) * 12 / 10
}

func TestTimelineAutomationError(t *testing.T) {
	for _, critical := range []bool{false, true} {
		name := "consecutive"
		if critical {
			name = "critical_first_error"
		}
		t.Run(name, func(t *testing.T) {
			x := newTL(t, resource.Automation, autoRules())
			x.poll(false, "", "")
			key, st := x.pickAutomation(nil)
			if critical {
				yes := true
				x.setObject(key, config.Object{Critical: &yes})
			}
			id := x.env.Inject(sim.Fault{Kind: sim.FaultAutomationError, Target: key, Params: map[string]string{"message": "Query failed: Invalid column name 'EmailAddress'."}})
			// Bound: the first errored run starts within one interval of T and
			// ends within its runtime; critical fires at the next poll, others
			// need the second errored run (one more interval).
			runs := 2
			if critical {
				runs = 1
			}
			bound := time.Duration(runs)*st.Interval + maxRun(st.Interval) + poll
			f, took := x.until("automation.error", key, bound, present)
			t.Logf("%s (interval %v): detected after %v (bound %v): %s", key, st.Interval, took, bound, f.Title)
			if !strings.Contains(f.Detail, "Invalid column name") || !strings.Contains(strings.Join(f.Remediation, " "), "Invalid column name") {
				t.Errorf("StatusMessage not carried: %q / %q", f.Detail, f.Remediation)
			}
			if f.Family != catalog.Client || f.Owner != catalog.DataEngineering {
				t.Errorf("family/owner %s/%s", f.Family, f.Owner)
			}
			if f.FirstSeen.Before(x.env.Now().Add(-took)) {
				t.Errorf("FirstSeen %v before the fault", f.FirstSeen)
			}
			x.env.Sim.Clear(id)
			// Recovery: the next clean run clears the streak (the ratio needs
			// 3 of 6 errors, which 1–2 errored runs do not reach).
			_, took = x.until("automation.error", key, st.Interval+maxRun(st.Interval)+poll, absent)
			t.Logf("cleared after %v", took)
		})
	}
}

func TestTimelineAutomationStalled(t *testing.T) {
	x := newTL(t, resource.Automation, autoRules())
	x.poll(false, "", "")
	key, st := x.pickAutomation(nil)
	id := x.env.Inject(sim.Fault{Kind: sim.FaultAutomationStuck, Target: key})
	// The next scheduled run hangs: warn once it exceeds the 20-min floor.
	bound := st.Interval + 20*time.Minute + poll
	f, took := x.until("automation.stalled", key, bound, present)
	t.Logf("%s (interval %v): stalled after %v (bound %v): %s", key, st.Interval, took, bound, f.Title)
	// Warning between the floor and error_after, error from 25 min.
	if f.Severity != catalog.Warning && f.Severity != catalog.Error {
		t.Errorf("severity %s", f.Severity)
	}
	x.until("automation.stalled", key, 10*time.Minute, func(f *detect.Finding) bool { return f != nil && f.Severity == catalog.Error })
	if x.poll(false, "automation.missed_run", key) != nil {
		t.Error("missed_run fired while the run is still running")
	}
	x.env.Sim.Clear(id)
	_, took = x.until("automation.stalled", key, poll, absent)
	t.Logf("cleared after %v", took)
}

func TestTimelineAutomationMissedRun(t *testing.T) {
	x := newTL(t, resource.Automation, autoRules())
	x.poll(false, "", "")
	key, st := x.pickAutomation(nil)
	id := x.env.Inject(sim.Fault{Kind: sim.FaultAutomationMissed, Target: key})
	grace := max(5*time.Minute, st.Interval/10)
	bound := st.Interval + grace + poll
	f, took := x.until("automation.missed_run", key, bound, present)
	t.Logf("%s (interval %v): missed after %v (bound %v): %s", key, st.Interval, took, bound, f.Title)
	x.env.Sim.Clear(id)
	_, took = x.until("automation.missed_run", key, st.Interval+poll, absent)
	t.Logf("cleared after %v", took)
}

func TestTimelineAutomationPaused(t *testing.T) {
	x := newTL(t, resource.Automation, autoRules())
	x.poll(false, "", "")
	key, _ := x.pickAutomation(nil)
	id := x.env.Inject(sim.Fault{Kind: sim.FaultAutomationPaused, Target: key})
	f, took := x.until("automation.paused", key, poll, present)
	t.Logf("%s: paused seen after %v: %s", key, took, f.Title)
	if f.Severity != "" && f.Severity != catalog.Warning {
		t.Errorf("severity %s", f.Severity)
	}
	x.env.Sim.Clear(id)
	x.until("automation.paused", key, poll, absent)

	// Deactivation (schedule removed): critical.
	id = x.env.Inject(sim.Fault{Kind: sim.FaultAutomationInactive, Target: key})
	f, _ = x.until("automation.paused", key, poll, present)
	if f.Severity != catalog.Critical || !strings.Contains(f.Title, "deactivated") {
		t.Errorf("deactivation: %s %q", f.Severity, f.Title)
	}
	x.env.Sim.Clear(id)
	x.until("automation.paused", key, poll, absent)
}

func TestTimelineAutomationPartial(t *testing.T) {
	x := newTL(t, resource.Automation, autoRules())
	x.poll(false, "", "")
	for range 5 { // definitions are read 8 per poll: learn every target
		x.poll(true, "", "")
	}
	key, st := x.pickAutomation(func(st resource.AutomationState) bool { return len(st.TargetDataExtensions) > 0 })
	// Build a baseline of min_samples measured runs.
	measured := func() int {
		n := 0
		for _, r := range x.autoStates()[key].st.Runs {
			if r.Rows > 0 {
				n++
			}
		}
		return n
	}
	for i := 0; measured() < 5; i++ {
		if i > int(6*st.Interval/poll)+2 {
			t.Fatalf("no output baseline for %s after %d polls", key, i)
		}
		x.poll(true, "", "")
	}
	targets := strings.Join(x.autoStates()[key].st.TargetDataExtensions, ",")
	id := x.env.Inject(sim.Fault{Kind: sim.FaultDEEmptied, Target: targets})
	bound := st.Interval + maxRun(st.Interval) + poll
	f, took := x.until("automation.partial", key, bound, present)
	t.Logf("%s (interval %v): partial after %v (bound %v): %s", key, st.Interval, took, bound, f.Title)
	if f.Severity != catalog.Error {
		t.Errorf("zero output severity %s, want error", f.Severity)
	}
	x.env.Sim.Clear(id)
	_, took = x.until("automation.partial", key, st.Interval+maxRun(st.Interval)+poll, absent)
	t.Logf("cleared after %v", took)
}

// pickImport returns the import with the shortest run gap whose runs are clean.
func (x *tl) pickImport() (string, time.Duration) {
	x.t.Helper()
	snaps, err := x.env.Store.LatestSnapshots(context.Background(), x.env.Tenant.Name, string(resource.Import))
	if err != nil {
		x.t.Fatal(err)
	}
	bestKey, best := "", time.Duration(0)
	for _, s := range snaps {
		var st resource.ImportState
		if err := resource.Decode(s, &st); err != nil {
			x.t.Fatal(err)
		}
		if len(st.Runs) < 2 {
			continue
		}
		gap := st.Runs[len(st.Runs)-1].StartedAt.Sub(st.Runs[len(st.Runs)-2].StartedAt)
		if bestKey == "" || gap < best || (gap == best && s.ResourceKey < bestKey) {
			bestKey, best = s.ResourceKey, gap
		}
	}
	if bestKey == "" {
		x.t.Skip("no import with runs")
	}
	return bestKey, best
}

func TestTimelineImports(t *testing.T) {
	cases := []struct {
		rule string
		kind sim.Kind
		sev  catalog.Severity
	}{
		{"import.failed", sim.FaultImportFailed, catalog.Error},
		{"import.partial", sim.FaultImportErrors, catalog.Error}, // error_rate 0.4 ≥ error_ratio
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			x := newTL(t, resource.Import, importRules())
			x.poll(false, "", "")
			key, every := x.pickImport()
			id := x.env.Inject(sim.Fault{Kind: c.kind, Target: key})
			// The next run starts within one interval and finishes within
			// ~2 min (20 s + rows/500 s in the simulator).
			bound := every + 3*time.Minute + poll
			f, took := x.until(c.rule, key, bound, present)
			t.Logf("%s (every %v): %s after %v (bound %v): %s", key, every, c.rule, took, bound, f.Title)
			if f.Severity != c.sev {
				t.Errorf("severity %q, want rule default", f.Severity)
			}
			x.env.Sim.Clear(id)
			_, took = x.until(c.rule, key, every+3*time.Minute+poll, absent)
			t.Logf("cleared after %v", took)
		})
	}
}
