package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func (d *Dispatcher) hasNotification(ctx context.Context, key string) (bool, error) {
	_, err := d.st.GetNotification(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("notify: %w", err)
}

// escalation is one evaluation's pass over the escalation routes.
type escalation struct {
	d         *Dispatcher
	c         *compiled
	now       time.Time
	escalated map[int64]string // incidents whose escalation is known to be enqueued
	msgs      []Message
	next      soonest
}

// escalate enqueues escalations of unacknowledged critical incidents (and
// their resolution); the idempotency key per incident and receiver makes
// replicas and restarts agree. It returns the next escalation time.
func (d *Dispatcher) escalate(ctx context.Context, c *compiled, alerts []*alertInfo, now time.Time) (time.Time, error) {
	d.mu.Lock()
	e := &escalation{d: d, c: c, now: now, escalated: maps.Clone(d.escalated)}
	d.mu.Unlock()
	present := map[int64]bool{}
	for _, a := range alerts {
		present[a.inc.ID] = true
		for _, r := range a.routes {
			if err := e.route(ctx, a, r); err != nil {
				return time.Time{}, err
			}
		}
	}
	if len(e.msgs) > 0 {
		if err := d.enqueue(ctx, now, e.msgs...); err != nil {
			return time.Time{}, fmt.Errorf("notify: escalate: %w", err)
		}
		for _, m := range e.msgs {
			d.log.Info("escalation queued", slog.String("receiver", m.Receiver), slog.String("key", m.Key))
		}
	}
	for id := range e.escalated {
		if !present[id] {
			delete(e.escalated, id)
		}
	}
	for _, m := range e.msgs {
		if m.Status == StatusResolved {
			delete(e.escalated, m.Alerts[0].IncidentID)
		}
	}
	d.mu.Lock()
	d.escalated = e.escalated
	d.mu.Unlock()
	return e.next.t, nil
}

func (e *escalation) route(ctx context.Context, a *alertInfo, r *route) error {
	if r.escalateTo == "" {
		return nil
	}
	key := fmt.Sprintf("escalation|%s|%d", r.escalateTo, a.inc.ID)
	if !a.open {
		return e.resolved(ctx, a, r, key)
	}
	if a.labels["severity"] != "critical" || !a.inc.AcknowledgedAt.IsZero() || a.silenced || a.inhibitBy != nil || a.causedBy != nil || a.settling {
		return nil
	}
	if _, ok := e.escalated[a.inc.ID]; ok {
		return nil
	}
	at := a.inc.OpenedAt.Add(r.escalateAfter)
	if e.now.Before(at) {
		e.next.add(at)
		return nil
	}
	al := e.d.alert(e.c, a, e.now)
	al.Note = fmt.Sprintf("not acknowledged %s after it opened; escalated from %s", HumanDuration(e.now.Sub(a.inc.OpenedAt)), r.receiver)
	e.msgs = append(e.msgs, Message{Kind: KindEscalation, Key: key + "|firing", Receiver: r.escalateTo, Status: StatusFiring,
		GroupLabels: escalationLabels(a), Alerts: []Alert{al}, ExternalURL: e.c.external, CreatedAt: e.now})
	e.escalated[a.inc.ID] = r.escalateTo
	return nil
}

// resolved forwards the resolution of an escalated incident, once.
func (e *escalation) resolved(ctx context.Context, a *alertInfo, r *route, key string) error {
	sent, err := e.d.hasNotification(ctx, key+"|firing")
	if err != nil || !sent {
		return err
	}
	done, err := e.d.hasNotification(ctx, key+"|resolved")
	if err != nil || done {
		return err
	}
	e.msgs = append(e.msgs, Message{Kind: KindEscalation, Key: key + "|resolved", Receiver: r.escalateTo, Status: StatusResolved,
		GroupLabels: escalationLabels(a), Alerts: []Alert{e.d.alert(e.c, a, e.now)}, ExternalURL: e.c.external, CreatedAt: e.now})
	return nil
}

func escalationLabels(a *alertInfo) map[string]string {
	return map[string]string{"tenant": a.inc.Tenant, "family": a.inc.Family, "owner": a.inc.Owner}
}
