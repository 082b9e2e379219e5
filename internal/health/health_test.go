package health

import (
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func TestCompute(t *testing.T) {
	rep := func(rule string, sev catalog.Severity, n int) []Problem {
		var ps []Problem
		for range n {
			ps = append(ps, Problem{Rule: rule, Severity: sev})
		}
		return ps
	}
	cases := []struct {
		name  string
		in    []Problem
		score int
		grade string
	}{
		{"healthy", nil, 100, "healthy"},
		{"one warning", rep("data_extension.stale", catalog.Warning, 1), 96, "healthy"},
		{"one error", rep("automation.error", catalog.Error, 1), 90, "healthy"},
		{"one critical", rep("tenant.blind", catalog.Critical, 1), 75, "fair"},
		// 10 + 9 × 2.5 = 32.5
		{"ten errors of one rule", rep("automation.error", catalog.Error, 10), 68, "at risk"},
		// capped at 35 in one area
		{"area cap", append(rep("automation.error", catalog.Critical, 2), rep("automation.stalled", catalog.Error, 3)...), 65, "at risk"},
		// access cap 60: 3 critical rules = 75 → 60
		{"access cap", append(append(rep("tenant.blind", catalog.Critical, 1), rep("tenant.blocked", catalog.Critical, 1)...), rep("tenant.budget", catalog.Critical, 1)...), 40, "critical"},
		{"floor at zero", append(append(append(append(rep("tenant.blind", catalog.Critical, 3), rep("automation.error", catalog.Critical, 3)...), rep("journey.stopped", catalog.Critical, 3)...), rep("data_extension.empty", catalog.Critical, 3)...), rep("import.failed", catalog.Critical, 3)...), 0, "critical"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Compute(c.in)
			if s.Value != c.score || s.Grade != c.grade {
				t.Errorf("score %d %q, want %d %q; deductions %+v", s.Value, s.Grade, c.score, c.grade, s.Deductions)
			}
			sum := 0.0
			for _, d := range s.Deductions {
				sum += d.Points
				if d.Reason == "" || !strings.Contains(d.Reason, d.Rule) {
					t.Errorf("deduction without a reason naming its rule: %+v", d)
				}
			}
			if want := 100 - float64(s.Value); s.Value > 0 && (sum < want-0.6 || sum > want+0.6) {
				t.Errorf("deductions sum to %g, score says %g", sum, want)
			}
		})
	}
}

func TestWorstFirstGetsFullWeight(t *testing.T) {
	s := Compute([]Problem{{"automation.error", catalog.Warning}, {"automation.error", catalog.Critical}})
	if s.Value != 74 { // 25 + 4 × 0.25
		t.Errorf("score %d, want 74: %+v", s.Value, s.Deductions)
	}
	if s.Deductions[0].Severity != catalog.Critical {
		t.Errorf("worst severity %s", s.Deductions[0].Severity)
	}
}

func TestAreaOf(t *testing.T) {
	for in, want := range map[string]Area{
		"automation.error": Automations, "journey.enrollment_drop": Journeys, "triggered_send.backlog": Sends,
		"data_extension.stale": DataExtensions, "import.partial": Imports, "tenant.blind": Access, "api.errors": Integrations,
		"transactional": Sends,
	} {
		if got := AreaOf(in); got != want {
			t.Errorf("AreaOf(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestFromIncidents(t *testing.T) {
	base := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	incs := []store.Incident{
		{Rule: "automation.error", Severity: "error", OpenedAt: base, ResolvedAt: base.Add(2 * time.Hour)},
		{Rule: "tenant.blind", Severity: "critical", OpenedAt: base.Add(time.Hour)},
		{Rule: "journey.stopped", Severity: "warning", OpenedAt: base.Add(3 * time.Hour)},
	}
	for _, c := range []struct {
		at    time.Duration
		score int
	}{
		{-time.Minute, 100},    // nothing open yet
		{0, 90},                // automation.error
		{90 * time.Minute, 65}, // + tenant.blind
		{2 * time.Hour, 75},    // automation.error resolved exactly then
		{3 * time.Hour, 71},    // + journey.stopped
	} {
		if got := FromIncidents(incs, base.Add(c.at)).Value; got != c.score {
			t.Errorf("at +%s: score %d, want %d", c.at, got, c.score)
		}
	}
}

func TestDefinitionMatchesConstants(t *testing.T) {
	d := Definition()
	text := ""
	for _, term := range d {
		text += term.What + " " + term.Deducts + "\n"
	}
	for _, want := range []string{"−25", "−10", "−4", "−1", "25% of the weight", "at most −35 (access −60)"} {
		if !strings.Contains(text, want) {
			t.Errorf("definition does not say %q:\n%s", want, text)
		}
	}
}
