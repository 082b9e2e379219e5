package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Errors of Submit.
var (
	// ErrQueueFull: the queue holds MaxQueued events; retry later (HTTP 429).
	ErrQueueFull = errors.New("ingest queue full")
	// ErrClosed: the writer is shutting down (HTTP 503).
	ErrClosed = errors.New("ingest writer stopped")
)

// Inserter is the store method the Writer needs.
type Inserter interface {
	InsertEventGroups(ctx context.Context, groups [][]store.EventRecord) ([]store.InsertResult, error)
}

// Defaults of WriterOptions.
const (
	DefaultMaxQueued     = 200_000
	DefaultMaxCommit     = 20_000
	DefaultCommitTimeout = 30 * time.Second
)

// WriterOptions tune a Writer; zero values select the defaults.
type WriterOptions struct {
	// MaxQueued bounds the events waiting or being committed; Submit
	// refuses more with ErrQueueFull (a single batch larger than this is
	// still taken when the queue is empty).
	MaxQueued int
	// MaxCommit is the most events one transaction takes (at least one
	// whole submission).
	MaxCommit int
	// CommitTimeout bounds one transaction.
	CommitTimeout time.Duration
	// Logger (default: discard).
	Logger *slog.Logger
	// OnCommit, when set, is called after each successful commit with the
	// distinct tenants of its events (e.g. to wake detection at once).
	OnCommit func(tenants []string)
}

// Pending is one submission waiting for its commit.
type Pending struct {
	recs []store.EventRecord
	done chan struct{}
	res  store.InsertResult
	err  error
}

// Done is closed once the submission is committed or failed.
func (p *Pending) Done() <-chan struct{} { return p.done }

// Result returns the outcome; call it after Done is closed.
func (p *Pending) Result() (store.InsertResult, error) { return p.res, p.err }

// Wait blocks until the submission is committed (its records are durable)
// or failed, or ctx ends (the submission still commits later).
func (p *Pending) Wait(ctx context.Context) (store.InsertResult, error) {
	select {
	case <-p.done:
		return p.res, p.err
	case <-ctx.Done():
		return store.InsertResult{}, context.Cause(ctx)
	}
}

// Writer commits submissions in groups: one goroutine (Run) takes every
// submission queued since its last commit, up to MaxCommit events, and
// stores them in one transaction, so many small requests cost one commit
// (one WAL append on SQLite) instead of one each. Each submission learns
// its own inserted/duplicate counts. Safe for concurrent use.
type Writer struct {
	st  Inserter
	opt WriterOptions
	log *slog.Logger

	mu     sync.Mutex
	queue  []*Pending
	queued int // events in queue or in the running commit
	closed bool
	wake   chan struct{}

	commits, committed, failed, refused atomic.Int64
	commitSeconds                       prometheus.Histogram
}

// NewWriter returns a Writer; start it with Run.
func NewWriter(st Inserter, o WriterOptions) *Writer {
	if o.MaxQueued <= 0 {
		o.MaxQueued = DefaultMaxQueued
	}
	if o.MaxCommit <= 0 {
		o.MaxCommit = DefaultMaxCommit
	}
	if o.CommitTimeout <= 0 {
		o.CommitTimeout = DefaultCommitTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Writer{st: st, opt: o, log: o.Logger, wake: make(chan struct{}, 1),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sfmcwatch_ingest_commit_seconds",
			Help:    "Duration of one group-commit transaction of pushed events.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		})}
}

// Submit queues recs for the next commit. It never blocks: when the queue
// is full it returns ErrQueueFull, after Run has stopped ErrClosed.
func (w *Writer) Submit(recs []store.EventRecord) (*Pending, error) {
	p := &Pending{recs: recs, done: make(chan struct{})}
	w.mu.Lock()
	switch {
	case w.closed:
		w.mu.Unlock()
		return nil, ErrClosed
	case w.queued > 0 && w.queued+len(recs) > w.opt.MaxQueued:
		w.mu.Unlock()
		w.refused.Add(1)
		return nil, ErrQueueFull
	}
	w.queue = append(w.queue, p)
	w.queued += len(recs)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return p, nil
}

// Depth returns the events queued or being committed.
func (w *Writer) Depth() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queued
}

// Capacity returns MaxQueued.
func (w *Writer) Capacity() int { return w.opt.MaxQueued }

// Run commits until ctx ends, then refuses new submissions, commits what
// is queued and returns.
func (w *Writer) Run(ctx context.Context) error {
	for {
		select {
		case <-w.wake:
			w.drain(ctx, false)
		case <-ctx.Done():
			w.mu.Lock()
			w.closed = true
			w.mu.Unlock()
			w.drain(ctx, true)
			return nil
		}
	}
}

// drain commits queued submissions; once stopping, until none is left.
func (w *Writer) drain(ctx context.Context, stopping bool) {
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.mu.Unlock()
			return
		}
		n, k := 0, 0
		for k < len(w.queue) && (k == 0 || n+len(w.queue[k].recs) <= w.opt.MaxCommit) {
			n += len(w.queue[k].recs)
			k++
		}
		batch := make([]*Pending, k)
		copy(batch, w.queue)
		w.queue = append(w.queue[:0], w.queue[k:]...)
		w.mu.Unlock()

		w.commit(ctx, batch, n)

		w.mu.Lock()
		w.queued -= n
		w.mu.Unlock()
		if !stopping && ctx.Err() != nil {
			return
		}
	}
}

func (w *Writer) commit(ctx context.Context, batch []*Pending, n int) {
	groups := make([][]store.EventRecord, len(batch))
	for i, p := range batch {
		groups[i] = p.recs
	}
	// A commit in progress finishes even when shutdown starts: callers
	// wait for it and the data is already on its way to disk.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opt.CommitTimeout)
	start := time.Now()
	res, err := w.st.InsertEventGroups(cctx, groups)
	cancel()
	w.commitSeconds.Observe(time.Since(start).Seconds())
	w.commits.Add(1)
	if err != nil {
		w.failed.Add(int64(n))
		w.log.Error("ingest commit failed; submitters get an error and may retry", "events", n, "submissions", len(batch), "error", err)
		err = fmt.Errorf("commit: %w", err)
	} else {
		w.committed.Add(int64(n))
		if w.opt.OnCommit != nil {
			w.opt.OnCommit(Tenants(groups...))
		}
	}
	for i, p := range batch {
		if err != nil {
			p.err = err
		} else {
			p.res = res[i]
		}
		p.recs = nil
		close(p.done)
	}
}

// Collector returns the writer's metrics: queue depth and capacity
// (events), commits, committed and failed events, refused submissions and
// commit durations.
func (w *Writer) Collector() prometheus.Collector { return writerCollector{w} }

type writerCollector struct{ w *Writer }

var (
	descDepth     = prometheus.NewDesc("sfmcwatch_ingest_queue_events", "Pushed events queued or being committed.", nil, nil)
	descCapacity  = prometheus.NewDesc("sfmcwatch_ingest_queue_capacity_events", "Most pushed events the queue holds before answering 429.", nil, nil)
	descCommits   = prometheus.NewDesc("sfmcwatch_ingest_commits_total", "Group-commit transactions of pushed events.", nil, nil)
	descCommitted = prometheus.NewDesc("sfmcwatch_ingest_committed_events_total", "Pushed events committed (inserted or found duplicate).", nil, nil)
	descFailed    = prometheus.NewDesc("sfmcwatch_ingest_failed_events_total", "Pushed events whose commit failed (the submitter was told).", nil, nil)
	descRefused   = prometheus.NewDesc("sfmcwatch_ingest_queue_full_total", "Submissions refused because the queue was full.", nil, nil)
)

func (c writerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDepth, descCapacity, descCommits, descCommitted, descFailed, descRefused} {
		ch <- d
	}
	c.w.commitSeconds.Describe(ch)
}

func (c writerCollector) Collect(ch chan<- prometheus.Metric) {
	w := c.w
	ch <- prometheus.MustNewConstMetric(descDepth, prometheus.GaugeValue, float64(w.Depth()))
	ch <- prometheus.MustNewConstMetric(descCapacity, prometheus.GaugeValue, float64(w.opt.MaxQueued))
	ch <- prometheus.MustNewConstMetric(descCommits, prometheus.CounterValue, float64(w.commits.Load()))
	ch <- prometheus.MustNewConstMetric(descCommitted, prometheus.CounterValue, float64(w.committed.Load()))
	ch <- prometheus.MustNewConstMetric(descFailed, prometheus.CounterValue, float64(w.failed.Load()))
	ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(w.refused.Load()))
	w.commitSeconds.Collect(ch)
}

// Tenants returns the distinct tenants of the records, in first-seen order.
func Tenants(groups ...[]store.EventRecord) []string {
	var out []string
	for _, g := range groups {
		for i := range g {
			if t := g[i].Tenant; !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// Collectors presents several collectors as one (an input's request and
// line counters, say).
type Collectors []prometheus.Collector

// Describe implements prometheus.Collector.
func (c Collectors) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range c {
		x.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c Collectors) Collect(ch chan<- prometheus.Metric) {
	for _, x := range c {
		x.Collect(ch)
	}
}
