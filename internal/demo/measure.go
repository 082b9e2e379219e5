package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// MeasureOptions tune Measure.
type MeasureOptions struct {
	// Seed and Size of the simulated tenant (default: the demo's).
	Seed int64
	Size sim.Size
	// WarmUp is the fault-free history before the faults (default 12h):
	// baselines (run durations, load intervals, entry gaps) need it.
	WarmUp time.Duration
	// Limit is how long a fault may take to be detected (default 6h: send
	// health waits for the next job of a send that may run every 4 hours,
	// then an hour for its bounces and unsubscribes).
	Limit time.Duration
	// SpendHours is how many simulated hours of a fault-free default-size
	// tenant are used to measure API calls per hour (default 3; 0 skips
	// when negative).
	SpendHours int
	// Progress receives one line per phase (may be nil).
	Progress io.Writer
	// Rules, when set, limits the measure to these rules ("trust" for the
	// Trust note); default every rule and the Trust note.
	Rules []string
}

// RuleLatency is the measured detection of one rule.
type RuleLatency struct {
	Rule   string `json:"rule"`
	Fault  string `json:"fault"`
	Target string `json:"target"`
	// Latency is simulated time from injecting the fault to the incident
	// opening; TTD is the incident's own opened_at − first evidence (the
	// part of the latency that is sfmcwatch's, not the schedule's).
	Latency  time.Duration `json:"latency_ns"`
	TTD      time.Duration `json:"ttd_ns"`
	Detected bool          `json:"detected"`
	// TTDSinceFailure is the incident's opened_at − failure_started_at
	// (when the failure began by SFMC's timestamps), set when FailureKnown.
	TTDSinceFailure time.Duration `json:"ttd_since_failure_ns,omitempty"`
	FailureKnown    bool          `json:"failure_known,omitempty"`
	// Why explains what the latency is made of.
	Why string `json:"why"`
}

// Measurement is what Measure found.
type Measurement struct {
	Rules []RuleLatency `json:"rules"`
	// CallsPerHour is the engine's API spend on a fault-free default-size
	// tenant (sim.DefaultSize), at the default 5-minute intervals.
	CallsPerHour float64  `json:"calls_per_hour"`
	DefaultSize  sim.Size `json:"default_size"`
	// Trust is the Salesforce Trust note on an outage cause (issue 17
	// item 10), measured after the rules.
	Trust *TrustNote `json:"trust,omitempty"`
	// WarmUp and PollInterval describe the setup.
	WarmUp       time.Duration `json:"warm_up_ns"`
	PollInterval time.Duration `json:"poll_interval_ns"`
}

// measureCase is one object-level fault: pick chooses its target from the
// warmed-up store (excluding keys already used).
type measureCase struct {
	rule  string
	fault sim.Kind
	typ   resource.Type
	// params of the fault.
	params map[string]string
	pick   func(m *measurer, used map[string]bool) (target, match, why string)
}

type opened struct {
	at  time.Time
	ttd time.Duration
	// sinceFailure is opened − failure start, when known.
	sinceFailure time.Duration
	failureKnown bool
}

type measurer struct {
	r   *rig
	ctx context.Context
	mu  sync.Mutex
	// first opening per rule and per rule+key.
	byRule map[string]opened
	byKey  map[string]opened
	// apps are the customer's integrations calling through the proxy.
	apps *measureApps
}

func (m *measurer) onChanges(_ string, _ resource.Type, ch incident.Changes) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, in := range append(slices.Clone(ch.Opened), ch.Reopened...) {
		o := opened{at: in.OpenedAt, ttd: in.TTD, sinceFailure: in.TTDSinceFailure, failureKnown: in.FailureKnown()}
		if _, ok := m.byRule[in.Rule]; !ok {
			m.byRule[in.Rule] = o
		}
		k := in.Rule + "|" + in.ResourceKey
		if _, ok := m.byKey[k]; !ok {
			m.byKey[k] = o
		}
	}
}

func (m *measurer) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byRule, m.byKey = map[string]opened{}, map[string]opened{}
}

func (m *measurer) get(rule, key string) (opened, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if key == "" {
		o, ok := m.byRule[rule]
		return o, ok
	}
	o, ok := m.byKey[rule+"|"+key]
	return o, ok
}

// Measure runs the engine on a simulated tenant with a fault-free warm-up,
// then injects one fault per rule and measures, in simulated time, how long
// each takes to become an incident. Object-level faults are injected
// together on distinct objects; tenant-level faults one after another. It
// also measures the API calls per hour of a default-size tenant.
func Measure(ctx context.Context, o MeasureOptions) (*Measurement, error) {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Size == (sim.Size{}) {
		o.Size = measureSize
	}
	if o.WarmUp <= 0 {
		o.WarmUp = 12 * time.Hour
	}
	if o.Limit <= 0 {
		o.Limit = 6 * time.Hour
	}
	if o.SpendHours == 0 {
		o.SpendHours = 3
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	dir, err := os.MkdirTemp("", "sfmcwatch-measure-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	m := &measurer{ctx: ctx}
	m.reset()
	// A fixed start (midnight UTC of a fixed day) makes the measurement
	// reproducible and keeps the whole run inside one UTC day, which the
	// daily API budget counts in.
	r, err := newRig(ctx, rigOptions{Seed: o.Seed, Size: o.Size, Dir: dir, OnChanges: m.onChanges, Start: measureStart, Proxy: true})
	if err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	defer r.close()
	m.r = r
	// Salesforce Trust (served by the simulator) for the Trust note.
	r.extra = trustConfig(r.simURL)
	if err := r.writeConfig("", 0); err != nil {
		return nil, err
	}
	if err := r.holder.Reload(r.configPath); err != nil {
		return nil, fmt.Errorf("measure: reload: %w", err)
	}
	used := map[string]bool{}
	if err := m.startApps(used); err != nil {
		return nil, err
	}
	out := &Measurement{WarmUp: o.WarmUp, PollInterval: 5 * time.Minute, DefaultSize: sim.DefaultSize()}

	fmt.Fprintf(progress, "warming up: %s of fault-free history\n", o.WarmUp)
	if err := r.play(ctx, r.sim.Now().Add(o.WarmUp), 0, nil); err != nil {
		return nil, fmt.Errorf("measure: warm-up: %w", err)
	}
	m.reset()

	// Object-level faults, all at once on distinct objects.
	type injected struct {
		c      measureCase
		target string
		match  string
		why    string
		at     time.Time
		fault  string
	}
	var inj []injected
	for _, c := range measureCases {
		if !o.measures(c.rule) {
			continue
		}
		target, match, why := c.pick(m, used)
		if target == "" {
			out.Rules = append(out.Rules, RuleLatency{Rule: c.rule, Fault: string(c.fault), Why: "no suitable object in the simulated tenant"})
			continue
		}
		used[string(c.typ)+":"+match] = true
		if _, err := r.sim.InjectErr(sim.Fault{Kind: c.fault, Target: target, Params: c.params}); err != nil {
			return nil, fmt.Errorf("measure: inject %s on %s: %w", c.fault, target, err)
		}
		inj = append(inj, injected{c: c, target: target, match: match, why: why, at: r.sim.Now(), fault: string(c.fault)})
	}
	fmt.Fprintf(progress, "injected %d object faults; stepping up to %s\n", len(inj), o.Limit)
	key := func(x injected) string { return x.match }
	allSeen := func() bool {
		for _, x := range inj {
			if _, ok := m.get(x.c.rule, key(x)); !ok {
				return false
			}
		}
		return true
	}
	if err := r.play(ctx, r.sim.Now().Add(o.Limit), 0, allSeen); err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	for _, x := range inj {
		rl := RuleLatency{Rule: x.c.rule, Fault: x.fault, Target: key(x), Why: x.why}
		if op, ok := m.get(x.c.rule, key(x)); ok {
			rl.Detected, rl.Latency, rl.TTD = true, op.at.Sub(x.at), op.ttd
			rl.TTDSinceFailure, rl.FailureKnown = op.sinceFailure, op.failureKnown
		}
		out.Rules = append(out.Rules, rl)
	}
	for _, f := range r.sim.Faults() {
		r.sim.Clear(f.ID)
	}

	// Tenant-level faults, one at a time, each after the previous one's
	// incidents resolved.
	for _, tc := range tenantCases {
		if !o.measures(tc.rule) {
			continue
		}
		if err := r.play(ctx, r.sim.Now().Add(time.Hour), 0, func() bool { return !m.anyOpen(tc.rule) }); err != nil {
			return nil, fmt.Errorf("measure: %w", err)
		}
		m.reset()
		stop := func() {}
		if tc.before != nil {
			if stop, err = tc.before(m); err != nil {
				return nil, err
			}
		}
		at := r.sim.Now()
		match := ""
		if tc.key != nil {
			match = tc.key(m)
		}
		rl := RuleLatency{Rule: tc.rule, Fault: tc.name, Target: match, Why: tc.why}
		if tc.inject != nil && m.openOn(tc.rule, match) {
			// Open before the fault: a false positive on the healthy
			// traffic, not a detection.
			rl.Why = "already open before the fault (false positive on healthy traffic)"
			out.Rules = append(out.Rules, rl)
			stop()
			continue
		}
		var id string
		var undo func()
		switch {
		case tc.inject != nil:
			if undo, err = tc.inject(m); err != nil {
				return nil, err
			}
		case tc.budget:
			// Lower the budget below what the engine spent today (UTC
			// day, as the budget counts).
			spent := r.eng.Health("demo-bu").State(r.sim.Now()).CallsToday
			if err := r.writeConfig("", max(spent*9/10, 1)); err != nil {
				return nil, err
			}
			if err := r.holder.Reload(r.configPath); err != nil {
				return nil, fmt.Errorf("measure: reload: %w", err)
			}
		default:
			id = r.sim.Inject(sim.Fault{Kind: tc.fault, Params: tc.params})
		}
		fmt.Fprintf(progress, "tenant fault %s\n", tc.name)
		if err := r.play(ctx, at.Add(o.Limit), 0, func() bool { _, ok := m.get(tc.rule, match); return ok }); err != nil {
			return nil, fmt.Errorf("measure: %w", err)
		}
		if op, ok := m.get(tc.rule, match); ok {
			rl.Detected, rl.Latency, rl.TTD = true, op.at.Sub(at), op.ttd
			rl.TTDSinceFailure, rl.FailureKnown = op.sinceFailure, op.failureKnown
		}
		out.Rules = append(out.Rules, rl)
		switch {
		case undo != nil:
			undo()
		case tc.budget:
			if err := r.writeConfig("", 0); err != nil {
				return nil, err
			}
			if err := r.holder.Reload(r.configPath); err != nil {
				return nil, fmt.Errorf("measure: reload: %w", err)
			}
		default:
			r.sim.Clear(id)
		}
		stop()
	}
	if o.measures("trust") {
		fmt.Fprintf(progress, "Trust note: %s + %s on %s\n", sim.FaultUnavailable, sim.FaultTrustIncident, trustInstance)
		if out.Trust, err = m.measureTrust(ctx, o.Limit); err != nil {
			return nil, fmt.Errorf("measure: trust: %w", err)
		}
	}
	sort.SliceStable(out.Rules, func(i, j int) bool { return out.Rules[i].Rule < out.Rules[j].Rule })

	if o.SpendHours > 0 {
		fmt.Fprintf(progress, "API spend: default-size tenant, %dh fault-free\n", o.SpendHours)
		cph, err := measureSpend(ctx, o.Seed, time.Duration(o.SpendHours)*time.Hour)
		if err != nil {
			return nil, err
		}
		out.CallsPerHour = cph
	}
	return out, nil
}

// measures reports whether the measure includes rule.
func (o MeasureOptions) measures(rule string) bool {
	return len(o.Rules) == 0 || slices.Contains(o.Rules, rule)
}

// anyOpen reports whether the store has an open incident of rule.
func (m *measurer) anyOpen(rule string) bool {
	l, err := m.r.st.ListIncidents(m.ctx, store.IncidentFilter{Status: store.IncidentOpen, Rule: rule, Limit: 1})
	return err == nil && len(l) > 0
}

// measureSpend runs a default-size tenant fault-free: one hour to settle
// (first reads of every definition), then d measured.
func measureSpend(ctx context.Context, seed int64, d time.Duration) (float64, error) {
	dir, err := os.MkdirTemp("", "sfmcwatch-spend-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	r, err := newRig(ctx, rigOptions{Seed: seed, Size: sim.DefaultSize(), Dir: dir, Start: measureStart})
	if err != nil {
		return 0, fmt.Errorf("measure: %w", err)
	}
	defer r.close()
	if err := r.play(ctx, r.sim.Now().Add(time.Hour), 0, nil); err != nil {
		return 0, err
	}
	before := r.calls(ctx)
	if err := r.play(ctx, r.sim.Now().Add(d), 0, nil); err != nil {
		return 0, err
	}
	return float64(r.calls(ctx)-before) / d.Hours(), nil
}

type tenantCase struct {
	rule, name string
	fault      sim.Kind
	params     map[string]string
	budget     bool
	why        string
	// inject, when set, injects the case's fault and returns how to end
	// it; key names the incident's resource key to wait for.
	inject func(*measurer) (func(), error)
	// before, when set, starts what the case needs on healthy terms
	// before its fault (and before the check that its incident is not
	// open already) and returns how to stop it after the case.
	before func(*measurer) (func(), error)
	key    func(*measurer) string
}

var tenantCases = []tenantCase{
	{rule: "send.silent_failure", name: string(sim.FaultTransactionalSwallowed) + " (shop-backend's sends)",
		inject: injectFault(sim.FaultTransactionalSwallowed, func(a *measureApps) string { return a.txDef }, nil),
		key:    func(*measurer) string { return "integration:shop-backend" },
		why:    "accepted (202) messages appear in the not-sent feed; judged after the 5-min grace at the next transactional poll"},
	{rule: "send.silent_failure", name: string(sim.FaultJourneyEventsDropped) + " (member-app's entry events)",
		before: startMemberApp,
		inject: injectFault(sim.FaultJourneyEventsDropped, func(a *measureApps) string { return a.journey }, nil),
		key:    func(*measurer) string { return "api-entry-events" },
		why:    "events answered 201 must outnumber the journeys' population growth by half over the 30-min window, after the 5-min grace"},
	{rule: "credentials.contention", name: "two more apps on order-sync's client id", inject: shareClientID,
		why: "their first token requests through the proxy, at the next tenant evaluation"},
	{rule: "tenant.blind", name: string(sim.FaultCredentialsRotated), fault: sim.FaultCredentialsRotated,
		why: "seen at the next token request: the cached token stays valid up to ~18 min"},
	{rule: "tenant.blocked", name: string(sim.FaultRESTBlocked), fault: sim.FaultRESTBlocked,
		why: "first call after injection (50200 stops the tenant at once)"},
	{rule: "api.errors", name: string(sim.FaultServerError), fault: sim.FaultServerError,
		why: "5 failed calls in a row"},
	{rule: "api.errors", name: string(sim.FaultRESTThrottle) + " (429)", fault: sim.FaultRESTThrottle, params: map[string]string{"retry_after": "5"},
		why: "5 throttled calls in a row"},
	{rule: "tenant.budget", name: "daily_api_budget lowered below today's spend", budget: true,
		why: "next evaluation after the config reload"},
}

// measureStart is when a measurement's simulated clock starts: a Monday,
// midnight UTC; the warm-up and every fault fit in that day.
var measureStart = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// measureSize is the demo tenant with more automations: one fault per rule
// on distinct objects needs enough frequent automations (and the send jobs
// of those that no other case breaks) for every automation, step and send
// rule.
var measureSize = sim.Size{Automations: 100, Journeys: 20, DataExtensions: 120, TriggeredSends: 30, Transactional: 8, Imports: 20}

// PrintMeasurement writes m as a table.
func PrintMeasurement(w io.Writer, m *Measurement) {
	fmt.Fprintf(w, "Injection → incident, per rule (simulated time; polls every %s; %s fault-free warm-up):\n\n", m.PollInterval, m.WarmUp)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tFAULT\tINJECTION→INCIDENT\tTTD (EVIDENCE→INCIDENT)\tFAILURE START→INCIDENT (SFMC TIMES)\tWHAT THE LATENCY IS")
	for _, r := range m.Rules {
		lat, ttd, since := "not detected", "-", "-"
		if r.Detected {
			lat, ttd = r.Latency.Round(time.Second).String(), r.TTD.Round(time.Second).String()
			if r.FailureKnown {
				since = r.TTDSinceFailure.Round(time.Second).String()
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Rule, r.Fault, lat, ttd, since, r.Why)
	}
	tw.Flush()
	if t := m.Trust; t != nil {
		if t.Detected {
			fmt.Fprintf(w, "\nTrust note (Salesforce Trust configured; %s on instance %s): the outage cause says so %s after injection: %q\n",
				t.Fault, t.Instance, t.Latency.Round(time.Second), t.Title)
		} else {
			fmt.Fprintf(w, "\nTrust note (Salesforce Trust configured; %s on instance %s): not detected\n", t.Fault, t.Instance)
		}
	}
	if m.CallsPerHour > 0 {
		s := m.DefaultSize
		fmt.Fprintf(w, "\nAPI calls per hour, fault-free default-size tenant (%d automations, %d journeys, %d data extensions, %d triggered sends, %d transactional, %d imports): %.0f (%.0f a day)\n",
			s.Automations, s.Journeys, s.DataExtensions, s.TriggeredSends, s.Transactional, s.Imports, m.CallsPerHour, m.CallsPerHour*24)
	}
}
