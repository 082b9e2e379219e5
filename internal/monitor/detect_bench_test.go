package monitor_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/sink"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// benchEnvInt reads a positive integer knob of a benchmark from the
// environment.
func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkDetectionUnderIngest measures whether detection stays live
// under sustained ingest on SQLite: an open-loop load of
// SFMCWATCH_BENCH_RATE events/s (default 50,000) for SFMCWATCH_BENCH_SECONDS
// (default 10; the README's figures use 30 and 60) goes through the ingest sink's group-commit writer into the
// store (the path HTTP ingest and the file tail use, without the HTTP
// parsing), whose commits wake the monitor's event trigger as in serve;
// the trigger runs api.errors with its production debounce and pacing.
// The traffic: 20 integrations × 10 endpoints, 2% of calls failing with
// rate-limit errors, one endpoint failing throughout. Every 2 s a new
// integration's calls start failing with 401 (6 in a row); the latency of
// each is the time from the commit of its failures to the api.errors
// incident being opened (opened_at, taken when the pass starts: p50-s,
// p95-s) and to the incident being readable by another connection
// (visible-p50-s, visible-p95-s: the pass and its incident writes
// included). Reported: events/s achieved, both latencies, the pass and
// incident-write durations, probes never detected. Run it once per
// measurement:
//
//	SFMCWATCH_BENCH_SECONDS=60 go test -run '^$' -bench DetectionUnderIngest -benchtime 1x ./internal/monitor/
func BenchmarkDetectionUnderIngest(b *testing.B) {
	rate := benchEnvInt("SFMCWATCH_BENCH_RATE", 50_000)
	seconds := benchEnvInt("SFMCWATCH_BENCH_SECONDS", 10)
	for range b.N {
		benchDetection(b, rate, time.Duration(seconds)*time.Second)
	}
}

// timedRule records how long each evaluation of a rule takes.
type timedRule struct {
	detect.Rule
	mu    sync.Mutex
	costs []time.Duration
}

func (r *timedRule) Evaluate(ctx context.Context, in *detect.Input) ([]detect.Finding, error) {
	began := time.Now()
	fs, err := r.Rule.Evaluate(ctx, in)
	r.mu.Lock()
	r.costs = append(r.costs, time.Since(began))
	r.mu.Unlock()
	return fs, err
}

// countingStore counts what the api.errors passes read from the running
// aggregates.
type countingStore struct {
	store.Store
	rows, marks, queries atomic.Int64

	mu      sync.Mutex
	applies []time.Duration // incident writes of each evaluation
	items   int             // upserts and clear marks written
}

func (c *countingStore) ApplyIncidents(ctx context.Context, b store.IncidentBatch) (store.IncidentBatchResult, error) {
	began := time.Now()
	res, err := c.Store.ApplyIncidents(ctx, b)
	c.mu.Lock()
	c.applies = append(c.applies, time.Since(began))
	c.items += len(b.Upserts) + len(b.Clears)
	c.mu.Unlock()
	return res, err
}

func (c *countingStore) EventBuckets(ctx context.Context, q store.BucketQuery) ([]store.BucketRow, error) {
	rs, err := c.Store.(store.BucketReader).EventBuckets(ctx, q)
	c.rows.Add(int64(len(rs)))
	c.queries.Add(1)
	return rs, err
}

func (c *countingStore) EventMarks(ctx context.Context, q store.MarkQuery) ([]store.EventMark, error) {
	ms, err := c.Store.(store.BucketReader).EventMarks(ctx, q)
	c.marks.Add(int64(len(ms)))
	c.queries.Add(1)
	return ms, err
}

func quantile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return -1
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))].Seconds()
}

func benchDetection(b *testing.B, rate int, dur time.Duration) {
	e := newEnv(b)
	raw, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: filepath.Join(b.TempDir(), "bench.db")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	st := &countingStore{Store: raw}
	tenant := e.Tenant.Name
	apiErrors := &timedRule{Rule: detect.APIErrors{}}
	eng, err := monitor.New(monitor.Options{Store: st, Config: e.holder, Owner: "bench", Workers: 1,
		Rules: []detect.Rule{detect.TenantBlind{}, detect.TenantBlocked{}, apiErrors, detect.APIErrorsIntegration{}}})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	trig := eng.NewTrigger(monitor.TriggerOptions{})
	w := sink.NewWriter(st, sink.WriterOptions{MaxQueued: 4 * rate, OnCommit: func(ts []string) { trig.EventsArrived(ts...) }})
	ctx, cancel := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Go(func() { w.Run(ctx) })
	bg.Go(func() { _ = trig.Run(ctx) })
	defer func() { cancel(); bg.Wait() }()

	const perBatch = 1000
	integrations := make([]string, 20)
	for i := range integrations {
		integrations[i] = fmt.Sprintf("app-%02d", i)
	}
	mkBatch := func(seq int, now time.Time) []store.EventRecord {
		recs := make([]store.EventRecord, perBatch)
		for i := range recs {
			n := seq*perBatch + i
			integ, ep := integrations[n%20], fmt.Sprintf("/data/v1/async/dataextensions/key:DE%d/rows", (n/20)%10)
			r := store.EventRecord{Event: event.Event{TS: now.Add(time.Duration(i-perBatch) * time.Microsecond), Tenant: tenant,
				Integration: integ, Source: "ingest", Method: "POST", Endpoint: ep, Status: 202, Duration: 40 * time.Millisecond},
				Family: "none", Count: 1}
			switch {
			case integ == "app-07" && strings.HasSuffix(ep, "DE3/rows"):
				r.Status, r.IsError, r.Family, r.Surface, r.Code, r.Severity = 500, true, "server", "rest", "500", "error"
			case n%50 == 0:
				r.Status, r.IsError, r.Family, r.Surface, r.Code, r.Severity = 429, true, "rate_limit", "rest", "50100", "warning"
			}
			recs[i] = r
		}
		return recs
	}

	type probe struct {
		name      string
		committed time.Time
	}
	var (
		mu        sync.Mutex
		probes    []*probe
		latencies []time.Duration
		visible   []time.Duration
		submitted atomic.Int64
		refused   atomic.Int64
	)
	// The detector side: watch the incidents for each probe.
	found := map[string]bool{}
	bg.Go(func() {
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
			}
			list, err := st.ListIncidents(ctx, store.IncidentFilter{Tenant: tenant, Rule: "api.errors"})
			if err != nil {
				continue
			}
			mu.Lock()
			for _, p := range probes {
				if found[p.name] || p.committed.IsZero() {
					continue
				}
				for _, in := range list {
					if strings.Contains(in.Fingerprint, "|"+p.name+"|") {
						found[p.name] = true
						latencies = append(latencies, in.OpenedAt.Sub(p.committed))
						visible = append(visible, time.Since(p.committed))
						break
					}
				}
			}
			mu.Unlock()
		}
	})

	// The load: one batch every perBatch/rate, sent at its scheduled time
	// whatever the earlier ones are doing (open loop).
	interval := time.Second * perBatch / time.Duration(rate)
	start, cpu0 := time.Now(), processCPU()
	var sends sync.WaitGroup
	nextProbe := start.Add(2 * time.Second)
	for seq := 0; ; seq++ {
		at := start.Add(time.Duration(seq) * interval)
		if at.Sub(start) >= dur {
			break
		}
		time.Sleep(time.Until(at))
		recs := mkBatch(seq, time.Now())
		var p *probe
		if !time.Now().Before(nextProbe) {
			nextProbe = nextProbe.Add(2 * time.Second)
			p = &probe{name: fmt.Sprintf("probe-%d", seq)}
			now := time.Now()
			for i := range 6 {
				recs = append(recs, store.EventRecord{Event: event.Event{TS: now.Add(time.Duration(i-6) * time.Millisecond), Tenant: tenant,
					Integration: p.name, Source: "ingest", Method: "POST", Endpoint: "/messaging/v1/email/messages/", Status: 401},
					Family: "auth", Surface: "rest", Code: "0", IsError: true, Severity: "error", Count: 1})
			}
		}
		pend, err := w.Submit(recs)
		if err != nil {
			if errors.Is(err, sink.ErrQueueFull) {
				// A refused probe never reached the store: it counts in
				// refused-events, not as a missed detection.
				refused.Add(int64(len(recs)))
				continue
			}
			b.Fatal(err)
		}
		if p != nil {
			mu.Lock()
			probes = append(probes, p)
			mu.Unlock()
		}
		sends.Go(func() {
			<-pend.Done()
			res, err := pend.Result()
			if err != nil {
				b.Errorf("commit: %v", err)
				return
			}
			submitted.Add(int64(res.Inserted))
			if p != nil {
				mu.Lock()
				p.committed = time.Now()
				mu.Unlock()
			}
		})
	}
	sends.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	// Give the last probes their chance (10 s), then stop.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		done := len(latencies) == len(probes)
		mu.Unlock()
		if done {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	lat, vis := slices.Clone(latencies), slices.Clone(visible)
	missed := len(probes) - len(latencies)
	mu.Unlock()
	b.ReportMetric(float64(submitted.Load())/elapsed.Seconds(), "events/s")
	// This process's CPU time (generator, writer, trigger, poller): on a
	// shared machine the events per CPU-second are what other load does
	// not move.
	if cpu > 0 {
		b.ReportMetric(float64(submitted.Load())/cpu.Seconds(), "events/cpu-s")
		b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cpus-used")
	}
	b.ReportMetric(quantile(lat, 0.50), "p50-s")
	b.ReportMetric(quantile(lat, 0.95), "p95-s")
	b.ReportMetric(quantile(lat, 1), "max-s")
	// Commit → the incident readable by another connection (this poller,
	// every 20 ms): opened_at is taken when the pass starts, so this adds
	// the pass and its incident writes.
	b.ReportMetric(quantile(vis, 0.50), "visible-p50-s")
	b.ReportMetric(quantile(vis, 0.95), "visible-p95-s")
	st.mu.Lock()
	b.ReportMetric(quantile(st.applies, 0.95), "incident-write-p95-s")
	applies, items := len(st.applies), st.items
	st.mu.Unlock()
	apiErrors.mu.Lock()
	b.ReportMetric(quantile(apiErrors.costs, 0.50), "pass-p50-s")
	b.ReportMetric(quantile(apiErrors.costs, 0.95), "pass-p95-s")
	passes := len(apiErrors.costs)
	apiErrors.mu.Unlock()
	b.ReportMetric(float64(missed), "missed-probes")
	b.ReportMetric(float64(refused.Load()), "refused-events")
	b.Logf("target %d events/s for %s: stored %d events in %s; %d probes, %d detected, %d missed; %d events refused (queue full); %d api.errors passes read %d aggregate rows and %d single events in %d queries",
		rate, dur, submitted.Load(), elapsed.Round(time.Millisecond), len(probes), len(lat), missed, refused.Load(), passes,
		st.rows.Load(), st.marks.Load(), st.queries.Load())
	apiErrors.mu.Lock()
	b.Logf("latencies (commit → incident opened): %v; commit → incident visible: %v; api.errors pass durations: %v", lat, vis, apiErrors.costs)
	st.mu.Lock()
	b.Logf("%d incident write transactions (%d upserts and clear marks): %v", applies, items, st.applies)
	st.mu.Unlock()
	apiErrors.mu.Unlock()
}

// processCPU is the user+system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
