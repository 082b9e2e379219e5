package health

import (
	"fmt"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Term is one line of the score's definition: what deducts how much, and why.
type Term struct {
	What    string `json:"what"`
	Deducts string `json:"deducts"`
	Why     string `json:"why"`
}

// Definition returns the score's definition, generated from the constants
// Compute uses, so reports, the dashboard and the README say the same thing.
func Definition() []Term {
	return []Term{
		{"Start", "100", "A tenant with no current problem is fully healthy."},
		{"Each critical problem", fmt.Sprintf("−%g", WeightCritical), "Customers are affected now or the monitor is blind (sends stopped, tenant blocked)."},
		{"Each error problem", fmt.Sprintf("−%g", WeightError), "A process failed and someone must act today (failed runs, rejected rows, truncated data)."},
		{"Each warning problem", fmt.Sprintf("−%g", WeightWarning), "A risk that becomes a failure if ignored (stalled runs, schema drift, coverage gaps)."},
		{"Each info problem", fmt.Sprintf("−%g", WeightInfo), "Worth knowing, rarely urgent."},
		{"Further problems of the same rule", fmt.Sprintf("%g%% of the weight each", RepeatFactor*100), "Twenty automations failing on one expired credential are one cause, not twenty."},
		{"Per area cap", fmt.Sprintf("at most −%g (access −%g)", AreaCap, AccessCap), "One noisy area cannot hide the others; access (authentication, blocking, API budget) weighs most because a tenant the monitor cannot see is the worst state."},
		{"Floor", "0", "The score never goes negative."},
		{"Grades", "healthy ≥ 90, fair ≥ 75, at risk ≥ 50, critical below", "One critical problem alone makes a tenant fair; two make it at risk."},
	}
}

// OpenAt returns the incidents of incs that were open at t: opened at or
// before t and not resolved by then.
func OpenAt(incs []store.Incident, t time.Time) []store.Incident {
	var out []store.Incident
	for _, in := range incs {
		if in.OpenedAt.After(t) {
			continue
		}
		if !in.ResolvedAt.IsZero() && !in.ResolvedAt.After(t) {
			continue
		}
		out = append(out, in)
	}
	return out
}

// FromIncidents scores the incidents open at t (the dashboard's and the
// digest's view of a tenant: pass one tenant's incidents).
func FromIncidents(incs []store.Incident, t time.Time) Score {
	var ps []Problem
	for _, in := range OpenAt(incs, t) {
		ps = append(ps, Problem{Rule: in.Rule, Severity: catalog.Severity(in.Severity)})
	}
	return Compute(ps)
}
