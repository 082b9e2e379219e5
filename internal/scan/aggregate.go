package scan

import (
	"sort"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
)

// fpState is a fingerprint's running totals across batches.
type fpState struct {
	key    fpKey
	kind   kind
	count  int64
	seen   run
	open   run
	closed runStats
	sample sample
}

type groupState struct {
	calls int64
	fps   []*fpState
}

// aggregator merges batch summaries strictly in batch sequence order, so a
// group's runs are followed across batches and files without keeping events.
type aggregator struct {
	t        thresholds
	files    []string
	lines    int64
	events   int64
	errors   int64
	rec      int64
	bytes    int64
	badCount int64
	bad      []badLine
	from, to time.Time
	groups   map[groupKey]*groupState
	fps      map[fpKey]*fpState
	order    []*fpState // first-seen order, for stable output
	// buckets at resolution res (seconds); coarsened when too many.
	res     int64
	buckets map[int64]*familyCounts
}

// maxBuckets bounds the timeline's memory; beyond it the resolution
// coarsens.
const maxBuckets = 4096

var resolutions = []int64{60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400}

func newAggregator(t thresholds, files []string) *aggregator {
	return &aggregator{t: t, files: files, groups: map[groupKey]*groupState{}, fps: map[fpKey]*fpState{}, res: 60, buckets: map[int64]*familyCounts{}}
}

func (a *aggregator) merge(b *batchSummary) {
	a.lines += b.lines
	a.events += b.events
	a.errors += b.errors
	a.rec += b.recipient
	a.bytes += b.bytes
	a.badCount += b.badCount
	for _, bl := range b.bad {
		if len(a.bad) < maxBadLines {
			a.bad = append(a.bad, bl)
		}
	}
	if !b.from.IsZero() && (a.from.IsZero() || b.from.Before(a.from)) {
		a.from = b.from
	}
	if b.to.After(a.to) {
		a.to = b.to
	}
	for m, fc := range b.buckets {
		k := m * 60 / a.res
		dst := a.buckets[k]
		if dst == nil {
			dst = &familyCounts{}
			a.buckets[k] = dst
		}
		for i, n := range fc {
			dst[i] += n
		}
	}
	for len(a.buckets) > maxBuckets && a.coarsen() {
	}
	// Groups: join heads to open runs, apply breakers, then open tails.
	// Map iteration order does not matter: groups are independent.
	for gk, gb := range b.groups {
		gs := a.groups[gk]
		if gs == nil {
			gs = &groupState{}
			a.groups[groupKey{strings.Clone(gk.integration), strings.Clone(gk.endpoint)}] = gs
		}
		gs.calls += gb.calls
		for _, fb := range gb.fps {
			fs := a.fps[fb.key]
			if fs == nil {
				// Clone what outlives the batch: parsers may hand out
				// strings that share the batch's memory.
				k := fb.key
				k.group = groupKey{strings.Clone(k.group.integration), strings.Clone(k.group.endpoint)}
				k.code = strings.Clone(k.code)
				fs = &fpState{key: k, kind: fb.kind, sample: fb.sample.clone()}
				a.fps[fs.key] = fs
				a.order = append(a.order, fs)
				gs.fps = append(gs.fps, fs)
			} else {
				if fs.sample.message == "" {
					fs.sample.message = strings.Clone(fb.sample.message)
				}
				if fs.sample.objectKey == "" {
					fs.sample.objectKey = strings.Clone(fb.sample.objectKey)
				}
			}
			fs.count += fb.count
			fs.seen.widen(fb.seen.first, fb.seen.last)
			fs.open.join(fb.head)
		}
		for k := range gb.broke {
			if !gb.broke[k] {
				continue
			}
			for _, fs := range gs.fps {
				if fs.kind == kind(k) {
					fs.closed.close(fs.open, a.t)
					fs.open = run{}
				}
			}
		}
		for _, fb := range gb.fps {
			fs := a.fps[fb.key]
			fs.closed.merge(fb.closed)
			if fb.tail.count > 0 {
				fs.open = fb.tail
			}
		}
	}
}

func (a *aggregator) coarsen() bool {
	for _, r := range resolutions {
		if r > a.res {
			nb := make(map[int64]*familyCounts, len(a.buckets)/2)
			for k, fc := range a.buckets {
				nk := k * a.res / r
				dst := nb[nk]
				if dst == nil {
					dst = &familyCounts{}
					nb[nk] = dst
				}
				for i, n := range fc {
					dst[i] += n
				}
			}
			a.res, a.buckets = r, nb
			return true
		}
	}
	return false
}

// chartPoints is the most buckets a timeline has.
const chartPoints = 120

func (a *aggregator) report() *Report {
	r := &Report{
		Settings: Settings{Window: Duration(a.t.window), Consecutive: int(a.t.consecutive)},
		Families: map[catalog.Family]*FamilyStats{},
		Patterns: []Pattern{},
		BadLines: []BadLine{},
	}
	s := &r.Summary
	s.Files = make([]string, len(a.files))
	for i, f := range a.files {
		s.Files[i] = redact.String(f)
	}
	s.Bytes, s.Lines, s.Events, s.Errors, s.RecipientOutcomes, s.BadLines = a.bytes, a.lines, a.events, a.errors, a.rec, a.badCount
	s.From, s.To = timePtr(a.from), timePtr(a.to)
	for _, bl := range a.bad {
		name := ""
		if bl.file >= 0 && bl.file < len(a.files) {
			name = a.files[bl.file]
		}
		r.BadLines = append(r.BadLines, BadLine{File: redact.String(name), Line: bl.line, Reason: redact.String(bl.reason)})
	}
	for _, fs := range a.order {
		fs.closed.close(fs.open, a.t)
		fs.open = run{}
		cl := fs.sample.cl
		p := Pattern{
			Family: fs.key.family, Code: fs.key.code, HTTPStatus: cl.HTTPStatus, Surface: fs.key.surface,
			Endpoint: redact.String(fs.key.group.endpoint), Integration: redact.String(fs.key.group.integration),
			Count: fs.count, FirstSeen: timePtr(fs.seen.first), LastSeen: timePtr(fs.seen.last),
			Persistence: Intermittent, Owner: cl.Owner, Remediation: cl.Remediation, Title: redact.String(cl.Title),
			Severity: cl.Severity, Transient: cl.Transient, Unknown: cl.Unknown,
			LongestRun: fs.closed.longestRun, LongestSpan: Duration(fs.closed.longestSpan),
			SampleObjectKey: redact.String(fs.sample.objectKey), SampleMessage: redact.String(fs.sample.message),
			SampleURL: redact.String(fs.sample.url),
		}
		if p.Remediation == nil {
			p.Remediation = []string{}
		}
		if fs.closed.persistent {
			p.Persistence = Persistent
		}
		if gs := a.groups[fs.key.group]; gs != nil && gs.calls > 0 {
			p.Calls = gs.calls
			p.ErrorRatio = float64(fs.count) / float64(gs.calls)
		}
		if p.IsError() {
			if p.Persistence == Persistent {
				s.PersistentPatterns++
			} else {
				s.IntermittentPatterns++
			}
		}
		r.Patterns = append(r.Patterns, p)
		st := r.Families[p.Family]
		if st == nil {
			st = &FamilyStats{Codes: map[string]int64{}}
			r.Families[p.Family] = st
		}
		st.Count += p.Count
		st.Codes[string(p.Surface)+":"+p.Code] += p.Count
	}
	sortPatterns(r.Patterns)
	r.Timeline = a.timeline()
	return r
}

// sortPatterns orders patterns for reading: errors before recipient
// outcomes, persistent first, then severity, count, and names.
func sortPatterns(ps []Pattern) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.IsError() != b.IsError() {
			return a.IsError()
		}
		if (a.Persistence == Persistent) != (b.Persistence == Persistent) {
			return a.Persistence == Persistent
		}
		if ra, rb := a.Severity.Rank(), b.Severity.Rank(); ra != rb {
			return ra > rb
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Integration != b.Integration {
			return a.Integration < b.Integration
		}
		if a.Endpoint != b.Endpoint {
			return a.Endpoint < b.Endpoint
		}
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		return string(a.Surface)+a.Code < string(b.Surface)+b.Code
	})
}

func (a *aggregator) timeline() Timeline {
	tl := Timeline{Series: []Series{}}
	if len(a.buckets) == 0 || a.from.IsZero() {
		return tl
	}
	span := a.to.Unix() - a.from.Unix()
	res := a.res
	for _, r := range resolutions {
		if r >= res && span/r < chartPoints {
			res = r
			break
		}
		res = max(res, r)
	}
	start := a.from.Unix() / res * res
	n := int((a.to.Unix()-start)/res) + 1
	var totals familyCounts
	counts := make([]familyCounts, n)
	for k, fc := range a.buckets {
		i := int((k*a.res - start) / res)
		if i < 0 {
			i = 0
		}
		if i >= n {
			i = n - 1
		}
		for f, c := range fc {
			counts[i][f] += c
			totals[f] += c
		}
	}
	st := time.Unix(start, 0).UTC()
	tl.Start = &st
	tl.Bucket = Duration(time.Duration(res) * time.Second)
	for f, fam := range catalog.Families {
		if totals[f] == 0 {
			continue
		}
		s := Series{Family: fam, Counts: make([]int64, n)}
		for i := range counts {
			s.Counts[i] = counts[i][f]
		}
		tl.Series = append(tl.Series, s)
	}
	return tl
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s sample) clone() sample {
	s.objectKey, s.url, s.message = strings.Clone(s.objectKey), strings.Clone(s.url), strings.Clone(s.message)
	s.cl.Message, s.cl.Title = strings.Clone(s.cl.Message), strings.Clone(s.cl.Title)
	return s
}
