package notify

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/metriclabel"
)

// maxReceiverSeries caps the receiver and channel labels.
const maxReceiverSeries = 50

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
	// Receivers and channels come from the configuration; the caps keep a
	// generated configuration from growing the series without end.
	rc, cc := map[string]int64{}, map[string]int64{}
	for k, v := range s.ChannelFailures {
		recv, channel, _ := strings.Cut(k, "/")
		rc[recv] += int64(v)
		cc[channel] += int64(v)
	}
	recvLabel, chanLabel := metriclabel.Top(rc, maxReceiverSeries), metriclabel.Top(cc, maxReceiverSeries)
	type key struct{ recv, channel string }
	n := map[key]float64{}
	for k, v := range s.ChannelFailures {
		recv, channel, _ := strings.Cut(k, "/")
		n[key{recvLabel(recv), chanLabel(channel)}] += float64(v)
	}
	keys := make([]key, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return strings.Compare(a.recv+"/"+a.channel, b.recv+"/"+b.channel) })
	for _, k := range keys {
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, n[k], k.recv, k.channel)
	}
	ch <- prometheus.MustNewConstMetric(c.pings, prometheus.CounterValue, float64(s.HeartbeatPings))
	ch <- prometheus.MustNewConstMetric(c.pingErr, prometheus.CounterValue, float64(s.HeartbeatFailures))
}
