package collect_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// planMonitor maps a simulator route to the monitor whose collector makes
// the call.
func planMonitor(route string) string {
	switch {
	case route == "POST /v2/token":
		return callplan.Tokens
	case strings.Contains(route, "/automation/v1/imports"), strings.Contains(route, "ImportResultsSummary"):
		return callplan.Imports
	case strings.Contains(route, "automation"), strings.Contains(route, "AutomationInstance"), strings.Contains(route, "ActivityInstance"):
		return callplan.Automations
	case strings.Contains(route, "/interaction/"):
		return callplan.Journeys
	case strings.Contains(route, "TriggeredSend"):
		return callplan.TriggeredSends
	case strings.HasSuffix(route, "Retrieve Send"), route == "SOAP Retrieve (continue)":
		// The only paged SOAP read of the default-size tenant is Send.
		return callplan.Sends
	case strings.Contains(route, "/messaging/"):
		return callplan.Transactional
	case strings.Contains(route, "DataExtension"), strings.Contains(route, "rowset"):
		return callplan.DataExtensions
	}
	return "other: " + route
}

// runPlanned runs every collector of the tenant at its configured interval
// (as the engine schedules them) for d of simulated time and returns the
// calls the simulator metered by monitor.
func runPlanned(t *testing.T, env interface {
	Now() time.Time
	Advance(time.Duration)
}, collectAt func(resource.Type), intervals map[resource.Type]time.Duration, d time.Duration, next map[resource.Type]time.Time) {
	t.Helper()
	const step = 5 * time.Minute
	end := env.Now().Add(d)
	for env.Now().Before(end) {
		for _, c := range collect.Collectors() {
			typ := c.Type()
			iv, ok := intervals[typ]
			if !ok {
				continue
			}
			if n, seen := next[typ]; seen && env.Now().Before(n) {
				continue
			}
			next[typ] = env.Now().Add(iv)
			collectAt(typ)
		}
		env.Advance(step)
	}
}

// TestCallPlanMatchesMetered runs every collector against the simulated
// default-size business unit at the default intervals and holds the
// planned calls a day (config.Tenant.CallPlan, what check-config prints)
// within 10 % of the calls the simulator metered: in total, and for every
// monitor planned at 100 calls a day or more. The first hours (the tenant
// being learned: notification addresses, automation targets, schemas) may
// cost at most the plan's one-off calls on top of the steady rate.
func TestCallPlanMatchesMetered(t *testing.T) {
	if testing.Short() || raceDetector {
		t.Skip("simulates 11 hours of a 1,000-object tenant")
	}
	env := fastEnv(t, 1, sim.DefaultSize())
	ctx := context.Background()
	size := sim.DefaultSize()
	inv := callplan.Inventory{Automations: size.Automations, Journeys: size.Journeys, DataExtensions: size.DataExtensions,
		TriggeredSends: size.TriggeredSends, Transactional: size.Transactional, Imports: size.Imports,
		SendJobsPerWeek: callplan.Reference().SendJobsPerWeek}
	plan := env.Tenant.CallPlan(inv)
	intervals := map[resource.Type]time.Duration{}
	env.Tenant.Monitors.Each(func(name string, m *config.Monitor) {
		if m.Enabled && m.Interval > 0 {
			intervals[resource.Type(strings.TrimSuffix(name, "s"))] = m.Interval.Std()
		}
	})
	next := map[resource.Type]time.Time{}
	collectAt := func(typ resource.Type) { env.Collect(ctx, typ) }

	// Learning: long enough for the one-off reads (200 notification
	// addresses at 5 a poll) to finish, and for the hourly automations to
	// have their first callplan.AutomationOutputLearnRuns outputs measured.
	const learn, measure = 7 * time.Hour, 4 * time.Hour
	runPlanned(t, env, collectAt, intervals, learn, next)
	learned := env.Sim.Stats().Total
	env.Sim.ResetStats()
	runPlanned(t, env, collectAt, intervals, measure, next)
	st := env.Sim.Stats()

	days := float64(measure) / float64(24*time.Hour)
	got := map[string]float64{}
	for route, n := range st.ByRoute {
		got[planMonitor(route)] += float64(n) / days
	}
	var b strings.Builder
	names := []string{}
	for _, m := range plan.Monitors {
		names = append(names, m.Name)
	}
	for k := range got {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	for _, name := range names {
		fmt.Fprintf(&b, "\n  %-16s planned %6.0f/day, metered %6.0f/day", name, plan.Get(name).PerDay(), got[name])
	}
	routes := slices.Sorted(maps.Keys(st.ByRoute))
	for _, route := range routes {
		fmt.Fprintf(&b, "\n    %-16s %6.0f/day  %s", planMonitor(route), float64(st.ByRoute[route])/days, route)
	}
	total := float64(st.Total) / days
	fmt.Fprintf(&b, "\n  %-16s planned %6d/day, metered %6.0f/day; learning: planned %d one-off + %.0f steady, metered %d",
		"total", plan.PerDay(), total, plan.Once(), float64(plan.PerDay())*float64(learn)/float64(24*time.Hour), learned)
	t.Log(b.String())

	within := func(planned, metered float64) bool { return math.Abs(planned-metered) <= 0.1*metered }
	if !within(float64(plan.PerDay()), total) {
		t.Errorf("planned %d calls/day, metered %.0f: more than 10 %% apart", plan.PerDay(), total)
	}
	for _, name := range names {
		p := plan.Get(name).PerDay()
		if strings.HasPrefix(name, "other") {
			t.Errorf("calls no monitor plans: %s (%.0f/day)", name, got[name])
			continue
		}
		if p >= 100 && !within(p, got[name]) {
			t.Errorf("%s: planned %.0f calls/day, metered %.0f: more than 10 %% apart", name, p, got[name])
		}
	}
	steadyLearn := float64(plan.PerDay()) * float64(learn) / float64(24*time.Hour)
	// The one-off reads share the per-poll budgets with the steady ones, so
	// some are still pending after the learning hours: the plan bounds them.
	if once := float64(learned) - steadyLearn; once > 1.1*float64(plan.Once()) {
		t.Errorf("learning cost %.0f calls beyond the steady rate, more than the %d one-off calls planned", once, plan.Once())
	}
}
