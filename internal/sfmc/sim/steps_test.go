package sim

import (
	"strings"
	"testing"
	"time"
)

// stepFaultCase checks one step fault kind (TestFaultKinds runs them).
type stepFaultCase struct {
	kind  Kind
	check func(t *testing.T, h *harness, p picks)
}

// stepAuto picks a healthy scheduled automation with an activity of one
// of the types (nil when the tenant has none).
func stepAuto(h *harness, p picks, types ...int) *automation {
	now := h.sim.Now()
	for _, a := range p.t.Automations {
		if a.Type != "scheduled" || a.BaseStatus != 6 || a.FlakyRate != 0 || a.Sched.Interval > 24*time.Hour || len(h.sim.runs(p.t, a, now, 1)) == 0 {
			continue
		}
		for _, act := range a.Activities {
			for _, typ := range types {
				if act.ObjectTypeID == typ {
					return a
				}
			}
		}
	}
	return nil
}

// stepInstances reads the activity instances of one automation's runs.
func stepInstances(h *harness, a *automation) []genericEl {
	return h.retrieve("AutomationActivityInstance", nil, simpleFilter("AutomationID", "equals", a.ID)).Results
}

func stepFaultCases() []stepFaultCase {
	failing := func(kind Kind, msg string, types ...int) stepFaultCase {
		return stepFaultCase{kind, func(t *testing.T, h *harness, p picks) {
			a := stepAuto(h, p, types...)
			if a == nil {
				t.Skip("no automation with such a step")
			}
			h.sim.Inject(Fault{Kind: kind, Target: a.Key, Start: h.sim.Now().Add(-3 * a.Sched.Interval)})
			found := false
			for _, x := range stepInstances(h, a) {
				if x.child("Status") == "-1" && x.child("StatusMessage") == msg {
					name := x.child("Name")
					for _, act := range a.Activities {
						if act.Name == name {
							found = found || (act.ObjectTypeID == types[0] || (len(types) > 1 && act.ObjectTypeID == types[1]))
						}
					}
				}
			}
			if !found {
				t.Fatalf("no errored %v step with %q", types, msg)
			}
			if r := h.retrieve("AutomationInstance", nil, simpleFilter("AutomationID", "equals", a.ID)); len(r.Results) == 0 || r.Results[0].child("Status") != "-1" {
				t.Errorf("the run did not end in Error: %+v", r.Results)
			}
		}}
	}
	return []stepFaultCase{
		failing(FaultQueryError, queryErrorMessage, objQuery),
		failing(FaultFileMissing, fileMissingMessage, objImport, objFileTransfer),
		failing(FaultFileUnexpected, fileUnexpectedMessage, objImport, objFileTransfer),
		{FaultQuerySlow, func(t *testing.T, h *harness, p picks) {
			a := stepAuto(h, p, objQuery)
			if a == nil {
				t.Skip("no automation with a query")
			}
			h.sim.Inject(Fault{Kind: FaultQuerySlow, Target: a.Key, Start: h.sim.Now().Add(-3 * a.Sched.Interval), Params: map[string]string{"duration": "27m"}})
			h.sim.Clock().Advance(a.Sched.Interval + time.Hour)
			longest := time.Duration(0)
			for _, x := range stepInstances(h, a) {
				st, e1 := time.Parse("2006-01-02T15:04:05.999", x.child("StartTime"))
				en, e2 := time.Parse("2006-01-02T15:04:05.999", x.child("CompletedTime"))
				if e1 == nil && e2 == nil && x.child("Status") != "-1" && strings.HasPrefix(x.child("Name"), "SQL_") {
					longest = max(longest, en.Sub(st))
				}
			}
			if longest != 27*time.Minute {
				t.Fatalf("longest query step %s, want 27m", longest)
			}
		}},
	}
}
