package collect

import (
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

// TestJourneySplits: the recorded multistep journey
// (journey/interaction-multistep.json) has one MULTICRITERIADECISION with
// default_path_1 → EMAILV2-1 (→ WAITBYDURATION-1) and remainder_path →
// WAITBYDURATION-2; both paths are counted at their next activity. Paths
// that join again, or end the journey ("next": null in SFMC's random split
// format), are derived.
func TestJourneySplits(t *testing.T) {
	multistep := []sfmc.JourneyActivity{
		{ID: "342dd0aa-a6be-401e-8614-3538800bfd7c", Key: "MULTICRITERIADECISIONV2-1", Type: "MULTICRITERIADECISION", Outcomes: []sfmc.JourneyOutcome{
			{Key: "default_path_1", Next: "EMAILV2-1", Label: "send message", Criteria: true}, {Key: "remainder_path", Next: "WAITBYDURATION-2"}}},
		{ID: "7ba1e59a-6be4-46c7-b76f-4c06feb1268a", Key: "EMAILV2-1", Type: "EMAILV2", Outcomes: []sfmc.JourneyOutcome{{Key: "ff60", Next: "WAITBYDURATION-1"}}},
		{ID: "70572b1a-e274-4f09-a3fa-6fc0732ec52b", Key: "WAITBYDURATION-2", Type: "WAIT", Outcomes: []sfmc.JourneyOutcome{{Key: "a090"}}},
		{ID: "e2a486cf-c85f-4543-88a2-d579cac1e0de", Key: "WAITBYDURATION-1", Type: "WAIT", Outcomes: []sfmc.JourneyOutcome{{Key: "97af"}}},
	}
	ss := JourneySplits(multistep)
	if len(ss) != 1 || len(ss[0].Paths) != 2 {
		t.Fatalf("%+v", ss)
	}
	p := ss[0].Paths
	if p[0].NextID != "7ba1e59a-6be4-46c7-b76f-4c06feb1268a" || p[0].Derived || p[0].Remainder || p[0].Label != "send message" {
		t.Errorf("first path %+v", p[0])
	}
	if p[1].NextID != "70572b1a-e274-4f09-a3fa-6fc0732ec52b" || p[1].Derived || !p[1].Remainder {
		t.Errorf("remainder %+v", p[1])
	}
	// The remainder joins the first path's wait: its next activity also
	// gets the first path's contacts, so it is derived.
	joined := append([]sfmc.JourneyActivity(nil), multistep...)
	joined[0].Outcomes = []sfmc.JourneyOutcome{{Key: "default_path_1", Next: "EMAILV2-1", Criteria: true}, {Key: "remainder_path", Next: "WAITBYDURATION-1"}}
	if p := JourneySplits(joined)[0].Paths; p[0].Derived || !p[1].Derived {
		t.Errorf("joined paths %+v", p)
	}
	random := []sfmc.JourneyActivity{{ID: "r", Key: "Random-Split-1", Type: "RANDOMSPLIT", Outcomes: []sfmc.JourneyOutcome{
		{Next: "send-sms", Percentage: 90}, {Percentage: 10}}}, {ID: "s", Key: "send-sms", Type: "SMSSYNC"}}
	if p := JourneySplits(random)[0].Paths; p[0].Derived || !p[1].Derived || p[0].Percentage != 90 || p[1].Remainder {
		t.Errorf("random paths %+v", p)
	}
	if len(JourneySplits(multistep[1:])) != 0 {
		t.Error("activities without a split type yield splits")
	}
}

// TestAddSplitCounts merges counts into 6-hour buckets and keeps the last
// MaxSplitBuckets.
func TestAddSplitCounts(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	s := resource.JourneySplit{ActivityID: "S", Paths: []resource.SplitPath{{NextID: "A"}, {NextID: "B"}, {Derived: true}}, Since: t0}
	addSplitCounts(&s, map[string]map[time.Time]int64{"s": {t0: 10}, "a": {t0: 6}, "b": {t0: 3}})
	addSplitCounts(&s, map[string]map[time.Time]int64{"s": {t0: 2, t0.Add(6 * time.Hour): 5}, "a": {t0.Add(6 * time.Hour): 5}})
	if len(s.Buckets) != 2 || s.Buckets[0].Split != 12 || s.Buckets[0].Paths[0] != 6 || s.Buckets[0].Paths[1] != 3 || s.Buckets[1].Paths[0] != 5 {
		t.Fatalf("%+v", s.Buckets)
	}
	many := map[string]map[time.Time]int64{"s": {}}
	for i := range 40 {
		many["s"][t0.Add(time.Duration(i)*resource.SplitBucket)] = 1
	}
	addSplitCounts(&s, many)
	if len(s.Buckets) != resource.MaxSplitBuckets || !s.Since.Equal(s.Buckets[0].Start) || !s.Buckets[0].Start.Equal(t0.Add(8*resource.SplitBucket)) {
		t.Fatalf("%d buckets from %s, since %s", len(s.Buckets), s.Buckets[0].Start, s.Since)
	}
}
