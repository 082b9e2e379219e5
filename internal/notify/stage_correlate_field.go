package notify

import "github.com/sfmcwatch/sfmcwatch/internal/store"

// causeOf is the incident's cause (0 = none): store.Incident.CausedBy,
// set by the correlation step (internal/correlate).
func causeOf(in store.Incident) int64 { return in.CausedBy }
