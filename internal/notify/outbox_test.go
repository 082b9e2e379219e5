package notify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/channels"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/webhook"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// countingReceiver is a local webhook endpoint that counts deliveries and
// distinct idempotency keys.
type countingReceiver struct {
	mu     sync.Mutex
	total  int
	keys   map[string]int
	status func(n int) int // response status of the n-th delivery (1-based)
	hold   chan struct{}   // when set, each request waits for it (crash tests)
	got    chan struct{}
}

func newCountingReceiver(t *testing.T) (*countingReceiver, *httptest.Server) {
	c := &countingReceiver{keys: map[string]int{}, got: make(chan struct{}, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		c.mu.Lock()
		c.total++
		n := c.total
		c.keys[r.Header.Get(webhook.IdempotencyHeader)]++
		hold := c.hold
		c.mu.Unlock()
		c.got <- struct{}{}
		if hold != nil {
			<-hold
		}
		if c.status != nil {
			w.WriteHeader(c.status(n))
		}
	}))
	t.Cleanup(srv.Close)
	return c, srv
}

func (c *countingReceiver) counts() (total, distinct int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, len(c.keys)
}

func webhookConfig(url string) string {
	return fmt.Sprintf(`
server: {external_url: "https://sfmcwatch.example.com"}
alerting:
  receivers:
    - name: hook
      webhook: {url: %q}
  outbox: {retry_initial: 10s, retry_max: 1m, give_up_after: 10m}
`, url)
}

func newDispatcher(t testing.TB, st store.Store, yaml string, now func() time.Time, instance string) *notify.Dispatcher {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := notify.New(notify.Options{Store: st, Config: config.NewHolder(cfg, config.Loader{}), Clock: now,
		Build: channels.Builder(channels.Options{Clock: now}), Instance: instance, LeaseFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func openStore(t testing.TB, path string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func openIncident(t testing.TB, st store.Store, key string, at time.Time) store.Incident {
	t.Helper()
	in, _, err := st.OpenOrUpdateIncident(context.Background(), store.IncidentUpsert{
		Fingerprint: "api.errors|acme|tenant|" + key, Rule: "api.errors", Severity: "error", Family: "auth",
		Tenant: "acme", ResourceType: "tenant", ResourceKey: key, Title: "401 on " + key, Owner: "marketing_ops", Now: at})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// The child half of TestCrashBetweenWriteAndSend: evaluate (the outbox row
// is committed) or start delivering, then die by SIGKILL.
func TestCrashHelperProcess(t *testing.T) {
	path := os.Getenv("SFMCWATCH_NOTIFY_CRASH_DB")
	if path == "" {
		t.Skip("helper process for TestCrashBetweenWriteAndSend")
	}
	at, _ := strconv.ParseInt(os.Getenv("SFMCWATCH_NOTIFY_CRASH_AT"), 10, 64)
	now := func() time.Time { return time.UnixMicro(at).UTC() }
	st, err := store.Open(context.Background(), store.Config{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := newDispatcher(t, st, webhookConfig(os.Getenv("SFMCWATCH_NOTIFY_CRASH_URL")), now, "child")
	switch os.Getenv("SFMCWATCH_NOTIFY_CRASH_PHASE") {
	case "after-write":
		if _, err := d.Evaluate(context.Background()); err != nil {
			t.Fatal(err)
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	case "during-send":
		_, _ = d.Deliver(context.Background()) // the parent kills us mid-request
	}
	select {}
}

func runChild(t *testing.T, phase, db, url string, at time.Time) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SFMCWATCH_NOTIFY_CRASH_DB="+db, "SFMCWATCH_NOTIFY_CRASH_URL="+url,
		"SFMCWATCH_NOTIFY_CRASH_PHASE="+phase, "SFMCWATCH_NOTIFY_CRASH_AT="+strconv.FormatInt(at.UnixMicro(), 10))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func wantKilled(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", err)
	}
}

// Kill the process between writing a notification and sending it, restart:
// the receiver gets it exactly once. Kill it in the middle of the send
// (after the receiver got the request, before it was marked sent): after
// the lease expires it is sent again (at least once) with the same
// idempotency key, so the receiver can drop the duplicate.
func TestCrashBetweenWriteAndSend(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	recv, srv := newCountingReceiver(t)
	db := filepath.Join(t.TempDir(), "crash.db")
	st := openStore(t, db)
	openIncident(t, st, "token", t0)
	clk := &clock{t: t0.Add(20 * time.Second)}

	wantKilled(t, runChild(t, "after-write", db, srv.URL, clk.Now()))
	if total, _ := recv.counts(); total != 0 {
		t.Fatalf("child sent %d before dying", total)
	}
	pending, err := st.ListNotifications(t.Context(), store.OutboxFilter{Status: store.OutboxPending})
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending after crash = %d, %v; want the written notification", len(pending), err)
	}

	// Restart: a new process (dispatcher) on the same database.
	d := newDispatcher(t, st, webhookConfig(srv.URL), clk.Now, "restarted")
	for range 3 {
		d.Step(t.Context())
		clk.Add(time.Minute)
	}
	if total, distinct := recv.counts(); total != 1 || distinct != 1 {
		t.Fatalf("after restart: %d deliveries (%d distinct), want exactly 1", total, distinct)
	}

	// Second incident; this time the child dies while the request is in
	// flight.
	openIncident(t, st, "soap", clk.Now())
	clk.Add(time.Minute)
	if _, err := d.Evaluate(t.Context()); err != nil {
		t.Fatal(err)
	}
	recv.mu.Lock()
	recv.hold = make(chan struct{})
	recv.mu.Unlock()
	for len(recv.got) > 0 {
		<-recv.got
	}
	child := runChild(t, "during-send", db, srv.URL, clk.Now())
	select {
	case <-recv.got:
	case <-time.After(20 * time.Second):
		_ = child.Process.Kill()
		t.Fatal("child never delivered")
	}
	_ = child.Process.Signal(syscall.SIGKILL)
	wantKilled(t, child)
	recv.mu.Lock()
	close(recv.hold)
	recv.hold = nil
	recv.mu.Unlock()

	d.Step(t.Context()) // lease still held by the dead child: nothing
	if total, _ := recv.counts(); total != 2 {
		t.Fatalf("deliveries = %d, want 2 (1 + the interrupted one)", total)
	}
	clk.Add(2 * time.Minute) // the child's lease expires
	d.Step(t.Context())
	d.Step(t.Context())
	if total, distinct := recv.counts(); total != 3 || distinct != 2 {
		all, _ := st.ListNotifications(t.Context(), store.OutboxFilter{})
		for _, m := range all {
			t.Logf("%s %s attempts=%d lease=%s until=%v next=%v err=%s now=%v", m.Key, m.Status, m.Attempts, m.LeaseOwner, m.LeaseUntil, m.NextAttemptAt, m.LastError, clk.Now())
		}
		t.Fatalf("after lease expiry: %d deliveries, %d distinct keys; want 3 and 2 (at least once, deduplicable)", total, distinct)
	}
}

// Two replicas on one database: every notification is delivered once.
func TestTwoReplicasNoDuplicates(t *testing.T) {
	recv, srv := newCountingReceiver(t)
	db := filepath.Join(t.TempDir(), "replicas.db")
	st := openStore(t, db)
	st2 := openStore(t, db)
	cfg := webhookConfig(srv.URL) + `
  route:
    group_by: ["..."]
`
	clk := &clock{t: t0}
	a := newDispatcher(t, st, cfg, clk.Now, "replica-a")
	b := newDispatcher(t, st2, cfg, clk.Now, "replica-b")
	const incidents = 12
	for i := range incidents {
		openIncident(t, st, fmt.Sprintf("key-%d", i), t0)
	}
	clk.Add(20 * time.Second)
	var wg sync.WaitGroup
	for _, d := range []*notify.Dispatcher{a, b} {
		wg.Go(func() {
			for range 5 {
				d.Step(t.Context())
			}
		})
	}
	wg.Wait()
	if total, distinct := recv.counts(); total != incidents || distinct != incidents {
		t.Fatalf("%d deliveries, %d distinct; want %d each", total, distinct, incidents)
	}
}

// A retryable failure is retried with backoff until it succeeds; a
// permanent one is marked failed and never retried; a message that keeps
// failing is given up after give_up_after.
func TestRetryBackoffAndGiveUp(t *testing.T) {
	recv, srv := newCountingReceiver(t)
	recv.status = func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	st := openStore(t, filepath.Join(t.TempDir(), "retry.db"))
	clk := &clock{t: t0}
	d := newDispatcher(t, st, webhookConfig(srv.URL), clk.Now, "r")
	if err := d.SendReport(t.Context(), "hook", notify.Report{Key: "digest-w10", Subject: "Weekly digest", Text: "all good"}); err != nil {
		t.Fatal(err)
	}
	d.Step(t.Context()) // attempt 1: 503
	clk.Add(5 * time.Second)
	d.Step(t.Context()) // backoff 10s not over
	if total, _ := recv.counts(); total != 1 {
		t.Fatalf("deliveries = %d, want 1 before the backoff ends", total)
	}
	clk.Add(5 * time.Second)
	d.Step(t.Context()) // attempt 2: 503, next in 20s
	clk.Add(19 * time.Second)
	d.Step(t.Context())
	clk.Add(time.Second)
	d.Step(t.Context()) // attempt 3: 200
	m, err := st.GetNotification(t.Context(), "report|hook|digest-w10")
	if err != nil || m.Status != store.OutboxSent || m.Attempts != 3 || !m.SentAt.Equal(clk.Now()) {
		t.Fatalf("report = %+v, %v", m, err)
	}
	// The same report key is not sent twice.
	if err := d.SendReport(t.Context(), "hook", notify.Report{Key: "digest-w10", Subject: "Weekly digest", Text: "again"}); err != nil {
		t.Fatal(err)
	}
	d.Step(t.Context())
	if total, _ := recv.counts(); total != 3 {
		t.Fatalf("deliveries = %d after re-sending a known report key", total)
	}
	if err := d.SendReport(t.Context(), "nope", notify.Report{Subject: "x", Text: "y"}); err == nil {
		t.Fatal("unknown receiver accepted")
	}

	recv.status = func(int) int { return http.StatusBadRequest }
	_ = d.SendReport(t.Context(), "hook", notify.Report{Subject: "bad", Text: "400"})
	d.Step(t.Context())
	clk.Add(time.Hour)
	d.Step(t.Context())
	failed, _ := st.ListNotifications(t.Context(), store.OutboxFilter{Status: store.OutboxFailed})
	if len(failed) != 1 || failed[0].Attempts != 1 || failed[0].LastError == "" {
		t.Fatalf("permanent failure: %+v", failed)
	}

	recv.status = func(int) int { return http.StatusBadGateway }
	_ = d.SendReport(t.Context(), "hook", notify.Report{Subject: "flaky", Text: "502"})
	for range 20 {
		d.Step(t.Context())
		clk.Add(time.Minute)
	}
	failed, _ = st.ListNotifications(t.Context(), store.OutboxFilter{Status: store.OutboxFailed})
	if len(failed) != 2 || failed[0].Attempts < 5 || failed[0].Attempts > 12 {
		t.Fatalf("give up: %+v", failed)
	}
}
