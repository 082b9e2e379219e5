package notify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
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
	// OpenOrUpdateIncident and ResolveIncident record failing channels
	// (notify.channel_failed).
	OpenOrUpdateIncident(ctx context.Context, u store.IncidentUpsert) (store.Incident, bool, error)
	ResolveIncident(ctx context.Context, id int64, at time.Time) (store.Incident, error)
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
	// LeaseFor is how long a claimed notification is reserved (default
	// store.OutboxLease, 15 s), renewed every third of it while a send
	// runs; a replica that dies mid-send releases it when the lease
	// expires.
	LeaseFor time.Duration
	// MaxOpen caps the open incidents read per evaluation (default 10,000).
	MaxOpen int
	// HTTPClient pings alerting.heartbeat.url (default: a client with the
	// heartbeat's timeout).
	HTTPClient *http.Client
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

	watch *watchdog
	beat  *heartbeat
	// causeOf reads an incident's cause for the correlate stage (tests
	// replace it).
	causeOf func(store.Incident) int64
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
		o.LeaseFor = store.OutboxLease
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
	d.watch = newWatchdog(o.Store, d.log)
	d.causeOf = causeOf
	d.beat = newHeartbeat(o.Config, o.HTTPClient, d.log)
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
	go d.beat.run(ctx)
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

// alert renders one incident for a message.
func (d *Dispatcher) alert(c *compiled, a *alertInfo, now time.Time) Alert {
	in := a.inc
	out := Alert{
		IncidentID: in.ID, Fingerprint: in.Fingerprint, Status: StatusFiring, Rule: in.Rule, Title: in.Title,
		Severity: a.labels["severity"], Family: in.Family, Owner: in.Owner, Tenant: in.Tenant,
		ResourceType: in.ResourceType, ResourceKey: in.ResourceKey, StartsAt: in.FirstSeen, LastSeen: in.LastSeen,
		Occurrences: in.Occurrences, AcknowledgedBy: in.AcknowledgedBy,
		WhyItMatters: whyItMatters(in.Rule, in.Family), Detail: in.Detail, Remediation: in.Remediation, Note: joinNotes(a.note, childrenNote(a.children)),
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

func joinNotes(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
