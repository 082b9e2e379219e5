package proxy_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/proxy"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// flakyStore fails, blocks or stores, as the test says.
type flakyStore struct {
	mu     sync.Mutex
	mode   string // "ok", "fail", "block"
	stored map[string]int
	writes int
}

func (f *flakyStore) set(m string) { f.mu.Lock(); f.mode = m; f.mu.Unlock() }

func (f *flakyStore) InsertEvents(ctx context.Context, recs []store.EventRecord) (store.InsertResult, error) {
	f.mu.Lock()
	mode := f.mode
	f.writes++
	f.mu.Unlock()
	switch mode {
	case "fail":
		return store.InsertResult{}, errors.New("database is closed")
	case "block":
		<-ctx.Done()
		return store.InsertResult{}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stored == nil {
		f.stored = map[string]int{}
	}
	for _, r := range recs {
		f.stored[r.RequestID]++
	}
	return store.InsertResult{Inserted: len(recs)}, nil
}

func (f *flakyStore) count() (n int, dups int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.stored {
		n++
		dups += c - 1
	}
	return n, dups
}

func ev(i int) store.EventRecord {
	return store.EventRecord{Event: event.Event{TS: time.Date(2026, 11, 2, 6, 0, i, 0, time.UTC), Tenant: "acme", Source: proxy.Source, Endpoint: "/x"}, Family: "none", Count: 1}
}

// TestRecorderFailOpen: with the store blocking or failing, Record never
// blocks, keeps QueueSize events, drops and counts the rest, and stores
// the kept ones once when the store is back.
func TestRecorderFailOpen(t *testing.T) {
	for _, mode := range []string{"block", "fail"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := &flakyStore{mode: mode}
				var stored []string
				var mu sync.Mutex
				rec, err := proxy.NewRecorder(proxy.RecorderOptions{Store: st, QueueSize: 100, Batch: 30, StoreTimeout: time.Second,
					OnStored: func(tn []string) { mu.Lock(); stored = append(stored, tn...); mu.Unlock() }})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() { _ = rec.Run(ctx); close(done) }()
				start := time.Now()
				for i := range 250 {
					rec.Record(ev(i))
				}
				if time.Since(start) != 0 {
					t.Fatalf("Record waited %s (fake clock): it must never block", time.Since(start))
				}
				time.Sleep(30 * time.Second) // the writer retries with backoff meanwhile
				synctest.Wait()
				s := rec.Stats()
				if s.Dropped.Load() != 150 || s.Recorded.Load() != 100 || rec.Len() != 100 || s.StoreErrors.Load() == 0 {
					t.Fatalf("dropped=%d recorded=%d queued=%d store_errors=%d", s.Dropped.Load(), s.Recorded.Load(), rec.Len(), s.StoreErrors.Load())
				}
				st.set("ok")
				time.Sleep(10 * time.Second) // next retry (backoff ≤ 5s)
				synctest.Wait()
				n, dups := st.count()
				if n != 100 || dups != 0 || rec.Len() != 0 || s.Stored.Load() != 100 {
					t.Fatalf("stored %d (dups %d), queued %d, stats stored %d", n, dups, rec.Len(), s.Stored.Load())
				}
				mu.Lock()
				if len(stored) == 0 || stored[0] != "acme" {
					t.Fatalf("OnStored tenants %v", stored)
				}
				mu.Unlock()
				// Metrics expose the same numbers.
				reg := prometheus.NewPedanticRegistry()
				reg.MustRegister(proxy.Collector(s, rec.Len))
				mfs, err := reg.Gather()
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]float64{}
				for _, mf := range mfs {
					m := mf.GetMetric()[0]
					if m.GetCounter() != nil {
						got[mf.GetName()] = m.GetCounter().GetValue()
					} else {
						got[mf.GetName()] = m.GetGauge().GetValue()
					}
				}
				want := map[string]float64{"sfmcwatch_proxy_events_dropped_total": 150, "sfmcwatch_proxy_events_stored_total": 100,
					"sfmcwatch_proxy_events_recorded_total": 100, "sfmcwatch_proxy_queue_events": 0}
				for k, v := range want {
					if got[k] != v {
						t.Fatalf("metric %s = %v, want %v (all: %v)", k, got[k], v, got)
					}
				}
				cancel()
				<-done
			})
		})
	}
}

// TestProxyFailOpenStoppedStore: the proxy in front of an upstream keeps
// answering every call while its SQLite store is stopped (closed); events
// are queued up to the cap and the rest counted as dropped.
func TestProxyFailOpenStoppedStore(t *testing.T) {
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "p.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close() // the store is down
	rec, err := proxy.NewRecorder(proxy.RecorderOptions{Store: st, QueueSize: 100, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rec.Run(ctx)
	r := newRig(t, proxy.Options{Sink: rec, Stats: rec.Stats()}, false)
	for i := range 300 {
		resp, body := r.do(t, r.proxySrv.URL, "GET", "/automation/v1/automations", nil, nil)
		if resp.StatusCode != http.StatusOK || string(body) != `{"ok":true}` {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	s := rec.Stats()
	// Wait for every call to be accounted for and the writer to have tried
	// (and failed) to store at least once.
	for (s.Recorded.Load()+s.Dropped.Load() < 300 || s.StoreErrors.Load() == 0) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if s.Requests.Load() != 300 || s.Recorded.Load() != 100 || s.Dropped.Load() != 200 || s.Stored.Load() != 0 || s.StoreErrors.Load() == 0 {
		t.Fatalf("requests=%d recorded=%d dropped=%d stored=%d store_errors=%d", s.Requests.Load(), s.Recorded.Load(), s.Dropped.Load(), s.Stored.Load(), s.StoreErrors.Load())
	}
}

// TestRecorderStoresInSQLite: events reach a real store once, with their
// unique request ids (a retried batch is not double-counted).
func TestRecorderStoresInSQLite(t *testing.T) {
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "p.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec, _ := proxy.NewRecorder(proxy.RecorderOptions{Store: st})
	for i := range 10 {
		rec.Record(ev(i))
	}
	if err := rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := st.QueryEvents(context.Background(), store.EventQuery{Source: proxy.Source})
	if err != nil || len(got) != 10 {
		t.Fatalf("%d events, %v", len(got), err)
	}
	// The same batch again (a retry after a commit whose answer was lost).
	res, err := st.InsertEvents(context.Background(), got)
	if err != nil || res.Inserted != 0 || res.Duplicates != 10 {
		t.Fatalf("retry: %+v %v", res, err)
	}
}
