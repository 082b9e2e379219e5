package notify

import (
	"context"
	"errors"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// The dispatcher evaluates incidents as a pipeline of small stages, in
// the order a reader follows an incident (Alertmanager's notify pipeline
// is the model):
//
//	load       open incidents + resolved ones the notification log still references   (stage_load.go)
//	correlate  a child whose cause is open is evidence, not a notification            (stage_correlate.go)
//	silence    silences and maintenance windows (mute or downgrade)                    (stage_silence.go)
//	inhibit    a root cause suppresses what it explains; resolutions always go out     (stage_inhibit.go)
//	group      route each alert and group it per receiver, attach the log entry        (stage_group.go)
//	throttle   group_wait, group_interval, repeat_interval, Alertmanager refresh       (stage_throttle.go)
//	outbox     render the message, commit it with the log entry (compare-and-set)      (stage_outbox.go)
//	escalate   unacknowledged critical incidents to the second receiver                (stage_escalate.go)
//	deliver    claim, send per channel, retry, watchdog on failing channels            (deliver.go, watchdog.go)
//
// The stages that only mark alerts (correlate, silence, inhibit) are pure
// functions of the alerts and the time; the others read and write the
// store.

// groupState is the notification log entry of one (receiver, group),
// stored as store.NotifyState.State.
type groupState struct {
	// Since is when the entry was created: part of the idempotency keys,
	// so a group that comes back after its entry was deleted gets new ones.
	Since time.Time `json:"since"`
	// Firing are the incidents last notified as firing, Acked the subset
	// notified as acknowledged.
	Firing []int64 `json:"firing,omitempty"`
	Acked  []int64 `json:"acked,omitempty"`
	// Suppressed are inhibited incidents: not notified, but their
	// resolution is.
	Suppressed []int64 `json:"suppressed,omitempty"`
	// Held are incidents notified before and now silenced, inhibited or
	// attached to a cause: not notified while held, but their resolution
	// is.
	Held []int64 `json:"held,omitempty"`
	// LastSent is the last message; LastFiringSent the last one with
	// firing alerts (reminders count from it).
	LastSent       time.Time `json:"last_sent"`
	LastFiringSent time.Time `json:"last_firing_sent"`
	// LastRefresh is the last time the firing alerts reached the
	// receiver's Alertmanager channels (a firing message or a refresh).
	LastRefresh time.Time `json:"last_refresh,omitzero"`
}

// alertInfo is one incident with its evaluated labels and suppressions.
type alertInfo struct {
	inc       store.Incident
	labels    map[string]string
	open      bool
	silenced  bool   // a silence or a muting window applies
	note      string // why it is muted, downgraded, inhibited or attached to a cause
	inhibitBy *alertInfo
	causedBy  *alertInfo   // open cause this incident is evidence of (correlate)
	settling  bool         // its cause resolved; the correlation step still holds it under the cause
	children  []*alertInfo // open incidents attached to this one as evidence
	routes    []*route
}

// quiet reports whether the alert is held back without owing its
// resolution unless it had been notified (silenced, evidence of an open
// cause, or of a resolved one that is still settling).
func (a *alertInfo) quiet() bool { return a.silenced || a.causedBy != nil || a.settling }

func incidentLabels(in store.Incident) map[string]string {
	return map[string]string{
		"family": in.Family, "rule": in.Rule, "severity": in.Severity, "tenant": in.Tenant,
		"owner": in.Owner, "resource_type": in.ResourceType, "resource_key": in.ResourceKey,
	}
}

type group struct {
	receiver string
	key      string
	labels   map[string]string
	route    *route
	alerts   []*alertInfo
	state    store.NotifyState // Version 0 when none is stored
	gs       groupState
	// refresh: the receiver has Alertmanager channels, whose alerts
	// expire unless re-sent.
	refresh bool
}

// Evaluate routes the current incidents and commits the notifications that
// are due to the outbox. It returns when the next group or escalation falls
// due (zero = nothing scheduled).
func (d *Dispatcher) Evaluate(ctx context.Context) (time.Time, error) {
	c, err := d.compiled()
	if err != nil {
		return time.Time{}, err
	}
	now := d.now().UTC()
	in, err := d.load(ctx, now)
	if err != nil {
		return time.Time{}, err
	}
	correlateStage{causeOf: d.causeOf}.apply(in.alerts)
	silenceStage{windows: c.windows, silences: in.silences}.apply(in.alerts, now)
	inhibitStage{rules: c.inhibit}.apply(in.alerts)
	groups, err := d.group(ctx, c, in)
	if err != nil {
		return time.Time{}, err
	}
	var (
		next soonest
		errs []error
	)
	th := throttle{refreshEvery: alertmanagerRefresh}
	for _, g := range groups {
		due, err := d.flush(ctx, c, th, g, now)
		errs = append(errs, err)
		next.add(due)
	}
	due, err := d.escalate(ctx, c, in.alerts, now)
	errs = append(errs, err)
	next.add(due)
	return next.t, errors.Join(errs...)
}

// soonest keeps the earliest non-zero time it is given.
type soonest struct{ t time.Time }

func (s *soonest) add(t time.Time) {
	if !t.IsZero() && (s.t.IsZero() || t.Before(s.t)) {
		s.t = t
	}
}
