package collect

import (
	"context"

	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

// TriggeredSendCollector reads every triggered send definition with one
// SOAP Retrieve (2,500 a page; Deleted excluded) and their
// TriggeredSendSummary counters with one batched IN Retrieve (500 keys a
// call): two calls a poll for up to 500 definitions. It carries forward
// the status run (since, polls, previous, seen active before) and the last
// polls at which Sent and NotSentDueToError grew.
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
	tsds, err := in.Client.TriggeredSends(ctx, nil)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(tsds))
	for _, t := range tsds {
		if t.Key != "" {
			keys = append(keys, t.Key)
		}
	}
	sums := map[string]sfmc.TriggeredSendSummary{}
	if len(keys) > 0 {
		ss, err := in.Client.TriggeredSendSummaries(ctx, keys...)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			sums[s.Key] = s
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
		st := resource.TriggeredSendState{ID: t.ObjectID, Name: t.Name, ModifiedAt: t.ModifiedDate, ObservedSince: in.Now}
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
