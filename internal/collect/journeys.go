package collect

import (
	"cmp"
	"context"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

// JourneyCollector reads every journey with one paged list per poll
// (extras=stats, mostRecentVersionOnly=true: 50 journeys a call) and
// records each journey's normalised status and enrollment counters
// (cumulative_population, current_population). It carries forward what
// rules need without reading history: when the status began and what it
// was before, and when cumulative_population last grew with the recent
// gaps between growths (journey.enrollment_drop's inter-arrival times).
type JourneyCollector struct{}

// Type implements Collector.
func (JourneyCollector) Type() resource.Type { return resource.Journey }

// JourneyStatus maps SFMC's journey status to the normalised status.
func JourneyStatus(s sfmc.JourneyStatus) string {
	switch s {
	case sfmc.JourneyPublished:
		return resource.StatusPublished
	case sfmc.JourneyStopped:
		return resource.StatusStopped
	case sfmc.JourneyPaused:
		return resource.StatusPaused
	case sfmc.JourneyDraft:
		return resource.StatusDraft
	case sfmc.JourneyUnpublished:
		return resource.StatusUnpublished
	case sfmc.JourneyDeleted:
		return resource.StatusDeleted
	case "ScheduledToPublish", "ScheduledToSend":
		return resource.StatusScheduled
	case "Sent":
		return resource.StatusComplete
	}
	return resource.StatusUnknown
}

// Collect implements Collector.
func (JourneyCollector) Collect(ctx context.Context, in *Input) (*Output, error) {
	js, err := in.Client.Journeys(ctx, sfmc.JourneyListOptions{})
	if err != nil {
		return nil, err
	}
	out := &Output{}
	// One snapshot per journey key: its highest version (a list that
	// returns every version must not let an old Stopped v1 hide the
	// Published v2).
	newest := map[string]int{}
	for i, j := range js {
		key := cmp.Or(j.Key, j.ID)
		if k, ok := newest[key]; !ok || j.Version > js[k].Version {
			newest[key] = i
		}
	}
	seen := map[string]bool{}
	var splits []splitItem
	for i, j := range js {
		key := j.Key
		if key == "" {
			key = j.ID
		}
		if key == "" || seen[key] || newest[key] != i {
			continue
		}
		seen[key] = true
		snap := in.Snapshot(resource.Journey, key)
		snap.Status = JourneyStatus(j.Status)
		snap.LastRunAt = j.LastPublishedDate
		st := resource.JourneyState{ID: j.ID, Name: j.Name, Version: j.Version, ModifiedAt: j.ModifiedDate,
			Transactional: j.DefinitionType == "Transactional", DefinitionType: j.DefinitionType,
			LastPublishedAt: j.LastPublishedDate, ObservedSince: in.Now}
		var prevCum int64 = -1
		prev, hasPrev := in.Previous[key]
		var ps resource.JourneyState
		if hasPrev {
			if err := resource.Decode(prev, &ps); err != nil {
				hasPrev = false
			}
		}
		tr := msgTrack(hasPrev, prev.Status, ps.StatusSince, ps.StatusPolls, ps.PreviousStatus, snap.Status, in.Now)
		st.StatusSince, st.StatusPolls, st.PreviousStatus = tr.since, tr.polls, tr.previous
		if hasPrev {
			st.ObservedSince = ps.ObservedSince
			if st.ObservedSince.IsZero() {
				st.ObservedSince = prev.ObservedAt
			}
			st.PublishedBefore = ps.PublishedBefore
			if tr.changed {
				// The current status just began: was the journey published before it?
				st.PublishedBefore = ps.PublishedBefore || prev.Status == resource.StatusPublished
			}
			st.EntryAt, st.EntryGaps = ps.EntryAt, ps.EntryGaps
			st.Splits, st.SplitsVersion, st.SplitsModified = ps.Splits, ps.SplitsVersion, ps.SplitsModified
			if v, ok := prev.Counters[resource.CounterCumulativePopulation]; ok {
				prevCum = v
			}
		}
		if j.Stats != nil {
			snap.Counters = map[string]int64{
				resource.CounterCumulativePopulation: j.Stats.CumulativePopulation,
				resource.CounterCurrentPopulation:    j.Stats.CurrentPopulation,
			}
			if prevCum >= 0 && j.Stats.CumulativePopulation > prevCum {
				if !st.EntryAt.IsZero() {
					st.EntryGaps = msgAppendGap(st.EntryGaps, in.Now.Sub(st.EntryAt), resource.MaxEntryGaps)
				}
				st.EntryAt = in.Now
			}
		}
		out.Snapshots = append(out.Snapshots, snap)
		splits = append(splits, splitItem{key: key, j: j, st: &st})
	}
	// Decision splits (journey.split_skew): optional reads, budgeted.
	collectSplits(ctx, in, splits)
	for i, it := range splits {
		out.Snapshots[i].Payload = resource.Encode(*it.st)
	}
	return out, nil
}

// msgTracked is the outcome of msgTrack.
type msgTracked struct {
	since    time.Time
	polls    int
	previous string
	changed  bool // the status differs from the previous snapshot's (or there is none)
}

// msgTrack carries a status run forward: since/polls of the current status
// and the status before it.
func msgTrack(hasPrev bool, prevStatus string, prevSince time.Time, prevPolls int, prevPrevious, status string, now time.Time) msgTracked {
	if !hasPrev {
		return msgTracked{since: now, polls: 1, changed: true}
	}
	if prevStatus == status {
		if prevSince.IsZero() {
			prevSince = now
		}
		return msgTracked{since: prevSince, polls: min(prevPolls+1, config.StatusPollsCap), previous: prevPrevious}
	}
	return msgTracked{since: now, polls: 1, previous: prevStatus, changed: true}
}

// msgAppendGap appends a gap in seconds, keeping the last max.
func msgAppendGap(gaps []int64, d time.Duration, max int) []int64 {
	out := append(append([]int64(nil), gaps...), int64(d/time.Second))
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}
