package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// BucketWidth is the width of the running event aggregates
// (event_buckets): one row per key and second.
const BucketWidth = time.Second

const bucketUS = int64(BucketWidth / time.Microsecond)

// BucketStart returns the start of the bucket holding t.
func BucketStart(t time.Time) time.Time { return fromUS(bucketOf(t.UnixMicro())) }

// bucketOf truncates toward zero like SQL integer division (the migration
// computes buckets of existing events the same way).
func bucketOf(tsUS int64) int64 { return (tsUS / bucketUS) * bucketUS }

// Failed reports whether an event counts as a failed call in the running
// aggregates and the api.errors rules: flagged as an error with an error
// family (auth, client, rate_limit, server, timeout; catalog.Family.IsError).
func Failed(isError bool, family string) bool {
	if !isError {
		return false
	}
	switch family {
	case "auth", "client", "rate_limit", "server", "timeout":
		return true
	}
	return false
}

// BucketReader reads the running event aggregates and the few columns of
// single events the incremental api.errors rules need.
type BucketReader interface {
	// EventBuckets lists aggregate rows matching q, ordered by source,
	// integration, endpoint, bucket, failed, family, surface, code.
	EventBuckets(ctx context.Context, q BucketQuery) ([]BucketRow, error)
	// EventMarks lists events matching q, oldest first in (ts, id) order,
	// with only the columns a rule folds over.
	EventMarks(ctx context.Context, q MarkQuery) ([]EventMark, error)
}

// BucketQuery filters aggregate rows. Empty strings and nil pointers do
// not filter (a pointer to "" keeps the rows of the empty name).
type BucketQuery struct {
	Tenant      string
	Source      string
	Integration *string
	Endpoint    *string
	// Sources, when set, keep these sources only.
	Sources []string
	// Groups, when set, keep the rows of these (integration, endpoint)
	// pairs; Integrations of these integrations.
	Groups       [][2]string
	Integrations []string
	// FailedOnly keeps the rows of failed calls.
	FailedOnly bool
	// From and To bound the bucket starts: [From, To); zero is open.
	From, To time.Time
}

// BucketRow is one aggregate row: the events of one key in one bucket.
type BucketRow struct {
	Source, Integration, Endpoint string
	// Failed rows are per family, surface and code; rows of successful
	// calls (Failed false) have them empty.
	Failed                bool
	Family, Surface, Code string
	Bucket                time.Time
	N                     int64
	// First and Last are the bucket's first and last event in (ts, id)
	// order.
	First, Last EventKey
}

// MarkQuery filters events for EventMarks. Empty strings and nil pointers
// do not filter; with IDs set only those events are returned (other
// filters still apply).
type MarkQuery struct {
	Tenant, Source        string
	Integration, Endpoint *string
	From, To              time.Time // [From, To)
	// After keeps events after this key in (ts, id) order.
	After EventKey
	IDs   []int64
	Limit int // 0: no limit
}

// EventMark is the part of an event the api.errors rules fold over.
type EventMark struct {
	ID                    int64
	TS                    time.Time
	Source, Integration   string
	Endpoint, Method      string
	Status                int
	Family, Surface, Code string
	IsError               bool
}

// Failed reports whether the event is a failed call (see Failed).
func (m EventMark) Failed() bool { return Failed(m.IsError, m.Family) }

// Key returns the event's position in (ts, id) order.
func (m EventMark) Key() EventKey { return EventKey{TS: m.TS, ID: m.ID} }

// Less orders event keys by (ts, id).
func (k EventKey) Less(o EventKey) bool {
	if !k.TS.Equal(o.TS) {
		return k.TS.Before(o.TS)
	}
	return k.ID < o.ID
}

type bucketKey struct {
	tenant, source, integration, endpoint string
	failed                                int64
	family, surface, code                 string
	bucket                                int64
}

type bucketVal struct {
	n                          int64
	minTS, minID, maxTS, maxID int64
}

// bucketAgg accumulates inserted events into aggregate rows.
type bucketAgg map[bucketKey]*bucketVal

func (a bucketAgg) add(tenant, source, integration, endpoint string, isError bool, family, surface, code string, ts, id int64) {
	k := bucketKey{tenant: tenant, source: source, integration: integration, endpoint: endpoint, bucket: bucketOf(ts)}
	if Failed(isError, family) {
		k.failed, k.family, k.surface, k.code = 1, family, surface, code
	}
	v := a[k]
	if v == nil {
		a[k] = &bucketVal{n: 1, minTS: ts, minID: id, maxTS: ts, maxID: id}
		return
	}
	v.n++
	if ts < v.minTS || (ts == v.minTS && id < v.minID) {
		v.minTS, v.minID = ts, id
	}
	if ts > v.maxTS || (ts == v.maxTS && id > v.maxID) {
		v.maxTS, v.maxID = ts, id
	}
}

const bucketCols = "tenant, source, integration, endpoint, failed, family, surface, code, bucket, n, min_ts, min_id, max_ts, max_id"

const numBucketCols = 14

// bucketsPerStmt bounds the rows of one upsert (14 parameters each).
const bucketsPerStmt = 500

const bucketConflict = ` ON CONFLICT (tenant, source, integration, endpoint, failed, family, surface, code, bucket) DO UPDATE SET
	n = event_buckets.n + excluded.n,
	min_id = CASE WHEN excluded.min_ts < event_buckets.min_ts OR (excluded.min_ts = event_buckets.min_ts AND excluded.min_id < event_buckets.min_id)
		THEN excluded.min_id ELSE event_buckets.min_id END,
	min_ts = CASE WHEN excluded.min_ts < event_buckets.min_ts THEN excluded.min_ts ELSE event_buckets.min_ts END,
	max_id = CASE WHEN excluded.max_ts > event_buckets.max_ts OR (excluded.max_ts = event_buckets.max_ts AND excluded.max_id > event_buckets.max_id)
		THEN excluded.max_id ELSE event_buckets.max_id END,
	max_ts = CASE WHEN excluded.max_ts > event_buckets.max_ts THEN excluded.max_ts ELSE event_buckets.max_ts END`

// upsertBucketsTx adds the aggregated rows to event_buckets inside tx. The
// rows go in key order, so concurrent writers (PostgreSQL replicas) lock
// shared rows in the same order and cannot deadlock on them.
func (s *sqlStore) upsertBucketsTx(ctx context.Context, tx *sql.Tx, a bucketAgg) error {
	if len(a) == 0 {
		return nil
	}
	keys := make([]bucketKey, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y bucketKey) int {
		return cmp.Or(strings.Compare(x.tenant, y.tenant), strings.Compare(x.source, y.source),
			strings.Compare(x.integration, y.integration), strings.Compare(x.endpoint, y.endpoint),
			cmp.Compare(x.failed, y.failed), strings.Compare(x.family, y.family), strings.Compare(x.surface, y.surface),
			strings.Compare(x.code, y.code), cmp.Compare(x.bucket, y.bucket))
	})
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", numBucketCols), ",") + ")"
	args := make([]any, 0, min(len(keys), bucketsPerStmt)*numBucketCols)
	for start := 0; start < len(keys); start += bucketsPerStmt {
		chunk := keys[start:min(start+bucketsPerStmt, len(keys))]
		args = args[:0]
		var b strings.Builder
		b.WriteString("INSERT INTO event_buckets (" + bucketCols + ") VALUES ")
		for i, k := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(row)
			v := a[k]
			args = append(args, k.tenant, k.source, k.integration, k.endpoint, k.failed, k.family, k.surface, k.code, k.bucket,
				v.n, v.minTS, v.minID, v.maxTS, v.maxID)
		}
		b.WriteString(bucketConflict)
		if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
			return fmt.Errorf("upsert event buckets: %w", err)
		}
	}
	return nil
}

// aggregateInsertedSQLite aggregates the rows a chunk insert stored. SQLite
// gives rows without an explicit id the largest id so far plus one, in
// statement order, so when every row of the chunk was stored (and the
// largest id moved by exactly that much) their ids are prevID+1…; when some
// were skipped as duplicates the stored rows are read back.
func (s *sqlStore) aggregateInsertedSQLite(ctx context.Context, tx *sql.Tx, a bucketAgg, chunk []EventRecord, inserted int, prevID int64) (int64, error) {
	var maxID int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM events").Scan(&maxID); err != nil {
		return prevID, fmt.Errorf("max event id: %w", err)
	}
	if inserted == len(chunk) && maxID == prevID+int64(inserted) {
		for i := range chunk {
			r := &chunk[i]
			a.add(r.Tenant, r.Source, r.Integration, r.Endpoint, r.IsError, r.Family, r.Surface, r.Code, r.TS.UnixMicro(), prevID+1+int64(i))
		}
		return maxID, nil
	}
	if inserted == 0 {
		return maxID, nil
	}
	rows, err := tx.QueryContext(ctx, "SELECT id, ts, tenant, source, integration, endpoint, is_error, family, surface, code FROM events WHERE id > ?", prevID)
	if err != nil {
		return prevID, fmt.Errorf("read back events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, ts                                                 int64
			tenant, source, integ, endpoint, family, surface, code string
			isErr                                                  any
		)
		if err := rows.Scan(&id, &ts, &tenant, &source, &integ, &endpoint, &isErr, &family, &surface, &code); err != nil {
			return prevID, fmt.Errorf("read back events: %w", err)
		}
		a.add(tenant, source, integ, endpoint, truthy(isErr), family, surface, code, ts, id)
	}
	if err := rows.Err(); err != nil {
		return prevID, fmt.Errorf("read back events: %w", err)
	}
	return maxID, nil
}

func (s *sqlStore) EventBuckets(ctx context.Context, q BucketQuery) ([]BucketRow, error) {
	var w where
	w.eq("tenant", q.Tenant)
	w.eq("source", q.Source)
	w.ptr("integration", q.Integration)
	w.ptr("endpoint", q.Endpoint)
	w.in("source", q.Sources)
	w.in("integration", q.Integrations)
	if len(q.Groups) > 0 {
		conds := make([]string, len(q.Groups))
		args := make([]any, 0, 2*len(q.Groups))
		for i, g := range q.Groups {
			conds[i] = "(integration = ? AND endpoint = ?)"
			args = append(args, g[0], g[1])
		}
		w.add("("+strings.Join(conds, " OR ")+")", args...)
	}
	if q.FailedOnly {
		w.add("failed = 1")
	}
	if !q.From.IsZero() {
		w.add("bucket >= ?", q.From.UnixMicro())
	}
	if !q.To.IsZero() {
		w.add("bucket < ?", q.To.UnixMicro())
	}
	from := " FROM event_buckets"
	if q.FailedOnly && !s.pg && q.Tenant != "" && q.Integration == nil && len(q.Integrations) == 0 && len(q.Groups) == 0 {
		// The failures of a tenant in a time range: the failed index, not
		// the primary key SQLite picks for a source filter (which walks
		// every row of the tenant).
		from = " FROM event_buckets INDEXED BY event_buckets_failed"
	}
	rows, err := s.r.QueryContext(ctx, s.q("SELECT source, integration, endpoint, failed, family, surface, code, bucket, n, min_ts, min_id, max_ts, max_id"+from+
		w.String()+" ORDER BY source, integration, endpoint, bucket, failed, family, surface, code"), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: event buckets: %w", err)
	}
	defer rows.Close()
	var out []BucketRow
	for rows.Next() {
		var (
			r                            BucketRow
			failed, bucket, minTS, maxTS int64
		)
		if err := rows.Scan(&r.Source, &r.Integration, &r.Endpoint, &failed, &r.Family, &r.Surface, &r.Code, &bucket, &r.N,
			&minTS, &r.First.ID, &maxTS, &r.Last.ID); err != nil {
			return nil, fmt.Errorf("store: scan event bucket: %w", err)
		}
		r.Failed = failed != 0
		r.Bucket, r.First.TS, r.Last.TS = fromUS(bucket), fromUS(minTS), fromUS(maxTS)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: event buckets: %w", err)
	}
	return out, nil
}

func (s *sqlStore) EventMarks(ctx context.Context, q MarkQuery) ([]EventMark, error) {
	var w where
	if !q.From.IsZero() {
		w.add("ts >= ?", q.From.UnixMicro())
	}
	if !q.To.IsZero() {
		w.add("ts < ?", q.To.UnixMicro())
	}
	w.eq("tenant", q.Tenant)
	w.eq("source", q.Source)
	w.ptr("integration", q.Integration)
	w.ptr("endpoint", q.Endpoint)
	if !q.After.TS.IsZero() || q.After.ID != 0 {
		t := us(q.After.TS)
		w.add("(ts > ? OR (ts = ? AND id > ?))", t, t, q.After.ID)
	}
	if len(q.IDs) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?,", len(q.IDs)), ",")
		args := make([]any, len(q.IDs))
		for i, id := range q.IDs {
			args[i] = id
		}
		w.add("id IN ("+ph+")", args...)
	}
	limit := ""
	if q.Limit > 0 {
		limit = fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	from := " FROM events"
	if !s.pg && len(q.IDs) == 0 && !q.From.IsZero() && q.Tenant != "" {
		// A time slice of one tenant: SQLite would otherwise pick the
		// (source, request_id) index for the source equality and read
		// every event of the source.
		from = " FROM events INDEXED BY events_tenant_ts"
	}
	rows, err := s.r.QueryContext(ctx, s.q("SELECT id, ts, source, integration, endpoint, method, status, family, surface, code, is_error"+from+
		w.String()+" ORDER BY ts, id"+limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: event marks: %w", err)
	}
	defer rows.Close()
	var out []EventMark
	for rows.Next() {
		var (
			m          EventMark
			ts, status int64
			isErr      any
		)
		if err := rows.Scan(&m.ID, &ts, &m.Source, &m.Integration, &m.Endpoint, &m.Method, &status, &m.Family, &m.Surface, &m.Code, &isErr); err != nil {
			return nil, fmt.Errorf("store: scan event mark: %w", err)
		}
		m.TS, m.Status, m.IsError = fromUS(ts), int(status), truthy(isErr)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: event marks: %w", err)
	}
	return out, nil
}

// ptr adds "col = ?" when v is set, even to "".
func (w *where) ptr(col string, v *string) {
	if v != nil {
		w.add(col+" = ?", *v)
	}
}

// in adds "col IN (…)" when vs is not empty.
func (w *where) in(col string, vs []string) {
	if len(vs) == 0 {
		return
	}
	args := make([]any, len(vs))
	for i, v := range vs {
		args[i] = v
	}
	w.add(col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(vs)), ",")+")", args...)
}
