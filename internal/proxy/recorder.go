package proxy

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// EventWriter is the part of the store the recorder writes through.
type EventWriter interface {
	InsertEvents(ctx context.Context, recs []store.EventRecord) (store.InsertResult, error)
}

// RecorderOptions configure a Recorder. Zero values select the defaults.
type RecorderOptions struct {
	// Store receives the events (required).
	Store EventWriter
	// QueueSize bounds the events held in memory (default 10,000); when
	// it is full new events are dropped and counted.
	QueueSize int
	// Batch is the most events written in one transaction (default 1,000).
	Batch int
	// Linger is how long the writer waits after the first queued event
	// for more to join its batch (default 100ms): fewer, larger
	// transactions leave the CPU to the calls being proxied.
	Linger time.Duration
	// StoreTimeout bounds one write (default 5s).
	StoreTimeout time.Duration
	// RetryMin and RetryMax bound the wait between failed writes (default
	// 250ms doubling to 5s).
	RetryMin, RetryMax time.Duration
	// Stats receives the counters (default: a new Stats).
	Stats *Stats
	// Logger (default: discard).
	Logger *slog.Logger
	// OnStored is called after each successful write with the tenants of
	// the batch (the monitor's event trigger, so api.errors is evaluated
	// within seconds of the calls instead of on its poll schedule).
	OnStored func(tenants []string)
}

// Recorder is the proxy's fail-open event queue: Record never blocks; Run
// drains the queue to the store in batches, keeping a failed batch and
// retrying with backoff while new events queue behind it up to QueueSize.
// Every event carries a unique RequestID, so a batch retried after a write
// that did commit is not stored twice.
type Recorder struct {
	o      RecorderOptions
	stats  *Stats
	log    *slog.Logger
	notify chan struct{}
	prefix string
	seq    atomic.Uint64

	mu       sync.Mutex
	q        []store.EventRecord
	dropping bool  // logging state: in a run of drops
	dropRun  int64 // drops in the current run
}

// NewRecorder builds a recorder.
func NewRecorder(o RecorderOptions) (*Recorder, error) {
	if o.Store == nil {
		return nil, errors.New("proxy: recorder needs a store")
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 10000
	}
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.StoreTimeout <= 0 {
		o.StoreTimeout = 5 * time.Second
	}
	if o.Linger <= 0 {
		o.Linger = 100 * time.Millisecond
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 250 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(5*time.Second, o.RetryMin)
	}
	if o.Stats == nil {
		o.Stats = &Stats{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Recorder{o: o, stats: o.Stats, log: o.Logger, notify: make(chan struct{}, 1), prefix: randomPrefix()}, nil
}

// Stats returns the recorder's counters.
func (r *Recorder) Stats() *Stats { return r.stats }

// Record queues one event; it never blocks. A full queue drops the event
// (counted in Stats.Dropped and logged once per run of drops).
func (r *Recorder) Record(rec store.EventRecord) {
	if rec.RequestID == "" {
		rec.RequestID = r.prefix + uitoa(r.seq.Add(1))
	}
	r.mu.Lock()
	if len(r.q) >= r.o.QueueSize {
		first := !r.dropping
		r.dropping = true
		r.dropRun++
		r.mu.Unlock()
		r.stats.Dropped.Add(1)
		if first {
			r.log.Warn("proxy: event queue full (store slow or down); dropping events until it drains — calls are still forwarded",
				"queue_size", r.o.QueueSize)
		}
		return
	}
	r.q = append(r.q, rec)
	r.mu.Unlock()
	r.stats.Recorded.Add(1)
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Len is the number of queued events.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.q)
}

// Run drains the queue until ctx ends, then tries once more (bounded by
// StoreTimeout) to store what is left.
func (r *Recorder) Run(ctx context.Context) error {
	wait := r.o.RetryMin
	failing := false
	var failedSince time.Time
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.StoreTimeout)
			err := r.Flush(fctx)
			cancel()
			if n := r.Len(); n > 0 {
				r.log.Warn("proxy: events not stored at shutdown", "events", n, "error", err)
			}
			return nil
		case <-r.notify:
		}
		if r.Len() < r.o.Batch {
			t := time.NewTimer(r.o.Linger)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
		for r.Len() > 0 && ctx.Err() == nil {
			_, err := r.flushOnce(ctx)
			if err == nil {
				if failing {
					r.log.Info("proxy: store writes recovered", "failing_for", time.Since(failedSince).Round(time.Millisecond),
						"dropped_total", r.stats.Dropped.Load())
				}
				failing, wait = false, r.o.RetryMin
				continue
			}
			if ctx.Err() != nil {
				break
			}
			if !failing {
				failing, failedSince = true, time.Now()
				r.log.Warn("proxy: storing events failed; keeping them queued and retrying", "queued", r.Len(), "error", err)
			} else {
				r.log.Debug("proxy: storing events still failing", "queued", r.Len(), "error", err)
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			wait = min(2*wait, r.o.RetryMax)
		}
	}
}

// Flush writes every queued event now (tests, the demo's deterministic
// steps, shutdown); it stops at the first failed write.
func (r *Recorder) Flush(ctx context.Context) error {
	for r.Len() > 0 {
		if _, err := r.flushOnce(ctx); err != nil {
			return err
		}
	}
	return nil
}

// flushOnce writes the oldest batch.
func (r *Recorder) flushOnce(ctx context.Context) (int, error) {
	r.mu.Lock()
	n := min(len(r.q), r.o.Batch)
	batch := r.q[:n:n] // Record only appends, so these stay untouched
	r.mu.Unlock()
	if n == 0 {
		return 0, nil
	}
	wctx, cancel := context.WithTimeout(ctx, r.o.StoreTimeout)
	_, err := r.o.Store.InsertEvents(wctx, batch)
	cancel()
	if err != nil {
		r.stats.StoreErrors.Add(1)
		return 0, err
	}
	var tenants []string
	for i := range batch {
		if !slices.Contains(tenants, batch[i].Tenant) {
			tenants = append(tenants, batch[i].Tenant)
		}
	}
	r.mu.Lock()
	r.q = append(r.q[:0], r.q[n:]...)
	if r.dropping && len(r.q) < r.o.QueueSize {
		r.log.Warn("proxy: event queue accepting again", "dropped_in_run", r.dropRun)
		r.dropping, r.dropRun = false, 0
	}
	r.mu.Unlock()
	r.stats.Stored.Add(int64(n))
	if r.o.OnStored != nil {
		r.o.OnStored(tenants)
	}
	return n, nil
}
