package collect

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/record"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Defaults of the transactional collector.
const (
	defaultNotSentPages = 4
	notSentPageSize     = 500
	// notSentCountHorizon: feed events older than this when read (backlog
	// after a first start or an outage of sfmcwatch) are stored as events
	// but not counted into the per-definition counters, so a catch-up
	// does not look like a burst happening now.
	notSentCountHorizon = time.Hour
	// txBacklogAge: a queue whose oldest message is at least this old is
	// "previously backlogged" and read first on the next poll.
	txBacklogAge = 60
)

// TransactionalCollector reads the transactional e-mail definitions (one
// list call, every callplan.TxDefinitionsRefresh while all is healthy,
// every poll while one is unhealthy, at once when the not-sent feed or a
// queue says something; see txDefinitionsDue), queue metrics for at most
// QueueBudget definitions a poll (riskiest first: not Active, then
// previously backlogged, then healthy ones not read for
// callplan.TxQueueRefresh, least recently read first; unread definitions
// carry their last reading forward with QueueReadAt), and, first, the
// not-sent feed after the cursor "transactional.notsent.<tenant>" (in an
// audit, without cursors: one page). Not-sent messages become classified events (source sfmc,
// surface transactional, code = statusCode; recipient-family codes such as
// ListDetectiveExclusion are list hygiene, not errors) and per-definition
// counters: not_sent and not_sent_system (cumulative as seen by
// sfmcwatch), queue_count and queue_age_seconds (gauges).
type TransactionalCollector struct {
	QueueBudget  int // queue-metric calls per poll (0: 5; <0: none)
	NotSentPages int // feed pages per poll (0: 4)
	// Catalog classifies not-sent status codes (nil: catalog.Default()).
	Catalog *catalog.Catalog
}

// Type implements Collector.
func (TransactionalCollector) Type() resource.Type { return resource.Transactional }

// NotSentCursor names the not-sent feed cursor of a tenant.
func NotSentCursor(tenant string) string { return "transactional.notsent." + tenant }

// TransactionalStatus maps a definition status to the normalised status.
func TransactionalStatus(s string) string {
	switch s {
	case "Active", "active":
		return resource.StatusActive
	case "Inactive", "inactive":
		return resource.StatusInactive
	case "Deleted", "deleted":
		return resource.StatusDeleted
	}
	return resource.StatusUnknown
}

// SystemCausedNotSent reports whether a not-sent status code of the given
// family counts against the send SLO: platform and integration faults
// (auth, rate_limit, server, timeout) and build/send failures (client codes
// ≥ 100: content, configuration), but not per-recipient data or list
// hygiene (recipient family, client codes below 100 such as an invalid
// address) nor intentional skips (family none, RaiseError).
func SystemCausedNotSent(f catalog.Family, code string) bool {
	switch f {
	case catalog.Auth, catalog.RateLimit, catalog.Server, catalog.Timeout:
		return true
	case catalog.Client:
		n, err := strconv.Atoi(code)
		return err == nil && n >= 100
	}
	return false
}

type txNotSentCount struct {
	all, system int64
	byCode      map[string]int64
}

// Collect implements Collector.
func (c TransactionalCollector) Collect(ctx context.Context, in *Input) (*Output, error) {
	cat := c.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	prevState := map[string]resource.TransactionalState{}
	for k, p := range in.Previous {
		var ps resource.TransactionalState
		if resource.Decode(p, &ps) == nil {
			prevState[k] = ps
		}
	}

	// Not-sent feed. Messages an ENS EmailNotSent event already counted
	// (NotSentSeen) are stored as events but not counted again.
	// Marks are kept only for definitions ENS reported on in the last
	// week: without ENS nothing else counts these messages.
	marks := map[string][]resource.NotSentMark{}
	useENS := map[string]bool{}
	for k, ps := range prevState {
		marks[k] = slices.Clone(ps.NotSentSeen)
		useENS[k] = !ps.ENSAt.IsZero() && in.Now.Sub(ps.ENSAt) < ENSLookback
	}
	mark := func(def, messageKey string, at time.Time, system bool) bool {
		if messageKey == "" || !useENS[def] {
			return true
		}
		h := NotSentHash(messageKey)
		for i := range marks[def] {
			if marks[def][i].Key == h {
				marks[def][i].Polled = true
				return false
			}
		}
		marks[def] = append(marks[def], resource.NotSentMark{Key: h, At: at, Polled: true, System: system})
		return true
	}
	out := &Output{}
	counts := map[string]*txNotSentCount{}
	if err := c.readNotSent(ctx, in, cat, out, counts, mark); err != nil {
		return nil, err
	}

	// Definitions (status): carried forward between reads while all is
	// healthy (callplan.TxDefinitionsRefresh).
	defs, readAt, fresh := carriedTransactional(in, prevState)
	if !fresh || txDefinitionsDue(in, prevState, counts) {
		read, err := in.Client.TransactionalDefinitions(ctx)
		if err != nil {
			return nil, err
		}
		defs, readAt = read, in.Now
	}

	// Queue metrics, budgeted.
	budget := c.QueueBudget
	if budget == 0 {
		budget = callplan.TxQueueBudget
	}
	queues := map[string]sfmc.QueueMetrics{}
	if order := txQueueOrder(in.Now, defs, in.Previous, prevState); budget > 0 && len(order) > 0 {
		q, err := in.Client.TransactionalQueues(ctx, order, budget)
		if err != nil && len(q.Values) == 0 {
			return nil, err
		}
		queues = q.Values
	}
	if readAt.Before(in.Now) {
		for _, q := range queues {
			if int64(q.Age/time.Second) >= txBacklogAge {
				// A backlogged queue: an Inactive definition queues its
				// sends. Read the status now rather than at the refresh.
				if read, err := in.Client.TransactionalDefinitions(ctx); err == nil {
					defs, readAt = read, in.Now
				}
				break
			}
		}
	}

	seen := map[string]bool{}
	for _, d := range defs {
		if d.Key == "" || seen[d.Key] {
			continue
		}
		seen[d.Key] = true
		snap := in.Snapshot(resource.Transactional, d.Key)
		snap.Status = TransactionalStatus(d.Status)
		st := resource.TransactionalState{Name: d.Name, ModifiedAt: d.ModifiedDate, JourneyKey: d.JourneyKey,
			ObservedSince: in.Now, PreviousQueueCount: -1, DefinitionsReadAt: readAt}
		prev, hasPrev := in.Previous[d.Key]
		ps, decoded := prevState[d.Key]
		hasPrev = hasPrev && decoded
		tr := msgTrack(hasPrev, prev.Status, ps.StatusSince, ps.StatusPolls, ps.PreviousStatus, snap.Status, in.Now)
		st.StatusSince, st.StatusPolls, st.PreviousStatus = tr.since, tr.polls, tr.previous
		counters := map[string]int64{resource.CounterNotSent: 0, resource.CounterNotSentSystem: 0}
		if hasPrev {
			st.ObservedSince = ps.ObservedSince
			if st.ObservedSince.IsZero() {
				st.ObservedSince = prev.ObservedAt
			}
			st.ActiveBefore = ps.ActiveBefore
			if tr.changed {
				st.ActiveBefore = ps.ActiveBefore || prev.Status == resource.StatusActive
			}
			st.SystemNotSentAt = ps.SystemNotSentAt
			st.ENSAt = ps.ENSAt
			st.QueueReadAt, st.PreviousQueueCount = ps.QueueReadAt, ps.PreviousQueueCount
			for _, n := range []string{resource.CounterNotSent, resource.CounterNotSentSystem, resource.CounterQueueCount, resource.CounterQueueAgeSeconds} {
				if v, ok := prev.Counters[n]; ok {
					counters[n] = v
				}
			}
		}
		if q, ok := queues[d.Key]; ok {
			if v, had := counters[resource.CounterQueueCount]; had && !st.QueueReadAt.IsZero() {
				st.PreviousQueueCount = v
			} else {
				st.PreviousQueueCount = -1
			}
			counters[resource.CounterQueueCount] = q.Count
			counters[resource.CounterQueueAgeSeconds] = int64(q.Age / time.Second)
			st.QueueReadAt = in.Now
		}
		if n := counts[d.Key]; n != nil {
			counters[resource.CounterNotSent] += n.all
			counters[resource.CounterNotSentSystem] += n.system
			st.NotSentByCode = n.byCode
			if n.system > 0 {
				st.SystemNotSentAt = in.Now
			}
		}
		st.NotSentSeen = pruneNotSentSeen(marks[d.Key], in.Now)
		snap.Counters = counters
		snap.Payload = resource.Encode(st)
		out.Snapshots = append(out.Snapshots, snap)
	}
	return out, nil
}

// carriedTransactional returns the definitions carried from the previous
// snapshots and when they were read, fresh=false when they are to be read
// now (none carried, one unreadable, or older than
// callplan.TxDefinitionsRefresh).
func carriedTransactional(in *Input, ps map[string]resource.TransactionalState) ([]sfmc.TransactionalDefinition, time.Time, bool) {
	if len(in.Previous) == 0 || len(ps) != len(in.Previous) {
		return nil, time.Time{}, false
	}
	var last time.Time
	for _, st := range ps {
		if st.DefinitionsReadAt.IsZero() {
			return nil, time.Time{}, false
		}
		if st.DefinitionsReadAt.After(last) {
			last = st.DefinitionsReadAt
		}
	}
	if in.Now.Sub(last) >= max(callplan.TxDefinitionsRefresh, in.Tenant.Monitors.Transactional.Interval.Std()) {
		return nil, time.Time{}, false
	}
	// Only the definitions of the newest read (older ones were gone then).
	out := make([]sfmc.TransactionalDefinition, 0, len(ps))
	for key, st := range ps {
		if st.DefinitionsReadAt.Equal(last) {
			out = append(out, sfmc.TransactionalDefinition{Key: key, Name: st.Name, Status: rawTransactionalStatus(in.Previous[key].Status),
				JourneyKey: st.JourneyKey, ModifiedDate: st.ModifiedAt})
		}
	}
	slices.SortFunc(out, func(a, b sfmc.TransactionalDefinition) int { return cmp.Compare(a.Key, b.Key) })
	return out, last, true
}

// txDefinitionsDue reports carried definitions that are to be read now
// all the same: one is unhealthy (not Active and holding messages, or its
// queue was backlogged: read every poll until it recovers), or the
// not-sent feed just counted a system-caused failure or named a
// definition not known yet.
func txDefinitionsDue(in *Input, ps map[string]resource.TransactionalState, counts map[string]*txNotSentCount) bool {
	for k, p := range in.Previous {
		if p.Status != resource.StatusActive && p.Counters[resource.CounterQueueCount] > 0 {
			return true
		}
		if p.Counters[resource.CounterQueueAgeSeconds] >= txBacklogAge {
			return true
		}
		if _, ok := ps[k]; !ok {
			return true
		}
	}
	for k, n := range counts {
		if _, known := in.Previous[k]; !known || n.system > 0 {
			return true
		}
	}
	return false
}

// rawTransactionalStatus is SFMC's spelling of a normalised status.
func rawTransactionalStatus(s string) string {
	switch s {
	case resource.StatusActive:
		return "Active"
	case resource.StatusInactive:
		return "Inactive"
	case resource.StatusDeleted:
		return "Deleted"
	}
	return s
}

// txQueueOrder lists the definitions whose queue is due, in read order:
// not Active first (while they hold messages, right after they left Active,
// else every callplan.TxQueueRefresh), then those whose last reading showed
// a backlog, then healthy ones whose refresh slot passed, least
// recently read first.
func txQueueOrder(now time.Time, defs []sfmc.TransactionalDefinition, prev map[string]store.Snapshot, ps map[string]resource.TransactionalState) []string {
	type cand struct {
		key      string
		tier     int
		lastRead time.Time
	}
	cs := make([]cand, 0, len(defs))
	for _, d := range defs {
		if d.Key == "" {
			continue
		}
		c := cand{key: d.Key, tier: 2, lastRead: ps[d.Key].QueueReadAt}
		p, had := prev[d.Key]
		status := TransactionalStatus(d.Status)
		// Healthy queues are read again once per TxQueueRefresh at a slot
		// the key fixes (spread over the period), never twice within half
		// of it.
		due := c.lastRead.IsZero() || (c.lastRead.Before(refreshSlot(d.Key, now, callplan.TxQueueRefresh)) &&
			now.Sub(c.lastRead) >= callplan.TxQueueRefresh/2)
		switch {
		case status != resource.StatusActive && (!had || p.Status != status || p.Counters[resource.CounterQueueCount] > 0 || due):
			c.tier = 0 // just left Active, or holding messages: every poll
		case status != resource.StatusActive:
			continue // not Active, queue read empty since: at the refresh cadence
		case p.Counters[resource.CounterQueueAgeSeconds] >= txBacklogAge:
			c.tier = 1
		case !due:
			continue // healthy and read recently (callplan.TxQueueRefresh)
		}
		cs = append(cs, c)
	}
	slices.SortStableFunc(cs, func(a, b cand) int {
		if a.tier != b.tier {
			return cmp.Compare(a.tier, b.tier)
		}
		if c := a.lastRead.Compare(b.lastRead); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.key
	}
	return out
}

// readNotSent reads the not-sent feed after the cursor, asks the caller to advance the cursor
// (compare-and-set: a conflict means another replica took these events)
// and turns the events into classified records and per-definition counts.
func (c TransactionalCollector) readNotSent(ctx context.Context, in *Input, cat *catalog.Catalog, out *Output, counts map[string]*txNotSentCount,
	mark func(def, messageKey string, at time.Time, system bool) bool) error {
	var (
		old    string
		cursor int64
		pages  = c.NotSentPages
	)
	if pages <= 0 {
		pages = defaultNotSentPages
	}
	if in.Cursors == nil {
		pages = 1 // audit: one page, no cursor
	} else {
		v, err := in.Cursors.GetCursor(ctx, NotSentCursor(in.Tenant.Name))
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			old = v
			cursor, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	page, err := in.Client.TransactionalNotSent(ctx, cursor, notSentPageSize, pages)
	if err != nil && len(page.Events) == 0 {
		return err
	}
	if in.Cursors != nil && page.LastEventID > cursor {
		// Advanced by the caller after the events are stored.
		out.Cursors = append(out.Cursors, CursorAdvance{Name: NotSentCursor(in.Tenant.Name), Old: old, Next: strconv.FormatInt(page.LastEventID, 10)})
	}
	for _, ev := range page.Events {
		code := strconv.Itoa(ev.StatusCode)
		e := cat.Resolve(catalog.Transactional, code, ev.StatusMessage, 202)
		system := SystemCausedNotSent(e.Family, code)
		ts := ev.Time
		if ts.IsZero() {
			ts = in.Now
		}
		body, _ := json.Marshal(map[string]any{"eventCategoryType": "TransactionalSendEvents.EmailNotSent",
			"definitionKey": ev.DefinitionKey, "statusCode": ev.StatusCode, "statusMessage": ev.StatusMessage,
			"eventID": ev.EventID, "info": map[string]string{"messageKey": ev.MessageKey}})
		// The feed entry is SFMC's own report, kept whole (its status
		// message masked) as the not-sent evidence.
		out.Events = append(out.Events, record.From(event.Event{TS: ts.UTC(), Tenant: in.Tenant.Name, Source: "sfmc", Method: "GET",
			URL: "/messaging/v1/email/messages/?type=notSent", Endpoint: "/messaging/v1/email/messages",
			ObjectKey: ev.DefinitionKey, Status: 202, Body: body,
			RequestID: "transactional-notsent:" + in.Tenant.Name + ":" + strconv.FormatInt(ev.EventID, 10)},
			record.Single(catalog.Transactional, code, e), record.Options{KeepSuccessBodies: true}))
		if ts.Before(in.Now.Add(-notSentCountHorizon)) || ev.DefinitionKey == "" || !mark(ev.DefinitionKey, ev.MessageKey, ts, system) {
			continue
		}
		n := counts[ev.DefinitionKey]
		if n == nil {
			n = &txNotSentCount{byCode: map[string]int64{}}
			counts[ev.DefinitionKey] = n
		}
		n.all++
		n.byCode[code]++
		if system {
			n.system++
		}
	}
	return nil
}
