package demo

import (
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/resource"
)

// pickStep picks a healthy scheduled automation (at most hourly; exactly
// minInterval or more when set) whose definition has a step of one of the
// types; the fault targets its first such step.
func pickStep(minInterval time.Duration, why string, types ...string) func(*measurer, map[string]bool) (string, string, string) {
	return func(m *measurer, used map[string]bool) (string, string, string) {
		cands := hourlyAutomations(m, func(st resource.AutomationState) bool {
			if st.Interval < minInterval {
				return false
			}
			for _, a := range st.Activities {
				for _, typ := range types {
					if a.Type == typ {
						return true
					}
				}
			}
			return false
		})
		c, ok := best(resource.Automation, used, cands)
		if !ok {
			return "", "", ""
		}
		return c.key, c.key, why
	}
}

// pickNoOutput picks an automation whose last measured runs all wrote
// rows (the learned never-zero assertion holds) and empties its targets.
func pickNoOutput(m *measurer, used map[string]bool) (string, string, string) {
	cands := hourlyAutomations(m, func(st resource.AutomationState) bool {
		measured := 0
		for _, r := range st.Runs {
			if r.Rows == 0 {
				return false
			}
			if r.Rows > 0 {
				measured++
			}
		}
		return len(st.TargetDataExtensions) > 0 && measured >= 6
	})
	autos := snapshotsOf[resource.AutomationState](m, resource.Automation)
	for i := range cands {
		cands[i].target = strings.Join(autos[cands[i].key].state.TargetDataExtensions, ",")
	}
	var c candidate
	for {
		var ok bool
		if c, ok = best(resource.Automation, used, cands); !ok {
			return "", "", ""
		}
		clash := false
		for _, de := range strings.Split(c.target, ",") {
			clash = clash || used[string(resource.DataExtension)+":"+de]
		}
		if !clash {
			break
		}
		used[string(resource.Automation)+":"+c.key] = true
	}
	for _, de := range strings.Split(c.target, ",") {
		used[string(resource.DataExtension)+":"+de] = true
	}
	return c.target, c.key, "its target data extensions are emptied: the next completed run writes no rows, against a never-zero history (learn_runs 5)"
}
