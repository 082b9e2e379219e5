package store

import (
	"database/sql"
	"io/fs"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
)

// migrationProvider is a goose provider on a writable handle of cfg's
// database (the harness's SQLite handle is read-only).
func migrationProvider(t *testing.T, h harness, cfg Config) (*goose.Provider, *sql.DB) {
	t.Helper()
	db := h.raw(t, cfg)
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	if h.driver == DriverPostgres {
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
	} else {
		dsn, err := sqliteDSN(cfg.Path, cfg, dsnWriter)
		if err != nil {
			t.Fatal(err)
		}
		if db, err = sql.Open("sqlite", dsn); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
	}
	fsys, err := fs.Sub(migrationFiles, dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(dialect, db, fsys, goose.WithTableName(migrationTable), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return p, db
}

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
