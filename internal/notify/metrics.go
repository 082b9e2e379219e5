package notify

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// collector exposes the dispatcher's counters on /metrics (web.Options.
// Collectors). The open notify.channel_failed incidents themselves are in
// sfmcwatch_incidents_open like every incident.
type collector struct {
	d                        *Dispatcher
	failures, pings, pingErr *prometheus.Desc
}

// Collector returns the dispatcher's /metrics collector:
// sfmcwatch_notify_channel_failures_total{receiver,channel} (failed
// delivery attempts since start), sfmcwatch_heartbeat_pings_total and
// sfmcwatch_heartbeat_failures_total.
func (d *Dispatcher) Collector() prometheus.Collector {
	return &collector{d: d,
		failures: prometheus.NewDesc("sfmcwatch_notify_channel_failures_total",
			"Failed notification delivery attempts since start, by receiver and channel (empty for a whole receiver); a channel failing 3 attempts in a row or permanently opens a notify.channel_failed incident.",
			[]string{"receiver", "channel"}, nil),
		pings: prometheus.NewDesc("sfmcwatch_heartbeat_pings_total",
			"Heartbeat (dead man's switch) pings answered with 2xx since start.", nil, nil),
		pingErr: prometheus.NewDesc("sfmcwatch_heartbeat_failures_total",
			"Heartbeat pings that failed (network error or non-2xx) since start.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.failures
	ch <- c.pings
	ch <- c.pingErr
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.d.Stats()
	keys := make([]string, 0, len(s.ChannelFailures))
	for k := range s.ChannelFailures {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		recv, channel, _ := strings.Cut(k, "/")
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(s.ChannelFailures[k]), recv, channel)
	}
	ch <- prometheus.MustNewConstMetric(c.pings, prometheus.CounterValue, float64(s.HeartbeatPings))
	ch <- prometheus.MustNewConstMetric(c.pingErr, prometheus.CounterValue, float64(s.HeartbeatFailures))
}
