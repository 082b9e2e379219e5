package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// defaultPruneChunk bounds each DELETE so a large backlog never holds the
// (SQLite) write lock or a long PostgreSQL transaction for long; other
// writers get the lock between chunks.
const defaultPruneChunk = 5000

// Prune applies r: age first (events, snapshots, resolved incidents,
// usage), then snapshot downsampling beyond r.FullResolution, then the
// size bound r.MaxBytes; snapshot bases no row refers to any more go last.
func (s *sqlStore) Prune(ctx context.Context, now time.Time, r Retention) (PruneResult, error) {
	var res PruneResult
	var err error
	if r.Events > 0 {
		if res.Events, err = s.pruneEvents(ctx, us(now.Add(-r.Events))); err != nil {
			return res, err
		}
	}
	if r.CallDetail > 0 && r.CallDetailSource != "" {
		if res.CallDetail, err = s.pruneCallDetail(ctx, now, r.CallDetailSource, bucketOf(us(now.Add(-r.CallDetail)))); err != nil {
			return res, fmt.Errorf("store: prune call detail: %w", err)
		}
	}
	if r.Snapshots > 0 {
		if res.Snapshots, err = s.pruneSnapshots(ctx, us(now.Add(-r.Snapshots))); err != nil {
			return res, err
		}
	}
	if r.FullResolution > 0 {
		if res.Downsampled, err = s.downsample(ctx, now, us(now.Add(-r.FullResolution))); err != nil {
			return res, fmt.Errorf("store: downsample snapshots: %w", err)
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
	if r.MaxBytes > 0 {
		if res.BySize, err = s.pruneBySize(ctx, now, r); err != nil {
			return res, fmt.Errorf("store: prune by size: %w", err)
		}
	}
	if res.Snapshots+res.Downsampled+res.BySize > 0 {
		if res.Bases, err = s.deleteChunks(ctx, s.orphanBases()); err != nil {
			return res, fmt.Errorf("store: prune snapshot bases: %w", err)
		}
	}
	return res, nil
}

// orphanBases deletes a chunk of the snapshot bases no row refers to, in
// one pass over snapshots (no index on base_id, migration 00013): SQLite
// builds the set of referenced ids once per statement for NOT IN;
// PostgreSQL turns NOT EXISTS into a hash anti-join (its NOT IN would
// fall back to a scan per base once the set outgrows work_mem).
func (s *sqlStore) orphanBases() string {
	if s.pg {
		return `DELETE FROM snapshot_bases WHERE id IN (
			SELECT b.id FROM snapshot_bases b WHERE NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.base_id = b.id)
			LIMIT ?)`
	}
	return `DELETE FROM snapshot_bases WHERE id IN (
		SELECT b.id FROM snapshot_bases b WHERE b.id NOT IN (SELECT s.base_id FROM snapshots s WHERE s.base_id IS NOT NULL)
		LIMIT ?)`
}

// snapshotsByObject is the FROM clause retention reads the rows of a time
// range through: object by object, each a range of snapshots_object_time
// (snapshots has no index on observed_at alone, migration 00013). SQLite
// takes a CROSS JOIN's tables in the order written.
const snapshotsByObject = ` FROM snapshot_objects o CROSS JOIN snapshots s WHERE s.object_id = o.id`

// pruneEvents deletes the events (and their bucket aggregates) older than
// cutoff (unix microseconds).
func (s *sqlStore) pruneEvents(ctx context.Context, cutoff int64) (int64, error) {
	n, err := s.deleteChunks(ctx, `DELETE FROM events WHERE id IN (
			SELECT id FROM events WHERE ts < ? LIMIT ?)`, cutoff)
	if err != nil {
		return n, fmt.Errorf("store: prune events: %w", err)
	}
	if err := s.pruneBuckets(ctx, bucketOf(cutoff)); err != nil {
		return n, fmt.Errorf("store: prune event buckets: %w", err)
	}
	return n, nil
}

// callDetailCursor holds the cutoff (unix microseconds, a whole second) up
// to which successful own calls have lost their detail, so each run reads
// only the range that left the window since the last.
const callDetailCursor = "store.events.call_detail_until"

// callDetailStep is the time range one delete of pruneCallDetail covers,
// in microseconds.
const callDetailStep = int64(time.Hour / time.Microsecond)

// pruneCallDetail deletes, between the last run's cutoff and cutoff (a
// bucket start), the event rows of source's successful calls and their
// per-second aggregates (failed = 0). The monitor's own calls are most of
// the events a quiet tenant stores (one per SFMC call); once older than
// the rules' lookback nothing reads them one by one, and the daily usage
// rows (api_usage) still count them. Failed calls keep their rows and
// aggregates: they are incidents' evidence and the error pages' data.
func (s *sqlStore) pruneCallDetail(ctx context.Context, now time.Time, source string, cutoff int64) (int64, error) {
	p, ok, err := s.timeCursor(ctx, callDetailCursor)
	if err != nil {
		return 0, err
	}
	// The hour before the last cutoff is read again: a call stored late
	// (a flush retried) or a clock set back is not left behind the cursor.
	from := max(0, min(p, cutoff)-callDetailStep)
	if !ok {
		// The first run starts at the oldest event (events_ts).
		var oldest sql.NullInt64
		if err := s.w.QueryRowContext(ctx, `SELECT MIN(ts) FROM events`).Scan(&oldest); err != nil {
			return 0, err
		}
		if !oldest.Valid {
			return 0, s.SetCursor(ctx, callDetailCursor, strconv.FormatInt(cutoff, 10), now)
		}
		from = bucketOf(oldest.Int64)
	}
	// SQLite has no statistics to prefer the time index over
	// events_source_request (source = ?), which would read every row of
	// the source for each hour.
	events := "events"
	if !s.pg {
		events = "events INDEXED BY events_ts"
	}
	del := s.q(`DELETE FROM ` + events + ` WHERE ts >= ? AND ts < ? AND source = ? AND NOT is_error`)
	delBuckets := s.q(`DELETE FROM event_buckets WHERE bucket >= ? AND bucket < ? AND source = ? AND failed = 0`)
	// An hour at a time: each statement reads one hour of the ts and
	// bucket indexes (the other sources' rows included) once, and holds
	// the write lock briefly however long the backlog; the cursor moves
	// with them, so an interrupted first run resumes where it stopped.
	var n int64
	for lo := from; lo < cutoff; lo += callDetailStep {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		hi := min(lo+callDetailStep, cutoff)
		d, err := s.execCount(ctx, del, lo, hi, source)
		n += d
		if err != nil {
			return n, err
		}
		if _, err := s.w.ExecContext(ctx, delBuckets, lo, hi, source); err != nil {
			return n, err
		}
		if hi < cutoff && (hi-from)%(24*callDetailStep) == 0 {
			if err := s.SetCursor(ctx, callDetailCursor, strconv.FormatInt(hi, 10), now); err != nil {
				return n, err
			}
		}
	}
	return n, s.SetCursor(ctx, callDetailCursor, strconv.FormatInt(cutoff, 10), now)
}

// pruneSnapshots deletes snapshot history older than cutoff (unix
// microseconds). Snapshots are stored on change, so a row stands for the
// object's state until the next row. Of every resource the last row
// observed before the cutoff stays however old it is: it is the latest
// state of an object that has not changed since, and otherwise the state
// at the cutoff, which history read from any time inside the retention
// starts from (its anchor). Older rows go.
func (s *sqlStore) pruneSnapshots(ctx context.Context, cutoff int64) (int64, error) {
	n, err := s.deleteChunks(ctx, `DELETE FROM snapshots WHERE id IN (
			SELECT s.id`+snapshotsByObject+` AND s.observed_at < ? AND EXISTS (
				SELECT 1 FROM snapshots n WHERE n.object_id = s.object_id
				AND n.observed_at <= ? AND (n.observed_at > s.observed_at
					OR (n.observed_at = s.observed_at AND n.id > s.id)))
			LIMIT ?)`, cutoff, cutoff)
	if err != nil {
		return n, fmt.Errorf("store: prune snapshots: %w", err)
	}
	return n, nil
}

// downsampleCursor holds the cutoff (unix microseconds) up to which
// snapshot history is downsampled, so each run reads only the hours that
// left the full-resolution window since the last.
const downsampleCursor = "store.snapshots.downsampled_until"

// downsampleBucket is the resolution of history beyond the full-resolution
// window: one row per object per hour, in microseconds.
const downsampleBucket = int64(time.Hour / time.Microsecond)

// downsample keeps, of the snapshot rows observed before cutoff, the last
// row of each object in each UTC hour (the state at the end of the hour:
// cumulative counters, the row count then, the hour's last status).
// Baselines read history older than the full-resolution window by the
// hour (data_extension.row_drop: the last row count in the same hour of
// earlier weeks), which the kept rows answer as before. An object's
// latest row is never removed (nothing follows it).
func (s *sqlStore) downsample(ctx context.Context, now time.Time, cutoff int64) (int64, error) {
	var from int64
	p, ok, err := s.timeCursor(ctx, downsampleCursor)
	if err != nil {
		return 0, err
	}
	if ok {
		// The hour the last cutoff fell in was downsampled only up to it.
		from = p - p%downsampleBucket
	}
	if from >= cutoff {
		return 0, nil
	}
	n, err := s.deleteChunks(ctx, `DELETE FROM snapshots WHERE id IN (
			SELECT s.id`+snapshotsByObject+` AND s.observed_at >= ? AND s.observed_at < ? AND EXISTS (
				SELECT 1 FROM snapshots n WHERE n.object_id = s.object_id
				AND n.observed_at < (s.observed_at / 3600000000 + 1) * 3600000000
				AND (n.observed_at > s.observed_at OR (n.observed_at = s.observed_at AND n.id > s.id)))
			LIMIT ?)`, from, cutoff)
	if err != nil {
		return n, err
	}
	return n, s.SetCursor(ctx, downsampleCursor, strconv.FormatInt(cutoff, 10), now)
}

// sizeStep is how much older history size retention removes at a time.
const sizeStep = 24 * time.Hour

// defaultSizeMinAge is what size retention keeps when Retention.MinAge is
// zero: the full-resolution window the rules read.
const defaultSizeMinAge = 48 * time.Hour

// pruneBySize removes the oldest events and snapshot history a day at a
// time while the database's used size is over r.MaxBytes, never anything
// younger than r.MinAge. Each step keeps the snapshot rows history needs
// (pruneSnapshots). On PostgreSQL the used size comes from the statistics
// collector, which lags the deletes: one step per run there (retention
// runs hourly), so a lag never removes more than a day too much.
func (s *sqlStore) pruneBySize(ctx context.Context, now time.Time, r Retention) (int64, error) {
	minAge := r.MinAge
	if minAge <= 0 {
		minAge = defaultSizeMinAge
	}
	floor := us(now.Add(-minAge))
	var oldest sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT MIN(t) FROM (
			SELECT MIN(ts) AS t FROM events UNION ALL SELECT (SELECT MIN(s.observed_at) FROM snapshots s WHERE s.object_id = o.id) AS t FROM snapshot_objects o) m`).Scan(&oldest); err != nil {
		return 0, err
	}
	if !oldest.Valid {
		return 0, nil
	}
	var total int64
	step := int64(sizeStep / time.Microsecond)
	for cutoff := oldest.Int64 + step; ; cutoff += step {
		used, err := s.usedBytes(ctx)
		if err != nil {
			return total, err
		}
		if used <= r.MaxBytes || (s.pg && total > 0) {
			return total, nil
		}
		if cutoff > floor {
			cutoff = floor
		}
		ne, err := s.pruneEvents(ctx, cutoff)
		total += ne
		if err != nil {
			return total, err
		}
		ns, err := s.pruneSnapshots(ctx, cutoff)
		total += ns
		if err != nil {
			return total, err
		}
		if cutoff == floor {
			if used > r.MaxBytes {
				s.log.Warn("database over its size bound with nothing older than the minimum age left to remove",
					"used_bytes", used, "max_bytes", r.MaxBytes, "min_age", minAge)
			}
			return total, nil
		}
	}
}

// usedBytes is the room the rows take: SQLite's pages less its free list;
// on PostgreSQL each table's size (indexes and TOAST included) scaled by
// its share of live tuples (dead ones are reused after VACUUM, the file
// does not shrink).
func (s *sqlStore) usedBytes(ctx context.Context) (int64, error) {
	var n int64
	if s.pg {
		// A table the statistics have not counted yet counts whole.
		err := s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN n_live_tup + n_dead_tup = 0
			THEN pg_total_relation_size(relid)
			ELSE pg_total_relation_size(relid) * n_live_tup / (n_live_tup + n_dead_tup) END), 0)::BIGINT
			FROM pg_stat_user_tables WHERE schemaname = current_schema()`).Scan(&n)
		return n, err
	}
	err := s.r.QueryRowContext(ctx, `SELECT (p.page_count - f.freelist_count) * z.page_size
		FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() z`).Scan(&n)
	return n, err
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
		n, err := s.execCount(ctx, query, append(args[:len(args):len(args)], int64(pruneChunk))...)
		total += n
		if err != nil {
			return total, err
		}
		if n < int64(pruneChunk) {
			return total, nil
		}
	}
}

// execCount runs query (already rebound) on the writer and returns the
// rows it affected.
func (s *sqlStore) execCount(ctx context.Context, query string, args ...any) (int64, error) {
	r, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// timeCursor reads a cursor holding unix microseconds; ok is false when
// it is missing or unreadable (retention then starts over).
func (s *sqlStore) timeCursor(ctx context.Context, name string) (at int64, ok bool, err error) {
	v, err := s.GetCursor(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	p, perr := strconv.ParseInt(v, 10, 64)
	return p, perr == nil, nil
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
