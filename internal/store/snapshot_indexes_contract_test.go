package store

import (
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"
)

// snapshotIndexes counts the indexes migration 00013 drops.
func snapshotIndexes(t *testing.T, h harness, db *sql.DB) int {
	t.Helper()
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('snapshots_time', 'snapshots_base')`
	if h.driver == DriverPostgres {
		q = `SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname IN ('snapshots_time', 'snapshots_base')`
	}
	var n int
	if err := db.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// testSnapshotIndexesMigration: migration 00013 drops the snapshot
// indexes retention no longer needs; down restores them, and the data
// reads the same after down and up again.
func testSnapshotIndexesMigration(t *testing.T, h harness) {
	ctx := t.Context()
	cfg := h.fresh(t)
	s, err := Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := ResourceRef{Tenant: "a", ResourceType: "triggered_send", ResourceKey: "TS-1"}
	for i := range 3 {
		if _, err := s.InsertSnapshots(ctx, []Snapshot{{ResourceRef: ref, ObservedAt: t0.Add(time.Duration(i) * time.Hour),
			Status: "Active", Counters: map[string]int64{"sent": int64(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	p, db := migrationProvider(t, h, cfg)
	if n := snapshotIndexes(t, h, db); n != 0 {
		t.Fatalf("%d of the dropped indexes after up, want 0", n)
	}
	if _, err := p.DownTo(ctx, 12); err != nil {
		t.Fatalf("down to 12: %v", err)
	}
	if n := snapshotIndexes(t, h, db); n != 2 {
		t.Fatalf("%d of the dropped indexes after down, want 2", n)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if h.driver == DriverSQLite {
		_ = db.Close() // one process owns the file
	}
	s2 := openT(t, cfg)
	hist, err := s2.SnapshotHistory(ctx, ref, time.Time{}, time.Time{}, 0)
	if err != nil || len(hist) != 3 || hist[2].Counters["sent"] != 2 {
		t.Fatalf("history after down and up = %+v, %v", hist, err)
	}
}

// testMigrationsDownTo10: the down migrations of 00013, 00012 (objects by
// id back to tenant/type/key columns) and 00011 (packed snapshots) run on
// a populated database, name every row's object again, and up again gives
// a store that reads and writes. 00011's down keeps the rows but not their
// packed counters and payload: a downgrade below it loses those (stated in
// the migration and the README's upgrade notes).
func testMigrationsDownTo10(t *testing.T, h harness) {
	ctx := t.Context()
	cfg := h.fresh(t)
	s, err := Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	refs := []ResourceRef{{Tenant: "a", ResourceType: "triggered_send", ResourceKey: "TS-1"}, {Tenant: "b", ResourceType: "automation", ResourceKey: "nightly"}}
	for i := range 3 {
		for _, ref := range refs {
			if _, err := s.InsertSnapshots(ctx, []Snapshot{{ResourceRef: ref, ObservedAt: t0.Add(time.Duration(i) * time.Hour),
				Status: "Active", Counters: map[string]int64{"sent": int64(i)}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	p, db := migrationProvider(t, h, cfg)
	if _, err := p.DownTo(ctx, 10); err != nil {
		t.Fatalf("down to 10: %v", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT tenant, resource_type, resource_key, COUNT(*) FROM snapshots GROUP BY 1, 2, 3 ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var tn, rt, rk string
		var n int
		if err := rows.Scan(&tn, &rt, &rk, &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s/%s/%s:%d", tn, rt, rk, n))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if want := []string{"a/triggered_send/TS-1:3", "b/automation/nightly:3"}; !slices.Equal(got, want) {
		t.Fatalf("snapshots at version 10 = %v, want %v", got, want)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if h.driver == DriverSQLite {
		_ = db.Close() // one process owns the file
	}
	s2 := openT(t, cfg)
	if _, err := s2.InsertSnapshots(ctx, []Snapshot{{ResourceRef: refs[0], ObservedAt: t0.Add(5 * time.Hour),
		Status: "Active", Counters: map[string]int64{"sent": 9}}}); err != nil {
		t.Fatal(err)
	}
	hist, err := s2.SnapshotHistory(ctx, refs[0], time.Time{}, time.Time{}, 0)
	if err != nil || len(hist) != 4 || hist[3].Counters["sent"] != 9 {
		t.Fatalf("history after down to 10, up and a new row = %+v, %v", hist, err)
	}
}
