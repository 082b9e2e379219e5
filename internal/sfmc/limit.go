package sfmc

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// adaptiveLimiter paces one tenant's calls: a token bucket (x/time/rate) and
// a cap on requests in flight. Throttling (429, SOAP Code 17) halves both;
// each success after a quiet period restores a little, so recovery is slow
// and a throttled tenant is not hammered again at full speed.
type adaptiveLimiter struct {
	bucket *rate.Limiter
	gate   *gate
	// now is the client's clock: the quiet period and restore steps follow
	// it, so a simulated tenant on a fast clock recovers in tenant time.
	now func() time.Time

	mu           sync.Mutex
	baseRate     rate.Limit
	baseInFlight int
	lastThrottle time.Time
	lastRestore  time.Time
}

// restoreQuiet is how long after the last throttle recovery starts;
// restoreStep how often it may step up.
const (
	restoreQuiet = 30 * time.Second
	restoreStep  = 10 * time.Second
	// minRateShare is the floor of the throttled rate as a share of the
	// configured rate (1/50: 0.2 calls/s for the default 10/s). A floor
	// relative to the configured rate keeps a scaled client (the demo's
	// fast clock) from crawling for simulated hours after a 429 storm.
	minRateShare = 50
)

func newAdaptiveLimiter(r rate.Limit, burst, inFlight int, now func() time.Time) *adaptiveLimiter {
	if now == nil {
		now = time.Now
	}
	return &adaptiveLimiter{bucket: rate.NewLimiter(r, burst), gate: newGate(inFlight), baseRate: r, baseInFlight: inFlight, now: now}
}

// acquire waits for the bucket and (when gated) an in-flight slot. The
// returned release must be called once the attempt is over.
func (l *adaptiveLimiter) acquire(ctx context.Context, gated bool) (func(), error) {
	if err := l.bucket.Wait(ctx); err != nil {
		return nil, err
	}
	if !gated {
		return func() {}, nil
	}
	if err := l.gate.acquire(ctx); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(l.gate.release) }, nil
}

// throttle halves the rate and the in-flight cap.
func (l *adaptiveLimiter) throttle() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastThrottle = l.now()
	r := l.bucket.Limit() / 2
	if floor := l.baseRate / minRateShare; r < floor {
		r = floor
	}
	l.bucket.SetLimit(r)
	l.gate.setLimit(max(l.gate.limitNow()/2, 1))
}

// success restores 10% of the base rate and one in-flight slot, at most
// once per restoreStep and only after restoreQuiet without throttling.
func (l *adaptiveLimiter) success() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastThrottle) < restoreQuiet || now.Sub(l.lastRestore) < restoreStep {
		return
	}
	cur := l.bucket.Limit()
	if cur >= l.baseRate && l.gate.limitNow() >= l.baseInFlight {
		return
	}
	l.lastRestore = now
	l.bucket.SetLimit(min(cur+l.baseRate/10, l.baseRate))
	l.gate.setLimit(min(l.gate.limitNow()+1, l.baseInFlight))
}

func (l *adaptiveLimiter) current() (rate.Limit, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bucket.Limit(), l.gate.limitNow()
}

// gate is a counting semaphore whose capacity can change while in use.
type gate struct {
	mu      sync.Mutex
	limit   int
	inUse   int
	waiters []chan struct{}
}

func newGate(n int) *gate { return &gate{limit: max(n, 1)} }

func (g *gate) acquire(ctx context.Context) error {
	g.mu.Lock()
	if g.inUse < g.limit && len(g.waiters) == 0 {
		g.inUse++
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	g.waiters = append(g.waiters, ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, w := range g.waiters {
			if w == ch {
				g.waiters = append(g.waiters[:i], g.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// Granted concurrently: hand the slot back.
		g.inUse--
		g.wake()
		return ctx.Err()
	}
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inUse--
	g.wake()
}

func (g *gate) wake() {
	for g.inUse < g.limit && len(g.waiters) > 0 {
		ch := g.waiters[0]
		g.waiters = g.waiters[1:]
		g.inUse++
		close(ch)
	}
}

func (g *gate) setLimit(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.limit = max(n, 1)
	g.wake()
}

func (g *gate) limitNow() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limit
}
