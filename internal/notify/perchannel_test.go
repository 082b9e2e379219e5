package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/channels"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// fakeChannel counts attempts and deliveries; fail decides the outcome of
// the n-th attempt (1-based), nil = delivered.
type fakeChannel struct {
	mu        sync.Mutex
	attempts  int
	delivered []string // message keys
	fail      func(n int) error
}

func (f *fakeChannel) Notify(_ context.Context, m *notify.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	if f.fail != nil {
		if err := f.fail(f.attempts); err != nil {
			return err
		}
	}
	f.delivered = append(f.delivered, m.Key)
	return nil
}

func (f *fakeChannel) counts() (attempts int, delivered []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts, slices.Clone(f.delivered)
}

// fakeBuild builds each configured channel of a receiver as the fake
// named "<receiver>/<channel>" (created on first use), in config order.
type fakeBuild struct {
	mu    sync.Mutex
	fakes map[string]*fakeChannel
}

func (b *fakeBuild) get(name string) *fakeChannel {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fakes[name] == nil {
		b.fakes[name] = &fakeChannel{}
	}
	return b.fakes[name]
}

func (b *fakeBuild) build(r config.Receiver) ([]notify.Channel, error) {
	var out []notify.Channel
	for _, name := range r.Channels() {
		out = append(out, notify.Channel{Name: name, Notifier: b.get(r.Name + "/" + name)})
	}
	return out, nil
}

// secretHook is a webhook URL whose path is a secret: it must not reach a
// log line, an error or a stored row.
const secretHook = "http://127.0.0.1:9/hooks/SECRET-TOKEN-42"

const twoChannelConfig = `
alerting:
  receivers:
    - name: ops
      webhook: {url: "` + secretHook + `"}
      console: {}
  outbox: {retry_initial: 10s, retry_max: 1m, give_up_after: 10m}
`

func newFakeDispatcher(t *testing.T, yaml string, clk *clock) (*notify.Dispatcher, store.Store, *fakeBuild, *config.Holder) {
	t.Helper()
	st := openStore(t, filepath.Join(t.TempDir(), "channels.db"))
	cfg, err := config.Parse("t.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	fb := &fakeBuild{fakes: map[string]*fakeChannel{}}
	h := config.NewHolder(cfg, config.Loader{})
	d, err := notify.New(notify.Options{Store: st, Config: h, Clock: clk.Now, Build: fb.build, Instance: "t", LeaseFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return d, st, fb, h
}

// rowsByChannel lists the outbox rows of one message by channel.
func rowsByChannel(t *testing.T, st store.Store, key string) map[string]store.OutboxMessage {
	t.Helper()
	rows, err := st.ListNotifications(t.Context(), store.OutboxFilter{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.OutboxMessage{}
	for _, r := range rows {
		if _, dup := out[r.Channel]; dup {
			t.Fatalf("two rows for %s/%q", key, r.Channel)
		}
		out[r.Channel] = r
	}
	return out
}

// A receiver with two channels: each channel is retried, failed or given
// up on its own, and a channel that succeeded never gets the message again.
func TestPerChannelDelivery(t *testing.T) {
	transient := notify.Retryable("webhook", errors.New("503 Service Unavailable"))
	for _, tc := range []struct {
		name    string
		fail    func(n int) error // the webhook channel's n-th attempt
		steps   int               // dispatcher steps, 15s apart
		wantHit int               // webhook attempts
		wantOK  int               // webhook deliveries
		want    store.OutboxStatus
		wantErr string // in the webhook row's LastError
	}{
		{name: "retryable once, then delivered", steps: 4, wantHit: 2, wantOK: 1, want: store.OutboxSent,
			fail: func(n int) error {
				if n == 1 {
					return transient
				}
				return nil
			}},
		{name: "permanent failure", steps: 4, wantHit: 1, want: store.OutboxFailed, wantErr: "400 Bad Request",
			fail: func(int) error { return notify.Permanent("webhook", errors.New("400 Bad Request")) }},
		{name: "retryable until given up", steps: 60, wantHit: 13, want: store.OutboxFailed, wantErr: "gave up after",
			fail: func(int) error { return transient }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: t0}
			d, st, fb, _ := newFakeDispatcher(t, twoChannelConfig, clk)
			fb.get("ops/webhook").fail = tc.fail
			openIncident(t, st, "token", t0)
			clk.Add(20 * time.Second) // past group_wait
			for range tc.steps {
				d.Step(t.Context())
				clk.Add(15 * time.Second)
			}
			all, err := st.ListNotifications(t.Context(), store.OutboxFilter{})
			if err != nil || len(all) != 2 {
				t.Fatalf("outbox = %+v, %v; want one row per channel", all, err)
			}
			key := all[0].Key
			rows := rowsByChannel(t, st, key)
			// The console channel got the message once, whatever the webhook did.
			if n, got := fb.get("ops/console").counts(); n != 1 || !slices.Equal(got, []string{key}) {
				t.Fatalf("console: %d attempts, delivered %v; want exactly one delivery of %s", n, got, key)
			}
			if c := rows["console"]; c.Status != store.OutboxSent || c.Attempts != 1 {
				t.Fatalf("console row = %+v", c)
			}
			n, got := fb.get("ops/webhook").counts()
			if n != tc.wantHit || len(got) != tc.wantOK {
				t.Fatalf("webhook: %d attempts, %d deliveries; want %d and %d", n, len(got), tc.wantHit, tc.wantOK)
			}
			w := rows["webhook"]
			if w.Status != tc.want || w.Attempts != tc.wantHit || !strings.Contains(w.LastError, tc.wantErr) {
				t.Fatalf("webhook row = %s after %d attempts (%q); want %s after %d mentioning %q",
					w.Status, w.Attempts, w.LastError, tc.want, tc.wantHit, tc.wantErr)
			}
		})
	}
}

// Messages queued before per-channel delivery (channel ”) still reach
// every channel of their receiver, and re-queuing their key afterwards
// adds no per-channel copy.
func TestLegacyRowDeliveredToEveryChannel(t *testing.T) {
	clk := &clock{t: t0}
	d, st, fb, _ := newFakeDispatcher(t, twoChannelConfig, clk)
	m := notify.Message{Kind: notify.KindReport, Key: "report|ops|digest-w9", Receiver: "ops",
		Report: &notify.Report{Subject: "Weekly digest", Text: "all good"}, CreatedAt: t0}
	payload, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	legacy := store.OutboxMessage{Key: m.Key, Receiver: "ops", Kind: m.Kind, Payload: payload}
	if n, err := st.EnqueueNotifications(t.Context(), t0, legacy); err != nil || n != 1 {
		t.Fatalf("enqueue legacy row = %d, %v", n, err)
	}
	// The digest job runs again after the upgrade with the same key.
	if err := d.SendReport(t.Context(), "ops", notify.Report{Key: "digest-w9", Subject: "Weekly digest", Text: "all good"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		d.Step(t.Context())
		clk.Add(time.Minute)
	}
	for _, ch := range []string{"ops/webhook", "ops/console"} {
		if n, got := fb.get(ch).counts(); n != 1 || !slices.Equal(got, []string{m.Key}) {
			t.Errorf("%s: %d attempts, delivered %v; want %s once", ch, n, got, m.Key)
		}
	}
	rows := rowsByChannel(t, st, m.Key)
	if len(rows) != 1 || rows[""].Status != store.OutboxSent {
		t.Fatalf("rows = %+v; want the legacy row, sent", rows)
	}
}

// A channel removed from the receiver between queueing and delivery: its
// row fails permanently, naming receiver and channel (not the secret); the
// receiver's other channels are delivered.
func TestChannelRemovedBeforeDelivery(t *testing.T) {
	clk := &clock{t: t0}
	d, st, fb, h := newFakeDispatcher(t, twoChannelConfig, clk)
	if err := d.SendReport(t.Context(), "ops", notify.Report{Key: "w10", Subject: "Weekly digest", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "reloaded.yaml")
	reloaded := strings.Replace(twoChannelConfig, `      webhook: {url: "`+secretHook+`"}`+"\n", "", 1)
	if reloaded == twoChannelConfig {
		t.Fatal("test config did not change")
	}
	if err := os.WriteFile(path, []byte(reloaded), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.Reload(path); err != nil {
		t.Fatal(err)
	}
	d.Step(t.Context())
	rows := rowsByChannel(t, st, "report|ops|w10")
	w, c := rows["webhook"], rows["console"]
	if c.Status != store.OutboxSent {
		t.Errorf("console row = %+v", c)
	}
	if n, _ := fb.get("ops/webhook").counts(); n != 0 {
		t.Errorf("removed webhook channel was called %d times", n)
	}
	if w.Status != store.OutboxFailed || w.Attempts != 1 ||
		!strings.Contains(w.LastError, `receiver "ops"`) || !strings.Contains(w.LastError, "webhook") {
		t.Fatalf("webhook row = %s, %d attempts, %q; want failed once, naming receiver and channel", w.Status, w.Attempts, w.LastError)
	}
	for _, r := range rows {
		if strings.Contains(r.LastError, "SECRET-TOKEN") || strings.Contains(string(r.Payload), "SECRET-TOKEN") {
			t.Fatalf("secret stored in row %+v", r)
		}
	}
}

// The builder's channel names become the rows' channels, in its order.
func TestRowsFollowBuilderChannelOrder(t *testing.T) {
	clk := &clock{t: t0}
	d, st, _, _ := newFakeDispatcher(t, `
alerting:
  receivers:
    - name: ops
      console: {}
      webhook: {url: "http://127.0.0.1:9/x"}
      teams: {webhook_url: "https://example.webhook.office.com/x"}
`, clk)
	if err := d.SendReport(t.Context(), "ops", notify.Report{Key: "k", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	rows, err := st.ListNotifications(t.Context(), store.OutboxFilter{Key: "report|ops|k"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range slices.Backward(rows) { // newest first: reverse to enqueue order
		got = append(got, r.Channel)
	}
	if want := []string{"teams", "webhook", "console"}; !slices.Equal(got, want) {
		t.Fatalf("channels in enqueue order = %v, want %v", got, want)
	}
}

// The production builder: a webhook that answers 503 once and a console
// on one receiver. The console prints the alert once; the webhook gets it
// again only after its own retry, under the same idempotency key.
func TestPerChannelDeliveryWithRealChannels(t *testing.T) {
	recv, srv := newCountingReceiver(t)
	recv.status = func(n int) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	st := openStore(t, filepath.Join(t.TempDir(), "real.db"))
	cfg, err := config.Parse("t.yaml", []byte(strings.Replace(webhookConfig(srv.URL), "      webhook:", "      console: {output: stdout}\n      webhook:", 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: t0}
	var out syncBuffer
	d, err := notify.New(notify.Options{Store: st, Config: config.NewHolder(cfg, config.Loader{}), Clock: clk.Now,
		Build: channels.Builder(channels.Options{Clock: clk.Now, Stdout: &out}), Instance: "t", LeaseFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	openIncident(t, st, "token", t0)
	clk.Add(20 * time.Second)
	for range 4 {
		d.Step(t.Context())
		clk.Add(15 * time.Second)
	}
	if total, distinct := recv.counts(); total != 2 || distinct != 1 {
		t.Fatalf("webhook: %d requests, %d keys; want 2 (one 503, one retry) under 1 key", total, distinct)
	}
	if n := strings.Count(out.String(), "notify hook: [FIRING"); n != 1 {
		t.Fatalf("console printed the alert %d times, want 1:\n%s", n, out.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
