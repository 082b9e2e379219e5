package store

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// postgresEnv names the DSN of a PostgreSQL database the tests may create
// schemas in, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const postgresEnv = "SFMCWATCH_TEST_POSTGRES"

func sqliteHarness() harness {
	return harness{
		driver: DriverSQLite,
		fresh: func(t *testing.T) Config {
			return Config{Driver: DriverSQLite, Path: filepath.Join(t.TempDir(), "sfmcwatch.db")}
		},
		raw: func(t *testing.T, cfg Config) *sql.DB {
			dsn, err := sqliteDSN(cfg.Path, cfg, dsnReader)
			if err != nil {
				t.Fatal(err)
			}
			db, err := sql.Open("sqlite", dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		},
	}
}

func TestSQLiteContract(t *testing.T) {
	t.Parallel()
	runContract(t, sqliteHarness())
}

func TestPostgresContract(t *testing.T) {
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		t.Skipf("%s is not set: skipping the PostgreSQL contract tests (set it to a DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", postgresEnv)
	}
	t.Parallel()
	raw := func(t *testing.T, cfg Config) *sql.DB {
		db, err := sql.Open("pgx", cfg.DSN)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	runContract(t, harness{
		driver:         DriverPostgres,
		concurrentOpen: true,
		raw:            raw,
		fresh: func(t *testing.T) Config {
			return Config{Driver: DriverPostgres, DSN: freshSchema(t, dsn), MigrationLockWait: 60e9}
		},
	})
}

// freshSchema creates a uniquely named schema, drops it when t ends, and
// returns dsn with search_path set to it, so parallel tests and re-runs
// never see each other's tables.
func freshSchema(t testing.TB, dsn string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "sfmcwatch_test_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		// Runs after the stores registered later by the test are closed.
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, dsn, schema)
}

func withSearchPath(t testing.TB, dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return fmt.Sprintf("%s search_path=%s", dsn, schema)
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, cfg := range []Config{
		{Driver: "mysql"},
		{Driver: DriverSQLite},
		{Driver: DriverPostgres},
		{Driver: DriverSQLite, Path: filepath.Join(t.TempDir(), "x.db"), Synchronous: "off"},
		{Driver: DriverPostgres, DSN: "postgres://nobody@127.0.0.1:1/none?connect_timeout=1"},
	} {
		if s, err := Open(ctx, cfg, nil); err == nil {
			_ = s.Close()
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
}

func TestSQLitePragmas(t *testing.T) {
	t.Parallel()
	s := openT(t, Config{Path: filepath.Join(t.TempDir(), "p.db")})
	ss := s.(*sqlStore)
	for _, c := range []struct {
		pragma string
		want   string
	}{{"cache_size", "-32768"}, {"journal_mode", "wal"}, {"synchronous", "1"}, {"foreign_keys", "1"}, {"busy_timeout", "5000"}} {
		var got string
		if err := ss.w.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&got); err != nil || got != c.want {
			t.Errorf("PRAGMA %s = %q, %v; want %q", c.pragma, got, err, c.want)
		}
	}
	var qo string
	if err := ss.r.QueryRowContext(t.Context(), "PRAGMA query_only").Scan(&qo); err != nil || qo != "1" {
		t.Errorf("reader query_only = %q, %v", qo, err)
	}
	var rc string
	if err := ss.r.QueryRowContext(t.Context(), "PRAGMA cache_size").Scan(&rc); err != nil || rc != "-2000" {
		t.Errorf("reader cache_size = %q, %v; want -2000 (idle memory: one small cache per pooled reader)", rc, err)
	}
}

// TestOpenRefusesNewerSchema: a database a newer sfmcwatch migrated is
// refused, not silently used with a schema this binary does not know.
func TestOpenRefusesNewerSchema(t *testing.T) {
	cfg := Config{Driver: DriverSQLite, Path: filepath.Join(t.TempDir(), "newer.db")}
	s := openT(t, cfg)
	_ = s.Close()
	dsn, err := sqliteDSN(cfg.Path, cfg, dsnWriter)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO ` + migrationTable + ` (version_id, is_applied) VALUES (99999, 1)`); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	_, err = Open(t.Context(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "schema is at version 99999") {
		t.Fatalf("Open on a newer schema: %v", err)
	}
}

// TestSQLiteOutboxIndexes: the outbox table rebuilt by migration 00005
// keeps its indexes (claiming due rows and pruning read them).
func TestSQLiteOutboxIndexes(t *testing.T) {
	cfg := Config{Driver: DriverSQLite, Path: filepath.Join(t.TempDir(), "idx.db")}
	s := openT(t, cfg).(*sqlStore)
	rows, err := s.r.QueryContext(t.Context(), `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'notification_outbox'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		got[n] = true
	}
	for _, want := range []string{"notification_outbox_due", "notification_outbox_created"} {
		if !got[want] {
			t.Errorf("index %s missing (have %v)", want, got)
		}
	}
}
