package collect

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

// Send jobs are read with one SOAP Retrieve of Send filtered on SendDate
// (2,500 jobs a page). The first look reads sendFirstLookback, enough for
// five weeks of hour-of-week baseline from SFMC's own history; later polls
// re-read callplan.SendRecentWindow (jobs still sending, and the first
// days of bounces and unsubscribes), every callplan.SendRecheckEvery the
// whole sendRecheck week (bounce and unsubscribe counters keep growing for
// days after a send), and carry older jobs forward from the snapshot.
const (
	sendFirstLookback = 36 * 24 * time.Hour
	sendRecheck       = 7 * 24 * time.Hour
)

// SendCollector reads email send jobs (SOAP Send) and groups them by send
// definition: one snapshot per group, holding its recent jobs.
type SendCollector struct{}

// Type implements Collector.
func (SendCollector) Type() resource.Type { return resource.Send }

// Collect implements Collector.
func (SendCollector) Collect(ctx context.Context, in *Input) (*Output, error) {
	since := in.Now.Add(-sendFirstLookback)
	var rechecked time.Time
	for _, prev := range in.Previous {
		var ps resource.SendState
		if resource.Decode(prev, &ps) == nil && ps.RecheckedAt.After(rechecked) {
			rechecked = ps.RecheckedAt
		}
	}
	switch {
	case len(in.Previous) == 0:
		rechecked = in.Now
	case in.Now.Sub(rechecked) >= callplan.SendRecheckEvery:
		since, rechecked = in.Now.Add(-sendRecheck), in.Now
	default:
		since = in.Now.Add(-callplan.SendRecentWindow)
	}
	// Send health is optional: it stops first when the daily budget runs low.
	jobs, err := in.Client.Sends(sfmc.WithPriority(ctx, sfmc.Optional), since)
	if err != nil {
		return nil, err
	}
	type group struct {
		name, email string
		latest      time.Time
		jobs        map[int64]resource.SendJob
	}
	groups := map[string]*group{}
	get := func(k string) *group {
		g := groups[k]
		if g == nil {
			g = &group{jobs: map[int64]resource.SendJob{}}
			groups[k] = g
		}
		return g
	}
	// Carried jobs first: what was read now replaces them.
	for k, prev := range in.Previous {
		var ps resource.SendState
		if resource.Decode(prev, &ps) != nil {
			continue
		}
		g := get(k)
		g.name, g.email = ps.Name, ps.EmailID
		for _, j := range ps.Jobs {
			if j.SendDate.After(in.Now.Add(-sendFirstLookback)) {
				g.jobs[j.ID] = j
			}
		}
	}
	for _, j := range jobs {
		k := sfmc.SendGroupKey(j)
		g := get(k)
		if !j.SendDate.Before(g.latest) {
			g.latest, g.name, g.email = j.SendDate, strings.TrimSpace(j.EmailName), j.EmailID
		}
		g.jobs[j.ID] = resource.SendJob{ID: j.ID, SendDate: j.SendDate, SentDate: j.SentDate, Status: j.Status,
			Targeted: j.Targeted, Sent: j.Sent, Delivered: j.Delivered, Errored: j.Errored, Bounces: j.Bounces(),
			HardBounces: j.HardBounces, Unsubscribes: j.Unsubscribes}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := &Output{}
	for _, k := range keys {
		g := groups[k]
		if len(g.jobs) == 0 {
			continue // every job aged out of the look-back
		}
		st := resource.SendState{Name: g.name, EmailID: g.email, ObservedSince: in.Now, RecheckedAt: rechecked}
		if prev, ok := in.Previous[k]; ok {
			var ps resource.SendState
			if resource.Decode(prev, &ps) == nil && !ps.ObservedSince.IsZero() {
				st.ObservedSince = ps.ObservedSince
			}
		}
		for _, j := range g.jobs {
			st.Jobs = append(st.Jobs, j)
		}
		sort.Slice(st.Jobs, func(i, j int) bool {
			if !st.Jobs[i].SendDate.Equal(st.Jobs[j].SendDate) {
				return st.Jobs[i].SendDate.Before(st.Jobs[j].SendDate)
			}
			return st.Jobs[i].ID < st.Jobs[j].ID
		})
		if len(st.Jobs) > resource.MaxSendJobs {
			st.Jobs = st.Jobs[len(st.Jobs)-resource.MaxSendJobs:]
		}
		last := st.Jobs[len(st.Jobs)-1]
		snap := in.Snapshot(resource.Send, k)
		snap.Status = resource.StatusRunning
		if last.Complete() {
			snap.Status = resource.StatusComplete
		}
		snap.LastRunAt = last.SendDate
		snap.Counters = map[string]int64{resource.CounterSent: last.Sent, resource.CounterBounces: last.Bounces, resource.CounterOptOuts: last.Unsubscribes}
		snap.Payload = resource.Encode(st)
		out.Snapshots = append(out.Snapshots, snap)
	}
	return out, nil
}
