package scan

import (
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/classify"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
)

// groupKey identifies an (integration, endpoint template) pair: the unit in
// which a success breaks runs.
type groupKey struct {
	integration, endpoint string
}

// fpKey is a fingerprint: group, family and surface-qualified code.
type fpKey struct {
	group   groupKey
	family  catalog.Family
	surface catalog.Surface
	code    string
}

// kind says which runs a fingerprint belongs to: error families are broken
// by any call without an error; recipient outcomes by a call with neither
// an error nor a recipient outcome.
type kind uint8

const (
	kindError kind = iota
	kindRecipient
)

func kindOf(f catalog.Family) kind {
	if f == catalog.Recipient {
		return kindRecipient
	}
	return kindError
}

// run is a sequence of failures of one fingerprint not interrupted by a
// breaker of its group.
type run struct {
	count       int64
	first, last time.Time // earliest and latest timestamp (zero: none had one)
}

func (r *run) add(ts time.Time) {
	r.count++
	r.widen(ts, ts)
}

func (r *run) widen(first, last time.Time) {
	if !first.IsZero() && (r.first.IsZero() || first.Before(r.first)) {
		r.first = first
	}
	if !last.IsZero() && (r.last.IsZero() || last.After(r.last)) {
		r.last = last
	}
}

// join appends o (which came later in log order) to r.
func (r *run) join(o run) {
	r.count += o.count
	r.widen(o.first, o.last)
}

func (r run) span() time.Duration {
	if r.first.IsZero() || r.last.IsZero() {
		return 0
	}
	return r.last.Sub(r.first)
}

// thresholds decide when a run makes its pattern persistent.
type thresholds struct {
	window      time.Duration
	consecutive int64
}

func (t thresholds) persistent(r run) bool {
	return IsPersistent(r.count, r.span(), t.window, int(t.consecutive))
}

// IsPersistent is the persistence definition shared by scan and the
// api.errors rule: a run of failures of one fingerprint, with no success of
// its (integration, endpoint) group in between, is persistent when it has
// at least consecutive failures or spans at least window (latest − earliest
// failure; exactly window counts). An empty run is never persistent.
func IsPersistent(failures int64, span, window time.Duration, consecutive int) bool {
	return failures > 0 && (failures >= int64(consecutive) || span >= window)
}

// runStats accumulates closed runs.
type runStats struct {
	persistent  bool
	longestRun  int64
	longestSpan time.Duration
}

func (s *runStats) close(r run, t thresholds) {
	if r.count == 0 {
		return
	}
	if t.persistent(r) {
		s.persistent = true
	}
	s.longestRun = max(s.longestRun, r.count)
	s.longestSpan = max(s.longestSpan, r.span())
}

func (s *runStats) merge(o runStats) {
	s.persistent = s.persistent || o.persistent
	s.longestRun = max(s.longestRun, o.longestRun)
	s.longestSpan = max(s.longestSpan, o.longestSpan)
}

// sample is the first classification seen for a fingerprint plus where.
type sample struct {
	cl        classify.Classification
	objectKey string
	url       string
	message   string
}

// fpBatch is one fingerprint's summary within one batch.
type fpBatch struct {
	key   fpKey
	kind  kind
	count int64
	seen  run // earliest/latest over all occurrences in the batch
	// head is the run before the first breaker of this kind in the group
	// in this batch: it continues the run left open by earlier batches.
	head run
	// tail is the run open at the end of the batch (after a breaker).
	tail   run
	closed runStats // runs wholly inside the batch
	sample sample
	// bucketed so family time counts dedupe per call
}

// groupBatch is one (integration, endpoint) within one batch.
type groupBatch struct {
	calls int64
	// broke[k] is set once a breaker of kind k was seen in the batch.
	broke [2]bool
	fps   []*fpBatch
}

// badLine is a bad record, before masking.
type badLine struct {
	file   int
	line   int
	reason string
}

// batchSummary is all a worker keeps of a batch: no per-event state.
type batchSummary struct {
	seq               int
	lines, events     int64
	errors, recipient int64
	bytes             int64
	badCount          int64
	bad               []badLine // at most maxBadLines
	from, to          time.Time
	groups            map[groupKey]*groupBatch
	fps               map[fpKey]*fpBatch
	// buckets maps a minute (Unix seconds / 60) to per-family call counts.
	buckets map[int64]*familyCounts
}

// familyCounts holds one count per catalog.Families index.
type familyCounts [7]int64

func familyIndex(f catalog.Family) int {
	for i, g := range catalog.Families {
		if g == f {
			return i
		}
	}
	return len(catalog.Families) - 1
}

func newBatchSummary(seq int) *batchSummary {
	return &batchSummary{seq: seq, groups: map[groupKey]*groupBatch{}, fps: map[fpKey]*fpBatch{}, buckets: map[int64]*familyCounts{}}
}

func (b *batchSummary) addBad(file, line int, reason string) {
	b.lines++
	b.badCount++
	if len(b.bad) < maxBadLines {
		b.bad = append(b.bad, badLine{file: file, line: line, reason: reason})
	}
}

// addEvent folds one classified call into the batch.
func (b *batchSummary) addEvent(ev *event.Event, endpoint, objectKey string, res *classify.Result, t thresholds) {
	b.lines++
	b.events++
	ts := ev.TS
	if !ts.IsZero() {
		if b.from.IsZero() || ts.Before(b.from) {
			b.from = ts
		}
		if ts.After(b.to) {
			b.to = ts
		}
	}
	gk := groupKey{ev.Integration, endpoint}
	g := b.groups[gk]
	if g == nil {
		g = &groupBatch{}
		b.groups[gk] = g
	}
	g.calls++

	var hasErr, hasRec bool
	var famSeen [len(familyCounts{})]bool
	for i := range res.Classifications {
		c := &res.Classifications[i]
		switch {
		case c.Family.IsError():
			hasErr = true
		case c.Family == catalog.Recipient:
			hasRec = true
		default:
			continue
		}
		famSeen[familyIndex(c.Family)] = true
	}
	if hasErr {
		b.errors++
	} else if hasRec {
		b.recipient++
	}
	// Breakers first: a call without errors ends the group's error runs; a
	// call with neither errors nor recipient outcomes also ends recipient runs.
	if !hasErr {
		b.breakRuns(g, kindError, t)
		if !hasRec {
			b.breakRuns(g, kindRecipient, t)
			return
		}
	}
	if !ts.IsZero() {
		m := ts.Unix() / 60
		fc := b.buckets[m]
		if fc == nil {
			fc = &familyCounts{}
			b.buckets[m] = fc
		}
		for i, s := range famSeen {
			if s {
				fc[i]++
			}
		}
	}
	for i := range res.Classifications {
		c := &res.Classifications[i]
		if !c.Family.IsError() && c.Family != catalog.Recipient {
			continue
		}
		fk := fpKey{group: gk, family: c.Family, surface: c.Surface, code: c.Code}
		fp := b.fps[fk]
		if fp == nil {
			fp = &fpBatch{key: fk, kind: kindOf(c.Family)}
			fp.sample = sample{cl: *c, objectKey: objectKey, url: ev.URL, message: c.Message}
			b.fps[fk] = fp
			g.fps = append(g.fps, fp)
		} else if fp.sample.message == "" && c.Message != "" {
			fp.sample.message = c.Message
		}
		if fp.sample.objectKey == "" && objectKey != "" {
			fp.sample.objectKey = objectKey
		}
		fp.count++
		fp.seen.add(ts)
		if g.broke[fp.kind] {
			fp.tail.add(ts)
		} else {
			fp.head.add(ts)
		}
	}
}

// breakRuns records a breaker of kind k in group g: runs opened after an
// earlier breaker in this batch are closed here; runs still in their head
// stay for the aggregator to join with earlier batches.
func (b *batchSummary) breakRuns(g *groupBatch, k kind, t thresholds) {
	if !g.broke[k] {
		g.broke[k] = true
		return
	}
	for _, fp := range g.fps {
		if fp.kind == k && fp.tail.count > 0 {
			fp.closed.close(fp.tail, t)
			fp.tail = run{}
		}
	}
}
