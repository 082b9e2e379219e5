package notify

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Timeline tests of the stages the older timeline tests do not cover:
// correlate (children wait for their cause, then are promoted), resolution
// never suppressed (silence after notification), deliver's watchdog
// (failing channel → fallback) and the heartbeat.

// correlate: a child whose cause is open is not notified; when the cause
// resolves while the child still fails, the child is promoted and
// notified; its resolution follows.
func TestTimelineCorrelate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, baseConfig, nil)
		causes := map[int64]int64{}
		r.d.causeOf = func(in store.Incident) int64 { return causes[in.ID] }
		cause := r.open("tenant.blind", "auth", "marketing_ops", "critical", "acme", "acme")
		child := r.open("api.errors", "auth", "marketing_ops", "error", "acme", "/v1/token")
		child2 := r.open("api.errors", "rate_limit", "infrastructure", "error", "acme", "/Service.asmx")
		causes[child.ID], causes[child2.ID] = cause.ID, cause.ID
		r.after(15 * time.Second)
		msgs := r.expect("marketing_ops", "[FIRING:1] acme · auth · marketing_ops: tenant.blind on acme")
		if n := msgs[0].Alerts[0].Note; !strings.Contains(n, "explains 2 other open incident(s), attached as evidence: #2 api.errors, #3 api.errors") {
			t.Fatalf("cause note = %q", n)
		}
		r.quiet()         // child2's group (infrastructure) sends nothing either
		r.resolve(child2) // never notified: no resolved notice either
		r.after(time.Hour)
		r.quiet()

		// The cause resolves; the correlation step keeps the child under
		// it while the cause settles: only the cause's resolution is sent.
		r.resolve(cause)
		r.after(time.Minute)
		r.expect("marketing_ops", "[RESOLVED:1] acme · auth · marketing_ops: tenant.blind on acme")
		r.after(10 * time.Minute)
		r.quiet()
		// The step promotes it (caused_by cleared): now it notifies.
		delete(causes, child.ID)
		r.after(time.Minute)
		r.expect("marketing_ops", "[FIRING:1] acme · auth · marketing_ops: api.errors on /v1/token")
		r.resolve(child)
		r.after(time.Minute)
		r.expect("marketing_ops", "[RESOLVED:1] acme · auth · marketing_ops: api.errors on /v1/token")
	})
}

// Resolution is never suppressed: an incident notified as firing, then
// silenced, still gets its resolved notice.
func TestTimelineResolvedAfterSilence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, baseConfig, nil)
		in := r.open("import.failed", "client", "data_engineering", "error", "acme", "orders")
		r.after(15 * time.Second)
		r.expect("data_engineering", "[FIRING:1] acme · client · data_engineering: import.failed on orders")
		now := time.Now()
		if _, err := r.st.CreateSilence(t.Context(), store.Silence{
			Matchers: []store.SilenceMatcher{{Label: "rule", Op: "=", Value: "import.failed"}},
			StartsAt: now, EndsAt: now.Add(24 * time.Hour), CreatedBy: "ops", Comment: "known"}); err != nil {
			t.Fatal(err)
		}
		r.after(4 * time.Hour)
		r.quiet() // silenced: no reminder
		r.resolve(in)
		r.after(time.Minute)
		r.expect("data_engineering", "[RESOLVED:1] acme · client · data_engineering: import.failed on orders")
	})
}

// Resolution is never suppressed by inhibition either: an own-call
// api.errors notified before tenant.blind opened is held (no reminders)
// while the tenant is blind, and its resolution is sent without claiming
// it was never notified.
func TestTimelineResolvedAfterInhibition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, baseConfig, nil)
		own := r.openFP("api.errors|acme|tenant|/Service.asmx||auth|soap:Security", "api.errors", "auth", "marketing_ops", "error", "acme", "/Service.asmx")
		r.after(15 * time.Second)
		r.expect("marketing_ops", "[FIRING:1] acme · auth · marketing_ops: api.errors on /Service.asmx")
		blind := r.open("tenant.blind", "auth", "marketing_ops", "critical", "acme", "acme")
		r.after(time.Minute)
		r.expect("marketing_ops", "[FIRING:1] acme · auth · marketing_ops: tenant.blind on acme")
		r.after(4 * time.Hour)
		msgs := r.expect("marketing_ops", "[STILL FAILING:1] acme · auth · marketing_ops: tenant.blind on acme")
		if len(msgs[0].Alerts) != 1 {
			t.Fatalf("the held incident was reminded: %+v", msgs[0].Alerts)
		}
		r.resolve(own)
		r.resolve(blind)
		r.after(time.Minute)
		msgs = r.expect("marketing_ops", "[RESOLVED:2] acme · auth · marketing_ops: api.errors on /Service.asmx (+1 more)")
		for _, a := range msgs[0].Alerts {
			if strings.Contains(a.Note, "never notified") {
				t.Fatalf("note = %q", a.Note)
			}
		}
	})
}

// fakeChannels builds each configured channel as a recorder named
// "<receiver>/<channel>".
type fakeChannels struct {
	mu   sync.Mutex
	recs map[string]*recorder
}

func (f *fakeChannels) get(name string) *recorder {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.recs[name] == nil {
		f.recs[name] = &recorder{}
	}
	return f.recs[name]
}

func (f *fakeChannels) build(r config.Receiver) ([]Channel, error) {
	var out []Channel
	for _, name := range r.Channels() {
		out = append(out, Channel{Name: name, Notifier: f.get(r.Name + "/" + name)})
	}
	return out, nil
}

const fallbackConfig = `
alerting:
  receivers:
    - {name: ops, webhook: {url: "http://127.0.0.1:9/hook"}}
    - {name: pager, console: {}}
  route: {receiver: ops}
  fallback_receiver: pager
`

// deliver/watchdog: a channel that fails permanently opens a
// notify.channel_failed incident (stored, counted), delivered through the
// fallback receiver; the next successful delivery resolves it and the
// fallback hears the resolution.
func TestTimelineChannelFailureFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := mustConfig(t, fallbackConfig)
		st, err := store.Open(t.Context(), store.Config{Path: filepath.Join(t.TempDir(), "fb.db")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		fc := &fakeChannels{recs: map[string]*recorder{}}
		hook := fc.get("ops/webhook")
		var broken atomic.Bool
		broken.Store(true)
		hook.fail = func(*Message) error {
			if broken.Load() {
				return &Error{Channel: "webhook", Status: 400, Err: errStatus("Bad Request")}
			}
			return nil
		}
		d, err := New(Options{Store: st, Config: config.NewHolder(cfg, config.Loader{}), Build: fc.build, Instance: "t"})
		if err != nil {
			t.Fatal(err)
		}
		r := &rig{t: t, st: st, d: d, recs: map[string]*recorder{"ops": hook, "pager": fc.get("pager/console")}, cfg: cfg}
		r.open("journey.stopped", "", "marketing_ops", "error", "acme", "welcome")
		r.after(15 * time.Second) // queued to ops, fails permanently
		r.quiet()
		failing, err := st.ListIncidents(t.Context(), store.IncidentFilter{Status: store.IncidentOpen, Rule: RuleChannelFailed})
		if err != nil || len(failing) != 1 || failing[0].ResourceKey != "ops/webhook" || failing[0].Family != "none" || failing[0].Owner != "infrastructure" {
			t.Fatalf("channel_failed incidents = %+v, %v", failing, err)
		}
		if n := d.Stats().ChannelFailures["ops/webhook"]; n != 1 {
			t.Fatalf("channel failures counted = %d", n)
		}
		r.after(15 * time.Second)
		msgs := r.expect("pager", "[FIRING:1] none · infrastructure: Notifications to ops/webhook are not delivered: webhook: permanent failure (status 400): Bad Request")
		if msgs[0].Alerts[0].WhyItMatters == "" {
			t.Fatal("no why-it-matters line")
		}
		r.quiet() // not sent down the failing tree

		broken.Store(false)
		r.open("journey.stopped", "", "marketing_ops", "error", "acme", "birthday")
		r.after(time.Minute) // ops gets the change: delivered, channel resolved
		if got := hook.take(); len(got) != 1 {
			t.Fatalf("ops got %d message(s) after recovery", len(got))
		}
		r.after(time.Minute)
		r.expect("pager", "[RESOLVED:1] none · infrastructure: Notifications to ops/webhook are not delivered: webhook: permanent failure (status 400): Bad Request")
	})
}

type errStatus string

func (e errStatus) Error() string { return string(e) }

// A retryable failure counts as a failing channel from the third attempt
// on, while the retries go on.
func TestWatchdogRetryableAfterAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, err := store.Open(t.Context(), store.Config{Path: filepath.Join(t.TempDir(), "w.db")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		w := newWatchdog(st, discardLogger())
		om := store.OutboxMessage{Receiver: "ops", Channel: "slack", CreatedAt: time.Now()}
		for attempt := 1; attempt <= 3; attempt++ {
			om.Attempts = attempt
			w.failed(t.Context(), om, "slack: retryable failure (status 503)", false, time.Now())
			open, _ := st.ListIncidents(t.Context(), store.IncidentFilter{Status: store.IncidentOpen, Rule: RuleChannelFailed})
			if want := attempt >= channelFailAfter; (len(open) == 1) != want {
				t.Fatalf("attempt %d: %d incident(s)", attempt, len(open))
			}
		}
		w2 := newWatchdog(st, discardLogger()) // after a restart
		w2.delivered(t.Context(), om, time.Now())
		if open, _ := st.ListIncidents(t.Context(), store.IncidentFilter{Status: store.IncidentOpen, Rule: RuleChannelFailed}); len(open) != 0 {
			t.Fatalf("still open after a delivery: %+v", open)
		}
	})
}

// Heartbeat: with alerting.heartbeat set, Run pings the URL at once and
// every interval (loopback server, fake time); failures are counted, the
// URL's token never logged.
func TestHeartbeatPings(t *testing.T) {
	var hits, fail atomic.Int64
	var method atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		method.Store(r.Method)
		if fail.Load() > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("not loopback: %s", srv.URL)
	}
	synctest.Test(t, func(t *testing.T) {
		cfg := baseConfig + `
  heartbeat: {url: "` + srv.URL + `/ping/SECRET-CHECK-ID", interval: 1m, method: POST}
`
		r := newRig(t, cfg, nil)
		r.d.beat.client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- r.d.Run(ctx) }()
		waitFor := func(n int64) {
			t.Helper()
			for i := 0; i < 1000 && hits.Load() < n; i++ {
				time.Sleep(time.Millisecond) // let the loopback request finish (real I/O)
				synctest.Wait()
			}
		}
		waitFor(1)
		time.Sleep(150 * time.Second) // pings at 0, 1m, 2m
		waitFor(3)
		if h := hits.Load(); h != 3 || method.Load() != "POST" {
			t.Fatalf("pings = %d (%v), want 3 POSTs", h, method.Load())
		}
		fail.Store(1)
		time.Sleep(time.Minute)
		waitFor(4)
		for i := 0; i < 100 && r.d.Stats().HeartbeatFailures == 0; i++ {
			time.Sleep(time.Millisecond)
			synctest.Wait()
		}
		if s := r.d.Stats(); s.HeartbeatPings != 3 || s.HeartbeatFailures != 1 {
			t.Fatalf("stats = %+v", s)
		}
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// correlate with the store's own link (store.CorrelateIncident, as the
// correlation step records it): the child waits for its cause, then is
// promoted when the correlation step clears the link.
func TestTimelineCorrelateStoreLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, baseConfig, nil)
		cause := r.open("tenant.blocked", "rate_limit", "infrastructure", "critical", "acme", "acme")
		child := r.open("journey.stopped", "", "marketing_ops", "error", "acme", "welcome")
		if _, err := r.st.CorrelateIncident(t.Context(), child.ID, store.Correlation{CausedBy: cause.ID}); err != nil {
			t.Fatal(err)
		}
		r.after(15 * time.Second)
		r.expect("infrastructure", "[FIRING:1] acme · rate_limit · infrastructure: tenant.blocked on acme")
		r.quiet()
		r.resolve(cause)
		if _, err := r.st.CorrelateIncident(t.Context(), child.ID, store.Correlation{}); err != nil {
			t.Fatal(err)
		}
		r.after(time.Minute)
		r.expect("infrastructure", "[RESOLVED:1] acme · rate_limit · infrastructure: tenant.blocked on acme")
		r.expect("marketing_ops", "[FIRING:1] acme · marketing_ops: journey.stopped on welcome")
	})
}

func TestCollector(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, baseConfig, nil)
		r.d.watch.failures["ops/slack"] = 2
		r.d.beat.pings.Add(5)
		reg := prometheus.NewRegistry()
		reg.MustRegister(r.d.Collector())
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				name := mf.GetName()
				for _, l := range m.GetLabel() {
					name += "," + l.GetName() + "=" + l.GetValue()
				}
				got[name] = m.GetCounter().GetValue()
			}
		}
		want := map[string]float64{
			"sfmcwatch_notify_channel_failures_total,channel=slack,receiver=ops": 2,
			"sfmcwatch_heartbeat_pings_total":                                    5,
			"sfmcwatch_heartbeat_failures_total":                                 0,
		}
		if !maps.Equal(got, want) {
			t.Fatalf("metrics = %v, want %v", got, want)
		}
	})
}
