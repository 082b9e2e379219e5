package collect

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

// TriggeredSendCollector reads the TriggeredSendSummary counters of every
// triggered send definition each poll with one batched IN Retrieve (500
// keys a call), and the definitions themselves (status; one SOAP Retrieve,
// 2,500 a page, Deleted excluded) every
// callplan.TriggeredSendDefinitionsRefresh, or at once when the summaries
// say a status may have changed (see triggeredSendsMoved: an Inactive
// definition queues its sends). Between
// reads the definitions carry forward from the previous snapshots. It
// carries forward the status run (since, polls, previous, seen active
// before) and the last polls at which Sent and NotSentDueToError grew.
type TriggeredSendCollector struct{}

// Type implements Collector.
func (TriggeredSendCollector) Type() resource.Type { return resource.TriggeredSend }

// TriggeredSendStatus maps TriggeredSendStatusEnum to the normalised status
// (the UI's "Paused" is Inactive in the API).
func TriggeredSendStatus(s sfmc.TriggeredSendStatus) string {
	switch s {
	case sfmc.TSActive:
		return resource.StatusActive
	case sfmc.TSInactive:
		return resource.StatusInactive
	case sfmc.TSNew:
		return resource.StatusNew
	case sfmc.TSCanceled:
		return resource.StatusCanceled
	case sfmc.TSDeleted:
		return resource.StatusDeleted
	}
	return resource.StatusUnknown
}

// Collect implements Collector.
func (TriggeredSendCollector) Collect(ctx context.Context, in *Input) (*Output, error) {
	tsds, readAt, fresh := carriedTriggeredSends(in)
	if !fresh {
		var err error
		if tsds, err = in.Client.TriggeredSends(ctx, nil); err != nil {
			return nil, err
		}
		readAt = in.Now
	}
	sums := map[string]sfmc.TriggeredSendSummary{}
	readSums := func() error {
		keys := make([]string, 0, len(tsds))
		for _, t := range tsds {
			if t.Key != "" {
				keys = append(keys, t.Key)
			}
		}
		if len(keys) == 0 {
			return nil
		}
		ss, err := in.Client.TriggeredSendSummaries(ctx, keys...)
		if err != nil {
			return err
		}
		for _, s := range ss {
			sums[s.Key] = s
		}
		return nil
	}
	if err := readSums(); err != nil {
		return nil, err
	}
	if readAt.Before(in.Now) && triggeredSendsMoved(in, sums) {
		// The summaries say a definition may have changed: read the
		// definitions now rather than at the refresh.
		if read, err := in.Client.TriggeredSends(ctx, nil); err == nil {
			tsds, readAt = read, in.Now
		}
	}
	out := &Output{}
	seen := map[string]bool{}
	for _, t := range tsds {
		if t.Key == "" || seen[t.Key] {
			continue
		}
		seen[t.Key] = true
		snap := in.Snapshot(resource.TriggeredSend, t.Key)
		snap.Status = TriggeredSendStatus(t.Status)
		st := resource.TriggeredSendState{ID: t.ObjectID, Name: t.Name, ModifiedAt: t.ModifiedDate, ObservedSince: in.Now, DefinitionsReadAt: readAt}
		prev, hasPrev := in.Previous[t.Key]
		var ps resource.TriggeredSendState
		if hasPrev && resource.Decode(prev, &ps) != nil {
			hasPrev = false
		}
		tr := msgTrack(hasPrev, prev.Status, ps.StatusSince, ps.StatusPolls, ps.PreviousStatus, snap.Status, in.Now)
		st.StatusSince, st.StatusPolls, st.PreviousStatus = tr.since, tr.polls, tr.previous
		if hasPrev {
			st.ObservedSince = ps.ObservedSince
			if st.ObservedSince.IsZero() {
				st.ObservedSince = prev.ObservedAt
			}
			st.ActiveBefore = ps.ActiveBefore
			if tr.changed {
				st.ActiveBefore = ps.ActiveBefore || prev.Status == resource.StatusActive
			}
			st.SentAt, st.ErrorAt = ps.SentAt, ps.ErrorAt
		}
		if s, ok := sums[t.Key]; ok {
			snap.Counters = map[string]int64{
				resource.CounterSent:              s.Sent,
				resource.CounterNotSentDueToError: s.NotSentDueToError,
				resource.CounterNotSentOptOut:     s.NotSentDueToOptOut,
				resource.CounterNotSentUndeliv:    s.NotSentDueToUndeliverable,
				resource.CounterQueued:            s.Queued,
				resource.CounterInProcess:         s.InProcess,
				resource.CounterBounces:           s.Bounces,
				resource.CounterOptOuts:           s.OptOuts,
			}
			if hasPrev {
				if v, ok := prev.Counters[resource.CounterSent]; ok && s.Sent > v {
					st.SentAt = in.Now
				}
				if v, ok := prev.Counters[resource.CounterNotSentDueToError]; ok && s.NotSentDueToError > v {
					st.ErrorAt = in.Now
				}
			}
		}
		snap.Payload = resource.Encode(st)
		out.Snapshots = append(out.Snapshots, snap)
	}
	return out, nil
}

// carriedTriggeredSends returns the definitions carried from the previous
// snapshots and when they were read, fresh=false when they are to be read
// now (none carried, one unreadable, or older than
// callplan.TriggeredSendDefinitionsRefresh).
func carriedTriggeredSends(in *Input) ([]sfmc.TriggeredSend, time.Time, bool) {
	if len(in.Previous) == 0 {
		return nil, time.Time{}, false
	}
	var last time.Time
	out := make([]sfmc.TriggeredSend, 0, len(in.Previous))
	for key, p := range in.Previous {
		var st resource.TriggeredSendState
		if resource.Decode(p, &st) != nil || st.DefinitionsReadAt.IsZero() {
			return nil, time.Time{}, false
		}
		if st.DefinitionsReadAt.After(last) {
			last = st.DefinitionsReadAt
		}
		out = append(out, sfmc.TriggeredSend{Key: key, ObjectID: st.ID, Name: st.Name, ModifiedDate: st.ModifiedAt, Status: rawTriggeredSendStatus(p.Status)})
	}
	if in.Now.Sub(last) >= max(callplan.TriggeredSendDefinitionsRefresh, in.Tenant.Monitors.TriggeredSends.Interval.Std()) {
		return nil, time.Time{}, false
	}
	// Only the definitions of the newest read (older ones were gone then).
	kept := out[:0]
	for _, t := range out {
		var st resource.TriggeredSendState
		_ = resource.Decode(in.Previous[t.Key], &st)
		if st.DefinitionsReadAt.Equal(last) {
			kept = append(kept, t)
		}
	}
	slices.SortFunc(kept, func(a, b sfmc.TriggeredSend) int { return strings.Compare(a.Key, b.Key) })
	return kept, last, true
}

// triggeredSendsMoved reports summaries that say a definition's status
// may have changed since the previous poll: its queue grew (a definition
// made Inactive queues its sends), or one not known Active sent or its
// queue shrank (it was made Active again).
func triggeredSendsMoved(in *Input, sums map[string]sfmc.TriggeredSendSummary) bool {
	for k, s := range sums {
		p, ok := in.Previous[k]
		if !ok {
			continue
		}
		q, hadQ := p.Counters[resource.CounterQueued]
		if hadQ && s.Queued > q {
			return true
		}
		if p.Status != resource.StatusActive {
			if sent, had := p.Counters[resource.CounterSent]; (had && s.Sent > sent) || (hadQ && s.Queued < q) {
				return true
			}
		}
	}
	return false
}

// rawTriggeredSendStatus is SFMC's spelling of a normalised status.
func rawTriggeredSendStatus(s string) sfmc.TriggeredSendStatus {
	switch s {
	case resource.StatusActive:
		return sfmc.TSActive
	case resource.StatusInactive:
		return sfmc.TSInactive
	case resource.StatusNew:
		return sfmc.TSNew
	case resource.StatusCanceled:
		return sfmc.TSCanceled
	case resource.StatusDeleted:
		return sfmc.TSDeleted
	}
	return sfmc.TriggeredSendStatus(s)
}
