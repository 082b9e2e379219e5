// Package digest builds the weekly post-mortem digest from the store: the
// incidents of a period per tenant and family, time to detection and time
// to resolve against the period before, recurring patterns with their fix,
// the silent failures sfmcwatch caught, the API calls spent, and a short
// "fix these first" list ranked by business impact. Rendering lives in
// internal/report; scheduling (once across replicas) in Scheduler.
package digest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/health"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Store is the part of the store the digest reads.
type Store interface {
	ListIncidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error)
	Usage(ctx context.Context, q store.UsageQuery) ([]store.UsageRow, error)
}

// DefaultPeriod is a week.
const DefaultPeriod = 7 * 24 * time.Hour

// Options tune Build.
type Options struct {
	// Period is the length covered, ending at Now (default DefaultPeriod);
	// the period before it, of the same length, is the comparison.
	Period time.Duration
	// Now is the clock (default time.Now): the period ends at Now().
	Now func() time.Time
	// Config, when set, supplies the tenants (listed even without
	// incidents), their daily API budgets and critical objects.
	Config *config.Config
	// Location displays times (default: UTC).
	Location *time.Location
}

// Incident is one incident as the digest shows it.
type Incident struct {
	ID           int64            `json:"id"`
	Fingerprint  string           `json:"fingerprint"`
	Rule         string           `json:"rule"`
	Severity     catalog.Severity `json:"severity"`
	Family       string           `json:"family,omitempty"`
	Tenant       string           `json:"tenant"`
	ResourceType string           `json:"resource_type,omitempty"`
	ResourceKey  string           `json:"resource_key,omitempty"`
	Title        string           `json:"title"`
	Owner        string           `json:"owner,omitempty"`
	Remediation  []string         `json:"remediation,omitempty"`
	// FirstSeen is when sfmcwatch first saw evidence of the problem.
	FirstSeen time.Time `json:"first_seen"`
	// FailureStartedAt is when the failure began by SFMC's own timestamps
	// (zero, and absent from JSON, when unknown).
	FailureStartedAt time.Time `json:"failure_started_at,omitzero"`
	OpenedAt         time.Time `json:"opened_at"`
	// ResolvedAt is zero while open.
	ResolvedAt time.Time `json:"resolved_at"`
	// TTD is time to detection: opened_at − first evidence.
	TTD time.Duration `json:"ttd_ns"`
	// TTDSinceFailure is opened_at − failure_started_at, when that is
	// known (FailureKnown); absent from JSON when unknown or zero.
	TTDSinceFailure time.Duration `json:"ttd_since_failure_ns,omitempty"`
	// TTR is time to resolve: resolved_at − opened_at (0 while open).
	TTR time.Duration `json:"ttr_ns"`
	// Duration is how long it was open within the digest (to the period's
	// end when still open).
	Duration time.Duration `json:"duration_ns"`
	// Critical is set when the config marks the object critical.
	Critical bool `json:"critical,omitempty"`
	// Silent marks a problem SFMC showed no error for (see SilentRules).
	Silent bool `json:"silent,omitempty"`
	// CausedBy is the incident that explains this one (the correlation
	// step); 0 for a top-level incident. Cause names the recognised cause
	// when this incident is one. Children are listed right after their
	// cause.
	CausedBy int64  `json:"caused_by,omitempty"`
	Cause    string `json:"cause,omitempty"`
}

// CauseNote is " (caused by #N)" for a child, "" otherwise.
func (i Incident) CauseNote() string {
	if i.CausedBy == 0 {
		return ""
	}
	return fmt.Sprintf(" (caused by #%d)", i.CausedBy)
}

// Open reports whether the incident was still open at the period's end.
func (i Incident) Open() bool { return i.ResolvedAt.IsZero() }

// FailureKnown reports whether SFMC's timestamps said when the failure
// began.
func (i Incident) FailureKnown() bool { return !i.FailureStartedAt.IsZero() }

// Stats summarises durations: nearest-rank median and 90th percentile.
type Stats struct {
	N      int           `json:"n"`
	Median time.Duration `json:"median_ns"`
	P90    time.Duration `json:"p90_ns"`
}

// Count is a number with the previous period's for comparison.
type Count struct {
	Name     string `json:"name"`
	Count    int    `json:"count"`
	Previous int    `json:"previous"`
}

// Tenant is one tenant's part of the digest.
type Tenant struct {
	Name     string  `json:"name"`
	Opened   int     `json:"opened"`
	Previous int     `json:"previous"`
	Families []Count `json:"families"`
	// Score is the health score from the incidents open at the period's
	// end, PreviousScore at the previous period's end.
	Score         health.Score `json:"score"`
	PreviousScore int          `json:"previous_score"`
}

// Pattern is a fingerprint that recurred: several incidents this period,
// or one this period after one in the previous period.
type Pattern struct {
	Fingerprint  string   `json:"fingerprint"`
	Rule         string   `json:"rule"`
	Tenant       string   `json:"tenant"`
	ResourceType string   `json:"resource_type,omitempty"`
	ResourceKey  string   `json:"resource_key,omitempty"`
	Title        string   `json:"title"`
	Count        int      `json:"count"`
	Previous     int      `json:"previous"`
	Owner        string   `json:"owner,omitempty"`
	Remediation  []string `json:"remediation,omitempty"`
}

// Spend is a tenant's API usage over the period.
type Spend struct {
	Tenant   string `json:"tenant"`
	Calls    int64  `json:"calls"`
	Previous int64  `json:"previous"`
	Days     int    `json:"days"`
	// Budget is the daily budget × Days (0: unlimited or unknown).
	Budget int64 `json:"budget"`
	// Top endpoints by calls.
	Top []EndpointCalls `json:"top,omitempty"`
}

// EndpointCalls is one endpoint's calls.
type EndpointCalls struct {
	Endpoint string `json:"endpoint"`
	Calls    int64  `json:"calls"`
}

// Priority is one entry of the "fix these first" list.
type Priority struct {
	Fingerprint  string           `json:"fingerprint"`
	Rule         string           `json:"rule"`
	Tenant       string           `json:"tenant"`
	ResourceType string           `json:"resource_type,omitempty"`
	ResourceKey  string           `json:"resource_key,omitempty"`
	Title        string           `json:"title"`
	Severity     catalog.Severity `json:"severity"`
	Critical     bool             `json:"critical,omitempty"`
	Incidents    int              `json:"incidents"`
	Duration     time.Duration    `json:"duration_ns"`
	StillOpen    bool             `json:"still_open,omitempty"`
	Impact       float64          `json:"impact"`
	Why          string           `json:"why"`
	Owner        string           `json:"owner,omitempty"`
	Remediation  []string         `json:"remediation,omitempty"`
}

// Digest is the whole digest.
type Digest struct {
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	PreviousFrom time.Time `json:"previous_from"`
	Location     string    `json:"location"`
	GeneratedAt  time.Time `json:"generated_at"`
	// Incidents opened in the period, oldest first.
	Incidents []Incident `json:"incidents"`
	// Carried are incidents opened before the period and still open at
	// its start.
	Carried  []Incident `json:"carried"`
	Previous int        `json:"previous"`
	Tenants  []Tenant   `json:"tenants"`
	Families []Count    `json:"families"`
	// TTD is time to detection from the first evidence sfmcwatch saw.
	TTD     Stats `json:"ttd"`
	TTR     Stats `json:"ttr"`
	PrevTTD Stats `json:"previous_ttd"`
	PrevTTR Stats `json:"previous_ttr"`
	// TTDSinceFailure is time to detection from the failure's start by
	// SFMC's timestamps, over the incidents that know it (N of them).
	TTDSinceFailure     Stats      `json:"ttd_since_failure"`
	PrevTTDSinceFailure Stats      `json:"previous_ttd_since_failure"`
	Recurring           []Pattern  `json:"recurring"`
	Silent              []Incident `json:"silent"`
	Spend               []Spend    `json:"api_spend"`
	FixFirst            []Priority `json:"fix_first"`
}

// Quiet reports a period with no incident opened.
func (d *Digest) Quiet() bool { return len(d.Incidents) == 0 }

// SilentRules are the rules whose problems SFMC itself shows no error for:
// the status says Complete, Active or Running, or nothing changes at all.
// A digest counts their incidents as silent-failure catches.
var silentRules = map[string]string{
	"data_extension.row_drop":       "the load completed, with far fewer rows",
	"data_extension.empty":          "the data extension was emptied without an error",
	"data_extension.stale":          "nothing refreshed the data; nothing failed either",
	"data_extension.schema_drift":   "fields changed; integrations fail later, elsewhere",
	"journey.enrollment_drop":       "the journey runs but admits nobody",
	"journey.split_skew":            "the journey runs; its split sends everyone down one path",
	"automation.stalled":            "the run shows Running, far longer than usual",
	"automation.missed_run":         "a scheduled run never started; there is no run to fail",
	"automation.partial":            "the run completed with far less output than usual",
	"import.partial":                "the import completed and rejected rows",
	"triggered_send.silent_failure": "calls were accepted (202) and nothing was sent",
	"triggered_send.backlog":        "messages queue while Sent stays flat",
	"triggered_send.inactive":       "a paused triggered send accepts calls and queues them",
	"automation.no_output":          "the run completed and wrote less than asserted",
}

// SilentReason explains why a rule's problems are silent ("" when SFMC
// reports them as errors).
func SilentReason(rule string) string { return silentRules[rule] }

// SilentRules lists the silent-failure rules, sorted.
func SilentRules() []string {
	out := make([]string, 0, len(silentRules))
	for r := range silentRules {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// Build gathers the digest of the period ending at o.Now().
func Build(ctx context.Context, st Store, o Options) (*Digest, error) {
	if st == nil {
		return nil, errors.New("digest: no store")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Period <= 0 {
		o.Period = DefaultPeriod
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	to := o.Now().UTC()
	from := to.Add(-o.Period)
	prevFrom := from.Add(-o.Period)
	d := &Digest{From: from, To: to, PreviousFrom: prevFrom, Location: o.Location.String(), GeneratedAt: to}

	cur, err := listOpened(ctx, st, from, to)
	if err != nil {
		return nil, err
	}
	prev, err := listOpened(ctx, st, prevFrom, from)
	if err != nil {
		return nil, err
	}
	// Incidents carried into the period: opened before it and not resolved
	// at its start (still open now, or opened the period before and
	// resolved during this one).
	stillOpen, err := listAll(ctx, st, store.IncidentFilter{Status: store.IncidentOpen, OpenedTo: from})
	if err != nil {
		return nil, err
	}
	before := dedupe(slices.Concat(stillOpen, prev))
	critical := func(in store.Incident) bool {
		if o.Config != nil {
			for i := range o.Config.Tenants {
				tc := &o.Config.Tenants[i]
				if tc.Name == in.Tenant && tc.IsCritical(in.ResourceType, in.ResourceKey) {
					return true
				}
			}
		}
		return false
	}
	view := func(in store.Incident, end time.Time) Incident {
		v := Incident{ID: in.ID, Fingerprint: in.Fingerprint, Rule: in.Rule, Severity: catalog.Severity(in.Severity), Family: in.Family,
			Tenant: in.Tenant, ResourceType: in.ResourceType, ResourceKey: in.ResourceKey, Title: in.Title, Owner: in.Owner,
			Remediation: in.Remediation, FirstSeen: in.FirstSeen, FailureStartedAt: in.FailureStartedAt, OpenedAt: in.OpenedAt, TTD: in.TTD,
			Critical: critical(in), Silent: silentRules[in.Rule] != "", CausedBy: in.CausedBy, Cause: in.Cause}
		if in.FailureKnown() {
			v.TTDSinceFailure = in.TTDSinceFailure
		}
		if !in.ResolvedAt.IsZero() && !in.ResolvedAt.After(end) {
			v.ResolvedAt = in.ResolvedAt
			v.TTR = in.ResolvedAt.Sub(in.OpenedAt)
		}
		stop := end
		if !v.ResolvedAt.IsZero() {
			stop = v.ResolvedAt
		}
		v.Duration = stop.Sub(maxTime(in.OpenedAt, from))
		return v
	}
	for _, in := range cur {
		d.Incidents = append(d.Incidents, view(in, to))
	}
	for _, in := range before {
		if in.ResolvedAt.IsZero() || in.ResolvedAt.After(from) {
			d.Carried = append(d.Carried, view(in, to))
		}
	}
	sortIncidents(d.Incidents)
	d.Incidents = underCauses(d.Incidents)
	sortIncidents(d.Carried)
	d.Previous = len(prev)

	// Durations.
	var ttd, ttf, ttr, pttd, pttf, pttr []time.Duration
	for _, in := range d.Incidents {
		ttd = append(ttd, in.TTD)
		if in.FailureKnown() {
			ttf = append(ttf, in.TTDSinceFailure)
		}
		if !in.Open() {
			ttr = append(ttr, in.TTR)
		}
	}
	for _, in := range prev {
		pttd = append(pttd, in.TTD)
		if in.FailureKnown() {
			pttf = append(pttf, in.TTDSinceFailure)
		}
		if !in.ResolvedAt.IsZero() && !in.ResolvedAt.After(from) {
			pttr = append(pttr, in.ResolvedAt.Sub(in.OpenedAt))
		}
	}
	d.TTD, d.TTR, d.PrevTTD, d.PrevTTR = stats(ttd), stats(ttr), stats(pttd), stats(pttr)
	d.TTDSinceFailure, d.PrevTTDSinceFailure = stats(ttf), stats(pttf)

	// Tenants and families.
	tenants := map[string]*Tenant{}
	var order []string
	addTenant := func(name string) *Tenant {
		if t := tenants[name]; t != nil {
			return t
		}
		t := &Tenant{Name: name}
		tenants[name] = t
		order = append(order, name)
		return t
	}
	if o.Config != nil {
		for _, tc := range o.Config.Tenants {
			addTenant(tc.Name)
		}
	}
	famCur, famPrev := map[string]int{}, map[string]int{}
	perTenantFam := map[string]map[string][2]int{}
	// Incidents from object state (row counts, statuses) have no error
	// family: they count as "state".
	famOf := func(in store.Incident) string { return cmp.Or(in.Family, "state") }
	// count adds one incident to its tenant's and family's tallies; slot 0
	// is this period, slot 1 the period before.
	count := func(in store.Incident, slot int, fam map[string]int) {
		m := perTenantFam[in.Tenant]
		if m == nil {
			m = map[string][2]int{}
			perTenantFam[in.Tenant] = m
		}
		c := m[famOf(in)]
		c[slot]++
		m[famOf(in)] = c
		fam[famOf(in)]++
	}
	for _, in := range cur {
		addTenant(in.Tenant).Opened++
		count(in, 0, famCur)
	}
	for _, in := range prev {
		addTenant(in.Tenant).Previous++
		count(in, 1, famPrev)
	}
	all := slices.Concat(before, prev, cur)
	for _, name := range order {
		t := tenants[name]
		var mine []store.Incident
		for _, in := range all {
			if in.Tenant == name {
				mine = append(mine, in)
			}
		}
		t.Score = health.FromIncidents(dedupe(mine), to)
		t.PreviousScore = health.FromIncidents(dedupe(mine), from).Value
		t.Families = counts(perTenantFam[name])
		d.Tenants = append(d.Tenants, *t)
	}
	both := map[string][2]int{}
	for f, n := range famCur {
		c := both[f]
		c[0] = n
		both[f] = c
	}
	for f, n := range famPrev {
		c := both[f]
		c[1] = n
		both[f] = c
	}
	d.Families = counts(both)

	// Recurring patterns.
	byFP := map[string][]Incident{}
	for _, in := range d.Incidents {
		byFP[in.Fingerprint] = append(byFP[in.Fingerprint], in)
	}
	prevFP := map[string]int{}
	for _, in := range prev {
		prevFP[in.Fingerprint]++
	}
	for fp, ins := range byFP {
		if len(ins) < 2 && prevFP[fp] == 0 {
			continue
		}
		last := ins[len(ins)-1]
		d.Recurring = append(d.Recurring, Pattern{Fingerprint: fp, Rule: last.Rule, Tenant: last.Tenant, ResourceType: last.ResourceType,
			ResourceKey: last.ResourceKey, Title: last.Title, Count: len(ins), Previous: prevFP[fp], Owner: last.Owner, Remediation: last.Remediation})
	}
	slices.SortFunc(d.Recurring, func(a, b Pattern) int {
		return cmp.Or(cmp.Compare(b.Count+b.Previous, a.Count+a.Previous), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
	if len(d.Recurring) > 10 {
		d.Recurring = d.Recurring[:10]
	}

	// Silent-failure catches.
	for _, in := range d.Incidents {
		if in.Silent {
			d.Silent = append(d.Silent, in)
		}
	}

	// Fix these first.
	d.FixFirst = priorities(append(slices.Clone(d.Incidents), d.Carried...), prevFP)

	// API spend.
	spend, err := apiSpend(ctx, st, o.Config, from, to, prevFrom)
	if err != nil {
		return nil, err
	}
	d.Spend = spend
	return d, nil
}

// MaxFixFirst is the length of the "fix these first" list.
const MaxFixFirst = 5

// priorities ranks fingerprints by business impact:
//
//	impact = severity weight (health.Weight) × 2 if the object is critical
//	         × (1 + 0.5 × (incidents − 1 + incidents the period before))
//	         × (1 + log2(1 + hours open))
//
// so a critical object outranks a noisy minor one, recurrence and long
// outages raise the rank, and a short one-off blip sinks.
func priorities(ins []Incident, prevFP map[string]int) []Priority {
	groups := map[string]*Priority{}
	for _, in := range ins {
		p := groups[in.Fingerprint]
		if p == nil {
			p = &Priority{Fingerprint: in.Fingerprint, Rule: in.Rule, Tenant: in.Tenant, ResourceType: in.ResourceType, ResourceKey: in.ResourceKey}
			groups[in.Fingerprint] = p
		}
		p.Incidents++
		p.Duration += in.Duration
		p.Critical = p.Critical || in.Critical
		if in.Severity.Rank() > p.Severity.Rank() {
			p.Severity = in.Severity
		}
		if in.Open() {
			p.StillOpen = true
		}
		// The latest incident names it and carries the current fix.
		p.Title, p.Owner, p.Remediation = in.Title, in.Owner, in.Remediation
	}
	var out []Priority
	for fp, p := range groups {
		crit := 1.0
		if p.Critical {
			crit = 2
		}
		rec := 1 + 0.5*float64(p.Incidents-1+prevFP[fp])
		dur := 1 + math.Log2(1+p.Duration.Hours())
		p.Impact = math.Round(health.Weight(p.Severity)*crit*rec*dur*10) / 10
		var why []string
		why = append(why, string(p.Severity))
		if p.Critical {
			why = append(why, "critical object")
		}
		if n := p.Incidents + prevFP[fp]; n > 1 {
			why = append(why, fmt.Sprintf("%d incidents (%d the period before)", p.Incidents, prevFP[fp]))
		}
		why = append(why, "open "+Human(p.Duration)+" in total")
		if p.StillOpen {
			why = append(why, "still open")
		}
		p.Why = strings.Join(why, ", ")
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b Priority) int {
		return cmp.Or(cmp.Compare(b.Impact, a.Impact), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
	if len(out) > MaxFixFirst {
		out = out[:MaxFixFirst]
	}
	return out
}

// Human formats a duration for people, exact to the second below 10 hours:
// 42s, 5m20s, 1h13m, 1h04m50s, 26h30m, 2d3h.
func Human(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + Human(-d)
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		d = d.Round(time.Second)
		m, s := d/time.Minute, (d%time.Minute)/time.Second
		if s == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%02ds", m, s)
	case d < 10*time.Hour && d.Round(time.Second)%time.Minute != 0:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dh%02dm%02ds", d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second)
	case d < 48*time.Hour:
		d = d.Round(time.Minute)
		h, m := d/time.Hour, (d%time.Hour)/time.Minute
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%02dm", h, m)
	}
	d = d.Round(time.Hour)
	return fmt.Sprintf("%dd%dh", d/(24*time.Hour), (d%(24*time.Hour))/time.Hour)
}

// apiSpend sums store.Usage per tenant over the UTC days that overlap the
// period (usage is metered per UTC day, so a week ending Monday 08:00 counts
// 8 days); the period before counts the days overlapping it that the period
// does not.
func apiSpend(ctx context.Context, st Store, cfg *config.Config, from, to, prevFrom time.Time) ([]Spend, error) {
	rows, err := st.Usage(ctx, store.UsageQuery{From: prevFrom.Truncate(24 * time.Hour).Add(-24 * time.Hour), To: to})
	if err != nil {
		return nil, fmt.Errorf("digest: usage: %w", err)
	}
	firstDay := from.Truncate(24 * time.Hour)
	in := func(day, a, b time.Time) bool {
		overlaps := day.Before(b) && day.Add(24*time.Hour).After(a)
		if b.Equal(from) { // the period before: days the period does not count
			return overlaps && day.Before(firstDay)
		}
		return overlaps
	}
	days := map[time.Time]bool{}
	by := map[string]*Spend{}
	eps := map[string]map[string]int64{}
	var order []string
	get := func(t string) *Spend {
		if s := by[t]; s != nil {
			return s
		}
		s := &Spend{Tenant: t}
		by[t] = s
		order = append(order, t)
		eps[t] = map[string]int64{}
		return s
	}
	if cfg != nil {
		for _, tc := range cfg.Tenants {
			get(tc.Name)
		}
	}
	for _, r := range rows {
		switch {
		case in(r.Day, from, to):
			s := get(r.Tenant)
			s.Calls += r.Calls
			eps[r.Tenant][r.Endpoint] += r.Calls
		case in(r.Day, prevFrom, from):
			get(r.Tenant).Previous += r.Calls
		}
	}
	for day := from.Truncate(24 * time.Hour); day.Before(to); day = day.Add(24 * time.Hour) {
		if in(day, from, to) {
			days[day] = true
		}
	}
	configured := 0
	if cfg != nil {
		configured = len(cfg.Tenants)
	}
	slices.Sort(order[configured:]) // tenants only seen in usage: by name
	var out []Spend
	for _, t := range order {
		s := by[t]
		s.Days = len(days)
		if cfg != nil {
			for _, tc := range cfg.Tenants {
				if tc.Name == t && tc.DailyAPIBudget > 0 {
					s.Budget = tc.DailyAPIBudget * int64(s.Days)
				}
			}
		}
		for e, n := range eps[t] {
			s.Top = append(s.Top, EndpointCalls{e, n})
		}
		slices.SortFunc(s.Top, func(a, b EndpointCalls) int {
			return cmp.Or(cmp.Compare(b.Calls, a.Calls), cmp.Compare(a.Endpoint, b.Endpoint))
		})
		if len(s.Top) > 5 {
			s.Top = s.Top[:5]
		}
		out = append(out, *s)
	}
	return out, nil
}

// listOpened lists the incidents opened in [from, to), paging past the
// store's row cap.
func listOpened(ctx context.Context, st Store, from, to time.Time) ([]store.Incident, error) {
	return listAll(ctx, st, store.IncidentFilter{OpenedFrom: from, OpenedTo: to})
}

const pageSize = 10000

func listAll(ctx context.Context, st Store, f store.IncidentFilter) ([]store.Incident, error) {
	seen := map[int64]bool{}
	var out []store.Incident
	f.Limit = pageSize
	for {
		page, err := st.ListIncidents(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("digest: incidents: %w", err)
		}
		added := 0
		for _, in := range page {
			if !seen[in.ID] {
				seen[in.ID] = true
				out = append(out, in)
				added++
			}
		}
		if len(page) < pageSize || added == 0 {
			break
		}
		// Newest first: continue below the oldest opened_at of the page
		// (inclusive, duplicates are skipped).
		f.OpenedTo = page[len(page)-1].OpenedAt.Add(time.Microsecond)
	}
	slices.SortFunc(out, func(a, b store.Incident) int {
		return cmp.Or(a.OpenedAt.Compare(b.OpenedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

func dedupe(ins []store.Incident) []store.Incident {
	seen := map[int64]bool{}
	var out []store.Incident
	for _, in := range ins {
		if !seen[in.ID] {
			seen[in.ID] = true
			out = append(out, in)
		}
	}
	return out
}

// underCauses moves each child (CausedBy) right after its cause when the
// cause is in the list, keeping the order otherwise.
func underCauses(ins []Incident) []Incident {
	in := map[int64]bool{}
	for _, i := range ins {
		in[i.ID] = true
	}
	kids := map[int64][]Incident{}
	var top []Incident
	for _, i := range ins {
		if i.CausedBy != 0 && in[i.CausedBy] && i.CausedBy != i.ID {
			kids[i.CausedBy] = append(kids[i.CausedBy], i)
			continue
		}
		top = append(top, i)
	}
	out := make([]Incident, 0, len(ins))
	for _, i := range top {
		out = append(out, i)
		out = append(out, kids[i.ID]...)
	}
	return out
}

func sortIncidents(ins []Incident) {
	slices.SortFunc(ins, func(a, b Incident) int { return cmp.Or(a.OpenedAt.Compare(b.OpenedAt), cmp.Compare(a.ID, b.ID)) })
}

func counts(m map[string][2]int) []Count {
	var out []Count
	for name, c := range m {
		out = append(out, Count{Name: name, Count: c[0], Previous: c[1]})
	}
	slices.SortFunc(out, func(a, b Count) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name)) })
	return out
}

// stats computes nearest-rank percentiles: the median is the value at rank
// ⌈0.5·n⌉ and p90 at ⌈0.9·n⌉ of the sorted values.
func stats(ds []time.Duration) Stats {
	if len(ds) == 0 {
		return Stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) time.Duration { return s[int(math.Ceil(p*float64(len(s))))-1] }
	return Stats{N: len(s), Median: rank(0.5), P90: rank(0.9)}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
