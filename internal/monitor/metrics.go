package monitor

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// lagWarnAfter: a poll that starts this much later than due, or later
// than half its interval, is logged (once per item until it catches up).
const lagWarnAfter = 30 * time.Second

// pollMetrics say whether the engine keeps its schedule: how late each
// poll starts (by monitor), how many ran, and how many scheduled polls a
// late one swallowed.
type pollMetrics struct {
	lag     *prometheus.HistogramVec
	polls   *prometheus.CounterVec
	skipped *prometheus.CounterVec
	behind  prometheus.Gauge
	budget  *prometheus.CounterVec
	workers prometheus.GaugeFunc

	mu      sync.Mutex
	lagging map[int64]bool // work items currently logged as lagging
}

func newPollMetrics() *pollMetrics {
	return &pollMetrics{
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sfmcwatch_poll_lag_seconds",
			Help:    "How late a poll started after it was due, by monitor (automation, journey, …, tenant).",
			Buckets: []float64{0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900}}, []string{"monitor"}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sfmcwatch_polls_total",
			Help: "Polls run, by monitor and result (ok, error)."}, []string{"monitor", "result"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sfmcwatch_polls_skipped_total",
			Help: "Scheduled polls that did not happen because the one before started more than an interval late, by monitor."}, []string{"monitor"}),
		behind: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sfmcwatch_monitor_behind",
			Help: "1 while the engine is behind schedule (poll lag p90 above 30s for 5 minutes; monitor.lagging incidents open), else 0."}),
		budget: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sfmcwatch_budget_decisions_total",
			Help: "Daily API budget guard decisions on the monitor's calls, by tenant, priority (essential, required, optional) and decision (allowed, refused)."},
			[]string{"tenant", "priority", "decision"}),
		lagging: map[int64]bool{},
	}
}

func (m *pollMetrics) setBehind(b bool) {
	if b {
		m.behind.Set(1)
	} else {
		m.behind.Set(0)
	}
}

// started records a poll of monitor that was due at due, started at now,
// runs every interval; it reports whether the poll is newly lagging (to be
// logged) or back on time (to be logged too).
func (m *pollMetrics) started(id int64, monitor string, due, now time.Time, interval time.Duration) (lag time.Duration, newlyLagging, caughtUp bool) {
	lag = max(now.Sub(due), 0)
	m.lag.WithLabelValues(monitor).Observe(lag.Seconds())
	if interval > 0 && lag >= interval {
		m.skipped.WithLabelValues(monitor).Add(float64(lag / interval))
	}
	late := lag >= lagWarnAfter || (interval > 0 && lag >= interval/2)
	m.mu.Lock()
	defer m.mu.Unlock()
	switch was := m.lagging[id]; {
	case late && !was:
		m.lagging[id] = true
		return lag, true, false
	case !late && was:
		delete(m.lagging, id)
		return lag, false, true
	}
	return lag, false, false
}

func (m *pollMetrics) finished(monitor string, err error) {
	res := "ok"
	if err != nil {
		res = "error"
	}
	m.polls.WithLabelValues(monitor, res).Inc()
}

// Describe implements prometheus.Collector.
func (m *pollMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.lag.Describe(ch)
	m.polls.Describe(ch)
	m.skipped.Describe(ch)
	m.behind.Describe(ch)
	m.budget.Describe(ch)
	if m.workers != nil {
		m.workers.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *pollMetrics) Collect(ch chan<- prometheus.Metric) {
	m.lag.Collect(ch)
	m.polls.Collect(ch)
	m.skipped.Collect(ch)
	m.behind.Collect(ch)
	m.budget.Collect(ch)
	if m.workers != nil {
		m.workers.Collect(ch)
	}
}

// Collector exposes the engine's poll metrics (sfmcwatch_poll_lag_seconds,
// sfmcwatch_polls_total, sfmcwatch_polls_skipped_total,
// sfmcwatch_monitor_behind, sfmcwatch_monitor_workers,
// sfmcwatch_budget_decisions_total) for /metrics.
func (e *Engine) Collector() prometheus.Collector { return e.metrics }
