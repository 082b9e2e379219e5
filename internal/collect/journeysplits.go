package collect

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

// Journey history reads of journey.split_skew.
const (
	// JourneySplitLag: the journey history is counted up to this long
	// before now (SFMC's history lags by minutes: its freshness endpoint's
	// documented example is 1,200 s), so a late row is not lost.
	JourneySplitLag = 30 * time.Minute
	// JourneySplitFirstLook is how far back the first read of a split
	// counts: a day's window and a week's baseline, so a split already
	// skewed when sfmcwatch starts is judged on the first cycle.
	JourneySplitFirstLook = resource.MaxSplitBuckets * resource.SplitBucket
	// journeyHistoryRetention: SFMC keeps journey history 30 days.
	journeyHistoryRetention = 30 * 24 * time.Hour
)

// splitItem is a journey the collector just observed, with its state.
type splitItem struct {
	key string
	j   sfmc.Journey
	st  *resource.JourneyState
}

// collectSplits reads what journey.split_skew needs, as optional calls
// (they stop first when the daily budget runs low): the definition of
// each published journey once per version (its decision splits and the
// activities their paths lead to), at most JourneyDefinitionBudget a
// poll; then, for journeys with splits, the journey history of the split
// activities and of each path's next activity since the last read, every
// JourneySplitRefresh, at most JourneySplitBudget downloads a poll (the
// least recently read first). Only row counts by activity and 6-hour
// bucket are kept.
func collectSplits(ctx context.Context, in *Input, items []splitItem) {
	ctx = sfmc.WithPriority(ctx, sfmc.Optional)
	published := func(it splitItem) bool {
		return it.j.Status == sfmc.JourneyPublished && it.j.DefinitionType != "Transactional" && it.j.ID != ""
	}
	// 1. Definitions of new versions (never read first).
	var defs []splitItem
	for _, it := range items {
		if published(it) && (it.st.SplitsVersion != it.j.Version || !it.st.SplitsModified.Equal(it.j.ModifiedDate)) {
			defs = append(defs, it)
		}
	}
	slices.SortFunc(defs, func(a, b splitItem) int {
		return cmp.Or(cmp.Compare(a.st.SplitsVersion, b.st.SplitsVersion), cmp.Compare(a.key, b.key))
	})
	for i, it := range defs {
		if i >= callplan.JourneyDefinitionBudget {
			break
		}
		acts, err := in.Client.JourneyActivities(ctx, it.key)
		if err != nil {
			if roundStops(err) {
				break
			}
			acts = nil // a definition that cannot be read has no splits to judge until its next version
		}
		it.st.Splits = JourneySplits(acts)
		it.st.SplitsVersion, it.st.SplitsModified = it.j.Version, it.j.ModifiedDate
	}
	// 2. History, least recently read first.
	var due []splitItem
	for _, it := range items {
		refresh := callplan.JourneySplitRefresh
		if slices.ContainsFunc(it.st.Splits, func(s resource.JourneySplit) bool { return s.Suspect }) {
			refresh = callplan.JourneySplitSuspectRefresh
		}
		if published(it) && len(it.st.Splits) > 0 && in.Now.Sub(splitsReadAt(it.st)) >= refresh {
			due = append(due, it)
		}
	}
	slices.SortFunc(due, func(a, b splitItem) int {
		return cmp.Or(splitsReadAt(a.st).Compare(splitsReadAt(b.st)), cmp.Compare(a.key, b.key))
	})
	for i, it := range due {
		if i >= callplan.JourneySplitBudget {
			break
		}
		if err := readSplitHistory(ctx, in, it.st.Splits); err != nil && roundStops(err) {
			break
		}
	}
}

// roundStops reports whether an error concerns the whole tenant (budget,
// authentication, permission, throttling, an outage): no further read
// this poll.
func roundStops(err error) bool {
	return sfmc.IsBudget(err) || sfmc.IsAuth(err) || sfmc.IsForbidden(err) || sfmc.IsBlocked(err) ||
		sfmc.IsRateLimited(err) || sfmc.IsTransient(err) || ctxDone(err)
}

func ctxDone(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// splitsReadAt is the oldest ReadAt of a journey's splits.
func splitsReadAt(st *resource.JourneyState) time.Time {
	var t time.Time
	for i, s := range st.Splits {
		if i == 0 || s.ReadAt.Before(t) {
			t = s.ReadAt
		}
	}
	return t
}

// readSplitHistory counts one journey's split history since the last read
// into the splits' buckets (one download for all its splits).
func readSplitHistory(ctx context.Context, in *Input, splits []resource.JourneySplit) error {
	to := in.Now.Add(-JourneySplitLag)
	from := to.Add(-JourneySplitFirstLook).Truncate(resource.SplitBucket)
	for _, s := range splits {
		if !s.Through.IsZero() && s.Through.After(from) {
			from = s.Through
		}
	}
	if oldest := in.Now.Add(-journeyHistoryRetention); from.Before(oldest) {
		from = oldest
	}
	if !to.After(from) {
		return nil
	}
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		if id = strings.ToLower(id); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, s := range splits {
		add(s.ActivityID)
		for _, p := range s.Paths {
			if !p.Derived {
				add(p.NextID)
			}
		}
	}
	counts, err := in.Client.JourneyHistoryCounts(ctx, ids, from, to, resource.SplitBucket)
	for i := range splits {
		s := &splits[i]
		s.ReadAt = in.Now
		if err != nil {
			s.ReadError = redact.String(err.Error())
			continue
		}
		s.ReadError = ""
		if s.Since.IsZero() || (s.Through.IsZero() && from.Before(s.Since)) {
			s.Since = from
		}
		// Reads start where the last one ended (or at the first look's
		// start): only splits counted up to a different point restart.
		if !s.Through.IsZero() && !s.Through.Equal(from) {
			s.Buckets, s.Since = nil, from
		}
		s.Through = to
		addSplitCounts(s, counts)
		s.Suspect = splitSuspect(*s)
	}
	return err
}

// splitSuspectMin is the contacts a split must have processed, both in
// its newest buckets and in those before, for a read to mark it suspect.
const splitSuspectMin = 20

// tallyBuckets sums a split's buckets: the split's count, then each
// path's (a single derived path filled in as the rest).
func tallyBuckets(s resource.JourneySplit, bs []resource.SplitCounts) []int64 {
	t := make([]int64, 1+len(s.Paths))
	for _, b := range bs {
		t[0] += b.Split
		for i := range min(len(b.Paths), len(s.Paths)) {
			t[1+i] += b.Paths[i]
		}
	}
	return deriveRest(s, t)
}

func deriveRest(s resource.JourneySplit, t []int64) []int64 {
	derived, n, counted := -1, 0, int64(0)
	for i, p := range s.Paths {
		if p.Derived {
			derived, n = i, n+1
			continue
		}
		counted += t[1+i]
	}
	if n == 1 {
		t[1+derived] = max(0, t[0]-counted)
	}
	return t
}

// splitSuspect reports a split whose newest bucket (with the one before
// it while it holds fewer than splitSuspectMin contacts) sent a path that
// took at least a tenth of the contacts before less than half that
// share: the split may be skewing, so it is read again sooner than
// callplan.JourneySplitRefresh. journey.split_skew still judges.
func splitSuspect(s resource.JourneySplit) bool {
	n := len(s.Buckets)
	if n < 2 {
		return false
	}
	cut := n - 1
	if tallyBuckets(s, s.Buckets[cut:])[0] < splitSuspectMin && cut > 1 {
		cut--
	}
	before, fresh := tallyBuckets(s, s.Buckets[:cut]), tallyBuckets(s, s.Buckets[cut:])
	if before[0] < splitSuspectMin || fresh[0] < splitSuspectMin {
		return false
	}
	for i := 1; i < len(before); i++ {
		was := float64(before[i]) / float64(before[0])
		if was >= 0.1 && float64(fresh[i])/float64(fresh[0]) < was/2 {
			return true
		}
	}
	return false
}

// addSplitCounts merges counted rows into a split's buckets.
func addSplitCounts(s *resource.JourneySplit, counts map[string]map[time.Time]int64) {
	byStart := map[time.Time]*resource.SplitCounts{}
	for i := range s.Buckets {
		byStart[s.Buckets[i].Start] = &s.Buckets[i]
	}
	get := func(t time.Time) *resource.SplitCounts {
		if b := byStart[t]; b != nil {
			return b
		}
		s.Buckets = append(s.Buckets, resource.SplitCounts{Start: t, Paths: make([]int64, len(s.Paths))})
		b := &s.Buckets[len(s.Buckets)-1]
		// Appending may move the slice: index again.
		for i := range s.Buckets {
			byStart[s.Buckets[i].Start] = &s.Buckets[i]
		}
		return b
	}
	for t, n := range counts[strings.ToLower(s.ActivityID)] {
		get(t).Split += n
	}
	for p, path := range s.Paths {
		if path.Derived || path.NextID == "" {
			continue
		}
		for t, n := range counts[strings.ToLower(path.NextID)] {
			b := get(t)
			if len(b.Paths) < len(s.Paths) {
				b.Paths = append(b.Paths, make([]int64, len(s.Paths)-len(b.Paths))...)
			}
			b.Paths[p] += n
		}
	}
	slices.SortFunc(s.Buckets, func(a, b resource.SplitCounts) int { return a.Start.Compare(b.Start) })
	if n := len(s.Buckets); n > resource.MaxSplitBuckets {
		s.Buckets = slices.Clone(s.Buckets[n-resource.MaxSplitBuckets:])
		if first := s.Buckets[0].Start; first.After(s.Since) {
			s.Since = first
		}
	}
}

// JourneySplits finds a journey definition's decision splits: activities
// of a split type (sfmc.SplitActivityTypes) with two outcomes or more. A
// path is counted at its next activity unless it has none or contacts of
// another path can also reach that activity (paths that join again);
// then it is Derived (the split's count minus the other paths').
func JourneySplits(acts []sfmc.JourneyActivity) []resource.JourneySplit {
	byKey := map[string]sfmc.JourneyActivity{}
	for _, a := range acts {
		byKey[a.Key] = a
	}
	// reaches reports whether target is reachable from start.
	reaches := func(start, target string) bool {
		seen := map[string]bool{}
		stack := []string{start}
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if k == "" || seen[k] {
				continue
			}
			if k == target {
				return true
			}
			seen[k] = true
			for _, o := range byKey[k].Outcomes {
				stack = append(stack, o.Next)
			}
		}
		return false
	}
	var out []resource.JourneySplit
	for _, a := range acts {
		if !sfmc.SplitActivityTypes[a.Type] || len(a.Outcomes) < 2 || a.ID == "" {
			continue
		}
		s := resource.JourneySplit{ActivityID: a.ID, ActivityKey: a.Key, Name: redact.String(a.Name), Type: a.Type}
		for i, o := range a.Outcomes {
			p := resource.SplitPath{Key: o.Key, Label: redact.String(o.Label), Next: o.Next, NextID: byKey[o.Next].ID,
				Percentage: o.Percentage, Remainder: strings.HasPrefix(a.Type, "MULTICRITERIADECISION") && !o.Criteria}
			p.Derived = p.NextID == ""
			for j, other := range a.Outcomes {
				if j != i && other.Next != "" && reaches(other.Next, o.Next) {
					p.Derived = true
				}
			}
			s.Paths = append(s.Paths, p)
		}
		out = append(out, s)
	}
	return out
}
