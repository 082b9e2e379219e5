package collect

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// RowCountShare is the share of the tenant's spare daily API budget
// (daily_api_budget minus every other planned call) that data extension
// row counts may spend (callplan.RowCountShare).
const RowCountShare = callplan.RowCountShare

// DataExtensionCollector reads data extensions:
//   - one paged SOAP Retrieve of DataExtension (definitions, ModifiedDate
//     and retention; 2,500 per page) on the first poll, then every
//     callplan.DEDefinitionsRefresh; in between the definitions carry
//     forward from the previous snapshots (carriedDataExtensions);
//   - one batched Retrieve of DataExtensionField (IN on the DE key, 500
//     keys a call, or unfiltered when most DEs need it) for DEs seen for
//     the first time or whose ModifiedDate moved, and once a day for every
//     DE whose field list is older than callplan.DEFieldsRefresh (all of
//     them in the same batched read, so the refresh costs a few calls a
//     day, not one a poll); the others carry SchemaHash forward;
//   - REST rowset counts (one call per DE) only for DEs whose count may
//     have moved (see readCounts): counts of DEs automations write come
//     with their output checks; the others once a day; critical DEs and
//     DEs with declared expectations every poll; at most RowCountBudget a
//     poll, in the order of SelectRowCounts.
//
// RowCount/RowCountAt carry forward when a DE is not measured this poll.
// LastLoadAt moves to the observation time when a measured count differs
// from the previous one, or to the new ModifiedDate when it moved.
type DataExtensionCollector struct {
	// RowBudget overrides the derived per-poll row-count budget (0: derive
	// with RowCountBudget; <0: no row counts).
	RowBudget int
	// Refresh overrides how often a DE nothing followed wrote is counted
	// again (0: callplan.RowCountRefresh).
	Refresh time.Duration
}

// Type implements Collector.
func (DataExtensionCollector) Type() resource.Type { return resource.DataExtension }

// RowCountBudget is the number of rowset count calls one data extension
// poll may spend, from the tenant's call plan for the reference business
// unit (config.Tenant.CallPlan, callplan.RowCountsPerPoll):
//
//	polls/day = 24h / data_extensions.interval
//	spare     = daily_api_budget − every other planned call a day
//	budget    = max(floor(RowCountShare × spare / polls/day), critical)
//
// where daily_api_budget 0 (unlimited) counts as 27,400 (Enterprise) and
// critical is the number of critical DEs (the floor: they are counted every
// poll even when the budget is spent). The same figure is the row-count
// line of check-config's estimate.
func RowCountBudget(t *config.Tenant, critical int) int {
	return max(t.CallPlan(callplan.Reference()).RowCountsPerPoll, critical)
}

// RowCountCandidate is one DE competing for a row-count call.
type RowCountCandidate struct {
	Key string
	// Critical DEs are always measured (the budget floor covers them).
	Critical bool
	// Tier1: a declared SLA / volume expectation or a feeding relation.
	Tier1 bool
	// Changed: ModifiedDate moved since the previous poll.
	Changed bool
	// LastCountAt is when the count was last measured (zero: never).
	LastCountAt time.Time
}

// SelectRowCounts picks which DEs to count this poll, in call order, never
// more than budget (plus the critical DEs, which are always picked):
//  1. critical DEs;
//  2. other tier-1 DEs, at most the budget left minus a tier-2 reserve of
//     a quarter of it (at least 1 while tier-2 DEs exist), so tier 2 never
//     starves;
//  3. tier-2 DEs with what is left.
//
// Within tiers 1 and 2: ModifiedDate-changed first, then never measured,
// then the oldest count (so across polls the tier is read round robin),
// then by key.
func SelectRowCounts(cands []RowCountCandidate, budget int) []string {
	var crit, t1, t2 []RowCountCandidate
	for _, c := range cands {
		switch {
		case c.Critical:
			crit = append(crit, c)
		case c.Tier1:
			t1 = append(t1, c)
		default:
			t2 = append(t2, c)
		}
	}
	order := func(a, b RowCountCandidate) int {
		if a.Changed != b.Changed {
			if a.Changed {
				return -1
			}
			return 1
		}
		if c := a.LastCountAt.Compare(b.LastCountAt); c != 0 {
			return c // zero (never) sorts first
		}
		return strings.Compare(a.Key, b.Key)
	}
	slices.SortFunc(crit, func(a, b RowCountCandidate) int { return strings.Compare(a.Key, b.Key) })
	slices.SortFunc(t1, order)
	slices.SortFunc(t2, order)
	out := make([]string, 0, min(len(cands), max(budget, len(crit))))
	for _, c := range crit {
		out = append(out, c.Key)
	}
	left := budget - len(crit)
	if left <= 0 {
		return out
	}
	reserve := 0
	if len(t2) > 0 {
		reserve = min(len(t2), max(1, left/4))
	}
	n1 := min(len(t1), left-reserve)
	for _, c := range t1[:n1] {
		out = append(out, c.Key)
	}
	left -= n1
	for _, c := range t2[:min(len(t2), left)] {
		out = append(out, c.Key)
	}
	return out
}

// snapshotLister is implemented by the store the engine passes as
// Input.Cursors; when present the collector reads the latest journey,
// automation and import snapshots (no API call) to follow the lineage:
// which DEs feed them (tier 1), which row counts an automation definition
// read already gave, and when an import last wrote into a DE.
type snapshotLister interface {
	LatestSnapshots(ctx context.Context, tenant, resourceType string) ([]store.Snapshot, error)
}

// adoptedCount is a DE row count SFMC gave with an automation's
// definition read (targetDataExtensions[].rowCount).
type adoptedCount struct {
	rows int64
	at   time.Time
}

// deLineage is what the other collectors' latest snapshots say about the
// DEs, by lower-cased key (and id).
type deLineage struct {
	// feeds: journey entry sources, automation targets, import destinations.
	feeds map[string]bool
	// counts: the newest target row count of an automation definition read.
	counts map[string]adoptedCount
}

// lineageOf reads the lineage from the latest journey, automation and
// import snapshots (best effort: without them every DE is counted on its
// own schedule).
func lineageOf(ctx context.Context, in *Input) deLineage {
	out := deLineage{feeds: map[string]bool{}, counts: map[string]adoptedCount{}}
	lister, ok := in.Cursors.(snapshotLister)
	if !ok || in.Tenant == nil {
		return out
	}
	add := func(k string) {
		if k != "" {
			out.feeds[strings.ToLower(k)] = true
		}
	}
	for _, t := range []resource.Type{resource.Journey, resource.Automation, resource.Import} {
		snaps, err := lister.LatestSnapshots(ctx, in.Tenant.Name, string(t))
		if err != nil {
			continue // best effort: the DEs fall back to tier 2
		}
		for _, s := range snaps {
			switch t {
			case resource.Journey:
				var st resource.JourneyState
				if resource.Decode(s, &st) == nil {
					add(st.EntryDataExtension)
				}
			case resource.Automation:
				var st resource.AutomationState
				if resource.Decode(s, &st) != nil {
					continue
				}
				for _, k := range st.TargetDataExtensions {
					add(k)
				}
				for k, n := range st.TargetRows {
					lk := strings.ToLower(k)
					if c, ok := out.counts[lk]; !ok || st.DefinitionReadAt.After(c.at) {
						out.counts[lk] = adoptedCount{rows: n, at: st.DefinitionReadAt}
					}
				}
			case resource.Import:
				var st resource.ImportState
				if resource.Decode(s, &st) == nil {
					add(st.DestinationKey)
				}
			}
		}
	}
	return out
}

// DESchemaHash is the stable fingerprint of a DE schema: the fields sorted
// by lower-cased name, each (name, type, max length, scale, required,
// primary key). Column order does not count.
func DESchemaHash(fields []resource.Field) string {
	fs := slices.Clone(fields)
	slices.SortFunc(fs, func(a, b resource.Field) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	h := sha256.New()
	for _, f := range fs {
		fmt.Fprintf(h, "%s\x1f%s\x1f%d\x1f%d\x1f%t\x1f%t\x1e", strings.ToLower(f.Name), strings.ToLower(f.Type), f.MaxLength, f.Scale, f.Required, f.PrimaryKey)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// deFields converts SFMC fields to the sorted resource form.
func deFields(fs []sfmc.Field) []resource.Field {
	out := make([]resource.Field, 0, len(fs))
	for _, f := range fs {
		out = append(out, resource.Field{Name: f.Name, Type: f.Type, MaxLength: f.MaxLength, Scale: f.Scale,
			Required: f.IsRequired, PrimaryKey: f.IsPrimaryKey})
	}
	slices.SortFunc(out, func(a, b resource.Field) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return out
}

type deWork struct {
	def     sfmc.DataExtension
	prev    store.Snapshot
	had     bool
	st      resource.DataExtensionState // previous state, updated in place
	changed bool                        // ModifiedDate moved
	carried bool                        // def carried from the previous snapshot (no list read)
	readAt  time.Time                   // when def was read
	tier    int
}

// Collect implements Collector.
func (c DataExtensionCollector) Collect(ctx context.Context, in *Input) (*Output, error) {
	defs, readAt, carried := carriedDataExtensions(in)
	if !carried {
		var err error
		if defs, err = in.Client.DataExtensions(ctx, nil); err != nil {
			return nil, fmt.Errorf("data extensions: %w", err)
		}
		readAt = in.Now
	}
	works := make([]*deWork, 0, len(defs))
	seen := map[string]bool{}
	for _, d := range defs {
		if d.Key == "" || seen[d.Key] {
			continue
		}
		seen[d.Key] = true
		w := &deWork{def: d, carried: carried, readAt: readAt}
		w.prev, w.had = in.Previous[d.Key]
		if w.had {
			if err := resource.Decode(w.prev, &w.st); err != nil {
				w.had, w.st = false, resource.DataExtensionState{}
			}
		}
		if w.had && w.prev.Status == resource.StatusDeleted {
			w.had, w.st, w.prev = false, resource.DataExtensionState{}, store.Snapshot{} // re-created: start afresh
		}
		w.changed = w.had && !w.st.ModifiedAt.Equal(d.ModifiedDate)
		works = append(works, w)
	}

	c.readFields(ctx, in, works)
	c.readCounts(ctx, in, works)

	out := &Output{Snapshots: make([]store.Snapshot, 0, len(works))}
	for _, w := range works {
		out.Snapshots = append(out.Snapshots, c.snapshot(in, w))
	}
	// DEs that disappeared (from a list read): one "deleted" snapshot so
	// rules stop reading their last state (and their incidents resolve).
	gone := make([]string, 0)
	for k, p := range in.Previous {
		if !carried && !seen[k] && p.Status != resource.StatusDeleted {
			gone = append(gone, k)
		}
	}
	slices.Sort(gone)
	for _, k := range gone {
		p := in.Previous[k]
		s := in.Snapshot(resource.DataExtension, k)
		s.Status, s.RowCount, s.SchemaHash, s.Payload = resource.StatusDeleted, p.RowCount, p.SchemaHash, p.Payload
		out.Snapshots = append(out.Snapshots, s)
	}
	return out, nil
}

// carriedDataExtensions returns the definitions carried from the previous
// snapshots and when they were read, carried=false when the list is to be
// read now (nothing carried, a snapshot unreadable, or the list older than
// callplan.DEDefinitionsRefresh). Deleted DEs are not carried.
func carriedDataExtensions(in *Input) ([]sfmc.DataExtension, time.Time, bool) {
	if len(in.Previous) == 0 {
		return nil, time.Time{}, false
	}
	var last time.Time
	states := make(map[string]resource.DataExtensionState, len(in.Previous))
	for k, p := range in.Previous {
		if p.Status == resource.StatusDeleted {
			continue
		}
		var st resource.DataExtensionState
		if resource.Decode(p, &st) != nil || st.DefinitionsReadAt.IsZero() {
			return nil, time.Time{}, false
		}
		states[k] = st
		if st.DefinitionsReadAt.After(last) {
			last = st.DefinitionsReadAt
		}
	}
	if len(states) == 0 || in.Now.Sub(last) >= max(callplan.DEDefinitionsRefresh, in.Tenant.Monitors.DataExtensions.Interval.Std()) {
		return nil, time.Time{}, false
	}
	// Only the DEs of the newest read (older ones were gone then).
	out := make([]sfmc.DataExtension, 0, len(states))
	for k, st := range states {
		if st.DefinitionsReadAt.Equal(last) {
			out = append(out, sfmc.DataExtension{Key: k, ObjectID: st.ID, Name: st.Name, ModifiedDate: st.ModifiedAt})
		}
	}
	slices.SortFunc(out, func(a, b sfmc.DataExtension) int { return strings.Compare(a.Key, b.Key) })
	return out, last, true
}

// readFields reads the fields of DEs that are new, whose ModifiedDate
// moved, or (a few per poll) whose field list is older than a day, in one
// batched Retrieve. Failures leave the carried-forward hash in place (the
// client meters the failed call; api.errors reports it).
func (c DataExtensionCollector) readFields(ctx context.Context, in *Input, works []*deWork) {
	var need, stale []*deWork
	for _, w := range works {
		switch {
		case !w.had || w.changed || w.prev.SchemaHash == "" || w.st.FieldsAt.IsZero():
			need = append(need, w)
		case in.Now.Sub(w.st.FieldsAt) >= callplan.DEFieldsRefresh:
			stale = append(stale, w)
		}
	}
	// Field lists older than a day are re-verified all together: one
	// batched (usually unfiltered) read a day rather than one a poll.
	if len(need) == 0 && len(stale) == 0 {
		return
	}
	need = append(need, stale...)
	var got map[string][]sfmc.Field
	var err error
	if 2*len(need) >= len(works) {
		got, err = in.Client.DataExtensionFields(ctx) // unfiltered: fewer calls than many IN chunks
	} else {
		keys := make([]string, len(need))
		for i, w := range need {
			keys[i] = w.def.Key
		}
		got, err = in.Client.DataExtensionFields(ctx, keys...)
	}
	if err != nil {
		return
	}
	byLower := make(map[string][]sfmc.Field, len(got))
	for k, fs := range got {
		byLower[strings.ToLower(k)] = fs
	}
	for _, w := range need {
		fs, ok := byLower[strings.ToLower(w.def.Key)]
		if !ok {
			continue // no fields returned: keep what we knew
		}
		fields := deFields(fs)
		hash := DESchemaHash(fields)
		if w.had && w.prev.SchemaHash != "" && hash != w.prev.SchemaHash {
			w.st.SchemaChangedAt = in.Now
			w.st.PreviousSchemaHash = w.prev.SchemaHash
			w.st.PreviousFieldsAt = w.st.FieldsAt
		}
		w.st.Fields, w.st.FieldsAt = fields, in.Now
		w.prev.SchemaHash = hash // becomes the snapshot's hash
	}
}

// readCounts counts the DEs whose row count may have moved, within the
// per-poll budget (RowCountBudget: the most one poll spends, e.g. while
// the tenant is first learned). A count is taken:
//   - from an automation's definition read, when it is newer than the
//     DE's own count (SFMC gives the targets' row counts with it: no call);
//   - for critical DEs every poll (Required priority);
//   - for DEs with declared expectations (freshness, expected interval,
//     min_rows) every poll;
//   - when the DE's ModifiedDate moved, or it was never counted;
//   - when its last seen load crosses a freshness threshold
//     (staleCheckDue: data_extension.stale judges as of the last count);
//   - otherwise once per callplan.RowCountRefresh, at the DE's slot of the
//     day (refreshSlot; a DE no writer sfmcwatch follows may still change:
//     imports, scripts, the API, journeys).
//
// Counts of DEs the automations write come with the automations' output
// checks (see AutomationCollector), so they cost no rowset call.
func (c DataExtensionCollector) readCounts(ctx context.Context, in *Input, works []*deWork) {
	lin := lineageOf(ctx, in)
	refresh := cmp.Or(c.Refresh, callplan.RowCountRefresh)
	cands := make([]RowCountCandidate, 0, len(works))
	critical := 0
	byKey := make(map[string]*deWork, len(works))
	for _, w := range works {
		k := w.def.Key
		byKey[k] = w
		lk, lid := strings.ToLower(k), strings.ToLower(w.def.ObjectID)
		a, adopted := lin.counts[lk]
		if adopted && a.at.After(w.st.RowCountAt) && !a.at.After(in.Now) {
			c.measured(a.at, w, a.rows)
		}
		obj := in.Tenant.Object(string(resource.DataExtension), k)
		declared := obj.Freshness.WarnAfter > 0 || obj.Freshness.ErrorAfter > 0 || obj.ExpectedInterval > 0 || obj.MinRows > 0
		cand := RowCountCandidate{Key: k, Critical: in.Tenant.IsCritical(string(resource.DataExtension), k),
			Changed: w.changed, LastCountAt: w.st.RowCountAt}
		w.tier = 2
		feeds := lin.feeds[lk] || (lid != "" && lin.feeds[lid])
		if cand.Critical || declared || feeds {
			w.tier = 1
		}
		if cand.Critical {
			critical++
		}
		// Tier 1 of this poll: due every poll, or first among the due;
		// DEs that feed journeys, automations or imports are counted first
		// on the first look.
		cand.Tier1 = cand.Critical || declared || w.changed || (feeds && w.st.RowCountAt.IsZero()) || staleCheckDue(&w.st, in.Now)
		switch {
		case cand.Tier1 || w.st.RowCountAt.IsZero():
		case adopted && in.Now.Sub(w.st.RowCountAt) < refresh:
			continue // its writers' output checks count it
		case !adopted && !w.st.RowCountAt.Before(refreshSlot(k, in.Now, refresh)):
			continue // counted since its daily slot, nothing followed changed it: not due
		}
		cands = append(cands, cand)
	}
	budget := c.RowBudget
	switch {
	case budget < 0:
		return
	case budget == 0:
		budget = RowCountBudget(in.Tenant, critical)
	default:
		budget = max(budget, critical)
	}
	picked := SelectRowCounts(cands, budget)
	var req, opt []string
	for _, k := range picked {
		if k == "" {
			continue
		}
		if in.Tenant.IsCritical(string(resource.DataExtension), k) {
			req = append(req, k)
		} else {
			opt = append(opt, k)
		}
	}
	apply := func(res sfmc.Budgeted[int64]) {
		for k, n := range res.Values {
			if w := byKey[k]; w != nil {
				c.measured(in.Now, w, n)
			}
		}
	}
	if len(req) > 0 {
		res, err := in.Client.RowCounts(sfmc.WithPriority(ctx, sfmc.Required), req, len(req))
		apply(res)
		if err != nil {
			return // tenant-level failure (auth, block, budget): do not spend more
		}
	}
	if len(opt) > 0 {
		res, _ := in.Client.RowCounts(ctx, opt, len(opt))
		apply(res)
	}
}

// staleCheckDue reports a DE whose last seen load is older than one of
// its freshness thresholds (callplan.StaleCheckFactors × the median of its
// recent load intervals) while no count was taken since that threshold
// passed: one count then tells data_extension.stale whether it is stale
// (its age is judged as of the last count), however rarely the DE is
// counted otherwise.
func staleCheckDue(st *resource.DataExtensionState, now time.Time) bool {
	if st.LastLoadAt.IsZero() {
		return false
	}
	// The interval data_extension.stale learns (detect.LearnedInterval with
	// its defaults): the median of the last 20 intervals between loads, the
	// first measurement not being a load.
	var at []time.Time
	for _, l := range st.Loads {
		if !l.First {
			at = append(at, l.At)
		}
	}
	var gaps []time.Duration
	for i := 1; i < len(at); i++ {
		gaps = append(gaps, at[i].Sub(at[i-1]))
	}
	if len(gaps) > 20 {
		gaps = gaps[len(gaps)-20:]
	}
	if len(gaps) < callplan.StaleCheckMinLoads-1 {
		return false
	}
	slices.Sort(gaps)
	median := gaps[len(gaps)/2]
	if len(gaps)%2 == 0 {
		median = (gaps[len(gaps)/2-1] + gaps[len(gaps)/2]) / 2
	}
	for _, f := range callplan.StaleCheckFactors {
		th := time.Duration(f * float64(median))
		if now.Sub(st.LastLoadAt) >= th && st.RowCountAt.Sub(st.LastLoadAt) < th {
			return true
		}
	}
	return false
}

// refreshSlot is the newest slot of an object at or before now, one per
// period at an offset its key fixes: objects read again once per period
// (e.g. DE row counts once per callplan.RowCountRefresh) spread over the
// period rather than falling due together.
func refreshSlot(key string, now time.Time, period time.Duration) time.Time {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(key)))
	slot := now.Truncate(period).Add(time.Duration(h.Sum64() % uint64(period)))
	if slot.After(now) {
		slot = slot.Add(-period)
	}
	return slot
}

// measured records a row count measured at at.
func (DataExtensionCollector) measured(at time.Time, w *deWork, n int64) {
	st := &w.st
	var last *resource.RowSample
	if len(st.Loads) > 0 {
		last = &st.Loads[len(st.Loads)-1]
	}
	switch {
	case last == nil:
		st.Loads = append(st.Loads, resource.RowSample{At: at, Rows: n, First: true})
	case last.Rows != n:
		st.Loads = append(st.Loads, resource.RowSample{At: at, Rows: n})
		st.LastLoadAt = at
	}
	if len(st.Loads) > resource.MaxDELoads {
		st.Loads = slices.Clone(st.Loads[len(st.Loads)-resource.MaxDELoads:])
	}
	st.RowCountAt = at
	w.prev.RowCount = &n
}

func (c DataExtensionCollector) snapshot(in *Input, w *deWork) store.Snapshot {
	st := w.st
	d := w.def
	if w.changed && d.ModifiedDate.After(st.LastLoadAt) && !d.ModifiedDate.After(in.Now) {
		st.LastLoadAt = d.ModifiedDate
	}
	st.ID, st.Name, st.ModifiedAt, st.CountTier = d.ObjectID, d.Name, d.ModifiedDate, w.tier
	if !w.carried {
		st.Retention = retentionOf(d)
	}
	st.DefinitionsReadAt = w.readAt
	if st.ObservedSince.IsZero() {
		st.ObservedSince = in.Now
	}
	if !st.FieldsAt.Equal(in.Now) {
		st.Fields = nil // Fields only on snapshots where they were read
	}
	s := in.Snapshot(resource.DataExtension, d.Key)
	s.Status = resource.StatusActive
	s.LastRunAt = st.LastLoadAt
	if w.had || w.prev.RowCount != nil {
		s.RowCount = w.prev.RowCount
	}
	s.SchemaHash = w.prev.SchemaHash
	s.Payload = resource.Encode(st)
	return s
}
