package monitor_test

import (
	"context"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// latencyCases are the faults the simulator can inject whose rule this
// package owns, at the default 5-minute poll interval. Injection happens
// right after a poll (and right after the token was fetched): the worst
// case for polled signals.
var latencyCases = []struct {
	rule  string
	fault sim.Fault
}{
	{"tenant.blind", sim.Fault{Kind: sim.FaultCredentialsRotated}},
	{"tenant.blocked", sim.Fault{Kind: sim.FaultRESTBlocked}},
	{"api.errors", sim.Fault{Kind: sim.FaultRESTThrottle, Params: map[string]string{"retry_after": "5"}}},
	{"api.errors", sim.Fault{Kind: sim.FaultServerError}},
}

func measure(tb testing.TB, rule string, f sim.Fault) monitor.Detection {
	tb.Helper()
	e := newEnv(tb)
	ctx := context.Background()
	if _, err := e.eng.RunDue(ctx); err != nil {
		tb.Fatal(err)
	}
	s := monitor.Stepper{Engine: e.eng, Advance: e.Advance, Now: e.Now, Step: 5 * time.Second}
	d, err := s.MeasureDetection(ctx, e.st, "sim", rule, time.Hour, func() { e.Inject(f) })
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// TestDetectionLatency measures simulated time from fault injection to the
// incident opening (reported, with generous bounds only: the figures go in
// the README; run with -v to see them).
func TestDetectionLatency(t *testing.T) {
	for _, c := range latencyCases {
		t.Run(string(c.fault.Kind), func(t *testing.T) {
			d := measure(t, c.rule, c.fault)
			t.Logf("%s via %s: %s", c.fault.Kind, c.rule, d)
			if !d.Detected {
				t.Fatalf("%s not detected within an hour", c.rule)
			}
			limit := 5*time.Minute + 30*time.Second
			if c.fault.Kind == sim.FaultCredentialsRotated {
				// Only the next token refresh reveals rotated credentials
				// (the cached token stays valid ~18 minutes).
				limit = 18*time.Minute + 5*time.Minute + 30*time.Second
			}
			if d.Latency > limit {
				t.Fatalf("latency %s above %s", d.Latency, limit)
			}
		})
	}
}

// BenchmarkDetectionLatency reports the simulated detection latency per
// fault as a custom metric (sim-s); the wall time is irrelevant.
func BenchmarkDetectionLatency(b *testing.B) {
	for _, c := range latencyCases {
		b.Run(string(c.fault.Kind), func(b *testing.B) {
			var total time.Duration
			for range b.N {
				d := measure(b, c.rule, c.fault)
				total += d.Latency
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "sim-s")
		})
	}
}
