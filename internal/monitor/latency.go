package monitor

import (
	"context"
	"fmt"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Stepper drives an engine under a simulated clock, for tests, benchmarks
// and the demo: each step moves the clock by Step and runs the work due.
type Stepper struct {
	Engine  *Engine
	Advance func(time.Duration)
	Now     func() time.Time
	// Step is the simulated time per step (default 10s).
	Step time.Duration
}

// Run steps for d of simulated time.
func (s Stepper) Run(ctx context.Context, d time.Duration) error {
	_, err := s.Until(ctx, d, func(context.Context) (bool, error) { return false, nil })
	return err
}

// Until steps until cond holds or limit (simulated) passes, and returns the
// simulated time elapsed; ok is false when limit passed first.
func (s Stepper) Until(ctx context.Context, limit time.Duration, cond func(context.Context) (bool, error)) (time.Duration, error) {
	step := s.Step
	if step <= 0 {
		step = 10 * time.Second
	}
	start := s.Now()
	for {
		if ok, err := cond(ctx); err != nil || ok {
			return s.Now().Sub(start), err
		}
		if s.Now().Sub(start) >= limit {
			return s.Now().Sub(start), nil
		}
		s.Advance(step)
		if _, err := s.Engine.RunDue(ctx); err != nil {
			return s.Now().Sub(start), err
		}
	}
}

// IncidentOpen is a condition for Until: an open incident of rule exists
// for tenant (any resource).
func IncidentOpen(st store.IncidentStore, tenant, rule string) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		l, err := st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Tenant: tenant, Rule: rule, Limit: 1})
		return len(l) > 0, err
	}
}

// Detection is one measured time to detection.
type Detection struct {
	Rule string
	// Latency is simulated time from the fault's injection to the
	// incident being opened (bounded by the step).
	Latency time.Duration
	// TTD is the incident's own time to detection (opened_at − first
	// evidence).
	TTD time.Duration
	// Detected is false when the limit passed first.
	Detected bool
}

func (d Detection) String() string {
	if !d.Detected {
		return fmt.Sprintf("%s: not detected within the limit", d.Rule)
	}
	return fmt.Sprintf("%s: opened %s after injection (ttd %s)", d.Rule, d.Latency, d.TTD)
}

// MeasureDetection injects a fault (inject is called at the current
// simulated time) and steps until an incident of rule opens for tenant, or
// limit passes.
func (s Stepper) MeasureDetection(ctx context.Context, st store.IncidentStore, tenant, rule string, limit time.Duration, inject func()) (Detection, error) {
	inject()
	d := Detection{Rule: rule}
	lat, err := s.Until(ctx, limit, IncidentOpen(st, tenant, rule))
	if err != nil {
		return d, err
	}
	l, err := st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Tenant: tenant, Rule: rule, Limit: 1})
	if err != nil || len(l) == 0 {
		return d, err
	}
	d.Latency, d.TTD, d.Detected = lat, l[0].TTD, true
	return d, nil
}
