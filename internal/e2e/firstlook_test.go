package e2e

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/audit"
	"github.com/sfmcwatch/sfmcwatch/internal/collect/collecttest"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// A tenant that is already broken when sfmcwatch first connects: every
// fault began hours or days before start-up (the simulator answers with
// SFMC's documented shapes: automation status Error with the errored run
// as the last run, PausedSchedule, a Stopped journey, an Inactive triggered
// send holding Queued messages, lifetime NotSentDueToError counters, a
// transactional not-sent feed and queue, an import whose last run has
// ImportStatus Error, an import "Completed" from an empty file into a data
// extension it left empty). serve, polling every 30 s, must open one incident per failure
// within its first two cycles and none for the healthy objects, and the
// one-shot audit must report the same findings: one judgment, two doors.

type preExisting struct {
	kind   sim.Kind
	typ    resource.Type
	rule   string
	age    time.Duration // how long before start-up the fault began
	params map[string]string
	// twoLooks: the failure is a lack of change (a queue that does not
	// drain), which a single look cannot show: the audit does not see it.
	twoLooks bool
}

var brokenAtStart = []preExisting{
	{kind: sim.FaultAutomationError, typ: resource.Automation, rule: "automation.error", age: 72 * time.Hour},
	{kind: sim.FaultAutomationPaused, typ: resource.Automation, rule: "automation.paused", age: 30 * time.Hour},
	{kind: sim.FaultJourneyStopped, typ: resource.Journey, rule: "journey.stopped", age: 48 * time.Hour},
	{kind: sim.FaultTriggeredSendInactive, typ: resource.TriggeredSend, rule: "triggered_send.inactive", age: 20 * time.Hour},
	{kind: sim.FaultTriggeredSendErrors, typ: resource.TriggeredSend, rule: "triggered_send.errors", age: 72 * time.Hour, params: map[string]string{"per_hour": "120"}},
	{kind: sim.FaultTransactionalNotSent, typ: resource.Transactional, rule: "triggered_send.silent_failure", age: 6 * time.Hour, params: map[string]string{"per_hour": "60", "status_code": "126"}},
	{kind: sim.FaultImportFailed, typ: resource.Import, rule: "import.failed", age: 72 * time.Hour},
	{kind: sim.FaultImportEmptyFile, typ: resource.Import, rule: "import.failed", age: 30 * time.Hour},
	{kind: sim.FaultTriggeredSendBacklog, typ: resource.TriggeredSend, rule: "triggered_send.backlog", age: 5 * time.Hour, params: map[string]string{"per_hour": "600"}, twoLooks: true},
	{kind: sim.FaultTransactionalQueue, typ: resource.Transactional, rule: "triggered_send.silent_failure", age: 3 * time.Hour, params: map[string]string{"per_hour": "120"}},
}

type finding struct{ rule, typ, key string }

func (f finding) String() string { return f.rule + " " + f.typ + ":" + f.key }

func TestBrokenTenantFirstLook(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end first-look run")
	}
	ctx := context.Background()
	var cfg *config.Config
	env := collecttest.New(t, collecttest.Options{Seed: 11,
		Size: sim.Size{Automations: 6, Journeys: 3, TriggeredSends: 3, Transactional: 2, DataExtensions: 4, Imports: 2},
		Configure: func(c *config.Config) {
			cfg = c
			c.Tenants[0].Monitors.Each(func(_ string, m *config.Monitor) { m.Interval = config.Duration(30 * time.Second) })
		}})

	// Plant the pre-existing failures, each on its own object, started
	// before sfmcwatch's first look.
	want := map[finding]bool{}
	used := map[string]int{}
	for _, p := range brokenAtStart {
		keys := env.Keys(string(p.typ))
		slices.Sort(keys)
		i := used[string(p.typ)]
		if i >= len(keys) {
			t.Fatalf("simulator has too few %s objects", p.typ)
		}
		used[string(p.typ)]++
		env.Inject(sim.Fault{Kind: p.kind, Target: keys[i], Start: env.Now().Add(-p.age), Params: p.params})
		want[finding{p.rule, string(p.typ), keys[i]}] = true
	}
	// The simulator's own baseline has automations paused long ago: that
	// is real state a first look must report too. Everything else is
	// healthy and must stay quiet.
	autos, err := env.Client.Automations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	baseline := map[finding]bool{}
	for _, a := range autos {
		if a.Status == sfmc.AutomationPaused {
			baseline[finding{"automation.paused", string(resource.Automation), cmp.Or(a.Key, a.ID)}] = true
		}
	}

	// serve: the engine with every collector and rule, 30 s polls, two
	// cycles.
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: t.TempDir() + "/serve.db"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := monitor.New(monitor.Options{Store: st, Config: config.NewHolder(cfg, config.Loader{}), Clock: env.Sim.Now, Owner: "first-look",
		Workers: 2, CallTimeout: 10 * time.Second,
		ClientOptions: func(o *sfmc.Options) {
			o.BackoffBase, o.BackoffMax, o.MaxRetryAfter = time.Millisecond, 5*time.Millisecond, 10*time.Millisecond
			o.RateLimit, o.Burst = 1e6, 1000
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if _, err := eng.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	step := monitor.Stepper{Engine: eng, Advance: env.Advance, Now: env.Now, Step: 30 * time.Second}
	if err := step.Run(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	open, err := st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	served := map[finding]store.Incident{}
	for _, in := range open {
		if in.Rule == "api.errors" {
			t.Errorf("api.errors opened although every call was answered 2xx: %s", in.Title)
		}
		served[finding{in.Rule, in.ResourceType, in.ResourceKey}] = in
	}
	for f := range want {
		in, ok := served[f]
		if !ok {
			t.Errorf("serve: no incident for the pre-existing %s", f)
			continue
		}
		if in.FailureStartedAt.IsZero() && datedBySFMC(f.rule) {
			t.Errorf("serve: %s has no failure_started_at from SFMC's timestamps", f)
		}
	}
	for f, in := range served {
		if stepRule(f.rule) && want[finding{"automation.error", f.typ, f.key}] {
			// The errored automation's failing step (a query or file step)
			// is reported as the specific cause of the same failure: the
			// automation's error is its child, so it pages once.
			if ae := served[finding{"automation.error", f.typ, f.key}]; ae.CausedBy != in.ID {
				t.Errorf("serve: %s is not the cause of the automation's error (caused_by %d, want %d)", f, ae.CausedBy, in.ID)
			}
			continue
		}
		if !want[f] && !baseline[f] {
			t.Errorf("serve: incident for a healthy object: %s %s (%s)", f, in.Severity, in.Title)
		}
	}

	// audit: the same tenant, one look.
	rep, err := audit.Run(ctx, cfg, audit.Options{Now: env.Sim.Now, ClientOptions: func(o *sfmc.Options) {
		o.BackoffBase, o.BackoffMax, o.MaxRetryAfter = time.Millisecond, 5*time.Millisecond, 10*time.Millisecond
		o.RateLimit, o.Burst = 1e6, 1000
	}})
	if err != nil {
		t.Fatal(err)
	}
	audited := map[finding]bool{}
	for _, f := range rep.Tenants[0].Findings {
		if f.Gap || f.ResourceType == string(resource.Tenant) {
			continue
		}
		audited[finding{f.Rule, f.ResourceType, f.ResourceKey}] = true
	}
	// Table: every serve first-cycle incident the audit must report too.
	var diff []string
	for f := range served {
		if !audited[f] && !twoLooks(f.rule) {
			diff = append(diff, "serve only: "+f.String())
		}
	}
	for f := range audited {
		if _, ok := served[f]; !ok {
			diff = append(diff, "audit only: "+f.String())
		}
	}
	sort.Strings(diff)
	if len(diff) > 0 {
		t.Errorf("audit and serve disagree about the same tenant:\n%s", strings.Join(diff, "\n"))
	}
	for f, in := range served {
		t.Logf("served %s [%s] %s", f, in.Severity, in.Title)
	}
	t.Logf("%d pre-existing failures, %d incidents in two cycles, %d audit findings", len(want), len(served), len(audited))
}

// twoLooks lists rules that judge a lack of change and need two looks.
func twoLooks(rule string) bool {
	for _, p := range brokenAtStart {
		if p.rule == rule && p.twoLooks {
			return true
		}
	}
	return rule == "triggered_send.backlog"
}

// datedBySFMC: rules whose findings carry SFMC's own start time
// (run and import timestamps, lastPausedDate, ModifiedDate of a TSD);
// lifetime counters, the not-sent feed count and journey states have none.
func datedBySFMC(rule string) bool {
	switch rule {
	case "automation.error", "import.failed", "triggered_send.inactive":
		return true
	}
	return false
}

// stepRule: the rules that report an automation's failing step.
func stepRule(rule string) bool {
	switch rule {
	case "query.failed", "query.timeout", "file.missing", "file.unexpected":
		return true
	}
	return false
}
