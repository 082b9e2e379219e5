package correlate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Store is what the step needs from the store.
type Store interface {
	ListIncidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error)
	GetIncident(ctx context.Context, id int64) (store.Incident, error)
	CorrelateIncidents(ctx context.Context, cs []store.IncidentCorrelation) ([]store.Incident, error)
	LatestSnapshots(ctx context.Context, tenant, resourceType string) ([]store.Snapshot, error)
}

// Step correlates a tenant's open incidents after each change. It keeps
// no state but a lock per tenant (one pass at a time in this process;
// passes on several replicas converge: each writes the same plan).
type Step struct {
	st  Store
	log *slog.Logger

	clock        func() time.Time
	promoteAfter func() time.Duration

	mu    sync.Mutex
	locks map[string]*sync.Mutex
	// due is, per tenant, when a held child's cause will have settled
	// (zero: nothing held): Due says a pass is needed then even without
	// incident changes.
	due map[string]time.Time

	trust func(ctx context.Context, tenant string) string
}

// Option configures a Step.
type Option func(*Step)

// WithPromoteAfter holds the open children of a resolved cause under it
// until the cause has been resolved for after() (read on every pass, so a
// config reload applies), on clock's time; 0 promotes them at once (the
// default).
func WithPromoteAfter(clock func() time.Time, after func() time.Duration) Option {
	return func(s *Step) { s.clock, s.promoteAfter = clock, after }
}

// SetTrust sets what an SFMC outage cause (tenant-wide 5xx/timeouts) adds
// to its title: fn returns a sentence such as "SFMC reports an incident on
// your instance S7 (Salesforce Trust)", or "" (nothing reported, not
// configured, or Trust unreachable). It is asked only while an outage
// cause is open. Call before the step is used.
func (s *Step) SetTrust(fn func(ctx context.Context, tenant string) string) { s.trust = fn }

// New returns a Step over st (logger nil = discard).
func New(st Store, log *slog.Logger, opts ...Option) *Step {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Step{st: st, log: log, locks: map[string]*sync.Mutex{}, due: map[string]time.Time{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Due reports whether tenant has a child held under a resolved cause whose
// settling time has come: the caller runs Apply then even when no incident
// changed, so the child is promoted on time.
func (s *Step) Due(tenant string) bool {
	if s.clock == nil {
		return false
	}
	s.mu.Lock()
	d, ok := s.due[tenant]
	s.mu.Unlock()
	return ok && !s.clock().Before(d)
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
	held, err := s.held(ctx, tenant, open)
	if err != nil {
		return res, fmt.Errorf("correlate %s: %w", tenant, err)
	}
	plan := PlanHeld(open, lin, linked, held)
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
	// The decisions that change something, written in one transaction.
	var (
		changed []store.Incident
		writes  []store.IncidentCorrelation
	)
	for _, in := range open {
		d := plan[in.ID]
		if d.CausedBy == in.CausedBy && d.Cause == in.Cause && (d.Title == "" || d.Title == in.Title) {
			continue
		}
		changed = append(changed, in)
		writes = append(writes, store.IncidentCorrelation{ID: in.ID, Correlation: store.Correlation{CausedBy: d.CausedBy, Cause: d.Cause, Title: d.Title}})
	}
	updated := map[int64]store.Incident{}
	var errs []error
	if len(writes) > 0 {
		stored, err := s.st.CorrelateIncidents(ctx, writes)
		if err != nil {
			errs = append(errs, err)
		}
		if len(stored) != len(writes) {
			changed = nil // nothing was written
		}
		for i, in := range changed {
			got := stored[i]
			if got.ID == 0 {
				continue // pruned meanwhile (in err)
			}
			d := plan[in.ID]
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

// held finds the open children whose cause resolved less than
// promoteAfter ago (they stay under it) and records when the next of them
// is due for promotion.
func (s *Step) held(ctx context.Context, tenant string, open []store.Incident) (map[int64]int64, error) {
	var after time.Duration
	if s.promoteAfter != nil {
		after = s.promoteAfter()
	}
	s.mu.Lock()
	delete(s.due, tenant)
	s.mu.Unlock()
	if after <= 0 || s.clock == nil {
		return nil, nil
	}
	isOpen := make(map[int64]bool, len(open))
	for _, in := range open {
		isOpen[in.ID] = true
	}
	now := s.clock()
	held := map[int64]int64{}
	causes := map[int64]store.Incident{}
	var next time.Time
	for _, in := range open {
		if in.CausedBy == 0 || isOpen[in.CausedBy] {
			continue
		}
		c, ok := causes[in.CausedBy]
		if !ok {
			got, err := s.st.GetIncident(ctx, in.CausedBy)
			switch {
			case errors.Is(err, store.ErrNotFound):
				// Pruned: nothing to wait for.
			case err != nil:
				return nil, fmt.Errorf("cause #%d of #%d: %w", in.CausedBy, in.ID, err)
			}
			c, causes[in.CausedBy] = got, got
		}
		if c.Status != store.IncidentResolved || c.ResolvedAt.IsZero() {
			continue
		}
		settled := c.ResolvedAt.Add(after)
		if !now.Before(settled) {
			continue
		}
		held[in.ID] = in.CausedBy
		if next.IsZero() || settled.Before(next) {
			next = settled
		}
	}
	if !next.IsZero() {
		s.mu.Lock()
		s.due[tenant] = next
		s.mu.Unlock()
	}
	return held, nil
}

// lineage reads the lineage the plan may need: only when automation or
// import incidents are open.
func (s *Step) lineage(ctx context.Context, tenant string, open []store.Incident) (Lineage, error) {
	lin := Lineage{AutomationTargets: map[string][]string{}, ImportDestination: map[string]string{}, ImportLocation: map[string]string{},
		JourneyEntry: map[string]string{}}
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
			if st.FileLocation != "" {
				lin.ImportLocation[k] = st.FileLocation
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
