package monitor

// This file is the engine's event-driven evaluation hook: inputs that see
// the integrations' own calls (the recording proxy, HTTP ingest, file
// tail) tell the engine when they stored events, and the event rules run
// within seconds instead of at the next tenant health tick. ENS notices
// (automation instance and EmailNotSent events, ENSArrived) are merged
// into the automation's or transactional definition's latest snapshot
// (collect.ApplyENS) and that type's rules run at once, so an Errored
// automation run opens automation.error seconds after ENS reports it.
//
// Engine.Run runs the engine's trigger (the last one NewTrigger made), so
// pushed events are evaluated whether or not the recording proxy runs.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/ens"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
)

// TriggerOptions tune a Trigger. Zero values select the defaults.
type TriggerOptions struct {
	// Debounce is how long (real time) after the first arrival a tenant is
	// evaluated, so a burst of batches costs one evaluation (default 250ms).
	Debounce time.Duration
	// MinInterval is the least time (real time) between two evaluations of
	// one tenant's api.errors (default 1s): at any event rate the rule runs
	// at most every MinInterval, or every 4 × its last duration when that is
	// longer (the rule reads the recent events: at high call rates it gets
	// costlier and the trigger backs off instead of saturating the store).
	// The duration is the rule's own (reading and deciding), not the
	// writing of its incidents: that mostly waits for the store's writer
	// behind the ingest commits, and pacing on it multiplied that wait
	// into detection latency.
	MinInterval time.Duration
	// SilentInterval is the same for triggered_send.silent_failure, whose
	// SFMC side only moves with the triggered send polls (default 1m).
	SilentInterval time.Duration
	// Now is the real-time clock of the debounce (default time.Now);
	// evaluations use the engine's clock.
	Now func() time.Time
}

// Trigger evaluates api.errors (and the cross-reference of
// triggered_send.silent_failure) when events arrive. Create it with
// Engine.NewTrigger, run it with Run (or step it with EvaluatePending),
// and call EventsArrived after storing events.
type Trigger struct {
	e *Engine
	o TriggerOptions

	wake chan struct{}
	mu   sync.Mutex
	// pending maps a tenant to its first unprocessed arrival; last and
	// lastSilent to its previous evaluations.
	pending          map[string]time.Time
	last, lastSilent map[string]time.Time
	cost             map[string]time.Duration
	// notices are the ENS notices waiting to be merged, by tenant
	// (at most maxQueuedNotices in all; beyond, polling reconciles).
	notices map[string][]ens.Notice
	queued  int
	dropped int
	running atomic.Bool
}

// maxQueuedNotices bounds the ENS notices waiting for a merge.
const maxQueuedNotices = 100_000

// NewTrigger returns the engine's event trigger.
func (e *Engine) NewTrigger(o TriggerOptions) *Trigger {
	if o.Debounce <= 0 {
		o.Debounce = 250 * time.Millisecond
	}
	if o.MinInterval <= 0 {
		o.MinInterval = time.Second
	}
	if o.SilentInterval <= 0 {
		o.SilentInterval = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	t := &Trigger{e: e, o: o, wake: make(chan struct{}, 1), pending: map[string]time.Time{},
		last: map[string]time.Time{}, lastSilent: map[string]time.Time{}, cost: map[string]time.Duration{},
		notices: map[string][]ens.Notice{}}
	e.trig.Store(t)
	return t
}

// ENSArrived queues committed ENS notices for a merge into their objects'
// snapshots and wakes the tenants' evaluation; it never blocks. Notices
// beyond the queue bound are dropped (and logged): the next poll reads the
// same runs and messages.
func (t *Trigger) ENSArrived(ns []ens.Notice) {
	if len(ns) == 0 {
		return
	}
	var tenants []string
	t.mu.Lock()
	for _, n := range ns {
		if t.queued >= maxQueuedNotices {
			t.dropped++
			continue
		}
		if _, ok := t.notices[n.Tenant]; !ok {
			tenants = append(tenants, n.Tenant)
		}
		t.notices[n.Tenant] = append(t.notices[n.Tenant], n)
		t.queued++
	}
	dropped := t.dropped
	t.dropped = 0
	t.mu.Unlock()
	if dropped > 0 {
		t.e.log.Warn("ENS notices dropped: merge queue full; polling will reconcile", "dropped", dropped)
	}
	t.EventsArrived(tenants...)
}

// takeNotices removes and returns a tenant's queued notices.
func (t *Trigger) takeNotices(tenant string) []ens.Notice {
	t.mu.Lock()
	defer t.mu.Unlock()
	ns := t.notices[tenant]
	delete(t.notices, tenant)
	t.queued -= len(ns)
	return ns
}

// EventsArrived notes that events of these tenants were stored; it never
// blocks.
func (t *Trigger) EventsArrived(tenants ...string) {
	now := t.o.Now()
	t.mu.Lock()
	for _, tn := range tenants {
		if _, ok := t.pending[tn]; !ok {
			t.pending[tn] = now
		}
	}
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// due returns the tenants whose evaluation is due at now and how long
// until the next one is (0: none pending).
func (t *Trigger) due(now time.Time) ([]string, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	var next time.Duration
	for tn, first := range t.pending {
		at := first.Add(t.o.Debounce)
		if l, ok := t.last[tn]; ok {
			if gap := max(t.o.MinInterval, 4*t.cost[tn]); l.Add(gap).After(at) {
				at = l.Add(gap)
			}
		}
		if !at.After(now) {
			out = append(out, tn)
			delete(t.pending, tn)
			continue
		}
		if d := at.Sub(now); next == 0 || d < next {
			next = d
		}
	}
	return out, next
}

// Run evaluates tenants as their events arrive until ctx ends. A second
// Run of the same trigger while one runs returns at once.
func (t *Trigger) Run(ctx context.Context) error {
	if !t.running.CompareAndSwap(false, true) {
		return nil
	}
	defer t.running.Store(false)
	for {
		tenants, next := t.due(t.o.Now())
		for _, tn := range tenants {
			if _, err := t.evaluate(ctx, tn, false); err != nil && ctx.Err() == nil {
				t.e.log.Error("event-driven evaluation failed", "tenant", tn, "error", err)
			}
		}
		if len(tenants) > 0 {
			continue
		}
		var tm *time.Timer
		var timer <-chan time.Time
		if next > 0 {
			tm = time.NewTimer(next)
			timer = tm.C
		}
		select {
		case <-ctx.Done():
		case <-t.wake:
		case <-timer:
		}
		if tm != nil {
			tm.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// EvaluatePending evaluates every tenant with pending events now, ignoring
// the debounce (the demo and tests step time themselves).
func (t *Trigger) EvaluatePending(ctx context.Context) (incident.Changes, error) {
	t.mu.Lock()
	tenants := make([]string, 0, len(t.pending))
	for tn := range t.pending {
		tenants = append(tenants, tn)
		delete(t.pending, tn)
	}
	t.mu.Unlock()
	var all incident.Changes
	var errs []error
	for _, tn := range tenants {
		ch, err := t.evaluate(ctx, tn, true)
		all.Merge(ch)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return all, errors.Join(errs...)
}

// evaluate runs api.errors, and silent_failure when its interval passed
// (or force), for one tenant and applies the findings.
func (t *Trigger) evaluate(ctx context.Context, tenant string, force bool) (incident.Changes, error) {
	e := t.e
	if tc, _ := e.tenantConfig(tenant); tc == nil {
		return incident.Changes{}, nil // events of a tenant not (or no longer) monitored
	}
	real := t.o.Now()
	t.mu.Lock()
	t.last[tenant] = real
	silent := force || real.Sub(t.lastSilent[tenant]) >= t.o.SilentInterval
	if silent {
		t.lastSilent[tenant] = real
	}
	t.mu.Unlock()

	e.mu.Lock()
	rt := e.tenants[tenant]
	e.mu.Unlock()
	var all incident.Changes
	var errs []error
	if ns := t.takeNotices(tenant); len(ns) > 0 {
		ch, err := t.mergeENS(ctx, rt, tenant, ns)
		all.Merge(ch)
		if err != nil {
			errs = append(errs, fmt.Errorf("ens: %w", err))
		}
	}
	for _, run := range []struct {
		typ  resource.Type
		rule string
		on   bool
	}{{resource.Tenant, "api.errors", true}, {resource.Transactional, "triggered_send.silent_failure", silent}} {
		if !run.on {
			continue
		}
		var rules []detect.Rule
		for _, r := range e.reg.ForType(run.typ) {
			if r.ID() == run.rule {
				rules = append(rules, r)
			}
		}
		if len(rules) == 0 {
			continue
		}
		reg, err := detect.NewRegistry(rules...)
		if err != nil {
			return all, err
		}
		// Serialised with the scheduled evaluation of the same type,
		// which runs the same rule.
		var mu *sync.Mutex
		if rt != nil {
			mu = rt.evalLock(run.typ)
		}
		if mu != nil {
			mu.Lock()
		}
		ch, cost, err := t.apply(ctx, reg, tenant, run.typ)
		if mu != nil {
			mu.Unlock()
		}
		if run.typ == resource.Tenant {
			t.mu.Lock()
			t.cost[tenant] = cost
			t.mu.Unlock()
		}
		all.Merge(ch)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", run.rule, err))
		}
	}
	return all, errors.Join(errs...)
}

// mergeENS merges a tenant's ENS notices into its automation and
// transactional snapshots and runs the rules of each type that changed,
// serialised with that type's poll (which re-applies what ENS merged while
// it ran: collect.ReapplyENS).
func (t *Trigger) mergeENS(ctx context.Context, rt *tenantRuntime, tenant string, ns []ens.Notice) (incident.Changes, error) {
	e := t.e
	byType := map[resource.Type][]ens.Notice{}
	for _, n := range ns {
		typ := resource.Transactional
		if n.IsAutomation() {
			typ = resource.Automation
		}
		byType[typ] = append(byType[typ], n)
	}
	var all incident.Changes
	var errs []error
	for _, typ := range []resource.Type{resource.Automation, resource.Transactional} {
		if len(byType[typ]) == 0 {
			continue
		}
		var mu *sync.Mutex
		if rt != nil {
			mu = rt.evalLock(typ)
		}
		if mu != nil {
			mu.Lock()
		}
		ch, err := func() (incident.Changes, error) {
			changed, err := collect.ApplyENS(ctx, e.st, tenant, byType[typ], e.now(), nil)
			if !changed[typ] {
				return incident.Changes{}, err
			}
			reg, rerr := detect.NewRegistry(e.reg.ForType(typ)...)
			if rerr != nil {
				return incident.Changes{}, rerr
			}
			ch, _, aerr := t.apply(ctx, reg, tenant, typ)
			return ch, errors.Join(err, aerr)
		}()
		if mu != nil {
			mu.Unlock()
		}
		all.Merge(ch)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return all, errors.Join(errs...)
}

// apply evaluates the rules of reg for a tenant and applies the findings;
// cost is how long (trigger clock) reading the state and evaluating took.
func (t *Trigger) apply(ctx context.Context, reg *detect.Registry, tenant string, typ resource.Type) (ch incident.Changes, cost time.Duration, err error) {
	e := t.e
	tc, cfg := e.tenantConfig(tenant)
	if tc == nil {
		return incident.Changes{}, 0, nil
	}
	began := t.o.Now()
	now := e.now()
	cur, err := e.st.LatestSnapshots(ctx, tenant, string(typ))
	if err != nil {
		return incident.Changes{}, t.o.Now().Sub(began), fmt.Errorf("current snapshots: %w", err)
	}
	res, everr := reg.Evaluate(ctx, &detect.Input{Now: now, Tenant: tc, Rules: &cfg.Rules, Type: typ, Current: cur,
		Snapshots: e.st, Events: e.st, Usage: e.st})
	cost = t.o.Now().Sub(began)
	if everr != nil {
		e.log.Error("detection rules failed", "tenant", tenant, "type", typ, "error", everr)
	}
	ch, err = e.incidents.Apply(ctx, now, tenant, typ, res)
	e.applied(ctx, tenant, typ, &ch)
	return ch, cost, err
}
