package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// IngestStore holds the writes of the pushed and tailed inputs (HTTP ingest,
// file tail, ENS): several callers' batches in one transaction (group
// commit), and a batch committed together with the cursor that says how
// far its input has been read.
type IngestStore interface {
	// InsertEventGroups stores several batches in one transaction — all of
	// them or none — and reports per batch what was inserted and what was
	// skipped as a duplicate of (Source, RequestID), as InsertEvents does.
	// A duplicate of a row of an earlier group in the same call counts
	// against the later group.
	InsertEventGroups(ctx context.Context, groups [][]EventRecord) ([]InsertResult, error)
	// InsertEventsAdvanceCursor stores recs and moves a cursor from c.Old
	// to c.Next in one transaction. When the cursor no longer holds c.Old
	// (another reader advanced it) nothing is stored and the error wraps
	// ErrConflict.
	InsertEventsAdvanceCursor(ctx context.Context, recs []EventRecord, c CursorMove) (InsertResult, error)
}

// CursorMove is a compare-and-set of one cursor (a missing cursor counts
// as "").
type CursorMove struct {
	Name      string
	Old, Next string
	Now       time.Time
}

func checkTimestamps(recs []EventRecord) error {
	for i := range recs {
		if recs[i].TS.IsZero() {
			return fmt.Errorf("record %d has no timestamp", i)
		}
	}
	return nil
}

// insertEventsTx inserts recs inside tx and returns the rows inserted. On
// an error the transaction must be rolled back: on SQLite a failed
// statement may have left some of its rows (see insertEventsSQL).
func (s *sqlStore) insertEventsTx(ctx context.Context, tx *sql.Tx, recs []EventRecord) (int, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	agg := bucketAgg{}
	if s.pg {
		n, err := s.insertEventsPG(ctx, tx, recs, agg)
		if err != nil {
			return n, err
		}
		return n, s.upsertBucketsTx(ctx, tx, agg)
	}
	// The running aggregates (event_buckets) count the rows this call
	// stores, by their ids; see aggregateInsertedSQLite.
	var prevID int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM events").Scan(&prevID); err != nil {
		return 0, fmt.Errorf("max event id: %w", err)
	}
	// The full-chunk insert is prepared once at Open (parsing an
	// 18,000-parameter statement costs about as much as running it); on the
	// single writer connection tx.StmtContext reuses it.
	var full *sql.Stmt
	if len(recs) >= eventsPerStmt && s.insertStmt != nil {
		full = tx.StmtContext(ctx, s.insertStmt)
		defer full.Close()
	}
	inserted := 0
	args := make([]any, 0, min(len(recs), eventsPerStmt)*numEventCols)
	for start := 0; start < len(recs); start += eventsPerStmt {
		chunk := recs[start:min(start+eventsPerStmt, len(recs))]
		args = args[:0]
		for i := range chunk {
			args = insertEventArgs(args, &chunk[i])
		}
		var (
			r   sql.Result
			err error
		)
		if full != nil && len(chunk) == eventsPerStmt {
			r, err = full.ExecContext(ctx, args...)
		} else {
			r, err = tx.ExecContext(ctx, s.insertEventsSQL(len(chunk)), args...)
		}
		if err != nil {
			return inserted, fmt.Errorf("insert: %w", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return inserted, fmt.Errorf("rows affected: %w", err)
		}
		inserted += int(n)
		if prevID, err = s.aggregateInsertedSQLite(ctx, tx, agg, chunk, int(n), prevID); err != nil {
			return inserted, err
		}
	}
	return inserted, s.upsertBucketsTx(ctx, tx, agg)
}

func (s *sqlStore) InsertEventGroups(ctx context.Context, groups [][]EventRecord) ([]InsertResult, error) {
	total := 0
	for gi, g := range groups {
		if err := checkTimestamps(g); err != nil {
			return nil, fmt.Errorf("store: insert event groups: group %d: %w", gi, err)
		}
		total += len(g)
	}
	res := make([]InsertResult, len(groups))
	if total == 0 {
		return res, nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for gi, g := range groups {
			n, err := s.insertEventsTx(ctx, tx, g)
			if err != nil {
				return fmt.Errorf("group %d: %w", gi, err)
			}
			res[gi] = InsertResult{Inserted: n, Duplicates: len(g) - n}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: insert %d events in %d groups: %w", total, len(groups), err)
	}
	return res, nil
}

func (s *sqlStore) InsertEventsAdvanceCursor(ctx context.Context, recs []EventRecord, c CursorMove) (InsertResult, error) {
	if err := checkTimestamps(recs); err != nil {
		return InsertResult{}, fmt.Errorf("store: insert events, cursor %q: %w", c.Name, err)
	}
	if c.Name == "" {
		return InsertResult{}, fmt.Errorf("store: insert events: empty cursor name")
	}
	var res InsertResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.casCursorTx(ctx, tx, c); err != nil {
			return err
		}
		n, err := s.insertEventsTx(ctx, tx, recs)
		if err != nil {
			return err
		}
		res = InsertResult{Inserted: n, Duplicates: len(recs) - n}
		return nil
	})
	if err != nil {
		return InsertResult{}, fmt.Errorf("store: insert %d events, cursor %q: %w", len(recs), c.Name, err)
	}
	return res, nil
}

// casCursorTx moves cursor c from c.Old to c.Next inside tx, or returns
// ErrConflict when its value is not c.Old (a missing cursor counts as "").
func (s *sqlStore) casCursorTx(ctx context.Context, tx *sql.Tx, c CursorMove) error {
	var (
		r   sql.Result
		err error
	)
	if c.Old == "" {
		r, err = tx.ExecContext(ctx, s.q(`INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
			WHERE cursors.value = ''`), c.Name, c.Next, us(c.Now))
	} else {
		r, err = tx.ExecContext(ctx, s.q(`UPDATE cursors SET value = ?, updated_at = ? WHERE name = ? AND value = ?`),
			c.Next, us(c.Now), c.Name, c.Old)
	}
	if err != nil {
		return fmt.Errorf("cas cursor %s: %w", c.Name, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("cursor %s is not %q: %w", c.Name, c.Old, ErrConflict)
	}
	return nil
}

// StoreCollection stores what one collection observed in one transaction:
// the feed cursors move (compare-and-set) together with the events read
// from the feeds and the snapshots that count them, or nothing is stored.
func (s *sqlStore) StoreCollection(ctx context.Context, b CollectionBatch) (InsertResult, error) {
	if err := checkTimestamps(b.Events); err != nil {
		return InsertResult{}, fmt.Errorf("store: collection: %w", err)
	}
	var res InsertResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, c := range b.Cursors {
			if err := s.casCursorTx(ctx, tx, c); err != nil {
				return err
			}
		}
		n, err := s.insertEventsTx(ctx, tx, b.Events)
		if err != nil {
			return err
		}
		res = InsertResult{Inserted: n, Duplicates: len(b.Events) - n}
		if len(b.Snapshots) > 0 {
			ids, err := s.insertSnapshotsTx(ctx, tx, b.Snapshots)
			if err != nil {
				return err
			}
			for i := range b.Snapshots {
				b.Snapshots[i].ID = ids[i]
			}
		}
		return nil
	})
	if err != nil {
		return InsertResult{}, fmt.Errorf("store: collection: %w", err)
	}
	return res, nil
}
