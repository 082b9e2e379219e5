// Package monitor is the engine of `sfmcwatch serve`: it runs the
// collectors of every configured tenant on schedule and feeds what they
// observe to detection and to the incident manager.
//
// # Scheduling
//
// The schedule lives in the store's work queue (store.WorkQueue), one item
// per (tenant, resource type) plus one for the tenant's health (type
// tenant), so several replicas can share it and a crashed worker's items
// come back when its lease expires (Miniflux's next_check_at, River's
// leases). A loop claims due items (owner = hostname/pid/random, lease
// Options.Lease, default store.DefaultLease = 20 s) and hands them to a
// small worker pool. While a job runs its lease is renewed every Lease/3,
// so a long collection keeps its item while a killed replica's items come
// back within Lease of its last renewal (plus PollEvery for another
// replica to claim them). A job whose lease is lost (another owner holds
// it, or renewals failed until it ran out) is cancelled; a job is bounded
// by Options.JobTimeout.
// Each job:
//
//  1. reads the previous snapshots of its type,
//  2. runs the collector,
//  3. stores snapshots and events in batches (the client's own call events,
//     source "client", are buffered and written with their usage after
//     every job),
//  4. evaluates the rules of that type (detect.Registry.Evaluate),
//  5. applies the findings to incidents (incident.Manager.Apply),
//  6. completes the item, due again after the monitor's interval (read from
//     the running config, so a reload applies at the next completion).
//
// Failures defer the item instead: SFMC's Retry-After when it gave one; the
// end of the circuit when the tenant is blocked (REST 50200: no call to the
// tenant until circuit_open passes, tenant.blocked fires); tenant.blind's
// token_retry after an authentication failure; the next UTC midnight when
// the daily budget refused a required call; otherwise a capped exponential
// backoff on the item's attempts. A tenant-level failure is logged once as
// a warning (then at debug until the tenant answers again) and triggers an
// immediate tenant health evaluation, so tenant.blind / tenant.blocked open
// without waiting for the next health tick.
//
// The tenant health item costs no API call: the tenant collector reads a
// collect.TenantHealth tracker fed by every metered call of the tenant's
// client.
package monitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/correlate"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// WorkKind is the work-queue kind of collection items (Key = resource type).
const WorkKind = "collect"

// Options configure an Engine. Zero values select the defaults noted.
type Options struct {
	// Store is required.
	Store store.Store
	// Config is required: the running config (reloads take effect).
	Config *config.Holder
	// Clock is the engine's time (default time.Now): schedules, leases,
	// snapshots, incidents and the SFMC clients' token expiry use it.
	Clock func() time.Time
	// Logger (default: discard).
	Logger *slog.Logger
	// HTTPClient sends SFMC requests (default: a new http.Client).
	HTTPClient *http.Client
	// Collectors (default collect.Collectors()).
	Collectors []collect.Collector
	// Rules (default detect.DefaultRules()).
	Rules []detect.Rule
	// Incident tunes the incident manager (damping).
	Incident incident.Options
	// Workers fixes the worker pool size; 0 sizes it from the work
	// (workers.go: 2 × Σ job duration/interval + 2, measured per item).
	Workers int
	// MaxWorkers caps the automatic pool size (default DefaultMaxWorkers).
	MaxWorkers int
	// CallTimeout bounds one SFMC HTTP attempt (default 60s).
	CallTimeout time.Duration
	// Lease is how long a claimed item stays leased without renewal
	// (default store.DefaultLease, 20 s); running jobs renew it every
	// Lease/3.
	Lease time.Duration
	// JobTimeout bounds one job, renewals included (default 15m).
	JobTimeout time.Duration
	// TenantInterval is how often tenant health is evaluated (default 1m;
	// it costs no API call).
	TenantInterval time.Duration
	// BackoffBase and BackoffMax shape the retry backoff of failed items
	// (default 30s doubling per attempt, capped at 15m).
	BackoffBase, BackoffMax time.Duration
	// PollEvery is how often (real time) the loop looks for due work when
	// idle (default 1s).
	PollEvery time.Duration
	// PruneEvery is how often (engine clock) retention runs (default 1h).
	PruneEvery time.Duration
	// ShutdownGrace is how long (real time) Run waits for running jobs after
	// its context ends before cancelling them (default 10s).
	ShutdownGrace time.Duration
	// Owner names this process in leases (default host/pid/random).
	Owner string
	// ClientOptions, when set, adjusts each tenant's SFMC client options
	// (tests shorten retries).
	ClientOptions func(*sfmc.Options)
	// OnPoll, when set, is told of every poll as it starts: tenant,
	// monitor (resource type) and how late it started (the bench).
	OnPoll func(tenant, monitor string, lag time.Duration)
	// OnChanges receives the incident changes of every job (alerting).
	OnChanges func(tenant string, t resource.Type, ch incident.Changes)
}

// Engine runs the collectors on schedule. Create it with New; run it with
// Run (or step it with RunDue in tests).
type Engine struct {
	opt        Options
	st         store.Store
	holder     *config.Holder
	now        func() time.Time
	log        *slog.Logger
	reg        *detect.Registry
	collectors map[resource.Type]collect.Collector
	incidents  *incident.Manager
	correlate  *correlate.Step
	metrics    *pollMetrics
	pool       *poolSizer
	behind     *lagTracker
	tokens     *sfmc.TokenCache
	buf        eventBuffer
	owner      string

	resync    atomic.Bool
	trig      atomic.Pointer[Trigger]
	unsub     func()
	wake      chan struct{}
	lastPrune time.Time

	bg      sync.WaitGroup // lag reports
	lagMu   sync.Mutex
	lagOpen map[string]bool // tenants with a monitor.lagging incident open

	mu      sync.Mutex
	tenants map[string]*tenantRuntime
}

// tenantRuntime is one tenant's client and health, kept across reloads.
type tenantRuntime struct {
	name   string
	key    string // credentials/URLs/budget the client was built with
	client *sfmc.Client
	meter  *sfmc.MemMeter
	health *collect.TenantHealth

	healthMu sync.Mutex // serialises tenant health evaluations
	txMu     sync.Mutex // serialises transactional evaluations
	autoMu   sync.Mutex // serialises automation polls with ENS merges
	reported atomic.Bool
}

// evalLock returns the lock that serialises the scheduled evaluation of
// typ with the event-triggered one (the Trigger runs api.errors, a tenant
// rule, and triggered_send.silent_failure, a transactional one, and
// merges ENS notices into automation and transactional snapshots), or nil
// for types only the schedule evaluates. Two evaluations of the same rule
// applying their findings at once could resolve what the other just
// opened.
func (rt *tenantRuntime) evalLock(typ resource.Type) *sync.Mutex {
	switch typ {
	case resource.Tenant:
		return &rt.healthMu
	case resource.Transactional:
		return &rt.txMu
	case resource.Automation:
		return &rt.autoMu
	}
	return nil
}

// New builds an engine.
func New(o Options) (*Engine, error) {
	if o.Store == nil || o.Config == nil {
		return nil, errors.New("monitor: Store and Config are required")
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Collectors == nil {
		o.Collectors = collect.Collectors()
	}
	if o.Rules == nil {
		o.Rules = detect.DefaultRules()
	}
	if o.Workers < 0 {
		o.Workers = 0
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = DefaultMaxWorkers
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 60 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = store.DefaultLease
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = 15 * time.Minute
	}
	if o.TenantInterval <= 0 {
		o.TenantInterval = time.Minute
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 30 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 15 * time.Minute
	}
	if o.PollEvery <= 0 {
		o.PollEvery = time.Second
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Hour
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 10 * time.Second
	}
	if o.Owner == "" {
		o.Owner = defaultOwner()
	}
	reg, err := detect.NewRegistry(o.Rules...)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	if o.Incident.Logger == nil {
		o.Incident.Logger = o.Logger
	}
	if o.Incident.DampingFor == nil && o.Incident.PerRule == nil && o.Incident.Damping == (incident.Damping{}) {
		holder := o.Config
		o.Incident.DampingFor = func(rule string) incident.Damping {
			after, n := holder.Current().Damping(rule)
			return incident.Damping{ClearEvaluations: n, ClearFor: after}
		}
	}
	e := &Engine{
		opt: o, st: o.Store, holder: o.Config, now: o.Clock, log: o.Logger, reg: reg,
		collectors: map[resource.Type]collect.Collector{},
		incidents:  incident.New(o.Store, o.Incident),
		correlate: correlate.New(o.Store, o.Logger, correlate.WithPromoteAfter(o.Clock, func() time.Duration {
			return o.Config.Current().PromoteWait()
		})),
		tokens: sfmc.NewTokenCache(), metrics: newPollMetrics(),
		pool:    newPoolSizer(o.Workers, o.MaxWorkers),
		owner:   o.Owner,
		wake:    make(chan struct{}, 1),
		tenants: map[string]*tenantRuntime{},
		lagOpen: map[string]bool{},
	}
	for _, c := range o.Collectors {
		e.collectors[c.Type()] = c
	}
	e.correlate.SetTrust((&trustNotes{e: e}).note)
	e.behind = newLagTracker(LagThreshold, LagSustain)
	e.metrics.workers = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sfmcwatch_monitor_workers",
		Help: "Worker pool size: fixed by serve --workers, or sized from the work (2 × Σ job duration/interval + 2)."},
		func() float64 { return float64(e.pool.want()) })
	e.resync.Store(true)
	e.unsub = o.Config.Subscribe(func(_, _ *config.Config) {
		e.resync.Store(true)
		e.poke()
	})
	return e, nil
}

func defaultOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Owner is the lease owner name of this engine.
func (e *Engine) Owner() string { return e.owner }

// Incidents returns the engine's incident manager.
func (e *Engine) Incidents() *incident.Manager { return e.incidents }

// Close unsubscribes from config reloads.
func (e *Engine) Close() {
	if e.unsub != nil {
		e.unsub()
	}
}

func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Sync builds tenant runtimes for the running config and ensures a work
// item for every (tenant, enabled resource type with a collector) and for
// every tenant's health. Existing items keep their schedule; items of
// removed tenants or disabled types are dropped when next claimed.
func (e *Engine) Sync(ctx context.Context) error {
	e.resync.Store(false)
	cfg := e.holder.Current()
	now := e.now()
	var specs []store.WorkSpec
	var errs []error
	load := map[itemKey]time.Duration{}
	for i := range cfg.Tenants {
		t := &cfg.Tenants[i]
		rt, err := e.runtime(ctx, t, cfg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rt.health.SetCircuitOpen(cfg.Rules.TenantBlocked.CircuitOpen.Std())
		for _, typ := range e.enabledTypes(t) {
			specs = append(specs, store.WorkSpec{Tenant: t.Name, Kind: WorkKind, Key: string(typ), NextDueAt: now})
			load[itemKey{t.Name, string(typ)}] = e.interval(t, typ)
		}
	}
	e.pool.setItems(load)
	spreadFirstPolls(specs, load, e.pool.firstCycle())
	if err := e.st.EnsureWork(ctx, now, specs...); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// enabledTypes lists the resource types polled for a tenant (tenant health
// first), limited to types that have a collector.
func (e *Engine) enabledTypes(t *config.Tenant) []resource.Type {
	var out []resource.Type
	if _, ok := e.collectors[resource.Tenant]; ok {
		out = append(out, resource.Tenant)
	}
	for _, typ := range resource.Types {
		if _, ok := e.collectors[typ]; !ok {
			continue
		}
		if m := t.Monitors.Get(typ.Monitor()); m != nil && m.Enabled {
			out = append(out, typ)
		}
	}
	return out
}

// interval is the poll interval of a type for a tenant (0 when disabled).
func (e *Engine) interval(t *config.Tenant, typ resource.Type) time.Duration {
	if typ == resource.Tenant {
		return e.opt.TenantInterval
	}
	m := t.Monitors.Get(typ.Monitor())
	if m == nil || !m.Enabled {
		return 0
	}
	return max(m.Interval.Std(), time.Second)
}

func clientKey(t *config.Tenant) string {
	ep := t.Endpoints()
	return fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%d", ep.Auth, ep.REST, ep.SOAP, t.ClientID,
		t.ClientSecret.Reveal(), t.AccountID, t.DailyAPIBudget)
}

// runtime returns (creating or rebuilding) a tenant's client and tracker.
func (e *Engine) runtime(ctx context.Context, t *config.Tenant, cfg *config.Config) (*tenantRuntime, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := clientKey(t)
	rt := e.tenants[t.Name]
	if rt != nil && rt.key == key {
		return rt, nil
	}
	if rt == nil {
		rt = &tenantRuntime{name: t.Name, health: collect.NewTenantHealth(cfg.Rules.TenantBlocked.CircuitOpen.Std())}
	}
	health, buf := rt.health, &e.buf
	meter := sfmc.NewMemMeter(sfmc.EventSinkFunc(func(ev sfmc.CallEvent) {
		health.Observe(ev)
		buf.add(ev)
	}))
	ep := t.Endpoints()
	guard := &budgetGuard{Meter: meter, budget: e.metrics.budget, log: e.log, refused: map[string]bool{}}
	so := sfmc.Options{Clock: e.now, Meter: guard, Logger: e.log, Tokens: e.tokens, HTTPClient: e.opt.HTTPClient,
		CallTimeout: e.opt.CallTimeout}
	if e.opt.ClientOptions != nil {
		e.opt.ClientOptions(&so)
	}
	cl, err := sfmc.New(sfmc.Tenant{Name: t.Name, Subdomain: t.Subdomain, AuthURL: ep.Auth, RestURL: ep.REST, SOAPURL: ep.SOAP,
		ClientID: t.ClientID, ClientSecret: t.ClientSecret.Reveal(), AccountID: t.AccountID, DailyBudget: int(t.DailyAPIBudget)}, so)
	if err != nil {
		return nil, fmt.Errorf("monitor: tenant %s: %w", t.Name, err)
	}
	// Carry today's spend over from an earlier process or client.
	now := e.now()
	used := int64(0)
	if rt.meter != nil {
		used = int64(rt.meter.Used(t.Name, now))
	}
	if rows, err := e.st.Usage(ctx, store.UsageQuery{Tenant: t.Name, From: now, To: now}); err == nil {
		var n int64
		for _, r := range rows {
			n += r.Calls
		}
		used = max(used, n)
	}
	meter.Seed(t.Name, now, int(used))
	rt.health.SeedCalls(now, used)
	rt.key, rt.client, rt.meter = key, cl, meter
	e.tenants[t.Name] = rt
	return rt, nil
}

// Health returns a tenant's health tracker (nil for an unknown tenant).
func (e *Engine) Health(tenant string) *collect.TenantHealth {
	e.mu.Lock()
	defer e.mu.Unlock()
	if rt := e.tenants[tenant]; rt != nil {
		return rt.health
	}
	return nil
}

// Workers is the current worker pool size (fixed, or sized from the work).
func (e *Engine) Workers() int { return e.pool.want() }

// RunDue claims and runs every item due at the engine clock's now, in
// rounds of up to 2 × Workers items run concurrently, until none is due
// (an item is run at most once per call). It returns how many items ran.
// Tests and the demo step the engine with it under a simulated clock.
func (e *Engine) RunDue(ctx context.Context) (int, error) {
	if err := e.maintain(ctx); err != nil {
		return 0, err
	}
	seen := map[int64]bool{}
	total := 0
	for {
		workers := e.pool.want()
		items, err := e.st.ClaimDue(ctx, e.owner, e.now(), e.opt.Lease, 2*workers)
		if err != nil {
			return total, err
		}
		var run []store.WorkItem
		for _, it := range items {
			if seen[it.ID] {
				// Due again within one step (a zero interval): leave it
				// for the next step.
				e.release(ctx, it, e.now(), "")
				continue
			}
			seen[it.ID] = true
			run = append(run, it)
		}
		if len(run) == 0 {
			return total, nil
		}
		sem := make(chan struct{}, workers)
		var wg sync.WaitGroup
		for _, it := range run {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				e.runItem(ctx, it)
			}()
		}
		wg.Wait()
		e.bg.Wait()
		total += len(run)
	}
}

// Run runs the engine until ctx ends: it claims due items whenever a
// worker is free and checks for due work every PollEvery. On shutdown it
// stops claiming, lets running jobs finish for ShutdownGrace, then cancels
// them; their items are released for the next process.
func (e *Engine) Run(ctx context.Context) error {
	defer e.Close()
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	var running atomic.Int64
	var wg sync.WaitGroup
	if err := e.maintain(ctx); err != nil && ctx.Err() == nil {
		e.log.Error("monitor maintenance failed", "error", err)
	}
	e.log.Info("monitor started", "owner", e.owner, "workers", e.pool.want(), "workers_fixed", e.opt.Workers > 0,
		"tenants", len(e.holder.Current().Tenants))
	if t := e.trig.Load(); t != nil {
		// Pushed events (proxy, ingest, tail, ENS) are evaluated as they
		// arrive (a Run already started elsewhere makes this one a no-op).
		go t.Run(ctx)
	}
	for ctx.Err() == nil {
		if err := e.maintain(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("monitor maintenance failed", "error", err)
		}
		if free := e.pool.want() - int(running.Load()); free > 0 && ctx.Err() == nil {
			items, err := e.st.ClaimDue(ctx, e.owner, e.now(), e.opt.Lease, free)
			if err != nil && ctx.Err() == nil {
				e.log.Error("claiming due work failed", "error", err)
			}
			for _, it := range items {
				running.Add(1)
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { running.Add(-1); e.poke() }()
					e.runItem(jobCtx, it)
				}()
			}
			if len(items) == free {
				continue // more may be due
			}
		}
		t := time.NewTimer(e.opt.PollEvery)
		select {
		case <-ctx.Done():
		case <-e.wake:
		case <-t.C:
		}
		t.Stop()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(e.opt.ShutdownGrace):
		e.log.Warn("monitor shutdown: cancelling running jobs")
		cancelJobs()
		<-done
	}
	e.bg.Wait()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := e.buf.flush(fctx, e.st); err != nil {
		e.log.Error("flushing call events at shutdown failed", "error", err)
	}
	e.log.Info("monitor stopped")
	return nil
}

// maintain applies a pending config reload and runs retention when due.
func (e *Engine) maintain(ctx context.Context) error {
	var errs []error
	if e.resync.Load() {
		if err := e.Sync(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	now := e.now()
	if e.lastPrune.IsZero() {
		e.lastPrune = now // first prune one period after start
	} else if now.Sub(e.lastPrune) >= e.opt.PruneEvery {
		e.lastPrune = now
		if err := e.Prune(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// usageRetention keeps daily usage rows a little over a year (edition
// entitlements are yearly).
const usageRetention = 400 * 24 * time.Hour

// callDetailMargin is kept beyond api.errors' lookback: an evaluation reads
// back from the time its job started (up to a job timeout before it runs),
// and replicas' clocks differ.
const callDetailMargin = time.Hour

// storeRetention is the store's retention for cfg.
func storeRetention(cfg *config.Config) store.Retention {
	r := cfg.Storage.Retention
	sr := store.Retention{Events: r.Events.Std(), Snapshots: r.Snapshots.Std(),
		Incidents: r.Incidents.Std(), Usage: usageRetention,
		FullResolution: r.FullResolution.Std(), MaxBytes: int64(r.MaxSize), MinAge: max(r.FullResolution.Std(), 48*time.Hour)}
	if sr.FullResolution > 0 {
		// The monitor's own successful calls keep their rows as long as
		// snapshots keep full resolution, and never less than api.errors
		// reads back with a margin; older, the daily usage counts them.
		sr.CallDetail = max(sr.FullResolution, detect.APIErrorsLookback(cfg.Rules.APIErrors)+callDetailMargin)
		sr.CallDetailSource = ClientSource
	}
	return sr
}

// Prune applies the configured retention now.
func (e *Engine) Prune(ctx context.Context) error {
	sr := storeRetention(e.holder.Current())
	res, err := e.st.Prune(ctx, e.now(), sr)
	if err != nil {
		return fmt.Errorf("monitor: prune: %w", err)
	}
	if res != (store.PruneResult{}) {
		e.log.Info("retention pruned old data", "events", res.Events, "snapshots", res.Snapshots,
			"incidents", res.Incidents, "usage", res.Usage, "downsampled", res.Downsampled,
			"bases", res.Bases, "by_size", res.BySize, "call_detail", res.CallDetail)
	}
	return nil
}

// release gives an item back (due at until) without counting a failure.
func (e *Engine) release(ctx context.Context, it store.WorkItem, until time.Time, reason string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := e.st.Defer(ctx, it.ID, e.owner, until, reason, e.now()); err != nil && !errors.Is(err, store.ErrConflict) {
		e.log.Error("releasing work item failed", "tenant", it.Tenant, "type", it.Key, "error", err)
	}
}

func (e *Engine) tenantConfig(name string) (*config.Tenant, *config.Config) {
	cfg := e.holder.Current()
	for i := range cfg.Tenants {
		if cfg.Tenants[i].Name == name {
			return &cfg.Tenants[i], cfg
		}
	}
	return nil, cfg
}
