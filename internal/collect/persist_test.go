package collect_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// TestPersistIsAtomic: a collection's events, snapshots and feed cursor are
// stored together; when another replica moved the cursor first nothing is
// stored (no snapshot counts the page twice), and a retry with the right
// cursor stores everything once.
func TestPersistIsAtomic(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "p.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	out := func(old string) *collect.Output {
		return &collect.Output{
			Events: []store.EventRecord{{Event: event.Event{TS: now, Tenant: "t", Source: "sfmc", RequestID: "feed:1"}, Count: 1}},
			Snapshots: []store.Snapshot{{ResourceRef: store.ResourceRef{Tenant: "t", ResourceType: "transactional", ResourceKey: "k"},
				ObservedAt: now, Counters: map[string]int64{"not_sent": 1}}},
			Cursors: []collect.CursorAdvance{{Name: "feed", Old: old, Next: "9"}},
		}
	}
	if err := st.SetCursor(ctx, "feed", "5", now); err != nil {
		t.Fatal(err)
	}
	// Another replica moved the cursor from "" to "5": ours conflicts.
	err = collect.Persist(ctx, st, out(""), now)
	if !errors.Is(err, collect.ErrCursorMoved) {
		t.Fatalf("conflict: %v", err)
	}
	evs, _ := st.QueryEvents(ctx, store.EventQuery{Tenant: "t"})
	if _, serr := st.LatestSnapshot(ctx, store.ResourceRef{Tenant: "t", ResourceType: "transactional", ResourceKey: "k"}); len(evs) != 0 || !errors.Is(serr, store.ErrNotFound) {
		t.Fatalf("a conflicting collection stored %d events, snapshot err %v", len(evs), serr)
	}
	if err := collect.Persist(ctx, st, out("5"), now); err != nil {
		t.Fatal(err)
	}
	evs, _ = st.QueryEvents(ctx, store.EventQuery{Tenant: "t"})
	if v, _ := st.GetCursor(ctx, "feed"); len(evs) != 1 || v != "9" {
		t.Fatalf("after the retry: %d events, cursor %q", len(evs), v)
	}
	if _, err := st.LatestSnapshot(ctx, store.ResourceRef{Tenant: "t", ResourceType: "transactional", ResourceKey: "k"}); err != nil {
		t.Fatalf("snapshot not stored: %v", err)
	}
}
