package collect_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func TestRowCountBudget(t *testing.T) {
	tenant := func(edition string, daily int64, interval time.Duration) *config.Tenant {
		tc := &config.Tenant{Name: "t", Edition: edition, DailyAPIBudget: daily, Monitors: config.DefaultMonitors()}
		if interval > 0 {
			tc.Monitors.DataExtensions.Interval = config.Duration(interval)
		}
		return tc
	}
	ent := tenant("enterprise", 27400, 0)
	other := ent.CallPlan(callplan.Reference()).OtherPerDay
	want := int(collect.RowCountShare * (27400 - other) / 96)
	if got := collect.RowCountBudget(ent, 0); got != want || got != 26 {
		t.Fatalf("enterprise: %d, want %d (= 26 with the default monitors, %.0f other calls a day)", got, want, other)
	}
	if got := collect.RowCountBudget(tenant("enterprise", 0, 0), 0); got != 26 {
		t.Fatalf("unlimited counts as the enterprise budget: %d", got)
	}
	// Corporate: the default monitors already exceed 822 a day: only the
	// critical floor is counted.
	if got := collect.RowCountBudget(tenant("corporate", 822, 0), 3); got != 3 {
		t.Fatalf("corporate: %d, want the floor 3", got)
	}
	// Hourly DE polls spend 4x more per poll for the same daily share.
	hourly := tenant("enterprise", 27400, time.Hour)
	want = int(collect.RowCountShare * (27400 - hourly.CallPlan(callplan.Reference()).OtherPerDay) / 24)
	if got := collect.RowCountBudget(hourly, 0); got != want {
		t.Fatalf("hourly: %d, want %d", got, want)
	}
	if got := collect.RowCountBudget(ent, 80); got != 80 {
		t.Fatalf("critical floor above the derived budget: %d", got)
	}
}

// budgetForCounts is the daily_api_budget that leaves n row counts a
// poll (at the default 15-minute DE interval) after the other planned calls.
func budgetForCounts(tc *config.Tenant, n int) int64 {
	other := tc.CallPlan(callplan.Reference()).OtherPerDay
	return int64(math.Ceil(other + float64(n)*96/collect.RowCountShare))
}

func TestSelectRowCountsOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	cands := []collect.RowCountCandidate{
		{Key: "t2-old", LastCountAt: t0.Add(-3 * time.Hour)},
		{Key: "t2-new", LastCountAt: t0.Add(-time.Hour)},
		{Key: "t2-never"},
		{Key: "t2-changed", Changed: true, LastCountAt: t0},
		{Key: "crit-b", Critical: true, Tier1: true, LastCountAt: t0},
		{Key: "crit-a", Critical: true, Tier1: true, LastCountAt: t0},
		{Key: "t1-sla", Tier1: true, LastCountAt: t0.Add(-time.Hour)},
		{Key: "t1-feed", Tier1: true, LastCountAt: t0.Add(-2 * time.Hour)},
	}
	for _, c := range []struct {
		budget int
		want   []string
	}{
		{0, []string{"crit-a", "crit-b"}}, // the floor
		{2, []string{"crit-a", "crit-b"}},
		{3, []string{"crit-a", "crit-b", "t2-changed"}}, // tier-2 reserve of 1
		{5, []string{"crit-a", "crit-b", "t1-feed", "t1-sla", "t2-changed"}},
		{6, []string{"crit-a", "crit-b", "t1-feed", "t1-sla", "t2-changed", "t2-never"}},
		{100, []string{"crit-a", "crit-b", "t1-feed", "t1-sla", "t2-changed", "t2-never", "t2-old", "t2-new"}},
	} {
		if got := collect.SelectRowCounts(cands, c.budget); !slices.Equal(got, c.want) {
			t.Errorf("budget %d: %v, want %v", c.budget, got, c.want)
		}
	}
}

// TestSelectRowCountsRoundRobin simulates polls: the budget is never
// exceeded, critical DEs are counted every poll, tier 1 every poll when it
// fits, and tier 2 rotates fairly (every DE within ceil(n/share) polls).
func TestSelectRowCountsRoundRobin(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		n := 20 + rng.IntN(300)
		crit := rng.IntN(4)
		t1 := rng.IntN(10)
		budget := crit + t1 + 1 + rng.IntN(40)
		t0 := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
		last := map[string]time.Time{}
		var cands []collect.RowCountCandidate
		for i := range n {
			cands = append(cands, collect.RowCountCandidate{Key: fmt.Sprintf("de%03d", i), Critical: i < crit, Tier1: i < crit+t1})
		}
		tier2 := n - crit - t1
		share := budget - crit - t1 // tier 1 fits, so tier 2 gets the rest
		maxGap := (tier2 + share - 1) / share
		lastPoll := map[string]int{}
		for poll := 1; poll <= 3*maxGap+2; poll++ {
			now := t0.Add(time.Duration(poll) * 15 * time.Minute)
			for i := range cands {
				cands[i].LastCountAt = last[cands[i].Key]
			}
			got := collect.SelectRowCounts(cands, budget)
			if len(got) > budget {
				t.Fatalf("trial %d poll %d: %d picked, budget %d", trial, poll, len(got), budget)
			}
			seen := map[string]bool{}
			for _, k := range got {
				if seen[k] {
					t.Fatalf("trial %d: %s picked twice", trial, k)
				}
				seen[k] = true
				last[k] = now
			}
			for i := range crit + t1 {
				if !seen[cands[i].Key] {
					t.Fatalf("trial %d poll %d: tier-1 %s not counted (budget %d)", trial, poll, cands[i].Key, budget)
				}
			}
			for _, c := range cands[crit+t1:] {
				if seen[c.Key] {
					if p, ok := lastPoll[c.Key]; ok && poll-p > maxGap {
						t.Fatalf("trial %d: %s waited %d polls, max %d", trial, c.Key, poll-p, maxGap)
					}
					lastPoll[c.Key] = poll
				}
			}
			if poll == maxGap && len(lastPoll) != tier2 {
				t.Fatalf("trial %d: after %d polls only %d of %d tier-2 DEs counted", trial, poll, len(lastPoll), tier2)
			}
		}
	}
	// Tier 1 larger than the budget still leaves tier 2 a quarter.
	var cands []collect.RowCountCandidate
	for i := range 100 {
		cands = append(cands, collect.RowCountCandidate{Key: fmt.Sprintf("de%03d", i), Tier1: i < 60})
	}
	got := collect.SelectRowCounts(cands, 20)
	t2 := 0
	for _, k := range got {
		if k >= "de060" {
			t2++
		}
	}
	if len(got) != 20 || t2 != 5 {
		t.Fatalf("picked %d, tier 2 %d; want 20 and 5", len(got), t2)
	}
}

func TestDESchemaHash(t *testing.T) {
	a := []resource.Field{{Name: "Email", Type: "EmailAddress", MaxLength: 254, Required: true}, {Name: "Total", Type: "Decimal", MaxLength: 18, Scale: 2}}
	b := []resource.Field{{Name: "total", Type: "decimal", MaxLength: 18, Scale: 2}, {Name: "EMAIL", Type: "EmailAddress", MaxLength: 254, Required: true}}
	if collect.DESchemaHash(a) != collect.DESchemaHash(b) {
		t.Fatal("hash depends on order or letter case")
	}
	for i, mut := range []func(f *resource.Field){
		func(f *resource.Field) { f.Type = "Text" },
		func(f *resource.Field) { f.MaxLength = 100 },
		func(f *resource.Field) { f.Scale = 4 },
		func(f *resource.Field) { f.Required = !f.Required },
		func(f *resource.Field) { f.PrimaryKey = true },
		func(f *resource.Field) { f.Name = "Amount" },
	} {
		c := slices.Clone(a)
		mut(&c[1])
		if collect.DESchemaHash(c) == collect.DESchemaHash(a) {
			t.Errorf("mutation %d does not change the hash", i)
		}
	}
}

// TestDataExtensionCollectorCarryForward checks what one poll records and
// carries: counts only for the picked DEs, the rest carried; fields read
// once; feeding DEs in tier 1; a vanished DE gets one deleted snapshot.
func TestDataExtensionCollectorCarryForward(t *testing.T) {
	ctx := context.Background()
	env := newDEEnv(t, 30, false, func(cfg *config.Config) {
		cfg.Tenants[0].DailyAPIBudget = budgetForCounts(&cfg.Tenants[0], 10)
	})
	keys := env.Keys("data_extension")
	// A journey whose entry source is keys[7] (as the journey collector
	// records it), and a DE sfmcwatch saw before that no longer exists.
	j := store.Snapshot{ResourceRef: resource.Ref(env.Tenant.Name, resource.Journey, "J1"), ObservedAt: env.Now(),
		Payload: resource.Encode(resource.JourneyState{Name: "J", EntryDataExtension: keys[7]})}
	gone := store.Snapshot{ResourceRef: resource.Ref(env.Tenant.Name, resource.DataExtension, "Gone_DE"), ObservedAt: env.Now().Add(-time.Hour),
		Status: resource.StatusActive, Payload: resource.Encode(resource.DataExtensionState{Name: "Gone_DE"})}
	if _, err := env.Store.InsertSnapshots(ctx, []store.Snapshot{j, gone}); err != nil {
		t.Fatal(err)
	}
	out := env.Collect(ctx, resource.DataExtension)
	measured := 0
	for _, s := range out.Snapshots {
		var st resource.DataExtensionState
		if err := resource.Decode(s, &st); err != nil {
			t.Fatal(err)
		}
		switch {
		case s.ResourceKey == "Gone_DE":
			if s.Status != resource.StatusDeleted {
				t.Errorf("vanished DE status %q", s.Status)
			}
			continue
		case s.ResourceKey == keys[7]:
			if st.CountTier != 1 || s.RowCount == nil {
				t.Errorf("journey entry DE: tier %d, count %v", st.CountTier, s.RowCount)
			}
		}
		if s.SchemaHash == "" || len(st.Fields) == 0 || !st.FieldsAt.Equal(env.Now()) || !st.ObservedSince.Equal(env.Now()) {
			t.Errorf("%s: first poll must read fields (hash %q, %d fields)", s.ResourceKey, s.SchemaHash, len(st.Fields))
		}
		if s.RowCount != nil {
			measured++
			if len(st.Loads) != 1 || !st.Loads[0].First || !st.LastLoadAt.IsZero() {
				t.Errorf("%s: first measurement is a level, not a load: %+v", s.ResourceKey, st)
			}
		}
	}
	if measured != 10 {
		t.Fatalf("measured %d DEs, budget 10", measured)
	}
	env.Advance(15 * time.Minute)
	out = env.Collect(ctx, resource.DataExtension)
	measured = 0
	for _, s := range out.Snapshots {
		if s.ResourceKey == "Gone_DE" {
			t.Error("deleted snapshot written twice")
		}
		var st resource.DataExtensionState
		if err := resource.Decode(s, &st); err != nil {
			t.Fatal(err)
		}
		if st.Fields != nil || st.FieldsAt.Equal(env.Now()) {
			t.Errorf("%s: fields re-read without a ModifiedDate change", s.ResourceKey)
		}
		if s.SchemaHash == "" {
			t.Errorf("%s: schema hash not carried", s.ResourceKey)
		}
		if st.RowCountAt.Equal(env.Now()) {
			measured++
		}
	}
	if measured != 10 {
		t.Fatalf("second poll measured %d, want 10", measured)
	}
}
