package demo

import (
	"sort"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/resource"
)

// sendActivityKey is the simulator's send definition key of an
// automation's email send activity ("ESD_" and the upper-case slug of the
// automation's name).
func sendActivityKey(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
		}
	}
	return "ESD_" + strings.ToUpper(strings.TrimSuffix(b.String(), "_"))
}

// pickSend ranks send groups (send jobs of one send definition) by the
// median gap between their jobs: the fault shows on the group's next job.
// Groups of automations another case already targets are skipped.
func pickSend(why string) func(*measurer, map[string]bool) (string, string, string) {
	return func(m *measurer, used map[string]bool) (string, string, string) {
		// Sends of automations other cases break (paused, missed, erroring)
		// would not happen at all.
		taken := map[string]bool{}
		for k, v := range snapshotsOf[resource.AutomationState](m, resource.Automation) {
			if used[string(resource.Automation)+":"+k] {
				taken[sendActivityKey(v.state.Name)] = true
			}
		}
		var cands []candidate
		for k, v := range snapshotsOf[resource.SendState](m, resource.Send) {
			if taken[k] {
				continue
			}
			jobs := v.state.Jobs
			if len(jobs) < 4 || jobs[len(jobs)-1].Sent < 500 {
				continue
			}
			var gaps []float64
			for i := 1; i < len(jobs); i++ {
				gaps = append(gaps, jobs[i].SendDate.Sub(jobs[i-1].SendDate).Seconds())
			}
			sort.Float64s(gaps)
			cands = append(cands, candidate{key: k, rank: gaps[len(gaps)/2]})
		}
		c, ok := best(resource.Send, used, cands)
		if !ok {
			return "", "", ""
		}
		return c.key, c.key, why
	}
}
