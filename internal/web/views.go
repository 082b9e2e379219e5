package web

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/health"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// The view models below are what the pages render and what the JSON API
// returns: one builder per view, so page and API never disagree.

// Overview is GET /api/v1/overview and the overview page.
type Overview struct {
	GeneratedAt time.Time     `json:"generated_at"`
	Tenants     []TenantCard  `json:"tenants"`
	Detection   []PeriodStats `json:"detection"`
	// Families is the error-family timeline of the last 7 days (hourly).
	Families Timeline `json:"families"`
	// Recent are the last incidents opened (at most 10).
	Recent []IncidentJSON `json:"recent"`
	// OpenTotal counts all open incidents.
	OpenTotal int `json:"open_total"`
	// Database is the store's size (nil when the store cannot tell).
	Database *store.DatabaseSize `json:"database,omitempty"`
}

// DatabaseLabel is the database size for the page ("" when unknown).
func (o *Overview) DatabaseLabel() string {
	if o.Database == nil {
		return ""
	}
	b := float64(o.Database.Bytes)
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.1f GB", b/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.1f MB", b/1e6)
	}
	return fmt.Sprintf("%.0f kB", b/1e3)
}

// TenantCard is one business unit on the overview.
type TenantCard struct {
	Name   string       `json:"name"`
	Health health.Score `json:"health"`
	// Open counts open incidents; BySeverity and ByFamily split them.
	Open       int            `json:"open"`
	BySeverity map[string]int `json:"by_severity"`
	ByFamily   map[string]int `json:"by_family"`
	// CallsToday is the API calls sfmcwatch spent today (UTC); Budget the
	// daily budget (0 = unlimited or unknown).
	CallsToday int64 `json:"calls_today"`
	Budget     int64 `json:"budget"`
	// Status is the tenant snapshot's status (ok, blind, blocked) when known.
	Status string `json:"status,omitempty"`
}

// BudgetPercent is the share of the daily budget used (0 when unknown).
func (c TenantCard) BudgetPercent() int {
	if c.Budget <= 0 {
		return 0
	}
	return int(min(100*c.CallsToday/c.Budget, 999))
}

// PeriodStats are time-to-detection and time-to-resolve figures.
type PeriodStats struct {
	Days     int `json:"days"`
	Opened   int `json:"opened"`
	Resolved int `json:"resolved"`
	// TTD and TTR in seconds: median and 90th percentile (0 when no data:
	// Opened and Resolved say whether there is any). TTD is from the first
	// evidence sfmcwatch saw (opened_at − first_seen).
	TTDMedian int64 `json:"ttd_median_seconds"`
	TTDP90    int64 `json:"ttd_p90_seconds"`
	// TTDSinceFailure is from the failure's start by SFMC's timestamps
	// (opened_at − failure_started_at), over the TTDSinceFailureN incidents
	// that know it.
	TTDSinceFailureN      int   `json:"ttd_since_failure_n"`
	TTDSinceFailureMedian int64 `json:"ttd_since_failure_median_seconds"`
	TTDSinceFailureP90    int64 `json:"ttd_since_failure_p90_seconds"`
	TTRMedian             int64 `json:"ttr_median_seconds"`
	TTRP90                int64 `json:"ttr_p90_seconds"`
}

// Timeline is counts per time bucket and series (uPlot's column layout).
type Timeline struct {
	BucketSeconds int64 `json:"bucket_seconds"`
	// Times are bucket starts in unix seconds.
	Times  []int64  `json:"times"`
	Series []Series `json:"series"`
}

// Series is one line of a Timeline.
type Series struct {
	Name   string  `json:"name"`
	Values []int64 `json:"values"`
	Total  int64   `json:"total"`
}

// percentile returns the p-quantile (nearest rank) of sorted values.
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// severityRank orders severities most severe first.
func severityRank(s string) int {
	switch s {
	case "critical":
		return 0
	case "error":
		return 1
	case "warning":
		return 2
	case "info":
		return 3
	}
	return 4
}

func (s *Server) buildOverview(ctx context.Context) (*Overview, error) {
	now := s.now().UTC()
	ov := &Overview{GeneratedAt: now, Tenants: []TenantCard{}, Recent: []IncidentJSON{}}
	if sz, ok := s.st.(databaseSizer); ok {
		if d, err := sz.DatabaseSize(ctx); err == nil {
			ov.Database = &d
		} else {
			s.log.Warn("overview: database size", "error", err)
		}
	}

	open, err := s.st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Limit: 10000})
	if err != nil {
		return nil, fmt.Errorf("open incidents: %w", err)
	}
	ov.OpenTotal = len(open)
	cards := map[string]*TenantCard{}
	card := func(name string) *TenantCard {
		c, ok := cards[name]
		if !ok {
			c = &TenantCard{Name: name, BySeverity: map[string]int{}, ByFamily: map[string]int{}}
			cards[name] = c
		}
		return c
	}
	budgets := map[string]int64{}
	if cfg := s.config(); cfg != nil {
		for _, t := range cfg.Tenants {
			card(t.Name)
			budgets[t.Name] = t.DailyAPIBudget
		}
	}
	problems := map[string][]health.Problem{}
	for _, in := range open {
		c := card(in.Tenant)
		c.Open++
		c.BySeverity[in.Severity]++
		fam := in.Family
		if fam == "" {
			fam = "other"
		}
		c.ByFamily[fam]++
		problems[in.Tenant] = append(problems[in.Tenant], health.Problem{Rule: in.Rule, Severity: catalog.Severity(in.Severity)})
	}
	today := now.Truncate(24 * time.Hour)
	usage, err := s.st.Usage(ctx, store.UsageQuery{From: today, To: today})
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	for _, u := range usage {
		card(u.Tenant).CallsToday += u.Calls
	}
	for name, c := range cards {
		c.Health = health.Compute(problems[name])
		c.Budget = budgets[name]
		if sn, err := s.st.LatestSnapshot(ctx, resource.Ref(name, resource.Tenant, name)); err == nil {
			c.Status = sn.Status
			if c.Budget == 0 {
				c.Budget = sn.Counters[resource.CounterDailyBudget]
			}
		}
	}
	for _, c := range cards {
		if c.Name == "" && c.Open == 0 {
			continue
		}
		ov.Tenants = append(ov.Tenants, *c)
	}
	sort.Slice(ov.Tenants, func(i, j int) bool {
		a, b := ov.Tenants[i], ov.Tenants[j]
		return cmp.Or(cmp.Compare(a.Health.Value, b.Health.Value), cmp.Compare(a.Name, b.Name)) < 0
	})

	// Detection figures over 30 days (7 days is a subset).
	recent, err := s.st.ListIncidents(ctx, store.IncidentFilter{OpenedFrom: now.Add(-30 * 24 * time.Hour), Limit: 10000})
	if err != nil {
		return nil, fmt.Errorf("recent incidents: %w", err)
	}
	for _, days := range []int{7, 30} {
		from := now.Add(-time.Duration(days) * 24 * time.Hour)
		ps := PeriodStats{Days: days}
		var ttd, ttf, ttr []int64
		for _, in := range recent {
			if in.OpenedAt.Before(from) {
				continue
			}
			ps.Opened++
			ttd = append(ttd, int64(in.TTD/time.Second))
			if in.FailureKnown() {
				ttf = append(ttf, int64(in.TTDSinceFailure/time.Second))
			}
			if in.Status == store.IncidentResolved && !in.ResolvedAt.IsZero() {
				ps.Resolved++
				ttr = append(ttr, int64(in.ResolvedAt.Sub(in.OpenedAt)/time.Second))
			}
		}
		slices.Sort(ttd)
		slices.Sort(ttf)
		slices.Sort(ttr)
		ps.TTDMedian, ps.TTDP90 = percentile(ttd, 0.5), percentile(ttd, 0.9)
		ps.TTDSinceFailureN = len(ttf)
		ps.TTDSinceFailureMedian, ps.TTDSinceFailureP90 = percentile(ttf, 0.5), percentile(ttf, 0.9)
		ps.TTRMedian, ps.TTRP90 = percentile(ttr, 0.5), percentile(ttr, 0.9)
		ov.Detection = append(ov.Detection, ps)
	}
	for i, in := range recent {
		if i == 10 {
			break
		}
		ov.Recent = append(ov.Recent, toJSON(in))
	}

	ov.Families, err = s.familyTimeline(ctx, store.AggregateQuery{From: now.Add(-7 * 24 * time.Hour), To: now, ErrorsOnly: true}, time.Hour)
	if err != nil {
		return nil, err
	}
	return ov, nil
}

// familyTimeline aggregates error events per bucket and family into a
// dense timeline (every bucket of [From, To), every error family present).
func (s *Server) familyTimeline(ctx context.Context, q store.AggregateQuery, bucket time.Duration) (Timeline, error) {
	q.Bucket = bucket
	q.By = []store.Dimension{store.DimFamily}
	rows, err := s.st.AggregateEvents(ctx, q)
	if err != nil {
		return Timeline{}, fmt.Errorf("event timeline: %w", err)
	}
	return denseTimeline(rows, q.From, q.To, bucket, func(b store.EventBucket) string { return b.Family }, familyOrder), nil
}

// familyOrder sorts family series in catalog order.
func familyOrder(a, b string) int {
	ia, ib := slices.Index(catalog.Families, catalog.Family(a)), slices.Index(catalog.Families, catalog.Family(b))
	if ia < 0 {
		ia = len(catalog.Families)
	}
	if ib < 0 {
		ib = len(catalog.Families)
	}
	return cmp.Or(cmp.Compare(ia, ib), cmp.Compare(a, b))
}

func denseTimeline(rows []store.EventBucket, from, to time.Time, bucket time.Duration, key func(store.EventBucket) string, order func(a, b string) int) Timeline {
	bs := int64(bucket / time.Second)
	start := from.Unix() / bs * bs
	n := int((to.Unix()-start)/bs) + 1
	n = max(1, min(n, 5000))
	tl := Timeline{BucketSeconds: bs, Times: make([]int64, n), Series: []Series{}}
	for i := range tl.Times {
		tl.Times[i] = start + int64(i)*bs
	}
	idx := map[string]int{}
	var names []string
	for _, r := range rows {
		k := key(r)
		if _, ok := idx[k]; !ok {
			idx[k] = -1
			names = append(names, k)
		}
	}
	slices.SortFunc(names, order)
	for i, nm := range names {
		idx[nm] = i
		tl.Series = append(tl.Series, Series{Name: nm, Values: make([]int64, n)})
	}
	for _, r := range rows {
		i := int((r.Start.Unix() - start) / bs)
		if i < 0 || i >= n {
			continue
		}
		sr := &tl.Series[idx[key(r)]]
		sr.Values[i] += r.Events
		sr.Total += r.Events
	}
	return tl
}
