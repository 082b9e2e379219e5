package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// testEventGroups: several callers' batches in one transaction, with
// per-group insert and duplicate counts (the ingest group commit).
func testEventGroups(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	big := make([]EventRecord, eventsPerStmt+3) // a full prepared chunk and a rest
	for i := range big {
		big[i] = ev(t0.Add(time.Duration(i)*time.Millisecond), "a", "bulk", "/e", "none", 200, fmt.Sprintf("big-%d", i))
	}
	groups := [][]EventRecord{
		{ev(t0, "a", "crm", "/e", "auth", 401, "r1"), ev(t0, "a", "crm", "/e", "auth", 401, "r2")},
		{},
		{ev(t0, "a", "crm", "/e", "auth", 401, "r2"), ev(t0, "a", "crm", "/e", "auth", 401, "")}, // r2 repeats group 0
		big,
	}
	res, err := s.InsertEventGroups(ctx, groups)
	if err != nil {
		t.Fatal(err)
	}
	want := []InsertResult{{Inserted: 2}, {}, {Inserted: 1, Duplicates: 1}, {Inserted: len(big)}}
	if fmt.Sprint(res) != fmt.Sprint(want) {
		t.Fatalf("InsertEventGroups = %+v, want %+v", res, want)
	}
	// A retry of the same groups inserts only the rows without request id.
	res, err = s.InsertEventGroups(ctx, groups)
	if err != nil {
		t.Fatal(err)
	}
	want = []InsertResult{{Duplicates: 2}, {}, {Inserted: 1, Duplicates: 1}, {Duplicates: len(big)}}
	if fmt.Sprint(res) != fmt.Sprint(want) {
		t.Fatalf("retry = %+v, want %+v", res, want)
	}
	// One bad group fails the whole call: nothing of it is stored.
	bad := [][]EventRecord{{ev(t0, "a", "crm", "/e", "auth", 401, "r9")}, {{}}}
	if _, err := s.InsertEventGroups(ctx, bad); err == nil {
		t.Fatal("group without timestamp accepted")
	}
	all, _ := s.QueryEvents(ctx, EventQuery{Limit: 10000})
	if len(all) != 4+len(big) {
		t.Fatalf("stored %d events, want %d", len(all), 4+len(big))
	}
	if res, err := s.InsertEventGroups(ctx, nil); err != nil || len(res) != 0 {
		t.Fatalf("no groups = %v, %v", res, err)
	}
}

// testEventsAdvanceCursor: events and their read position commit together
// or not at all (file tail: no line stored twice or lost).
func testEventsAdvanceCursor(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	e1 := []EventRecord{ev(t0, "a", "etl", "/e", "none", 200, "")}
	res, err := s.InsertEventsAdvanceCursor(ctx, e1, CursorMove{Name: "tail/x", Old: "", Next: "10", Now: t0})
	if err != nil || res.Inserted != 1 {
		t.Fatalf("first = %+v, %v", res, err)
	}
	// A second reader still at "" loses: nothing stored, cursor unchanged.
	_, err = s.InsertEventsAdvanceCursor(ctx, e1, CursorMove{Name: "tail/x", Old: "", Next: "10", Now: t0})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("stale reader = %v, want ErrConflict", err)
	}
	if v, _ := s.GetCursor(ctx, "tail/x"); v != "10" {
		t.Fatalf("cursor = %q", v)
	}
	// Cursor-only moves (a read of blank lines) work with no events.
	if _, err := s.InsertEventsAdvanceCursor(ctx, nil, CursorMove{Name: "tail/x", Old: "10", Next: "12", Now: t0}); err != nil {
		t.Fatal(err)
	}
	// A failing insert leaves the cursor where it was.
	if _, err := s.InsertEventsAdvanceCursor(ctx, []EventRecord{{}}, CursorMove{Name: "tail/x", Old: "12", Next: "20", Now: t0}); err == nil {
		t.Fatal("record without timestamp accepted")
	}
	if v, _ := s.GetCursor(ctx, "tail/x"); v != "12" {
		t.Fatalf("cursor after failed insert = %q, want 12", v)
	}
	all, _ := s.QueryEvents(ctx, EventQuery{})
	if len(all) != 1 {
		t.Fatalf("stored %d events, want 1", len(all))
	}
}
