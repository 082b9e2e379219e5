package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
// poll that re-measured something is a change and is stored. The one
// exception are the ReadMarks keys: a poll whose snapshot differs from
// the latest row only in those rewrites that row in place (its payload
// then carries the newest marks, its seen_until moves) instead of adding
// one.

// ReadMarks are top-level payload keys that say when the observer last
// read something (a definition list read every hour), not what it
// observed. Collectors read them from an object's latest snapshot only,
// so their history is not kept: a change in them alone updates the
// latest row instead of adding one (on the default business unit about
// half of all rows were data extensions, triggered sends, imports and
// transactional definitions differing from the row before only in
// definitions_read_at). History of a row reports its last marks.
var ReadMarks = []string{"definitions_read_at"}

// snapshotCols are read from snapshotsJoined (a row names its object by
// snapshot_objects.id, migration 00012).
const snapshotCols = "s.id, o.tenant, o.resource_type, o.resource_key, s.observed_at, s.status, s.last_run_at, s.row_count, s.schema_hash, s.counters, s.payload, s.seen_until, s.base_id, s.packed"

// snapshotsJoined is the FROM clause of snapshotCols.
const snapshotsJoined = " FROM snapshots s JOIN snapshot_objects o ON o.id = s.object_id"

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
// moves), any other a new row's, its counters and payload packed against
// the object's current base (pack.go).
func (s *sqlStore) insertSnapshotsTx(ctx context.Context, tx *sql.Tx, snaps []Snapshot) ([]int64, error) {
	ids := make([]int64, 0, len(snaps))
	prev, err := tx.PrepareContext(ctx, s.q(`SELECT `+snapshotCols+`, l.observed_at FROM latest_snapshots l
		JOIN snapshots s ON s.id = l.snapshot_id JOIN snapshot_objects o ON o.id = s.object_id
		WHERE l.tenant = ? AND l.resource_type = ? AND l.resource_key = ?`))
	if err != nil {
		return nil, fmt.Errorf("prepare latest row: %w", err)
	}
	defer prev.Close()
	same, err := tx.PrepareContext(ctx, s.q(`UPDATE snapshots SET seen_until = ? WHERE id = ?`))
	if err != nil {
		return nil, fmt.Errorf("prepare same: %w", err)
	}
	defer same.Close()
	remark, err := tx.PrepareContext(ctx, s.q(`UPDATE snapshots SET seen_until = ?, base_id = ?, packed = ?, counters = NULL, payload = NULL WHERE id = ?`))
	if err != nil {
		return nil, fmt.Errorf("prepare marks: %w", err)
	}
	defer remark.Close()
	st, err := tx.PrepareContext(ctx, s.q(`INSERT INTO snapshots
		(object_id, observed_at, status, last_run_at, row_count, schema_hash, base_id, packed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`))
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	defer st.Close()
	newBase, err := tx.PrepareContext(ctx, s.q(`INSERT INTO snapshot_bases (body) VALUES (?) RETURNING id`))
	if err != nil {
		return nil, fmt.Errorf("prepare base: %w", err)
	}
	defer newBase.Close()
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
		if len(sn.Payload) > 0 && !json.Valid(sn.Payload) {
			return nil, fmt.Errorf("snapshot %d: payload is not valid JSON", i)
		}
		state, err := packState(sn.Counters, sn.Payload)
		if err != nil {
			return nil, fmt.Errorf("snapshot %d: %w", i, err)
		}
		var rowCount any
		if sn.RowCount != nil {
			rowCount = *sn.RowCount
		}
		at := us(sn.ObservedAt)
		// The object's latest row: identical and older, it is extended;
		// otherwise its base is the new row's candidate base.
		var (
			id, baseID, lastSeen int64
			baseBody             []byte
			// remarked: the latest row differs only in its ReadMarks.
			remarked bool
		)
		old, _, err := scanSnapshotRaw(prev.QueryRowContext(ctx, sn.Tenant, sn.ResourceType, sn.ResourceKey), &lastSeen)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("snapshot %d: latest row: %w", i, err)
		default:
			oldState, err := s.rawState(ctx, tx, old)
			if err != nil {
				return nil, fmt.Errorf("snapshot %d: latest row: %w", i, err)
			}
			// Compared as stored, in microseconds: a LastRunAt with
			// nanoseconds (a poll's clock) reads back truncated and would
			// otherwise make every poll of an unchanged object a new row.
			sameCols := lastSeen < at && old.Status == sn.Status && us(old.LastRunAt) == us(sn.LastRunAt) &&
				equalRowCount(old.RowCount, sn.RowCount) && old.SchemaHash == sn.SchemaHash
			switch {
			case sameCols && bytes.Equal(oldState, state):
				if _, err := same.ExecContext(ctx, at, old.ID); err != nil {
					return nil, fmt.Errorf("snapshot %d: extend latest: %w", i, err)
				}
				id = old.ID
			default:
				remarked = sameCols && equalExceptMarks(oldState, state)
				if old.baseID != 0 {
					baseID = old.baseID
					if baseBody, err = s.base(ctx, tx, baseID); err != nil {
						return nil, fmt.Errorf("snapshot %d: %w", i, err)
					}
				}
			}
		}
		if id == 0 {
			var packed, base any
			if state != nil {
				var delta []byte
				if baseBody != nil {
					delta = deflate(state, baseBody)
				}
				// JSON deflates to about a quarter: the state's length
				// stands in for its standalone deflate (one deflate less
				// a row), which is computed when a base starts.
				if baseBody == nil || len(delta)*rebaseRatio*4 > len(state) {
					if alone := deflate(state, nil); baseBody == nil || len(delta)*rebaseRatio > len(alone) {
						if err := newBase.QueryRowContext(ctx, alone).Scan(&baseID); err != nil {
							return nil, fmt.Errorf("snapshot %d: base: %w", i, err)
						}
						s.bases.put(baseID, state)
						delta = packedIsBase
					}
				}
				packed, base = delta, baseID
			}
			if remarked {
				// The latest row takes the new marks (a state with marks
				// is never empty: packed and base are set).
				if _, err := remark.ExecContext(ctx, at, base, packed, old.ID); err != nil {
					return nil, fmt.Errorf("snapshot %d: update marks of latest: %w", i, err)
				}
				id = old.ID
			}
			if id == 0 {
				obj, err := s.objectID(ctx, tx, sn.ResourceRef)
				if err != nil {
					return nil, fmt.Errorf("snapshot %d: %w", i, err)
				}
				if err := st.QueryRowContext(ctx, obj,
					at, sn.Status, nullUS(sn.LastRunAt), rowCount, sn.SchemaHash, base, packed).Scan(&id); err != nil {
					return nil, fmt.Errorf("snapshot %d: %w", i, err)
				}
			}
		}
		if _, err := latest.ExecContext(ctx, sn.Tenant, sn.ResourceType, sn.ResourceKey, id, at); err != nil {
			return nil, fmt.Errorf("snapshot %d: latest: %w", i, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func equalRowCount(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// rawSnapshot is a scanned row before its packed state is unpacked.
type rawSnapshot struct {
	Snapshot
	seen   time.Time
	baseID int64
	packed []byte
	// counters and payload of a row stored before packing (packed NULL).
	counters, payload []byte
}

// scanSnapshotRaw scans snapshotCols (and extra destinations after them).
func scanSnapshotRaw(sc scanner, extra ...any) (r rawSnapshot, ok bool, err error) {
	var (
		observed                             int64
		lastRun, rowCount, seenUntil, baseID sql.NullInt64
	)
	dest := []any{&r.ID, &r.Tenant, &r.ResourceType, &r.ResourceKey, &observed, &r.Status,
		&lastRun, &rowCount, &r.SchemaHash, &r.counters, &r.payload, &seenUntil, &baseID, &r.packed}
	if err := sc.Scan(append(dest, extra...)...); err != nil {
		return r, false, err
	}
	r.ObservedAt = fromUS(observed)
	r.seen = r.ObservedAt
	if seenUntil.Valid && seenUntil.Int64 > observed {
		r.seen = fromUS(seenUntil.Int64)
	}
	r.LastRunAt = fromNullUS(lastRun)
	if rowCount.Valid {
		v := rowCount.Int64
		r.RowCount = &v
	}
	r.baseID = baseID.Int64
	return r, true, nil
}

// objectID returns ref's snapshot_objects.id inside tx, adding the object
// when new. Ids read as committed are cached (objects are never deleted,
// ids never reused); one added in tx is not until a later read sees it,
// so a rolled-back transaction leaves no id in the cache.
func (s *sqlStore) objectID(ctx context.Context, tx *sql.Tx, ref ResourceRef) (int64, error) {
	if id, ok := s.objects.Load(ref); ok {
		return id.(int64), nil
	}
	var id int64
	err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM snapshot_objects WHERE tenant = ? AND resource_type = ? AND resource_key = ?`),
		ref.Tenant, ref.ResourceType, ref.ResourceKey).Scan(&id)
	if err == nil {
		s.objects.Store(ref, id)
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("snapshot object: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO snapshot_objects (tenant, resource_type, resource_key) VALUES (?, ?, ?)
		ON CONFLICT (tenant, resource_type, resource_key) DO NOTHING`), ref.Tenant, ref.ResourceType, ref.ResourceKey); err != nil {
		return 0, fmt.Errorf("add snapshot object: %w", err)
	}
	if err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM snapshot_objects WHERE tenant = ? AND resource_type = ? AND resource_key = ?`),
		ref.Tenant, ref.ResourceType, ref.ResourceKey).Scan(&id); err != nil {
		return 0, fmt.Errorf("snapshot object: %w", err)
	}
	return id, nil
}

// queryRower is a *sql.DB or *sql.Tx.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// base returns base id inflated (from the cache when there).
func (s *sqlStore) base(ctx context.Context, q queryRower, id int64) ([]byte, error) {
	if b, ok := s.bases.get(id); ok {
		return b, nil
	}
	var body []byte
	if err := q.QueryRowContext(ctx, s.q(`SELECT body FROM snapshot_bases WHERE id = ?`), id).Scan(&body); err != nil {
		return nil, fmt.Errorf("snapshot base %d: %w", id, err)
	}
	b, err := inflate(body, nil)
	if err != nil {
		return nil, fmt.Errorf("snapshot base %d: %w", id, err)
	}
	s.bases.put(id, b)
	return b, nil
}

// rawState is the row's counters and payload as packState joins them.
func (s *sqlStore) rawState(ctx context.Context, q queryRower, r rawSnapshot) ([]byte, error) {
	if r.packed != nil {
		if r.baseID == 0 {
			return nil, fmt.Errorf("snapshot %d: packed without a base", r.ID)
		}
		dict, err := s.base(ctx, q, r.baseID)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(r.packed, packedIsBase) {
			return dict, nil
		}
		return inflate(r.packed, dict)
	}
	// A row from before packing: its text as stored (PostgreSQL's JSONB
	// normalises it, so an identical poll may add one row after the
	// migration).
	var counters map[string]int64
	if len(r.counters) > 0 {
		if err := json.Unmarshal(r.counters, &counters); err != nil {
			return nil, fmt.Errorf("counters of snapshot %d: %w", r.ID, err)
		}
	}
	return packState(counters, r.payload)
}

// finish unpacks a scanned row's counters and payload.
func (s *sqlStore) finish(ctx context.Context, r rawSnapshot) (storedSnapshot, error) {
	if r.packed == nil {
		if len(r.counters) > 0 {
			if err := json.Unmarshal(r.counters, &r.Counters); err != nil {
				return storedSnapshot{}, fmt.Errorf("counters of snapshot %d: %w", r.ID, err)
			}
		}
		if len(r.payload) > 0 {
			r.Payload = json.RawMessage(r.payload)
		}
		return storedSnapshot{r.Snapshot, r.seen}, nil
	}
	state, err := s.rawState(ctx, s.r, r)
	if err != nil {
		return storedSnapshot{}, err
	}
	if r.Counters, r.Payload, err = unpackState(state); err != nil {
		return storedSnapshot{}, fmt.Errorf("snapshot %d: %w", r.ID, err)
	}
	return storedSnapshot{r.Snapshot, r.seen}, nil
}

// LatestSnapshot returns the object's latest state as observed at its
// latest poll (ObservedAt is the row's seen_until when identical polls
// extended it).
func (s *sqlStore) LatestSnapshot(ctx context.Context, ref ResourceRef) (Snapshot, error) {
	row := s.r.QueryRowContext(ctx, s.q(`SELECT `+snapshotCols+snapshotsJoined+`
		WHERE o.tenant = ? AND o.resource_type = ? AND o.resource_key = ?
		ORDER BY s.observed_at DESC, s.id DESC LIMIT 1`), ref.Tenant, ref.ResourceType, ref.ResourceKey)
	raw, _, err := scanSnapshotRaw(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Snapshot{}, fmt.Errorf("store: latest snapshot %s/%s/%s: %w", ref.Tenant, ref.ResourceType, ref.ResourceKey, ErrNotFound)
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("store: latest snapshot: %w", err)
	}
	st, err := s.finish(ctx, raw)
	if err != nil {
		return Snapshot{}, fmt.Errorf("store: latest snapshot: %w", err)
	}
	sn := st.Snapshot
	sn.ObservedAt = st.seen
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
	var raws []rawSnapshot
	for rows.Next() {
		r, _, err := scanSnapshotRaw(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		raws = append(raws, r)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, err
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	// Unpacked after the rows are closed: a base may need a query.
	out := make([]storedSnapshot, 0, len(raws))
	for _, r := range raws {
		st, err := s.finish(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (s *sqlStore) LatestSnapshots(ctx context.Context, tenant, resourceType string) ([]Snapshot, error) {
	rows, err := s.querySnapshots(ctx, `SELECT `+snapshotCols+` FROM latest_snapshots l
		JOIN snapshots s ON s.id = l.snapshot_id JOIN snapshot_objects o ON o.id = s.object_id
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
		anchor, err := s.querySnapshots(ctx, `SELECT `+snapshotCols+snapshotsJoined+`
			WHERE o.tenant = ? AND o.resource_type = ? AND o.resource_key = ? AND s.observed_at < ?
			ORDER BY s.observed_at DESC, s.id DESC LIMIT 1`, ref.Tenant, ref.ResourceType, ref.ResourceKey, us(from))
		if err != nil {
			return nil, fmt.Errorf("store: snapshot history anchor: %w", err)
		}
		if len(anchor) == 1 && !anchor[0].seen.Before(from) {
			rows = anchor
		}
	}
	var w where
	w.add("o.tenant = ?", ref.Tenant)
	w.add("o.resource_type = ?", ref.ResourceType)
	w.add("o.resource_key = ?", ref.ResourceKey)
	if !from.IsZero() {
		w.add("s.observed_at >= ?", us(from))
	}
	if !to.IsZero() {
		w.add("s.observed_at < ?", us(to))
	}
	in, err := s.querySnapshots(ctx, `SELECT `+snapshotCols+snapshotsJoined+w.String()+
		fmt.Sprintf(" ORDER BY s.observed_at, s.id LIMIT %d", n), w.args...)
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
