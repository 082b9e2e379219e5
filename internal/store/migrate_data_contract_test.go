package store

import (
	"bytes"
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

// testSnapshotsMigrateData: snapshot rows written before migrations 00011
// (packing) and 00012 (object ids) read back the same after them, and new
// rows of the same objects are packed against fresh bases.
func testSnapshotsMigrateData(t *testing.T, h harness) {
	ctx := t.Context()
	cfg := h.fresh(t)
	p, db := migrationProvider(t, h, cfg)
	if _, err := p.UpTo(ctx, 10); err != nil {
		t.Fatal(err)
	}
	old := []struct {
		key      string
		at       time.Time
		counters string
		payload  string
	}{
		{"TS-1", t0, `{"sent":1}`, `{"name":"one","n":1}`},
		{"TS-1", t0.Add(time.Hour), `{"sent":2}`, `{"name":"one","n":2}`},
		{"TS-2", t0, `{"sent":5}`, `{"name":"two"}`},
	}
	for _, o := range old {
		var id int64
		if err := db.QueryRowContext(ctx, bindFor(h.driver, `INSERT INTO snapshots (tenant, resource_type, resource_key, observed_at, status, counters, payload)
			VALUES ('a', 'triggered_send', ?, ?, 'Active', ?, ?) RETURNING id`), o.key, us(o.at), o.counters, o.payload).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, bindFor(h.driver, `INSERT INTO latest_snapshots (tenant, resource_type, resource_key, snapshot_id, observed_at)
			VALUES ('a', 'triggered_send', ?, ?, ?) ON CONFLICT (tenant, resource_type, resource_key) DO UPDATE
			SET snapshot_id = excluded.snapshot_id, observed_at = excluded.observed_at`), o.key, id, us(o.at)); err != nil {
			t.Fatal(err)
		}
	}
	s := openT(t, cfg) // migrates to the latest version
	ref := ResourceRef{Tenant: "a", ResourceType: "triggered_send", ResourceKey: "TS-1"}
	hist, err := s.SnapshotHistory(ctx, ref, time.Time{}, time.Time{}, 0)
	if err != nil || len(hist) != 2 || hist[1].Counters["sent"] != 2 || hist[1].Status != "Active" || hist[1].ResourceRef != ref {
		t.Fatalf("history after migration = %+v, %v", hist, err)
	}
	all, err := s.LatestSnapshots(ctx, "a", "triggered_send")
	if err != nil || len(all) != 2 || all[1].ResourceKey != "TS-2" || all[1].Counters["sent"] != 5 {
		t.Fatalf("latest after migration = %+v, %v", all, err)
	}
	next := Snapshot{ResourceRef: ref, ObservedAt: t0.Add(2 * time.Hour), Status: "Active",
		Counters: map[string]int64{"sent": 3}, Payload: []byte(`{"name":"one","n":3}`)}
	if _, err := s.InsertSnapshots(ctx, []Snapshot{next}); err != nil {
		t.Fatal(err)
	}
	l, err := s.LatestSnapshot(ctx, ref)
	if err != nil || l.Counters["sent"] != 3 || !bytes.Equal(l.Payload, next.Payload) {
		t.Fatalf("latest after a new poll = %+v, %v", l, err)
	}
	var objects int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM snapshot_objects`).Scan(&objects); err != nil || objects != 2 {
		t.Errorf("%d snapshot objects, %v; want 2", objects, err)
	}
}

// bindFor rebinds ? placeholders for PostgreSQL.
func bindFor(driver, q string) string {
	return (&sqlStore{pg: driver == DriverPostgres}).q(q)
}
