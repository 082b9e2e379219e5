// Package incident turns detection findings into incidents: it opens an
// incident the first time a fingerprint (detect.Finding.Fingerprint) is
// found, updates it while the finding holds, and resolves it once the
// condition has stayed clear long enough (flap damping). A fingerprint
// found again after its incident was resolved opens a new incident (the
// store keeps at most one open incident per fingerprint).
//
// All state lives in the store — incidents, evidence links, their three
// times (failure_started_at: when the failure began by SFMC's own
// timestamps, when known; first_seen: sfmcwatch's first evidence;
// opened_at), time to detection both ways (opened_at − first_seen, and
// opened_at − failure_started_at) and the damping counters (a small
// cursor per fingerprint) — so a restarted process, or another replica
// sharing the database, carries on without duplicate incidents.
//
// # Flap damping
//
// An open incident whose rule ran without finding it is resolved only when
// both hold ("whichever is later"):
//
//   - the condition was clear for ClearEvaluations consecutive evaluations
//     of its rule (default 2), and
//   - at least ClearFor passed since the incident was last seen (default
//     10 minutes).
//
// One good poll therefore never resolves a persistent failure, and a
// condition that comes back within the damping period just keeps its
// incident open (the clear count restarts). Damping is configurable per
// manager and per rule id (Options.PerRule).
package incident

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Store is what the manager needs from the store.
type Store interface {
	store.IncidentStore
	store.Cursors
}

// Damping says how long a cleared condition must stay clear before its
// incident resolves. Zero fields take the defaults.
type Damping struct {
	// ClearEvaluations is the number of consecutive evaluations of the
	// rule without the finding (default 2).
	ClearEvaluations int
	// ClearFor is the minimum time since the incident was last seen
	// (default 10 minutes).
	ClearFor time.Duration
}

// Default damping.
const (
	DefaultClearEvaluations = 2
	DefaultClearFor         = 10 * time.Minute
)

func (d Damping) withDefaults() Damping {
	if d.ClearEvaluations <= 0 {
		d.ClearEvaluations = DefaultClearEvaluations
	}
	if d.ClearFor <= 0 {
		d.ClearFor = DefaultClearFor
	}
	return d
}

// Options tune a Manager.
type Options struct {
	// Damping applies to every rule without an entry in PerRule.
	Damping Damping
	// PerRule overrides Damping by rule id.
	PerRule map[string]Damping
	// DampingFor, when set, decides the damping of a rule id at each
	// evaluation (the engine reads it from the live config, so a reload
	// applies at once); it overrides Damping and PerRule.
	DampingFor func(rule string) Damping
	// Logger receives open/resolve lines (default: discard).
	Logger *slog.Logger
}

// Changes is what one Apply did, for alert routing.
type Changes struct {
	// Opened incidents (new fingerprints, or found again after a resolve).
	Opened []store.Incident `json:"opened,omitempty"`
	// Reopened is the subset of Opened whose fingerprint had a resolved
	// incident before (a regression).
	Reopened []store.Incident `json:"reopened,omitempty"`
	// Updated incidents: still found (last_seen, occurrences, evidence).
	Updated []store.Incident `json:"updated,omitempty"`
	// Escalated is the subset of Updated whose severity rose.
	Escalated []store.Incident `json:"escalated,omitempty"`
	// Resolved incidents: clear for the damping period.
	Resolved []store.Incident `json:"resolved,omitempty"`
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return len(c.Opened) == 0 && len(c.Updated) == 0 && len(c.Resolved) == 0
}

// Merge appends o's changes to c.
func (c *Changes) Merge(o Changes) {
	c.Opened = append(c.Opened, o.Opened...)
	c.Reopened = append(c.Reopened, o.Reopened...)
	c.Updated = append(c.Updated, o.Updated...)
	c.Escalated = append(c.Escalated, o.Escalated...)
	c.Resolved = append(c.Resolved, o.Resolved...)
}

// Manager applies findings to incidents. It keeps no state of its own and
// is safe for concurrent use.
type Manager struct {
	st  Store
	opt Options
	log *slog.Logger
}

// New returns a manager over st.
func New(st Store, o Options) *Manager {
	o.Damping = o.Damping.withDefaults()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{st: st, opt: o, log: log}
}

// DampingFor returns the damping of a rule id.
func (m *Manager) DampingFor(rule string) Damping {
	if m.opt.DampingFor != nil {
		return m.opt.DampingFor(rule).withDefaults()
	}
	if d, ok := m.opt.PerRule[rule]; ok {
		return d.withDefaults()
	}
	return m.opt.Damping
}

// Apply records one evaluation of the rules in results (findings per rule
// id, with an entry for every rule that ran, as detect.Registry.Evaluate
// returns them) for one tenant and resource type at now: every finding
// opens or updates its incident; every open incident of that tenant and
// rule (whatever its resource type) that the rule ran without finding moves towards
// resolution (see Damping). Rules absent from results are left alone. An
// error on one rule does not stop the others; the errors are joined.
//
// The evaluation is written in one store transaction
// (store.IncidentStore.ApplyIncidents): on SQLite every write waits for
// the single writer (behind the ingest commits), so one transaction per
// finding made a pass's latency grow with the open incidents.
func (m *Manager) Apply(ctx context.Context, now time.Time, tenant string, resourceType resource.Type, results map[string][]detect.Finding) (Changes, error) {
	rules := make([]string, 0, len(results))
	for id := range results {
		rules = append(rules, id)
	}
	slices.Sort(rules)
	var (
		batch store.IncidentBatch
		plans = make([]*rulePlan, 0, len(rules))
	)
	for _, rule := range rules {
		plans = append(plans, m.planRule(ctx, now, tenant, resourceType, rule, results[rule], &batch))
	}
	var (
		res store.IncidentBatchResult
		err error
	)
	if len(batch.Upserts)+len(batch.Clears) > 0 {
		res, err = m.st.ApplyIncidents(ctx, batch)
	}
	var (
		ch   Changes
		errs []error
	)
	for _, p := range plans {
		if err != nil && (len(p.upserts) > 0 || len(p.clears) > 0) {
			p.errs = append(p.errs, err)
		} else {
			ch.Merge(m.finishRule(ctx, now, p, res))
		}
		if e := errors.Join(p.errs...); e != nil {
			errs = append(errs, fmt.Errorf("incident: %s %s %s: %w", tenant, resourceType, p.rule, e))
		}
	}
	return ch, errors.Join(errs...)
}

// rulePlan is one rule's part of an evaluation's batch.
type rulePlan struct {
	rule    string
	prev    map[string]store.Incident // open incidents by fingerprint
	upserts []int                     // indexes in the batch's Upserts
	clears  []pendingClear
	errs    []error
}

// pendingClear is a clear mark of the batch for an open incident.
type pendingClear struct {
	inc store.Incident
	idx int // index in the batch's Clears
}

// planRule reads what one rule's findings change and adds the writes to
// batch: an upsert per (merged) finding, a clear mark per open incident of
// the rule the evaluation did not find, resolving it when this clear
// evaluation completes its damping.
func (m *Manager) planRule(ctx context.Context, now time.Time, tenant string, rt resource.Type, rule string, findings []detect.Finding, batch *store.IncidentBatch) *rulePlan {
	p := &rulePlan{rule: rule}
	// Open incidents of the rule in this tenant, whatever their resource
	// type: a rule runs under one type but may report on another (the
	// silent-failure rule runs with the transactional collection and
	// reports triggered sends too), and those must resolve as well.
	open, err := m.st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Tenant: tenant, Rule: rule, Limit: 10000})
	if err != nil {
		p.errs = append(p.errs, err)
		return p
	}
	p.prev = make(map[string]store.Incident, len(open))
	for _, in := range open {
		p.prev[in.Fingerprint] = in
	}
	seen := map[string]bool{}
	for _, f := range mergeFindings(findings) {
		if f.Rule == "" {
			f.Rule = rule
		}
		if f.Tenant == "" {
			f.Tenant = tenant
		}
		if f.ResourceType == "" {
			f.ResourceType = rt
		}
		fp := f.Fingerprint()
		seen[fp] = true
		p.upserts = append(p.upserts, len(batch.Upserts))
		batch.Upserts = append(batch.Upserts, upsert(f, fp, now))
	}
	d := m.DampingFor(rule)
	for _, inc := range open {
		if seen[inc.Fingerprint] {
			continue
		}
		name := clearCursor(inc.Fingerprint)
		old, err := m.st.GetCursor(ctx, name)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			p.errs = append(p.errs, err)
			continue
		}
		n := parseClear(old, inc) + 1
		p.clears = append(p.clears, pendingClear{inc: inc, idx: len(batch.Clears)})
		batch.Clears = append(batch.Clears, store.ClearMark{Cursor: name, Old: old,
			Next:        fmt.Sprintf("%d:%d:%d", inc.ID, inc.LastSeen.UnixMicro(), n),
			Fingerprint: inc.Fingerprint, Resolve: dampedFor(d, n, inc, now), Now: now})
	}
	return p
}

// dampedFor reports whether an open incident clear for n consecutive
// evaluations at now has met its damping.
func dampedFor(d Damping, n int, inc store.Incident, now time.Time) bool {
	return n >= d.ClearEvaluations && now.Sub(inc.LastSeen) >= d.ClearFor
}

// finishRule turns one rule's results of the batch into changes.
func (m *Manager) finishRule(ctx context.Context, now time.Time, p *rulePlan, res store.IncidentBatchResult) Changes {
	var ch Changes
	for _, i := range p.upserts {
		r := res.Upserts[i]
		if r.Err != nil {
			p.errs = append(p.errs, r.Err)
			continue
		}
		inc := r.Incident
		if r.Created {
			ch.Opened = append(ch.Opened, inc)
			if m.wasResolvedBefore(ctx, inc) {
				ch.Reopened = append(ch.Reopened, inc)
			}
			attrs := []any{"id", inc.ID, "rule", inc.Rule, "tenant", inc.Tenant,
				"resource", inc.ResourceType + ":" + inc.ResourceKey, "severity", inc.Severity, "ttd", inc.TTD}
			if inc.FailureKnown() {
				attrs = append(attrs, "ttd_since_failure", inc.TTDSinceFailure)
			}
			m.log.Info("incident opened", append(attrs, "title", inc.Title)...)
			continue
		}
		ch.Updated = append(ch.Updated, inc)
		if prev, ok := p.prev[inc.Fingerprint]; ok && catalog.Severity(inc.Severity).Rank() > catalog.Severity(prev.Severity).Rank() {
			ch.Escalated = append(ch.Escalated, inc)
		}
	}
	d := m.DampingFor(p.rule)
	for _, pc := range p.clears {
		r := res.Clears[pc.idx]
		if r.Err != nil {
			p.errs = append(p.errs, r.Err)
			continue
		}
		if !r.Moved {
			// Another replica counted this evaluation round: take its count.
			res, ok, err := m.resolveAfterConflict(ctx, d, pc.inc, now)
			if err != nil {
				p.errs = append(p.errs, err)
			}
			if !ok {
				continue
			}
			r.Incident, r.Resolved = res, true
		}
		if !r.Resolved {
			continue
		}
		inc := r.Incident
		ch.Resolved = append(ch.Resolved, inc)
		m.log.Info("incident resolved", "id", inc.ID, "rule", inc.Rule, "tenant", inc.Tenant,
			"resource", inc.ResourceType+":"+inc.ResourceKey, "open_for", now.Sub(inc.OpenedAt))
	}
	return ch
}

// resolveAfterConflict handles a clear mark whose cursor another writer
// moved first: the stored count stands (this evaluation is not counted
// twice), and the incident resolves if that count met the damping.
func (m *Manager) resolveAfterConflict(ctx context.Context, d Damping, inc store.Incident, now time.Time) (store.Incident, bool, error) {
	cur, err := m.st.GetCursor(ctx, clearCursor(inc.Fingerprint))
	if err != nil {
		return store.Incident{}, false, err
	}
	if !dampedFor(d, parseClear(cur, inc), inc, now) {
		return store.Incident{}, false, nil
	}
	res, err := m.st.ResolveFingerprint(ctx, inc.Fingerprint, now)
	if errors.Is(err, store.ErrNotFound) {
		return store.Incident{}, false, nil // resolved concurrently
	}
	if err != nil {
		return store.Incident{}, false, err
	}
	return res, true, nil
}

// mergeFindings folds findings with the same fingerprint (a rule should not
// emit two, but if it does they are one problem): earliest FirstSeen,
// earliest known FailureStartedAt, highest severity, evidence of both.
func mergeFindings(fs []detect.Finding) []detect.Finding {
	idx := map[string]int{}
	var out []detect.Finding
	for _, f := range fs {
		fp := f.Fingerprint()
		i, ok := idx[fp]
		if !ok {
			idx[fp] = len(out)
			out = append(out, f)
			continue
		}
		g := &out[i]
		if !f.FirstSeen.IsZero() && (g.FirstSeen.IsZero() || f.FirstSeen.Before(g.FirstSeen)) {
			g.FirstSeen = f.FirstSeen
		}
		if !f.FailureStartedAt.IsZero() && (g.FailureStartedAt.IsZero() || f.FailureStartedAt.Before(g.FailureStartedAt)) {
			g.FailureStartedAt = f.FailureStartedAt
		}
		if f.Severity.Rank() > g.Severity.Rank() {
			g.Severity = f.Severity
		}
		g.Evidence = append(g.Evidence, f.Evidence...)
	}
	return out
}

func upsert(f detect.Finding, fp string, now time.Time) store.IncidentUpsert {
	sev := f.Severity
	if sev == "" {
		sev = catalog.Warning
	}
	ev := make([]store.Evidence, 0, len(f.Evidence))
	for _, e := range f.Evidence {
		if e.RefID == 0 {
			continue
		}
		if e.AddedAt.IsZero() {
			e.AddedAt = now
		}
		ev = append(ev, e)
	}
	return store.IncidentUpsert{
		Fingerprint: fp, Rule: f.Rule, Severity: string(sev), Family: string(f.Family), Tenant: f.Tenant,
		ResourceType: string(f.ResourceType), ResourceKey: f.ResourceKey, Title: f.Title, Owner: string(f.Owner),
		Remediation: f.Remediation, Detail: detail(f.Detail), FirstSeen: f.FirstSeen, FailureStartedAt: f.FailureStartedAt,
		Now: now, Evidence: ev,
	}
}

// maxDetail caps a stored finding detail (runes).
const maxDetail = 2000

// detail masks a finding's explanation (it quotes SFMC's error texts)
// and caps it for storage.
func detail(s string) string {
	s = redact.String(strings.TrimSpace(s))
	if r := []rune(s); len(r) > maxDetail {
		s = string(r[:maxDetail]) + "…"
	}
	return s
}

// wasResolvedBefore reports whether inc's fingerprint had a resolved
// incident before (best effort: errors count as no).
func (m *Manager) wasResolvedBefore(ctx context.Context, inc store.Incident) bool {
	old, err := m.st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentResolved, Tenant: inc.Tenant, Rule: inc.Rule,
		ResourceType: inc.ResourceType, ResourceKey: inc.ResourceKey, Limit: 50})
	if err != nil {
		return false
	}
	return slices.ContainsFunc(old, func(o store.Incident) bool { return o.Fingerprint == inc.Fingerprint })
}

// clearCursor names the damping cursor of a fingerprint.
func clearCursor(fp string) string { return "incident/clear/" + fp }

// The damping count of a fingerprint lives in a cursor
// "incident/clear/<fingerprint>" = "<incident id>:<last_seen µs>:<n>"; a
// value for another incident or an older last_seen (the finding came back
// in between) counts as zero. Compare-and-set (a clear mark of the batch)
// keeps two replicas from double counting one evaluation round.
func parseClear(v string, inc store.Incident) int {
	parts := strings.Split(v, ":")
	if len(parts) != 3 {
		return 0
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	seen, err2 := strconv.ParseInt(parts[1], 10, 64)
	n, err3 := strconv.Atoi(parts[2])
	if err := cmp.Or(err1, err2, err3); err != nil || id != inc.ID || seen != inc.LastSeen.UnixMicro() {
		return 0
	}
	return n
}
