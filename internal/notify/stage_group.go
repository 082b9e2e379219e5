package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// grouper routes every alert through the tree (notify.channel_failed to
// the fallback receiver when one is configured) and groups the alerts per
// receiver and group key, in first-seen order.
type grouper struct {
	c *compiled
	// channels names a receiver's channels (a group whose receiver has an
	// "alertmanager" channel is refreshed, see throttle).
	channels func(receiver string) []string
}

func (s grouper) apply(alerts []*alertInfo) []*group {
	groups := map[string]*group{}
	var order []*group
	for _, a := range alerts {
		a.routes = s.c.routesFor(a)
		for _, r := range a.routes {
			if r.receiver == "" {
				continue
			}
			gk, gl := r.groupKey(a.labels)
			id := r.receiver + "\x00" + gk
			g := groups[id]
			if g == nil {
				g = &group{receiver: r.receiver, key: gk, labels: gl, route: r,
					refresh: slices.Contains(s.channels(r.receiver), "alertmanager")}
				groups[id] = g
				order = append(order, g)
			}
			g.alerts = append(g.alerts, a)
		}
	}
	return order
}

// group runs the grouper and attaches each group's notification log
// entry. Entries no alert routes to any more are deleted.
func (d *Dispatcher) group(ctx context.Context, c *compiled, in *loaded) ([]*group, error) {
	order := grouper{c: c, channels: d.receiverChannels}.apply(in.alerts)
	groups := make(map[string]*group, len(order))
	for _, g := range order {
		groups[g.receiver+"\x00"+g.key] = g
	}
	for i, st := range in.states {
		g := groups[st.Receiver+"\x00"+st.GroupKey]
		if g != nil {
			g.state, g.gs = st, in.decoded[i]
			continue
		}
		// No alert routes here any more (config changed, or the
		// incidents were pruned): forget the entry.
		if err := d.st.DeleteNotifyState(ctx, st.Receiver, st.GroupKey, st.Version); err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("notify: %w", err)
		}
	}
	return order, nil
}

// routesFor returns the routes an alert ends on. A channel failure goes to
// the fallback receiver only (unless the fallback itself is what fails:
// then through the tree, to whoever else listens); without a fallback it
// is on the dashboard, /metrics and healthz only, not sent down a tree
// that may well lead to the failing channel.
func (c *compiled) routesFor(a *alertInfo) []*route {
	if a.inc.Rule != RuleChannelFailed {
		return c.root.match(a.labels)
	}
	switch {
	case c.fallback == nil:
		return nil
	case receiverOfFailure(a.inc.ResourceKey) != c.fallback.receiver:
		return []*route{c.fallback}
	}
	return c.root.match(a.labels)
}

// partition is a group's alerts by what they owe the receiver.
type partition struct {
	firing, acked, suppressed, held, resolved []*alertInfo
}

// partitionGroup sorts a group's alerts: firing (acked a subset),
// suppressed (inhibited, never notified: resolution owed), held (notified
// before, now silenced, inhibited or attached to a cause) and newly
// resolved ones the
// log knows of. Resolutions are never suppressed: anything that was
// notified, or recorded as suppressed, gets its resolved notice.
func partitionGroup(g *group) partition {
	notified := map[int64]bool{}
	for _, id := range slices.Concat(g.gs.Firing, g.gs.Held) {
		notified[id] = true
	}
	var p partition
	for _, a := range g.alerts {
		switch {
		case !a.open:
			if notified[a.inc.ID] || slices.Contains(g.gs.Suppressed, a.inc.ID) {
				p.resolved = append(p.resolved, a)
			}
		case (a.quiet() || a.inhibitBy != nil) && notified[a.inc.ID]:
			p.held = append(p.held, a)
		case a.quiet():
		case a.inhibitBy != nil:
			p.suppressed = append(p.suppressed, a)
		default:
			p.firing = append(p.firing, a)
		}
	}
	for _, a := range p.firing {
		if !a.inc.AcknowledgedAt.IsZero() {
			p.acked = append(p.acked, a)
		}
	}
	return p
}

func ids(as []*alertInfo) []int64 {
	out := make([]int64, 0, len(as))
	for _, a := range as {
		out = append(out, a.inc.ID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
