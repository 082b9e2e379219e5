package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// eventCols are the inserted columns, in the order insertEventArgs appends.
const eventCols = "ts, tenant, integration, source, method, url, endpoint, object_key, status, duration_us, request_id, family, code, surface, is_error, severity, occurrences, body_sample"

const numEventCols = 18

// eventsPerStmt is the number of rows per multi-row INSERT on SQLite: 18
// columns × 1,000 rows = 18,000 parameters, below SQLite's 32,766 limit; a
// typical 1,000-event batch is one execution of one prepared statement.
const eventsPerStmt = 1000

// insertEventsSQL returns the SQLite multi-row insert for n rows.
// Duplicates of (source, request_id) are skipped, including duplicates
// within the same statement.
//
// It is INSERT OR IGNORE rather than ON CONFLICT DO NOTHING: with the
// default ABORT resolution for the NOT NULL constraints, a multi-row
// statement inside a transaction must be able to undo itself alone, so
// SQLite copies every page it touches to a statement journal (a temporary
// file) first — a quarter of the writer's time under sustained ingest.
// Under OR IGNORE no constraint aborts the statement, so SQLite keeps no
// statement journal. Two consequences: a row with a NULL in a NOT NULL
// column is skipped rather than refused (insertEventArgs never binds one:
// only request_id and body_sample can be NULL), and a statement that fails
// anyway (a STRICT datatype error, I/O) may leave its earlier rows in the
// transaction, so a caller must roll the whole transaction back on any
// error, as every caller of insertEventsTx does.
func (s *sqlStore) insertEventsSQL(n int) string {
	var b strings.Builder
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", numEventCols), ",") + ")"
	b.Grow(64 + n*(len(row)+1))
	b.WriteString("INSERT OR IGNORE INTO events (" + eventCols + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

func insertEventArgs(args []any, r *EventRecord) []any {
	var reqID any
	if r.RequestID != "" {
		reqID = r.RequestID
	}
	var body any
	if len(r.Body) > 0 {
		b := r.Body
		if len(b) > MaxBodySample {
			b = b[:MaxBodySample]
		}
		body = b
	}
	count := int64(r.Count)
	if count < 1 {
		count = 1
	}
	return append(args,
		r.TS.UnixMicro(), r.Tenant, r.Integration, r.Source, r.Method, r.URL,
		r.Endpoint, r.ObjectKey, int64(r.Status), r.Duration.Microseconds(), reqID,
		r.Family, r.Code, r.Surface, r.IsError, r.Severity, count, body)
}

func (s *sqlStore) InsertEvents(ctx context.Context, recs []EventRecord) (InsertResult, error) {
	var res InsertResult
	if len(recs) == 0 {
		return res, nil
	}
	if err := checkTimestamps(recs); err != nil {
		return res, fmt.Errorf("store: insert events: %w", err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.insertEventsTx(ctx, tx, recs)
		res.Inserted = n
		return err
	})
	if err != nil {
		return InsertResult{}, fmt.Errorf("store: insert %d events: %w", len(recs), err)
	}
	res.Duplicates = len(recs) - res.Inserted
	return res, nil
}

// insertEventsPGSQL inserts a whole batch with one fixed statement: each
// column travels as one array parameter and unnest turns them back into
// rows. Unlike COPY it can skip duplicates (ON CONFLICT DO NOTHING), and
// unlike multi-row VALUES its text does not depend on the batch size, so
// pgx's per-connection statement cache holds exactly one entry for it.
const insertEventsPGSQL = `INSERT INTO events (` + eventCols + `)
	SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::text[], $13::text[],
		$14::text[], $15::boolean[], $16::text[], $17::bigint[], $18::bytea[])
	ON CONFLICT DO NOTHING
	RETURNING id, ts, tenant, source, integration, endpoint, is_error, family, surface, code`

// inKeyOrder returns recs with the ones that carry a request id sorted by
// (source, request id), after the others in their order. Two transactions
// that insert the same keys in different orders wait for each other's
// unique-index entries and deadlock (SQLSTATE 40P01); in one order, the
// second waits for the first and skips its rows as duplicates.
func inKeyOrder(recs []EventRecord) []EventRecord {
	if !slices.ContainsFunc(recs, func(r EventRecord) bool { return r.RequestID != "" }) {
		return recs
	}
	out := slices.Clone(recs)
	slices.SortStableFunc(out, func(a, b EventRecord) int {
		if c := cmp.Compare(boolInt(a.RequestID != ""), boolInt(b.RequestID != "")); c != 0 || a.RequestID == "" {
			return c
		}
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.RequestID, b.RequestID))
	})
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pgEventsPerStmt bounds the rows per unnest statement (memory, not limits).
const pgEventsPerStmt = 5000

// insertEventsPG inserts recs and adds the stored rows (returned by the
// statement, duplicates excluded) to agg.
func (s *sqlStore) insertEventsPG(ctx context.Context, tx *sql.Tx, recs []EventRecord, agg bucketAgg) (int, error) {
	recs = inKeyOrder(recs)
	inserted := 0
	for start := 0; start < len(recs); start += pgEventsPerStmt {
		chunk := recs[start:min(start+pgEventsPerStmt, len(recs))]
		n := len(chunk)
		var (
			ts, status, dur, occ                    = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
			tenant, integ, source, method, url      = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			endpoint, objKey, family, code, surface = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			severity                                = make([]string, n)
			reqID                                   = make([]*string, n)
			isErr                                   = make([]bool, n)
			body                                    = make([][]byte, n)
		)
		for i := range chunk {
			r := &chunk[i]
			ts[i], status[i], dur[i] = r.TS.UnixMicro(), int64(r.Status), r.Duration.Microseconds()
			occ[i] = max(int64(r.Count), 1)
			tenant[i], integ[i], source[i], method[i], url[i] = r.Tenant, r.Integration, r.Source, r.Method, r.URL
			endpoint[i], objKey[i], family[i], code[i], surface[i] = r.Endpoint, r.ObjectKey, r.Family, r.Code, r.Surface
			severity[i], isErr[i] = r.Severity, r.IsError
			if r.RequestID != "" {
				reqID[i] = &r.RequestID
			}
			if len(r.Body) > 0 {
				body[i] = r.Body[:min(len(r.Body), MaxBodySample)]
			}
		}
		rows, err := tx.QueryContext(ctx, insertEventsPGSQL, ts, tenant, integ, source, method, url,
			endpoint, objKey, status, dur, reqID, family, code, surface, isErr, severity, occ, body)
		if err != nil {
			return inserted, fmt.Errorf("insert: %w", err)
		}
		k := 0
		for rows.Next() {
			var (
				id, t                                    int64
				ten, src, integration, ep, fam, surf, cd string
				e                                        bool
			)
			if err := rows.Scan(&id, &t, &ten, &src, &integration, &ep, &e, &fam, &surf, &cd); err != nil {
				rows.Close()
				return inserted, fmt.Errorf("insert: %w", err)
			}
			agg.add(ten, src, integration, ep, e, fam, surf, cd, t, id)
			k++
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return inserted, fmt.Errorf("insert: %w", err)
		}
		rows.Close()
		inserted += int(k)
	}
	return inserted, nil
}

const eventSelect = "SELECT id, " + eventCols + " FROM events"

func scanEvent(sc scanner) (EventRecord, error) {
	var (
		r          EventRecord
		ts, durUS  int64
		status     int64
		reqID      sql.NullString
		count      int64
		body       []byte
		isErrorRaw any
	)
	err := sc.Scan(&r.ID, &ts, &r.Tenant, &r.Integration, &r.Source, &r.Method, &r.URL,
		&r.Endpoint, &r.ObjectKey, &status, &durUS, &reqID,
		&r.Family, &r.Code, &r.Surface, &isErrorRaw, &r.Severity, &count, &body)
	if err != nil {
		return r, err
	}
	r.TS = fromUS(ts)
	r.Status = int(status)
	r.Duration = time.Duration(durUS) * time.Microsecond
	r.RequestID = reqID.String
	r.Count = int(count)
	r.IsError = truthy(isErrorRaw)
	if len(body) > 0 {
		r.Body = body
	}
	return r, nil
}

// truthy reads a boolean stored as BOOLEAN (PostgreSQL) or INTEGER (SQLite).
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	default:
		return false
	}
}

func (w *where) eventFilters(from, to time.Time, tenant, integration, source, endpoint, family string, errorsOnly bool) {
	if !from.IsZero() {
		w.add("ts >= ?", from.UnixMicro())
	}
	if !to.IsZero() {
		w.add("ts < ?", to.UnixMicro())
	}
	w.eq("tenant", tenant)
	w.eq("integration", integration)
	w.eq("source", source)
	w.eq("endpoint", endpoint)
	w.eq("family", family)
	if errorsOnly {
		w.add("is_error = ?", true)
	}
}

func (s *sqlStore) QueryEvents(ctx context.Context, q EventQuery) ([]EventRecord, error) {
	var w where
	w.eventFilters(q.From, q.To, q.Tenant, q.Integration, q.Source, q.Endpoint, q.Family, q.ErrorsOnly)
	order := " ORDER BY ts, id"
	if q.Newest {
		order = " ORDER BY ts DESC, id DESC"
	} else if !q.After.TS.IsZero() || q.After.ID != 0 {
		t := us(q.After.TS)
		w.add("(ts > ? OR (ts = ? AND id > ?))", t, t, q.After.ID)
	}
	limit := clampLimit(q.Limit, 1000, 10000)
	rows, err := s.r.QueryContext(ctx, s.q(eventSelect+w.String()+order+fmt.Sprintf(" LIMIT %d", limit)), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: query events: %w", err)
	}
	defer rows.Close()
	var out []EventRecord
	for rows.Next() {
		r, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan event: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: query events: %w", err)
	}
	return out, nil
}

// dimensionColumns whitelists AggregateQuery.By (the column names are put
// into SQL text).
var dimensionColumns = map[Dimension]string{
	DimTenant: "tenant", DimIntegration: "integration", DimSource: "source",
	DimEndpoint: "endpoint", DimFamily: "family", DimCode: "code",
	DimSurface: "surface", DimStatus: "status",
}

func (s *sqlStore) AggregateEvents(ctx context.Context, q AggregateQuery) ([]EventBucket, error) {
	by := q.By
	if by == nil {
		by = []Dimension{DimFamily, DimCode}
	}
	if q.Bucket < 0 {
		return nil, errors.New("store: aggregate events: negative bucket")
	}
	bucketUS := q.Bucket.Microseconds()
	if q.Bucket > 0 && bucketUS == 0 {
		return nil, errors.New("store: aggregate events: bucket below one microsecond")
	}
	sel := []string{"0"}
	if bucketUS > 0 {
		sel[0] = fmt.Sprintf("(ts / %d) * %d", bucketUS, bucketUS)
	}
	seen := map[Dimension]bool{}
	for _, d := range by {
		col, ok := dimensionColumns[d]
		if !ok {
			return nil, fmt.Errorf("store: aggregate events: unknown dimension %q", d)
		}
		if seen[d] {
			return nil, fmt.Errorf("store: aggregate events: dimension %q twice", d)
		}
		seen[d] = true
		sel = append(sel, col)
	}
	groups := make([]string, len(sel))
	for i := range sel {
		groups[i] = fmt.Sprint(i + 1)
	}
	var w where
	w.eventFilters(q.From, q.To, q.Tenant, q.Integration, "", q.Endpoint, q.Family, q.ErrorsOnly)
	query := "SELECT " + strings.Join(sel, ", ") +
		", COUNT(*), CAST(SUM(CASE WHEN is_error THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(occurrences) AS BIGINT) FROM events" +
		w.String() + " GROUP BY " + strings.Join(groups, ", ") + " ORDER BY " + strings.Join(groups, ", ")
	rows, err := s.r.QueryContext(ctx, s.q(query), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: aggregate events: %w", err)
	}
	defer rows.Close()
	var out []EventBucket
	for rows.Next() {
		var (
			b      EventBucket
			start  int64
			status int64
		)
		dest := []any{&start}
		for _, d := range by {
			switch d {
			case DimTenant:
				dest = append(dest, &b.Tenant)
			case DimIntegration:
				dest = append(dest, &b.Integration)
			case DimSource:
				dest = append(dest, &b.Source)
			case DimEndpoint:
				dest = append(dest, &b.Endpoint)
			case DimFamily:
				dest = append(dest, &b.Family)
			case DimCode:
				dest = append(dest, &b.Code)
			case DimSurface:
				dest = append(dest, &b.Surface)
			case DimStatus:
				dest = append(dest, &status)
			}
		}
		dest = append(dest, &b.Events, &b.Errors, &b.Occurrences)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: scan aggregate: %w", err)
		}
		if bucketUS > 0 {
			b.Start = time.UnixMicro(start).UTC()
		}
		b.Status = int(status)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: aggregate events: %w", err)
	}
	return out, nil
}
