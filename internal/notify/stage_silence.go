package notify

import (
	"fmt"
	"time"
)

// silenceStage applies maintenance windows (mute, or downgrade the
// severity one step) and silences from the store to the alerts.
type silenceStage struct {
	windows  []maintenanceWindow
	silences []matchers
}

func (s silenceStage) apply(alerts []*alertInfo, now time.Time) {
	for _, a := range alerts {
		s.window(a, now)
		for _, m := range s.silences {
			if m.matches(a.labels) {
				a.silenced = true
				break
			}
		}
	}
}

// window applies the first maintenance window that covers a at now.
func (s silenceStage) window(a *alertInfo, now time.Time) {
	for _, w := range s.windows {
		if !w.cfg.Contains(now) || !w.matchers.matches(a.labels) {
			continue
		}
		if w.mute {
			a.silenced, a.note = true, "muted by maintenance window "+w.cfg.Name
			return
		}
		orig := a.labels["severity"]
		a.labels["severity"] = downgrade(orig)
		a.note = fmt.Sprintf("severity downgraded from %s during maintenance window %s", orig, w.cfg.Name)
		return
	}
}
