package proxy_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/proxy"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// BenchmarkProxyLatency measures the latency the proxy adds: b.N calls
// direct and b.N through the proxy (recording to SQLite), interleaved in
// the same run at 1,000 calls/s each, open loop (a call starts every
// millisecond whether or not earlier ones finished), on loopback against a
// local upstream answering a typical SFMC REST body.
//
//	go test -run '^$' -bench ProxyLatency -benchtime 10000x ./internal/proxy
func BenchmarkProxyLatency(b *testing.B) {
	body := []byte(`{"count":2,"page":1,"pageSize":50,"items":[{"keys":{"subscriberkey":"a1"},"values":{"email":"x@example.com","status":"Active"}},{"keys":{"subscriberkey":"a2"},"values":{"email":"y@example.com","status":"Active"}}]}`)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer up.Close()
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: filepath.Join(b.TempDir(), "bench.db")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	rec, _ := proxy.NewRecorder(proxy.RecorderOptions{Store: st, QueueSize: 100000})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rec.Run(ctx)
	p, err := proxy.New(proxy.Options{Tenant: "bench", Upstream: proxy.Upstream{Auth: up.URL, REST: up.URL, SOAP: up.URL}, Sink: rec, Stats: rec.Stats()})
	if err != nil {
		b.Fatal(err)
	}
	ps := httptest.NewServer(p)
	defer ps.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true}}
	call := func(base string) time.Duration {
		t0 := time.Now()
		resp, err := client.Get(base + "/data/v1/customobjectdata/key/DE_Orders/rowset?$page=1")
		if err != nil {
			b.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(t0)
	}
	// Warm up connections on both paths.
	for range 50 {
		call(up.URL)
		call(ps.URL)
	}
	var mu sync.Mutex
	var direct, proxied []time.Duration
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		<-tick.C
		wg.Add(2)
		go func() { defer wg.Done(); d := call(up.URL); mu.Lock(); direct = append(direct, d); mu.Unlock() }()
		go func() { defer wg.Done(); d := call(ps.URL); mu.Lock(); proxied = append(proxied, d); mu.Unlock() }()
	}
	wg.Wait()
	b.StopTimer()
	pct := func(xs []time.Duration, q float64) float64 {
		slices.Sort(xs)
		return float64(xs[min(len(xs)-1, int(q*float64(len(xs))))].Microseconds())
	}
	d50, d99, p50, p99 := pct(direct, 0.50), pct(direct, 0.99), pct(proxied, 0.50), pct(proxied, 0.99)
	b.ReportMetric(d50, "direct-p50-µs")
	b.ReportMetric(d99, "direct-p99-µs")
	b.ReportMetric(p50, "proxy-p50-µs")
	b.ReportMetric(p99, "proxy-p99-µs")
	b.ReportMetric(p99-d99, "added-p99-µs")
	b.ReportMetric(float64(rec.Stats().Dropped.Load()), "dropped")
	if err := rec.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
}
