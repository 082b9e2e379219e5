package web

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// ObjectsView is GET /api/v1/objects and the monitored objects page: the
// latest state of every object of one type, per tenant.
type ObjectsView struct {
	Type    string      `json:"type"`
	Tenant  string      `json:"tenant,omitempty"`
	Tenants []string    `json:"tenants"`
	Counts  []TypeCount `json:"counts"`
	Objects []ObjectRow `json:"objects"`
}

// TypeCount is how many objects of a type are watched and how many have
// open incidents.
type TypeCount struct {
	Type     string `json:"type"`
	Objects  int    `json:"objects"`
	Problems int    `json:"problems"`
}

// ObjectRow is one monitored object.
type ObjectRow struct {
	Tenant     string    `json:"tenant"`
	Type       string    `json:"type"`
	Key        string    `json:"key"`
	Name       string    `json:"name"`
	Status     string    `json:"status"`
	ObservedAt time.Time `json:"observed_at"`
	// LastRunAt is zero when unknown.
	LastRunAt time.Time `json:"last_run_at"`
	RowCount  *int64    `json:"row_count,omitempty"`
	// Trend is the sparkline: row counts (data extensions, automation and
	// import runs), cumulative enrollment (journeys), sent (triggered
	// sends) or queue length (transactional), oldest first.
	Trend      []int64 `json:"trend"`
	TrendLabel string  `json:"trend_label,omitempty"`
	// Freshness is set for data extensions with an SLA (declared or
	// learned).
	Freshness *Freshness `json:"freshness,omitempty"`
	// OpenIncidents counts this object's open incidents.
	OpenIncidents int `json:"open_incidents"`
}

// Freshness compares a data extension's last load with its SLA.
type Freshness struct {
	LastLoadAt time.Time `json:"last_load_at"`
	AgeSeconds int64     `json:"age_seconds"`
	// WarnAfter/ErrorAfter in seconds (0: that level is not checked).
	WarnAfterSeconds  int64 `json:"warn_after_seconds"`
	ErrorAfterSeconds int64 `json:"error_after_seconds"`
	// Mode: declared, expected_interval or learned.
	Mode string `json:"mode"`
	// State: fresh, late (past warn) or stale (past error).
	State string `json:"state"`
}

// trendWindow is how far back history-based sparklines look.
const trendWindow = 24 * time.Hour

// maxTrend caps sparkline points.
const maxTrend = 48

func (s *Server) tenantNames(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if cfg := s.config(); cfg != nil {
		for _, t := range cfg.Tenants {
			add(t.Name)
		}
	}
	now := s.now().UTC()
	usage, err := s.st.Usage(ctx, store.UsageQuery{From: now.Add(-30 * 24 * time.Hour)})
	if err != nil {
		return nil, fmt.Errorf("tenants: %w", err)
	}
	for _, u := range usage {
		add(u.Tenant)
	}
	open, err := s.st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Limit: 10000})
	if err != nil {
		return nil, fmt.Errorf("tenants: %w", err)
	}
	for _, in := range open {
		add(in.Tenant)
	}
	slices.Sort(out)
	return out, nil
}

func (s *Server) buildObjects(ctx context.Context, typ, tenant string) (*ObjectsView, error) {
	if typ == "" {
		typ = string(resource.Automation)
	}
	if !slices.Contains(resource.Types, resource.Type(typ)) {
		return nil, badf("unknown object type %q (want one of automation, journey, triggered_send, transactional, data_extension, import)", typ)
	}
	tenants, err := s.tenantNames(ctx)
	if err != nil {
		return nil, err
	}
	v := &ObjectsView{Type: typ, Tenant: tenant, Tenants: tenants, Objects: []ObjectRow{}}
	if tenant != "" && !slices.Contains(tenants, tenant) {
		return nil, badf("unknown tenant %q", tenant)
	}
	open, err := s.st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Limit: 10000})
	if err != nil {
		return nil, fmt.Errorf("objects: %w", err)
	}
	openBy := map[store.ResourceRef]int{}
	problemsByType := map[string]map[store.ResourceRef]bool{}
	for _, in := range open {
		ref := store.ResourceRef{Tenant: in.Tenant, ResourceType: in.ResourceType, ResourceKey: in.ResourceKey}
		openBy[ref]++
		if problemsByType[in.ResourceType] == nil {
			problemsByType[in.ResourceType] = map[store.ResourceRef]bool{}
		}
		problemsByType[in.ResourceType][ref] = true
	}
	cfg := s.config()
	staleCfg := config.DefaultRules().DataExtensionStale
	if cfg != nil {
		staleCfg = cfg.Rules.DataExtensionStale
	}
	now := s.now().UTC()
	for _, t := range resource.Types {
		tc := TypeCount{Type: string(t)}
		for _, tn := range tenants {
			if tenant != "" && tn != tenant {
				continue
			}
			snaps, err := s.st.LatestSnapshots(ctx, tn, string(t))
			if err != nil {
				return nil, fmt.Errorf("objects %s/%s: %w", tn, t, err)
			}
			tc.Objects += len(snaps)
			for _, sn := range snaps {
				if problemsByType[string(t)][sn.ResourceRef] {
					tc.Problems++
				}
			}
			if string(t) != typ {
				continue
			}
			var tcfg *config.Tenant
			if cfg != nil {
				for i := range cfg.Tenants {
					if cfg.Tenants[i].Name == tn {
						tcfg = &cfg.Tenants[i]
					}
				}
			}
			for _, sn := range snaps {
				row, err := s.objectRow(ctx, sn, tcfg, staleCfg, now)
				if err != nil {
					return nil, err
				}
				row.OpenIncidents = openBy[sn.ResourceRef]
				v.Objects = append(v.Objects, row)
			}
		}
		v.Counts = append(v.Counts, tc)
	}
	// Problems first, then by name.
	slices.SortStableFunc(v.Objects, func(a, b ObjectRow) int {
		if (a.OpenIncidents > 0) != (b.OpenIncidents > 0) {
			if a.OpenIncidents > 0 {
				return -1
			}
			return 1
		}
		return 0
	})
	return v, nil
}

func (s *Server) objectRow(ctx context.Context, sn store.Snapshot, tcfg *config.Tenant, staleCfg config.StaleRule, now time.Time) (ObjectRow, error) {
	row := ObjectRow{Tenant: sn.Tenant, Type: sn.ResourceType, Key: sn.ResourceKey, Name: sn.ResourceKey, Status: sn.Status,
		ObservedAt: sn.ObservedAt, LastRunAt: sn.LastRunAt, RowCount: sn.RowCount, Trend: []int64{}}
	runsTrend := func(runs []resource.Run) {
		row.TrendLabel = "rows per run"
		for _, r := range runs {
			if r.Rows >= 0 {
				row.Trend = append(row.Trend, r.Rows)
			}
		}
		if len(row.Trend) == 0 {
			row.TrendLabel = "minutes per run"
			for _, r := range runs {
				row.Trend = append(row.Trend, int64(r.Duration(now)/time.Minute))
			}
		}
	}
	switch resource.Type(sn.ResourceType) {
	case resource.Automation:
		var st resource.AutomationState
		if err := resource.Decode(sn, &st); err == nil {
			row.Name = orKey(st.Name, sn.ResourceKey)
			runsTrend(st.Runs)
		}
	case resource.Import:
		var st resource.ImportState
		if err := resource.Decode(sn, &st); err == nil {
			row.Name = orKey(st.Name, sn.ResourceKey)
			runsTrend(st.Runs)
		}
	case resource.DataExtension:
		var st resource.DataExtensionState
		if err := resource.Decode(sn, &st); err == nil {
			row.Name = orKey(st.Name, sn.ResourceKey)
			row.TrendLabel = "rows at each load"
			for _, l := range st.Loads {
				row.Trend = append(row.Trend, l.Rows)
			}
			var obj config.Object
			if tcfg != nil {
				obj = tcfg.Object(string(resource.DataExtension), sn.ResourceKey)
			}
			if warn, errAfter, _, mode := detect.FreshnessThresholds(staleCfg, obj, st.Loads); mode != "" {
				last := st.LastLoadAt
				if last.IsZero() {
					last = st.ObservedSince
				}
				f := &Freshness{LastLoadAt: last, WarnAfterSeconds: int64(warn / time.Second), ErrorAfterSeconds: int64(errAfter / time.Second), Mode: mode, State: "fresh"}
				if !last.IsZero() {
					age := now.Sub(last)
					f.AgeSeconds = int64(age / time.Second)
					switch {
					case errAfter > 0 && age > errAfter:
						f.State = "stale"
					case warn > 0 && age > warn:
						f.State = "late"
					}
				}
				row.Freshness = f
			}
		}
	case resource.Journey, resource.TriggeredSend, resource.Transactional:
		var counter string
		switch resource.Type(sn.ResourceType) {
		case resource.Journey:
			var st resource.JourneyState
			if err := resource.Decode(sn, &st); err == nil {
				row.Name = orKey(st.Name, sn.ResourceKey)
			}
			counter, row.TrendLabel = resource.CounterCumulativePopulation, "entries (cumulative), 24 h"
		case resource.TriggeredSend:
			var st resource.TriggeredSendState
			if err := resource.Decode(sn, &st); err == nil {
				row.Name = orKey(st.Name, sn.ResourceKey)
			}
			counter, row.TrendLabel = resource.CounterSent, "sent (cumulative), 24 h"
		default:
			var st resource.TransactionalState
			if err := resource.Decode(sn, &st); err == nil {
				row.Name = orKey(st.Name, sn.ResourceKey)
			}
			counter, row.TrendLabel = resource.CounterQueueCount, "queue length, 24 h"
		}
		hist, err := s.st.SnapshotHistory(ctx, sn.ResourceRef, now.Add(-trendWindow), time.Time{}, 2000)
		if err != nil {
			return row, fmt.Errorf("history of %s/%s: %w", sn.ResourceType, sn.ResourceKey, err)
		}
		step := max(1, (len(hist)+maxTrend-1)/maxTrend)
		for i := 0; i < len(hist); i += step {
			if v, ok := hist[i].Counters[counter]; ok {
				row.Trend = append(row.Trend, v)
			}
		}
		if v, ok := sn.Counters[counter]; ok && len(hist) > 0 && (len(hist)-1)%step != 0 {
			row.Trend = append(row.Trend, v)
		}
	}
	if len(row.Trend) > maxTrend {
		row.Trend = row.Trend[len(row.Trend)-maxTrend:]
	}
	return row, nil
}

func orKey(name, key string) string {
	if name != "" {
		return name
	}
	return key
}
