package notify

import (
	"fmt"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// correlateStage attaches child incidents to their cause: an open incident
// whose cause (store.Incident.CausedBy, set by the correlation step) is
// open is evidence of it and is not notified on its own; the cause's
// message names the cause. When the cause resolves while the child stays
// open, the child is promoted: it is notified like any new incident.
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
			a.note = fmt.Sprintf("its cause, incident #%d, resolved while this one still fails", id)
			continue
		}
		a.causedBy = cause
		a.note = fmt.Sprintf("caused by incident #%d (%s): %s", cause.inc.ID, cause.inc.Rule, cause.inc.Title)
	}
}
