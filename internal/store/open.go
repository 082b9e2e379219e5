package store

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Drivers accepted in Config.Driver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Config selects and tunes the backend.
type Config struct {
	// Driver is "sqlite" (default) or "postgres".
	Driver string
	// Path is the SQLite database file (created when missing).
	Path string
	// DSN is the PostgreSQL connection string (URL or key=value). A
	// search_path parameter selects the schema.
	DSN string
	// Synchronous is the SQLite synchronous pragma: "normal" (default) or
	// "full". See sqliteDSN for the trade-off.
	Synchronous string
	// BusyTimeout is how long SQLite waits for a lock (default 5s).
	BusyTimeout time.Duration
	// Readers is the size of the SQLite reader pool (default 4).
	Readers int
	// MaxConns caps the PostgreSQL pool (default 10).
	MaxConns int
	// MigrationLockWait is how long a PostgreSQL replica waits for another
	// one's migration lock (default 5 minutes).
	MigrationLockWait time.Duration

	// walTruncateFrames overrides the WAL length that triggers a TRUNCATE
	// checkpoint (tests).
	walTruncateFrames int
}

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrationTable is goose's version table name.
const migrationTable = "sfmcwatch_migrations"

// Open opens (creating if needed) the configured database, brings its schema
// up to date and returns the Store. logger may be nil.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With(slog.String("component", "store"))
	switch cfg.Driver {
	case "", DriverSQLite:
		return openSQLite(ctx, cfg, logger)
	case DriverPostgres, "pgx", "postgresql":
		return openPostgres(ctx, cfg, logger)
	default:
		return nil, fmt.Errorf("store: unknown driver %q (want %q or %q)", cfg.Driver, DriverSQLite, DriverPostgres)
	}
}

const defaultBusyTimeout = 5 * time.Second

// dsnRole says what a SQLite connection pool is for.
type dsnRole int

const (
	dsnWriter       dsnRole = iota // the single writer connection
	dsnReader                      // the read-only pool
	dsnCheckpointer                // the checkpointer's connection
)

// sqliteDSN builds the modernc.org/sqlite DSN.
//
// Durability: WAL journal with synchronous=NORMAL by default. In WAL mode a
// commit appends the transaction to the WAL file before returning, so
// everything committed survives a process crash (SIGKILL, panic, OOM kill —
// TestSQLiteCrashRecovery checks this) and the database is never corrupted,
// not even by power loss. What NORMAL gives up is the fsync on every commit:
// after a power cut or kernel crash the transactions committed since the
// last checkpoint may be missing. FULL closes that gap at the price of one
// WAL fsync per commit; events are written in batched transactions so that
// is one fsync per batch, which on this 2-core test machine costs about 8%
// of insert throughput (≈104k vs ≈113k events/s in batches of 1,000,
// BenchmarkInsertEvents). Deployments that acknowledge pushed data and
// cannot accept losing the last seconds on power loss set Synchronous:
// "full". Checkpoints (which fsync the WAL first) run off the write path
// (checkpoint.go) up to ten times a second under load, so with NORMAL the
// window is usually that short; a long read that keeps a checkpoint from
// copying anything lengthens it.
//
// _txlock=immediate makes BEGIN take the write lock at once, so a writer
// waits on busy_timeout up front instead of failing with SQLITE_BUSY when
// upgrading a read transaction.
// Page cache sizes (negative: KiB, SQLite's convention). Only the writer
// gets a large cache. A reader's cache is dropped whenever another
// connection committed since its last read, which the writer does every few
// seconds, so a large one saved few reads; but the pages freed stay with the
// process (modernc's allocator keeps freed regions up to its high-water
// mark), so each pooled reader kept up to 32 MiB resident when idle. The
// cost shows on a quiet database, where a reader's cache would survive
// between reads: BenchmarkViews' errors-24h view went from about 3 ms to
// 11 ms (8 MiB: 9-11 ms; on a loaded 2-core machine), far inside the 100 ms
// target. The checkpointer copies WAL frames to the database file without its cache and
// keeps SQLite's default.
const (
	writerCacheKiB = -32768
	readerCacheKiB = -2000
)

func sqliteDSN(path string, cfg Config, role dsnRole) (string, error) {
	sync := strings.ToUpper(cfg.Synchronous)
	switch sync {
	case "":
		sync = "NORMAL"
	case "FULL", "NORMAL", "EXTRA":
	default:
		return "", fmt.Errorf("store: sqlite synchronous %q: want full or normal", cfg.Synchronous)
	}
	busy := cfg.BusyTimeout
	if busy <= 0 {
		busy = defaultBusyTimeout
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "foreign_keys(1)")
	switch role {
	case dsnReader:
		q.Add("_pragma", "query_only(1)")
		q.Add("_pragma", fmt.Sprintf("cache_size(%d)", readerCacheKiB))
	case dsnWriter:
		// 32 MiB page cache (default 2 MiB): the event indexes take
		// random inserts (request ids), and a cache miss is a read syscall.
		q.Add("_pragma", fmt.Sprintf("cache_size(%d)", writerCacheKiB))
		q.Set("_txlock", "immediate")
		// The checkpointer copies the WAL into the database instead of
		// the commits (checkpoint.go).
		q.Add("_pragma", "wal_autocheckpoint(0)")
	case dsnCheckpointer:
	}
	return "file:" + filepath.ToSlash(path) + "?" + q.Encode(), nil
}

func openSQLite(ctx context.Context, cfg Config, logger *slog.Logger) (Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("store: sqlite needs a Path")
	}
	wdsn, err := sqliteDSN(cfg.Path, cfg, dsnWriter)
	if err != nil {
		return nil, err
	}
	rdsn, _ := sqliteDSN(cfg.Path, cfg, dsnReader)
	cdsn, _ := sqliteDSN(cfg.Path, cfg, dsnCheckpointer)

	w, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", cfg.Path, err)
	}
	// One writer connection: SQLite allows one writer at a time anyway;
	// funnelling writes through one connection turns lock contention into
	// an in-process queue.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", cfg.Path, err)
	}
	if err := migrate(ctx, goose.DialectSQLite3, w, "migrations/sqlite", nil, logger); err != nil {
		_ = w.Close()
		return nil, err
	}

	r, err := sql.Open("sqlite", rdsn)
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("store: open sqlite reader %s: %w", cfg.Path, err)
	}
	n := cfg.Readers
	if n <= 0 {
		n = 4
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(5 * time.Minute)
	s := &sqlStore{driver: DriverSQLite, w: w, r: r, log: logger}
	if s.insertStmt, err = w.PrepareContext(ctx, s.insertEventsSQL(eventsPerStmt)); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: prepare event insert: %w", err)
	}
	c, err := sql.Open("sqlite", cdsn)
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: open sqlite checkpointer %s: %w", cfg.Path, err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	c.SetConnMaxIdleTime(0)
	c.SetConnMaxLifetime(0)
	busy := cfg.BusyTimeout
	if busy <= 0 {
		busy = defaultBusyTimeout
	}
	s.ckpt = startCheckpointer(c, w, busy, cmp.Or(cfg.walTruncateFrames, walTruncateFrames), logger)
	return s, nil
}

func openPostgres(ctx context.Context, cfg Config, logger *slog.Logger) (Store, error) {
	if cfg.DSN == "" {
		return nil, errors.New("store: postgres needs a DSN")
	}
	pcfg, err := pgx.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("store: parse postgres DSN: %w", err)
	}
	db := stdlib.OpenDB(*pcfg)
	n := cfg.MaxConns
	if n <= 0 {
		n = 10
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: connect postgres: %w", err)
	}

	// The advisory lock id is derived from database and schema, so replicas
	// sharing a schema exclude each other while separate schemas (tests,
	// several installations in one database) migrate independently.
	var dbName, schema string
	if err := db.QueryRowContext(ctx, `SELECT current_database(), COALESCE(current_schema(), '')`).Scan(&dbName, &schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: postgres current schema: %w", err)
	}
	if schema == "" {
		_ = db.Close()
		return nil, errors.New("store: postgres search_path names no existing schema")
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("sfmcwatch-migrate\x00" + dbName + "\x00" + schema))
	wait := cfg.MigrationLockWait
	if wait <= 0 {
		wait = 5 * time.Minute
	}
	// goose polls pg_try_advisory_lock once per period (minimum 1s).
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64()>>1)),
		lock.WithLockTimeout(1, uint64(max(1, wait/time.Second))),
		lock.WithUnlockTimeout(1, 30),
	)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: postgres migration lock: %w", err)
	}
	if err := migrate(ctx, goose.DialectPostgres, db, "migrations/postgres", locker, logger); err != nil {
		_ = db.Close()
		return nil, err
	}
	return &sqlStore{driver: DriverPostgres, pg: true, w: db, r: db, log: logger}, nil
}

// migrate applies the embedded migrations of one dialect with goose's
// Provider API (no goose globals).
func migrate(ctx context.Context, dialect goose.Dialect, db *sql.DB, dir string, locker lock.SessionLocker, logger *slog.Logger) error {
	fsys, err := fs.Sub(migrationFiles, dir)
	if err != nil {
		return fmt.Errorf("store: migrations %s: %w", dir, err)
	}
	opts := []goose.ProviderOption{
		goose.WithTableName(migrationTable),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(logger),
	}
	if locker != nil {
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("store: migration provider: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", dialect, err)
	}
	// A database migrated by a newer sfmcwatch has a schema this binary
	// does not know (goose's Up just finds nothing to do): running on it
	// could misread or duplicate what the newer replicas write, e.g. send
	// notifications twice during a rolling upgrade. Refuse instead.
	dbv, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("store: schema version: %w", err)
	}
	if srcs := p.ListSources(); len(srcs) > 0 {
		if known := srcs[len(srcs)-1].Version; dbv > known {
			return fmt.Errorf("store: the database schema is at version %d, newer than this binary's %d: run the sfmcwatch version that migrated it (or newer); during an upgrade stop every older replica first", dbv, known)
		}
	}
	for _, r := range results {
		logger.InfoContext(ctx, "applied migration",
			slog.Int64("version", r.Source.Version),
			slog.Duration("took", r.Duration))
	}
	return nil
}
