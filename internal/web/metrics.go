package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/metriclabel"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// storeCollector reads the store at scrape time: nothing is counted in
// memory, so every replica reports the same figures and a restart loses
// nothing. The exception is the SQLite checkpointer's counters, which
// belong to the one process that has the database open.
type storeCollector struct {
	s *Server

	events        *prometheus.Desc
	open          *prometheus.Desc
	calls         *prometheus.Desc
	notifications *prometheus.Desc
	ttd           *prometheus.Desc
	up            *prometheus.Desc

	checkpoints, checkpointBusy, checkpointFailures, walFrames *prometheus.Desc
	dbBytes, dbFree                                            *prometheus.Desc
}

func newStoreCollector(s *Server) *storeCollector {
	return &storeCollector{
		s: s,
		events: prometheus.NewDesc("sfmcwatch_events_24h", "Events stored for the last 24 hours, by tenant, family and code qualified by its surface (code=\"soap:2\", \"rest:50100\", \"http:503\"; \"<surface>:other\" for a code not in the catalog).",
			[]string{"tenant", "family", "code"}, nil),
		open: prometheus.NewDesc("sfmcwatch_incidents_open", "Open incidents by tenant, severity and family (none when the incident has no family).",
			[]string{"tenant", "severity", "family"}, nil),
		calls: prometheus.NewDesc("sfmcwatch_api_calls_today", "SFMC API calls sfmcwatch spent today (UTC), by tenant and endpoint template.",
			[]string{"tenant", "endpoint"}, nil),
		notifications: prometheus.NewDesc("sfmcwatch_notifications", "Notifications in the outbox not yet sent, by receiver, channel (empty for rows queued before per-channel delivery) and status (pending, failed).",
			[]string{"receiver", "channel", "status"}, nil),
		ttd: prometheus.NewDesc("sfmcwatch_time_to_detection_seconds", "Time from first evidence to incident opened, incidents opened in the last 30 days.",
			nil, nil),
		up: prometheus.NewDesc("sfmcwatch_store_up", "1 when the store answered this scrape's queries.", nil, nil),
		checkpoints: prometheus.NewDesc("sfmcwatch_sqlite_checkpoints_total", "SQLite WAL checkpoints run off the write path, by mode (passive copies while writes go on; truncate empties the WAL once it is long).",
			[]string{"mode"}, nil),
		checkpointBusy:     prometheus.NewDesc("sfmcwatch_sqlite_checkpoint_busy_total", "WAL truncations that readers kept from finishing (retried a second later); a steady rise means long reads keep the WAL growing.", nil, nil),
		checkpointFailures: prometheus.NewDesc("sfmcwatch_sqlite_checkpoint_failures_total", "SQLite WAL checkpoints that failed (retried).", nil, nil),
		walFrames:          prometheus.NewDesc("sfmcwatch_sqlite_wal_pages", "SQLite WAL length in pages after the last checkpoint; it stays bounded while the checkpointer keeps up.", nil, nil),
		dbBytes:            prometheus.NewDesc("sfmcwatch_database_bytes", "Size of the database: SQLite's pages (WAL excluded), PostgreSQL's pg_database_size.", nil, nil),
		dbFree:             prometheus.NewDesc("sfmcwatch_database_free_bytes", "Part of sfmcwatch_database_bytes on SQLite's free list (reused by later writes; 0 on PostgreSQL).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.events, c.open, c.calls, c.notifications, c.ttd, c.up, c.checkpoints, c.checkpointBusy, c.checkpointFailures, c.walFrames, c.dbBytes, c.dbFree} {
		ch <- d
	}
}

// ttdBuckets are the histogram's upper bounds in seconds (1 min … 1 day).
var ttdBuckets = []float64{60, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400}

// outboxLister is the part of the alerting store the collector reads.
type outboxLister interface {
	ListNotifications(ctx context.Context, f store.OutboxFilter) ([]store.OutboxMessage, error)
}

// Collect implements prometheus.Collector.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st := c.s.st
	now := c.s.now().UTC()
	up := 1.0
	fail := func(what string, err error) {
		c.s.log.Warn("metrics: store read failed", "what", what, "error", err)
		up = 0
	}

	if err := c.collectEvents(ctx, ch, now); err != nil {
		fail("events", err)
	}
	if err := c.collectOpen(ctx, ch); err != nil {
		fail("open incidents", err)
	}

	today := now.Truncate(24 * time.Hour)
	if usage, err := st.Usage(ctx, store.UsageQuery{From: today, To: today}); err != nil {
		fail("usage", err)
	} else {
		type key struct{ tenant, endpoint string }
		tc, ec := map[string]int64{}, map[string]int64{}
		for _, u := range usage {
			tc[u.Tenant] += int64(u.Calls)
			ec[u.Endpoint] += int64(u.Calls)
		}
		tenant, ep := metriclabel.Top(tc, maxTenantSeries), metriclabel.Top(ec, maxEndpointSeries)
		n := map[key]int64{}
		for _, u := range usage {
			n[key{tenant(u.Tenant), ep(u.Endpoint)}] += int64(u.Calls)
		}
		for k, v := range n {
			ch <- prometheus.MustNewConstMetric(c.calls, prometheus.GaugeValue, float64(v), k.tenant, k.endpoint)
		}
	}

	if ob, ok := st.(outboxLister); ok {
		type key struct{ recv, channel, status string }
		n := map[key]int{}
		for _, status := range []store.OutboxStatus{store.OutboxPending, store.OutboxFailed} {
			msgs, err := ob.ListNotifications(ctx, store.OutboxFilter{Status: status, Limit: 10000})
			if err != nil {
				fail("outbox", err)
				break
			}
			for _, m := range msgs {
				n[key{m.Receiver, m.Channel, string(status)}]++
			}
		}
		rc, cc := map[string]int64{}, map[string]int64{}
		for k, v := range n {
			rc[k.recv] += int64(v)
			cc[k.channel] += int64(v)
		}
		recv, channel := metriclabel.Top(rc, maxReceiverSeries), metriclabel.Top(cc, maxReceiverSeries)
		bounded := map[key]int{}
		for k, v := range n {
			bounded[key{recv(k.recv), channel(k.channel), k.status}] += v
		}
		for k, v := range bounded {
			ch <- prometheus.MustNewConstMetric(c.notifications, prometheus.GaugeValue, float64(v), k.recv, k.channel, k.status)
		}
	}

	if recent, err := st.ListIncidents(ctx, store.IncidentFilter{OpenedFrom: now.Add(-30 * 24 * time.Hour), Limit: 10000}); err != nil {
		fail("recent incidents", err)
	} else {
		counts := make(map[float64]uint64, len(ttdBuckets))
		var sum float64
		for _, in := range recent {
			v := in.TTD.Seconds()
			sum += v
			for _, b := range ttdBuckets {
				if v <= b {
					counts[b]++
				}
			}
		}
		ch <- prometheus.MustNewConstHistogram(c.ttd, uint64(len(recent)), sum, counts)
	}
	if w, ok := st.(walStatser); ok {
		if ws, ok := w.WALStats(); ok {
			ch <- prometheus.MustNewConstMetric(c.checkpoints, prometheus.CounterValue, float64(ws.Passive), "passive")
			ch <- prometheus.MustNewConstMetric(c.checkpoints, prometheus.CounterValue, float64(ws.Truncates), "truncate")
			ch <- prometheus.MustNewConstMetric(c.checkpointBusy, prometheus.CounterValue, float64(ws.TruncateBusy))
			ch <- prometheus.MustNewConstMetric(c.checkpointFailures, prometheus.CounterValue, float64(ws.Failures))
			ch <- prometheus.MustNewConstMetric(c.walFrames, prometheus.GaugeValue, float64(ws.Frames))
		}
	}
	if sz, ok := st.(databaseSizer); ok {
		if d, err := sz.DatabaseSize(ctx); err != nil {
			fail("database size", err)
		} else {
			ch <- prometheus.MustNewConstMetric(c.dbBytes, prometheus.GaugeValue, float64(d.Bytes))
			ch <- prometheus.MustNewConstMetric(c.dbFree, prometheus.GaugeValue, float64(d.FreeBytes))
		}
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}

// collectEvents reports sfmcwatch_events_24h.
func (c *storeCollector) collectEvents(ctx context.Context, ch chan<- prometheus.Metric, now time.Time) error {
	rows, err := c.s.st.AggregateEvents(ctx, store.AggregateQuery{From: now.Add(-24 * time.Hour), To: now,
		By: []store.Dimension{store.DimTenant, store.DimFamily, store.DimSurface, store.DimCode}})
	if err != nil {
		return err
	}
	tenants := boundedTenants(rows)
	type key struct{ tenant, family, code string }
	n := map[key]int64{}
	for _, r := range rows {
		n[key{tenants(r.Tenant), familyLabel(r.Family), c.codeLabel(r.Surface, r.Code)}] += r.Events
	}
	for k, v := range n {
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(v), k.tenant, k.family, k.code)
	}
	return nil
}

// collectOpen reports sfmcwatch_incidents_open.
func (c *storeCollector) collectOpen(ctx context.Context, ch chan<- prometheus.Metric) error {
	open, err := c.s.st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Limit: 10000})
	if err != nil {
		return err
	}
	type key struct{ tenant, sev, fam string }
	tc := map[string]int64{}
	for _, in := range open {
		tc[in.Tenant]++
	}
	tenant := metriclabel.Top(tc, maxTenantSeries)
	n := map[key]int{}
	for _, in := range open {
		sev := metriclabel.OneOf(catalog.Severity(in.Severity), catalog.Critical, catalog.Error, catalog.Warning, catalog.Info)
		n[key{tenant(in.Tenant), sev, familyLabel(in.Family)}]++
	}
	for k, v := range n {
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(v), k.tenant, k.sev, k.fam)
	}
	return nil
}

// Caps on label values (metriclabel: the largest keep their name, the
// rest is "other"). Tenants, endpoints and receivers come from the
// configuration and the code; the caps guard against events ingested for
// tenants nobody configured and the like.
const (
	maxTenantSeries   = 100
	maxEndpointSeries = 200
	maxReceiverSeries = 50
)

// boundedTenants returns the tenant label of an event row.
func boundedTenants(rows []store.EventBucket) func(string) string {
	count := map[string]int64{}
	for _, r := range rows {
		count[r.Tenant] += r.Events
	}
	return metriclabel.Top(count, maxTenantSeries)
}

// familyLabel is an incident's or event's family as a label: never empty.
func familyLabel(f string) string {
	if f == "" {
		return string(catalog.None)
	}
	if !catalog.Family(f).Valid() {
		return metriclabel.Other
	}
	return f
}

// codeLabel qualifies a code by its surface ("soap:2", "rest:50100",
// "http:503") so equal codes of different APIs stay apart, and keeps the
// label set bounded: a code the catalog does not know (and is not an HTTP
// status) is "<surface>:other", an unknown surface "other".
func (c *storeCollector) codeLabel(surface, code string) string {
	if code == "" {
		return ""
	}
	sf := catalog.Surface(surface)
	if !sf.Valid() {
		sf = catalog.Other
	}
	if sf == catalog.HTTP {
		if n, err := strconv.Atoi(code); err == nil && n >= 100 && n <= 599 {
			return "http:" + strconv.Itoa(n)
		}
		return "http:other"
	}
	if c.s.cat != nil {
		if _, ok := c.s.cat.Lookup(sf, code, ""); ok {
			return string(sf) + ":" + strings.ToLower(strings.TrimSpace(code))
		}
	}
	return string(sf) + ":other"
}

// databaseSizer is the store's size view (sqlStore).
type databaseSizer interface {
	DatabaseSize(ctx context.Context) (store.DatabaseSize, error)
}

// walStatser is the SQLite store's checkpointer view.
type walStatser interface {
	WALStats() (store.WALStats, bool)
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.regErr != nil {
		s.log.Warn("metrics: some collectors were not registered", "error", s.regErr)
	}
	promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}
