package sim

import (
	"sync"
	"time"
)

// Clock is the simulator's clock: simulated time = Start + Speed × (real
// elapsed time) + manual advances. Real time comes from an injectable
// function so tests can drive it.
type Clock struct {
	mu        sync.Mutex
	now       func() time.Time
	start     time.Time
	realStart time.Time
	speed     float64
	offset    time.Duration
}

// NewClock returns a clock that starts at start (simulated) when now() is
// called the first time and runs speed times faster than now. A nil now uses
// time.Now; speed <= 0 means 1.
func NewClock(start time.Time, speed float64, now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	if speed <= 0 {
		speed = 1
	}
	return &Clock{now: now, start: start, realStart: now(), speed: speed}
}

// Now returns the current simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	elapsed := c.now().Sub(c.realStart)
	return c.start.Add(time.Duration(float64(elapsed) * c.speed)).Add(c.offset)
}

// Start returns the simulated time the clock started at.
func (c *Clock) Start() time.Time { return c.start }

// Speed returns how many simulated seconds pass per real second.
func (c *Clock) Speed() float64 { return c.speed }

// Advance moves simulated time forward by d (negative d is ignored).
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	if d > 0 {
		c.offset += d
	}
	c.mu.Unlock()
	return c.Now()
}

// Elapsed returns the simulated time since the clock started.
func (c *Clock) Elapsed() time.Duration { return c.Now().Sub(c.start) }

// RealNow returns the real (wall or injected) time.
func (c *Clock) RealNow() time.Time { return c.now() }
