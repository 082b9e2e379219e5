package collect_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/collect/collecttest"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func txWarm(t *testing.T, ctx context.Context, e *collecttest.Env, n int) string {
	t.Helper()
	for range n {
		e.Collect(ctx, resource.TriggeredSend)
		if fs := msgPoll(ctx, e, resource.Transactional, "triggered_send.silent_failure", ""); len(fs) != 0 {
			t.Fatalf("healthy: %+v", fs)
		}
		e.Advance(msgPollEvery)
	}
	keys := e.Keys("transactional")
	if len(keys) == 0 {
		t.Fatal("no transactional definitions")
	}
	return keys[0]
}

func TestTransactionalNotSentBurnTimeline(t *testing.T) {
	ctx := context.Background()
	e := msgEnv(t, nil)
	key := txWarm(t, ctx, e, 3)
	// List hygiene (ListDetectiveExclusion, recipient family) at a high
	// rate is stored as non-error events and never fires.
	hyg := e.Inject(sim.Fault{Kind: sim.FaultTransactionalNotSent, Target: key, Params: map[string]string{"per_hour": "600", "status_code": "24"}})
	for range 3 {
		e.Advance(msgPollEvery)
		e.Collect(ctx, resource.TriggeredSend)
		if fs := msgPoll(ctx, e, resource.Transactional, "triggered_send.silent_failure", ""); len(fs) != 0 {
			t.Fatalf("list hygiene fired: %+v", fs)
		}
	}
	e.Sim.Clear(hyg)
	evs, err := e.Store.QueryEvents(ctx, store.EventQuery{Tenant: e.Tenant.Name, Source: "sfmc", Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	n24 := 0
	for _, ev := range evs {
		if ev.Code == "24" {
			n24++
			if ev.Family != string(catalog.Recipient) || ev.IsError || ev.Surface != "transactional" {
				t.Fatalf("code 24 event: %+v", ev)
			}
		}
	}
	if n24 < 100 {
		t.Fatalf("only %d ListDetectiveExclusion events stored", n24)
	}
	if cur, err := e.Store.GetCursor(ctx, collect.NotSentCursor(e.Tenant.Name)); err != nil || cur == "" {
		t.Fatalf("cursor %q: %v", cur, err)
	}

	// System-caused (22 DataExtensionInsertFailed, server family).
	id := e.Inject(sim.Fault{Kind: sim.FaultTransactionalNotSent, Target: key, Params: map[string]string{"per_hour": "240", "status_code": "22"}})
	if d := msgUntil(ctx, e, resource.Transactional, "triggered_send.silent_failure", key, msgPollEvery, time.Hour, true, resource.TriggeredSend); d > msgPollEvery {
		t.Fatalf("TTD %s", d)
	}
	e.Sim.Clear(id)
	// Resolves once the short window (5 min) holds no system-caused event: ≤ short + 1 poll.
	if d := msgUntil(ctx, e, resource.Transactional, "triggered_send.silent_failure", key, msgPollEvery, time.Hour, false, resource.TriggeredSend); d > 2*msgPollEvery {
		t.Fatalf("resolved after %s", d)
	}
}

func TestTransactionalQueueTimeline(t *testing.T) {
	ctx := context.Background()
	e := msgEnv(t, nil)
	key := txWarm(t, ctx, e, 2)
	id := e.Inject(sim.Fault{Kind: sim.FaultTransactionalQueue, Target: key})
	// Inherent bound: absence_after (15 min) + 1 poll.
	if d := msgUntil(ctx, e, resource.Transactional, "triggered_send.silent_failure", key, msgPollEvery, time.Hour, true, resource.TriggeredSend); d > 20*time.Minute {
		t.Fatalf("TTD %s", d)
	}
	snap := msgLatest(ctx, e, resource.Transactional)[key]
	if snap.Status != resource.StatusInactive || snap.Counters[resource.CounterQueueCount] <= 0 {
		t.Fatalf("snapshot %+v", snap)
	}
	e.Sim.Clear(id)
	if d := msgUntil(ctx, e, resource.Transactional, "triggered_send.silent_failure", key, msgPollEvery, time.Hour, false, resource.TriggeredSend); d > msgPollEvery {
		t.Fatalf("resolved after %s", d)
	}
}

// A quiet simulated week (no faults, polls every 15 minutes) opens no
// finding of this area's rules.
func TestQuietWeekNoFindings(t *testing.T) {
	if raceDetector {
		t.Skip("quiet-week simulation is skipped under -race; .ci/run runs it without -race")
	}
	// Single-threaded simulations: the long-simulation step of .ci/run
	// runs them side by side on its cores.
	t.Parallel()
	ctx := context.Background()
	e := msgEnv(t, nil)
	// store.LatestSnapshots reads every stored snapshot of the type
	// (O(history)); over a week of polls that dominates the test, so the
	// latest snapshots are served from memory here.
	e.Store = &msgLatestCache{Store: e.Store, latest: map[string]map[string]store.Snapshot{}}
	const poll = 15 * time.Minute
	for i := range msgQuietDays * 24 * 4 {
		for _, typ := range []resource.Type{resource.Journey, resource.TriggeredSend, resource.Transactional} {
			res := e.Poll(ctx, typ, msgRules()...)
			for rule, fs := range res {
				if len(fs) > 0 {
					t.Fatalf("poll %d (%s): %s: %s: %s", i, e.Now().Format(time.RFC3339), rule, fs[0].Title, fs[0].Detail)
				}
			}
		}
		e.Advance(poll)
	}
}

// msgLatestCache serves LatestSnapshots from what was inserted through it.
type msgLatestCache struct {
	store.Store
	mu     sync.Mutex
	latest map[string]map[string]store.Snapshot // tenant|type → key → snapshot
}

func (c *msgLatestCache) InsertSnapshots(ctx context.Context, snaps []store.Snapshot) ([]int64, error) {
	ids, err := c.Store.InsertSnapshots(ctx, snaps)
	if err != nil {
		return ids, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range snaps {
		s.ID = ids[i]
		k := s.Tenant + "|" + s.ResourceType
		if c.latest[k] == nil {
			c.latest[k] = map[string]store.Snapshot{}
		}
		c.latest[k][s.ResourceKey] = s
	}
	return ids, nil
}

func (c *msgLatestCache) LatestSnapshots(ctx context.Context, tenant, resourceType string) ([]store.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.latest[tenant+"|"+resourceType]
	out := make([]store.Snapshot, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b store.Snapshot) int { return strings.Compare(a.ResourceKey, b.ResourceKey) })
	return out, nil
}
