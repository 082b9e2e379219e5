package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Snapshots are stored on change. A snapshot identical to its object's
// latest stored one in everything the rules read (status, last_run_at,
// row_count, schema_hash, counters, payload) adds no row: the latest row's
// seen_until (and latest_snapshots.observed_at) move to its ObservedAt
// instead. A stored row therefore stands for every poll from observed_at
// to seen_until (NULL: observed_at only). Readers report it accordingly:
// the latest snapshot as observed at its last poll, history as the row's
// first and last observation in the range asked for (see SnapshotHistory).
//
// Payloads are compared whole, their read-at timestamps included (a DE's
// row_count_at, a definition's queue_read_at): rules read those, so a
// poll that re-measured something is a change and is stored.

const snapshotCols = "id, tenant, resource_type, resource_key, observed_at, status, last_run_at, row_count, schema_hash, counters, payload, seen_until"

// qualifiedSnapshotCols is snapshotCols for a query that joins snapshots as s.
var qualifiedSnapshotCols = "s." + strings.ReplaceAll(snapshotCols, ", ", ", s.")

func (s *sqlStore) InsertSnapshots(ctx context.Context, snaps []Snapshot) ([]int64, error) {
	if len(snaps) == 0 {
		return nil, nil
	}
	var ids []int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = s.insertSnapshotsTx(ctx, tx, snaps)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: insert snapshots: %w", err)
	}
	for i := range snaps {
		snaps[i].ID = ids[i]
	}
	return ids, nil
}

// insertSnapshotsTx stores snaps inside tx (and moves latest_snapshots)
// and returns their ids in input order: a snapshot identical to its
// object's latest stored one gets that row's id (the row's seen_until
// moves), any other a new row's.
func (s *sqlStore) insertSnapshotsTx(ctx context.Context, tx *sql.Tx, snaps []Snapshot) ([]int64, error) {
	ids := make([]int64, 0, len(snaps))
	// same extends the latest row when the snapshot is newer than its last
	// observation and equal in every stored field (JSONB compares by value
	// on PostgreSQL; SQLite keeps the text, which resource.Encode and
	// json.Marshal of the counters map produce deterministically).
	same, err := tx.PrepareContext(ctx, s.q(`UPDATE snapshots SET seen_until = ?
		WHERE id = (SELECT snapshot_id FROM latest_snapshots
			WHERE tenant = ? AND resource_type = ? AND resource_key = ? AND observed_at < ?)
		AND status = ? AND last_run_at IS NOT DISTINCT FROM ? AND row_count IS NOT DISTINCT FROM ?
		AND schema_hash = ? AND counters IS NOT DISTINCT FROM ? AND payload IS NOT DISTINCT FROM ?
		RETURNING id`))
	if err != nil {
		return nil, fmt.Errorf("prepare same: %w", err)
	}
	defer same.Close()
	st, err := tx.PrepareContext(ctx, s.q(`INSERT INTO snapshots
		(tenant, resource_type, resource_key, observed_at, status, last_run_at, row_count, schema_hash, counters, payload)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`))
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	defer st.Close()
	latest, err := tx.PrepareContext(ctx, s.q(`INSERT INTO latest_snapshots
		(tenant, resource_type, resource_key, snapshot_id, observed_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (tenant, resource_type, resource_key) DO UPDATE
		SET snapshot_id = excluded.snapshot_id, observed_at = excluded.observed_at
		WHERE excluded.observed_at > latest_snapshots.observed_at
		   OR (excluded.observed_at = latest_snapshots.observed_at AND excluded.snapshot_id > latest_snapshots.snapshot_id)`))
	if err != nil {
		return nil, fmt.Errorf("prepare latest: %w", err)
	}
	defer latest.Close()
	for i := range snaps {
		sn := &snaps[i]
		if sn.ObservedAt.IsZero() || sn.ResourceType == "" || sn.ResourceKey == "" {
			return nil, fmt.Errorf("snapshot %d: observed_at, resource_type and resource_key are required", i)
		}
		var rowCount, counters, payload any
		if sn.RowCount != nil {
			rowCount = *sn.RowCount
		}
		if len(sn.Counters) > 0 {
			b, err := json.Marshal(sn.Counters)
			if err != nil {
				return nil, fmt.Errorf("snapshot %d counters: %w", i, err)
			}
			counters = string(b)
		}
		if len(sn.Payload) > 0 {
			if !json.Valid(sn.Payload) {
				return nil, fmt.Errorf("snapshot %d: payload is not valid JSON", i)
			}
			payload = string(sn.Payload)
		}
		at := us(sn.ObservedAt)
		var id int64
		err := same.QueryRowContext(ctx, at, sn.Tenant, sn.ResourceType, sn.ResourceKey, at,
			sn.Status, nullUS(sn.LastRunAt), rowCount, sn.SchemaHash, counters, payload).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := st.QueryRowContext(ctx, sn.Tenant, sn.ResourceType, sn.ResourceKey,
				at, sn.Status, nullUS(sn.LastRunAt), rowCount, sn.SchemaHash,
				counters, payload).Scan(&id); err != nil {
				return nil, fmt.Errorf("snapshot %d: %w", i, err)
			}
		case err != nil:
			return nil, fmt.Errorf("snapshot %d: compare with latest: %w", i, err)
		}
		if _, err := latest.ExecContext(ctx, sn.Tenant, sn.ResourceType, sn.ResourceKey, id, at); err != nil {
			return nil, fmt.Errorf("snapshot %d: latest: %w", i, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// scanSnapshot scans snapshotCols; seen is when the row was last observed
// (its observed_at when seen_until is NULL).
func scanSnapshot(sc scanner) (sn Snapshot, seen time.Time, err error) {
	var (
		observed                     int64
		lastRun, rowCount, seenUntil sql.NullInt64
		counters, payload            []byte
	)
	if err := sc.Scan(&sn.ID, &sn.Tenant, &sn.ResourceType, &sn.ResourceKey, &observed, &sn.Status,
		&lastRun, &rowCount, &sn.SchemaHash, &counters, &payload, &seenUntil); err != nil {
		return sn, seen, err
	}
	sn.ObservedAt = fromUS(observed)
	seen = sn.ObservedAt
	if seenUntil.Valid && seenUntil.Int64 > observed {
		seen = fromUS(seenUntil.Int64)
	}
	sn.LastRunAt = fromNullUS(lastRun)
	if rowCount.Valid {
		v := rowCount.Int64
		sn.RowCount = &v
	}
	if len(counters) > 0 {
		if err := json.Unmarshal(counters, &sn.Counters); err != nil {
			return sn, seen, fmt.Errorf("counters of snapshot %d: %w", sn.ID, err)
		}
	}
	if len(payload) > 0 {
		sn.Payload = json.RawMessage(payload)
	}
	return sn, seen, nil
}

// LatestSnapshot returns the object's latest state as observed at its
// latest poll (ObservedAt is the row's seen_until when identical polls
// extended it).
func (s *sqlStore) LatestSnapshot(ctx context.Context, ref ResourceRef) (Snapshot, error) {
	row := s.r.QueryRowContext(ctx, s.q(`SELECT `+snapshotCols+` FROM snapshots
		WHERE tenant = ? AND resource_type = ? AND resource_key = ?
		ORDER BY observed_at DESC, id DESC LIMIT 1`), ref.Tenant, ref.ResourceType, ref.ResourceKey)
	sn, seen, err := scanSnapshot(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Snapshot{}, fmt.Errorf("store: latest snapshot %s/%s/%s: %w", ref.Tenant, ref.ResourceType, ref.ResourceKey, ErrNotFound)
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("store: latest snapshot: %w", err)
	}
	sn.ObservedAt = seen
	return sn, nil
}

// storedSnapshot is a row with the time it was last observed.
type storedSnapshot struct {
	Snapshot
	seen time.Time
}

func (s *sqlStore) querySnapshots(ctx context.Context, query string, args ...any) ([]storedSnapshot, error) {
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedSnapshot
	for rows.Next() {
		sn, seen, err := scanSnapshot(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, storedSnapshot{sn, seen})
	}
	return out, rows.Err()
}

func (s *sqlStore) LatestSnapshots(ctx context.Context, tenant, resourceType string) ([]Snapshot, error) {
	rows, err := s.querySnapshots(ctx, `SELECT `+qualifiedSnapshotCols+` FROM latest_snapshots l
		JOIN snapshots s ON s.id = l.snapshot_id
		WHERE l.tenant = ? AND l.resource_type = ? ORDER BY l.resource_key`, tenant, resourceType)
	if err != nil {
		return nil, fmt.Errorf("store: latest snapshots %s/%s: %w", tenant, resourceType, err)
	}
	out := make([]Snapshot, len(rows))
	for i, r := range rows {
		out[i] = r.Snapshot
		out[i].ObservedAt = r.seen
	}
	return out, nil
}

// SnapshotHistory returns what the polls in [from, to) observed, from the
// rows stored on change. A row stands for its polls from observed_at to
// seen_until; one whose polls overlap the range is returned at its first
// observation in the range and, when it was seen again later in the
// range, once more (same ID) at its last observation. A row that started
// before from and was still observed at from is the anchor, the state at
// from: it is reported as observed at from. The polls between a row's
// first and last observation are not returned one by one.
func (s *sqlStore) SnapshotHistory(ctx context.Context, ref ResourceRef, from, to time.Time, limit int) ([]Snapshot, error) {
	n := clampLimit(limit, 1000, 10000)
	var rows []storedSnapshot
	if !from.IsZero() && (to.IsZero() || from.Before(to)) {
		anchor, err := s.querySnapshots(ctx, `SELECT `+snapshotCols+` FROM snapshots
			WHERE tenant = ? AND resource_type = ? AND resource_key = ? AND observed_at < ?
			ORDER BY observed_at DESC, id DESC LIMIT 1`, ref.Tenant, ref.ResourceType, ref.ResourceKey, us(from))
		if err != nil {
			return nil, fmt.Errorf("store: snapshot history anchor: %w", err)
		}
		if len(anchor) == 1 && !anchor[0].seen.Before(from) {
			rows = anchor
		}
	}
	var w where
	w.add("tenant = ?", ref.Tenant)
	w.add("resource_type = ?", ref.ResourceType)
	w.add("resource_key = ?", ref.ResourceKey)
	if !from.IsZero() {
		w.add("observed_at >= ?", us(from))
	}
	if !to.IsZero() {
		w.add("observed_at < ?", us(to))
	}
	in, err := s.querySnapshots(ctx, `SELECT `+snapshotCols+` FROM snapshots`+w.String()+
		fmt.Sprintf(" ORDER BY observed_at, id LIMIT %d", n), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: snapshot history: %w", err)
	}
	rows = append(rows, in...)
	out := make([]Snapshot, 0, len(rows))
	for _, r := range rows {
		first := r.Snapshot
		if first.ObservedAt.Before(from) {
			first.ObservedAt = from
		}
		out = append(out, first)
		if r.seen.After(first.ObservedAt) && (to.IsZero() || r.seen.Before(to)) {
			last := r.Snapshot
			last.ObservedAt = r.seen
			out = append(out, last)
		}
	}
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}
