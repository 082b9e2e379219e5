package detect

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
)

// JourneySplitSkewRule is journey.split_skew: a published journey's
// decision split sends a far different share of its contacts down a path
// than its baseline. The journey collector counts, from SFMC's journey
// history, the contacts at each split activity and at the activity each
// path leads to, in 6-hour buckets (resource.JourneySplit). A path's
// share over the last window (6 h, widened to 4 × window while it holds
// fewer than min_contacts) is compared with its share over the
// baseline span before it (7 days) when that span has min_baseline
// contacts, otherwise with a random split's declared percentages. A path
// whose baseline share is at least min_share and whose share fell below
// (1 − drop_ratio) × baseline fires; so does a criteria path (not a
// decision's remainder) that took no contact over the whole counted
// history (at least a day) while the split processed min_contacts.
// The first history read covers 8 days, so a split already skewed when
// sfmcwatch starts is judged on the first cycle (and by the audit). One
// finding per split (discriminator: the split's activity key).
type JourneySplitSkewRule struct{}

// ID implements Rule.
func (JourneySplitSkewRule) ID() string { return "journey.split_skew" }

// Type implements Rule.
func (JourneySplitSkewRule) Type() resource.Type { return resource.Journey }

// NeedsHistory implements Rule.
func (JourneySplitSkewRule) NeedsHistory() bool { return false }

// splitTally is a split's counts over a span: the split's own count and
// each path's (derived paths filled in).
type splitTally struct {
	split int64
	paths []int64
}

// tallySplit sums the buckets whose start is in [from, to) (to zero: no
// end) and derives a single uncounted path as the rest.
func tallySplit(s resource.JourneySplit, from, to time.Time) splitTally {
	t := splitTally{paths: make([]int64, len(s.Paths))}
	for _, b := range s.Buckets {
		if b.Start.Before(from) || (!to.IsZero() && !b.Start.Before(to)) {
			continue
		}
		t.split += b.Split
		for i := range min(len(b.Paths), len(t.paths)) {
			t.paths[i] += b.Paths[i]
		}
	}
	derived, counted := -1, int64(0)
	nDerived := 0
	for i, p := range s.Paths {
		if p.Derived {
			derived, nDerived = i, nDerived+1
			continue
		}
		counted += t.paths[i]
	}
	if nDerived == 1 {
		t.paths[derived] = max(0, t.split-counted)
	}
	if t.split < counted {
		t.split = counted
	}
	return t
}

func (t splitTally) share(i int) float64 {
	if t.split <= 0 {
		return 0
	}
	return float64(t.paths[i]) / float64(t.split)
}

func splitPathName(p resource.SplitPath) string {
	if p.Label != "" {
		return fmt.Sprintf("'%s' (%s)", p.Label, p.Key)
	}
	return "'" + p.Key + "'"
}

// Evaluate implements Rule.
func (r JourneySplitSkewRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.JourneySplitSkew
	var out []Finding
	for _, s := range in.Current {
		if s.Status != resource.StatusPublished {
			continue
		}
		var st resource.JourneyState
		if err := resource.Decode(s, &st); err != nil {
			return nil, err
		}
		drop := float64(cfg.DropRatio)
		if o := in.Object(s.ResourceKey); o.SplitDropRatio > 0 {
			drop = float64(o.SplitDropRatio)
		}
		for _, sp := range st.Splits {
			if f, ok := r.judge(in, s.ResourceKey, st, sp, drop); ok {
				f.Evidence = msgEvidence(s)
				f.FirstSeen = s.ObservedAt
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// judge decides one split.
func (r JourneySplitSkewRule) judge(in *Input, key string, st resource.JourneyState, sp resource.JourneySplit, drop float64) (Finding, bool) {
	cfg := in.Rules.JourneySplitSkew
	if sp.Through.IsZero() || len(sp.Paths) < 2 || len(sp.Buckets) == 0 {
		return Finding{}, false
	}
	// The window: the buckets starting within the last window (at least
	// one), widened a bucket at a time up to 4 × window while it holds
	// fewer than min_contacts.
	winFrom := sp.Through.Add(-cfg.Window.Std())
	if t := winFrom.Truncate(resource.SplitBucket); t.Before(winFrom) {
		winFrom = t.Add(resource.SplitBucket)
	}
	if !winFrom.Before(sp.Through) {
		winFrom = winFrom.Add(-resource.SplitBucket)
	}
	win := tallySplit(sp, winFrom, time.Time{})
	for win.split < cfg.MinContacts && sp.Through.Sub(winFrom) < 4*cfg.Window.Std() && winFrom.After(sp.Since) {
		winFrom = winFrom.Add(-resource.SplitBucket)
		win = tallySplit(sp, winFrom, time.Time{})
	}
	if win.split < cfg.MinContacts {
		return Finding{}, false
	}
	baseFrom := winFrom.Add(-cfg.Baseline.Std())
	base := tallySplit(sp, baseFrom, winFrom)
	all := tallySplit(sp, time.Time{}, time.Time{})
	// The baseline shares: observed, else a random split's percentages.
	var baseShare []float64
	source := ""
	switch {
	case base.split >= cfg.MinBaseline:
		for i := range sp.Paths {
			baseShare = append(baseShare, base.share(i))
		}
		days := winFrom.Sub(maxTime(baseFrom, sp.Since)).Hours() / 24
		source = fmt.Sprintf("over the %.1f days before (%d contacts)", days, base.split)
	default:
		declared := true
		for _, p := range sp.Paths {
			declared = declared && p.Percentage > 0
		}
		if declared {
			for _, p := range sp.Paths {
				baseShare = append(baseShare, float64(p.Percentage)/100)
			}
			source = "as the random split declares"
		}
	}
	name := msgName(st.Name, key)
	split := sp.ActivityKey
	if sp.Name != "" {
		split = fmt.Sprintf("%s (%s)", sp.Name, sp.ActivityKey)
	}
	shares := func(t splitTally) string {
		var parts []string
		for i, p := range sp.Paths {
			parts = append(parts, fmt.Sprintf("%s %d (%.0f%%)", p.Key, t.paths[i], 100*t.share(i)))
		}
		return strings.Join(parts, ", ")
	}
	f := Finding{ResourceType: resource.Journey, ResourceKey: key, ResourceName: st.Name, Owner: catalog.MarketingOps,
		Discriminator: sp.ActivityKey}
	if in.Critical(key) {
		f.Severity = msgEscalate(cfg.Severity)
	}
	window := sp.Through.Sub(winFrom).Round(time.Minute)
	for i, p := range sp.Paths {
		if p.Derived && countedPaths(sp) < len(sp.Paths)-1 {
			continue // several uncounted paths: cannot tell them apart
		}
		now := win.share(i)
		if baseShare != nil && baseShare[i] >= float64(cfg.MinShare) && now < (1-drop)*baseShare[i] {
			f.Title = fmt.Sprintf("Journey '%s': split %s sends %.0f%% of contacts down path %s (baseline %.0f%%)",
				name, sp.ActivityKey, 100*now, splitPathName(p), 100*baseShare[i])
			f.Detail = fmt.Sprintf("Decision split %s (%s) processed %d contacts in the last %s of journey history (up to %s): %s. Path %s took %.0f%% of them against %.0f%% %s (%s). A path that suddenly gets (almost) nobody usually means the field or data the decision reads changed.",
				split, sp.Type, win.split, window, sp.Through.UTC().Format(time.RFC3339), shares(win), splitPathName(p), 100*now, 100*baseShare[i], source, shares(base))
			f.FailureStartedAt = splitSkewStart(sp, i, (1-drop)*baseShare[i])
			f.Remediation = splitRemediation(sp)
			return f, true
		}
		// A criteria path that never took anyone over the whole counted
		// history (at least a day).
		if !p.Remainder && all.paths[i] == 0 && all.split >= cfg.MinContacts && sp.Through.Sub(sp.Since) >= max(4*cfg.Window.Std(), 24*time.Hour) &&
			(baseShare == nil || baseShare[i] == 0) {
			f.Title = fmt.Sprintf("Journey '%s': split %s sent nobody down path %s since %s", name, sp.ActivityKey, splitPathName(p),
				sp.Since.UTC().Format("2006-01-02"))
			f.Detail = fmt.Sprintf("Decision split %s (%s) processed %d contacts from %s to %s of journey history and none took path %s: %s. Its criteria never match, or the data it reads is missing.",
				split, sp.Type, all.split, sp.Since.UTC().Format(time.RFC3339), sp.Through.UTC().Format(time.RFC3339), splitPathName(p), shares(all))
			f.FailureStartedAt = sp.Since
			f.Remediation = splitRemediation(sp)
			return f, true
		}
	}
	return Finding{}, false
}

func countedPaths(sp resource.JourneySplit) int {
	n := 0
	for _, p := range sp.Paths {
		if !p.Derived {
			n++
		}
	}
	return n
}

// splitSkewStart is the start of the earliest bucket of the latest run of
// buckets in which the path's share stayed below limit.
func splitSkewStart(sp resource.JourneySplit, path int, limit float64) time.Time {
	var start time.Time
	for i := len(sp.Buckets) - 1; i >= 0; i-- {
		b := sp.Buckets[i]
		if b.Split <= 0 {
			continue
		}
		t := tallySplit(resource.JourneySplit{Paths: sp.Paths, Buckets: []resource.SplitCounts{b}}, time.Time{}, time.Time{})
		if t.share(path) >= limit {
			break
		}
		start = b.Start
	}
	return start
}

func splitRemediation(sp resource.JourneySplit) []string {
	r := []string{
		fmt.Sprintf("Open the journey in Journey Builder and check split %s: its criteria and the entry source or contact data fields they read (a renamed, emptied or retyped field sends everyone down the remainder path).", sp.ActivityKey),
		"Check the journey history (Journey Builder > Journey History, filtered on the split) for when the shares changed, and fix the data or the criteria; contacts already sent down the wrong path can be re-injected.",
		"If the change is intended (new criteria, a campaign that ended), mark the journey ignored or set objects: journey:<key>: {split_drop_ratio: …}; the baseline relearns within a week.",
	}
	if sp.Type == "RANDOMSPLIT" {
		r[0] = fmt.Sprintf("Open the journey in Journey Builder and check random split %s: its percentages and whether the activities after it are configured.", sp.ActivityKey)
	}
	return r
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
