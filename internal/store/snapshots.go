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

const snapshotCols = "id, tenant, resource_type, resource_key, observed_at, status, last_run_at, row_count, schema_hash, counters, payload"

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

// insertSnapshotsTx inserts snaps inside tx (and moves latest_snapshots)
// and returns their ids in input order.
func (s *sqlStore) insertSnapshotsTx(ctx context.Context, tx *sql.Tx, snaps []Snapshot) ([]int64, error) {
	ids := make([]int64, 0, len(snaps))
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
		var id int64
		if err := st.QueryRowContext(ctx, sn.Tenant, sn.ResourceType, sn.ResourceKey,
			us(sn.ObservedAt), sn.Status, nullUS(sn.LastRunAt), rowCount, sn.SchemaHash,
			counters, payload).Scan(&id); err != nil {
			return nil, fmt.Errorf("snapshot %d: %w", i, err)
		}
		if _, err := latest.ExecContext(ctx, sn.Tenant, sn.ResourceType, sn.ResourceKey, id, us(sn.ObservedAt)); err != nil {
			return nil, fmt.Errorf("snapshot %d: latest: %w", i, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func scanSnapshot(sc scanner) (Snapshot, error) {
	var (
		sn                Snapshot
		observed          int64
		lastRun, rowCount sql.NullInt64
		counters, payload []byte
	)
	if err := sc.Scan(&sn.ID, &sn.Tenant, &sn.ResourceType, &sn.ResourceKey, &observed, &sn.Status,
		&lastRun, &rowCount, &sn.SchemaHash, &counters, &payload); err != nil {
		return sn, err
	}
	sn.ObservedAt = fromUS(observed)
	sn.LastRunAt = fromNullUS(lastRun)
	if rowCount.Valid {
		v := rowCount.Int64
		sn.RowCount = &v
	}
	if len(counters) > 0 {
		if err := json.Unmarshal(counters, &sn.Counters); err != nil {
			return sn, fmt.Errorf("counters of snapshot %d: %w", sn.ID, err)
		}
	}
	if len(payload) > 0 {
		sn.Payload = json.RawMessage(payload)
	}
	return sn, nil
}

func (s *sqlStore) LatestSnapshot(ctx context.Context, ref ResourceRef) (Snapshot, error) {
	row := s.r.QueryRowContext(ctx, s.q(`SELECT `+snapshotCols+` FROM snapshots
		WHERE tenant = ? AND resource_type = ? AND resource_key = ?
		ORDER BY observed_at DESC, id DESC LIMIT 1`), ref.Tenant, ref.ResourceType, ref.ResourceKey)
	sn, err := scanSnapshot(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Snapshot{}, fmt.Errorf("store: latest snapshot %s/%s/%s: %w", ref.Tenant, ref.ResourceType, ref.ResourceKey, ErrNotFound)
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("store: latest snapshot: %w", err)
	}
	return sn, nil
}

func (s *sqlStore) querySnapshots(ctx context.Context, query string, args ...any) ([]Snapshot, error) {
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Snapshot
	for rows.Next() {
		sn, err := scanSnapshot(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sn)
	}
	return out, rows.Err()
}

func (s *sqlStore) LatestSnapshots(ctx context.Context, tenant, resourceType string) ([]Snapshot, error) {
	out, err := s.querySnapshots(ctx, `SELECT `+qualifiedSnapshotCols+` FROM latest_snapshots l
		JOIN snapshots s ON s.id = l.snapshot_id
		WHERE l.tenant = ? AND l.resource_type = ? ORDER BY l.resource_key`, tenant, resourceType)
	if err != nil {
		return nil, fmt.Errorf("store: latest snapshots %s/%s: %w", tenant, resourceType, err)
	}
	return out, nil
}

func (s *sqlStore) SnapshotHistory(ctx context.Context, ref ResourceRef, from, to time.Time, limit int) ([]Snapshot, error) {
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
	n := clampLimit(limit, 1000, 10000)
	out, err := s.querySnapshots(ctx, `SELECT `+snapshotCols+` FROM snapshots`+w.String()+
		fmt.Sprintf(" ORDER BY observed_at, id LIMIT %d", n), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: snapshot history: %w", err)
	}
	return out, nil
}
