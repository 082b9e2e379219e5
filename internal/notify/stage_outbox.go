package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// flush runs one group through throttle and outbox: it decides what the
// group owes its receiver and commits the message (if any) with the new
// log entry. It returns when the group next needs attention.
func (d *Dispatcher) flush(ctx context.Context, c *compiled, th throttle, g *group, now time.Time) (time.Time, error) {
	p := partitionGroup(g)
	next := groupState{Since: g.gs.Since, Firing: ids(p.firing), Acked: ids(p.acked), Suppressed: ids(p.suppressed),
		Held: ids(p.held), LastSent: g.gs.LastSent, LastFiringSent: g.gs.LastFiringSent, LastRefresh: g.gs.LastRefresh}
	if next.Since.IsZero() {
		next.Since = now
	}
	dec := th.decide(g, p, now)
	bookkeeping := !slices.Equal(next.Firing, g.gs.Firing) || !slices.Equal(next.Acked, g.gs.Acked) ||
		!slices.Equal(next.Suppressed, g.gs.Suppressed) || !slices.Equal(next.Held, g.gs.Held) || len(p.resolved) > 0
	if dec.idle || dec.hold || (!dec.send && !dec.refresh && !bookkeeping) {
		return dec.due, nil
	}
	msgs, err := d.outboxFor(c, g, p, dec, &next, now)
	if err != nil {
		return time.Time{}, err
	}
	retry, err := d.commit(ctx, g, next, msgs, now)
	if err != nil || !retry.IsZero() {
		return retry, err
	}
	d.logQueued(g, msgs, p, dec)
	return d.afterCommit(ctx, th, g, p, next, now)
}

// outboxFor renders the message a decision calls for as outbox rows and
// updates the log entry's send times.
func (d *Dispatcher) outboxFor(c *compiled, g *group, p partition, dec decision, next *groupState, now time.Time) ([]store.OutboxMessage, error) {
	if !dec.send && !dec.refresh {
		return nil, nil
	}
	m := Message{
		Kind: KindAlert, Receiver: g.receiver, GroupKey: g.key, GroupLabels: g.labels,
		Reminder: dec.reminder, Refresh: dec.refresh, ExternalURL: c.external, CreatedAt: now, Status: StatusResolved,
	}
	for _, a := range p.firing {
		m.Alerts = append(m.Alerts, d.alert(c, a, now))
	}
	if len(p.firing) > 0 {
		m.Status = StatusFiring
	}
	if dec.send && g.route.sendResolved {
		m.Alerts = append(m.Alerts, d.resolvedAlerts(c, g, p, now)...)
	}
	if len(m.Alerts) == 0 {
		return nil, nil
	}
	m.Key = fmt.Sprintf("group|%s|%s|%d|v%d", g.receiver, g.key, next.Since.UnixMicro(), g.state.Version+1)
	if dec.refresh {
		m.Key += "|refresh"
	}
	oms, err := d.outboxMessages(m)
	if err != nil {
		return nil, err
	}
	if dec.refresh {
		// Only the channels whose alerts expire get the refresh.
		oms = slices.DeleteFunc(oms, func(om store.OutboxMessage) bool { return om.Channel != "alertmanager" })
		next.LastRefresh = now
		return oms, nil
	}
	next.LastSent = now
	if len(p.firing) > 0 {
		next.LastFiringSent, next.LastRefresh = now, now
	}
	return oms, nil
}

func (d *Dispatcher) resolvedAlerts(c *compiled, g *group, p partition, now time.Time) []Alert {
	out := make([]Alert, 0, len(p.resolved))
	for _, a := range p.resolved {
		al := d.alert(c, a, now)
		if al.Note == "" && slices.Contains(g.gs.Suppressed, a.inc.ID) {
			al.Note = "resolved while suppressed by a root-cause incident (never notified as firing)"
		}
		out = append(out, al)
	}
	return out
}

// commit writes the log entry and the rows in one compare-and-set. A
// non-zero time means the evaluation of this group ends there (another
// replica moved the entry on: look again in a second).
func (d *Dispatcher) commit(ctx context.Context, g *group, next groupState, msgs []store.OutboxMessage, now time.Time) (time.Time, error) {
	b, err := json.Marshal(next)
	if err != nil {
		return time.Time{}, err
	}
	st := g.state
	st.Receiver, st.GroupKey, st.State = g.receiver, g.key, b
	committed, err := d.st.CommitNotification(ctx, st, now, msgs...)
	if errors.Is(err, store.ErrConflict) {
		d.log.Debug("notification log moved on; re-evaluating", slog.String("group", g.key))
		return now.Add(time.Second), nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("notify: commit %s/%s: %w", g.receiver, g.key, err)
	}
	g.state = committed
	return time.Time{}, nil
}

// afterCommit forgets a group with nothing left to report and returns
// when it next needs attention.
func (d *Dispatcher) afterCommit(ctx context.Context, th throttle, g *group, p partition, next groupState, now time.Time) (time.Time, error) {
	if len(next.Firing) == 0 && len(next.Suppressed) == 0 && len(next.Held) == 0 {
		if err := d.st.DeleteNotifyState(ctx, g.receiver, g.key, g.state.Version); err != nil &&
			!errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			return time.Time{}, fmt.Errorf("notify: %w", err)
		}
		return time.Time{}, nil
	}
	var due soonest
	if len(p.firing) > len(p.acked) {
		due.add(next.LastFiringSent.Add(g.route.repeatInterval))
	}
	if g.refresh && len(p.firing) > 0 {
		due.add(later(next.LastRefresh, next.LastFiringSent).Add(th.refreshEvery))
	}
	return due.t, nil
}

func (d *Dispatcher) logQueued(g *group, msgs []store.OutboxMessage, p partition, dec decision) {
	if len(msgs) == 0 {
		return
	}
	var chans []string
	for _, m := range msgs {
		if m.Channel != "" {
			chans = append(chans, m.Channel)
		}
	}
	d.log.Info("notification queued", slog.String("receiver", g.receiver), slog.Any("channels", chans), slog.String("group", g.key),
		slog.Int("firing", len(p.firing)), slog.Int("resolved", len(p.resolved)), slog.Bool("reminder", dec.reminder), slog.Bool("refresh", dec.refresh))
}
