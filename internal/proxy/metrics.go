package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Stats are the proxy's counters (shared by the proxies of one process and
// their recorder).
type Stats struct {
	// Requests counts calls received; UpstreamErrors those SFMC could not
	// be reached for (answered 502).
	Requests, UpstreamErrors atomic.Int64
	// Recorded counts events queued, Dropped events lost to a full queue,
	// Stored events written, StoreErrors failed writes.
	Recorded, Dropped, Stored, StoreErrors atomic.Int64
}

// Collector exposes the stats (and the queue length, when queueLen is not
// nil) as Prometheus metrics; register it on the caller's registry.
func Collector(s *Stats, queueLen func() int) prometheus.Collector {
	return &collector{s: s, queueLen: queueLen}
}

var (
	descRequests = prometheus.NewDesc("sfmcwatch_proxy_requests_total", "Calls received by the recording proxy.", nil, nil)
	descUpstream = prometheus.NewDesc("sfmcwatch_proxy_upstream_errors_total", "Calls the proxy could not forward to SFMC (answered 502).", nil, nil)
	descRecorded = prometheus.NewDesc("sfmcwatch_proxy_events_recorded_total", "Events queued for the store.", nil, nil)
	descDropped  = prometheus.NewDesc("sfmcwatch_proxy_events_dropped_total", "Events dropped because the queue was full (store slow or down).", nil, nil)
	descStored   = prometheus.NewDesc("sfmcwatch_proxy_events_stored_total", "Events written to the store.", nil, nil)
	descStoreErr = prometheus.NewDesc("sfmcwatch_proxy_store_errors_total", "Failed event writes (retried).", nil, nil)
	descQueue    = prometheus.NewDesc("sfmcwatch_proxy_queue_events", "Events waiting in the queue.", nil, nil)
)

type collector struct {
	s        *Stats
	queueLen func() int
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descUpstream, descRecorded, descDropped, descStored, descStoreErr} {
		ch <- d
	}
	if c.queueLen != nil {
		ch <- descQueue
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range []struct {
		d *prometheus.Desc
		v *atomic.Int64
	}{{descRequests, &c.s.Requests}, {descUpstream, &c.s.UpstreamErrors}, {descRecorded, &c.s.Recorded},
		{descDropped, &c.s.Dropped}, {descStored, &c.s.Stored}, {descStoreErr, &c.s.StoreErrors}} {
		ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.v.Load()))
	}
	if c.queueLen != nil {
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(c.queueLen()))
	}
}

// randomPrefix starts this process's event request ids ("proxy-<hex>-").
func randomPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "proxy-" + hex.EncodeToString(b[:]) + "-"
}

func uitoa(n uint64) string { return strconv.FormatUint(n, 10) }
