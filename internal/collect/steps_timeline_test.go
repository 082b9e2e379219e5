package collect_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// Step timeline tests: a query or file step of a simulated automation
// fails (or runs long) from T; the step rule must fire within a bound
// derived from the schedule, name the step, and clear after recovery.

func stepRules() []detect.Rule {
	return append(autoRules(), detect.QueryFailedRule{}, detect.QueryTimeoutRule{}, detect.FileMissingRule{},
		detect.FileUnexpectedRule{}, detect.AutomationNoOutputRule{})
}

// hasStep reports an automation whose definition (read within the
// collector's detail budget) has a step of one of the types.
func hasStep(types ...string) func(resource.AutomationState) bool {
	return func(st resource.AutomationState) bool {
		for _, a := range st.Activities {
			for _, typ := range types {
				if a.Type == typ {
					return true
				}
			}
		}
		return false
	}
}

// warmUp polls until every automation's definition was read (the detail
// budget reads 8 per poll).
func warmUp(x *tl) {
	x.poll(false, "", "")
	for range 6 {
		x.poll(true, "", "")
	}
}

func TestTimelineStepFailures(t *testing.T) {
	cases := []struct {
		rule  string
		kind  sim.Kind
		types []string
		text  string
	}{
		{"query.failed", sim.FaultQueryError, []string{resource.ActivityQuery}, "Invalid column name"},
		{"file.missing", sim.FaultFileMissing, []string{resource.ActivityImport, resource.ActivityFileTransfer}, "File not found"},
		{"file.unexpected", sim.FaultFileUnexpected, []string{resource.ActivityImport, resource.ActivityFileTransfer}, "empty"},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			x := newTL(t, resource.Automation, stepRules())
			warmUp(x)
			key, st := x.pickAutomation(hasStep(c.types...))
			id := x.env.Inject(sim.Fault{Kind: c.kind, Target: key})
			// The first failed run starts within an interval and ends within
			// its runtime; the second (consecutive: 2) one interval later.
			bound := 2*st.Interval + maxRun(st.Interval) + poll
			f, took := x.until(c.rule, key, bound, present)
			t.Logf("%s (interval %v): %s after %v (bound %v): %s", key, st.Interval, c.rule, took, bound, f.Title)
			if !strings.Contains(f.Detail, c.text) || f.Discriminator == "" {
				t.Errorf("step or SFMC's text missing: %+v", f)
			}
			if f.Owner != catalog.DataEngineering {
				t.Errorf("owner %s", f.Owner)
			}
			x.env.Sim.Clear(id)
			_, took = x.until(c.rule, key, st.Interval+maxRun(st.Interval)+poll, absent)
			t.Logf("cleared after %v", took)
		})
	}
}

func TestTimelineQueryTimeout(t *testing.T) {
	x := newTL(t, resource.Automation, stepRules())
	warmUp(x)
	key, st := x.pickAutomation(func(st resource.AutomationState) bool {
		return st.Interval >= time.Hour && hasStep(resource.ActivityQuery)(st)
	})
	x.env.Inject(sim.Fault{Kind: sim.FaultQuerySlow, Target: key, Params: map[string]string{"duration": "26m"}})
	bound := st.Interval + 27*time.Minute + 2*poll
	f, took := x.until("query.timeout", key, bound, present)
	t.Logf("%s: query.timeout after %v (bound %v): %s", key, took, bound, f.Title)
	if f.Severity != catalog.Warning || f.Family != catalog.Timeout || !strings.Contains(f.Title, "ran 26m of SFMC's 30m limit") {
		t.Errorf("finding %+v", f)
	}
}

// TestFirstLookStepFailure: a query that had already failed when
// sfmcwatch connects is reported on the first poll, before the
// automation's definition was read (the error text names the query).
func TestFirstLookStepFailure(t *testing.T) {
	// Learn which automation runs a query from a warmed-up twin of the
	// same simulated tenant.
	twin := newTL(t, resource.Automation, stepRules())
	warmUp(twin)
	key, st := twin.pickAutomation(hasStep(resource.ActivityQuery))

	x := newTL(t, resource.Automation, stepRules())
	x.env.Inject(sim.Fault{Kind: sim.FaultQueryError, Target: key, Start: x.env.Now().Add(-3 * st.Interval),
		Params: map[string]string{"message": "Violation of PRIMARY KEY constraint 'PK_Orders'. Cannot insert duplicate key in object."}})
	f := x.poll(false, "query.failed", key)
	if f == nil {
		t.Fatal("the failed query was not reported on the first poll")
	}
	if !strings.Contains(f.Detail, "PRIMARY KEY") || !strings.Contains(f.Detail, "before sfmcwatch started watching") {
		t.Errorf("detail %q", f.Detail)
	}
}
