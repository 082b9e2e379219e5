package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/time/rate"

	"github.com/sfmcwatch/sfmcwatch/internal/app"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/channels"
	"github.com/sfmcwatch/sfmcwatch/internal/proxy"
	"github.com/sfmcwatch/sfmcwatch/internal/proxy/loadgen"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// rig is a simulated tenant served on loopback, a SQLite store and the
// engine watching the tenant, on a simulated clock that moves only when
// stepped (see play).
type rig struct {
	sim        *sim.Sim
	simURL     string
	st         store.Store
	holder     *config.Holder
	eng        *monitor.Engine
	configPath string
	// extra is appended to every config the rig writes (rigOptions.Extra).
	extra   string
	closers []func()

	// The simulated integrations calling SFMC through the recording proxy
	// (nil unless rigOptions.Integrations).
	integrations []*loadgen.Integration
	recorder     *proxy.Recorder
	trigger      *monitor.Trigger
	proxyURL     string

	// Alerting (nil unless rigOptions.Alerts).
	dispatcher *notify.Dispatcher
	alerts     *alertReceiver
}

type rigOptions struct {
	Seed int64
	Size sim.Size
	// Dir holds the database and the generated config file.
	Dir string
	// Speed scales the client's own waits (backoff, Retry-After) to real
	// time; 0 means the waits are skipped almost entirely.
	Speed float64
	// Extra is appended to the generated config (e.g. an objects block
	// under the tenant, indented for it).
	Extra     string
	Logger    *slog.Logger
	OnChanges func(tenant string, t resource.Type, ch incident.Changes)
	// Integrations adds the customer's own integrations, calling the
	// tenant through the recording proxy (401s after the secret rotation,
	// 429s, 400s, sends accepted but not sent).
	Integrations bool
	// Proxy starts the recording proxy without the demo's integrations
	// (the caller adds its own to rig.integrations).
	Proxy bool
	// Alerts, when set, routes incidents through the alerting pipeline to
	// a console receiver writing to Alerts and a local signed webhook.
	Alerts io.Writer
	// Start is the simulated start (default: now, to the minute).
	Start time.Time
}

func newRig(ctx context.Context, o rigOptions) (_ *rig, err error) {
	r := &rig{}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	start := o.Start
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Minute)
	}
	frozen := time.Now()
	s, err := sim.New(sim.Options{Seed: o.Seed, Speed: 1, Size: o.Size, Start: start, Now: func() time.Time { return frozen }})
	if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	r.sim = s
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("simulator listener: %w", err)
	}
	// The simulator plus the send endpoints the integrations call.
	srv := &http.Server{Handler: loadgen.SendAPI(s, loadgen.TransactionalSendAPI(s, s.Handler())), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	r.closers = append(r.closers, func() { srv.Close() })
	r.simURL = "http://" + ln.Addr().String()

	if o.Alerts != nil {
		a, err := startAlertReceiver(s.Now)
		if err != nil {
			return nil, err
		}
		r.alerts = a
		r.closers = append(r.closers, a.close)
	}
	r.configPath = filepath.Join(o.Dir, "sfmcwatch.yaml")
	r.extra = o.Extra
	if err := r.writeConfig("", 0); err != nil {
		return nil, err
	}
	cfg, err := config.Load(r.configPath)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: cfg.Storage.Path}, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	r.st = st
	r.closers = append(r.closers, func() { st.Close() })
	r.holder = config.NewHolder(cfg, config.Loader{})
	speed := o.Speed
	ao := app.Options{Store: st, Config: r.holder, Clock: s.Now, Logger: o.Logger, OnChanges: o.OnChanges,
		Engine: func(eo *monitor.Options) {
			eo.Lease = 3 * time.Hour
			eo.TenantInterval = time.Minute
			eo.ClientOptions = func(co *sfmc.Options) {
				co.Sleep = func(ctx context.Context, d time.Duration) error {
					if speed <= 0 {
						d = 0
					} else {
						d = time.Duration(float64(d) / speed)
					}
					t := time.NewTimer(d)
					defer t.Stop()
					select {
					case <-t.C:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				co.RateLimit = rate.Limit(10000)
				co.Burst = 1000
			}
		}}
	if o.Alerts != nil {
		ao.Alerts = &channels.Options{Stdout: o.Alerts, Stderr: o.Alerts}
	}
	core, err := app.New(ao)
	if err != nil {
		return nil, err
	}
	r.dispatcher, r.trigger = core.Dispatcher, core.Trigger
	eng := core.Engine
	r.eng = eng
	r.closers = append(r.closers, eng.Close)
	if o.Integrations || o.Proxy {
		if err := r.startIntegrations(o); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// startIntegrations puts the recording proxy in front of the simulator and
// points the simulated integrations at it; their calls become events that
// the event trigger evaluates within the step.
func (r *rig) startIntegrations(o rigOptions) error {
	rec, err := proxy.NewRecorder(proxy.RecorderOptions{Store: r.st, Logger: o.Logger,
		OnStored: func(t []string) { r.trigger.EventsArrived(t...) }})
	if err != nil {
		return fmt.Errorf("proxy recorder: %w", err)
	}
	r.recorder = rec
	p, err := proxy.New(proxy.Options{Tenant: "demo-bu", Upstream: proxy.Upstream{Auth: r.simURL, REST: r.simURL, SOAP: r.simURL},
		IntegrationHeader: "X-Sfmcwatch-Integration", Sink: rec, Stats: rec.Stats(), Clock: r.sim.Now, Logger: o.Logger})
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("proxy listener: %w", err)
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	r.closers = append(r.closers, func() { srv.Close() })
	r.proxyURL = "http://" + ln.Addr().String()
	if !o.Integrations {
		return nil
	}
	creds := r.sim.Credentials()
	gs, err := loadgen.Demo(loadgen.DemoOptions{BaseURL: r.proxyURL, Credentials: creds, Start: r.sim.Now(),
		DataExtension: r.sim.ObjectKeys(creds.MIDs[0], "data_extension")[0]})
	if err != nil {
		return fmt.Errorf("integrations: %w", err)
	}
	r.integrations = gs
	return nil
}

// stepIntegrations makes the integrations' calls due at the simulated now,
// stores what the proxy recorded and evaluates it.
func (r *rig) stepIntegrations(ctx context.Context) error {
	if r.recorder == nil {
		return nil
	}
	if _, err := loadgen.StepAll(ctx, r.integrations, r.sim.Now()); err != nil {
		return fmt.Errorf("integrations: %w", err)
	}
	if err := r.recorder.Flush(ctx); err != nil {
		return fmt.Errorf("proxy recorder: %w", err)
	}
	if _, err := r.trigger.EvaluatePending(ctx); err != nil {
		return fmt.Errorf("event trigger: %w", err)
	}
	return nil
}

// writeConfig writes the rig's config file; budget > 0 sets the tenant's
// daily_api_budget.
func (r *rig) writeConfig(extra string, budget int64) error {
	c := demoConfig(r.simURL, r.sim.Credentials(), filepath.Join(filepath.Dir(r.configPath), "sfmcwatch.db"))
	if budget > 0 {
		c += fmt.Sprintf("    daily_api_budget: %d\n", budget)
	}
	c += r.extra + extra
	if r.alerts != nil {
		c += r.alerts.alertingYAML()
	}
	if err := os.WriteFile(r.configPath, []byte(c), 0o600); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

func (r *rig) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

// calls is the number of SFMC API calls the engine has spent so far.
func (r *rig) calls(ctx context.Context) int64 {
	var n int64
	if rows, err := r.st.Usage(ctx, store.UsageQuery{}); err == nil {
		for _, u := range rows {
			n += u.Calls
		}
	}
	return n
}

// demoStep is the simulated time the demo advances per step: the engine's
// due work runs after each step, so detection is resolved to 10 seconds.
const demoStep = 10 * time.Second

// play steps the simulated clock to end, running the engine's due work
// after each step, and paces the steps so that simulated time runs speed
// times faster than real time (as fast as the machine allows when the work
// of a step takes longer, or when speed is 0). after, when set, runs after
// each step and may stop the play by returning true.
func (r *rig) play(ctx context.Context, end time.Time, speed float64, after func() bool) error {
	clock := r.sim.Clock()
	simStart := clock.Now()
	realStart := time.Now()
	for ctx.Err() == nil && clock.Now().Before(end) {
		clock.Advance(demoStep)
		if err := r.stepIntegrations(ctx); err != nil {
			return err
		}
		if _, err := r.eng.RunDue(ctx); err != nil {
			return err
		}
		if r.dispatcher != nil {
			r.dispatcher.Step(ctx)
		}
		if after != nil && after() {
			return nil
		}
		if speed <= 0 {
			continue
		}
		target := realStart.Add(time.Duration(float64(clock.Now().Sub(simStart)) / speed))
		if wait := time.Until(target); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
	return ctx.Err()
}

// drainAlerts lets the alert dispatcher deliver what its group timers still
// hold (a resolution in the story's last minute waits for group_interval):
// the clock moves on for five simulated minutes with only the dispatcher
// stepping, longer than the default group_interval of one minute.
func (r *rig) drainAlerts(ctx context.Context) {
	if r.dispatcher == nil {
		return
	}
	for range 30 {
		if ctx.Err() != nil {
			return
		}
		r.sim.Clock().Advance(demoStep)
		r.dispatcher.Step(ctx)
	}
}
