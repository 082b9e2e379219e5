package monitor_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/ens"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// ensEnv is an engine with the real automation collector and
// automation.error (first errored run fires), polled every 5 minutes.
func ensEnv(t *testing.T) (*env, *monitor.Engine) {
	t.Helper()
	e := newEnv(t)
	e.cfg.Rules.AutomationError.Consecutive = 1
	eng, err := monitor.New(monitor.Options{
		Store: e.st, Config: e.holder, Clock: e.Sim.Now, Owner: "ens", Workers: 2, CallTimeout: 10 * time.Second,
		Collectors: []collect.Collector{collect.TenantCollector{}, collect.AutomationCollector{NotificationBudget: -1, DetailBudget: -1}},
		Rules:      []detect.Rule{detect.AutomationErrorRule{}},
		ClientOptions: func(o *sfmc.Options) {
			o.BackoffBase, o.BackoffMax, o.MaxRetryAfter = time.Millisecond, 5*time.Millisecond, 10*time.Millisecond
			o.RateLimit, o.Burst = 1e6, 1000
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	if _, err := eng.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e, eng
}

// erroredRun injects automation errors on a scheduled automation and moves
// the simulated clock (without polling) until its next run has errored. It
// returns the automation key and that run as SFMC lists it.
func erroredRun(t *testing.T, e *env) (string, sfmc.Automation) {
	t.Helper()
	ctx := context.Background()
	as, err := e.Client.Automations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]string{}
	open := map[string]bool{}
	for _, in := range e.incidents(t, store.IncidentFilter{Rule: "automation.error"}) {
		open[in.ResourceKey] = true
	}
	for _, a := range as {
		if open[a.Key] {
			continue // errored before the test
		}
		before[a.Key] = a.LastRunInstanceID
		e.Inject(sim.Fault{Kind: sim.FaultAutomationError, Target: a.Key, Params: map[string]string{"message": "Query failed: Invalid column name 'Email'"}})
	}
	for range 24 * 60 {
		e.Advance(time.Minute)
		as, err := e.Client.Automations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if _, ok := before[a.Key]; ok && a.LastRunInstanceID != "" && a.LastRunInstanceID != before[a.Key] && collect.AutomationRunStatus(a.LastRunStatus) == resource.StatusError &&
				!a.CompletedTime.IsZero() {
				return a.Key, a
			}
		}
	}
	t.Fatal("no automation errored within a day")
	return "", sfmc.Automation{}
}

func (e *env) autoIncidents(t *testing.T, key string) []store.Incident {
	t.Helper()
	var out []store.Incident
	for _, in := range e.incidents(t, store.IncidentFilter{Rule: "automation.error"}) {
		if in.ResourceKey == key {
			out = append(out, in)
		}
	}
	return out
}

func errored(key string, a sfmc.Automation, received time.Time) ens.Notice {
	return ens.Notice{Tenant: "sim", Source: "ens-sim", Type: "AutomationInstanceErrored", At: a.CompletedTime, Received: received,
		Automation: key, Name: a.Name, InstanceID: a.LastRunInstanceID, State: "Errored", Message: "Query failed"}
}

func autoState(t *testing.T, e *env, key string) resource.AutomationState {
	t.Helper()
	s, err := e.st.LatestSnapshot(context.Background(), resource.Ref("sim", resource.Automation, key))
	if err != nil {
		t.Fatal(err)
	}
	var st resource.AutomationState
	if err := resource.Decode(s, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func runsWithID(st resource.AutomationState, id string) []resource.Run {
	var out []resource.Run
	for _, r := range st.Runs {
		if strings.EqualFold(r.ID, id) {
			out = append(out, r)
		}
	}
	return out
}

// TestENSErroredOpensWithinSeconds: an ENS AutomationInstanceErrored
// notice, delivered twice (at-least-once), opens one automation.error
// incident within the trigger's debounce — seconds, not the next poll —
// and the later poll of the same run neither adds a run nor a second
// incident.
func TestENSErroredOpensWithinSeconds(t *testing.T) {
	e, eng := ensEnv(t)
	key, a := erroredRun(t, e)
	n := errored(key, a, e.Now())
	synctest.Test(t, func(t *testing.T) {
		trig := eng.NewTrigger(monitor.TriggerOptions{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = trig.Run(ctx); close(done) }()
		start := time.Now()
		trig.ENSArrived([]ens.Notice{n, n}) // duplicate within a batch
		trig.ENSArrived([]ens.Notice{n})    // and redelivered
		for len(e.autoIncidents(t, key)) == 0 {
			if time.Since(start) > 5*time.Second {
				t.Fatal("automation.error did not open within 5 s of the ENS notice")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("opened %s after the notice", d)
		}
		cancel()
		<-done
	})
	inc := e.autoIncidents(t, key)
	if len(inc) != 1 {
		t.Fatalf("incidents: %+v", inc)
	}
	st := autoState(t, e, key)
	if rs := runsWithID(st, a.LastRunInstanceID); len(rs) != 1 || rs[0].Status != resource.StatusError || rs[0].ENS != resource.StatusError || rs[0].Polled {
		t.Fatalf("runs after ENS: %+v", st.Runs)
	}
	// The poll covers the run: still one run (now with SFMC's start and
	// polled), still one incident.
	s := e.stepper(eng)
	if err := s.Run(context.Background(), 6*time.Minute); err != nil {
		t.Fatal(err)
	}
	st = autoState(t, e, key)
	rs := runsWithID(st, a.LastRunInstanceID)
	if len(rs) != 1 || !rs[0].Polled || !rs[0].StartedAt.Equal(a.StartTime) || rs[0].Status != resource.StatusError {
		t.Fatalf("runs after the poll: %+v (SFMC: start %s)", st.Runs, a.StartTime)
	}
	if inc := e.autoIncidents(t, key); len(inc) != 1 || inc[0].Status != store.IncidentOpen {
		t.Fatalf("incidents after the poll: %+v", inc)
	}
	// A late redelivery changes nothing.
	trig := eng.NewTrigger(monitor.TriggerOptions{})
	trig.ENSArrived([]ens.Notice{n})
	if ch, err := trig.EvaluatePending(context.Background()); err != nil || len(ch.Opened)+len(ch.Reopened) != 0 {
		t.Fatalf("redelivery after the poll: %+v, %v", ch, err)
	}
	if rs := runsWithID(autoState(t, e, key), a.LastRunInstanceID); len(rs) != 1 {
		t.Fatalf("runs after a redelivery: %+v", rs)
	}
}

// TestENSLostPollReconciles: ENS reported the run's start but its Errored
// event was lost; the next poll finds the errored run: one run, one
// incident.
func TestENSLostPollReconciles(t *testing.T) {
	e, eng := ensEnv(t)
	key, a := erroredRun(t, e)
	trig := eng.NewTrigger(monitor.TriggerOptions{})
	started := ens.Notice{Tenant: "sim", Type: "AutomationInstanceStarted", At: a.StartTime, Received: a.StartTime,
		Automation: key, InstanceID: a.LastRunInstanceID, State: "Started"}
	trig.ENSArrived([]ens.Notice{started})
	if ch, err := trig.EvaluatePending(context.Background()); err != nil || len(ch.Opened) != 0 {
		t.Fatalf("started: %+v, %v", ch, err)
	}
	s := e.stepper(eng)
	if _, err := s.Until(context.Background(), 10*time.Minute, func(context.Context) (bool, error) {
		return len(e.autoIncidents(t, key)) > 0, nil
	}); err != nil {
		t.Fatal(err)
	}
	inc := e.autoIncidents(t, key)
	if len(inc) != 1 {
		t.Fatalf("incidents: %+v", inc)
	}
	st := autoState(t, e, key)
	rs := runsWithID(st, a.LastRunInstanceID)
	if len(rs) != 1 || rs[0].Status != resource.StatusError || !rs[0].Polled || rs[0].ENS != collect.ENSStarted {
		t.Fatalf("runs: %+v", st.Runs)
	}
	// The errored event arrives late after all: nothing new.
	trig.ENSArrived([]ens.Notice{errored(key, a, e.Now())})
	if ch, err := trig.EvaluatePending(context.Background()); err != nil || len(ch.Opened)+len(ch.Reopened) != 0 {
		t.Fatalf("late errored: %+v, %v", ch, err)
	}
	if rs := runsWithID(autoState(t, e, key), a.LastRunInstanceID); len(rs) != 1 {
		t.Fatalf("runs after the late event: %+v", rs)
	}
	if inc := e.autoIncidents(t, key); len(inc) != 1 {
		t.Fatalf("incidents after the late event: %+v", inc)
	}
}

// TestEngineRunsTrigger: Engine.Run runs the trigger, so ENS notices are
// evaluated without the recording proxy.
func TestEngineRunsTrigger(t *testing.T) {
	e, eng := ensEnv(t)
	key, a := erroredRun(t, e)
	// Polls cannot see it: only the ENS notice can open the incident.
	e.Inject(sim.Fault{Kind: sim.FaultRESTBlocked})
	trig := eng.NewTrigger(monitor.TriggerOptions{Debounce: time.Millisecond, MinInterval: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = eng.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	trig.ENSArrived([]ens.Notice{errored(key, a, e.Now())})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if len(e.autoIncidents(t, key)) > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("Engine.Run did not evaluate the ENS notice")
}
