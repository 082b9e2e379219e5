package store

import (
	"database/sql"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recomputeBuckets aggregates every stored event from scratch, the way
// event_buckets must hold them.
func recomputeBuckets(t *testing.T, s Store) map[bucketKey]bucketVal {
	t.Helper()
	out := map[bucketKey]bucketVal{}
	agg := bucketAgg{}
	q := EventQuery{Limit: 10000}
	for {
		evs, err := s.QueryEvents(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			agg.add(e.Tenant, e.Source, e.Integration, e.Endpoint, e.IsError, e.Family, e.Surface, e.Code, e.TS.UnixMicro(), e.ID)
		}
		if len(evs) < q.Limit {
			break
		}
		q.After = EventKey{TS: evs[len(evs)-1].TS, ID: evs[len(evs)-1].ID}
	}
	for k, v := range agg {
		out[k] = *v
	}
	return out
}

func storedBuckets(t *testing.T, s Store) map[bucketKey]bucketVal {
	t.Helper()
	rows, err := s.(BucketReader).EventBuckets(t.Context(), BucketQuery{})
	if err != nil {
		t.Fatal(err)
	}
	// EventBuckets does not return the tenant: rows are read per tenant.
	out := map[bucketKey]bucketVal{}
	for _, tenant := range []string{"a", "b"} {
		rows, err := s.(BucketReader).EventBuckets(t.Context(), BucketQuery{Tenant: tenant})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			k := bucketKey{tenant: tenant, source: r.Source, integration: r.Integration, endpoint: r.Endpoint,
				family: r.Family, surface: r.Surface, code: r.Code, bucket: r.Bucket.UnixMicro()}
			if r.Failed {
				k.failed = 1
			}
			if _, dup := out[k]; dup {
				t.Fatalf("bucket row %+v twice", k)
			}
			out[k] = bucketVal{n: r.N, minTS: r.First.TS.UnixMicro(), minID: r.First.ID, maxTS: r.Last.TS.UnixMicro(), maxID: r.Last.ID}
		}
	}
	if len(rows) != len(out) {
		t.Fatalf("%d bucket rows in all, %d for tenants a and b", len(rows), len(out))
	}
	return out
}

func diffBuckets(t *testing.T, what string, got, want map[bucketKey]bucketVal) {
	t.Helper()
	var diffs []string
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			diffs = append(diffs, fmt.Sprintf("%+v: got %+v (%v), want %+v", k, g, ok, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%+v: got %+v, want none", k, g))
		}
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		t.Fatalf("%s: %d bucket rows differ, e.g.:\n%s", what, len(diffs), strings.Join(diffs[:min(len(diffs), 10)], "\n"))
	}
}

// randomEvents makes n events of two tenants, a few sources, integrations,
// endpoints and codes, out of time order, some sharing a timestamp, some
// repeating a request id (duplicates the store skips).
func randomEvents(rng *rand.Rand, n int, base time.Time) []EventRecord {
	fams := []string{"none", "none", "auth", "client", "server", "rate_limit", "timeout", "recipient"}
	out := make([]EventRecord, n)
	for i := range out {
		fam := fams[rng.IntN(len(fams))]
		status := 200
		if fam != "none" {
			status = 400 + rng.IntN(3)
		}
		e := ev(base.Add(time.Duration(rng.IntN(5000))*time.Millisecond+time.Duration(rng.IntN(3))*time.Microsecond),
			[]string{"a", "b"}[rng.IntN(2)], []string{"", "crm", "sdk"}[rng.IntN(3)],
			[]string{"/e1", "/e2", ""}[rng.IntN(3)], fam, status, "")
		e.Source = []string{"proxy", "ingest", "client"}[rng.IntN(3)]
		if rng.IntN(3) == 0 {
			e.RequestID = fmt.Sprint("r", rng.IntN(n))
		}
		if fam == "none" && rng.IntN(4) == 0 {
			e.IsError = true // an error flag without an error family is no failure
		}
		out[i] = e
	}
	return out
}

func testEventBuckets(t *testing.T, h harness) {
	ctx := t.Context()
	cfg := h.fresh(t)
	s := openT(t, cfg)
	rng := rand.New(rand.NewPCG(1, 2))
	// Every write path keeps the aggregates: single batches (more than a
	// prepared chunk), groups, a cursor move, a collection.
	if _, err := s.InsertEvents(ctx, randomEvents(rng, eventsPerStmt+300, t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertEvents(ctx, randomEvents(rng, 500, t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertEventGroups(ctx, [][]EventRecord{randomEvents(rng, 200, t0), randomEvents(rng, 200, t0.Add(-time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertEventsAdvanceCursor(ctx, randomEvents(rng, 100, t0), CursorMove{Name: "c", Next: "1", Now: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StoreCollection(ctx, CollectionBatch{Events: randomEvents(rng, 100, t0)}); err != nil {
		t.Fatal(err)
	}
	// Several writers at once (replicas on PostgreSQL; serialised on
	// SQLite's single writer).
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		recs := randomEvents(rand.New(rand.NewPCG(uint64(w), 9)), 800, t0)
		for i := range recs {
			if recs[i].RequestID != "" {
				// Writers repeating each other's request ids in another
				// order can deadlock on the events' unique index (not
				// on the aggregates, which go in key order).
				recs[i].RequestID = fmt.Sprint("w", w, recs[i].RequestID)
			}
		}
		wg.Go(func() {
			for start := 0; start < len(recs); start += 100 {
				if _, err := s.InsertEvents(ctx, recs[start:start+100]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := recomputeBuckets(t, s)
	diffBuckets(t, "after inserts", storedBuckets(t, s), want)

	// The migration's backfill computes the same rows from stored events.
	db := h.raw(t, cfg)
	if h.driver == DriverSQLite {
		dsn, err := sqliteDSN(cfg.Path, cfg, dsnWriter)
		if err != nil {
			t.Fatal(err)
		}
		if db, err = sql.Open("sqlite", dsn); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
	}
	up, err := fs.ReadFile(migrationFiles, "migrations/"+map[string]string{DriverSQLite: "sqlite", DriverPostgres: "postgres"}[h.driver]+"/00008_event_buckets.sql")
	if err != nil {
		t.Fatal(err)
	}
	body := string(up)
	ins := body[strings.Index(body, "INSERT INTO event_buckets"):strings.Index(body, "-- +goose Down")]
	if _, err := db.ExecContext(ctx, "DELETE FROM event_buckets"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, ins); err != nil {
		t.Fatalf("backfill: %v", err)
	}
	diffBuckets(t, "after the migration's backfill", storedBuckets(t, s), want)

	// Filters and marks.
	br := s.(BucketReader)
	crm, e1 := "crm", "/e1"
	rows, err := br.EventBuckets(ctx, BucketQuery{Tenant: "a", Source: "proxy", Integration: &crm, Endpoint: &e1, FailedOnly: true,
		From: t0.Add(time.Second), To: t0.Add(3 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, r := range rows {
		if r.Source != "proxy" || r.Integration != "crm" || r.Endpoint != "/e1" || !r.Failed ||
			r.Bucket.Before(t0.Add(time.Second)) || !r.Bucket.Before(t0.Add(3*time.Second)) {
			t.Fatalf("row %+v outside the filter", r)
		}
		n += r.N
	}
	marks, err := br.EventMarks(ctx, MarkQuery{Tenant: "a", Source: "proxy", Integration: &crm, Endpoint: &e1,
		From: t0.Add(time.Second), To: t0.Add(3 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	var failed int64
	for i, m := range marks {
		if i > 0 && m.Key().Less(marks[i-1].Key()) {
			t.Fatalf("marks out of order at %d", i)
		}
		if m.Failed() {
			failed++
		}
	}
	if n == 0 || failed != n {
		t.Fatalf("failed marks = %d, failed bucket rows count %d (want equal, > 0)", failed, n)
	}
	empty := ""
	rows, err = br.EventBuckets(ctx, BucketQuery{Tenant: "b", Integration: &empty})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no rows of the unnamed integration")
	}
	for _, r := range rows {
		if r.Integration != "" {
			t.Fatalf("row of %q with the empty-integration filter", r.Integration)
		}
	}

	// Retention prunes buckets before the event cutoff's bucket.
	if _, err := s.Prune(ctx, t0.Add(30*time.Minute), Retention{Events: 30 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	for k := range storedBuckets(t, s) {
		if k.bucket < t0.UnixMicro() {
			t.Fatalf("bucket %v kept after pruning", time.UnixMicro(k.bucket).UTC())
		}
	}
}
