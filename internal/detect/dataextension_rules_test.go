package detect

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

var deT0 = time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)

func deTenant(objects map[string]config.Object, critical ...string) *config.Tenant {
	t := &config.Tenant{Name: "t", Objects: objects}
	t.Monitors = config.DefaultMonitors()
	t.Monitors.DataExtensions.Critical = critical
	return t
}

func deSnap(key string, rows *int64, st resource.DataExtensionState) store.Snapshot {
	if st.Name == "" {
		st.Name = key
	}
	return store.Snapshot{ID: 1, ResourceRef: resource.Ref("t", resource.DataExtension, key), ObservedAt: deT0,
		Status: resource.StatusActive, RowCount: rows, Payload: resource.Encode(st)}
}

func n64(v int64) *int64 { return &v }

// loads builds a Loads history: the first sample is the first measurement,
// each next one an hour later.
func loads(counts ...int64) []resource.RowSample {
	out := make([]resource.RowSample, len(counts))
	start := deT0.Add(-time.Duration(len(counts)-1) * time.Hour)
	for i, c := range counts {
		out[i] = resource.RowSample{At: start.Add(time.Duration(i) * time.Hour), Rows: c, First: i == 0}
	}
	return out
}

func runDE(t *testing.T, r Rule, tenant *config.Tenant, hist Snapshots, snaps ...store.Snapshot) []Finding {
	t.Helper()
	rules := config.DefaultRules()
	in := &Input{Now: deT0, Tenant: tenant, Rules: &rules, Type: resource.DataExtension, Current: snaps, Snapshots: hist}
	fs, err := r.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// fakeHistory serves SnapshotHistory from a list.
type fakeHistory struct{ snaps []store.Snapshot }

func (f fakeHistory) LatestSnapshots(context.Context, string, string) ([]store.Snapshot, error) {
	return nil, nil
}

func (f fakeHistory) SnapshotHistory(_ context.Context, ref store.ResourceRef, from, to time.Time, limit int) ([]store.Snapshot, error) {
	var out []store.Snapshot
	for _, s := range f.snaps {
		if s.ResourceRef == ref && !s.ObservedAt.Before(from) && (to.IsZero() || s.ObservedAt.Before(to)) {
			out = append(out, s)
		}
	}
	return out, nil
}

func TestDERowDropBoundaries(t *testing.T) {
	measured := func(cur int64, l []resource.RowSample) store.Snapshot {
		return deSnap("D", n64(cur), resource.DataExtensionState{RowCountAt: deT0, Loads: l, ObservedSince: l[0].At})
	}
	cases := []struct {
		name string
		snap store.Snapshot
		objs map[string]config.Object
		crit []string
		want catalog.Severity // "" = none
	}{
		{"exactly warn_drop", measured(700, loads(1000, 700)), nil, nil, catalog.Warning},
		{"just under warn_drop", measured(701, loads(1000, 701)), nil, nil, ""},
		{"exactly error_drop", measured(500, loads(1000, 500)), nil, nil, catalog.Error},
		{"previous exactly min_previous_rows", measured(3, loads(5, 3)), nil, nil, catalog.Warning},
		{"previous under min_previous_rows", measured(2, loads(4, 2)), nil, nil, ""},
		{"rise", measured(2000, loads(1000, 2000)), nil, nil, ""},
		{"still depressed after later loads", measured(330, loads(1000, 300, 310, 330)), nil, nil, catalog.Error},
		{"recovered", measured(950, loads(1000, 300, 950)), nil, nil, ""},
		{"empty is left to data_extension.empty", measured(0, loads(1000, 0)), nil, nil, ""},
		{"under min_rows is left to empty", measured(400, loads(1000, 400)), map[string]config.Object{"data_extension:D": {MinRows: 500}}, nil, ""},
		{"per-object warn override", measured(850, loads(1000, 850)), map[string]config.Object{"data_extension:D": {RowDrop: config.RowDrop{Warn: 0.1, Error: 0.2}}}, nil, catalog.Warning},
		{"per-object error override", measured(800, loads(1000, 800)), map[string]config.Object{"data_extension:D": {RowDrop: config.RowDrop{Warn: 0.1, Error: 0.2}}}, nil, catalog.Error},
		{"critical DE does not just warn", measured(700, loads(1000, 700)), nil, []string{"D"}, catalog.Error},
		{"not measured", deSnap("D", n64(700), resource.DataExtensionState{Loads: loads(1000, 700)}), nil, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := runDE(t, DERowDrop{}, deTenant(c.objs, c.crit...), nil, c.snap)
			switch {
			case c.want == "" && len(fs) > 0:
				t.Fatalf("unexpected finding %s: %s", fs[0].Severity, fs[0].Detail)
			case c.want != "" && len(fs) != 1:
				t.Fatalf("got %d findings, want one %s", len(fs), c.want)
			case c.want != "" && fs[0].Severity != c.want:
				t.Fatalf("severity %s, want %s (%s)", fs[0].Severity, c.want, fs[0].Detail)
			}
		})
	}
	// A drop older than the hold window is the new normal.
	old := loads(1000, 300, 300)
	old[1].At = deT0.Add(-DERowDropHold - time.Hour)
	old[0].At = old[1].At.Add(-time.Hour)
	if fs := runDE(t, DERowDrop{}, deTenant(nil), nil, measured(300, old)); len(fs) != 0 {
		t.Fatalf("drop older than %s still reported: %s", DERowDropHold, fs[0].Detail)
	}
}

// hourOfWeek builds history snapshots for the previous weeks at deT0's hour.
func hourOfWeek(key string, counts ...int64) []store.Snapshot {
	var out []store.Snapshot
	for k, c := range counts {
		at := deT0.AddDate(0, 0, -7*(k+1)).Add(10 * time.Minute)
		out = append(out, store.Snapshot{ResourceRef: resource.Ref("t", resource.DataExtension, key), ObservedAt: at, RowCount: n64(c)})
	}
	return out
}

func TestDERowDropHourOfWeekBaseline(t *testing.T) {
	since := deT0.AddDate(0, 0, -30)
	snap := func(cur int64, l []resource.RowSample) store.Snapshot {
		return deSnap("D", n64(cur), resource.DataExtensionState{RowCountAt: deT0, Loads: l, ObservedSince: since})
	}
	flat := loads(4000, 4000) // no previous-load drop signal
	flat[1].Rows = 4100
	cases := []struct {
		name string
		hist []store.Snapshot
		cur  int64
		want catalog.Severity
		text string
	}{
		// Mondays 06:00 usually hold ~10k; one past incident week (2k) does not move the median.
		{"seasonal drop with a past incident", hourOfWeek("D", 10000, 10200, 2000, 9900), 4100, catalog.Error, "usual 9950"},
		{"normal for this hour", hourOfWeek("D", 4000, 4200, 4100, 3900), 4100, "", ""},
		{"too few weeks", hourOfWeek("D", 10000, 10200), 4100, "", ""},
		{"flat history (MAD 0) uses the relative test", hourOfWeek("D", 6000, 6000, 6000, 6000), 4100, catalog.Warning, "−32%"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := runDE(t, DERowDrop{}, deTenant(nil), fakeHistory{c.hist}, snap(c.cur, flat))
			if c.want == "" {
				if len(fs) > 0 {
					t.Fatalf("unexpected finding: %s", fs[0].Detail)
				}
				return
			}
			if len(fs) != 1 || fs[0].Severity != c.want || !strings.Contains(fs[0].Detail, c.text) {
				t.Fatalf("findings %+v, want %s containing %q", fs, c.want, c.text)
			}
		})
	}
	// Without 3 weeks of observation the baseline is not consulted.
	young := deSnap("D", n64(4100), resource.DataExtensionState{RowCountAt: deT0, Loads: flat, ObservedSince: deT0.AddDate(0, 0, -10)})
	if fs := runDE(t, DERowDrop{}, deTenant(nil), fakeHistory{hourOfWeek("D", 10000, 10000, 10000, 10000)}, young); len(fs) != 0 {
		t.Fatalf("baseline used with 10 days of history: %s", fs[0].Detail)
	}
}

func TestMedianMAD(t *testing.T) {
	m, s := MedianMAD([]float64{10, 12, 11, 100})
	if m != 11.5 || s != 1 {
		t.Fatalf("median %v spread %v", m, s)
	}
	m, s = MedianMAD([]float64{5, 5, 5, 9})
	if m != 5 || s != 1.2533 {
		t.Fatalf("flat: median %v spread %v (want mean-absolute-deviation fallback)", m, s)
	}
}

func TestDEEmpty(t *testing.T) {
	snap := func(cur int64, l []resource.RowSample) store.Snapshot {
		return deSnap("D", n64(cur), resource.DataExtensionState{RowCountAt: deT0, Loads: l})
	}
	minRows := func(n int64) map[string]config.Object {
		return map[string]config.Object{"data_extension:D": {MinRows: n}}
	}
	cases := []struct {
		name string
		snap store.Snapshot
		objs map[string]config.Object
		want bool
	}{
		{"emptied", snap(0, loads(10, 0)), nil, true},
		{"had exactly min_previous_rows (1)", snap(0, loads(1, 0)), nil, true},
		{"never had rows", snap(0, loads(0)), nil, false},
		{"first measurement empty, no history", snap(0, nil), nil, false},
		{"one row is not empty", snap(1, loads(10, 1)), nil, false},
		{"below min_rows", snap(99, loads(500, 99)), minRows(100), true},
		{"exactly min_rows", snap(100, loads(500, 100)), minRows(100), false},
		{"min_rows needs no history", snap(0, nil), minRows(100), true},
		{"refilled", snap(20, loads(10, 0, 20)), nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := runDE(t, DEEmpty{}, deTenant(c.objs), nil, c.snap)
			if (len(fs) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", fs, c.want)
			}
			if c.want && fs[0].Severity != catalog.Error {
				t.Fatalf("severity %s", fs[0].Severity)
			}
		})
	}
	// Empty when the emptied measurement is the one before: FirstSeen is
	// when it went empty.
	l := loads(10, 0)
	fs := runDE(t, DEEmpty{}, deTenant(nil), nil, snap(0, l))
	if !fs[0].FirstSeen.Equal(l[1].At) {
		t.Fatalf("first seen %s, want %s", fs[0].FirstSeen, l[1].At)
	}
	// min_rows works in an audit (no history store).
	rules := config.DefaultRules()
	in := &Input{Now: deT0, Tenant: deTenant(minRows(5)), Rules: &rules, Type: resource.DataExtension,
		Current: []store.Snapshot{snap(0, nil)}}
	reg, _ := NewRegistry(DEEmpty{}, DERowDrop{}, DESchemaDrift{})
	res, err := reg.Evaluate(context.Background(), in)
	if err != nil || len(res["data_extension.empty"]) != 1 {
		t.Fatalf("audit: %v %v", res, err)
	}
	if _, ran := res["data_extension.row_drop"]; ran {
		t.Fatal("row_drop needs history: must not run in an audit")
	}
}

func TestDiffFields(t *testing.T) {
	old := []resource.Field{
		{Name: "Email", Type: "EmailAddress", MaxLength: 254, Required: true},
		{Name: "OrderDate", Type: "Date"},
		{Name: "Total", Type: "Decimal", MaxLength: 18, Scale: 2},
		{Name: "Legacy", Type: "Text", MaxLength: 10},
	}
	cur := []resource.Field{
		{Name: "email", Type: "EmailAddress", MaxLength: 254, Required: true}, // case only
		{Name: "OrderDate", Type: "Text", MaxLength: 100},
		{Name: "Total", Type: "Decimal", MaxLength: 18, Scale: 4},
		{Name: "Consent_Status", Type: "Text", MaxLength: 20},
	}
	d := DiffFields(old, cur)
	want := "Added: Consent_Status Text(20); Removed: Legacy; Retyped: OrderDate Date → Text(100), Total Decimal(18,2) → Decimal(18,4)"
	if d.String() != want {
		t.Fatalf("diff\n got %s\nwant %s", d, want)
	}
	if d.Summary() != "1 field added, 1 field removed, 2 fields retyped" {
		t.Fatalf("summary %q", d.Summary())
	}
	if s := DiffFields(old, old).String(); !strings.HasPrefix(s, "No field differences") {
		t.Fatalf("same schema: %q", s)
	}
}

func TestDESchemaDriftWindow(t *testing.T) {
	oldF := []resource.Field{{Name: "A", Type: "Text", MaxLength: 10}}
	newF := []resource.Field{{Name: "A", Type: "Number"}, {Name: "B", Type: "Date"}}
	prevAt := deT0.Add(-48 * time.Hour)
	hist := fakeHistory{[]store.Snapshot{
		deSnapAt("D", prevAt, resource.DataExtensionState{Fields: oldF, FieldsAt: prevAt}),
	}}
	for _, c := range []struct {
		name    string
		changed time.Time
		want    bool
	}{
		{"just changed", deT0, true},
		{"23h59m ago", deT0.Add(-DESchemaDriftHold + time.Minute), true},
		{"24h ago", deT0.Add(-DESchemaDriftHold), false},
		{"never changed", time.Time{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := resource.DataExtensionState{SchemaChangedAt: c.changed, PreviousFieldsAt: prevAt, PreviousSchemaHash: "aaaaaaaaaaaa"}
			fieldsAt := c.changed
			if c.changed.Equal(deT0) {
				st.Fields = newF
			}
			st.FieldsAt = fieldsAt
			h := hist
			h.snaps = append(h.snaps, deSnapAt("D", fieldsAt, resource.DataExtensionState{Fields: newF, FieldsAt: fieldsAt}))
			s := deSnap("D", nil, st)
			s.SchemaHash = "bbbbbbbbbbbb"
			fs := runDE(t, DESchemaDrift{}, deTenant(nil), h, s)
			if (len(fs) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", fs, c.want)
			}
			if !c.want {
				return
			}
			f := fs[0]
			if f.Severity != catalog.Warning || f.Title != "Data extension 'D' schema changed: 1 field added, 1 field retyped" ||
				!strings.HasPrefix(f.Detail, "Added: B Date; Retyped: A Text(10) → Number. ") || !f.FirstSeen.Equal(c.changed) {
				t.Fatalf("finding %s %q %q %s", f.Severity, f.Title, f.Detail, f.FirstSeen)
			}
		})
	}
	// Pruned history: still a finding, without field names.
	st := resource.DataExtensionState{SchemaChangedAt: deT0, FieldsAt: deT0, Fields: newF, PreviousFieldsAt: prevAt.Add(-time.Hour)}
	fs := runDE(t, DESchemaDrift{}, deTenant(nil), hist, deSnap("D", nil, st))
	if len(fs) != 1 || !strings.Contains(fs[0].Detail, "cannot be named") {
		t.Fatalf("pruned: %+v", fs)
	}
}

func deSnapAt(key string, at time.Time, st resource.DataExtensionState) store.Snapshot {
	s := deSnap(key, nil, st)
	s.ObservedAt = at
	return s
}

func TestFreshnessThresholds(t *testing.T) {
	cfg := config.DefaultRules().DataExtensionStale
	hourly := loads(1, 2, 3, 4, 5, 6, 7, 8, 9) // 8 load intervals of 1 h (the first sample is not a load)
	sixLoads := loads(1, 2, 3, 4, 5, 6, 7, 8)  // 6 intervals: under min_learn_intervals
	cases := []struct {
		name          string
		obj           config.Object
		loads         []resource.RowSample
		warn, errA, i time.Duration
		mode          string
	}{
		{"declared SLA", config.Object{Freshness: config.Freshness{WarnAfter: config.Duration(3 * time.Hour), ErrorAfter: config.Duration(6 * time.Hour)}}, hourly, 3 * time.Hour, 6 * time.Hour, 0, "declared"},
		{"declared error_after alone", config.Object{Freshness: config.Freshness{ErrorAfter: config.Duration(6 * time.Hour)}}, nil, 0, 6 * time.Hour, 0, "declared"},
		{"declared interval beats learned", config.Object{ExpectedInterval: config.Duration(24 * time.Hour)}, hourly, 36 * time.Hour, 48 * time.Hour, 24 * time.Hour, "expected_interval"},
		{"declared interval under the floors", config.Object{ExpectedInterval: config.Duration(5 * time.Minute)}, nil, 15 * time.Minute, 30 * time.Minute, 5 * time.Minute, "expected_interval"},
		{"learned", config.Object{}, hourly, 90 * time.Minute, 2 * time.Hour, time.Hour, "learned"},
		{"too few intervals to learn", config.Object{}, sixLoads, 0, 0, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, e, i, m := FreshnessThresholds(cfg, c.obj, c.loads)
			if w != c.warn || e != c.errA || i != c.i || m != c.mode {
				t.Fatalf("got %s %s %s %q, want %s %s %s %q", w, e, i, m, c.warn, c.errA, c.i, c.mode)
			}
		})
	}
	// Exactly min_learn_intervals (7) intervals learns.
	if got := LearnedInterval(loads(1, 2, 3, 4, 5, 6, 7, 8, 9)[1:], 20, 7); got != time.Hour {
		t.Fatalf("7 intervals: %s", got)
	}
	// The median ignores one long outage interval.
	l := loads(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	for i := 6; i < len(l); i++ {
		l[i].At = l[i].At.Add(10 * time.Hour)
	}
	if got := LearnedInterval(l, 20, 7); got != time.Hour {
		t.Fatalf("median with one outage: %s", got)
	}
}

func TestDEStale(t *testing.T) {
	sla := map[string]config.Object{"data_extension:D": {Freshness: config.Freshness{WarnAfter: config.Duration(2 * time.Hour), ErrorAfter: config.Duration(4 * time.Hour)}}}
	snap := func(lastLoad, countAt time.Time) store.Snapshot {
		return deSnap("D", n64(10), resource.DataExtensionState{LastLoadAt: lastLoad, RowCountAt: countAt,
			ObservedSince: deT0.Add(-30 * 24 * time.Hour), Loads: loads(9, 10), ModifiedAt: deT0.Add(-100 * time.Hour)})
	}
	hist := fakeHistory{}
	cases := []struct {
		name string
		snap store.Snapshot
		want catalog.Severity
	}{
		{"exactly warn_after is fresh", snap(deT0.Add(-2*time.Hour), deT0), ""},
		{"past warn_after", snap(deT0.Add(-2*time.Hour-time.Second), deT0), catalog.Warning},
		{"exactly error_after warns", snap(deT0.Add(-4*time.Hour), deT0), catalog.Warning},
		{"past error_after", snap(deT0.Add(-4*time.Hour-time.Second), deT0), catalog.Error},
		// Last measured 3h ago, 1h after the load: evidence is for 1h only.
		{"age is measured to the last count", snap(deT0.Add(-4*time.Hour-time.Second), deT0.Add(-3*time.Hour)), ""},
		{"no load seen since monitoring started", deSnap("D", n64(10), resource.DataExtensionState{RowCountAt: deT0, ObservedSince: deT0.Add(-5 * time.Hour)}), catalog.Error},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := runDE(t, DEStale{}, deTenant(sla), hist, c.snap)
			if c.want == "" {
				if len(fs) != 0 {
					t.Fatalf("unexpected: %s %s", fs[0].Severity, fs[0].Title)
				}
				return
			}
			if len(fs) != 1 || fs[0].Severity != c.want {
				t.Fatalf("findings %+v, want %s", fs, c.want)
			}
		})
	}
	// No SLA, nothing learned: not checked.
	if fs := runDE(t, DEStale{}, deTenant(nil), hist, snap(deT0.Add(-100*time.Hour), deT0)); len(fs) != 0 {
		t.Fatalf("unchecked DE reported: %s", fs[0].Title)
	}
	// Learned hourly: 2h01m without a load is an error.
	l := loads(1, 2, 3, 4, 5, 6, 7, 8, 9)
	st := resource.DataExtensionState{Loads: l, LastLoadAt: l[len(l)-1].At, RowCountAt: l[len(l)-1].At.Add(2*time.Hour + time.Minute)}
	s := deSnap("D", n64(9), st)
	s.ObservedAt = st.RowCountAt
	fs := runDE(t, DEStale{}, deTenant(nil), hist, s)
	if len(fs) != 1 || fs[0].Severity != catalog.Error || !strings.Contains(fs[0].Title, "usually loaded every 1h") {
		t.Fatalf("learned: %+v", fs)
	}
	// First look (audit or serve's first cycle): no load seen yet, and an
	// old ModifiedDate proves nothing (it moves with definition edits, not
	// loads), so nothing is stale yet; a DE whose last load was seen
	// recently is fresh whatever its ModifiedDate. Once monitoring has run
	// past the SLA without seeing a load, it is stale.
	rules := config.DefaultRules()
	auditSnap := deSnap("D", n64(10), resource.DataExtensionState{ModifiedAt: deT0.Add(-5 * time.Hour), ObservedSince: deT0.Add(-5 * time.Hour)})
	learnedSnap := deSnap("E", n64(10), resource.DataExtensionState{ModifiedAt: deT0.Add(-500 * time.Hour), Loads: l, LastLoadAt: deT0.Add(-30 * time.Minute)})
	in := &Input{Now: deT0, Tenant: deTenant(sla), Rules: &rules, Type: resource.DataExtension, Current: []store.Snapshot{auditSnap, learnedSnap}}
	fs, err := DEStale{}.Evaluate(context.Background(), in)
	if err != nil || len(fs) != 1 || fs[0].ResourceKey != "D" || fs[0].Severity != catalog.Error || !strings.Contains(fs[0].Detail, "No load seen since monitoring started") {
		t.Fatalf("audit: %+v %v", fs, err)
	}
	// The first look itself: an old ModifiedDate alone is not staleness.
	first := deSnap("F", n64(10), resource.DataExtensionState{ModifiedAt: deT0.Add(-500 * time.Hour), ObservedSince: deT0})
	in.Current = []store.Snapshot{first}
	if fs, err := (DEStale{}).Evaluate(context.Background(), in); err != nil || len(fs) != 0 {
		t.Fatalf("old ModifiedDate on the first look: %+v %v", fs, err)
	}
}

func TestCurrentDEsSkipsDeletedAndGone(t *testing.T) {
	a := deSnap("A", n64(0), resource.DataExtensionState{RowCountAt: deT0, Loads: loads(10, 0)})
	gone := deSnap("B", n64(0), resource.DataExtensionState{RowCountAt: deT0, Loads: loads(10, 0)})
	gone.ObservedAt = deT0.Add(-time.Hour)
	del := deSnap("C", n64(0), resource.DataExtensionState{RowCountAt: deT0, Loads: loads(10, 0)})
	del.Status = resource.StatusDeleted
	fs := runDE(t, DEEmpty{}, deTenant(nil), nil, a, gone, del)
	if len(fs) != 1 || fs[0].ResourceKey != "A" {
		t.Fatalf("findings %+v", fs)
	}
}
