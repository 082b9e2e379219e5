package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sqlStore implements Store over database/sql for both dialects. SQL is
// written once with ? placeholders (rebound to $n for PostgreSQL); the few
// statements that differ branch on pg.
type sqlStore struct {
	driver string
	pg     bool
	// w takes every write. On SQLite it is a single connection; r is a
	// separate pool of read-only connections (WAL lets them read while the
	// writer writes). On PostgreSQL w and r are the same pool.
	w   *sql.DB
	r   *sql.DB
	log *slog.Logger

	// insertStmt is the full-chunk event insert prepared on the SQLite
	// writer (nil on PostgreSQL).
	insertStmt *sql.Stmt
	// ckpt checkpoints the SQLite WAL off the write path (nil on
	// PostgreSQL).
	ckpt *checkpointer
	// pruneChunk overrides defaultPruneChunk (tests).
	pruneChunk int
	// bases caches inflated snapshot bases (see pack.go).
	bases baseCache
	// objects caches snapshot_objects ids by ResourceRef.
	objects sync.Map
}

var _ Store = (*sqlStore)(nil)

func (s *sqlStore) Driver() string { return s.driver }

func (s *sqlStore) Close() error {
	var errs []error
	errs = append(errs, s.ckpt.stop())
	if s.insertStmt != nil {
		errs = append(errs, s.insertStmt.Close())
	}
	if s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// q adapts a ?-placeholder statement to the dialect.
func (s *sqlStore) q(query string) string {
	if !s.pg {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + len(query)/4)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// inTx runs fn in a write transaction, committing when fn returns nil.
func (s *sqlStore) inTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.ckpt.written()
	return nil
}

// Time encoding: unix microseconds UTC.

func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// nullUS maps the zero time to NULL.
func nullUS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromUS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func fromNullUS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromUS(v.Int64)
}

// where accumulates AND-ed conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// eq adds "col = ?" when v is not empty.
func (w *where) eq(col, v string) {
	if v != "" {
		w.add(col+" = ?", v)
	}
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

type scanner interface {
	Scan(dest ...any) error
}

func clampLimit(n, def, maxN int) int {
	if n <= 0 {
		return def
	}
	return min(n, maxN)
}
