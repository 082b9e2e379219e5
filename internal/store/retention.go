package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// defaultPruneChunk bounds each DELETE so a large backlog never holds the
// (SQLite) write lock or a long PostgreSQL transaction for long; other
// writers get the lock between chunks.
const defaultPruneChunk = 5000

func (s *sqlStore) Prune(ctx context.Context, now time.Time, r Retention) (PruneResult, error) {
	var res PruneResult
	var err error
	if r.Events > 0 {
		if res.Events, err = s.deleteChunks(ctx, `DELETE FROM events WHERE id IN (
				SELECT id FROM events WHERE ts < ? LIMIT ?)`, us(now.Add(-r.Events))); err != nil {
			return res, fmt.Errorf("store: prune events: %w", err)
		}
		if err := s.pruneBuckets(ctx, bucketOf(us(now.Add(-r.Events)))); err != nil {
			return res, fmt.Errorf("store: prune event buckets: %w", err)
		}
	}
	if r.Snapshots > 0 {
		// Snapshots are stored on change, so a row stands for the object's
		// state until the next row. Keep, of every resource, the last row
		// observed before the cutoff however old it is: it is the latest
		// state of an object that has not changed since, and otherwise
		// the state at the cutoff, which history read from any time
		// inside the retention starts from (its anchor). Older rows go.
		if res.Snapshots, err = s.deleteChunks(ctx, `DELETE FROM snapshots WHERE id IN (
				SELECT s.id FROM snapshots s WHERE s.observed_at < ? AND EXISTS (
					SELECT 1 FROM snapshots n WHERE n.tenant = s.tenant AND n.resource_type = s.resource_type
					AND n.resource_key = s.resource_key AND n.observed_at <= ? AND (n.observed_at > s.observed_at
						OR (n.observed_at = s.observed_at AND n.id > s.id)))
				LIMIT ?)`, us(now.Add(-r.Snapshots)), us(now.Add(-r.Snapshots))); err != nil {
			return res, fmt.Errorf("store: prune snapshots: %w", err)
		}
	}
	if r.Incidents > 0 {
		// Evidence goes with its incident (ON DELETE CASCADE).
		if res.Incidents, err = s.deleteChunks(ctx, `DELETE FROM incidents WHERE id IN (
				SELECT id FROM incidents WHERE status = 'resolved' AND resolved_at < ? LIMIT ?)`,
			us(now.Add(-r.Incidents))); err != nil {
			return res, fmt.Errorf("store: prune incidents: %w", err)
		}
	}
	if r.Usage > 0 {
		r, err := s.w.ExecContext(ctx, s.q(`DELETE FROM api_usage WHERE day < ?`), now.Add(-r.Usage).UTC().Format(dayLayout))
		if err != nil {
			return res, fmt.Errorf("store: prune usage: %w", err)
		}
		res.Usage, _ = r.RowsAffected()
	}
	return res, nil
}

// deleteChunks runs query (whose parameters are args, then the chunk size)
// until a chunk deletes fewer rows than the chunk size.
func (s *sqlStore) deleteChunks(ctx context.Context, query string, args ...any) (int64, error) {
	query = s.q(query)
	pruneChunk := s.pruneChunk
	if pruneChunk <= 0 {
		pruneChunk = defaultPruneChunk
	}
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		r, err := s.w.ExecContext(ctx, query, append(args[:len(args):len(args)], int64(pruneChunk))...)
		if err != nil {
			return total, err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(pruneChunk) {
			return total, nil
		}
	}
}

// pruneBuckets deletes the running aggregates of buckets that start before
// cutoff, in chunks of about pruneChunk rows (event_buckets has no row id
// to page on: each chunk ends at the bucket pruneChunk rows in).
func (s *sqlStore) pruneBuckets(ctx context.Context, cutoff int64) error {
	pruneChunk := s.pruneChunk
	if pruneChunk <= 0 {
		pruneChunk = defaultPruneChunk
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := cutoff
		var b int64
		err := s.w.QueryRowContext(ctx, s.q(`SELECT bucket FROM event_buckets WHERE bucket < ? ORDER BY bucket LIMIT 1 OFFSET ?`),
			cutoff, int64(pruneChunk)).Scan(&b)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			end = b
		}
		if end == cutoff {
			_, err := s.w.ExecContext(ctx, s.q(`DELETE FROM event_buckets WHERE bucket < ?`), cutoff)
			return err
		}
		// A chunk boundary inside one bucket's rows would delete nothing:
		// then that whole bucket goes.
		if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM event_buckets WHERE bucket < ?`), end); err != nil {
			return err
		}
		if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM event_buckets WHERE bucket = ?`), end); err != nil {
			return err
		}
	}
}
