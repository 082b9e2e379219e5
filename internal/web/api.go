package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// IncidentJSON is an incident in the API (GET /api/v1/incidents).
type IncidentJSON struct {
	ID           int64  `json:"id"`
	Rule         string `json:"rule"`
	Severity     string `json:"severity"`
	Family       string `json:"family"`
	Tenant       string `json:"tenant"`
	ResourceType string `json:"resource_type"`
	ResourceKey  string `json:"resource_key"`
	Title        string `json:"title"`
	Status       string `json:"status"`
	// FirstSeen (kept for compatibility) and FirstSeenAt are both when
	// sfmcwatch first saw evidence of the problem.
	FirstSeen   time.Time `json:"first_seen"`
	FirstSeenAt time.Time `json:"first_seen_at"`
	// FailureStartedAt is when the failure began by SFMC's own timestamps
	// (null when SFMC gives none).
	FailureStartedAt *time.Time `json:"failure_started_at"`
	LastSeen         time.Time  `json:"last_seen"`
	OpenedAt         time.Time  `json:"opened_at"`
	ResolvedAt       *time.Time `json:"resolved_at"`
	// TTDSeconds is opened_at − first_seen (whole seconds);
	// TTDSinceFailureSeconds is opened_at − failure_started_at (null when
	// the failure's start is unknown).
	TTDSeconds             int64      `json:"ttd_seconds"`
	TTDSinceFailureSeconds *int64     `json:"ttd_since_failure_seconds"`
	Occurrences            int64      `json:"occurrences"`
	Owner                  string     `json:"owner"`
	Detail                 string     `json:"detail,omitempty"`
	Remediation            []string   `json:"remediation"`
	Fingerprint            string     `json:"fingerprint"`
	AcknowledgedAt         *time.Time `json:"acknowledged_at,omitempty"`
	AcknowledgedBy         string     `json:"acknowledged_by,omitempty"`
	// CausedBy is the incident that explains this one (the correlation
	// step, internal/correlate); null for a top-level incident. Cause names
	// the recognised cause when this incident is one.
	CausedBy *int64 `json:"caused_by"`
	Cause    string `json:"cause,omitempty"`
}

// EvidenceJSON is one evidence link with the referenced row inlined (nil
// when it was pruned or could not be found).
type EvidenceJSON struct {
	Kind     string          `json:"kind"`
	RefID    int64           `json:"ref_id"`
	AddedAt  time.Time       `json:"added_at"`
	Event    *EventJSON      `json:"event,omitempty"`
	Snapshot *store.Snapshot `json:"snapshot,omitempty"`
	Missing  bool            `json:"missing,omitempty"`
}

// EventJSON is a stored event with its masked body sample.
type EventJSON struct {
	store.EventRecord
	BodySample string `json:"body_sample,omitempty"`
}

// IncidentDetailJSON is GET /api/v1/incidents/{id}.
type IncidentDetailJSON struct {
	IncidentJSON
	Evidence []EvidenceJSON `json:"evidence"`
	// EvidenceTotal counts the links; at most maxInlineEvidence are inlined.
	EvidenceTotal int `json:"evidence_total"`
	// Children are the incidents this one explains (caused_by = its id).
	Children []IncidentJSON `json:"children"`
}

// CausedByID is the cause's id, 0 for a top-level incident (templates).
func (i IncidentJSON) CausedByID() int64 {
	if i.CausedBy == nil {
		return 0
	}
	return *i.CausedBy
}

func toJSON(in store.Incident) IncidentJSON {
	out := IncidentJSON{
		ID: in.ID, Rule: in.Rule, Severity: in.Severity, Family: in.Family, Tenant: in.Tenant,
		ResourceType: in.ResourceType, ResourceKey: in.ResourceKey, Title: in.Title, Status: string(in.Status),
		FirstSeen: in.FirstSeen, FirstSeenAt: in.FirstSeen, LastSeen: in.LastSeen, OpenedAt: in.OpenedAt, TTDSeconds: int64(in.TTD / time.Second),
		Occurrences: in.Occurrences, Owner: in.Owner, Detail: in.Detail, Remediation: in.Remediation, Fingerprint: in.Fingerprint,
		AcknowledgedBy: in.AcknowledgedBy,
	}
	if out.Remediation == nil {
		out.Remediation = []string{}
	}
	if !in.ResolvedAt.IsZero() {
		t := in.ResolvedAt
		out.ResolvedAt = &t
	}
	if !in.AcknowledgedAt.IsZero() {
		t := in.AcknowledgedAt
		out.AcknowledgedAt = &t
	}
	if in.FailureKnown() {
		t, secs := in.FailureStartedAt, int64(in.TTDSinceFailure/time.Second)
		out.FailureStartedAt, out.TTDSinceFailureSeconds = &t, &secs
	}
	if in.CausedBy != 0 {
		c := in.CausedBy
		out.CausedBy = &c
	}
	out.Cause = in.Cause
	return out
}

// listIncidents serves GET /api/v1/incidents?status=&tenant=&rule=&family=&severity=&resource_type=&limit=.
func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.IncidentFilter{
		Status: store.IncidentStatus(q.Get("status")), Tenant: q.Get("tenant"), Rule: q.Get("rule"),
		Family: q.Get("family"), Severity: q.Get("severity"), ResourceType: q.Get("resource_type"),
	}
	switch f.Status {
	case "", store.IncidentOpen, store.IncidentResolved:
	default:
		writeError(w, http.StatusBadRequest, "status must be open or resolved")
		return
	}
	if f.Family != "" && !catalog.Family(f.Family).Valid() {
		writeError(w, http.StatusBadRequest, "unknown family "+strconv.Quote(f.Family))
		return
	}
	if f.Severity != "" {
		if _, err := catalog.ParseSeverity(f.Severity); err != nil {
			writeError(w, http.StatusBadRequest, "unknown severity "+strconv.Quote(f.Severity))
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "limit must be 1..10000")
			return
		}
		f.Limit = n
	}
	list, err := s.st.ListIncidents(r.Context(), f)
	if err != nil {
		s.log.Error("api: list incidents", "error", err)
		writeError(w, http.StatusInternalServerError, "could not list incidents")
		return
	}
	out := make([]IncidentJSON, len(list))
	for i, in := range list {
		out[i] = toJSON(in)
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": out, "count": len(out)})
}

// maxInlineEvidence caps the evidence rows inlined in one answer.
const maxInlineEvidence = 50

// getIncident serves GET /api/v1/incidents/{id}.
func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "incident id must be a positive integer")
		return
	}
	inc, err := s.st.GetIncident(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no incident "+strconv.FormatInt(id, 10))
		return
	}
	if err != nil {
		s.log.Error("api: get incident", "id", id, "error", err)
		writeError(w, http.StatusInternalServerError, "could not read the incident")
		return
	}
	out := IncidentDetailJSON{IncidentJSON: toJSON(inc), EvidenceTotal: len(inc.Evidence), Evidence: []EvidenceJSON{}, Children: []IncidentJSON{}}
	kids, err := s.st.ListIncidents(r.Context(), store.IncidentFilter{CausedBy: inc.ID, Limit: 1000})
	if err != nil {
		s.log.Error("api: children of incident", "id", id, "error", err)
	}
	for _, k := range kids {
		out.Children = append(out.Children, toJSON(k))
	}
	ev := inc.Evidence
	if len(ev) > maxInlineEvidence {
		ev = ev[len(ev)-maxInlineEvidence:] // the most recent
	}
	events, snaps := s.lookupEvidence(r, inc, ev)
	for _, e := range ev {
		j := EvidenceJSON{Kind: string(e.Kind), RefID: e.RefID, AddedAt: e.AddedAt}
		switch e.Kind {
		case store.EvidenceEvent:
			if rec, ok := events[e.RefID]; ok {
				j.Event = &EventJSON{EventRecord: rec, BodySample: redact.String(string(rec.Body))}
			}
		case store.EvidenceSnapshot:
			if sn, ok := snaps[e.RefID]; ok {
				j.Snapshot = &sn
			}
		}
		j.Missing = j.Event == nil && j.Snapshot == nil
		out.Evidence = append(out.Evidence, j)
	}
	writeJSON(w, http.StatusOK, out)
}

// lookupEvidence finds the referenced events and snapshots. The store
// addresses them by time, so they are searched in the incident's time range
// (events from an hour before first_seen, snapshots of the incident's
// resource from a day before), bounded; rows pruned since are missing.
func (s *Server) lookupEvidence(r *http.Request, inc store.Incident, ev []store.Evidence) (map[int64]store.EventRecord, map[int64]store.Snapshot) {
	ctx := r.Context()
	wantEv, wantSnap := map[int64]bool{}, map[int64]bool{}
	for _, e := range ev {
		if e.Kind == store.EvidenceEvent {
			wantEv[e.RefID] = true
		} else {
			wantSnap[e.RefID] = true
		}
	}
	events := map[int64]store.EventRecord{}
	snaps := map[int64]store.Snapshot{}
	to := inc.LastSeen.Add(time.Minute)
	if len(wantEv) > 0 {
		q := store.EventQuery{From: inc.FirstSeen.Add(-time.Hour), To: to, Tenant: inc.Tenant, Limit: 10000}
		for page := 0; page < 10 && len(events) < len(wantEv); page++ {
			recs, err := s.st.QueryEvents(ctx, q)
			if err != nil {
				s.log.Warn("api: evidence events", "id", inc.ID, "error", err)
				break
			}
			for _, rec := range recs {
				if wantEv[rec.ID] {
					events[rec.ID] = rec
				}
			}
			if len(recs) < q.Limit {
				break
			}
			last := recs[len(recs)-1]
			q.After = store.EventKey{TS: last.TS, ID: last.ID}
		}
	}
	if len(wantSnap) > 0 {
		ref := store.ResourceRef{Tenant: inc.Tenant, ResourceType: inc.ResourceType, ResourceKey: inc.ResourceKey}
		hist, err := s.st.SnapshotHistory(ctx, ref, inc.FirstSeen.Add(-24*time.Hour), to, 10000)
		if err != nil {
			s.log.Warn("api: evidence snapshots", "id", inc.ID, "error", err)
		}
		for _, sn := range hist {
			if wantSnap[sn.ID] {
				snaps[sn.ID] = sn
			}
		}
	}
	return events, snaps
}
