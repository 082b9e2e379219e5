package notify

import (
	"slices"
	"time"
)

// alertmanagerRefresh is how often firing alerts are re-sent to a
// receiver's Alertmanager channels: notify/alertmanager sends firing
// alerts with endsAt one hour ahead, after which Alertmanager shows them
// resolved. Half of that keeps an open incident firing there for as long
// as it is open, acknowledged or not, whatever repeat_interval says.
const alertmanagerRefresh = 30 * time.Minute

// throttle decides when a group's message is due: group_wait for a new
// group, group_interval for changes, repeat_interval for reminders of
// unacknowledged firing alerts, and refreshEvery for the Alertmanager
// channels of a receiver while anything fires.
type throttle struct {
	refreshEvery time.Duration
}

// decision is what a group owes its receiver now.
type decision struct {
	send     bool      // a message to every channel of the receiver
	reminder bool      // … that only reminds (nothing changed)
	refresh  bool      // a refresh of the firing alerts to the Alertmanager channels only
	due      time.Time // when to look again (zero = nothing scheduled)
	idle     bool      // nothing to send and nothing to record
	hold     bool      // wait until due without recording anything
}

func (t throttle) decide(g *group, p partition, now time.Time) decision {
	r, gs := g.route, g.gs
	var dec decision
	switch {
	case g.state.Version == 0:
		dec = t.first(r.groupWait, p, now)
		if dec.idle || dec.hold {
			return dec
		}
	case hasNew(p.firing, gs.Firing) || !slices.Equal(ids(p.acked), gs.Acked) || (len(p.resolved) > 0 && r.sendResolved):
		if at := gs.LastSent.Add(r.groupInterval); now.Before(at) {
			return decision{due: at, hold: true}
		}
		dec.send = true
	case len(p.firing) > len(p.acked):
		if at := gs.LastFiringSent.Add(r.repeatInterval); now.Before(at) {
			dec.due = at
		} else {
			dec.send, dec.reminder = true, true
		}
	}
	if !dec.send && g.refresh && len(p.firing) > 0 {
		dec = t.refreshDue(g, dec, now)
	}
	return dec
}

// first decides a group that was never notified: wait group_wait from the
// earliest firing alert's opening; record suppressed ones at once.
func (t throttle) first(groupWait time.Duration, p partition, now time.Time) decision {
	if len(p.firing) == 0 {
		return decision{idle: len(p.suppressed) == 0}
	}
	first := p.firing[0].inc.OpenedAt
	for _, a := range p.firing {
		if a.inc.OpenedAt.Before(first) {
			first = a.inc.OpenedAt
		}
	}
	if at := first.Add(groupWait); now.Before(at) {
		return decision{due: at, hold: true}
	}
	return decision{send: true}
}

// refreshDue adds the Alertmanager refresh to a decision without a send.
func (t throttle) refreshDue(g *group, dec decision, now time.Time) decision {
	at := later(g.gs.LastRefresh, g.gs.LastFiringSent).Add(t.refreshEvery)
	if now.Before(at) {
		if dec.due.IsZero() || at.Before(dec.due) {
			dec.due = at
		}
		return dec
	}
	dec.refresh = true
	return dec
}

// hasNew reports whether an alert fires that the log does not list.
func hasNew(firing []*alertInfo, notified []int64) bool {
	for _, a := range firing {
		if !slices.Contains(notified, a.inc.ID) {
			return true
		}
	}
	return false
}

func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}
