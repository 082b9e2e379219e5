package monitor

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Saying when the engine is behind.
//
// Poll start lags are gathered in one-minute buckets (engine clock). A
// minute is late when the 90th percentile of the lags of the polls that
// started in it exceeds LagThreshold; the engine is behind once
// LagSustain worth of consecutive minutes were late (minutes in which no
// poll started count neither way), and back on schedule after
// lagRecover consecutive minutes that were not late. An episode is logged
// once as a warning when it starts and once when it ends, and opens a
// monitor.lagging incident on the tenant resource of every tenant whose
// polls were late in it (resolved when the episode ends).
const (
	// LagThreshold is the poll lag (p90 over a minute) that counts as late.
	LagThreshold = 30 * time.Second
	// LagSustain is how long polls must keep running late before the
	// engine says it is behind.
	LagSustain = 5 * time.Minute
	lagBucket  = time.Minute
	lagRecover = 2
	// LaggingRule is the rule id of the incident opened while the engine
	// is behind.
	LaggingRule = "monitor.lagging"
)

// lagTracker decides when a lag episode starts and ends.
type lagTracker struct {
	threshold time.Duration
	sustain   int // late minutes in a row to start an episode

	mu      sync.Mutex
	bucket  time.Time // start of the minute being gathered
	lags    []time.Duration
	late    map[string]bool // tenants late in the current bucket
	bad     int             // consecutive late minutes
	good    int             // consecutive on-time minutes
	behind  bool
	since   time.Time       // first late minute of the current run
	tenants map[string]bool // tenants late in the current run or episode
}

// lagState is what closing a minute decided.
type lagState struct {
	closed         bool // a minute closed (the caller re-evaluates incidents)
	started, ended bool
	behind         bool
	since          time.Time
	p90            time.Duration
	tenants        []string // tenants late in the episode while behind
}

func newLagTracker(threshold, sustain time.Duration) *lagTracker {
	return &lagTracker{threshold: threshold, sustain: max(int(sustain/lagBucket), 1),
		late: map[string]bool{}, tenants: map[string]bool{}}
}

// observe records a poll of tenant started at now, lag late, and closes
// the minute before now when now is in a later one.
func (l *lagTracker) observe(tenant string, now time.Time, lag time.Duration) lagState {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := now.Truncate(lagBucket)
	var st lagState
	if l.bucket.IsZero() {
		l.bucket = b
	}
	if b.After(l.bucket) {
		st = l.close()
		l.bucket = b
	}
	l.lags = append(l.lags, lag)
	if lag > l.threshold {
		l.late[tenant] = true
	}
	return st
}

// close ends the current minute (which holds at least one poll).
func (l *lagTracker) close() lagState {
	st := lagState{closed: true}
	if len(l.lags) == 0 {
		return st
	}
	slices.Sort(l.lags)
	// Nearest rank: the smallest lag at or above 90 % of the polls.
	p90 := l.lags[(len(l.lags)*9+9)/10-1]
	l.lags = l.lags[:0]
	st.p90 = p90
	if p90 > l.threshold {
		if l.bad == 0 {
			l.since = l.bucket
		}
		l.bad++
		l.good = 0
		for t := range l.late {
			l.tenants[t] = true
		}
		if !l.behind && l.bad >= l.sustain {
			l.behind, st.started = true, true
		}
	} else {
		l.good++
		if !l.behind {
			l.bad = 0
			clear(l.tenants)
		} else if l.good >= lagRecover {
			l.behind, st.ended, l.bad = false, true, 0
			clear(l.tenants)
		}
	}
	clear(l.late)
	st.behind, st.since = l.behind, l.since
	if l.behind {
		st.tenants = sortedKeys(l.tenants)
	}
	return st
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// reportLag logs an episode's start and end and keeps the
// monitor.lagging incidents in step: every closed minute re-applies the
// finding to the tenants late in the episode, and an empty result to the
// tenants whose incident is still open, until it resolves (incident
// damping: two clear evaluations and 10 minutes).
func (e *Engine) reportLag(ctx context.Context, st lagState, now time.Time) {
	if !st.closed {
		return
	}
	workers, load := e.pool.want(), e.pool.load()
	switch {
	case st.started:
		e.log.Warn("monitor behind schedule: polls keep starting late (sfmcwatch_poll_lag_seconds); add workers (serve --workers), replicas on PostgreSQL, or lengthen intervals",
			"p90_lag", st.p90.Round(time.Second).String(), "threshold", LagThreshold.String(), "for", now.Sub(st.since).Round(time.Minute).String(),
			"workers", workers, "busy_workers_needed", fmt.Sprintf("%.1f", load), "tenants_late", len(st.tenants))
	case st.ended:
		e.log.Info("monitor back on schedule", "behind_for", now.Sub(st.since).Round(time.Minute).String(), "p90_lag", st.p90.Round(time.Second).String())
	}
	e.metrics.setBehind(st.behind)
	e.lagMu.Lock()
	defer e.lagMu.Unlock()
	apply := map[string][]detect.Finding{}
	for tn := range e.lagOpen {
		apply[tn] = nil
	}
	for _, tn := range st.tenants {
		apply[tn] = []detect.Finding{{
			Rule: LaggingRule, Severity: catalog.Warning, Family: catalog.None, Owner: catalog.Infrastructure,
			Tenant: tn, ResourceType: resource.Tenant, ResourceKey: tn, ResourceName: tn,
			Title: fmt.Sprintf("sfmcwatch is behind schedule for tenant %q: polls start more than %s late", tn, LagThreshold),
			Detail: fmt.Sprintf("For %s the 90th percentile of poll start lag stayed above %s (last minute: %s) with %d workers for about %.1f busy workers of work: failures in this tenant are detected that much later.",
				now.Sub(st.since).Round(time.Minute), LagThreshold, st.p90.Round(time.Second), workers, load),
			Remediation: []string{"Raise serve --workers (or leave it at 0 to size the pool from the work)",
				"Run more replicas on PostgreSQL (README: sizing)", "Lengthen monitor intervals or split tenants across processes"},
			FirstSeen: st.since,
		}}
	}
	if len(apply) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	failed := 0
	for _, tn := range sortedKeys(boolKeys(apply)) {
		fs := apply[tn]
		c, err := e.applyLagging(ctx, now, tn, fs)
		if err != nil {
			if failed++; failed == 1 {
				e.log.Error("monitor.lagging incident failed (further failures of this round at debug)", "tenant", tn, "error", err)
			} else {
				e.log.Debug("monitor.lagging incident failed", "tenant", tn, "error", err)
			}
			continue
		}
		if len(fs) > 0 {
			e.lagOpen[tn] = true
		} else if len(c.Resolved) > 0 {
			delete(e.lagOpen, tn)
		} else if open, err := e.st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Tenant: tn, Rule: LaggingRule, Limit: 1}); err == nil && len(open) == 0 {
			delete(e.lagOpen, tn)
		}
	}
}

// applyLagging applies one tenant's monitor.lagging result (each tenant
// with its own deadline: a slow store fails one, not the round).
func (e *Engine) applyLagging(ctx context.Context, now time.Time, tenant string, fs []detect.Finding) (incident.Changes, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := e.incidents.Apply(ctx, now, tenant, resource.Tenant, map[string][]detect.Finding{LaggingRule: fs})
	e.applied(ctx, tenant, resource.Tenant, &c)
	return c, err
}

func boolKeys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}
