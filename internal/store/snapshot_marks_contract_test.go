package store

import (
	"fmt"
	"testing"
	"time"
)

// testSnapshotsReadMarks: a poll whose snapshot differs from the latest
// row only in ReadMarks payload keys updates that row (its payload takes
// the new marks, its seen_until moves) instead of adding one; any other
// difference, with or without new marks, adds a row as before.
func testSnapshotsReadMarks(t *testing.T, h harness) {
	ctx := t.Context()
	cfg := h.fresh(t)
	s := openT(t, cfg)
	db := h.raw(t, cfg)
	rows := func() int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM snapshots").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ref := ResourceRef{Tenant: "a", ResourceType: "data_extension", ResourceKey: "DE-1"}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	snap := func(m, rowsAt int, readAt int) Snapshot {
		return Snapshot{ResourceRef: ref, ObservedAt: at(m), Status: "active", RowCount: i64(10), SchemaHash: "h1",
			Payload: []byte(fmt.Sprintf(`{"name":"Subs","row_count_at":"%s","definitions_read_at":"%s"}`,
				at(rowsAt).Format(time.RFC3339), at(readAt).Format(time.RFC3339)))}
	}
	insert := func(sn Snapshot) int64 {
		t.Helper()
		ids, err := s.InsertSnapshots(ctx, []Snapshot{sn})
		if err != nil {
			t.Fatal(err)
		}
		return ids[0]
	}
	first := insert(snap(0, 0, 0))
	// Only the definitions were read again: same row, new marks.
	if id := insert(snap(60, 0, 60)); id != first || rows() != 1 {
		t.Fatalf("marks-only change: id %d (want %d), %d rows (want 1)", id, first, rows())
	}
	l, err := s.LatestSnapshot(ctx, ref)
	if err != nil || !l.ObservedAt.Equal(at(60)) || string(l.Payload) != string(snap(60, 0, 60).Payload) {
		t.Fatalf("latest after a marks-only change = %+v (payload %s), %v", l, l.Payload, err)
	}
	hist, err := s.SnapshotHistory(ctx, ref, time.Time{}, time.Time{}, 0)
	if err != nil || len(hist) != 2 || hist[0].ID != first || !hist[0].ObservedAt.Equal(at(0)) || !hist[1].ObservedAt.Equal(at(60)) {
		t.Fatalf("history after a marks-only change = %+v, %v", hist, err)
	}
	// A read-at time rules read (row_count_at) is a change, marks or not.
	second := insert(snap(65, 65, 60))
	if second == first || rows() != 2 {
		t.Fatalf("row count re-measured: id %d, %d rows; want a new row", second, rows())
	}
	third := insert(snap(120, 120, 120))
	if third == second || rows() != 3 {
		t.Fatalf("re-measured and marks: id %d, %d rows; want a new row", third, rows())
	}
	// So is a column (status) changing with the marks.
	changed := snap(180, 120, 180)
	changed.Status = "inactive"
	if id := insert(changed); id == third || rows() != 4 {
		t.Fatalf("status and marks changed: id %d, %d rows; want a new row", id, rows())
	}
	// An earlier poll than the latest row's last observation adds a row.
	late := snap(170, 120, 170)
	late.Status = "inactive"
	if id := insert(late); rows() != 5 || id == third {
		t.Fatalf("out-of-order marks-only poll: id %d, %d rows; want a new row", id, rows())
	}
}

func TestEqualExceptMarks(t *testing.T) {
	st := func(counters, payload string) []byte { return append(append([]byte(counters), 0), payload...) }
	for _, tc := range []struct {
		a, b []byte
		want bool
	}{
		{st("", `{"n":1,"definitions_read_at":"x"}`), st("", `{"n":1,"definitions_read_at":"y"}`), true},
		{st("", `{"definitions_read_at":"y","n":1}`), st("", `{"n":1,"definitions_read_at":"x"}`), true},
		{st("", `{"n":1}`), st("", `{"n":1,"definitions_read_at":"x"}`), false},
		{st("", `{"n":1,"definitions_read_at":"x"}`), st("", `{"n":2,"definitions_read_at":"y"}`), false},
		{st(`{"sent":1}`, `{"n":1,"definitions_read_at":"x"}`), st(`{"sent":2}`, `{"n":1,"definitions_read_at":"y"}`), false},
		{st("", `{"n":1,"definitions_read_at":"x"}`), st("", `{"n":1,"m":2,"definitions_read_at":"x"}`), false},
		{st("", `["definitions_read_at"]`), st("", `["definitions_read_at"]`), false},
		{st("", `{"n":1,"definitions_read_at":"x"}`), []byte(`no separator`), false},
	} {
		if got := equalExceptMarks(tc.a, tc.b); got != tc.want {
			t.Errorf("equalExceptMarks(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
