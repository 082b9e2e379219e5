package correlate

import (
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func autoInc(id int64, rule, key, severity string) store.Incident {
	return store.Incident{ID: id, Rule: rule, Tenant: "t", ResourceType: "automation", ResourceKey: key, Severity: severity,
		Status: store.IncidentOpen, OpenedAt: time.Unix(id, 0)}
}

// TestStepIncidentsCauseTheirAutomation: a failing query or file step is
// the cause of its automation's automation.error for the same failure (one
// page, the specific one); a query that only ran long explains no error,
// a query killed at the limit does; another automation's error is not
// claimed.
func TestStepIncidentsCauseTheirAutomation(t *testing.T) {
	cases := []struct {
		name      string
		step      store.Incident
		claimsErr bool
	}{
		{"query failed", autoInc(1, "query.failed", "A", "error"), true},
		{"file missing", autoInc(1, "file.missing", "A", "error"), true},
		{"file unexpected", autoInc(1, "file.unexpected", "A", "warning"), true},
		{"query killed at the limit", autoInc(1, "query.timeout", "A", "error"), true},
		{"query slow, completed", autoInc(1, "query.timeout", "A", "warning"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errA := autoInc(2, "automation.error", "A", "error")
			errB := autoInc(3, "automation.error", "B", "error")
			noOut := autoInc(4, "automation.no_output", "A", "error")
			partial := autoInc(5, "automation.partial", "A", "warning")
			plan := Plan([]store.Incident{c.step, errA, errB, noOut, partial}, Lineage{}, nil)
			if got := plan[2].CausedBy == 1; got != c.claimsErr {
				t.Errorf("automation.error caused by the step: %v, want %v (plan %+v)", got, c.claimsErr, plan)
			}
			if plan[3].CausedBy != 0 {
				t.Errorf("another automation's error was claimed: %+v", plan[3])
			}
			if plan[1].CausedBy != 0 || plan[1].Cause != CauseObjectState {
				t.Errorf("the step is not a top-level cause: %+v", plan[1])
			}
			if plan[5].CausedBy == 0 {
				t.Errorf("automation.partial of the same automation left top-level: %+v", plan)
			}
		})
	}
}
