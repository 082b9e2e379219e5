package detect

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// msgFakeSnaps is an in-memory Snapshots for the rules of this area.
type msgFakeSnaps struct {
	byRef map[store.ResourceRef][]store.Snapshot
	next  int64
}

func (f *msgFakeSnaps) add(s store.Snapshot) store.Snapshot {
	if f.byRef == nil {
		f.byRef = map[store.ResourceRef][]store.Snapshot{}
	}
	f.next++
	s.ID = f.next
	f.byRef[s.ResourceRef] = append(f.byRef[s.ResourceRef], s)
	sort.SliceStable(f.byRef[s.ResourceRef], func(i, j int) bool {
		return f.byRef[s.ResourceRef][i].ObservedAt.Before(f.byRef[s.ResourceRef][j].ObservedAt)
	})
	return s
}

func (f *msgFakeSnaps) LatestSnapshots(_ context.Context, tenant, typ string) ([]store.Snapshot, error) {
	var out []store.Snapshot
	for ref, h := range f.byRef {
		if ref.Tenant == tenant && ref.ResourceType == typ {
			out = append(out, h[len(h)-1])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ResourceKey < out[j].ResourceKey })
	return out, nil
}

func (f *msgFakeSnaps) SnapshotHistory(_ context.Context, ref store.ResourceRef, from, to time.Time, limit int) ([]store.Snapshot, error) {
	var out []store.Snapshot
	for _, s := range f.byRef[ref] {
		if (!from.IsZero() && s.ObservedAt.Before(from)) || (!to.IsZero() && !s.ObservedAt.Before(to)) {
			continue
		}
		out = append(out, s)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

var msgT0 = time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)

// msgInput builds an Input for typ at now over fake history (nil: audit).
func msgInput(typ resource.Type, now time.Time, snaps *msgFakeSnaps, critical ...string) *Input {
	rules := config.DefaultRules()
	tn := &config.Tenant{Name: "t", Objects: map[string]config.Object{}}
	yes := true
	for _, c := range critical {
		tn.Objects[c] = config.Object{Critical: &yes}
	}
	in := &Input{Now: now, Tenant: tn, Rules: &rules, Type: typ}
	if snaps != nil {
		in.Snapshots = snaps
		cur, _ := snaps.LatestSnapshots(context.Background(), "t", string(typ))
		in.Current = cur
	}
	return in
}

func msgSnap(typ resource.Type, key string, at time.Time, status string, payload any, counters map[string]int64) store.Snapshot {
	return store.Snapshot{ResourceRef: resource.Ref("t", typ, key), ObservedAt: at, Status: status,
		Payload: resource.Encode(payload), Counters: counters}
}

func TestJourneyStoppedRule(t *testing.T) {
	now := msgT0.Add(10 * time.Hour)
	cases := []struct {
		name     string
		status   string
		st       resource.JourneyState
		critical bool
		audit    bool
		want     bool
		severity catalog.Severity
	}{
		{name: "published", status: resource.StatusPublished, st: resource.JourneyState{StatusSince: msgT0}},
		{name: "stopped after published", status: resource.StatusStopped, st: resource.JourneyState{StatusSince: now, PublishedBefore: true}, want: true},
		{name: "paused after published", status: resource.StatusPaused, st: resource.JourneyState{StatusSince: now, PublishedBefore: true}, want: true},
		{name: "unpublished after published", status: resource.StatusUnpublished, st: resource.JourneyState{StatusSince: now, PublishedBefore: true}, want: true},
		{name: "stopped, never seen published: first look, no recent edit (a finished campaign)", status: resource.StatusStopped, st: resource.JourneyState{StatusSince: msgT0}},
		{name: "stopped critical", status: resource.StatusStopped, st: resource.JourneyState{StatusSince: msgT0}, critical: true, want: true, severity: catalog.Critical},
		{name: "draft", status: resource.StatusDraft, st: resource.JourneyState{StatusSince: now, PublishedBefore: true}},
		{name: "republished inside keep_firing_for", status: resource.StatusPublished,
			st: resource.JourneyState{StatusSince: now.Add(-15*time.Minute + time.Second), PreviousStatus: resource.StatusStopped, PublishedBefore: true}, want: true},
		{name: "republished at keep_firing_for", status: resource.StatusPublished,
			st: resource.JourneyState{StatusSince: now.Add(-15 * time.Minute), PreviousStatus: resource.StatusStopped, PublishedBefore: true}},
		{name: "first published after a stop never seen published", status: resource.StatusPublished,
			st: resource.JourneyState{StatusSince: now, PreviousStatus: resource.StatusStopped}},
		{name: "pause ends within pause_warning", status: resource.StatusPaused,
			st: resource.JourneyState{StatusSince: now, PublishedBefore: true, PauseEndsAt: now.Add(23 * time.Hour)}, want: true, severity: catalog.Error},
		{name: "pause ends later", status: resource.StatusPaused,
			st: resource.JourneyState{StatusSince: now, PublishedBefore: true, PauseEndsAt: now.Add(25 * time.Hour)}, want: true},
		{name: "audit: recently modified stopped", status: resource.StatusStopped, st: resource.JourneyState{ModifiedAt: now.Add(-6 * 24 * time.Hour)}, audit: true, want: true},
		{name: "audit: long stopped", status: resource.StatusStopped, st: resource.JourneyState{ModifiedAt: now.Add(-8 * 24 * time.Hour)}, audit: true},
		{name: "first look: unpublished is drained, not reported", status: resource.StatusUnpublished, st: resource.JourneyState{ModifiedAt: now.Add(-time.Hour)}},
		{name: "audit: critical paused", status: resource.StatusPaused, st: resource.JourneyState{}, audit: true, critical: true, want: true, severity: catalog.Critical},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := &msgFakeSnaps{}
			fs.add(msgSnap(resource.Journey, "j1", now, c.status, c.st, nil))
			var crit []string
			if c.critical {
				crit = []string{"journey:j1"}
			}
			in := msgInput(resource.Journey, now, fs, crit...)
			if c.audit {
				in.Snapshots = nil
			}
			got, err := JourneyStoppedRule{}.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != c.want || len(got) > 1 {
				t.Fatalf("findings %+v, want %v", got, c.want)
			}
			if c.want && got[0].Severity != c.severity {
				t.Fatalf("severity %q, want %q", got[0].Severity, c.severity)
			}
		})
	}
}

// msgJourneyHistory stores a published journey polled every 5 minutes from
// msgT0 for span, growing at perHour until stopAt (zero: never stops).
func msgJourneyHistory(fs *msgFakeSnaps, perHour float64, span time.Duration, stopAt time.Time) time.Time {
	var st resource.JourneyState
	st.StatusSince = msgT0
	var prev int64 = -1
	var at time.Time
	for d := time.Duration(0); d <= span; d += 5 * time.Minute {
		at = msgT0.Add(d)
		active := d
		if !stopAt.IsZero() && at.After(stopAt) {
			active = stopAt.Sub(msgT0)
		}
		cum := int64(active.Hours() * perHour)
		if prev >= 0 && cum > prev {
			if !st.EntryAt.IsZero() {
				st.EntryGaps = append(st.EntryGaps, int64(at.Sub(st.EntryAt)/time.Second))
			}
			st.EntryAt = at
		}
		prev = cum
		fs.add(msgSnap(resource.Journey, "j1", at, resource.StatusPublished, st,
			map[string]int64{resource.CounterCumulativePopulation: cum}))
	}
	return at
}

func TestJourneyEnrollmentDropSilence(t *testing.T) {
	stop := msgT0.Add(4 * time.Hour)
	for _, c := range []struct {
		span time.Duration
		want bool
	}{
		{span: 4*time.Hour + 25*time.Minute},
		{span: 4*time.Hour + 30*time.Minute, want: true}, // last entry seen at 4h00, silence_min 30m
	} {
		fs := &msgFakeSnaps{}
		now := msgJourneyHistory(fs, 60, c.span, stop)
		got, err := JourneyEnrollmentDropRule{}.Evaluate(context.Background(), msgInput(resource.Journey, now, fs))
		if err != nil {
			t.Fatal(err)
		}
		if (len(got) > 0) != c.want {
			t.Fatalf("span %s: %+v, want %v", c.span, got, c.want)
		}
	}
	// Healthy, and below min_baseline_per_hour with too little history for
	// the low-volume check: nothing.
	for _, rate := range []float64{60, 4} {
		fs := &msgFakeSnaps{}
		now := msgJourneyHistory(fs, rate, 10*time.Hour, time.Time{})
		if got, _ := (JourneyEnrollmentDropRule{}).Evaluate(context.Background(), msgInput(resource.Journey, now, fs)); len(got) != 0 {
			t.Fatalf("healthy rate %v: %+v", rate, got)
		}
	}
}

func TestJourneyEnrollmentDropLowVolume(t *testing.T) {
	// 4 entries/hour (< 5: low-volume path); 6 h window expects 24 entries;
	// fire when fewer than 0.2 × 24 = 4.8 arrive in the window.
	stop := msgT0.Add(12 * time.Hour)
	for _, c := range []struct {
		span time.Duration
		want bool
	}{
		{span: 16 * time.Hour},                            // 8 entries in the window
		{span: 16*time.Hour + 55*time.Minute},             // 5 entries: 5 ≥ 4.8
		{span: 17 * time.Hour, want: true},                // 4 entries < 4.8
		{span: 18*time.Hour + 30*time.Minute, want: true}, // none
		{span: 11 * time.Hour},                            // healthy
	} {
		fs := &msgFakeSnaps{}
		now := msgJourneyHistory(fs, 4, c.span, stop)
		got, err := JourneyEnrollmentDropRule{}.Evaluate(context.Background(), msgInput(resource.Journey, now, fs))
		if err != nil {
			t.Fatal(err)
		}
		if (len(got) > 0) != c.want {
			t.Fatalf("span %s: %+v, want %v", c.span, got, c.want)
		}
	}
}
