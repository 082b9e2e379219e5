package correlate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Store is what the step needs from the store.
type Store interface {
	ListIncidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error)
	CorrelateIncident(ctx context.Context, id int64, c store.Correlation) (store.Incident, error)
	LatestSnapshots(ctx context.Context, tenant, resourceType string) ([]store.Snapshot, error)
}

// Step correlates a tenant's open incidents after each change. It keeps
// no state but a lock per tenant (one pass at a time in this process;
// passes on several replicas converge: each writes the same plan).
type Step struct {
	st  Store
	log *slog.Logger

	mu    sync.Mutex
	locks map[string]*sync.Mutex
	trust func(ctx context.Context, tenant string) string
}

// SetTrust sets what an SFMC outage cause (tenant-wide 5xx/timeouts) adds
// to its title: fn returns a sentence such as "SFMC reports an incident on
// your instance S7 (Salesforce Trust)", or "" (nothing reported, not
// configured, or Trust unreachable). It is asked only while an outage
// cause is open. Call before the step is used.
func (s *Step) SetTrust(fn func(ctx context.Context, tenant string) string) { s.trust = fn }

// New returns a Step over st (logger nil = discard).
func New(st Store, log *slog.Logger) *Step {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Step{st: st, log: log, locks: map[string]*sync.Mutex{}}
}

// Result is what one pass changed.
type Result struct {
	// Linked are incidents that got (or changed) their cause.
	Linked []store.Incident
	// Promoted are open incidents whose cause resolved (or no longer
	// explains them): now top-level.
	Promoted []store.Incident
	// Causes are incidents that became causes or whose cause title changed.
	Causes []store.Incident
}

func (s *Step) lock(tenant string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.locks[tenant]
	if l == nil {
		l = &sync.Mutex{}
		s.locks[tenant] = l
	}
	return l
}

// Apply correlates the open incidents of tenant and rewrites the incidents
// in ch with their stored correlation, so what reads ch (alerting, the
// demo) sees caused_by and the cause's title. Promoted children and causes
// recognised or renamed in this pass are added to ch.Updated when absent.
func (s *Step) Apply(ctx context.Context, tenant string, ch *incident.Changes) (Result, error) {
	l := s.lock(tenant)
	l.Lock()
	defer l.Unlock()
	var res Result
	open, err := s.st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Tenant: tenant, Limit: 10000})
	if err != nil {
		return res, fmt.Errorf("correlate %s: %w", tenant, err)
	}
	lin, err := s.lineage(ctx, tenant, open)
	if err != nil {
		s.log.Warn("correlation without lineage", "tenant", tenant, "error", err)
	}
	linked := map[int64][]store.Incident{}
	for _, in := range open {
		if in.Cause == "" {
			continue
		}
		kids, err := s.st.ListIncidents(ctx, store.IncidentFilter{Tenant: tenant, CausedBy: in.ID, Limit: 1000})
		if err != nil {
			return res, fmt.Errorf("correlate %s: children of #%d: %w", tenant, in.ID, err)
		}
		linked[in.ID] = kids
	}
	plan := Plan(open, lin, linked)
	if s.trust != nil {
		note, asked := "", false
		for id, d := range plan {
			if d.Cause != CauseOutage || d.Title == "" {
				continue
			}
			if !asked {
				note, asked = s.trust(ctx, tenant), true
			}
			if note != "" {
				d.Title += " — " + note
				plan[id] = d
			}
		}
	}
	updated := map[int64]store.Incident{}
	var errs []error
	for _, in := range open {
		d := plan[in.ID]
		if d.CausedBy == in.CausedBy && d.Cause == in.Cause && (d.Title == "" || d.Title == in.Title) {
			continue
		}
		got, err := s.st.CorrelateIncident(ctx, in.ID, store.Correlation{CausedBy: d.CausedBy, Cause: d.Cause, Title: d.Title})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		updated[got.ID] = got
		switch {
		case d.CausedBy != 0 && d.CausedBy != in.CausedBy:
			res.Linked = append(res.Linked, got)
			s.log.Info("incident linked to its cause", "id", got.ID, "rule", got.Rule, "caused_by", got.CausedBy, "tenant", tenant)
		case d.CausedBy == 0 && in.CausedBy != 0:
			res.Promoted = append(res.Promoted, got)
			s.log.Info("incident promoted: its cause resolved or no longer explains it", "id", got.ID, "rule", got.Rule, "was_caused_by", in.CausedBy, "tenant", tenant)
		}
		if d.Cause != "" && (d.Cause != in.Cause || got.Title != in.Title) {
			res.Causes = append(res.Causes, got)
			if d.Cause != in.Cause {
				s.log.Info("cause recognised", "id", got.ID, "cause", got.Cause, "title", got.Title, "tenant", tenant)
			}
		}
	}
	if ch != nil {
		patch := func(list []store.Incident) {
			for i, in := range list {
				if u, ok := updated[in.ID]; ok {
					list[i] = u
				}
			}
		}
		patch(ch.Opened)
		patch(ch.Reopened)
		patch(ch.Updated)
		patch(ch.Escalated)
		for _, p := range slices.Concat(res.Promoted, res.Causes) {
			if !slices.ContainsFunc(ch.Updated, func(in store.Incident) bool { return in.ID == p.ID }) &&
				!slices.ContainsFunc(ch.Opened, func(in store.Incident) bool { return in.ID == p.ID }) {
				ch.Updated = append(ch.Updated, p)
			}
		}
	}
	return res, errors.Join(errs...)
}

// lineage reads the lineage the plan may need: only when automation or
// import incidents are open.
func (s *Step) lineage(ctx context.Context, tenant string, open []store.Incident) (Lineage, error) {
	lin := Lineage{AutomationTargets: map[string][]string{}, ImportDestination: map[string]string{}, JourneyEntry: map[string]string{}}
	var auto, imp bool
	for _, in := range open {
		auto = auto || in.ResourceType == string(resource.Automation)
		imp = imp || in.ResourceType == string(resource.Import)
	}
	if !auto && !imp {
		return lin, nil
	}
	var errs []error
	read := func(t resource.Type, fn func(key string, payload json.RawMessage) error) {
		snaps, err := s.st.LatestSnapshots(ctx, tenant, string(t))
		if err != nil {
			errs = append(errs, err)
			return
		}
		for _, sn := range snaps {
			if len(sn.Payload) == 0 {
				continue
			}
			if err := fn(sn.ResourceKey, sn.Payload); err != nil {
				errs = append(errs, fmt.Errorf("%s %s: %w", t, sn.ResourceKey, err))
			}
		}
	}
	if auto {
		read(resource.Automation, func(k string, p json.RawMessage) error {
			var st resource.AutomationState
			if err := json.Unmarshal(p, &st); err != nil {
				return err
			}
			if len(st.TargetDataExtensions) > 0 {
				lin.AutomationTargets[k] = st.TargetDataExtensions
			}
			return nil
		})
	}
	if imp {
		read(resource.Import, func(k string, p json.RawMessage) error {
			var st resource.ImportState
			if err := json.Unmarshal(p, &st); err != nil {
				return err
			}
			if st.DestinationKey != "" {
				lin.ImportDestination[k] = st.DestinationKey
			}
			return nil
		})
	}
	read(resource.Journey, func(k string, p json.RawMessage) error {
		var st resource.JourneyState
		if err := json.Unmarshal(p, &st); err != nil {
			return err
		}
		if st.EntryDataExtension != "" {
			lin.JourneyEntry[k] = st.EntryDataExtension
		}
		return nil
	})
	return lin, errors.Join(errs...)
}
