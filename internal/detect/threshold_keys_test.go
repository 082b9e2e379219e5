package detect

import (
	"fmt"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// TestThresholdKeysChangeTheDecision: changing one rule threshold away from
// its default changes the rule's decision on an input the default judges
// the other way (findings or their severity) — the keys act on the rule
// they configure, not only on a sibling of the same settings type.
func TestThresholdKeysChangeTheDecision(t *testing.T) {
	auto := func(pattern string, critical bool) func() *Input {
		return func() *Input {
			var edit func(*config.Tenant)
			if critical {
				edit = autoCritical
			}
			return autoInput(autoT0, resource.StatusError, resource.AutomationState{Name: "A", Runs: autoRunsOf(pattern)}, edit)
		}
	}
	imp := func(rows, errs int64) func() *Input { return func() *Input { return importInput(impOK(rows, errs)) } }
	de := func(cur int64, counts ...int64) func() *Input {
		return func() *Input {
			rules := config.DefaultRules()
			l := loads(counts...)
			s := deSnap("D", n64(cur), resource.DataExtensionState{RowCountAt: deT0, Loads: l, ObservedSince: l[0].At})
			return &Input{Now: deT0, Tenant: deTenant(nil), Rules: &rules, Type: resource.DataExtension, Current: []store.Snapshot{s},
				Snapshots: fakeHistory{}}
		}
	}
	cases := []struct {
		key   string
		rule  Rule
		input func() *Input
		set   func(r *config.Rules)
	}{
		{"automation.error.consecutive", AutomationErrorRule{}, auto("CCCCEE", false), func(r *config.Rules) { r.AutomationError.Consecutive = 3 }},
		{"automation.error.ratio", AutomationErrorRule{}, auto("CECCEC", false), func(r *config.Rules) { r.AutomationError.Ratio = 0.3 }},
		{"automation.error.last_runs", AutomationErrorRule{}, auto("CCECEC", false), func(r *config.Rules) { r.AutomationError.LastRuns = 4 }},
		{"automation.error.escalate_consecutive", AutomationErrorRule{}, auto("CEEEEE", false), func(r *config.Rules) { r.AutomationError.EscalateConsecutive = 10 }},
		{"automation.error.critical_first_error", AutomationErrorRule{}, auto("CCCCCE", true), func(r *config.Rules) { r.AutomationError.CriticalFirstError = false }},
		{"import.partial.warn_ratio", ImportPartialRule{}, imp(10000, 99), func(r *config.Rules) { r.ImportPartial.WarnRatio = 0.005 }},
		{"import.partial.error_ratio", ImportPartialRule{}, imp(9900, 100), func(r *config.Rules) { r.ImportPartial.ErrorRatio = 0.01 }},
		{"import.partial: monitors.imports.critical", ImportPartialRule{}, imp(9900, 100), nil},
		{"data_extension.row_drop.warn_drop", DERowDrop{}, de(750, 1000, 750), func(r *config.Rules) { r.DataExtensionRowDrop.WarnDrop = 0.2 }},
		{"data_extension.row_drop.error_drop", DERowDrop{}, de(700, 1000, 700), func(r *config.Rules) { r.DataExtensionRowDrop.ErrorDrop = 0.3 }},
		{"data_extension.row_drop.min_previous_rows", DERowDrop{}, de(3, 5, 3), func(r *config.Rules) { r.DataExtensionRowDrop.MinPreviousRows = 6 }},
		{"data_extension.empty.min_previous_rows", DEEmpty{}, de(0, 10, 0), func(r *config.Rules) { r.DataExtensionEmpty.MinPreviousRows = 11 }},
	}
	decide := func(t *testing.T, r Rule, in *Input) string {
		fs := autoEval(t, r, in)
		out := fmt.Sprint(len(fs))
		for _, f := range fs {
			out += " " + string(f.Severity)
		}
		return out
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			def := decide(t, c.rule, c.input())
			in := c.input()
			if c.set != nil {
				c.set(in.Rules)
			} else {
				in.Tenant.Monitors = config.DefaultMonitors()
				in.Tenant.Monitors.Imports.Critical = []string{"I"}
			}
			if got := decide(t, c.rule, in); got == def {
				t.Errorf("rules.%s changed: decision %q, the same as with the default", c.key, got)
			} else {
				t.Logf("default: %q, changed: %q", def, got)
			}
		})
	}
}
