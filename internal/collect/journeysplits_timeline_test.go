package collect_test

import (
	"context"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/collect/collecttest"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// splitPoll collects journeys and evaluates journey.split_skew.
func splitPoll(ctx context.Context, e *collecttest.Env, key string) []detect.Finding {
	e.T.Helper()
	var out []detect.Finding
	for _, f := range e.Poll(ctx, resource.Journey, detect.JourneySplitSkewRule{})["journey.split_skew"] {
		if key == "" || f.ResourceKey == key {
			out = append(out, f)
		}
	}
	return out
}

// splitJourneys returns the published journeys whose splits were counted,
// with the contacts each split processed.
func splitJourneys(ctx context.Context, e *collecttest.Env) map[string]int64 {
	e.T.Helper()
	out := map[string]int64{}
	for k, s := range msgLatest(ctx, e, resource.Journey) {
		var st resource.JourneyState
		if resource.Decode(s, &st) != nil || s.Status != resource.StatusPublished {
			continue
		}
		for _, sp := range st.Splits {
			if sp.ReadError != "" {
				e.T.Fatalf("%s: history read failed: %s", k, sp.ReadError)
			}
			for _, b := range sp.Buckets {
				out[k] += b.Split
			}
		}
	}
	return out
}

func TestJourneySplitSkewTimeline(t *testing.T) {
	ctx := context.Background()
	e := msgEnv(t, nil)
	// First look on a healthy tenant: splits read (8 days of history in one
	// download each), none skewed.
	if fs := splitPoll(ctx, e, ""); len(fs) != 0 {
		t.Fatalf("healthy tenant, first look: %+v", fs)
	}
	counted := splitJourneys(ctx, e)
	key, most := "", int64(0)
	for k, n := range counted {
		if n > most {
			key, most = k, n
		}
	}
	if key == "" || most < 500 {
		t.Fatalf("no published split journey with history: %v", counted)
	}
	// Later polls within callplan.JourneySplitRefresh spend no history
	// read; the next one reads only what is new. Quiet for 6 hours.
	for range 12 {
		e.Advance(30 * time.Minute)
		if fs := splitPoll(ctx, e, ""); len(fs) != 0 {
			t.Fatalf("healthy tenant at %s: %+v", e.Now(), fs)
		}
	}
	var st resource.JourneyState
	if err := resource.Decode(msgLatest(ctx, e, resource.Journey)[key], &st); err != nil || len(st.Splits) == 0 {
		t.Fatalf("%s: %v %+v", key, err, st)
	}
	if through := st.Splits[0].Through; e.Now().Sub(through) > callplan.JourneySplitRefresh+30*time.Minute {
		t.Fatalf("split of %s counted up to %s only (now %s): not read again every %s", key, through, e.Now(), callplan.JourneySplitRefresh)
	}
	// The split starts sending everyone down its second path.
	e.Inject(sim.Fault{Kind: sim.FaultJourneySplitSkew, Target: key})
	start := e.Now()
	var found []detect.Finding
	for e.Now().Sub(start) < 12*time.Hour && len(found) == 0 {
		e.Advance(30 * time.Minute)
		found = splitPoll(ctx, e, key)
	}
	if len(found) != 1 {
		t.Fatalf("skewed split of %s not found within 12 h", key)
	}
	ttd := e.Now().Sub(start)
	t.Logf("journey.split_skew found %s after the skew began: %s", ttd, found[0].Title)
	// The read after the skew began marks the split suspect: from then on
	// it is read every callplan.JourneySplitSuspectRefresh, not every
	// callplan.JourneySplitRefresh, so the skew is found once the window
	// holds min_contacts (about 4 h here), not at a later 4-hourly read.
	if limit := 4*time.Hour + callplan.JourneySplitSuspectRefresh; ttd > limit {
		t.Errorf("TTD %s, want within %s", ttd, limit)
	}
}

// TestJourneySplitSkewFirstLook: a split that was already skewed for a day
// when sfmcwatch starts is reported on its first cycle.
func TestJourneySplitSkewFirstLook(t *testing.T) {
	ctx := context.Background()
	probe := msgEnv(t, nil)
	splitPoll(ctx, probe, "")
	key, most := "", int64(0)
	for k, n := range splitJourneys(ctx, probe) {
		if n > most {
			key, most = k, n
		}
	}
	if key == "" {
		t.Fatal("no split journey")
	}
	e := msgEnv(t, nil) // the same tenant, not watched yet
	e.Inject(sim.Fault{Kind: sim.FaultJourneySplitSkew, Target: key, Start: e.Now().Add(-24 * time.Hour)})
	fs := splitPoll(ctx, e, "")
	if len(fs) != 1 || fs[0].ResourceKey != key {
		t.Fatalf("first cycle: %+v, want one finding on %s", fs, key)
	}
	if got := fs[0].FailureStartedAt; got.IsZero() || got.After(e.Now().Add(-18*time.Hour)) {
		t.Errorf("failure started %s, want about a day ago", got)
	}
}
