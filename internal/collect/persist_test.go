package collect_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

type recordingStore struct {
	ops      []string
	conflict bool
}

func (r *recordingStore) InsertEvents(context.Context, []store.EventRecord) (store.InsertResult, error) {
	r.ops = append(r.ops, "events")
	return store.InsertResult{}, nil
}

func (r *recordingStore) InsertSnapshots(context.Context, []store.Snapshot) ([]int64, error) {
	r.ops = append(r.ops, "snapshots")
	return nil, nil
}

func (r *recordingStore) CompareAndSetCursor(_ context.Context, name, _, _ string, _ time.Time) error {
	r.ops = append(r.ops, "cursor "+name)
	if r.conflict {
		return store.ErrConflict
	}
	return nil
}

// TestPersistOrder: events are stored before the feed cursor moves (a crash
// in between re-reads the feed; the events are idempotent), and snapshots
// that count a feed page are dropped when another replica took the page.
func TestPersistOrder(t *testing.T) {
	out := &collect.Output{
		Events:    []store.EventRecord{{}},
		Snapshots: []store.Snapshot{{}},
		Cursors:   []collect.CursorAdvance{{Name: "feed", Old: "1", Next: "9"}},
	}
	rs := &recordingStore{}
	if err := collect.Persist(context.Background(), rs, out, time.Now()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"events", "cursor feed", "snapshots"}; !slices.Equal(rs.ops, want) {
		t.Fatalf("order %v, want %v", rs.ops, want)
	}
	rs = &recordingStore{conflict: true}
	err := collect.Persist(context.Background(), rs, out, time.Now())
	if !errors.Is(err, collect.ErrCursorMoved) {
		t.Fatalf("conflict: %v", err)
	}
	if slices.Contains(rs.ops, "snapshots") {
		t.Fatalf("snapshots stored after a cursor conflict: %v", rs.ops)
	}
}
