package detect

import (
	"context"
	"maps"
	"math"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Incremental evaluation of the event-window rules (api.errors,
// api.errors.integration) from the store's running aggregates
// (store.BucketReader: one row per source, integration, endpoint, outcome
// — failures per family, surface and code — and second, kept as events are
// inserted). A pass reads the aggregate rows of the groups that failed in
// the lookback, not every event of the window, and folds them second by
// second exactly as the event-by-event scan (evaluateScan) does. A second
// is read event by event (a handful of rows of one group, through
// EventMarks) only where the aggregate cannot say the same: a window or
// lookback edge falls inside it, a failure run's start (the group's last
// success) is interleaved with the failures in it, or more evidence ids
// are needed than its first and last event give. The equivalence test
// (apierrors_buckets_test.go) checks both paths find the same on generated
// streams.

// usRange is the event range a rule reads, in unix microseconds:
// [lo, hi) — the stored timestamps' precision.
type usRange struct{ lo, hi int64 }

func (r usRange) contains(ts int64) bool { return ts >= r.lo && ts < r.hi }

// rowIn says whether a row lies inside the range entirely (in), outside
// entirely (out) or across an edge (neither).
func (r usRange) rowIn(row *store.BucketRow) (in, out bool) {
	first, last := row.First.TS.UnixMicro(), row.Last.TS.UnixMicro()
	if last < r.lo || first >= r.hi {
		return false, true
	}
	return first >= r.lo && last < r.hi, false
}

// ceilUS is the first microsecond not before t.
func ceilUS(t time.Time) int64 {
	u := t.UnixMicro()
	if time.UnixMicro(u).Before(t) {
		u++
	}
	return u
}

// second is the aggregate rows of one group in one source and bucket.
type second struct {
	bucket  time.Time
	success *store.BucketRow // nil when no call succeeded
	fails   []*store.BucketRow
}

// seconds splits rows (one source, ordered by group then bucket) into
// per-group, per-bucket seconds; key names the group of a row.
func seconds[K comparable](rows []store.BucketRow, key func(*store.BucketRow) K) map[K][]second {
	out := map[K][]second{}
	for i := range rows {
		r := &rows[i]
		k := key(r)
		ss := out[k]
		if len(ss) == 0 || !ss[len(ss)-1].bucket.Equal(r.Bucket) {
			ss = append(ss, second{bucket: r.Bucket})
		}
		s := &ss[len(ss)-1]
		if r.Failed {
			s.fails = append(s.fails, r)
		} else {
			if s.success != nil {
				// Successes of several endpoints (an integration's
				// second): merged into one row.
				m := *s.success
				m.N += r.N
				if r.First.Less(m.First) {
					m.First = r.First
				}
				if m.Last.Less(r.Last) {
					m.Last = r.Last
				}
				r = &m
			}
			s.success = r
		}
		out[k] = ss
	}
	// Rows come ordered by endpoint before bucket: an integration's
	// seconds need sorting (and merging) by bucket.
	for k, ss := range out {
		if slices.IsSortedFunc(ss, func(a, b second) int { return a.bucket.Compare(b.bucket) }) {
			continue
		}
		slices.SortStableFunc(ss, func(a, b second) int { return a.bucket.Compare(b.bucket) })
		merged := ss[:0]
		for _, s := range ss {
			if n := len(merged); n > 0 && merged[n-1].bucket.Equal(s.bucket) {
				m := &merged[n-1]
				m.fails = append(m.fails, s.fails...)
				if s.success != nil {
					if m.success == nil {
						m.success = s.success
					} else {
						x := *m.success
						x.N += s.success.N
						if s.success.First.Less(x.First) {
							x.First = s.success.First
						}
						if x.Last.Less(s.success.Last) {
							x.Last = s.success.Last
						}
						m.success = &x
					}
				}
				continue
			}
			merged = append(merged, s)
		}
		out[k] = merged
	}
	return out
}

// sampleRef is the sample event of a finding: a read event, or only its id
// (from an aggregate row), resolved when a finding needs it.
type sampleRef struct {
	id   int64
	mark *store.EventMark
}

func (s sampleRef) resolve(marks map[int64]store.EventMark) store.EventRecord {
	m := s.mark
	if m == nil {
		if x, ok := marks[s.id]; ok {
			m = &x
		}
	}
	if m == nil {
		return store.EventRecord{ID: s.id}
	}
	r := store.EventRecord{ID: m.ID, Family: m.Family, Code: m.Code, Surface: m.Surface, IsError: m.IsError}
	r.TS, r.Source, r.Integration, r.Endpoint, r.Method, r.Status = m.TS, m.Source, m.Integration, m.Endpoint, m.Method, m.Status
	return r
}

// resolveSamples reads the events only known by id.
func resolveSamples(ctx context.Context, br store.BucketReader, tenant string, refs []sampleRef) (map[int64]store.EventMark, error) {
	var ids []int64
	for _, r := range refs {
		if r.mark == nil && r.id != 0 {
			ids = append(ids, r.id)
		}
	}
	out := map[int64]store.EventMark{}
	for start := 0; start < len(ids); start += 500 {
		// By id alone: the primary key (a tenant filter could make SQLite
		// walk the tenant's events instead).
		ms, err := br.EventMarks(ctx, store.MarkQuery{IDs: ids[start:min(start+500, len(ids))]})
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			out[m.ID] = m
		}
	}
	return out, nil
}

// rowIDs are the evidence ids a row gives without reading its events:
// its first and last (all of them when it holds at most two events).
func rowIDs(r *store.BucketRow) ([]int64, bool) {
	switch r.N {
	case 1:
		return []int64{r.First.ID}, true
	case 2:
		return []int64{r.First.ID, r.Last.ID}, true
	}
	return nil, false
}

func appendEvidence(ev []int64, ids ...int64) []int64 {
	for _, id := range ids {
		if len(ev) >= maxAPIEvidence {
			break
		}
		ev = append(ev, id)
	}
	return ev
}

// incrRun is apiRun with the sample known by reference.
type incrRun struct {
	count       int64
	first, last time.Time
	evidence    []int64
	sample      sampleRef
}

type incrFP struct {
	run           incrRun
	inWindow      int64
	firstInWindow time.Time
	windowEv      []int64
	sample        sampleRef
}

// add extends the run by n failures from first to last.
func (r *incrRun) add(n int64, first, last time.Time, sample sampleRef, ids ...int64) {
	if r.count == 0 {
		r.first = first
	}
	r.count += n
	r.last = last
	r.sample = sample
	r.evidence = appendEvidence(r.evidence, ids...)
}

// addWindow counts n failures (the first at first) in the window.
func (st *incrFP) addWindow(n int64, first time.Time, sample sampleRef, ids ...int64) {
	if st.inWindow == 0 {
		st.firstInWindow = first
	}
	st.inWindow += n
	st.sample = sample
	st.windowEv = appendEvidence(st.windowEv, ids...)
}

// apiGroupFold folds the events of one group (integration, endpoint) as
// evaluateScan does, from aggregate rows where they suffice.
type apiGroupFold struct {
	rng, win usRange
	fps      map[apiFP]*incrFP
	order    []apiFP // fingerprints in order of first failure (deterministic output)
	calls    int64
}

func (f *apiGroupFold) fp(k apiFP) *incrFP {
	st := f.fps[k]
	if st == nil {
		st = &incrFP{}
		f.fps[k] = st
		f.order = append(f.order, k)
	}
	return st
}

func rowFP(g apiGroup, r *store.BucketRow) apiFP {
	return apiFP{group: g, family: r.Family, surface: r.Surface, code: r.Code}
}

// How a second of one group is folded.
const (
	foldRows   = iota // from its aggregate rows alone
	foldTail          // rows for the window; the events after the last success for the runs
	foldEvents        // event by event
)

// mode says how second s must be folded: from its rows when they say it
// all; from its rows plus the events after its last success when failures
// straddle that success (only those events decide the runs); event by
// event when an edge of the range or the window falls inside a row, or
// more evidence ids are needed than a row's first and last.
//
// Before the source's last success (runsWiped) the runs do not matter:
// that success ends every run of the group, so only the window counts and
// evidence decide.
func (f *apiGroupFold) mode(g apiGroup, s *second, runsWiped bool) int {
	var lastOK store.EventKey
	success := false
	if s.success != nil {
		in, out := f.rng.rowIn(s.success)
		if !in && !out {
			return foldEvents
		}
		if win, wout := f.win.rowIn(s.success); !win && !wout && !out {
			return foldEvents
		}
		if in {
			success, lastOK = true, s.success.Last
		}
	}
	mode := foldRows
	for _, row := range s.fails {
		in, out := f.rng.rowIn(row)
		if out {
			continue
		}
		if !in {
			return foldEvents
		}
		win, wout := f.win.rowIn(row)
		if !win && !wout {
			return foldEvents
		}
		st := f.fps[rowFP(g, row)]
		runEv, winEv := 0, 0
		if st != nil {
			runEv, winEv = len(st.run.evidence), len(st.windowEv)
		}
		if row.N > 2 && win && winEv < maxAPIEvidence {
			return foldEvents
		}
		if runsWiped {
			continue
		}
		if success && !row.Last.Less(lastOK) && !lastOK.Less(row.First) {
			mode = foldTail // failures on both sides of the last success
			continue
		}
		if row.N <= 2 {
			continue
		}
		after := !success || lastOK.Less(row.First)
		if success {
			runEv = 0 // the run restarts after the success
		}
		if after && runEv < maxAPIEvidence {
			if success {
				mode = foldTail
				continue
			}
			return foldEvents
		}
	}
	return mode
}

// tail folds a second whose failures straddle its last success: the
// window counts from the rows, the runs from the events after the success.
func (f *apiGroupFold) tail(g apiGroup, s *second, evs []store.EventMark) {
	lastOK := s.success.Last
	if win, _ := f.win.rowIn(s.success); win {
		f.calls += s.success.N
	}
	for _, row := range s.fails {
		if in, _ := f.rng.rowIn(row); !in {
			continue
		}
		f.windowRow(g, row)
	}
	f.resetRuns()
	for i := range evs {
		m := &evs[i]
		if !lastOK.Less(m.Key()) || !f.rng.contains(m.TS.UnixMicro()) || !m.Failed() {
			continue
		}
		st := f.fp(apiFP{group: g, family: m.Family, surface: m.Surface, code: m.Code})
		mk := *m
		st.run.add(1, m.TS, m.TS, sampleRef{id: m.ID, mark: &mk}, m.ID)
	}
}

// windowRow counts an aggregate row of failures in the window, when it
// lies there, and returns its fingerprint's state.
func (f *apiGroupFold) windowRow(g apiGroup, row *store.BucketRow) *incrFP {
	st := f.fp(rowFP(g, row))
	if win, _ := f.win.rowIn(row); win {
		ids, _ := rowIDs(row)
		f.calls += row.N
		st.addWindow(row.N, row.First.TS, sampleRef{id: row.Last.ID}, ids...)
	}
	return st
}

// resetRuns ends every open run of the group: a success breaks them.
func (f *apiGroupFold) resetRuns() {
	for _, st := range f.fps {
		st.run = incrRun{}
	}
}

// rows folds a second from its aggregate rows (mode foldRows).
func (f *apiGroupFold) rows(g apiGroup, s *second) {
	var lastOK store.EventKey
	success := false
	if s.success != nil {
		if in, _ := f.rng.rowIn(s.success); in {
			success, lastOK = true, s.success.Last
			if win, _ := f.win.rowIn(s.success); win {
				f.calls += s.success.N
			}
		}
	}
	type part struct {
		row *store.BucketRow
		st  *incrFP
	}
	var after []part
	for _, row := range s.fails {
		if in, _ := f.rng.rowIn(row); !in {
			continue
		}
		st := f.windowRow(g, row)
		if !success || lastOK.Less(row.First) {
			after = append(after, part{row, st})
		}
	}
	if success {
		f.resetRuns()
	}
	for _, p := range after {
		ids, _ := rowIDs(p.row)
		p.st.run.add(p.row.N, p.row.First.TS, p.row.Last.TS, sampleRef{id: p.row.Last.ID}, ids...)
	}
}

// event folds one event exactly as evaluateScan does.
func (f *apiGroupFold) event(g apiGroup, m *store.EventMark) {
	ts := m.TS.UnixMicro()
	if !f.rng.contains(ts) {
		return
	}
	inWin := f.win.contains(ts)
	if inWin {
		f.calls++
	}
	if !m.Failed() {
		f.resetRuns()
		return
	}
	st := f.fp(apiFP{group: g, family: m.Family, surface: m.Surface, code: m.Code})
	mk := *m
	sample := sampleRef{id: m.ID, mark: &mk}
	st.run.add(1, m.TS, m.TS, sample, m.ID)
	if inWin {
		st.addWindow(1, m.TS, sample, m.ID)
	}
}

// readSecond returns the events of one group and source in second s that
// lie in rng. Only the span from the second's first to its last event (by
// its rows) is read: a group's events in a busy second are a thin slice
// of the tenant's. A second read whole is kept (secondCache) and served
// again while its rows count the same events — events are only ever
// added, so the same count means the same events.
func readSecond(ctx context.Context, br store.BucketReader, tenant, source string, integration, endpoint *string, s *second, rng usRange) ([]store.EventMark, error) {
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	for _, r := range append([]*store.BucketRow{s.success}, s.fails...) {
		if r != nil {
			first, last = min(first, r.First.TS.UnixMicro()), max(last, r.Last.TS.UnixMicro())
		}
	}
	lo, hi := max(first, rng.lo), min(last+1, rng.hi)
	if lo >= hi {
		return nil, nil
	}
	total := secondTotal(s)
	var key secondKey
	v := reflect.ValueOf(br)
	cacheable := lo == first && hi == last+1 && total <= maxCachedSecond && v.Kind() == reflect.Pointer
	if cacheable {
		key = secondKey{store: v.Pointer(), tenant: tenant, source: source, bucket: s.bucket.UnixMicro()}
		if integration != nil {
			key.integration, key.hasIntegration = *integration, true
		}
		if endpoint != nil {
			key.endpoint, key.hasEndpoint = *endpoint, true
		}
		if evs, ok := secondCache.get(key, total); ok {
			return evs, nil
		}
	}
	evs, err := br.EventMarks(ctx, store.MarkQuery{Tenant: tenant, Source: source, Integration: integration, Endpoint: endpoint,
		From: time.UnixMicro(lo), To: time.UnixMicro(hi)})
	if err == nil && cacheable && int64(len(evs)) == total {
		secondCache.put(br, key, total, evs)
	}
	return evs, err
}

// secondTotal is the number of events of a second by its rows.
func secondTotal(s *second) int64 {
	var n int64
	if s.success != nil {
		n += s.success.N
	}
	for _, r := range s.fails {
		n += r.N
	}
	return n
}

type secondKey struct {
	store                       uintptr
	tenant, source              string
	integration, endpoint       string
	hasIntegration, hasEndpoint bool
	bucket                      int64
}

type cachedSecond struct {
	// owner is the reader the key's pointer names, held so that the
	// pointer cannot be reused by another reader while cached.
	owner store.BucketReader
	total int64
	evs   []store.EventMark
}

// Bounds of the cache of whole seconds read event by event.
const (
	maxCachedSecond = 20_000  // events of one second
	maxCachedEvents = 400_000 // events in all
)

// secondCache keeps seconds read event by event across passes: a group
// failing throughout needs its first second's events for evidence on
// every pass, and they do not change.
var secondCache = &secondStore{m: map[secondKey]cachedSecond{}}

type secondStore struct {
	mu     sync.Mutex
	m      map[secondKey]cachedSecond
	events int
}

func (c *secondStore) get(k secondKey, total int64) ([]store.EventMark, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	if !ok || v.total != total {
		return nil, false
	}
	return v.evs, true
}

func (c *secondStore) put(owner store.BucketReader, k secondKey, total int64, evs []store.EventMark) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok {
		c.events -= len(old.evs)
	}
	for c.events+len(evs) > maxCachedEvents && len(c.m) > 0 {
		for k2, v := range c.m { // evict an arbitrary entry
			c.events -= len(v.evs)
			delete(c.m, k2)
			break
		}
	}
	c.m[k] = cachedSecond{owner: owner, total: total, evs: evs}
	c.events += len(evs)
}

type srcGroup struct {
	source string
	g      apiGroup
}

// foldBuckets is foldScan over the running aggregates.
func (r APIErrors) foldBuckets(ctx context.Context, in *Input, p apiParams, br store.BucketReader) (map[apiFP]*apiFPState, map[apiGroup]int64, error) {
	rng := usRange{lo: p.from.UnixMicro(), hi: in.Now.Add(time.Microsecond).UnixMicro()}
	win := usRange{lo: ceilUS(p.winStart), hi: rng.hi}
	bFrom, bTo := store.BucketStart(time.UnixMicro(rng.lo)), store.BucketStart(time.UnixMicro(rng.hi-1)).Add(store.BucketWidth)
	// The groups with a failure in the lookback: no other can find.
	seen := map[apiGroup]bool{}
	var groups []apiGroup
	cand, err := br.EventBuckets(ctx, store.BucketQuery{Tenant: in.Tenant.Name, Sources: p.sources, FailedOnly: true, From: bFrom, To: bTo})
	if err != nil {
		return nil, nil, err
	}
	for i := range cand {
		g := apiGroup{cand[i].Integration, cand[i].Endpoint}
		if _, out := rng.rowIn(&cand[i]); out || seen[g] {
			continue
		}
		seen[g] = true
		groups = append(groups, g)
	}
	// Their rows, every source and outcome: one read per group (an index
	// seek per source).
	rowsOf := map[srcGroup][]store.BucketRow{}
	for _, g := range groups {
		rows, err := br.EventBuckets(ctx, store.BucketQuery{Tenant: in.Tenant.Name, Sources: p.sources,
			Integration: &g.integration, Endpoint: &g.endpoint, From: bFrom, To: bTo})
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rows {
			k := srcGroup{r.Source, g}
			rowsOf[k] = append(rowsOf[k], r)
		}
	}
	fps := map[apiFP]*apiFPState{}
	calls := map[apiGroup]int64{}
	type pending struct {
		k  apiFP
		st *incrFP
	}
	var all []pending
	for _, g := range groups {
		f := &apiGroupFold{rng: rng, win: win, fps: map[apiFP]*incrFP{}}
		for _, src := range p.sources {
			secs := seconds(rowsOf[srcGroup{src, g}], func(*store.BucketRow) apiGroup { return g })[g]
			// The second of the source's last success in range.
			var lastOK time.Time
			for i := range secs {
				if r := secs[i].success; r != nil && (rng.contains(r.First.TS.UnixMicro()) || rng.contains(r.Last.TS.UnixMicro())) {
					lastOK = secs[i].bucket
				}
			}
			for i := range secs {
				s := &secs[i]
				switch f.mode(g, s, s.bucket.Before(lastOK)) {
				case foldRows:
					f.rows(g, s)
				case foldTail:
					// Only the events from the success on.
					from := usRange{lo: max(rng.lo, s.success.Last.TS.UnixMicro()), hi: rng.hi}
					ms, err := readSecond(ctx, br, in.Tenant.Name, src, &g.integration, &g.endpoint, s, from)
					if err != nil {
						return nil, nil, err
					}
					f.tail(g, s, ms)
				default:
					ms, err := readSecond(ctx, br, in.Tenant.Name, src, &g.integration, &g.endpoint, s, rng)
					if err != nil {
						return nil, nil, err
					}
					for j := range ms {
						f.event(g, &ms[j])
					}
				}
			}
		}
		calls[g] = f.calls
		for _, k := range f.order {
			st := f.fps[k]
			all = append(all, pending{k, st})
		}
	}
	for _, x := range all {
		st := x.st
		fps[x.k] = &apiFPState{
			run:      apiRun{count: st.run.count, first: st.run.first, last: st.run.last, evidence: st.run.evidence, sample: st.run.sample.resolve(nil)},
			inWindow: st.inWindow, firstInWindow: st.firstInWindow, windowEv: st.windowEv, sample: st.sample.resolve(nil),
			refs: &[2]sampleRef{st.run.sample, st.sample},
		}
	}
	return fps, calls, nil
}

// integrationFold folds the events of one integration as
// APIErrorsIntegration.foldScan does, from aggregate rows where they
// suffice.
type integrationFold struct {
	integration string
	rng         usRange
	calls       int64
	groups      map[string]*integrationFailures // per family
	samples     map[string]sampleRef
}

func (f *integrationFold) group(family string, first time.Time) *integrationFailures {
	g := f.groups[family]
	if g == nil {
		g = &integrationFailures{byEndpoint: map[string]int64{}, codes: map[string]int64{}, first: first}
		f.groups[family] = g
	}
	return g
}

// byFamily splits a second's failure rows per family.
func byFamily(s *second) map[string][]*store.BucketRow {
	out := map[string][]*store.BucketRow{}
	for _, r := range s.fails {
		out[r.Family] = append(out[r.Family], r)
	}
	return out
}

// needsEvents reports whether second s must be read event by event: an
// edge of the window falls inside it, a family's failures interleave with
// the integration's successes, or evidence needs ids its rows do not give.
func (f *integrationFold) needsEvents(s *second) bool {
	rows := s.fails
	if s.success != nil {
		rows = append([]*store.BucketRow{s.success}, rows...)
	}
	for _, r := range rows {
		if in, out := f.rng.rowIn(r); !in && !out {
			return true
		}
	}
	success := s.success != nil
	if success {
		if in, _ := f.rng.rowIn(s.success); !in {
			success = false
		}
	}
	for fam, rows := range byFamily(s) {
		g := f.groups[fam]
		full := g != nil && len(g.evidence) >= maxAPIEvidence
		for _, r := range rows {
			if in, _ := f.rng.rowIn(r); !in {
				continue
			}
			if _, ok := rowIDs(r); !ok && !full {
				return true
			}
			if success && !r.Last.Less(s.success.First) && !s.success.Last.Less(r.First) {
				return true
			}
		}
	}
	return false
}

// rows folds a second from its aggregate rows (needsEvents is false).
func (f *integrationFold) rows(s *second) {
	success := s.success != nil
	if success {
		if in, _ := f.rng.rowIn(s.success); in {
			f.calls += s.success.N
		} else {
			success = false
		}
	}
	fams := byFamily(s)
	names := make([]string, 0, len(fams))
	for fam := range fams {
		names = append(names, fam)
	}
	slices.Sort(names)
	// The groups that exist before this second are the ones a success in
	// it resets (a group created by a failure after the success starts
	// with no run anyway).
	for _, fam := range names {
		var rows []*store.BucketRow
		for _, r := range fams[fam] {
			if in, _ := f.rng.rowIn(r); in {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		first, last := rows[0].First, rows[0].Last
		var ids []store.EventKey
		for _, r := range rows {
			f.calls += r.N
			if r.First.Less(first) {
				first = r.First
			}
			if last.Less(r.Last) {
				last = r.Last
			}
			switch r.N {
			case 1:
				ids = append(ids, r.First)
			case 2:
				ids = append(ids, r.First, r.Last)
			}
		}
		g := f.group(fam, first.TS)
		for _, r := range rows {
			g.failures += r.N
			g.byEndpoint[r.Endpoint] += r.N
			g.codes[r.Surface+":"+r.Code] += r.N
		}
		f.samples[fam] = sampleRef{id: last.ID}
		slices.SortFunc(ids, func(a, b store.EventKey) int {
			if a.Less(b) {
				return -1
			}
			if b.Less(a) {
				return 1
			}
			return 0
		})
		for _, k := range ids {
			g.evidence = appendEvidence(g.evidence, k.ID)
		}
		// Runs: the failures before the second's first success continue
		// the current run, a success ends it, the failures after the last
		// success start a new one (needsEvents rules out failures between).
		extend := func(rows []*store.BucketRow) {
			if len(rows) == 0 {
				return
			}
			if g.runEndpoints == nil {
				g.runEndpoints = map[string]bool{}
			}
			for _, r := range rows {
				g.run += r.N
				g.runEndpoints[r.Endpoint] = true
			}
			if g.run > g.maxRun {
				g.maxRun, g.maxRunEndpoint = g.run, len(g.runEndpoints)
			}
		}
		if !success {
			extend(rows)
			continue
		}
		var before, after []*store.BucketRow
		for _, r := range rows {
			if r.Last.Less(s.success.First) {
				before = append(before, r)
			} else {
				after = append(after, r)
			}
		}
		extend(before)
		g.run, g.runEndpoints = 0, nil
		extend(after)
	}
	if success {
		for _, fam := range slices.Sorted(maps.Keys(f.groups)) {
			if _, ok := fams[fam]; ok {
				continue
			}
			g := f.groups[fam]
			g.run, g.runEndpoints = 0, nil
		}
	}
}

// event folds one event exactly as foldScan does.
func (f *integrationFold) event(m *store.EventMark) {
	if !f.rng.contains(m.TS.UnixMicro()) {
		return
	}
	f.calls++
	if !m.Failed() {
		for _, g := range f.groups {
			g.run = 0
			g.runEndpoints = nil
		}
		return
	}
	g := f.group(m.Family, m.TS)
	g.failures++
	g.byEndpoint[m.Endpoint]++
	g.codes[m.Surface+":"+m.Code]++
	mk := *m
	f.samples[m.Family] = sampleRef{id: m.ID, mark: &mk}
	g.evidence = appendEvidence(g.evidence, m.ID)
	g.run++
	if g.runEndpoints == nil {
		g.runEndpoints = map[string]bool{}
	}
	g.runEndpoints[m.Endpoint] = true
	if g.run > g.maxRun {
		g.maxRun, g.maxRunEndpoint = g.run, len(g.runEndpoints)
	}
}

// foldBuckets is foldScan over the running aggregates.
func (r APIErrorsIntegration) foldBuckets(ctx context.Context, in *Input, br store.BucketReader, sources []string, window time.Duration) (map[string]int64, map[integrationFamily]*integrationFailures, error) {
	rng := usRange{lo: in.Now.Add(-window).UnixMicro(), hi: in.Now.Add(time.Microsecond).UnixMicro()}
	bFrom, bTo := store.BucketStart(time.UnixMicro(rng.lo)), store.BucketStart(time.UnixMicro(rng.hi-1)).Add(store.BucketWidth)
	seen := map[string]bool{}
	var integrations []string
	cand, err := br.EventBuckets(ctx, store.BucketQuery{Tenant: in.Tenant.Name, Sources: sources, FailedOnly: true, From: bFrom, To: bTo})
	if err != nil {
		return nil, nil, err
	}
	for i := range cand {
		if _, out := rng.rowIn(&cand[i]); out || seen[cand[i].Integration] {
			continue
		}
		seen[cand[i].Integration] = true
		integrations = append(integrations, cand[i].Integration)
	}
	type srcInteg struct{ source, integration string }
	rowsOf := map[srcInteg][]store.BucketRow{}
	for start := 0; start < len(integrations); start += 200 {
		rows, err := br.EventBuckets(ctx, store.BucketQuery{Tenant: in.Tenant.Name, Sources: sources,
			Integrations: integrations[start:min(start+200, len(integrations))], From: bFrom, To: bTo})
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rows {
			k := srcInteg{r.Source, r.Integration}
			rowsOf[k] = append(rowsOf[k], r)
		}
	}
	calls := map[string]int64{}
	groups := map[integrationFamily]*integrationFailures{}
	var refs []sampleRef
	type pending struct {
		k   integrationFamily
		g   *integrationFailures
		ref sampleRef
	}
	var all []pending
	for _, integ := range integrations {
		f := &integrationFold{integration: integ, rng: rng, groups: map[string]*integrationFailures{}, samples: map[string]sampleRef{}}
		for _, src := range sources {
			secs := seconds(rowsOf[srcInteg{src, integ}], func(*store.BucketRow) string { return integ })[integ]
			for i := range secs {
				s := &secs[i]
				if !f.needsEvents(s) {
					f.rows(s)
					continue
				}
				ms, err := readSecond(ctx, br, in.Tenant.Name, src, &integ, nil, s, rng)
				if err != nil {
					return nil, nil, err
				}
				for j := range ms {
					f.event(&ms[j])
				}
			}
		}
		calls[integ] = f.calls
		for fam, g := range f.groups {
			all = append(all, pending{integrationFamily{integ, fam}, g, f.samples[fam]})
			refs = append(refs, f.samples[fam])
		}
	}
	marks, err := resolveSamples(ctx, br, in.Tenant.Name, refs)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range all {
		p.g.sample = p.ref.resolve(marks)
		groups[p.k] = p.g
	}
	return calls, groups, nil
}

// resolveAPISamples fills in the samples of sts known only by id.
func resolveAPISamples(ctx context.Context, br store.BucketReader, tenant string, sts []*apiFPState) error {
	var refs []sampleRef
	for _, st := range sts {
		refs = append(refs, st.refs[0], st.refs[1])
	}
	marks, err := resolveSamples(ctx, br, tenant, refs)
	if err != nil {
		return err
	}
	for _, st := range sts {
		st.run.sample, st.sample = st.refs[0].resolve(marks), st.refs[1].resolve(marks)
		st.refs = nil
	}
	return nil
}
