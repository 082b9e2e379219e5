package httpin

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/sink"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// benchBody returns a body of n realistic JSON lines. Request ids are
// random-looking UUIDs (as integrations' X-Request-Id usually are), so the
// idempotency index takes inserts all over; key makes them unique across
// bodies. Timestamps run forward at 20 µs per event from the body's first
// (seq is the index of that first event in the run), as live traffic
// does; with scattered they fall anywhere in one day instead, as when a
// day of old log files is replayed in parallel, which makes the time
// indexes take inserts all over too (the worst case).
func benchBody(key string, seq, n int, scattered bool) []byte {
	var b bytes.Buffer
	bodies := []string{
		`{"errorcode":0,"message":"Not Authorized"}`,
		`{"message":"Request limit exceeded","errorcode":50100}`,
		`{"requestId":"f3c1","responses":[{"messageKey":"m1","errorcode":109001}]}`,
		`{"count":1,"items":[]}`,
	}
	statuses := []int{401, 429, 202, 200}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	h := fnv.New128a()
	for i := range n {
		k := i % 4
		h.Reset()
		fmt.Fprintf(h, "%s/%d", key, i)
		id := h.Sum(nil)
		ts := t0.Add(time.Duration(seq+i) * 20 * time.Microsecond)
		if scattered {
			ts = t0.Add(time.Duration(binary.BigEndian.Uint64(id[8:]) % uint64(24*time.Hour/time.Millisecond) * uint64(time.Millisecond)))
		}
		fmt.Fprintf(&b, `{"ts":"%s","integration":"crm-sync","method":"POST","url":"https://mc.rest.marketingcloudapis.com/hub/v1/dataevents/key:Orders%d/rowset","status":%d,"duration_ms":%d,"request_id":"%x-%x-%x-%x-%x","body":%s}`+"\n",
			ts.Format(time.RFC3339Nano), i%7, statuses[k], 40+i%100, id[0:4], id[4:6], id[6:8], id[8:10], id[10:16], bodies[k])
	}
	return b.Bytes()
}

type benchEnv struct {
	srv    *httptest.Server
	st     store.Store
	client *http.Client
}

func newBenchEnv(b *testing.B) *benchEnv {
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(b.TempDir(), "bench.sqlite")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	w := sink.NewWriter(st, sink.WriterOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	srcs := SourcesFromConfig(config.Ingest{Sources: []config.IngestSource{{Name: "crm", Type: "http", Token: token, Format: "auto"}}})
	h := New(Options{Writer: w, Sources: func() []Source { return srcs }, MaxBody: 16 << 20, MaxInFlightBytes: benchInFlight})
	mux := http.NewServeMux()
	mux.Handle("POST "+Path, h)
	srv := httptest.NewServer(mux)
	b.Cleanup(func() { srv.Close(); cancel(); <-done; st.Close() })
	// Keep connections for every concurrent sender (the default keeps 2
	// idle per host, and reconnecting would dominate the figures).
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	client := &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)
	return &benchEnv{srv: srv, st: st, client: client}
}

func (e *benchEnv) send(body []byte) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+Path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// BenchmarkIngestSustained pushes 1,000-line bodies from 8 concurrent
// clients over loopback into SQLite (parse, classify, mask, group commit,
// acknowledge) and reports events/s: live traffic (timestamps running
// forward) and, as the worst case, a replay of a day of old logs
// (timestamps scattered). Run it long enough to be sustained, e.g.
// -benchtime 3000x (3 million events).
func BenchmarkIngestSustained(b *testing.B) {
	for _, scattered := range []bool{false, true} {
		name := "live"
		if scattered {
			name = "scattered-ts"
		}
		b.Run(name, func(b *testing.B) { benchSustained(b, scattered) })
	}
}

func benchSustained(b *testing.B, scattered bool) {
	e := newBenchEnv(b)
	const perReq = 1000
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = benchBody(fmt.Sprintf("s%d", i), i*perReq, perReq, scattered)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if code, err := e.send(bodies[i]); err != nil || code != 200 {
					b.Errorf("request %d: %d %v", i, code, err)
					return
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	// Every acknowledged event must be stored (none skipped silently).
	rows, err := e.st.AggregateEvents(context.Background(), store.AggregateQuery{From: time.Unix(0, 0), To: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		By: []store.Dimension{store.DimFamily}})
	if err != nil {
		b.Fatal(err)
	}
	var stored int64
	for _, r := range rows {
		stored += r.Events
	}
	if stored != int64(b.N*perReq) {
		b.Fatalf("stored %d events, want %d", stored, b.N*perReq)
	}
	b.ReportMetric(float64(b.N*perReq)/el.Seconds(), "events/s")
	// Clients and server share this process: events per CPU-second of
	// the whole process is the figure other load on a shared machine does
	// not move (the 2-core machine gives 2 CPU-seconds per second).
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N*perReq)/cpu.Seconds(), "events/cpu-s")
	}
}

// BenchmarkIngestAckLatency10k drives an open-loop load of 10,000 events/s
// (100 requests/s of 100 lines, each sent at its scheduled time whatever
// the earlier ones are doing) for 5 s per iteration and reports the
// acknowledgement latency percentiles, measured from the scheduled send
// time (no coordinated omission).
func BenchmarkIngestAckLatency10k(b *testing.B) {
	e := newBenchEnv(b)
	const (
		rate    = 100 // requests/s
		perReq  = 100
		seconds = 5
	)
	var lat []time.Duration
	var mu sync.Mutex
	for it := range b.N {
		n := rate * seconds
		bodies := make([][]byte, n)
		for i := range bodies {
			bodies[i] = benchBody(fmt.Sprintf("l%d-%d", it, i), (it*n+i)*perReq, perReq, false)
		}
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			at := start.Add(time.Duration(i) * time.Second / rate)
			time.Sleep(time.Until(at))
			wg.Go(func() {
				code, err := e.send(bodies[i])
				d := time.Since(at)
				if err != nil || code != 200 {
					b.Errorf("request %d: %d %v", i, code, err)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
}
