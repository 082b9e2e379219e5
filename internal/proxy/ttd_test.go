package proxy_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/proxy"
	"github.com/sfmcwatch/sfmcwatch/internal/proxy/loadgen"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// ttdRig is the whole path in real time: a simulated integration calling
// the simulator through the proxy, the recorder writing to SQLite, and the
// engine (with its event trigger) opening incidents.
type ttdRig struct {
	sim    *sim.Sim
	mid    int64
	proxy  string
	mu     sync.Mutex
	opened map[string]time.Time // integration → wall time its api.errors incident opened
	cancel context.CancelFunc
}

func newTTDRig(tb testing.TB) *ttdRig {
	tb.Helper()
	s, err := sim.New(sim.Options{Seed: 5, Size: sim.Size{Automations: 2, Journeys: 1, DataExtensions: 2, TriggeredSends: 1, Transactional: 1, Imports: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	simSrv := httptest.NewServer(s.Handler())
	tb.Cleanup(simSrv.Close)
	creds := s.Credentials()
	r := &ttdRig{sim: s, mid: creds.MIDs[0], opened: map[string]time.Time{}}
	yaml := "tenants:\n  - name: sim\n    auth_url: " + simSrv.URL + "\n    rest_url: " + simSrv.URL + "\n    soap_url: " + simSrv.URL +
		"\n    client_id: " + creds.ClientID + "\n    client_secret: " + creds.ClientSecret + "\n    account_id: \"" + strconv.FormatInt(r.mid, 10) + "\"\n"
	cfg, err := config.Parse("ttd.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: filepath.Join(tb.TempDir(), "ttd.db")}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	eng, err := monitor.New(monitor.Options{Store: st, Config: config.NewHolder(cfg, config.Loader{}), Clock: s.Now,
		Collectors: []collect.Collector{collect.TenantCollector{}},
		OnChanges: func(_ string, _ resource.Type, ch incident.Changes) {
			now := time.Now()
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, in := range ch.Opened {
				if in.Rule != "api.errors" {
					continue
				}
				// Discriminator: integration|family|surface:code.
				parts := strings.Split(in.Fingerprint, "|")
				if len(parts) >= 5 {
					if _, ok := r.opened[parts[4]]; !ok {
						r.opened[parts[4]] = now
					}
				}
			}
		}})
	if err != nil {
		tb.Fatal(err)
	}
	trig := eng.NewTrigger(monitor.TriggerOptions{})
	rec, err := proxy.NewRecorder(proxy.RecorderOptions{Store: st, OnStored: func(t []string) { trig.EventsArrived(t...) }})
	if err != nil {
		tb.Fatal(err)
	}
	p, err := proxy.New(proxy.Options{Tenant: "sim", Upstream: proxy.Upstream{Auth: simSrv.URL, REST: simSrv.URL, SOAP: simSrv.URL},
		IntegrationHeader: "X-Sfmcwatch-Integration", Sink: rec, Stats: rec.Stats(), Clock: s.Now})
	if err != nil {
		tb.Fatal(err)
	}
	ps := httptest.NewServer(p)
	tb.Cleanup(ps.Close)
	r.proxy = ps.URL
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); _ = eng.Run(ctx) }()
	go func() { defer wg.Done(); _ = trig.Run(ctx) }()
	go func() { defer wg.Done(); _ = rec.Run(ctx) }()
	tb.Cleanup(func() { cancel(); wg.Wait() })
	return r
}

// trial rotates the secret under a fresh integration calling every `every`
// (a token request per run, so every call is a 401 invalid_client) and
// returns the time from its first 401 to its incident opening.
func (r *ttdRig) trial(tb testing.TB, name string, every, limit time.Duration) time.Duration {
	tb.Helper()
	creds := r.sim.Credentials()
	g, err := loadgen.New(loadgen.Options{Name: name, BaseURL: r.proxy, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret,
		AccountID: strconv.FormatInt(r.mid, 10), FreshToken: true, Start: time.Now(),
		Calls: []loadgen.Call{{Every: every, Method: "GET", Path: "/automation/v1/automations"}}})
	if err != nil {
		tb.Fatal(err)
	}
	id := r.sim.Inject(sim.Fault{Kind: sim.FaultCredentialsRotated, MID: r.mid})
	defer r.sim.Clear(id)
	ctx := context.Background()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, err := g.Step(ctx, time.Now()); err != nil {
			tb.Fatal(err)
		}
		r.mu.Lock()
		at, ok := r.opened[name]
		r.mu.Unlock()
		if ok {
			first, ok := g.FirstStatus(401)
			if !ok {
				tb.Fatalf("%s: incident opened without a 401", name)
			}
			return at.Sub(first)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("%s: no api.errors incident within %s of the 401 storm (totals %+v)", name, limit, g.Totals())
	return 0
}

// BenchmarkTimeToDetection drives real calls through the proxy against the
// simulator: per iteration, a new integration's secret is rotated and its
// every call (2 a second) answers 401; the time from its first 401 to the
// api.errors incident is measured (engine on SQLite, event trigger on).
//
//	go test -run '^$' -bench TimeToDetection -benchtime 20x ./internal/proxy
func BenchmarkTimeToDetection(b *testing.B) {
	r := newTTDRig(b)
	var ttds []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ttds = append(ttds, r.trial(b, fmt.Sprintf("crm-%d", i), 500*time.Millisecond, 2*time.Minute))
	}
	b.StopTimer()
	slices.Sort(ttds)
	q := func(p float64) float64 { return ttds[min(len(ttds)-1, int(p*float64(len(ttds))))].Seconds() }
	b.ReportMetric(q(0.5), "ttd-p50-s")
	b.ReportMetric(q(0.95), "ttd-p95-s")
	b.ReportMetric(ttds[len(ttds)-1].Seconds(), "ttd-max-s")
}

// TestDetectionThroughProxy is the benchmark's path in the normal test
// run (no timing asserted: BenchmarkTimeToDetection measures it): a 401
// storm through the proxy opens an api.errors incident naming the
// integration, without waiting for the engine's poll schedule.
func TestDetectionThroughProxy(t *testing.T) {
	r := newTTDRig(t)
	d := r.trial(t, "crm-test", 200*time.Millisecond, time.Minute)
	t.Logf("detected %s after the first 401", d)
}
