// Package health computes a tenant's health score (0–100) from its current
// problems, with every deduction explained. One definition serves the audit,
// the dashboard and the weekly digest.
//
// The score starts at 100. Each problem deducts points by severity
// (critical 25, error 10, warning 4, info 1). Several problems of the same
// rule deduct less each (the first in full, every further one a quarter),
// because twenty automations failing on one expired credential are one
// cause, not twenty. Each area's deductions are capped (35 points; the
// access area — authentication, blocking, API budget — 60, since a tenant
// the monitor cannot see is the worst state), so one noisy area cannot hide
// the others. The score never goes below 0.
package health

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// Area groups problems the way an operator reads a tenant.
type Area string

// Areas.
const (
	Automations    Area = "automations"
	Journeys       Area = "journeys"
	Sends          Area = "sends"
	DataExtensions Area = "data_extensions"
	Imports        Area = "imports"
	Access         Area = "access"
	Integrations   Area = "integrations"
)

// Areas lists the areas in report order.
var Areas = []Area{Access, Automations, Journeys, Sends, DataExtensions, Imports, Integrations}

// AreaOf maps a rule id ("automation.error") or resource type to its area.
func AreaOf(ruleOrType string) Area {
	prefix, _, _ := strings.Cut(ruleOrType, ".")
	switch prefix {
	case "automation":
		return Automations
	case "journey":
		return Journeys
	case "triggered_send", "transactional":
		return Sends
	case "data_extension":
		return DataExtensions
	case "import":
		return Imports
	case "tenant", "access":
		return Access
	case "api":
		return Integrations
	}
	return Integrations
}

// Weights per severity, and the caps.
const (
	WeightCritical = 25.0
	WeightError    = 10.0
	WeightWarning  = 4.0
	WeightInfo     = 1.0
	// RepeatFactor is the share of the weight each further problem of the
	// same rule deducts.
	RepeatFactor = 0.25
	AreaCap      = 35.0
	AccessCap    = 60.0
)

// Weight returns the points one problem of severity s deducts.
func Weight(s catalog.Severity) float64 {
	switch s {
	case catalog.Critical:
		return WeightCritical
	case catalog.Error:
		return WeightError
	case catalog.Warning:
		return WeightWarning
	case catalog.Info:
		return WeightInfo
	}
	return 0
}

// Problem is one current problem (an open incident or an audit finding).
type Problem struct {
	Rule     string
	Severity catalog.Severity
}

// Deduction explains points taken for one rule.
type Deduction struct {
	Area     Area             `json:"area"`
	Rule     string           `json:"rule"`
	Count    int              `json:"count"`
	Severity catalog.Severity `json:"severity"` // the worst of the rule's problems
	Points   float64          `json:"points"`
	// Capped is set when the area cap reduced this deduction.
	Capped bool   `json:"capped,omitempty"`
	Reason string `json:"reason"`
}

// Score is a health score with its explanation.
type Score struct {
	Value      int         `json:"score"`
	Grade      string      `json:"grade"`
	Deductions []Deduction `json:"deductions"`
}

// Grade names a score band: healthy ≥ 90, fair ≥ 75, at risk ≥ 50, critical below.
func Grade(v int) string {
	switch {
	case v >= 90:
		return "healthy"
	case v >= 75:
		return "fair"
	case v >= 50:
		return "at risk"
	}
	return "critical"
}

// Compute scores a set of current problems.
func Compute(problems []Problem) Score {
	type acc struct {
		count  int
		worst  catalog.Severity
		points float64
	}
	byRule := map[string]*acc{}
	// Deduct for the most severe problems of a rule first, so the full
	// weight goes to the worst one.
	sorted := append([]Problem(nil), problems...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Severity.Rank() > sorted[j].Severity.Rank() })
	for _, p := range sorted {
		a := byRule[p.Rule]
		if a == nil {
			a = &acc{worst: p.Severity}
			byRule[p.Rule] = a
		}
		w := Weight(p.Severity)
		if a.count > 0 {
			w *= RepeatFactor
		}
		a.count++
		a.points += w
	}
	rules := make([]string, 0, len(byRule))
	for r := range byRule {
		rules = append(rules, r)
	}
	// Within an area, the largest deductions are applied first so a cap
	// trims the smaller ones.
	sort.Slice(rules, func(i, j int) bool {
		ai, aj := byRule[rules[i]], byRule[rules[j]]
		if ai.points != aj.points {
			return ai.points > aj.points
		}
		return rules[i] < rules[j]
	})
	areaUsed := map[Area]float64{}
	var ds []Deduction
	total := 0.0
	for _, r := range rules {
		a := byRule[r]
		area := AreaOf(r)
		limit := AreaCap
		if area == Access {
			limit = AccessCap
		}
		pts := a.points
		capped := false
		if areaUsed[area]+pts > limit {
			pts = math.Max(0, limit-areaUsed[area])
			capped = true
		}
		areaUsed[area] += pts
		total += pts
		d := Deduction{Area: area, Rule: r, Count: a.count, Severity: a.worst, Points: round1(pts), Capped: capped}
		d.Reason = reason(d, a.points)
		ds = append(ds, d)
	}
	v := int(math.Round(math.Max(0, 100-total)))
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Points > ds[j].Points })
	return Score{Value: v, Grade: Grade(v), Deductions: ds}
}

func reason(d Deduction, uncapped float64) string {
	noun := "problem"
	if d.Count != 1 {
		noun = "problems"
	}
	s := fmt.Sprintf("%d %s %s (worst %s): −%g", d.Count, d.Rule, noun, d.Severity, d.Points)
	if d.Count > 1 {
		s += fmt.Sprintf(" (first %g, each further one %g%% of that)", Weight(d.Severity), RepeatFactor*100)
	}
	if d.Capped {
		s += fmt.Sprintf("; capped from −%g by the %s area limit", round1(uncapped), d.Area)
	}
	return s
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
