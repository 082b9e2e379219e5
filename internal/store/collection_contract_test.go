package store

import (
	"errors"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
)

// testStoreCollection: events, snapshots and cursors of one collection are
// stored together or not at all.
func testStoreCollection(t *testing.T, h harness) {
	s := openT(t, h.fresh(t))
	ctx := t.Context()
	ref := ResourceRef{Tenant: "t", ResourceType: "transactional", ResourceKey: "k"}
	batch := func(old string) CollectionBatch {
		return CollectionBatch{
			Events:    []EventRecord{{Event: event.Event{TS: t0, Tenant: "t", Source: "sfmc", RequestID: "feed:1"}, Count: 1}},
			Snapshots: []Snapshot{{ResourceRef: ref, ObservedAt: t0, Counters: map[string]int64{"not_sent": 1}}},
			Cursors:   []CursorMove{{Name: "feed", Old: old, Next: "9", Now: t0}},
		}
	}
	if err := s.SetCursor(ctx, "feed", "5", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StoreCollection(ctx, batch("")); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale cursor: %v, want ErrConflict", err)
	}
	evs, err := s.QueryEvents(ctx, EventQuery{Tenant: "t"})
	if err != nil || len(evs) != 0 {
		t.Fatalf("a conflicting collection stored %d events (%v)", len(evs), err)
	}
	if _, err := s.LatestSnapshot(ctx, ref); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a conflicting collection stored a snapshot: %v", err)
	}
	b := batch("5")
	res, err := s.StoreCollection(ctx, b)
	if err != nil || res.Inserted != 1 {
		t.Fatalf("store: %+v %v", res, err)
	}
	if b.Snapshots[0].ID == 0 {
		t.Error("snapshot id not set")
	}
	if v, _ := s.GetCursor(ctx, "feed"); v != "9" {
		t.Errorf("cursor %q, want 9", v)
	}
	if sn, err := s.LatestSnapshot(ctx, ref); err != nil || sn.Counters["not_sent"] != 1 {
		t.Errorf("snapshot %+v %v", sn, err)
	}
}
