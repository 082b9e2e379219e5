package detect

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// xrefFakeEvents is an in-memory event store honouring the query fields
// the cross-reference uses (tenant, endpoint, time range, keyset paging).
type xrefFakeEvents struct{ evs []store.EventRecord }

func (f *xrefFakeEvents) add(e store.EventRecord) {
	e.ID = int64(len(f.evs) + 1)
	f.evs = append(f.evs, e)
	sort.SliceStable(f.evs, func(i, j int) bool { return f.evs[i].TS.Before(f.evs[j].TS) })
}

func (f *xrefFakeEvents) QueryEvents(_ context.Context, q store.EventQuery) ([]store.EventRecord, error) {
	var out []store.EventRecord
	for _, e := range f.evs {
		if (q.Tenant != "" && e.Tenant != q.Tenant) || (q.Endpoint != "" && e.Endpoint != q.Endpoint) ||
			(!q.From.IsZero() && e.TS.Before(q.From)) || (!q.To.IsZero() && !e.TS.Before(q.To)) {
			continue
		}
		if !q.After.TS.IsZero() && (e.TS.Before(q.After.TS) || (e.TS.Equal(q.After.TS) && e.ID <= q.After.ID)) {
			continue
		}
		out = append(out, e)
		if len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

func (f *xrefFakeEvents) AggregateEvents(context.Context, store.AggregateQuery) ([]store.EventBucket, error) {
	return nil, nil
}

// sendEvent is one triggered send call an integration made at ts.
func sendEvent(ts time.Time, integration, key string, status int, isErr bool) store.EventRecord {
	const ep = "/messaging/v1/messageDefinitionSends/key:{key}/send"
	return store.EventRecord{Event: event.Event{TS: ts, Tenant: "t", Integration: integration, Source: "proxy", Method: "POST",
		Endpoint: ep, ObjectKey: key, Status: status}, IsError: isErr, Family: "none", Count: 1}
}

func TestSilentFailureCrossReference(t *testing.T) {
	now := msgT0.Add(3 * time.Hour)
	for _, c := range []struct {
		name     string
		status   string
		accepted int   // accepted sends spread over the 30 minutes before now−5m
		rejected int   // 4xx sends in the same span
		late     int   // accepted in the last 5 minutes (grace: not counted)
		dSent    int64 // Sent delta over the window
		source   string
		want     bool
		inTitle  string
	}{
		{name: "40 accepted, none sent", status: resource.StatusActive, accepted: 40, dSent: 0, want: true, inTitle: "40 sends accepted from crm-sync, SFMC sent 0"},
		{name: "40 accepted, 20 sent (50%)", status: resource.StatusActive, accepted: 40, dSent: 20, want: true},
		{name: "40 accepted, 21 sent", status: resource.StatusActive, accepted: 40, dSent: 21},
		{name: "40 accepted, all sent plus others' sends", status: resource.StatusActive, accepted: 40, dSent: 100},
		{name: "9 accepted (below min)", status: resource.StatusActive, accepted: 9, dSent: 0},
		{name: "rejected calls are not accepted sends", status: resource.StatusActive, accepted: 5, rejected: 30, dSent: 0},
		{name: "sends in the grace period do not count", status: resource.StatusActive, accepted: 5, late: 30, dSent: 0},
		{name: "paused definition queues them", status: resource.StatusInactive, accepted: 12, dSent: 0, want: true, inTitle: "12 sends accepted"},
		{name: "the monitor's own calls never count", status: resource.StatusActive, accepted: 40, dSent: 0, source: "client"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := &msgFakeSnaps{}
			st := resource.TriggeredSendState{Name: "TS Welcome", StatusSince: msgT0, SentAt: now}
			fs.add(msgSnap(resource.TriggeredSend, "TS_Welcome", now.Add(-40*time.Minute), c.status, st, msgTSCounters(1000, 3, 0)))
			fs.add(msgSnap(resource.TriggeredSend, "TS_Welcome", now, c.status, st, msgTSCounters(1000+c.dSent, 3, int64(c.accepted))))
			ev := &xrefFakeEvents{}
			span := 30 * time.Minute
			for i := range c.accepted {
				e := sendEvent(now.Add(-35*time.Minute).Add(span*time.Duration(i)/time.Duration(max(c.accepted, 1))), "crm-sync", "ts_welcome", 202, false)
				if c.source != "" {
					e.Source = c.source
				}
				ev.add(e)
			}
			for i := range c.rejected {
				ev.add(sendEvent(now.Add(-30*time.Minute).Add(time.Duration(i)*time.Second), "crm-sync", "TS_Welcome", 400, true))
			}
			for i := range c.late {
				ev.add(sendEvent(now.Add(-4*time.Minute).Add(time.Duration(i)*time.Second), "crm-sync", "TS_Welcome", 202, false))
			}
			// Another definition's sends never count for this one.
			for i := range 50 {
				ev.add(sendEvent(now.Add(-20*time.Minute).Add(time.Duration(i)*time.Second), "web", "TS_Other", 202, false))
			}
			in := msgInput(resource.Transactional, now, fs)
			in.Events = ev
			got, err := SilentFailureRule{}.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			var xr []Finding
			for _, f := range got {
				if f.Discriminator == "xref" {
					xr = append(xr, f)
				}
			}
			if (len(xr) == 1) != c.want {
				t.Fatalf("xref findings %+v, want %v", xr, c.want)
			}
			if !c.want {
				return
			}
			f := xr[0]
			if f.ResourceType != resource.TriggeredSend || f.ResourceKey != "TS_Welcome" {
				t.Fatalf("resource %s:%s", f.ResourceType, f.ResourceKey)
			}
			if c.inTitle != "" && !strings.Contains(f.Title, c.inTitle) {
				t.Fatalf("title %q lacks %q", f.Title, c.inTitle)
			}
			// Evidence on both sides: the integration's calls and SFMC's snapshots.
			var nEv, nSnap int
			for _, e := range f.Evidence {
				switch e.Kind {
				case store.EvidenceEvent:
					nEv++
				case store.EvidenceSnapshot:
					nSnap++
				}
			}
			if nEv == 0 || nSnap != 2 {
				t.Fatalf("evidence events=%d snapshots=%d", nEv, nSnap)
			}
			for _, want := range []string{"crm-sync", "Sent +", "NotSentDueToError +"} {
				if !strings.Contains(f.Detail, want) {
					t.Fatalf("detail %q lacks %q", f.Detail, want)
				}
			}
			if f.FirstSeen.IsZero() || !f.FirstSeen.Before(now) {
				t.Fatalf("first seen %v", f.FirstSeen)
			}
		})
	}
}

// TestSilentFailureAbsenceIgnoresBlindTime reproduces the demo's false
// positive: right after a 4-minute platform outage the transactional
// collection (which evaluates this rule) succeeded while the triggered send
// collection was still backing off, so the latest triggered send snapshot
// was 18 minutes old and "now − last send" read the monitor's own blind
// time as 18 minutes without sends, on every definition at once.
func TestSilentFailureAbsenceIgnoresBlindTime(t *testing.T) {
	lastSent := msgT0.Add(4 * time.Hour)
	for _, c := range []struct {
		name string
		// observed is when the latest triggered send snapshot was taken
		// (relative to the last poll that saw Sent grow); now is the
		// evaluation time.
		observed, now time.Duration
		want          bool
	}{
		{name: "blind for 18m after the last poll", observed: 0, now: 18 * time.Minute},
		{name: "seen flat for 5m, blind since", observed: 5 * time.Minute, now: 18 * time.Minute},
		{name: "seen flat for 15m", observed: 15 * time.Minute, now: 15 * time.Minute, want: true},
		{name: "seen flat for 15m, evaluated later", observed: 15 * time.Minute, now: 25 * time.Minute, want: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := &msgFakeSnaps{}
			st := resource.TriggeredSendState{StatusSince: msgT0}
			fs.add(msgSnap(resource.TriggeredSend, "ts", msgT0, resource.StatusActive, st, msgTSCounters(0, 0, 0)))
			st.SentAt = lastSent
			fs.add(msgSnap(resource.TriggeredSend, "ts", lastSent, resource.StatusActive, st, msgTSCounters(240, 0, 0)))
			if c.observed > 0 {
				fs.add(msgSnap(resource.TriggeredSend, "ts", lastSent.Add(c.observed), resource.StatusActive, st, msgTSCounters(240, 0, 0)))
			}
			got := msgSilent(t, fs, lastSent.Add(c.now))
			if (len(got) == 1) != c.want {
				t.Fatalf("%+v, want %v", got, c.want)
			}
			if c.want && !strings.Contains(got[0].Title, "sent nothing for 15m") {
				t.Fatalf("title %q: silence must run to the last observation", got[0].Title)
			}
		})
	}
}
