package monitor_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// storm stores n failing token requests of an integration seen by the
// proxy, a second apart, ending at the engine's now.
func (e *env) storm(t *testing.T, integration string, n int) {
	t.Helper()
	now := e.Now()
	var recs []store.EventRecord
	for i := range n {
		recs = append(recs, store.EventRecord{Event: event.Event{TS: now.Add(time.Duration(i-n+1) * time.Second), Tenant: e.Tenant.Name,
			Integration: integration, Source: "proxy", Method: "POST", Endpoint: "/v2/token", Status: 401},
			Family: "auth", Surface: "oauth", Code: "invalid_client", IsError: true, Severity: "error", Count: 1})
	}
	if _, err := e.st.InsertEvents(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

func openedFor(ch []store.Incident, integration string) bool {
	for _, in := range ch {
		if in.Rule == "api.errors" && strings.Contains(in.Fingerprint, "|"+integration+"|auth|") {
			return true
		}
	}
	return false
}

// TestTriggerEvaluatesOnArrival: events stored by the proxy open
// api.errors as soon as the trigger evaluates, without a collection run.
func TestTriggerEvaluatesOnArrival(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	trig := e.eng.NewTrigger(monitor.TriggerOptions{})
	e.storm(t, "crm-sync", 4)
	trig.EventsArrived(e.Tenant.Name)
	ch, err := trig.EvaluatePending(context.Background())
	if err != nil || len(ch.Opened) != 0 {
		t.Fatalf("4 failures (below consecutive 5) opened %+v, %v", ch.Opened, err)
	}
	e.Advance(time.Second)
	e.storm(t, "crm-sync", 1)
	trig.EventsArrived(e.Tenant.Name, "no-such-tenant")
	ch, err = trig.EvaluatePending(context.Background())
	if err != nil || !openedFor(ch.Opened, "crm-sync") {
		t.Fatalf("5th failure: opened %+v, %v", ch.Opened, err)
	}
	// Nothing pending: nothing evaluated.
	if ch, err := trig.EvaluatePending(context.Background()); err != nil || !ch.Empty() {
		t.Fatalf("idle trigger changed %+v, %v", ch, err)
	}
}

// TestTriggerRun: the running trigger evaluates within its debounce.
func TestTriggerRun(t *testing.T) {
	e := newEnv(t)
	e.start(t)
	trig := e.eng.NewTrigger(monitor.TriggerOptions{Debounce: 10 * time.Millisecond, MinInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = trig.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	e.storm(t, "loader", 6)
	trig.EventsArrived(e.Tenant.Name)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, in := range e.incidents(t, store.IncidentFilter{Rule: "api.errors"}) {
			if strings.Contains(in.Fingerprint, "|loader|auth|") {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the running trigger did not open api.errors")
}

// TestTriggerWaitsForScheduledEvaluation: the event-triggered evaluation of
// a type waits while a scheduled collection of the same type is
// evaluating (both run the same rule; applying findings at once could
// resolve what the other just opened). Tenant rules (api.errors) and
// transactional ones (triggered_send.silent_failure) both.
func TestTriggerWaitsForScheduledEvaluation(t *testing.T) {
	for _, typ := range []resource.Type{resource.Tenant, resource.Transactional} {
		t.Run(string(typ), func(t *testing.T) {
			e := newEnv(t)
			eng, err := monitor.New(monitor.Options{
				Store: e.st, Config: e.holder, Clock: e.Sim.Now, Owner: "owner-2", Workers: 1, CallTimeout: 10 * time.Second,
				Collectors: []collect.Collector{collect.TenantCollector{}, probe{}},
				Rules:      []detect.Rule{detect.APIErrors{}, detect.SilentFailureRule{}},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(eng.Close)
			if _, err := eng.RunDue(context.Background()); err != nil {
				t.Fatal(err)
			}
			release, ok := monitor.HoldEvaluation(eng, e.Tenant.Name, typ)
			if !ok {
				t.Fatalf("no evaluation lock for %s", typ)
			}
			trig := eng.NewTrigger(monitor.TriggerOptions{})
			trig.EventsArrived(e.Tenant.Name)
			done := make(chan error, 1)
			go func() { _, err := trig.EvaluatePending(context.Background()); done <- err }()
			select {
			case err := <-done:
				release()
				t.Fatalf("the trigger evaluated while the scheduled %s evaluation held the lock (err %v)", typ, err)
			case <-time.After(200 * time.Millisecond):
			}
			release()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the trigger did not evaluate after the lock was released")
			}
		})
	}
}

// clockedStore advances a clock while it writes incidents, as the wait for
// the SQLite writer behind the ingest commits does.
type clockedStore struct {
	store.Store
	advance func()
}

func (c clockedStore) ApplyIncidents(ctx context.Context, b store.IncidentBatch) (store.IncidentBatchResult, error) {
	c.advance()
	return c.Store.ApplyIncidents(ctx, b)
}

// clockedRule advances a clock while it evaluates.
type clockedRule struct {
	detect.Rule
	advance func()
}

func (r clockedRule) Evaluate(ctx context.Context, in *detect.Input) ([]detect.Finding, error) {
	r.advance()
	return r.Rule.Evaluate(ctx, in)
}

// TestTriggerPacesOnTheRule: the trigger spaces a tenant's api.errors
// passes by the rule's own duration, not by the time its incidents took
// to be written.
func TestTriggerPacesOnTheRule(t *testing.T) {
	e := newEnv(t)
	var (
		mu  sync.Mutex
		now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	)
	step := func(d time.Duration) func() {
		return func() { mu.Lock(); now = now.Add(d); mu.Unlock() }
	}
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	eng, err := monitor.New(monitor.Options{Store: clockedStore{Store: e.st, advance: step(time.Minute)}, Config: e.holder,
		Clock: e.Sim.Now, Owner: "paced", Workers: 1,
		Rules: []detect.Rule{clockedRule{Rule: detect.APIErrors{}, advance: step(3 * time.Second)}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	trig := eng.NewTrigger(monitor.TriggerOptions{Now: clock})
	e.storm(t, "crm-sync", 6)
	trig.EventsArrived(e.Tenant.Name)
	ch, err := trig.EvaluatePending(context.Background())
	if err != nil || !openedFor(ch.Opened, "crm-sync") {
		t.Fatalf("opened %+v, %v", ch.Opened, err)
	}
	if got := monitor.PacingCost(trig, e.Tenant.Name); got != 3*time.Second {
		t.Fatalf("pacing cost = %v, want the rule's 3s (not the minute its incident writes took)", got)
	}
}
