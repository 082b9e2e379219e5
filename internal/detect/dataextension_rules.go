package detect

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Data extension rule constants (not configurable yet).
const (
	// DERowDropHold: a drop against the previous load stays a finding while
	// the count stays that far below the pre-drop level, for at most this
	// long after the drop was measured (then it is the new normal).
	DERowDropHold = 7 * 24 * time.Hour
	// DESchemaDriftHold: schema drift is an event; its finding stays open
	// this long after the change was observed (a revert is a new change).
	DESchemaDriftHold = 24 * time.Hour
	// Hour-of-week baseline (research/detection.md §3.5): the same hour of
	// the week in the previous DEBaselineWeeks weeks (tenant time zone),
	// needing DEBaselineMinSamples of them; modified z ≤ −DEBaselineZ.
	DEBaselineWeeks      = 4
	DEBaselineMinSamples = 3
	DEBaselineZ          = 3.5
)

// Remediation texts (functions: no package-level mutable state).
func deVolumeRemediation() []string {
	return []string{
		"Check the last run of the import, query or automation that writes this data extension (Automation Studio activity history).",
		"Compare the source file or query result with the previous load; look for a truncated file, an overwrite instead of an update, or a changed filter.",
		"Pause sends and journeys that use this data extension until the data is restored.",
	}
}

func deStaleRemediation() []string {
	return []string{
		"Check that the automation or import that loads this data extension is active and ran on schedule.",
		"Look for a missing source file (file drop) or an errored query activity.",
		"If the schedule changed on purpose, update expected_interval or freshness for this object.",
	}
}

func deSchemaRemediation() []string {
	return []string{
		"Confirm the change was intended (audit trail: who edited the data extension).",
		"Update the imports, queries, AMPscript and integrations that write or read the changed fields.",
	}
}

// deObs is one current data extension snapshot with its decoded state.
type deObs struct {
	snap store.Snapshot
	st   resource.DataExtensionState
}

func (o deObs) rows() (int64, bool) {
	if o.snap.RowCount == nil || o.st.RowCountAt.IsZero() {
		return 0, false
	}
	return *o.snap.RowCount, true
}

// currentDEs decodes the current snapshots, skipping deleted DEs and DEs
// missing from the last collection (their latest snapshot is older).
func currentDEs(in *Input) ([]deObs, error) {
	var newest time.Time
	for _, s := range in.Current {
		if s.ObservedAt.After(newest) {
			newest = s.ObservedAt
		}
	}
	out := make([]deObs, 0, len(in.Current))
	for _, s := range in.Current {
		if s.Status == resource.StatusDeleted || s.ObservedAt.Before(newest) {
			continue
		}
		var st resource.DataExtensionState
		if err := resource.Decode(s, &st); err != nil {
			return nil, err
		}
		out = append(out, deObs{snap: s, st: st})
	}
	return out, nil
}

func deName(o deObs) string {
	if o.st.Name != "" {
		return o.st.Name
	}
	return o.snap.ResourceKey
}

func deFinding(in *Input, o deObs, sev catalog.Severity, first time.Time, title, detail string, rem []string) Finding {
	return Finding{
		Severity: sev, Tenant: in.Tenant.Name, ResourceType: resource.DataExtension,
		ResourceKey: o.snap.ResourceKey, ResourceName: o.st.Name, Title: title, Detail: detail,
		Owner: catalog.DataEngineering, Remediation: rem, FirstSeen: first,
		Evidence: []store.Evidence{{Kind: store.EvidenceSnapshot, RefID: o.snap.ID, AddedAt: in.Now}},
	}
}

// deEscalate turns a warning on a critical DE into the rule's severity
// (critical objects page instead of warning).
func deEscalate(in *Input, key string, sev, ruleSev catalog.Severity) catalog.Severity {
	if sev == catalog.Warning && in.Critical(key) && ruleSev.Rank() > sev.Rank() {
		return ruleSev
	}
	return sev
}

func dePct(r float64) string { return fmt.Sprintf("%.0f%%", 100*r) }

// ---------------------------------------------------------------- row drop

// DERowDrop is data_extension.row_drop. Two signals, one finding per DE:
//
//   - previous load (always): the latest measured count is at least
//     warn_drop (warning) / error_drop (rule severity) below the level
//     measured before the most recent qualifying drop (a measured change
//     of ≥ warn_drop against the measurement before it, that level being
//     ≥ min_previous_rows), for up to DERowDropHold after the drop. It
//     resolves when the count recovers to within warn_drop of that level.
//     Per-object row_drop.warn/error override the thresholds.
//   - hour-of-week baseline (once sfmcwatch has watched the DE for 3 weeks
//     and has ≥ 3 samples): the median and MAD of the row counts held at
//     the same hour of the week in the previous 4 weeks. The current count
//     is anomalous when its modified z ≤ −3.5 and it is ≥ warn_drop below
//     the median (median ≥ min_previous_rows). The median ignores one past
//     incident week; MAD 0 falls back to the mean absolute deviation
//     (×1.2533), and to the relative test alone when that is 0 too. It
//     catches DEs that stay low or fall gradually, which the
//     previous-load test misses.
//
// A count of 0 (or under the object's min_rows) is left to
// data_extension.empty.
type DERowDrop struct{}

// ID implements Rule.
func (DERowDrop) ID() string { return "data_extension.row_drop" }

// Type implements Rule.
func (DERowDrop) Type() resource.Type { return resource.DataExtension }

// NeedsHistory implements Rule: one observation says nothing about a drop.
func (DERowDrop) NeedsHistory() bool { return true }

// RowDropThresholds returns the effective warn and error drops.
func RowDropThresholds(cfg config.RowDropRule, obj config.Object) (warn, errDrop float64) {
	warn, errDrop = float64(cfg.WarnDrop), float64(cfg.ErrorDrop)
	if obj.RowDrop.Warn > 0 {
		warn = float64(obj.RowDrop.Warn)
	}
	if obj.RowDrop.Error > 0 {
		errDrop = float64(obj.RowDrop.Error)
	}
	return warn, errDrop
}

const ratioEps = 1e-9

// Evaluate implements Rule.
func (r DERowDrop) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.DataExtensionRowDrop
	des, err := currentDEs(in)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, o := range des {
		cur, ok := o.rows()
		obj := in.Object(o.snap.ResourceKey)
		if !ok || cur == 0 || (obj.MinRows > 0 && cur < obj.MinRows) {
			continue
		}
		warn, errDrop := RowDropThresholds(cfg, obj)
		sev := catalog.Severity("")
		var first time.Time
		var parts []string

		if ref, to, at, found := preDropLevel(o.st.Loads, warn, cfg.MinPreviousRows, in.Now.Add(-DERowDropHold)); found {
			drop := float64(ref-cur) / float64(ref)
			if drop >= warn-ratioEps {
				sev, first = catalog.Warning, at
				if drop >= errDrop-ratioEps {
					sev = cfg.Severity
				}
				parts = append(parts, fmt.Sprintf("the row count fell from %d to %d (−%s) at %s and is still %d (warn at −%s, error at −%s)",
					ref, to, dePct(float64(ref-to)/float64(ref)), at.UTC().Format(time.RFC3339), cur, dePct(warn), dePct(errDrop)))
			}
		}
		if b, ok, err := r.baseline(ctx, in, o); err != nil {
			return nil, err
		} else if ok && b.median >= float64(max(cfg.MinPreviousRows, 1)) {
			drop := (b.median - float64(cur)) / b.median
			z := math.Inf(-1)
			if b.spread > 0 {
				z = 0.6745 * (float64(cur) - b.median) / b.spread
			}
			if drop >= warn-ratioEps && z <= -DEBaselineZ {
				bs := catalog.Warning
				if drop >= errDrop-ratioEps {
					bs = cfg.Severity
				}
				if sev == "" || bs.Rank() > sev.Rank() {
					sev = bs
				}
				if first.IsZero() {
					first = o.st.RowCountAt
				}
				zs := "n/a (no spread)"
				if !math.IsInf(z, 0) {
					zs = fmt.Sprintf("%.1f", z)
				}
				parts = append(parts, fmt.Sprintf("%d rows is −%s against the usual %.0f at this hour of the week (median of %d past weeks, modified z %s)",
					cur, dePct(drop), b.median, b.n, zs))
			}
		}
		if sev == "" {
			continue
		}
		sev = deEscalate(in, o.snap.ResourceKey, sev, cfg.Severity)
		title := fmt.Sprintf("Data extension '%s' row count dropped to %d", deName(o), cur)
		detail := strings.ToUpper(parts[0][:1]) + strings.Join(parts, "; ")[1:] +
			". A silent partial load or an overwrite usually means sends and journeys now target fewer contacts."
		if why, ok := retentionExplainsDrop(o.st, first); ok {
			// Labelled as retention, not as a failure: info never pages.
			sev, title = catalog.Info, title+" (data retention)"
			detail = strings.ToUpper(parts[0][:1]) + strings.Join(parts, "; ")[1:] + "; " + why + ", which explains the drop (see data_extension.retention_risk)."
		}
		out = append(out, deFinding(in, o, sev, first, title, detail, deVolumeRemediation()))
	}
	return out, nil
}

// preDropLevel finds the most recent measured drop of at least warn (a
// load whose count is ≥ warn below the count measured before it, that
// count being ≥ minPrev) measured at or after since; it returns the level
// before the drop and when the drop was measured.
func preDropLevel(loads []resource.RowSample, warn float64, minPrev int64, since time.Time) (ref, to int64, at time.Time, ok bool) {
	for i := len(loads) - 1; i >= 1; i-- {
		if loads[i].At.Before(since) {
			break
		}
		prev, cur := loads[i-1].Rows, loads[i].Rows
		if prev <= 0 || prev < minPrev || cur >= prev {
			continue
		}
		if float64(prev-cur)/float64(prev) >= warn-ratioEps {
			return prev, cur, loads[i].At, true
		}
	}
	return 0, 0, time.Time{}, false
}

type deBaseline struct {
	median, spread float64
	n              int
}

// baseline computes the hour-of-week baseline at the DE's last
// measurement, or ok=false when there is not enough history.
func (DERowDrop) baseline(ctx context.Context, in *Input, o deObs) (deBaseline, bool, error) {
	at := o.st.RowCountAt
	if in.Snapshots == nil || at.IsZero() || o.st.ObservedSince.IsZero() ||
		at.Sub(o.st.ObservedSince) < time.Duration(DEBaselineMinSamples)*7*24*time.Hour {
		return deBaseline{}, false, nil
	}
	loc := in.Tenant.Location()
	ref := resource.Ref(in.Tenant.Name, resource.DataExtension, o.snap.ResourceKey)
	var xs []float64
	for k := 1; k <= DEBaselineWeeks; k++ {
		t := at.In(loc).AddDate(0, 0, -7*k)
		from := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, loc)
		snaps, err := in.Snapshots.SnapshotHistory(ctx, ref, from, from.Add(time.Hour), 32)
		if err != nil {
			return deBaseline{}, false, err
		}
		for i := len(snaps) - 1; i >= 0; i-- {
			if snaps[i].RowCount != nil && snaps[i].Status != resource.StatusDeleted {
				xs = append(xs, float64(*snaps[i].RowCount))
				break
			}
		}
	}
	if len(xs) < DEBaselineMinSamples {
		return deBaseline{}, false, nil
	}
	med, spread := MedianMAD(xs)
	return deBaseline{median: med, spread: spread, n: len(xs)}, true, nil
}

// MedianMAD returns the median of xs and a robust spread: the median
// absolute deviation, or when that is 0 the mean absolute deviation ×
// 1.2533 (research/detection.md §3.5).
func MedianMAD(xs []float64) (median, spread float64) {
	med := deMedian(xs)
	dev := make([]float64, len(xs))
	sum := 0.0
	for i, x := range xs {
		dev[i] = math.Abs(x - med)
		sum += dev[i]
	}
	mad := deMedian(dev)
	if mad == 0 && len(xs) > 0 {
		mad = 1.2533 * sum / float64(len(xs))
	}
	return med, mad
}

func deMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ---------------------------------------------------------------- empty

// DEEmpty is data_extension.empty: the latest measured count is 0 (or
// below the object's min_rows) and the DE had at least min_previous_rows
// rows before (or declares min_rows, which needs no history and so also
// works in an audit). It holds until the DE is measured above the floor
// again.
type DEEmpty struct{}

// ID implements Rule.
func (DEEmpty) ID() string { return "data_extension.empty" }

// Type implements Rule.
func (DEEmpty) Type() resource.Type { return resource.DataExtension }

// NeedsHistory implements Rule: declared min_rows work in an audit.
func (DEEmpty) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (DEEmpty) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.DataExtensionEmpty
	des, err := currentDEs(in)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, o := range des {
		cur, ok := o.rows()
		if !ok {
			continue
		}
		obj := in.Object(o.snap.ResourceKey)
		floor := max(obj.MinRows, 1)
		if cur >= floor {
			continue
		}
		// The level before the count fell under the floor.
		var had int64 = -1
		first := o.st.RowCountAt
		for i := len(o.st.Loads) - 1; i >= 0; i-- {
			if l := o.st.Loads[i]; l.Rows >= floor {
				had = l.Rows
				break
			} else {
				first = l.At
			}
		}
		name := deName(o)
		switch {
		case obj.MinRows > 0:
			title := fmt.Sprintf("Data extension '%s' has %d rows, fewer than min_rows %d", name, cur, obj.MinRows)
			if cur == 0 {
				title = fmt.Sprintf("Data extension '%s' is empty (min_rows %d)", name, obj.MinRows)
			}
			detail := fmt.Sprintf("Measured %d rows at %s; this data extension is declared to hold at least %d.", cur,
				o.st.RowCountAt.UTC().Format(time.RFC3339), obj.MinRows)
			if had >= 0 {
				detail += fmt.Sprintf(" It had %d before.", had)
			}
			out = append(out, deFinding(in, o, cfg.Severity, first, title, detail, deVolumeRemediation()))
		case had >= max(cfg.MinPreviousRows, 1):
			title := fmt.Sprintf("Data extension '%s' is empty", name)
			detail := fmt.Sprintf("Measured 0 rows at %s; it had %d rows before. An overwrite import with an empty file or a query with a broken filter empties a table while reporting success.",
				o.st.RowCountAt.UTC().Format(time.RFC3339), had)
			out = append(out, deFinding(in, o, cfg.Severity, first, title, detail, deVolumeRemediation()))
		}
	}
	return out, nil
}

// ---------------------------------------------------------------- schema drift

// DESchemaDrift is data_extension.schema_drift: SchemaHash changed against
// the previous snapshot (the collector records when, and the schema before).
// Drift is an event, not a state: the finding names the added, removed and
// retyped fields and stays open for DESchemaDriftHold (24 h) after the
// change was observed, then resolves by itself. Reverting the change is a
// change too (a new 24 h window whose diff shows the revert).
type DESchemaDrift struct{}

// ID implements Rule.
func (DESchemaDrift) ID() string { return "data_extension.schema_drift" }

// Type implements Rule.
func (DESchemaDrift) Type() resource.Type { return resource.DataExtension }

// NeedsHistory implements Rule.
func (DESchemaDrift) NeedsHistory() bool { return true }

// Evaluate implements Rule.
func (DESchemaDrift) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	sev := in.Rules.DataExtensionSchemaDrift.Severity
	des, err := currentDEs(in)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, o := range des {
		at := o.st.SchemaChangedAt
		if at.IsZero() || in.Now.Sub(at) >= DESchemaDriftHold || at.After(in.Now) {
			continue
		}
		oldFields, err := fieldsAt(ctx, in, o.snap.ResourceKey, o.st.PreviousFieldsAt)
		if err != nil {
			return nil, err
		}
		newFields := o.st.Fields
		if newFields == nil {
			if newFields, err = fieldsAt(ctx, in, o.snap.ResourceKey, o.st.FieldsAt); err != nil {
				return nil, err
			}
		}
		d := DiffFields(oldFields, newFields)
		name := deName(o)
		title := fmt.Sprintf("Data extension '%s' schema changed", name)
		detail := fmt.Sprintf("Observed at %s (hash %s → %s).", at.UTC().Format(time.RFC3339), short(o.st.PreviousSchemaHash), short(o.snap.SchemaHash))
		if oldFields != nil && newFields != nil {
			title += ": " + d.Summary()
			detail = d.String() + ". " + detail
		} else {
			detail += " The previous field list is no longer stored, so the changed fields cannot be named."
		}
		detail += fmt.Sprintf(" Writers and readers of the changed fields may fail or truncate data; this finding closes %s after the change.", DESchemaDriftHold)
		out = append(out, deFinding(in, o, sev, at, title, detail, deSchemaRemediation()))
	}
	return out, nil
}

func short(h string) string {
	if len(h) > 8 {
		return h[:8]
	}
	if h == "" {
		return "?"
	}
	return h
}

// fieldsAt reads the field list stored on the DE snapshot observed at t
// (nil when none is stored any more).
func fieldsAt(ctx context.Context, in *Input, key string, t time.Time) ([]resource.Field, error) {
	if in.Snapshots == nil || t.IsZero() {
		return nil, nil
	}
	snaps, err := in.Snapshots.SnapshotHistory(ctx, resource.Ref(in.Tenant.Name, resource.DataExtension, key),
		t.Add(-time.Millisecond), t.Add(time.Millisecond), 8)
	if err != nil {
		return nil, err
	}
	// Snapshots are stored on change: the history may start with the
	// state before t (reported as observed at t-1ms); the poll that read
	// the fields at t carries FieldsAt t.
	var found []resource.Field
	for _, s := range snaps {
		var st resource.DataExtensionState
		if resource.Decode(s, &st) == nil && st.Fields != nil {
			if st.FieldsAt.Equal(t) {
				return st.Fields, nil
			}
			if found == nil {
				found = st.Fields
			}
		}
	}
	return found, nil
}

// FieldDiff is the difference between two DE schemas.
type FieldDiff struct {
	Added, Removed, Changed []string
}

// Summary is "1 field added, 1 retyped".
func (d FieldDiff) Summary() string {
	var p []string
	plural := func(n int, what string) {
		if n == 1 {
			p = append(p, "1 field "+what)
		} else if n > 1 {
			p = append(p, fmt.Sprintf("%d fields %s", n, what))
		}
	}
	plural(len(d.Added), "added")
	plural(len(d.Removed), "removed")
	plural(len(d.Changed), "retyped")
	if len(p) == 0 {
		return "no field differences"
	}
	return strings.Join(p, ", ")
}

// String is "Added: A Text(20); Removed: B; Retyped: C Date → Text(100)".
func (d FieldDiff) String() string {
	var p []string
	if len(d.Added) > 0 {
		p = append(p, "Added: "+strings.Join(d.Added, ", "))
	}
	if len(d.Removed) > 0 {
		p = append(p, "Removed: "+strings.Join(d.Removed, ", "))
	}
	if len(d.Changed) > 0 {
		p = append(p, "Retyped: "+strings.Join(d.Changed, ", "))
	}
	if len(p) == 0 {
		return "No field differences (only the order or letter case changed)"
	}
	return strings.Join(p, "; ")
}

// fieldType renders "Text(50)", "Decimal(18,2)", "Number", with
// " required"/" pk" markers.
func fieldType(f resource.Field) string {
	s := f.Type
	switch {
	case f.MaxLength > 0 && f.Scale > 0:
		s += fmt.Sprintf("(%d,%d)", f.MaxLength, f.Scale)
	case f.MaxLength > 0:
		s += fmt.Sprintf("(%d)", f.MaxLength)
	}
	if f.PrimaryKey {
		s += " pk"
	}
	if f.Required {
		s += " required"
	}
	return s
}

// DiffFields compares two schemas by case-insensitive field name.
func DiffFields(old, cur []resource.Field) FieldDiff {
	idx := func(fs []resource.Field) map[string]resource.Field {
		m := make(map[string]resource.Field, len(fs))
		for _, f := range fs {
			m[strings.ToLower(f.Name)] = f
		}
		return m
	}
	om, nm := idx(old), idx(cur)
	var d FieldDiff
	for _, f := range cur {
		o, ok := om[strings.ToLower(f.Name)]
		switch {
		case !ok:
			d.Added = append(d.Added, f.Name+" "+fieldType(f))
		case fieldType(o) != fieldType(f) && !strings.EqualFold(fieldType(o), fieldType(f)):
			d.Changed = append(d.Changed, f.Name+" "+fieldType(o)+" → "+fieldType(f))
		}
	}
	for _, f := range old {
		if _, ok := nm[strings.ToLower(f.Name)]; !ok {
			d.Removed = append(d.Removed, f.Name)
		}
	}
	slices.Sort(d.Added)
	slices.Sort(d.Removed)
	slices.Sort(d.Changed)
	return d
}

// ---------------------------------------------------------------- stale

// DEStale is data_extension.stale (dbt-style freshness). The age is the
// time from the last load sfmcwatch saw (LastLoadAt; when no load was seen
// yet, the first observation) to the last row-count measurement — the
// moment the DE was last seen unchanged. Thresholds, first match wins:
//
//  1. the object's freshness.warn_after / error_after (either alone);
//  2. the object's expected_interval × warn_factor / error_factor, with
//     warn_floor / error_floor as minimums;
//  3. the learned interval — the median of the last learn_intervals
//     intervals between measured loads, once there are
//     min_learn_intervals — × the factors, with the floors.
//
// Otherwise the DE is not checked. age > warn_after warns; age >
// error_after has the rule's severity. In an audit only DEs with a declared
// SLA or expected interval are checked, against ModifiedDate (the only
// load hint a single observation has).
type DEStale struct{}

// ID implements Rule.
func (DEStale) ID() string { return "data_extension.stale" }

// Type implements Rule.
func (DEStale) Type() resource.Type { return resource.DataExtension }

// NeedsHistory implements Rule: declared SLAs work in an audit.
func (DEStale) NeedsHistory() bool { return false }

// FreshnessThresholds returns the warn/error ages for a DE and how they were
// derived ("declared", "expected_interval", "learned"); mode "" means the
// DE is not checked. Zero warn or error means that level is not checked.
func FreshnessThresholds(cfg config.StaleRule, obj config.Object, loads []resource.RowSample) (warn, errAfter, interval time.Duration, mode string) {
	if obj.Freshness.WarnAfter > 0 || obj.Freshness.ErrorAfter > 0 {
		return obj.Freshness.WarnAfter.Std(), obj.Freshness.ErrorAfter.Std(), 0, "declared"
	}
	mode = "expected_interval"
	interval = obj.ExpectedInterval.Std()
	if interval <= 0 {
		mode = "learned"
		interval = LearnedInterval(loads, cfg.LearnIntervals, cfg.MinLearnIntervals)
		if interval <= 0 {
			return 0, 0, 0, ""
		}
	}
	warn = max(time.Duration(cfg.WarnFactor*float64(interval)), cfg.WarnFloor.Std())
	errAfter = max(time.Duration(cfg.ErrorFactor*float64(interval)), cfg.ErrorFloor.Std())
	return warn, errAfter, interval, mode
}

// LearnedInterval is the median of the last n intervals between measured
// loads (the first measurement is not a load), or 0 with fewer than minN.
func LearnedInterval(loads []resource.RowSample, n, minN int) time.Duration {
	var at []time.Time
	for _, l := range loads {
		if !l.First {
			at = append(at, l.At)
		}
	}
	var iv []float64
	for i := 1; i < len(at); i++ {
		iv = append(iv, float64(at[i].Sub(at[i-1])))
	}
	if n > 0 && len(iv) > n {
		iv = iv[len(iv)-n:]
	}
	if len(iv) == 0 || len(iv) < minN {
		return 0
	}
	return time.Duration(deMedian(iv))
}

// Evaluate implements Rule.
func (DEStale) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.DataExtensionStale
	des, err := currentDEs(in)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, o := range des {
		obj := in.Object(o.snap.ResourceKey)
		warn, errAfter, interval, mode := FreshnessThresholds(cfg, obj, o.st.Loads)
		if mode == "" {
			continue
		}
		// The same judgment on the first look (serve's first cycle, the
		// audit) and later: the last load sfmcwatch saw, as of the last row
		// count (or now when none was read). Without one, SFMC's
		// ModifiedDate counts only as evidence of freshness (it moves with
		// definition edits, not with loads, so an old one proves nothing):
		// the later of it and when monitoring started.
		last, asOf, basis := o.st.LastLoadAt, cmp.Or(o.st.RowCountAt, in.Now), "last load seen"
		if last.IsZero() {
			last, basis = o.st.ObservedSince, "no load seen since monitoring started"
			if o.st.ModifiedAt.After(last) {
				last, basis = o.st.ModifiedAt, "last ModifiedDate"
			}
		}
		if last.IsZero() {
			continue
		}
		age := asOf.Sub(last)
		var sev catalog.Severity
		var crossed time.Duration
		switch {
		case errAfter > 0 && age > errAfter:
			sev, crossed = cfg.Severity, errAfter
			if warn > 0 {
				crossed = warn
			}
		case warn > 0 && age > warn:
			sev, crossed = catalog.Warning, warn
		default:
			continue
		}
		sev = deEscalate(in, o.snap.ResourceKey, sev, cfg.Severity)
		expect := ""
		switch mode {
		case "declared":
			expect = "freshness SLA"
		case "expected_interval":
			expect = fmt.Sprintf("expected every %s", config.Duration(interval))
		case "learned":
			expect = fmt.Sprintf("usually loaded every %s", config.Duration(interval.Round(time.Minute)))
		}
		title := fmt.Sprintf("Data extension '%s' not refreshed for %s (%s)", deName(o), config.Duration(age.Round(time.Minute)), expect)
		th := []string{}
		if warn > 0 {
			th = append(th, "warn after "+config.Duration(warn.Round(time.Minute)).String())
		}
		if errAfter > 0 {
			th = append(th, "error after "+config.Duration(errAfter.Round(time.Minute)).String())
		}
		detail := fmt.Sprintf("%s: %s; unchanged as of %s (%s). Sends and journeys reading it use old data.",
			strings.ToUpper(basis[:1])+basis[1:], last.UTC().Format(time.RFC3339), asOf.UTC().Format(time.RFC3339), strings.Join(th, ", "))
		first := last.Add(crossed)
		if first.After(in.Now) {
			first = in.Now
		}
		out = append(out, deFinding(in, o, sev, first, title, detail, deStaleRemediation()))
	}
	return out, nil
}
