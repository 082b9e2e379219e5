package notify

import (
	"fmt"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// correlateStage attaches child incidents to their cause: an open incident
// whose cause (store.Incident.CausedBy, set by the correlation step) is
// open is evidence of it and is not notified on its own; the cause's
// message names the cause. When the cause resolves while the child stays
// open, the child stays quiet as long as the correlation step keeps its
// CausedBy (the cause settles: internal/correlate WithPromoteAfter); once
// the step promotes it (CausedBy cleared) it is notified like any new
// incident.
// A child that was notified before it was attached keeps its resolution
// owed (see flush).
type correlateStage struct {
	causeOf func(store.Incident) int64
}

func (s correlateStage) apply(alerts []*alertInfo) {
	open := make(map[int64]*alertInfo, len(alerts))
	for _, a := range alerts {
		if a.open {
			open[a.inc.ID] = a
		}
	}
	for _, a := range alerts {
		id := s.causeOf(a.inc)
		if !a.open || id == 0 || id == a.inc.ID {
			continue
		}
		cause := open[id]
		if cause == nil {
			a.settling = true
			a.note = fmt.Sprintf("its cause, incident #%d, resolved; this one is held under it until the cause has settled", id)
			continue
		}
		a.causedBy = cause
		cause.children = append(cause.children, a)
		a.note = fmt.Sprintf("caused by incident #%d (%s): %s", cause.inc.ID, cause.inc.Rule, cause.inc.Title)
	}
}

// childrenNote names the incidents attached to a cause as its evidence.
func childrenNote(children []*alertInfo) string {
	if len(children) == 0 {
		return ""
	}
	const show = 5
	parts := make([]string, 0, show)
	for _, c := range children[:min(show, len(children))] {
		parts = append(parts, fmt.Sprintf("#%d %s", c.inc.ID, c.inc.Rule))
	}
	s := fmt.Sprintf("explains %d other open incident(s), attached as evidence: %s", len(children), strings.Join(parts, ", "))
	if len(children) > show {
		s += fmt.Sprintf(" …and %d more", len(children)-show)
	}
	return s
}
