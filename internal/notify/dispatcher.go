package notify

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Store is what the dispatcher needs from the store.
type Store interface {
	ListIncidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error)
	GetIncident(ctx context.Context, id int64) (store.Incident, error)
	ListSilences(ctx context.Context, f store.SilenceFilter) ([]store.Silence, error)
	store.OutboxStore
}

// BuildFunc makes the channels of a configured receiver, in a stable order
// (notify/channels.Builder in production). Names must be non-empty and
// unique within the receiver: they are stored with each outbox row.
type BuildFunc func(r config.Receiver) ([]Channel, error)

// Options configure a Dispatcher.
type Options struct {
	// Store and Config are required.
	Store  Store
	Config *config.Holder
	// Build makes the channels of each receiver; every message is queued
	// and delivered once per channel. Receivers with an entry in
	// Notifiers use that notifier instead, as one unnamed channel (one
	// outbox row per message, delivered to the whole receiver).
	Build     BuildFunc
	Notifiers map[string]Notifier
	// Clock defaults to time.Now.
	Clock  func() time.Time
	Logger *slog.Logger
	// Instance names this replica's outbox leases (default host-pid-random).
	Instance string
	// LeaseFor is how long a claimed notification is reserved for one send
	// attempt (default 2m); a replica that dies mid-send releases it when
	// the lease expires.
	LeaseFor time.Duration
	// MaxOpen caps the open incidents read per evaluation (default 10,000).
	MaxOpen int
}

// Dispatcher routes incidents to receivers and delivers the outbox.
type Dispatcher struct {
	st       Store
	holder   *config.Holder
	build    BuildFunc
	fixed    map[string]Notifier
	now      func() time.Time
	log      *slog.Logger
	instance string
	leaseFor time.Duration
	maxOpen  int
	wake     chan struct{}

	mu   sync.Mutex // guards the fields below
	comp *compiled
	// channels are the usable receivers' channels; channelNames the
	// channels a message for a receiver is queued to (for an unusable
	// receiver, the ones its config names: the rows fail visibly).
	channels     map[string][]Channel
	channelNames map[string][]string
	buildErrs    map[string]error
	// escalated remembers incidents whose escalation is known to be
	// enqueued, so their resolution can be forwarded without a lookup.
	escalated map[int64]string
	lastPrune time.Time
}

// New returns a Dispatcher; call Run to start it.
func New(o Options) (*Dispatcher, error) {
	if o.Store == nil || o.Config == nil {
		return nil, errors.New("notify: Store and Config are required")
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Instance == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		o.Instance = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if o.LeaseFor <= 0 {
		o.LeaseFor = 2 * time.Minute
	}
	if o.MaxOpen <= 0 {
		o.MaxOpen = 10000
	}
	d := &Dispatcher{
		st: o.Store, holder: o.Config, build: o.Build, fixed: o.Notifiers, now: o.Clock,
		log: o.Logger.With(slog.String("component", "notify")), instance: o.Instance,
		leaseFor: o.LeaseFor, maxOpen: o.MaxOpen, wake: make(chan struct{}, 1),
		escalated: map[int64]string{},
	}
	if _, err := d.compiled(); err != nil {
		return nil, err
	}
	return d, nil
}

// Observe is told about incident changes (monitor.Options.OnChanges via
// OnChanges); it wakes the dispatcher so new incidents are routed at once.
// The changes themselves are read back from the store.
func (d *Dispatcher) Observe(tenant string, ch incident.Changes) {
	if len(ch.Opened) == 0 && len(ch.Resolved) == 0 && len(ch.Escalated) == 0 {
		return
	}
	d.Wake()
}

// OnChanges has the signature of monitor.Options.OnChanges.
func (d *Dispatcher) OnChanges(tenant string, _ resource.Type, ch incident.Changes) {
	d.Observe(tenant, ch)
}

// Wake makes Run evaluate and deliver now (e.g. after an acknowledgement
// or a new silence in this process).
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// SendReport enqueues a non-incident report (the weekly digest) for one
// receiver in the durable outbox and returns; delivery is asynchronous,
// at least once, retried like every notification. r.Key makes it
// idempotent (the same key is never sent twice); empty derives it from the
// content.
func (d *Dispatcher) SendReport(ctx context.Context, receiver string, r Report) error {
	c, err := d.compiled()
	if err != nil {
		return err
	}
	if c.cfg.Alerting.Receiver(receiver) == nil && d.fixed[receiver] == nil {
		return fmt.Errorf("notify: send report: unknown receiver %q", receiver)
	}
	if r.Subject == "" || (r.Text == "" && r.HTML == "" && r.Markdown == "") {
		return errors.New("notify: send report: subject and a body are required")
	}
	key := r.Key
	if key == "" {
		h := sha256.Sum256([]byte(r.Subject + "\x00" + r.Text + "\x00" + r.HTML + "\x00" + r.Markdown))
		key = hex.EncodeToString(h[:12])
	}
	now := d.now().UTC()
	m := Message{Kind: KindReport, Key: "report|" + receiver + "|" + key, Receiver: receiver, Report: &r,
		ExternalURL: c.external, CreatedAt: now}
	if err := d.enqueue(ctx, now, m); err != nil {
		return fmt.Errorf("notify: send report: %w", err)
	}
	d.Wake()
	return nil
}

func (d *Dispatcher) enqueue(ctx context.Context, now time.Time, msgs ...Message) error {
	out := make([]store.OutboxMessage, 0, len(msgs))
	for _, m := range msgs {
		oms, err := d.outboxMessages(m)
		if err != nil {
			return err
		}
		out = append(out, oms...)
	}
	_, err := d.st.EnqueueNotifications(ctx, now, out...)
	return err
}

// outboxMessages encodes m as one outbox row per channel of its receiver,
// in the receiver's channel order, all under m.Key.
func (d *Dispatcher) outboxMessages(m Message) ([]store.OutboxMessage, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode message %q: %w", m.Key, err)
	}
	names := d.receiverChannels(m.Receiver)
	out := make([]store.OutboxMessage, 0, len(names))
	for _, ch := range names {
		out = append(out, store.OutboxMessage{Key: m.Key, Channel: ch, Receiver: m.Receiver, GroupKey: m.GroupKey, Kind: m.Kind, Payload: b})
	}
	return out, nil
}

// receiverChannels returns the channel names a message for receiver is
// queued to: [""] (the whole receiver) for a fixed notifier or an unknown
// receiver, whose row then fails at delivery saying so.
func (d *Dispatcher) receiverChannels(receiver string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if names := d.channelNames[receiver]; len(names) > 0 {
		return names
	}
	return []string{""}
}

// compiled returns the compiled form of the running config, rebuilding
// it (and the notifiers) after a reload.
func (d *Dispatcher) compiled() (*compiled, error) {
	cfg := d.holder.Current()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.comp != nil && d.comp.cfg == cfg {
		return d.comp, nil
	}
	c, err := compile(cfg)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	d.comp = c
	d.channels, d.channelNames, d.buildErrs = map[string][]Channel{}, map[string][]string{}, map[string]error{}
	for _, r := range cfg.Alerting.Receivers {
		if n, ok := d.fixed[r.Name]; ok {
			d.channels[r.Name] = []Channel{{Notifier: n}}
			d.channelNames[r.Name] = []string{""}
			continue
		}
		chs, err := d.buildChannels(r)
		if err != nil {
			d.buildErrs[r.Name] = err
			d.channelNames[r.Name] = r.Channels()
			d.log.Error("receiver unusable", slog.String("receiver", r.Name), slog.Any("error", err))
			continue
		}
		d.channels[r.Name] = chs
		names := make([]string, 0, len(chs))
		for _, ch := range chs {
			names = append(names, ch.Name)
		}
		d.channelNames[r.Name] = names
	}
	for name, n := range d.fixed {
		if _, ok := d.channels[name]; !ok && d.buildErrs[name] == nil {
			d.channels[name] = []Channel{{Notifier: n}}
			d.channelNames[name] = []string{""}
		}
	}
	return c, nil
}

// buildChannels builds a receiver's channels and checks their names.
func (d *Dispatcher) buildChannels(r config.Receiver) ([]Channel, error) {
	if d.build == nil {
		return nil, errors.New("no notifier builder configured")
	}
	chs, err := d.build(r)
	if err != nil {
		return nil, err
	}
	if len(chs) == 0 {
		return nil, fmt.Errorf("receiver %q has no channel", r.Name)
	}
	seen := map[string]bool{}
	for _, ch := range chs {
		if ch.Name == "" || seen[ch.Name] || ch.Notifier == nil {
			return nil, fmt.Errorf("receiver %q: channel %q: want a notifier under a unique, non-empty name", r.Name, ch.Name)
		}
		seen[ch.Name] = true
	}
	return chs, nil
}

// notifier returns what delivers an outbox row: the named channel of the
// receiver, or every channel of it for a row without a channel (enqueued
// before per-channel delivery, or for a fixed notifier).
func (d *Dispatcher) notifier(receiver, channel string) (Notifier, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	chs, ok := d.channels[receiver]
	if !ok {
		if err, ok := d.buildErrs[receiver]; ok {
			return nil, fmt.Errorf("receiver %q unusable: %w", receiver, err)
		}
		return nil, fmt.Errorf("receiver %q is not configured", receiver)
	}
	if channel == "" {
		return FanOut(chs...), nil
	}
	for _, ch := range chs {
		if ch.Name == channel {
			return ch.Notifier, nil
		}
	}
	return nil, fmt.Errorf("receiver %q has no %s channel any more (the configuration changed after the notification was queued)", receiver, channel)
}

// Run evaluates and delivers until ctx ends: at once, whenever woken, when
// a group or escalation falls due, and at least every poll_interval.
func (d *Dispatcher) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		next := d.Step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		c, _ := d.compiled()
		wait := time.Duration(c.cfg.Alerting.PollInterval)
		if wait <= 0 {
			wait = 10 * time.Second
		}
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(d.now()), 0))
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
			if !timer.Stop() {
				<-timer.C
			}
		case <-timer.C:
		}
	}
}

// Step runs one evaluation and drains the due outbox; it returns when the
// next group or escalation falls due (zero = nothing scheduled). Errors are
// logged: a failing store must not stop alerting for good.
func (d *Dispatcher) Step(ctx context.Context) time.Time {
	next, err := d.Evaluate(ctx)
	if err != nil && ctx.Err() == nil {
		d.log.Error("alert evaluation failed", slog.Any("error", err))
	}
	if _, err := d.Deliver(ctx); err != nil && ctx.Err() == nil {
		d.log.Error("notification delivery failed", slog.Any("error", err))
	}
	d.prune(ctx)
	return next
}

func (d *Dispatcher) prune(ctx context.Context) {
	now := d.now()
	d.mu.Lock()
	due := now.Sub(d.lastPrune) >= time.Hour
	if due {
		d.lastPrune = now
	}
	d.mu.Unlock()
	if !due {
		return
	}
	c, err := d.compiled()
	if err != nil {
		return
	}
	n, err := d.st.PruneNotifications(ctx, now.Add(-c.cfg.Alerting.Outbox.Retention.Std()))
	if err != nil {
		d.log.Warn("pruning the notification outbox failed", slog.Any("error", err))
	} else if n > 0 {
		d.log.Info("pruned notifications", slog.Int64("deleted", n))
	}
}

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
	// LastSent is the last message; LastFiringSent the last one with
	// firing alerts (reminders count from it).
	LastSent       time.Time `json:"last_sent"`
	LastFiringSent time.Time `json:"last_firing_sent"`
}

// alertInfo is one incident with its evaluated labels and suppressions.
type alertInfo struct {
	inc       store.Incident
	labels    map[string]string
	open      bool
	silenced  bool   // a silence or a muting window applies
	note      string // why it is muted, downgraded or inhibited
	inhibitBy *alertInfo
	routes    []*route
}

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
	open, err := d.st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Limit: d.maxOpen})
	if err != nil {
		return time.Time{}, fmt.Errorf("notify: read open incidents: %w", err)
	}
	sils, err := d.st.ListSilences(ctx, store.SilenceFilter{ActiveAt: now, Limit: 10000})
	if err != nil {
		return time.Time{}, fmt.Errorf("notify: read silences: %w", err)
	}
	var silences []matchers
	for _, s := range sils {
		m, err := compileSilence(s)
		if err != nil {
			d.log.Warn("ignoring invalid silence", slog.Int64("silence", s.ID), slog.Any("error", err))
			continue
		}
		silences = append(silences, m)
	}
	states, err := d.st.NotifyStates(ctx, "")
	if err != nil {
		return time.Time{}, fmt.Errorf("notify: read notification log: %w", err)
	}

	byID := make(map[int64]*alertInfo, len(open))
	for _, in := range open {
		byID[in.ID] = &alertInfo{inc: in, open: true}
	}
	// Incidents the log references that are no longer open: resolved (or
	// pruned, which counts as resolved).
	decoded := make([]groupState, len(states))
	for i, st := range states {
		if err := json.Unmarshal(st.State, &decoded[i]); err != nil {
			d.log.Warn("ignoring unreadable notification log entry", slog.String("receiver", st.Receiver),
				slog.String("group", st.GroupKey), slog.Any("error", err))
			continue
		}
		for _, id := range slices.Concat(decoded[i].Firing, decoded[i].Suppressed) {
			if byID[id] != nil {
				continue
			}
			in, err := d.st.GetIncident(ctx, id)
			switch {
			case errors.Is(err, store.ErrNotFound):
				in = store.Incident{ID: id, Status: store.IncidentResolved, Title: fmt.Sprintf("incident #%d (pruned)", id), ResolvedAt: now}
			case err != nil:
				return time.Time{}, fmt.Errorf("notify: read incident %d: %w", id, err)
			}
			if in.Status == store.IncidentOpen {
				// Opened after the list was read: next evaluation.
				continue
			}
			byID[id] = &alertInfo{inc: in}
		}
	}

	alerts := slices.Collect(maps.Values(byID))
	slices.SortFunc(alerts, func(a, b *alertInfo) int { return cmp.Compare(a.inc.ID, b.inc.ID) })
	for _, a := range alerts {
		a.labels = incidentLabels(a.inc)
		for _, w := range c.windows {
			if !w.cfg.Contains(now) || !w.matchers.matches(a.labels) {
				continue
			}
			if w.mute {
				a.silenced, a.note = true, "muted by maintenance window "+w.cfg.Name
			} else {
				orig := a.labels["severity"]
				a.labels["severity"] = downgrade(orig)
				a.note = fmt.Sprintf("severity downgraded from %s during maintenance window %s", orig, w.cfg.Name)
			}
			break
		}
		for _, s := range silences {
			if s.matches(a.labels) {
				a.silenced = true
				break
			}
		}
	}
	for _, a := range alerts {
		for _, rule := range c.inhibit {
			if !rule.target.matches(a.labels) {
				continue
			}
			for _, src := range alerts {
				if src == a || !src.open || !rule.source.matches(src.labels) || !equalLabels(rule.equal, a.labels, src.labels) {
					continue
				}
				// A source inhibited by this very alert must not hide it
				// (auth incidents of two kinds in one tenant).
				if src.inhibitBy == a {
					continue
				}
				a.inhibitBy = src
				break
			}
			if a.inhibitBy != nil {
				break
			}
		}
		if a.inhibitBy != nil && a.note == "" {
			a.note = fmt.Sprintf("suppressed while incident #%d (%s) is open: %s", a.inhibitBy.inc.ID, a.inhibitBy.inc.Rule, a.inhibitBy.inc.Title)
			if !a.open {
				a.note = "resolved while " + a.note
			}
		}
	}

	groups := map[string]*group{}
	var order []*group
	for _, a := range alerts {
		a.routes = c.root.match(a.labels)
		for _, r := range a.routes {
			if r.receiver == "" {
				continue
			}
			gk, gl := r.groupKey(a.labels)
			id := r.receiver + "\x00" + gk
			g := groups[id]
			if g == nil {
				g = &group{receiver: r.receiver, key: gk, labels: gl, route: r}
				groups[id] = g
				order = append(order, g)
			}
			g.alerts = append(g.alerts, a)
		}
	}
	for i, st := range states {
		id := st.Receiver + "\x00" + st.GroupKey
		g := groups[id]
		if g == nil {
			// No alert routes here any more (config changed, or the
			// incidents were pruned): forget the entry.
			if err := d.st.DeleteNotifyState(ctx, st.Receiver, st.GroupKey, st.Version); err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
				return time.Time{}, fmt.Errorf("notify: %w", err)
			}
			continue
		}
		g.state, g.gs = st, decoded[i]
	}

	var next time.Time
	soonest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	var errs []error
	for _, g := range order {
		due, err := d.flush(ctx, c, g, now)
		if err != nil {
			errs = append(errs, err)
		}
		soonest(due)
	}
	due, err := d.escalate(ctx, c, alerts, now)
	if err != nil {
		errs = append(errs, err)
	}
	soonest(due)
	return next, errors.Join(errs...)
}

func equalLabels(keys []string, a, b map[string]string) bool {
	for _, k := range keys {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

func ids(as []*alertInfo) []int64 {
	out := make([]int64, 0, len(as))
	for _, a := range as {
		out = append(out, a.inc.ID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// flush decides what one group owes its receiver and commits it. It
// returns when the group next needs attention.
func (d *Dispatcher) flush(ctx context.Context, c *compiled, g *group, now time.Time) (time.Time, error) {
	r, gs := g.route, g.gs
	var firing, suppressed, resolvedNew []*alertInfo
	known := map[int64]bool{}
	for _, id := range slices.Concat(gs.Firing, gs.Suppressed) {
		known[id] = true
	}
	for _, a := range g.alerts {
		switch {
		case !a.open:
			if known[a.inc.ID] {
				resolvedNew = append(resolvedNew, a)
			}
		case a.silenced:
		case a.inhibitBy != nil:
			suppressed = append(suppressed, a)
		default:
			firing = append(firing, a)
		}
	}
	var acked []*alertInfo
	for _, a := range firing {
		if !a.inc.AcknowledgedAt.IsZero() {
			acked = append(acked, a)
		}
	}
	firingIDs, ackedIDs, suppressedIDs := ids(firing), ids(acked), ids(suppressed)
	newFiring := false
	for _, id := range firingIDs {
		if !slices.Contains(gs.Firing, id) {
			newFiring = true
		}
	}
	ackChanged := !slices.Equal(ackedIDs, gs.Acked)
	bookkeeping := !slices.Equal(firingIDs, gs.Firing) || ackChanged ||
		!slices.Equal(suppressedIDs, gs.Suppressed) || len(resolvedNew) > 0

	var (
		send, reminder bool
		due            time.Time
	)
	switch {
	case g.state.Version == 0:
		if len(firing) == 0 {
			if len(suppressed) == 0 {
				return time.Time{}, nil
			}
			break // record the suppressed ones
		}
		first := firing[0].inc.OpenedAt
		for _, a := range firing {
			if a.inc.OpenedAt.Before(first) {
				first = a.inc.OpenedAt
			}
		}
		if at := first.Add(r.groupWait); now.Before(at) {
			return at, nil
		}
		send = true
	case newFiring || ackChanged || (len(resolvedNew) > 0 && r.sendResolved):
		if at := gs.LastSent.Add(r.groupInterval); now.Before(at) {
			return at, nil
		}
		send = true
	case len(firing) > 0 && len(acked) < len(firing):
		if at := gs.LastFiringSent.Add(r.repeatInterval); now.Before(at) {
			due = at
		} else {
			send, reminder = true, true
		}
	}
	if !send && !bookkeeping {
		return due, nil
	}

	next := groupState{Since: gs.Since, Firing: firingIDs, Acked: ackedIDs, Suppressed: suppressedIDs,
		LastSent: gs.LastSent, LastFiringSent: gs.LastFiringSent}
	if next.Since.IsZero() {
		next.Since = now
	}
	var msgs []store.OutboxMessage
	if send {
		m := Message{
			Kind: KindAlert, Receiver: g.receiver, GroupKey: g.key, GroupLabels: g.labels,
			Reminder: reminder, ExternalURL: c.external, CreatedAt: now, Status: StatusResolved,
		}
		for _, a := range firing {
			m.Alerts = append(m.Alerts, d.alert(c, a, now))
		}
		if len(firing) > 0 {
			m.Status = StatusFiring
		}
		if r.sendResolved {
			for _, a := range resolvedNew {
				al := d.alert(c, a, now)
				if al.Note == "" && slices.Contains(gs.Suppressed, a.inc.ID) {
					al.Note = "resolved while suppressed by a root-cause incident (never notified as firing)"
				}
				m.Alerts = append(m.Alerts, al)
			}
		}
		if len(m.Alerts) > 0 {
			m.Key = fmt.Sprintf("group|%s|%s|%d|v%d", g.receiver, g.key, next.Since.UnixMicro(), g.state.Version+1)
			oms, err := d.outboxMessages(m)
			if err != nil {
				return time.Time{}, err
			}
			msgs = append(msgs, oms...)
			next.LastSent = now
			if len(firing) > 0 {
				next.LastFiringSent = now
			}
		}
	}
	b, err := json.Marshal(next)
	if err != nil {
		return time.Time{}, err
	}
	st := g.state
	st.Receiver, st.GroupKey, st.State = g.receiver, g.key, b
	committed, err := d.st.CommitNotification(ctx, st, now, msgs...)
	if errors.Is(err, store.ErrConflict) {
		// Another replica committed this group first; re-evaluate soon.
		d.log.Debug("notification log moved on; re-evaluating", slog.String("group", g.key))
		return now.Add(time.Second), nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("notify: commit %s/%s: %w", g.receiver, g.key, err)
	}
	if len(msgs) > 0 {
		var chans []string
		for _, m := range msgs {
			if m.Channel != "" {
				chans = append(chans, m.Channel)
			}
		}
		d.log.Info("notification queued", slog.String("receiver", g.receiver), slog.Any("channels", chans), slog.String("group", g.key),
			slog.Int("firing", len(firing)), slog.Int("resolved", len(resolvedNew)), slog.Bool("reminder", reminder))
	}
	if len(firingIDs) == 0 && len(suppressedIDs) == 0 {
		if err := d.st.DeleteNotifyState(ctx, g.receiver, g.key, committed.Version); err != nil &&
			!errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			return time.Time{}, fmt.Errorf("notify: %w", err)
		}
		return time.Time{}, nil
	}
	if len(firing) > 0 && len(acked) < len(firing) {
		return next.LastFiringSent.Add(r.repeatInterval), nil
	}
	return time.Time{}, nil
}

// alert renders one incident for a message.
func (d *Dispatcher) alert(c *compiled, a *alertInfo, now time.Time) Alert {
	in := a.inc
	out := Alert{
		IncidentID: in.ID, Fingerprint: in.Fingerprint, Status: StatusFiring, Rule: in.Rule, Title: in.Title,
		Severity: a.labels["severity"], Family: in.Family, Owner: in.Owner, Tenant: in.Tenant,
		ResourceType: in.ResourceType, ResourceKey: in.ResourceKey, StartsAt: in.FirstSeen, LastSeen: in.LastSeen,
		Occurrences: in.Occurrences, AcknowledgedBy: in.AcknowledgedBy,
		WhyItMatters: whyItMatters(in.Rule, in.Family), Remediation: in.Remediation, Note: a.note,
	}
	if out.StartsAt.IsZero() {
		out.StartsAt = in.OpenedAt
	}
	if !in.AcknowledgedAt.IsZero() && out.AcknowledgedBy == "" {
		out.AcknowledgedBy = "someone"
	}
	end := now
	if !a.open {
		out.Status, out.EndsAt = StatusResolved, in.ResolvedAt
		if !in.ResolvedAt.IsZero() {
			end = in.ResolvedAt
		}
	}
	if !out.StartsAt.IsZero() {
		out.FailingFor = end.Sub(out.StartsAt)
	}
	if in.Occurrences > 0 && !in.FirstSeen.IsZero() {
		out.Evidence = fmt.Sprintf("%d detection(s) since %s, last %s; detected %s after the first evidence",
			in.Occurrences, in.FirstSeen.UTC().Format("2006-01-02 15:04 MST"), in.LastSeen.UTC().Format("15:04 MST"), HumanDuration(in.TTD))
	}
	if c.external != "" && in.ID > 0 {
		out.Link = c.external + "/incidents/" + strconv.FormatInt(in.ID, 10)
	}
	return out
}

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

// escalate enqueues escalations of unacknowledged critical incidents (and
// their resolution); the idempotency key per incident and receiver makes
// replicas and restarts agree. It returns the next escalation time.
func (d *Dispatcher) escalate(ctx context.Context, c *compiled, alerts []*alertInfo, now time.Time) (time.Time, error) {
	var (
		next time.Time
		msgs []Message
	)
	d.mu.Lock()
	escalated := maps.Clone(d.escalated)
	d.mu.Unlock()
	present := map[int64]bool{}
	for _, a := range alerts {
		present[a.inc.ID] = true
		for _, r := range a.routes {
			if r.escalateTo == "" {
				continue
			}
			key := fmt.Sprintf("escalation|%s|%d", r.escalateTo, a.inc.ID)
			if !a.open {
				sent, err := d.hasNotification(ctx, key+"|firing")
				if err != nil {
					return time.Time{}, err
				}
				done, err := d.hasNotification(ctx, key+"|resolved")
				if err != nil {
					return time.Time{}, err
				}
				if !sent || done {
					continue
				}
				m := Message{Kind: KindEscalation, Key: key + "|resolved", Receiver: r.escalateTo, Status: StatusResolved,
					GroupLabels: map[string]string{"tenant": a.inc.Tenant, "family": a.inc.Family, "owner": a.inc.Owner},
					Alerts:      []Alert{d.alert(c, a, now)}, ExternalURL: c.external, CreatedAt: now}
				msgs = append(msgs, m)
				continue
			}
			if a.labels["severity"] != "critical" || !a.inc.AcknowledgedAt.IsZero() || a.silenced || a.inhibitBy != nil {
				continue
			}
			if _, ok := escalated[a.inc.ID]; ok {
				continue
			}
			at := a.inc.OpenedAt.Add(r.escalateAfter)
			if now.Before(at) {
				if next.IsZero() || at.Before(next) {
					next = at
				}
				continue
			}
			al := d.alert(c, a, now)
			al.Note = fmt.Sprintf("not acknowledged %s after it opened; escalated from %s", HumanDuration(now.Sub(a.inc.OpenedAt)), r.receiver)
			msgs = append(msgs, Message{Kind: KindEscalation, Key: key + "|firing", Receiver: r.escalateTo, Status: StatusFiring,
				GroupLabels: map[string]string{"tenant": a.inc.Tenant, "family": a.inc.Family, "owner": a.inc.Owner},
				Alerts:      []Alert{al}, ExternalURL: c.external, CreatedAt: now})
			escalated[a.inc.ID] = r.escalateTo
		}
	}
	if len(msgs) > 0 {
		if err := d.enqueue(ctx, now, msgs...); err != nil {
			return time.Time{}, fmt.Errorf("notify: escalate: %w", err)
		}
		for _, m := range msgs {
			d.log.Info("escalation queued", slog.String("receiver", m.Receiver), slog.String("key", m.Key))
		}
	}
	for id := range escalated {
		if !present[id] {
			delete(escalated, id)
		}
	}
	for _, m := range msgs {
		if m.Status == StatusResolved {
			delete(escalated, m.Alerts[0].IncidentID)
		}
	}
	d.mu.Lock()
	d.escalated = escalated
	d.mu.Unlock()
	return next, nil
}
