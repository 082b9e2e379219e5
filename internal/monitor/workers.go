package monitor

import (
	"math"
	"sync"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Worker pool sizing.
//
// The pool is sized from the work by Little's law: the number of workers
// busy on average is the sum over work items of (job duration ÷ poll
// interval). The engine keeps an exponentially weighted mean of every
// item's job duration (a first guess, guessJob, until the item has run)
// and asks for
//
//	workers = ceil(workerHeadroom × Σ duration/interval) + workerSlack
//
// clamped to [minWorkers, Options.MaxWorkers] and to the number of items.
// The headroom keeps queueing delay short (a pool at 50 % utilisation
// rarely makes a due poll wait), the slack absorbs the tenant items that
// cost no call. Per-tenant rate limits are kept by each tenant's client
// (sfmc.Options.RateLimit), whatever the pool size: more workers let more
// tenants progress at once, never one tenant faster than its limit.
//
// Options.Workers > 0 fixes the pool instead.
const (
	workerHeadroom = 2.0
	workerSlack    = 2
	minWorkers     = 3
	// DefaultMaxWorkers caps the automatic pool size.
	DefaultMaxWorkers = 128
	// guessJob is the assumed duration of a collection that has not run
	// yet; guessTenantJob the same for tenant health (no API call).
	guessJob       = 5 * time.Second
	guessTenantJob = 100 * time.Millisecond
	// ewmaWeight is the weight of the newest duration in the mean.
	ewmaWeight = 0.3
)

// itemKey names a work item across claims (its store id may change when
// it is removed and added again).
type itemKey struct{ tenant, key string }

type itemLoad struct {
	interval time.Duration
	mean     float64 // seconds
}

// poolSizer tracks the load of every scheduled item.
type poolSizer struct {
	fixed, max int

	mu    sync.Mutex
	items map[itemKey]*itemLoad
	sum   float64 // Σ mean/interval
}

func newPoolSizer(fixed, maxWorkers int) *poolSizer {
	return &poolSizer{fixed: fixed, max: maxWorkers, items: map[itemKey]*itemLoad{}}
}

// setItems replaces the scheduled items (called on every Sync): new items
// start from the guess, known ones keep their measured mean.
func (p *poolSizer) setItems(items map[itemKey]time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := make(map[itemKey]*itemLoad, len(items))
	for k, iv := range items {
		l := p.items[k]
		if l == nil {
			g := guessJob
			if k.key == "tenant" {
				g = guessTenantJob
			}
			l = &itemLoad{mean: g.Seconds()}
		}
		l.interval = iv
		next[k] = l
	}
	p.items = next
	p.recompute()
}

// observe records how long one job of the item took.
func (p *poolSizer) observe(k itemKey, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.items[k]
	if l == nil {
		return
	}
	l.mean = (1-ewmaWeight)*l.mean + ewmaWeight*d.Seconds()
	p.recompute()
}

func (p *poolSizer) recompute() {
	s := 0.0
	for _, l := range p.items {
		if l.interval > 0 {
			s += l.mean / l.interval.Seconds()
		}
	}
	p.sum = s
}

// want is the pool size for the current load.
func (p *poolSizer) want() int {
	if p.fixed > 0 {
		return p.fixed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return sizeFor(p.sum, len(p.items), p.max)
}

// load is Σ duration/interval: the average number of busy workers.
func (p *poolSizer) load() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sum
}

// sizeFor applies the sizing rule to a load over n items.
func sizeFor(load float64, n, maxWorkers int) int {
	w := int(math.Ceil(workerHeadroom*load)) + workerSlack
	w = min(w, max(n, minWorkers), maxWorkers)
	return max(w, minWorkers)
}

// firstCycle estimates how long the pool takes to run every item once.
func (p *poolSizer) firstCycle() time.Duration {
	w := p.want()
	p.mu.Lock()
	defer p.mu.Unlock()
	total := 0.0
	for _, l := range p.items {
		total += l.mean
	}
	return time.Duration(total / float64(w) * float64(time.Second))
}

// spreadAfter: when running every item once would take the pool longer
// than this, the first polls are spread over their intervals.
const spreadAfter = time.Minute

// spreadFirstPolls staggers the first due time of work items (specs in
// tenant order) over each item's interval when the first cycle would
// otherwise keep the pool busy for more than spreadAfter (over the
// shortest interval of the non-tenant items; a tenant item over its own
// when shorter): a schedule
// inherits the phase of its first poll (next due = start + interval), so
// a first cycle run as one burst comes back as a burst every interval and
// makes polls late however large the pool is on average. Spread, the
// demand is even (Σ duration/interval) and the first full cycle still ends
// within one (the shortest) interval. Items that already exist keep their schedule (the
// store ignores NextDueAt for them). A few tenants are polled at once.
func spreadFirstPolls(specs []store.WorkSpec, intervals map[itemKey]time.Duration, firstCycle time.Duration) {
	if firstCycle <= spreadAfter || len(specs) < 2 {
		return
	}
	// Tenants in order, each tenant's items together: a tenant's first
	// look (all its monitors) comes at one time.
	var tenants []string
	idx := map[string]int{}
	for _, s := range specs {
		if _, ok := idx[s.Tenant]; !ok {
			idx[s.Tenant] = len(tenants)
			tenants = append(tenants, s.Tenant)
		}
	}
	// Over the shortest interval, so the first full cycle of every
	// monitor ends within it.
	var window time.Duration
	for k, iv := range intervals {
		if k.key != "tenant" && iv > 0 && (window == 0 || iv < window) {
			window = iv
		}
	}
	n := len(tenants)
	for i := range specs {
		s := &specs[i]
		w := window
		if iv := intervals[itemKey{s.Tenant, s.Key}]; w == 0 || iv < w {
			w = iv
		}
		// The first 90 % of the window: the last first polls end within it.
		s.NextDueAt = s.NextDueAt.Add(time.Duration(int64(w) * 9 / 10 * int64(idx[s.Tenant]) / int64(n)))
	}
}
