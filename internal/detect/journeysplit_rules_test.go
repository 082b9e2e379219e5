package detect

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// splitPaths are the paths of the recorded multistep journey's decision
// (journey/interaction-multistep.json: MULTICRITERIADECISION with
// outcomes default_path_1 → EMAILV2-1, label "send message", and
// remainder_path → WAITBYDURATION-2, no criteria of its own).
func splitPaths() []resource.SplitPath {
	return []resource.SplitPath{
		{Key: "default_path_1", Label: "send message", Next: "EMAILV2-1", NextID: "7ba1e59a-6be4-46c7-b76f-4c06feb1268a"},
		{Key: "remainder_path", Next: "WAITBYDURATION-2", NextID: "70572b1a-e274-4f09-a3fa-6fc0732ec52b", Remainder: true},
	}
}

// splitHistory builds 8 days of 6-hour buckets up to through: perBucket
// contacts a bucket, the first path's share from share(bucket start).
func splitHistory(through time.Time, perBucket int64, paths []resource.SplitPath, share func(time.Time) float64) resource.JourneySplit {
	s := resource.JourneySplit{ActivityID: "342dd0aa-a6be-401e-8614-3538800bfd7c", ActivityKey: "MULTICRITERIADECISIONV2-1",
		Type: "MULTICRITERIADECISION", Paths: paths, Through: through, ReadAt: through}
	first := through.Add(-resource.MaxSplitBuckets * resource.SplitBucket).Truncate(resource.SplitBucket)
	s.Since = first
	for t := first; t.Before(through); t = t.Add(resource.SplitBucket) {
		a := int64(float64(perBucket)*share(t) + 0.5)
		b := resource.SplitCounts{Start: t, Split: perBucket, Paths: []int64{a, perBucket - a}}
		for i, p := range paths {
			if p.Derived {
				b.Paths[i] = 0 // not counted: derived by the rule
			}
		}
		s.Buckets = append(s.Buckets, b)
	}
	return s
}

func splitSnap(now time.Time, status string, splits ...resource.JourneySplit) store.Snapshot {
	st := resource.JourneyState{Name: "Welcome Journey", Version: 2, Splits: splits}
	s := store.Snapshot{ResourceRef: resource.Ref("t", resource.Journey, "welcome"), ObservedAt: now, Status: status}
	s.Payload = resource.Encode(st)
	return s
}

func TestJourneySplitSkew(t *testing.T) {
	through := msgT0.Add(-30 * time.Minute)
	skewFrom := msgT0.Add(-12 * time.Hour).Truncate(resource.SplitBucket)
	steady := func(time.Time) float64 { return 0.7 }
	starved := func(t time.Time) float64 {
		if !t.Before(skewFrom) {
			return 0
		}
		return 0.7
	}
	derivedPaths := splitPaths()
	derivedPaths[1].Derived, derivedPaths[1].NextID = true, "" // remainder joins the first path again
	random := []resource.SplitPath{{Key: "p1", Next: "send-sms", NextID: "x1", Percentage: 50}, {Key: "p2", NextID: "x2", Percentage: 50}}
	short := splitHistory(through, 60, random, func(time.Time) float64 { return 1 })
	short.Since = through.Add(-24 * time.Hour).Truncate(resource.SplitBucket)
	short.Buckets = short.Buckets[len(short.Buckets)-5:]
	cases := []struct {
		name      string
		status    string
		split     resource.JourneySplit
		object    config.Object
		wantPath  string // "" : no finding
		wantStart time.Time
	}{
		{name: "steady 70/30", status: resource.StatusPublished, split: splitHistory(through, 100, splitPaths(), steady)},
		{name: "criteria path starved for 12 h", status: resource.StatusPublished, split: splitHistory(through, 100, splitPaths(), starved),
			wantPath: "default_path_1", wantStart: skewFrom},
		{name: "remainder path starved (everyone matches)", status: resource.StatusPublished,
			split: splitHistory(through, 100, splitPaths(), func(t time.Time) float64 {
				if !t.Before(skewFrom) {
					return 1
				}
				return 0.7
			}), wantPath: "remainder_path", wantStart: skewFrom},
		{name: "stopped journeys are journey.stopped's", status: resource.StatusStopped, split: splitHistory(through, 100, splitPaths(), starved)},
		{name: "too few contacts in the window", status: resource.StatusPublished, split: splitHistory(through, 10, splitPaths(), starved)},
		{name: "a derived path is the split's count minus the others", status: resource.StatusPublished,
			split: splitHistory(through, 100, derivedPaths, func(t time.Time) float64 {
				if !t.Before(skewFrom) {
					return 1
				}
				return 0.7
			}), wantPath: "remainder_path", wantStart: skewFrom},
		{name: "a moderate shift stays under drop_ratio", status: resource.StatusPublished,
			split: splitHistory(through, 100, splitPaths(), func(t time.Time) float64 {
				if !t.Before(skewFrom) {
					return 0.3
				}
				return 0.7
			})},
		{name: "split_drop_ratio override catches the moderate shift", status: resource.StatusPublished,
			object: config.Object{SplitDropRatio: 0.5},
			split: splitHistory(through, 100, splitPaths(), func(t time.Time) float64 {
				if !t.Before(skewFrom) {
					return 0.3
				}
				return 0.7
			}), wantPath: "default_path_1", wantStart: skewFrom},
		{name: "a random split without history: its declared percentages", status: resource.StatusPublished, split: short,
			wantPath: "p2", wantStart: short.Buckets[0].Start},
		{name: "a criteria path nobody took for 8 days (first look)", status: resource.StatusPublished,
			split: splitHistory(through, 100, splitPaths(), func(time.Time) float64 { return 0 }), wantPath: "default_path_1"},
		{name: "a remainder path nobody takes is normal", status: resource.StatusPublished,
			split: splitHistory(through, 100, splitPaths(), func(time.Time) float64 { return 1 })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// First look: no stored history at all (the audit, serve's
			// first cycle): the split's own counts decide.
			in := msgInput(resource.Journey, msgT0, nil)
			in.Tenant.Objects["journey:welcome"] = c.object
			in.Current = []store.Snapshot{splitSnap(msgT0, c.status, c.split)}
			fs, err := JourneySplitSkewRule{}.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if c.wantPath == "" {
				if len(fs) != 0 {
					t.Fatalf("unexpected %+v", fs)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("%d findings, want 1", len(fs))
			}
			f := fs[0]
			if !strings.Contains(f.Title, c.wantPath) || f.Discriminator != c.split.ActivityKey || f.ResourceKey != "welcome" {
				t.Errorf("finding %q (discriminator %q), want path %s", f.Title, f.Discriminator, c.wantPath)
			}
			if !c.wantStart.IsZero() && !f.FailureStartedAt.Equal(c.wantStart) {
				t.Errorf("failure started %s, want %s", f.FailureStartedAt, c.wantStart)
			}
			if len(f.Remediation) == 0 || f.Owner == "" || f.Detail == "" {
				t.Errorf("incomplete finding %+v", f)
			}
			if strings.Contains(f.Detail, "@") {
				t.Errorf("detail %q", f.Detail)
			}
		})
	}
}

// TestJourneySplitSkewInRegistry: the rule is registered, judges the
// first look (NeedsHistory false) and a critical journey escalates.
func TestJourneySplitSkewInRegistry(t *testing.T) {
	reg, err := NewRegistry(DefaultRules()...)
	if err != nil {
		t.Fatal(err)
	}
	through := msgT0.Add(-30 * time.Minute)
	from := msgT0.Add(-12 * time.Hour).Truncate(resource.SplitBucket)
	in := msgInput(resource.Journey, msgT0, nil, "journey:welcome")
	in.Current = []store.Snapshot{splitSnap(msgT0, resource.StatusPublished, splitHistory(through, 100, splitPaths(), func(t time.Time) float64 {
		if !t.Before(from) {
			return 0
		}
		return 0.7
	}))}
	out, err := reg.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	fs := out["journey.split_skew"]
	if len(fs) != 1 || fs[0].Severity != "error" {
		t.Fatalf("%+v", fs)
	}
}
