package monitor_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/collect/collecttest"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// probe is a minimal automation collector: one bulk REST list call, one
// snapshot per automation. It stands in for the area collectors so these
// tests exercise the engine, not the collectors.
type probe struct{}

func (probe) Type() resource.Type { return resource.Automation }

func (probe) Collect(ctx context.Context, in *collect.Input) (*collect.Output, error) {
	as, err := in.Client.Automations(ctx)
	if err != nil {
		return nil, err
	}
	out := &collect.Output{}
	for _, a := range as {
		s := in.Snapshot(resource.Automation, a.Key)
		s.Status = "ready"
		out.Snapshots = append(out.Snapshots, s)
	}
	return out, nil
}

type env struct {
	*collecttest.Env
	cfg    *config.Config
	holder *config.Holder
	path   string
	st     store.Store
	eng    *monitor.Engine
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{path: filepath.Join(t.TempDir(), "engine.db")}
	e.Env = collecttest.New(t, collecttest.Options{Seed: 7,
		Size:      sim.Size{Automations: 5, Journeys: 1, DataExtensions: 1, TriggeredSends: 1, Transactional: 1, Imports: 1},
		Configure: func(c *config.Config) { e.cfg = c }})
	e.holder = config.NewHolder(e.cfg, config.Loader{})
	e.st = e.openStore(t)
	e.eng = e.newEngine(t, e.st, "owner-1")
	return e
}

func (e *env) openStore(t testing.TB) store.Store {
	t.Helper()
	collecttest.MigratedSQLite(t, e.path)
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: e.path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func (e *env) newEngine(t testing.TB, st store.Store, owner string) *monitor.Engine {
	t.Helper()
	eng, err := monitor.New(monitor.Options{
		Store: st, Config: e.holder, Clock: e.Sim.Now, Owner: owner, Workers: 2, CallTimeout: 10 * time.Second,
		Collectors: []collect.Collector{collect.TenantCollector{}, probe{}},
		Rules:      []detect.Rule{detect.TenantBlind{}, detect.TenantBlocked{}, detect.TenantBudget{}, detect.APIErrors{}},
		ClientOptions: func(o *sfmc.Options) {
			o.BackoffBase, o.BackoffMax, o.MaxRetryAfter = time.Millisecond, 5*time.Millisecond, 10*time.Millisecond
			o.RateLimit, o.Burst = 1e6, 1000 // the limiter paces in real time
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	return eng
}

func (e *env) stepper(eng *monitor.Engine) monitor.Stepper {
	return monitor.Stepper{Engine: eng, Advance: e.Advance, Now: e.Now, Step: 30 * time.Second}
}

func (e *env) incidents(t *testing.T, f store.IncidentFilter) []store.Incident {
	t.Helper()
	l, err := e.st.ListIncidents(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (e *env) restCalls() int64 {
	var n int64
	for route, c := range e.Sim.Stats().ByRoute {
		if strings.Contains(route, "/automation/") {
			n += c
		}
	}
	return n
}

func (e *env) start(t *testing.T) {
	t.Helper()
	n, err := e.eng.RunDue(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("first run: %d items, %v", n, err)
	}
	if l := e.incidents(t, store.IncidentFilter{}); len(l) != 0 {
		t.Fatalf("incidents on a healthy tenant: %+v", l)
	}
}

// TestCredentialsRotated: the token endpoint starts refusing the
// credentials; tenant.blind opens within one poll interval of the first
// failing token request, and resolves after damping once it works again.
func TestCredentialsRotated(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.start(t)
	s := e.stepper(e.eng)
	id := e.Inject(sim.Fault{Kind: sim.FaultCredentialsRotated})
	if _, err := s.Until(ctx, 40*time.Minute, monitor.IncidentOpen(e.st, "sim", "tenant.blind")); err != nil {
		t.Fatal(err)
	}
	inc := e.incidents(t, store.IncidentFilter{Rule: "tenant.blind"})
	if len(inc) != 1 {
		t.Fatalf("tenant.blind incidents: %+v", inc)
	}
	fails, err := e.st.QueryEvents(ctx, store.EventQuery{Tenant: "sim", Endpoint: sfmc.TokenEndpoint, ErrorsOnly: true})
	if err != nil || len(fails) == 0 {
		t.Fatalf("no failed token request stored: %v", err)
	}
	if d := inc[0].OpenedAt.Sub(fails[0].TS); d > 5*time.Minute+30*time.Second {
		t.Fatalf("opened %s after the first failing token request", d)
	}
	if inc[0].TTD > 5*time.Minute || inc[0].Severity != "critical" || inc[0].Family != "auth" {
		t.Fatalf("incident: %+v", inc[0])
	}
	// The item is retried after token_retry, not hammered.
	w, err := e.st.GetWork(ctx, "sim", monitor.WorkKind, "automation")
	if err != nil || w.LastError == "" {
		t.Fatalf("work item: %+v %v", w, err)
	}

	e.Sim.Clear(id)
	cleared := e.Now()
	if _, err := s.Until(ctx, 30*time.Minute, func(ctx context.Context) (bool, error) {
		l, err := e.st.ListIncidents(ctx, store.IncidentFilter{Rule: "tenant.blind", Status: store.IncidentResolved})
		return len(l) > 0, err
	}); err != nil {
		t.Fatal(err)
	}
	res := e.incidents(t, store.IncidentFilter{Rule: "tenant.blind", Status: store.IncidentResolved})
	if len(res) != 1 || res[0].ID != inc[0].ID {
		t.Fatalf("not resolved: %+v", res)
	}
	if d := res[0].ResolvedAt.Sub(cleared); d < 10*time.Minute || d > 13*time.Minute {
		t.Fatalf("resolved %s after the fault cleared (damping: 10m since last seen, 2 clear evaluations)", d)
	}
}

// TestRESTBlocked: REST 50200 opens tenant.blocked at once and the engine
// stops calling the tenant for circuit_open.
func TestRESTBlocked(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.start(t)
	s := e.stepper(e.eng)
	id := e.Inject(sim.Fault{Kind: sim.FaultRESTBlocked})
	injected := e.Now()
	if _, err := s.Until(ctx, 10*time.Minute, monitor.IncidentOpen(e.st, "sim", "tenant.blocked")); err != nil {
		t.Fatal(err)
	}
	inc := e.incidents(t, store.IncidentFilter{Rule: "tenant.blocked"})
	if len(inc) != 1 || inc[0].OpenedAt.Sub(injected) > 5*time.Minute+30*time.Second || inc[0].Severity != "critical" {
		t.Fatalf("tenant.blocked: %+v", inc)
	}
	calls := e.restCalls()
	if err := s.Run(ctx, 14*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := e.restCalls(); got != calls {
		t.Fatalf("%d REST calls during the open circuit", got-calls)
	}
	e.Sim.Clear(id)
	if err := s.Run(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := e.restCalls(); got == calls {
		t.Fatal("no REST call after the circuit closed")
	}
	if n := len(e.incidents(t, store.IncidentFilter{Rule: "tenant.blocked"})); n != 1 {
		t.Fatalf("%d tenant.blocked incidents", n)
	}
}

// TestRESTThrottle: 429 50100 with a long Retry-After defers the item by
// Retry-After; no incident storm.
func TestRESTThrottle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.start(t)
	s := e.stepper(e.eng)
	e.Advance(5 * time.Minute)
	e.Inject(sim.Fault{Kind: sim.FaultRESTThrottle, Params: map[string]string{"retry_after": "120"}})
	now := e.Now()
	if _, err := e.eng.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := e.st.GetWork(ctx, "sim", monitor.WorkKind, "automation")
	if err != nil {
		t.Fatal(err)
	}
	if !w.NextDueAt.Equal(now.Add(2*time.Minute)) || !strings.Contains(w.LastError, "rate_limited") {
		t.Fatalf("work item not deferred by Retry-After: due %v (now %v), %q", w.NextDueAt, now, w.LastError)
	}
	if err := s.Run(ctx, 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	all := e.incidents(t, store.IncidentFilter{})
	seen := map[string]bool{}
	for _, in := range all {
		if seen[in.Fingerprint] || in.Rule == "tenant.blind" || in.Rule == "tenant.blocked" {
			t.Fatalf("incident storm or wrong rule: %+v", all)
		}
		seen[in.Fingerprint] = true
	}
	if len(all) > 2 {
		t.Fatalf("%d incidents for one throttled endpoint: %+v", len(all), all)
	}
	// Throttled calls were spaced by Retry-After: ~15 attempts in 30 min.
	if n := e.restCalls(); n > 25 {
		t.Fatalf("%d REST calls in 30 minutes of throttling", n)
	}
}

// TestConfigReload: a tenant added by a reload gets its work items without
// disturbing the existing schedule.
func TestConfigReload(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.start(t)
	before, err := e.st.GetWork(ctx, "sim", monitor.WorkKind, "automation")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	ten := e.Tenant
	yaml := "tenants:\n" +
		"  - {name: sim, auth_url: " + ten.AuthURL + ", rest_url: " + ten.RestURL + ", soap_url: " + ten.SoapURL +
		", client_id: " + ten.ClientID + ", client_secret: " + ten.ClientSecret.Reveal() + ", account_id: \"" + ten.AccountID + "\"}\n" +
		"  - {name: second, auth_url: " + ten.AuthURL + ", rest_url: " + ten.RestURL + ", soap_url: " + ten.SoapURL +
		", client_id: " + ten.ClientID + ", client_secret: " + ten.ClientSecret.Reveal() + ", account_id: \"" + ten.AccountID + "\"}\n"
	if err := writeFile(path, yaml); err != nil {
		t.Fatal(err)
	}
	if err := e.holder.Reload(path); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.GetWork(ctx, "second", monitor.WorkKind, "automation"); err != nil {
		t.Fatalf("new tenant has no work: %v", err)
	}
	after, err := e.st.GetWork(ctx, "sim", monitor.WorkKind, "automation")
	if err != nil || !after.NextDueAt.Equal(before.NextDueAt) {
		t.Fatalf("existing schedule changed: %v -> %v (%v)", before.NextDueAt, after.NextDueAt, err)
	}
}

// crashStore kills the "process" in the middle of a batch: the armed call
// cancels the engine's context and fails; from then on every write fails,
// like a process that died without releasing its leases.
type crashStore struct {
	store.Store
	cancel func()
	armed  atomic.Bool
	dead   atomic.Bool
}

var errDead = errors.New("process killed")

func (c *crashStore) InsertSnapshots(ctx context.Context, s []store.Snapshot) ([]int64, error) {
	if c.armed.CompareAndSwap(true, false) {
		c.dead.Store(true)
		c.cancel()
		return c.Store.InsertSnapshots(ctx, s) // runs with a cancelled context
	}
	if c.dead.Load() {
		return nil, errDead
	}
	return c.Store.InsertSnapshots(ctx, s)
}

// StoreCollection is where a collection's snapshots are written: the
// armed call dies mid-transaction, like InsertSnapshots.
func (c *crashStore) StoreCollection(ctx context.Context, b store.CollectionBatch) (store.InsertResult, error) {
	if c.armed.CompareAndSwap(true, false) {
		c.dead.Store(true)
		c.cancel()
		return c.Store.StoreCollection(ctx, b) // runs with a cancelled context
	}
	if c.dead.Load() {
		return store.InsertResult{}, errDead
	}
	return c.Store.StoreCollection(ctx, b)
}

func (c *crashStore) InsertEvents(ctx context.Context, r []store.EventRecord) (store.InsertResult, error) {
	if c.dead.Load() {
		return store.InsertResult{}, errDead
	}
	return c.Store.InsertEvents(ctx, r)
}

func (c *crashStore) OpenOrUpdateIncident(ctx context.Context, u store.IncidentUpsert) (store.Incident, bool, error) {
	if c.dead.Load() {
		return store.Incident{}, false, errDead
	}
	return c.Store.OpenOrUpdateIncident(ctx, u)
}

func (c *crashStore) ApplyIncidents(ctx context.Context, b store.IncidentBatch) (store.IncidentBatchResult, error) {
	if c.dead.Load() {
		return store.IncidentBatchResult{}, errDead
	}
	return c.Store.ApplyIncidents(ctx, b)
}

func (c *crashStore) Complete(ctx context.Context, id int64, owner string, next, now time.Time) error {
	if c.dead.Load() {
		return errDead
	}
	return c.Store.Complete(ctx, id, owner, next, now)
}

func (c *crashStore) Defer(ctx context.Context, id int64, owner string, until time.Time, reason string, now time.Time) error {
	if c.dead.Load() {
		return errDead
	}
	return c.Store.Defer(ctx, id, owner, until, reason, now)
}

func (c *crashStore) AddUsage(ctx context.Context, d ...store.UsageDelta) error {
	if c.dead.Load() {
		return errDead
	}
	return c.Store.AddUsage(ctx, d...)
}

// TestCrashAndRestart kills the engine during a batch insert and restarts
// a new engine over the same SQLite file: committed data is all there and
// the open incident continues (no duplicate).
func TestCrashAndRestart(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	runCtx, cancel := context.WithCancel(ctx)
	cs := &crashStore{Store: e.openStore(t), cancel: cancel}
	eng1 := e.newEngine(t, cs, "doomed")
	if _, err := eng1.RunDue(runCtx); err != nil {
		t.Fatal(err)
	}
	e.Inject(sim.Fault{Kind: sim.FaultRESTBlocked})
	s1 := monitor.Stepper{Engine: eng1, Advance: e.Advance, Now: e.Now, Step: 30 * time.Second}
	if _, err := s1.Until(runCtx, 10*time.Minute, monitor.IncidentOpen(cs, "sim", "tenant.blocked")); err != nil {
		t.Fatal(err)
	}
	before := e.incidents(t, store.IncidentFilter{})
	evBefore, err := e.st.QueryEvents(ctx, store.EventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	snapBefore, err := e.st.LatestSnapshots(ctx, "sim", "tenant")
	if err != nil {
		t.Fatal(err)
	}

	// Crash during the next snapshot batch.
	cs.armed.Store(true)
	e.Advance(time.Minute)
	_, _ = eng1.RunDue(runCtx)
	if !cs.dead.Load() {
		t.Fatal("the crash did not happen")
	}

	// Restart: a new process (store handle, engine, owner) on the same file.
	st2 := e.openStore(t)
	eng2 := e.newEngine(t, st2, "restarted")
	s2 := monitor.Stepper{Engine: eng2, Advance: e.Advance, Now: e.Now, Step: 30 * time.Second}
	if err := s2.Run(ctx, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	evAfter, err := st2.QueryEvents(ctx, store.EventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	have := map[int64]bool{}
	for _, ev := range evAfter {
		have[ev.ID] = true
	}
	for _, ev := range evBefore {
		if !have[ev.ID] {
			t.Fatalf("committed event %d lost", ev.ID)
		}
	}
	if _, err := st2.LatestSnapshot(ctx, snapBefore[0].ResourceRef); err != nil {
		t.Fatal(err)
	}
	after, err := st2.ListIncidents(ctx, store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("incidents before the crash %+v, after the restart %+v", before, after)
	}
	open := map[string]int{}
	for _, in := range after {
		if in.Status == store.IncidentOpen {
			open[in.Fingerprint]++
		}
	}
	for fp, n := range open {
		if n > 1 {
			t.Fatalf("%d open incidents for %s", n, fp)
		}
	}
	// The restarted engine picked the items up after the dead lease expired.
	w, err := st2.GetWork(ctx, "sim", monitor.WorkKind, "tenant")
	if err != nil || w.LeaseOwner == "doomed" && w.LeaseUntil.After(e.Now()) {
		t.Fatalf("tenant item still leased by the dead owner: %+v %v", w, err)
	}
	if w.UpdatedAt.Before(e.Now().Add(-2 * time.Minute)) {
		t.Fatalf("tenant item not run since the restart: %+v", w)
	}
}

// TestDisabledRuleResolvesWithConfiguredDamping: disabling a rule resolves
// its open incidents (they do not stay open forever), after the flap
// damping configured in the incidents block, read from the live config.
func TestDisabledRuleResolvesWithConfiguredDamping(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.start(t)
	s := e.stepper(e.eng)
	e.Inject(sim.Fault{Kind: sim.FaultCredentialsRotated}) // never cleared
	if _, err := s.Until(ctx, 40*time.Minute, monitor.IncidentOpen(e.st, "sim", "tenant.blind")); err != nil {
		t.Fatal(err)
	}
	if len(e.incidents(t, store.IncidentFilter{Rule: "tenant.blind", Status: store.IncidentOpen})) != 1 {
		t.Fatal("tenant.blind not open")
	}
	// The engine reads the holder's config at each evaluation: RunDue is
	// synchronous here, so editing it between steps is safe.
	e.cfg.Rules.TenantBlind.Enabled = false
	e.cfg.Incidents.ResolveAfter = config.Duration(2 * time.Minute)
	e.cfg.Incidents.ClearEvaluations = 1
	disabled := e.Now()
	if _, err := s.Until(ctx, 30*time.Minute, func(ctx context.Context) (bool, error) {
		l, err := e.st.ListIncidents(ctx, store.IncidentFilter{Rule: "tenant.blind", Status: store.IncidentResolved})
		return len(l) > 0, err
	}); err != nil {
		t.Fatal(err)
	}
	res := e.incidents(t, store.IncidentFilter{Rule: "tenant.blind", Status: store.IncidentResolved})
	if len(res) != 1 {
		t.Fatalf("disabled rule's incident not resolved: %+v", res)
	}
	// Damping is 2 minutes since last seen (not the default 10).
	if d := res[0].ResolvedAt.Sub(disabled); d > 4*time.Minute {
		t.Fatalf("resolved %s after the rule was disabled; configured damping is 2m", d)
	}
}
