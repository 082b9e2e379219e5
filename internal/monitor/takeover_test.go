package monitor_test

// Takeover after a replica dies (issue 14, item 5): work leases are
// renewed every Lease/3 while a job runs, so a long collection keeps its
// item, and a dead replica's items and outbox messages are taken over by
// another replica within 30 s, with no duplicate incident and at most one
// duplicate notification (the one in flight when it died).

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/collect/collecttest"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/channels"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/webhook"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// scripted is an automation collector whose n-th call (1-based) sleeps
// for hang(n) (until its context ends when hang(n) < 0) and then returns
// one snapshot.
type scripted struct {
	calls atomic.Int64
	first atomic.Pointer[time.Time] // when the first call started
	hang  func(n int64) time.Duration
}

func (c *scripted) Type() resource.Type { return resource.Automation }

func (c *scripted) Collect(ctx context.Context, in *collect.Input) (*collect.Output, error) {
	n := c.calls.Add(1)
	now := time.Now()
	c.first.CompareAndSwap(nil, &now)
	if c.hang != nil {
		switch d := c.hang(n); {
		case d < 0:
			<-ctx.Done()
			return nil, ctx.Err()
		case d > 0:
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	s := in.Snapshot(resource.Automation, "nightly")
	s.Status = "error"
	return &collect.Output{Snapshots: []store.Snapshot{s}}, nil
}

// alwaysFailing finds every automation failing: one incident per key.
type alwaysFailing struct{}

func (alwaysFailing) ID() string          { return "takeover.failing" }
func (alwaysFailing) Type() resource.Type { return resource.Automation }
func (alwaysFailing) NeedsHistory() bool  { return false }
func (alwaysFailing) Evaluate(_ context.Context, in *detect.Input) ([]detect.Finding, error) {
	var out []detect.Finding
	for _, s := range in.Current {
		out = append(out, detect.Finding{Rule: "takeover.failing", Severity: catalog.Error, Family: catalog.Server,
			Tenant: in.Tenant.Name, ResourceType: resource.Automation, ResourceKey: s.ResourceKey,
			Title: "automation " + s.ResourceKey + " failing", Owner: catalog.MarketingOps, FirstSeen: in.Now})
	}
	return out, nil
}

// takeoverConfig: one tenant (never called: the collectors are scripted),
// automations polled every 2 s, alerts to a webhook after 1 s.
func takeoverConfig(t testing.TB, hook string) *config.Holder {
	t.Helper()
	yaml := `
tenants:
  - name: acme
    auth_url: http://127.0.0.1:9
    rest_url: http://127.0.0.1:9
    soap_url: http://127.0.0.1:9
    client_id: id
    client_secret: secret
    account_id: "1"
alerting:
  route: {group_wait: 1s}
  receivers:
    - name: marketing_ops
      webhook: {url: "` + hook + `"}
`
	cfg, err := config.Parse("takeover.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Tenants[0].Monitors.Automations.Interval = config.Duration(2 * time.Second)
	return config.NewHolder(cfg, config.Loader{})
}

func takeoverEngine(t testing.TB, st store.Store, h *config.Holder, owner string, c collect.Collector,
	onChanges func(string, resource.Type, incident.Changes)) *monitor.Engine {
	t.Helper()
	eng, err := monitor.New(monitor.Options{Store: st, Config: h, Owner: owner, Workers: 2,
		Collectors: []collect.Collector{c}, Rules: []detect.Rule{alwaysFailing{}},
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("replica", owner),
		OnChanges: onChanges})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// A collection that runs 5 leases long keeps its item: its lease is
// renewed, a second replica never gets the item meanwhile, and the job
// completes. Then a replica whose store goes away (dead, or cut off)
// stops renewing; the other replica takes the item over within Lease +
// PollEvery of the last renewal, and the cut-off job gives up before then.
func TestLongCollectionRenewsAndDeadReplicaIsTakenOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		path := filepath.Join(t.TempDir(), "takeover.db")
		h := takeoverConfig(t, "http://127.0.0.1:9/hook")
		stA := &cuttable{Store: openSQLite(t, path)}
		stB := openSQLite(t, path)
		lease := store.DefaultLease
		slow := &scripted{hang: func(n int64) time.Duration {
			if n == 1 {
				return 5 * lease
			}
			return -1 // the second job hangs until cancelled
		}}
		fast := &scripted{}
		a := takeoverEngine(t, stA, h, "replica-a", slow, nil)
		b := takeoverEngine(t, stB, h, "replica-b", fast, nil)
		if err := a.Sync(ctx); err != nil {
			t.Fatal(err)
		}

		done := make(chan int, 1)
		go func() { n, _ := a.RunDue(ctx); done <- n }()
		start := time.Now()
		for time.Since(start) < 5*lease-time.Second {
			time.Sleep(time.Second)
			if n, err := b.RunDue(ctx); err != nil || n != 0 {
				t.Fatalf("b ran %d items (%v) at +%s while a's collection renews its lease", n, err, time.Since(start))
			}
		}
		if n := <-done; n != 1 {
			t.Fatalf("a ran %d items, want 1", n)
		}
		if took := time.Since(start); took != 5*lease {
			t.Errorf("a's collection took %s, want %s", took, 5*lease)
		}
		w, err := stB.GetWork(ctx, "acme", monitor.WorkKind, string(resource.Automation))
		if err != nil || w.LeaseOwner != "" || w.LastError != "" {
			t.Fatalf("after the long collection: %+v, %v; want completed, not leased", w, err)
		}
		if fast.calls.Load() != 0 {
			t.Fatalf("b collected %d times while a held the item", fast.calls.Load())
		}

		// a's next job hangs; a is cut off from the store right after a
		// renewal; b takes over.
		time.Sleep(time.Until(w.NextDueAt))
		aDone := make(chan struct{})
		go func() { _, _ = a.RunDue(ctx); close(aDone) }()
		defer func() { stA.cut.Store(true); <-aDone }()
		synctest.Wait()
		w, _ = stB.GetWork(ctx, "acme", monitor.WorkKind, string(resource.Automation))
		if w.LeaseOwner != "replica-a" {
			t.Fatalf("a does not hold the item: %+v", w)
		}
		renewed := w.LeaseUntil
		for w.LeaseUntil.Equal(renewed) {
			time.Sleep(100 * time.Millisecond)
			w, _ = stB.GetWork(ctx, "acme", monitor.WorkKind, string(resource.Automation))
		}
		cutAt := time.Now()
		stA.cut.Store(true)
		for fast.calls.Load() == 0 {
			if _, err := b.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second) // b's PollEvery
		}
		takeover := fast.first.Load().Sub(cutAt)
		t.Logf("work takeover %s after the last renewal (lease %s)", takeover, lease)
		if takeover > lease+time.Second || takeover < lease {
			t.Errorf("takeover after %s, want within (%s, %s]", takeover, lease, lease+time.Second)
		}
		select {
		case <-aDone: // a gave its job up before b took the item over
		default:
			t.Fatal("a's job still runs on a lease it could not renew")
		}
		if slow.calls.Load() != 2 {
			t.Errorf("a collected %d times, want 2", slow.calls.Load())
		}
		inc, err := stB.ListIncidents(ctx, store.IncidentFilter{})
		if err != nil || len(inc) != 1 {
			t.Fatalf("incidents = %d, %v; want 1 (no duplicate)", len(inc), err)
		}
		a.Close()
		b.Close()
	})
}

// cuttable is a store that fails every lease call once cut (a replica
// that died or lost its database).
type cuttable struct {
	store.Store
	cut atomic.Bool
}

var errCut = errors.New("cut off")

func (c *cuttable) RenewWork(ctx context.Context, id int64, owner string, until, now time.Time) error {
	if c.cut.Load() {
		return errCut
	}
	return c.Store.RenewWork(ctx, id, owner, until, now)
}

func (c *cuttable) Complete(ctx context.Context, id int64, owner string, next, now time.Time) error {
	if c.cut.Load() {
		return errCut
	}
	return c.Store.Complete(ctx, id, owner, next, now)
}

func (c *cuttable) Defer(ctx context.Context, id int64, owner string, until time.Time, reason string, now time.Time) error {
	if c.cut.Load() {
		return errCut
	}
	return c.Store.Defer(ctx, id, owner, until, reason, now)
}

func (c *cuttable) ClaimDue(ctx context.Context, owner string, now time.Time, leaseFor time.Duration, limit int) ([]store.WorkItem, error) {
	if c.cut.Load() {
		return nil, errCut
	}
	return c.Store.ClaimDue(ctx, owner, now, leaseFor, limit)
}

func openSQLite(t testing.TB, path string) store.Store {
	t.Helper()
	collecttest.MigratedSQLite(t, path)
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// ---- PostgreSQL, two processes, SIGKILL ----

const (
	takeoverDSNEnv  = "SFMCWATCH_TAKEOVER_DSN"
	takeoverHookEnv = "SFMCWATCH_TAKEOVER_HOOK"
)

// TestTakeoverReplicaProcess is replica A of TestPostgresTakeover: engine
// and dispatcher running until the parent kills it.
func TestTakeoverReplicaProcess(t *testing.T) {
	dsn := os.Getenv(takeoverDSNEnv)
	if dsn == "" {
		t.Skip("helper process for TestPostgresTakeover")
	}
	st, err := store.Open(context.Background(), store.Config{Driver: "postgres", DSN: dsn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := takeoverConfig(t, os.Getenv(takeoverHookEnv))
	d := takeoverDispatcher(t, st, h, "replica-a")
	c := &scripted{hang: func(n int64) time.Duration {
		if n == 1 {
			return 0
		}
		return -1 // from the second collection on: a long collection
	}}
	eng := takeoverEngine(t, st, h, "replica-a", c, d.OnChanges)
	go func() { _ = d.Run(context.Background()) }()
	_ = eng.Run(context.Background())
}

func takeoverDispatcher(t testing.TB, st store.Store, h *config.Holder, instance string) *notify.Dispatcher {
	t.Helper()
	// The dispatcher's own default lease is still 2m (internal/notify owns
	// it); store.OutboxLease is the value it is meant to use.
	d, err := notify.New(notify.Options{Store: st, Config: h, Instance: instance, LeaseFor: store.OutboxLease,
		Build:  channels.Builder(channels.Options{}),
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("replica", instance)})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// hook is a webhook receiver that counts deliveries per idempotency key
// and holds the first request open (the send in flight when A dies).
type hook struct {
	mu      sync.Mutex
	byKey   map[string][]time.Time
	held    chan struct{}
	arrived chan string
}

func newHook(t *testing.T) (*hook, *httptest.Server) {
	h := &hook{byKey: map[string][]time.Time{}, held: make(chan struct{}), arrived: make(chan string, 100)}
	var first atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		key := r.Header.Get(webhook.IdempotencyHeader)
		h.mu.Lock()
		h.byKey[key] = append(h.byKey[key], time.Now())
		h.mu.Unlock()
		h.arrived <- key
		if first.CompareAndSwap(false, true) {
			<-h.held
		}
	}))
	t.Cleanup(func() { close(h.held); srv.Close() })
	return h, srv
}

func (h *hook) deliveries(key string) []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.byKey[key]...)
}

func (h *hook) duplicates() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, ts := range h.byKey {
		n += len(ts) - 1
	}
	return n
}

// Replica A (a process) collects, opens an incident and starts sending its
// notification; its next collection runs long. Replica B runs alongside
// and gets nothing while A renews. A is killed (SIGKILL) mid-send, right
// after a renewal: B takes over the collection and the notification within 30 s,
// the incident is not duplicated, and the receiver gets the notification
// in flight at most twice.
func TestPostgresTakeover(t *testing.T) {
	dsn := os.Getenv("SFMCWATCH_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("SFMCWATCH_TEST_POSTGRES is not set: skipping the PostgreSQL two-replica takeover test")
	}
	if testing.Short() {
		t.Skip("runs about 40 s of real time")
	}
	ctx := t.Context()
	dsn = freshSchema(t, dsn)
	st, err := store.Open(ctx, store.Config{Driver: "postgres", DSN: dsn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	recv, srv := newHook(t)

	child := exec.Command(os.Args[0], "-test.run=^TestTakeoverReplicaProcess$", "-test.count=1")
	child.Env = append(os.Environ(), takeoverDSNEnv+"="+dsn, takeoverHookEnv+"="+srv.URL)
	child.Stdout, child.Stderr = os.Stderr, os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = child.Process.Kill()
			_ = child.Wait()
		}
	})

	// A's notification is in flight (held by the receiver) and A holds
	// the work item in its second, long collection.
	var (
		key    string
		sentAt time.Time
	)
	select {
	case key = <-recv.arrived:
		sentAt = time.Now()
	case <-time.After(30 * time.Second):
		t.Fatal("replica A never sent its notification")
	}
	item := func() store.WorkItem {
		w, err := st.GetWork(ctx, "acme", monitor.WorkKind, string(resource.Automation))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	deadline := time.Now().Add(20 * time.Second)
	for w := item(); w.LeaseOwner != "replica-a" || w.Attempts == 0 || w.NextDueAt.After(time.Now()); w = item() {
		if time.Now().After(deadline) {
			t.Fatalf("replica A does not hold the work item in a collection: %+v", w)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Replica B starts beside it.
	h := takeoverConfig(t, srv.URL)
	d := takeoverDispatcher(t, st, h, "replica-b")
	c := &scripted{}
	eng := takeoverEngine(t, st, h, "replica-b", c, d.OnChanges)
	bctx, stopB := context.WithCancel(context.WithoutCancel(ctx))
	var bg sync.WaitGroup
	bg.Go(func() { _ = d.Run(bctx) })
	bg.Go(func() { _ = eng.Run(bctx) })
	t.Cleanup(func() { stopB(); bg.Wait() })

	// Kill A right after its next renewal (the worst case for the work
	// lease; its send times out 7.5 s after it began, and a renewal comes
	// every 6.7 s).
	until := item().LeaseUntil
	for w := item(); w.LeaseUntil.Equal(until); w = item() {
		if w.LeaseOwner != "replica-a" {
			t.Fatalf("replica A lost its item: %+v", w)
		}
		if time.Since(sentAt) > 7*time.Second {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := c.calls.Load(); n != 0 {
		t.Fatalf("replica B collected %d times while A renewed its lease", n)
	}
	if n := len(recv.deliveries(key)); n != 1 {
		t.Fatalf("notification delivered %d times before the crash", n)
	}
	// A's last signs of life: its last work renewal and its outbox claim.
	workLease := item().LeaseUntil
	rows, err := st.ListNotifications(ctx, store.OutboxFilter{Key: key})
	if err != nil || len(rows) != 1 || rows[0].LeaseOwner != "replica-a" || rows[0].Status != store.OutboxPending {
		t.Fatalf("outbox row of the message in flight = %+v, %v; want pending, leased by replica-a", rows, err)
	}
	lastRenewal, claimed := workLease.Add(-store.DefaultLease), rows[0].LeaseUntil.Add(-store.OutboxLease)
	_ = child.Process.Signal(syscall.SIGKILL)
	killAt := time.Now()
	killed = true
	var ee *exec.ExitError
	if err := child.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("replica A did not die by SIGKILL: %v", err)
	}

	const budget = 30 * time.Second
	var work, outbox time.Duration
	for work == 0 || outbox == 0 {
		if time.Since(killAt) > budget+5*time.Second {
			t.Fatalf("no takeover within %s: work %s, outbox %s", budget+5*time.Second, work, outbox)
		}
		if f := c.first.Load(); f != nil && work == 0 {
			work = f.Sub(killAt)
		}
		if ds := recv.deliveries(key); len(ds) > 1 && outbox == 0 {
			outbox = ds[1].Sub(killAt)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Measured from the kill, and from A's last renewal / claim (the bound
	// whenever A dies after it).
	workWorst, outboxWorst := work+killAt.Sub(lastRenewal), outbox+killAt.Sub(claimed)
	ms := func(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }
	t.Logf("takeover after SIGKILL: work %s (%s after A's last renewal; lease %s renewed every %s), "+
		"outbox %s (%s after A's claim; lease %s, poll interval 10s)",
		ms(work), ms(workWorst), store.DefaultLease, ms(store.DefaultLease/3), ms(outbox), ms(outboxWorst), store.OutboxLease)
	if workWorst > budget || outboxWorst > budget {
		t.Errorf("takeover took work %s, outbox %s after A's last renewal/claim; want ≤ %s", workWorst, outboxWorst, budget)
	}

	// B keeps collecting (every 2 s): the incident stays one incident, and
	// nothing but the message in flight is delivered twice.
	for c.calls.Load() < 3 {
		if time.Since(killAt) > budget+15*time.Second {
			t.Fatalf("replica B collected %d times", c.calls.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	inc, err := st.ListIncidents(ctx, store.IncidentFilter{})
	if err != nil || len(inc) != 1 || inc[0].Status != "open" {
		t.Fatalf("incidents = %+v, %v; want exactly 1 open", inc, err)
	}
	if n := recv.duplicates(); n > 1 {
		t.Errorf("%d duplicate notifications after one crash, want ≤ 1", n)
	}
}

// freshSchema creates a uniquely named schema, drops it when t ends, and
// returns dsn with search_path set to it.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "sfmcwatch_takeover_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
