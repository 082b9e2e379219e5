package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
)

// harness adapts the contract suite to one backend.
type harness struct {
	driver string
	// fresh returns the Config of a new, empty, isolated database and
	// registers its cleanup on t.
	fresh func(t *testing.T) Config
	// raw opens a plain database/sql handle on cfg's database.
	raw func(t *testing.T, cfg Config) *sql.DB
	// concurrentOpen is true when several processes may migrate at once.
	concurrentOpen bool
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func openT(t *testing.T, cfg Config) Store {
	t.Helper()
	s, err := Open(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// runContract runs every Store test against one backend.
func runContract(t *testing.T, h harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h harness)
	}{
		{"MigrationsIdempotent", testMigrationsIdempotent},
		{"ConcurrentOpen", testConcurrentOpen},
		{"Events", testEvents},
		{"StoreCollection", testStoreCollection},
		{"EventsIdempotent", testEventsIdempotent},
		{"EventsLargeBatch", testEventsLargeBatch},
		{"EventsConcurrentDuplicates", testEventsConcurrentDuplicates},
		{"EventAggregates", testEventAggregates},
		{"Snapshots", testSnapshots},
		{"SnapshotsOnChange", testSnapshotsOnChange},
		{"SnapshotsPacked", testSnapshotsPacked},
		{"SnapshotsReadMarks", testSnapshotsReadMarks},
		{"SnapshotsDownsample", testSnapshotsDownsample},
		{"PruneBySize", testPruneBySize},
		{"PruneCallDetail", testPruneCallDetail},
		{"SnapshotsOnChangeNanoseconds", testSnapshotsOnChangeNanoseconds},
		{"SnapshotsMigrateData", testSnapshotsMigrateData},
		{"SnapshotIndexesMigration", testSnapshotIndexesMigration},
		{"MigrationsDownTo10", testMigrationsDownTo10},
		{"Incidents", testIncidents},
		{"IncidentFailureStart", testIncidentFailureStart},
		{"IncidentEvidenceCap", testIncidentEvidenceCap},
		{"IncidentConcurrentUpsert", testIncidentConcurrentUpsert},
		{"IncidentBatch", testIncidentBatch},
		{"IncidentBatchConcurrent", testIncidentBatchConcurrent},
		{"IncidentCorrelations", testIncidentCorrelations},
		{"IncidentCorrelation", testIncidentCorrelation},
		{"Work", testWork},
		{"WorkConcurrentClaim", testWorkConcurrentClaim},
		{"Usage", testUsage},
		{"Cursors", testCursors},
		{"Silences", testSilences},
		{"Outbox", testOutbox},
		{"OutboxConcurrentClaim", testOutboxConcurrentClaim},
		{"NotifyStates", testNotifyStates},
		{"EventGroups", testEventGroups},
		{"EventsAdvanceCursor", testEventsAdvanceCursor},
		{"Prune", testPrune},
		{"CanceledContext", testCanceledContext},
		{"Auth", testAuth},
		{"EventBuckets", testEventBuckets},
		{"DatabaseSize", testDatabaseSize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, h)
		})
	}
}

func migrationCount(t *testing.T) int {
	t.Helper()
	names, err := fs.Glob(migrationFiles, "migrations/sqlite/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	pg, _ := fs.Glob(migrationFiles, "migrations/postgres/*.sql")
	if len(pg) != len(names) {
		t.Fatalf("dialects out of step: %d sqlite vs %d postgres migrations", len(names), len(pg))
	}
	return len(names)
}

func appliedMigrations(t *testing.T, h harness, cfg Config) int {
	t.Helper()
	db := h.raw(t, cfg)
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+migrationTable+" WHERE version_id > 0").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func testMigrationsIdempotent(t *testing.T, h harness) {
	cfg := h.fresh(t)
	s1 := openT(t, cfg)
	if s1.Driver() != h.driver {
		t.Fatalf("Driver() = %q, want %q", s1.Driver(), h.driver)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openT(t, cfg) // second open: nothing to apply
	s3 := openT(t, cfg) // and while another handle is open
	_ = s2
	_ = s3
	if got, want := appliedMigrations(t, h, cfg), migrationCount(t); got != want {
		t.Fatalf("applied migrations = %d, want %d", got, want)
	}
}

func testConcurrentOpen(t *testing.T, h harness) {
	if !h.concurrentOpen {
		t.Skipf("%s: one process owns the database file; concurrent migration is a PostgreSQL concern", h.driver)
	}
	cfg := h.fresh(t)
	const n = 3
	var wg sync.WaitGroup
	stores := make([]Store, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), cfg, nil) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	if got, want := appliedMigrations(t, h, cfg), migrationCount(t); got != want {
		t.Fatalf("applied migrations = %d, want %d (migrated more than once?)", got, want)
	}
}

func ev(ts time.Time, tenant, integration, endpoint, family string, status int, reqID string) EventRecord {
	return EventRecord{
		Event: event.Event{
			TS: ts, Tenant: tenant, Integration: integration, Source: "scan", Method: "POST",
			URL: "https://x.rest.marketingcloudapis.com" + endpoint, Endpoint: endpoint, Status: status,
			Duration: 1500 * time.Microsecond, RequestID: reqID,
		},
		Family: family, Code: fmt.Sprint(status), Surface: "rest", IsError: family != "none",
		Severity: "warning", Count: 1,
	}
}

func testEvents(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))

	if res, err := s.InsertEvents(ctx, nil); err != nil || res != (InsertResult{}) {
		t.Fatalf("empty insert = %+v, %v", res, err)
	}
	big := EventRecord{Event: event.Event{TS: t0, Tenant: "a", Source: "proxy", Body: []byte(strings.Repeat("x", MaxBodySample+100)), ObjectKey: "DE-1"},
		Family: "client", Code: "10006", Count: 3, IsError: true}
	recs := []EventRecord{
		ev(t0.Add(1*time.Second), "a", "crm", "/hub/v1/dataevents", "auth", 401, "r1"),
		ev(t0.Add(2*time.Second), "a", "crm", "/hub/v1/dataevents", "none", 200, ""),
		ev(t0.Add(3*time.Second), "a", "loader", "/data/v1/async", "rate_limit", 429, "r3"),
		ev(t0.Add(4*time.Second), "b", "crm", "/hub/v1/dataevents", "server", 500, "r4"),
		big,
	}
	res, err := s.InsertEvents(ctx, recs)
	if err != nil || res != (InsertResult{Inserted: 5}) {
		t.Fatalf("InsertEvents = %+v, %v", res, err)
	}
	if _, err := s.InsertEvents(ctx, []EventRecord{{Family: "x"}}); err == nil {
		t.Fatal("event without timestamp accepted")
	}

	all, err := s.QueryEvents(ctx, EventQuery{})
	if err != nil || len(all) != 5 {
		t.Fatalf("QueryEvents all = %d, %v", len(all), err)
	}
	if all[0].ObjectKey != "DE-1" || len(all[0].Body) != MaxBodySample || all[0].Count != 3 || !all[0].IsError || all[0].Source != "proxy" {
		t.Errorf("first event = %+v", all[0])
	}
	got := all[1]
	want := recs[0]
	want.ID = got.ID
	if got.ID == 0 || !got.TS.Equal(want.TS) || got.TS.Location() != time.UTC {
		t.Errorf("id/ts = %d %v", got.ID, got.TS)
	}
	got.TS = want.TS
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if all[2].RequestID != "" || all[2].IsError {
		t.Errorf("second event = %+v", all[2])
	}

	cases := []struct {
		name string
		q    EventQuery
		want int
	}{
		{"tenant", EventQuery{Tenant: "a"}, 4},
		{"integration", EventQuery{Tenant: "a", Integration: "crm"}, 2},
		{"endpoint", EventQuery{Endpoint: "/hub/v1/dataevents"}, 3},
		{"family", EventQuery{Family: "rate_limit"}, 1},
		{"source", EventQuery{Source: "proxy"}, 1},
		{"errors", EventQuery{ErrorsOnly: true}, 4},
		{"range", EventQuery{From: t0.Add(2 * time.Second), To: t0.Add(4 * time.Second)}, 2},
		{"limit", EventQuery{Limit: 2}, 2},
	}
	for _, c := range cases {
		rs, err := s.QueryEvents(ctx, c.q)
		if err != nil || len(rs) != c.want {
			t.Errorf("%s: %d events, %v; want %d", c.name, len(rs), err, c.want)
		}
	}
	// Keyset paging walks everything once, in order.
	var paged []int64
	q := EventQuery{Limit: 2}
	for {
		page, err := s.QueryEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			paged = append(paged, r.ID)
		}
		last := page[len(page)-1]
		q.After = EventKey{TS: last.TS, ID: last.ID}
	}
	if len(paged) != 5 || paged[0] != all[0].ID || paged[4] != all[4].ID {
		t.Errorf("paging = %v", paged)
	}
	newest, err := s.QueryEvents(ctx, EventQuery{Newest: true, Limit: 1})
	if err != nil || len(newest) != 1 || newest[0].Tenant != "b" {
		t.Errorf("newest = %+v, %v", newest, err)
	}
}

func testEventsIdempotent(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	batch := []EventRecord{
		ev(t0, "a", "crm", "/e", "auth", 401, "dup"),
		ev(t0, "a", "crm", "/e", "auth", 401, "dup"), // repeated within the batch
		ev(t0, "a", "crm", "/e", "auth", 401, "other"),
		ev(t0, "a", "crm", "/e", "auth", 401, ""), // no request id: never deduplicated
	}
	res, err := s.InsertEvents(ctx, batch)
	if err != nil || res != (InsertResult{Inserted: 3, Duplicates: 1}) {
		t.Fatalf("first insert = %+v, %v", res, err)
	}
	res, err = s.InsertEvents(ctx, batch)
	if err != nil || res != (InsertResult{Inserted: 1, Duplicates: 3}) {
		t.Fatalf("second insert = %+v, %v", res, err)
	}
	// The same request id from another source is a different call.
	other := ev(t0, "a", "crm", "/e", "auth", 401, "dup")
	other.Source = "proxy"
	res, err = s.InsertEvents(ctx, []EventRecord{other})
	if err != nil || res.Inserted != 1 {
		t.Fatalf("other source = %+v, %v", res, err)
	}
	all, _ := s.QueryEvents(ctx, EventQuery{})
	if len(all) != 5 {
		t.Fatalf("stored %d events, want 5", len(all))
	}
}

func testEventsLargeBatch(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	const n = 2*eventsPerStmt + 137 // full chunks and a remainder
	recs := make([]EventRecord, n)
	for i := range recs {
		recs[i] = ev(t0.Add(time.Duration(i)*time.Millisecond), "a", "bulk", "/e", "none", 200, fmt.Sprintf("req-%d", i))
	}
	recs[n-1].RequestID = "req-0" // a duplicate in the last chunk
	res, err := s.InsertEvents(ctx, recs)
	if err != nil || res != (InsertResult{Inserted: n - 1, Duplicates: 1}) {
		t.Fatalf("InsertEvents = %+v, %v", res, err)
	}
	agg, err := s.AggregateEvents(ctx, AggregateQuery{By: []Dimension{}})
	if err != nil || len(agg) != 1 || agg[0].Events != n-1 {
		t.Fatalf("count = %+v, %v", agg, err)
	}
}

func testEventAggregates(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	var recs []EventRecord
	add := func(min int, family string, status, count int) {
		r := ev(t0.Add(time.Duration(min)*time.Minute), "a", "crm", "/e", family, status, "")
		r.Count = count
		recs = append(recs, r)
	}
	add(0, "auth", 401, 1)
	add(1, "auth", 401, 2)
	add(2, "none", 200, 1)
	add(5, "auth", 401, 1)
	add(6, "rate_limit", 429, 4)
	if _, err := s.InsertEvents(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, err := s.AggregateEvents(ctx, AggregateQuery{From: t0, To: t0.Add(time.Hour), Bucket: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	want := []EventBucket{
		{Start: t0, Family: "auth", Code: "401", Events: 2, Errors: 2, Occurrences: 3},
		{Start: t0, Family: "none", Code: "200", Events: 1, Errors: 0, Occurrences: 1},
		{Start: t0.Add(5 * time.Minute), Family: "auth", Code: "401", Events: 1, Errors: 1, Occurrences: 1},
		{Start: t0.Add(5 * time.Minute), Family: "rate_limit", Code: "429", Events: 1, Errors: 1, Occurrences: 4},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("aggregate:\n got %+v\nwant %+v", got, want)
	}
	got, err = s.AggregateEvents(ctx, AggregateQuery{ErrorsOnly: true, By: []Dimension{DimTenant, DimStatus, DimEndpoint}})
	if err != nil || len(got) != 2 || got[0].Status != 401 || got[0].Tenant != "a" || got[0].Endpoint != "/e" || got[1].Events != 1 || !got[0].Start.IsZero() {
		t.Errorf("by status = %+v, %v", got, err)
	}
	if _, err := s.AggregateEvents(ctx, AggregateQuery{By: []Dimension{"url; DROP TABLE events"}}); err == nil {
		t.Error("unknown dimension accepted")
	}
}

func i64(v int64) *int64 { return &v }

func testSnapshots(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	de1 := ResourceRef{Tenant: "a", ResourceType: "data_extension", ResourceKey: "DE-1"}
	de2 := ResourceRef{Tenant: "a", ResourceType: "data_extension", ResourceKey: "DE-2"}
	if _, err := s.LatestSnapshot(ctx, de1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("LatestSnapshot on empty = %v, want ErrNotFound", err)
	}
	snaps := []Snapshot{
		{ResourceRef: de1, ObservedAt: t0, Status: "Active", RowCount: i64(100), SchemaHash: "h1",
			Counters: map[string]int64{"errors": 0}, Payload: []byte(`{"name":"Subscribers"}`)},
		{ResourceRef: de1, ObservedAt: t0.Add(time.Hour), Status: "Active", RowCount: i64(0), SchemaHash: "h2", LastRunAt: t0.Add(50 * time.Minute)},
		{ResourceRef: de2, ObservedAt: t0.Add(30 * time.Minute)},
		{ResourceRef: ResourceRef{Tenant: "a", ResourceType: "automation", ResourceKey: "DE-1"}, ObservedAt: t0.Add(2 * time.Hour)},
	}
	ids, err := s.InsertSnapshots(ctx, snaps)
	if err != nil || len(ids) != 4 || ids[0] == 0 || snaps[1].ID != ids[1] {
		t.Fatalf("InsertSnapshots = %v, %v", ids, err)
	}
	if _, err := s.InsertSnapshots(ctx, []Snapshot{{ResourceRef: de1, ObservedAt: t0, Payload: []byte("{bad")}}); err == nil {
		t.Fatal("invalid payload accepted")
	}
	latest, err := s.LatestSnapshot(ctx, de1)
	if err != nil || latest.ID != ids[1] || *latest.RowCount != 0 || latest.SchemaHash != "h2" ||
		!latest.LastRunAt.Equal(t0.Add(50*time.Minute)) || latest.Payload != nil || latest.Counters != nil {
		t.Fatalf("LatestSnapshot = %+v, %v", latest, err)
	}
	hist, err := s.SnapshotHistory(ctx, de1, time.Time{}, time.Time{}, 0)
	if err != nil || len(hist) != 2 || hist[0].ID != ids[0] {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	first := hist[0]
	if *first.RowCount != 100 || first.Counters["errors"] != 0 || len(first.Counters) != 1 ||
		!strings.Contains(string(first.Payload), `"Subscribers"`) || !first.LastRunAt.IsZero() || !first.ObservedAt.Equal(t0) {
		t.Errorf("first snapshot = %+v", first)
	}
	hist, err = s.SnapshotHistory(ctx, de1, t0.Add(time.Minute), t0.Add(2*time.Hour), 10)
	if err != nil || len(hist) != 1 || hist[0].ID != ids[1] {
		t.Errorf("ranged history = %+v, %v", hist, err)
	}
	all, err := s.LatestSnapshots(ctx, "a", "data_extension")
	if err != nil || len(all) != 2 || all[0].ID != ids[1] || all[1].ID != ids[2] || all[1].RowCount != nil {
		t.Errorf("LatestSnapshots = %+v, %v", all, err)
	}
	// A late, older observation does not replace the latest one; a newer
	// one does.
	late, err := s.InsertSnapshots(ctx, []Snapshot{{ResourceRef: de1, ObservedAt: t0.Add(10 * time.Minute), Status: "late"}})
	if err != nil {
		t.Fatal(err)
	}
	all, err = s.LatestSnapshots(ctx, "a", "data_extension")
	if err != nil || len(all) != 2 || all[0].ID != ids[1] {
		t.Errorf("after a late insert, LatestSnapshots = %+v, %v (late id %v)", all, err, late)
	}
	newer, err := s.InsertSnapshots(ctx, []Snapshot{{ResourceRef: de1, ObservedAt: t0.Add(3 * time.Hour), Status: "new"}})
	if err != nil {
		t.Fatal(err)
	}
	all, err = s.LatestSnapshots(ctx, "a", "data_extension")
	if err != nil || len(all) != 2 || all[0].ID != newer[0] || all[0].Status != "new" {
		t.Errorf("after a newer insert, LatestSnapshots = %+v, %v", all, err)
	}
}

func upsert(fp string, now time.Time, ev ...Evidence) IncidentUpsert {
	return IncidentUpsert{
		Fingerprint: fp, Rule: "api.errors", Severity: "critical", Family: "auth", Tenant: "a",
		ResourceType: "endpoint", ResourceKey: "/e", Title: "401 on /e", Owner: "marketing_ops",
		Remediation: []string{"rotate the secret", "check scopes"}, FirstSeen: now.Add(-90 * time.Second),
		Now: now, Evidence: ev,
	}
}

func testIncidents(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	inc, created, err := s.OpenOrUpdateIncident(ctx, upsert("fp1", t0, Evidence{Kind: EvidenceEvent, RefID: 7}))
	if err != nil || !created {
		t.Fatalf("open = %v, %v", created, err)
	}
	if inc.Status != IncidentOpen || inc.TTD != 90*time.Second || !inc.OpenedAt.Equal(t0) ||
		!inc.FirstSeen.Equal(t0.Add(-90*time.Second)) || inc.Occurrences != 1 || len(inc.Remediation) != 2 || inc.Owner != "marketing_ops" {
		t.Fatalf("opened = %+v", inc)
	}
	u := upsert("fp1", t0.Add(time.Minute), Evidence{Kind: EvidenceEvent, RefID: 7}, Evidence{Kind: EvidenceSnapshot, RefID: 3})
	u.Severity = "warning"
	inc2, created, err := s.OpenOrUpdateIncident(ctx, u)
	if err != nil || created || inc2.ID != inc.ID || inc2.Occurrences != 2 || inc2.Severity != "warning" ||
		!inc2.UpdatedAt.Equal(t0.Add(time.Minute)) || !inc2.LastSeen.Equal(t0.Add(time.Minute)) || !inc2.OpenedAt.Equal(t0) || inc2.TTD != 90*time.Second {
		t.Fatalf("update = %+v, %v, %v", inc2, created, err)
	}
	if _, _, err := s.OpenOrUpdateIncident(ctx, IncidentUpsert{Rule: "x", Now: t0}); err == nil {
		t.Fatal("incident without fingerprint accepted")
	}
	other, _, err := s.OpenOrUpdateIncident(ctx, IncidentUpsert{Fingerprint: "fp2", Rule: "automation.error", Tenant: "b", Severity: "warning", Now: t0.Add(2 * time.Minute)})
	if err != nil || other.TTD != 0 || other.Remediation != nil {
		t.Fatalf("open fp2 = %+v, %v", other, err)
	}

	got, err := s.GetIncident(ctx, inc.ID)
	if err != nil || len(got.Evidence) != 2 {
		t.Fatalf("GetIncident = %+v, %v", got, err)
	}
	if got.Evidence[0] != (Evidence{Kind: EvidenceEvent, RefID: 7, AddedAt: t0}) ||
		got.Evidence[1] != (Evidence{Kind: EvidenceSnapshot, RefID: 3, AddedAt: t0.Add(time.Minute)}) {
		t.Errorf("evidence = %+v", got.Evidence)
	}
	if _, err := s.GetIncident(ctx, 99999); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetIncident missing = %v", err)
	}

	list, err := s.ListIncidents(ctx, IncidentFilter{})
	if err != nil || len(list) != 2 || list[0].ID != other.ID {
		t.Fatalf("ListIncidents = %+v, %v", list, err)
	}
	for _, f := range []IncidentFilter{{Tenant: "a"}, {Rule: "api.errors"}, {Family: "auth"}, {Severity: "warning", Tenant: "a"},
		{ResourceType: "endpoint", ResourceKey: "/e"}, {OpenedFrom: t0, OpenedTo: t0.Add(time.Minute)}, {Status: IncidentOpen, Limit: 1}} {
		l, err := s.ListIncidents(ctx, f)
		if err != nil || len(l) != 1 {
			t.Errorf("ListIncidents(%+v) = %d, %v", f, len(l), err)
		}
	}

	acked, err := s.AcknowledgeIncident(ctx, inc.ID, "alice", t0.Add(3*time.Minute))
	if err != nil || acked.AcknowledgedBy != "alice" || !acked.AcknowledgedAt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("acknowledge = %+v, %v", acked, err)
	}
	if _, err := s.AcknowledgeIncident(ctx, 99999, "bob", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("acknowledge missing = %v", err)
	}

	res, err := s.ResolveIncident(ctx, inc.ID, t0.Add(10*time.Minute))
	if err != nil || res.Status != IncidentResolved || !res.ResolvedAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("resolve = %+v, %v", res, err)
	}
	if _, err := s.ResolveIncident(ctx, inc.ID, t0.Add(11*time.Minute)); !errors.Is(err, ErrConflict) {
		t.Errorf("resolve twice = %v, want ErrConflict", err)
	}
	if _, err := s.ResolveIncident(ctx, 99999, t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("resolve missing = %v, want ErrNotFound", err)
	}
	// The fingerprint returns: a new incident, the old one stays resolved.
	again, created, err := s.OpenOrUpdateIncident(ctx, upsert("fp1", t0.Add(time.Hour)))
	if err != nil || !created || again.ID == inc.ID {
		t.Fatalf("reopen = %+v, %v, %v", again, created, err)
	}
	byFP, err := s.ResolveFingerprint(ctx, "fp1", t0.Add(2*time.Hour))
	if err != nil || byFP.ID != again.ID || byFP.Status != IncidentResolved {
		t.Fatalf("ResolveFingerprint = %+v, %v", byFP, err)
	}
	if _, err := s.ResolveFingerprint(ctx, "fp1", t0.Add(3*time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Errorf("ResolveFingerprint with none open = %v", err)
	}
	resolved, err := s.ListIncidents(ctx, IncidentFilter{Status: IncidentResolved})
	if err != nil || len(resolved) != 2 {
		t.Errorf("resolved list = %d, %v", len(resolved), err)
	}
}

// testIncidentFailureStart: the three times of an incident (failure start
// by SFMC's timestamps, first evidence, opened) round-trip, time to
// detection is reported both ways, and an update keeps the earliest known
// failure start (never one after the incident opened).
func testIncidentFailureStart(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	failed := t0.Add(-3 * time.Hour)
	u := upsert("fs", t0)
	u.FirstSeen = t0.Add(-1500 * time.Millisecond) // sub-second precision survives
	u.FailureStartedAt = failed
	inc, created, err := s.OpenOrUpdateIncident(ctx, u)
	if err != nil || !created {
		t.Fatalf("open = %v, %v", created, err)
	}
	check := func(what string, in Incident, wantFailed time.Time) {
		t.Helper()
		if !in.FailureStartedAt.Equal(wantFailed) || !in.FirstSeen.Equal(t0.Add(-1500*time.Millisecond)) || !in.OpenedAt.Equal(t0) ||
			in.TTD != 1500*time.Millisecond || in.FailureKnown() != !wantFailed.IsZero() {
			t.Fatalf("%s = failure %v first %v opened %v ttd %v", what, in.FailureStartedAt, in.FirstSeen, in.OpenedAt, in.TTD)
		}
		if want := t0.Sub(wantFailed); in.FailureKnown() && in.TTDSinceFailure != want {
			t.Fatalf("%s: ttd since failure = %v, want %v", what, in.TTDSinceFailure, want)
		}
		if !in.FailureKnown() && in.TTDSinceFailure != 0 {
			t.Fatalf("%s: ttd since an unknown failure start = %v", what, in.TTDSinceFailure)
		}
	}
	check("opened", inc, failed)
	got, err := s.GetIncident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("GetIncident", got, failed)

	// A later failure start, or none, leaves the earliest; an earlier one
	// replaces it; one after the incident opened is ignored.
	for i, tc := range []struct{ at, want time.Time }{
		{failed.Add(time.Hour), failed},
		{time.Time{}, failed},
		{failed.Add(-time.Hour), failed.Add(-time.Hour)},
		{t0.Add(time.Minute), failed.Add(-time.Hour)},
	} {
		u := upsert("fs", t0.Add(time.Duration(i+1)*time.Minute))
		u.FailureStartedAt = tc.at
		in, created, err := s.OpenOrUpdateIncident(ctx, u)
		if err != nil || created {
			t.Fatalf("update %d = %v, %v", i, created, err)
		}
		check(fmt.Sprintf("update %d", i), in, tc.want)
	}
	list, err := s.ListIncidents(ctx, IncidentFilter{Rule: "api.errors"})
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	check("ListIncidents", list[0], failed.Add(-time.Hour))

	// Unknown at open, learnt later (but not after the opening).
	u = upsert("late", t0)
	in, _, err := s.OpenOrUpdateIncident(ctx, u)
	if err != nil || in.FailureKnown() {
		t.Fatalf("open without failure start = %+v, %v", in, err)
	}
	u = upsert("late", t0.Add(time.Minute))
	u.FailureStartedAt = t0.Add(-time.Minute)
	in, _, err = s.OpenOrUpdateIncident(ctx, u)
	if err != nil || !in.FailureStartedAt.Equal(t0.Add(-time.Minute)) || in.TTDSinceFailure != time.Minute {
		t.Fatalf("failure start learnt on update = %+v, %v", in, err)
	}
	// A failure start after now (clock skew) is capped at the opening.
	u = upsert("future", t0)
	u.FailureStartedAt = t0.Add(time.Hour)
	in, _, err = s.OpenOrUpdateIncident(ctx, u)
	if err != nil || !in.FailureStartedAt.Equal(t0) || in.TTDSinceFailure != 0 || !in.FailureKnown() {
		t.Fatalf("future failure start = %+v, %v", in, err)
	}
	res, err := s.ResolveFingerprint(ctx, "future", t0.Add(time.Hour))
	if err != nil || !res.FailureStartedAt.Equal(t0) {
		t.Fatalf("resolved = %+v, %v", res, err)
	}

	// JSON: first_seen stays, first_seen_at joins it; ttd_since_failure_ns
	// only when the failure's start is known (even when it is 0).
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"first_seen":`, `"first_seen_at":`, `"failure_started_at":`, `"ttd_ns":`, `"ttd_since_failure_ns":0`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON lacks %s: %s", k, b)
		}
	}
	b, _ = json.Marshal(Incident{ID: 1, FirstSeen: t0})
	if strings.Contains(string(b), "failure_started_at") || strings.Contains(string(b), "ttd_since_failure_ns") {
		t.Errorf("JSON of an incident without a failure start: %s", b)
	}
}

func testIncidentEvidenceCap(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	var evs []Evidence
	for i := range MaxEvidence + 50 {
		evs = append(evs, Evidence{Kind: EvidenceEvent, RefID: int64(i + 1)})
	}
	inc, _, err := s.OpenOrUpdateIncident(ctx, upsert("cap", t0, evs[:150]...))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.OpenOrUpdateIncident(ctx, upsert("cap", t0.Add(time.Second), evs...)); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetIncident(ctx, inc.ID)
	if err != nil || len(got.Evidence) != MaxEvidence {
		t.Fatalf("evidence = %d, %v; want %d", len(got.Evidence), err, MaxEvidence)
	}
	if _, _, err := s.OpenOrUpdateIncident(ctx, upsert("cap", t0, Evidence{Kind: "bogus", RefID: 1})); err == nil {
		t.Error("bogus evidence kind accepted")
	}
}

// testIncidentConcurrentUpsert: two handles on one database (two
// replicas), several goroutines each, one fingerprint.
func testIncidentConcurrentUpsert(t *testing.T, h harness) {
	ctx := t.Context()
	cfg := h.fresh(t)
	handles := []Store{openT(t, cfg), openT(t, cfg)}
	const workers, each = 6, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	var createdMu sync.Mutex
	created := 0
	for w := range workers {
		s := handles[w%len(handles)]
		wg.Go(func() {
			for i := range each {
				_, c, err := s.OpenOrUpdateIncident(ctx, upsert("race", t0.Add(time.Duration(i)*time.Second),
					Evidence{Kind: EvidenceEvent, RefID: int64(w*100 + i)}))
				if err != nil {
					errs <- err
					return
				}
				if c {
					createdMu.Lock()
					created++
					createdMu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	open, err := handles[0].ListIncidents(ctx, IncidentFilter{Status: IncidentOpen})
	if err != nil || len(open) != 1 || created != 1 {
		t.Fatalf("open incidents = %d (created %d), %v; want exactly 1", len(open), created, err)
	}
	if open[0].Occurrences != workers*each {
		t.Errorf("occurrences = %d, want %d", open[0].Occurrences, workers*each)
	}
	full, err := handles[1].GetIncident(ctx, open[0].ID)
	if err != nil || len(full.Evidence) != workers*each {
		t.Errorf("evidence = %d, %v", len(full.Evidence), err)
	}
}

func testWork(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	specs := []WorkSpec{
		{Tenant: "a", Kind: "poll.automations", Key: "", NextDueAt: t0},
		{Tenant: "a", Kind: "poll.de", Key: "DE-1", NextDueAt: t0.Add(-time.Minute)},
		{Tenant: "b", Kind: "poll.de", Key: "DE-1", NextDueAt: t0.Add(time.Hour)},
	}
	if err := s.EnsureWork(ctx, t0.Add(-time.Hour), specs...); err != nil {
		t.Fatal(err)
	}
	// Ensuring again does not move an existing schedule.
	if err := s.EnsureWork(ctx, t0, WorkSpec{Tenant: "a", Kind: "poll.automations", NextDueAt: t0.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	w, err := s.GetWork(ctx, "a", "poll.automations", "")
	if err != nil || !w.NextDueAt.Equal(t0) || !w.CreatedAt.Equal(t0.Add(-time.Hour)) || w.LeaseOwner != "" || !w.LeaseUntil.IsZero() {
		t.Fatalf("GetWork = %+v, %v", w, err)
	}
	if _, err := s.GetWork(ctx, "a", "nope", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetWork missing = %v", err)
	}
	if _, err := s.ClaimDue(ctx, "", t0, time.Minute, 1); err == nil {
		t.Error("claim without owner accepted")
	}

	claimed, err := s.ClaimDue(ctx, "w1", t0, time.Minute, 10)
	if err != nil || len(claimed) != 2 || claimed[0].Kind != "poll.de" || claimed[1].Kind != "poll.automations" {
		t.Fatalf("ClaimDue = %+v, %v", claimed, err)
	}
	c := claimed[0]
	if c.LeaseOwner != "w1" || !c.LeaseUntil.Equal(t0.Add(time.Minute)) || c.Attempts != 1 {
		t.Errorf("claimed item = %+v", c)
	}
	// Leased items are not claimable while the lease lives.
	if again, err := s.ClaimDue(ctx, "w2", t0.Add(30*time.Second), time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("claim during lease = %+v, %v", again, err)
	}
	// w1 dies; the lease expires; w2 gets the item.
	stolen, err := s.ClaimDue(ctx, "w2", t0.Add(time.Minute), time.Minute, 1)
	if err != nil || len(stolen) != 1 || stolen[0].ID != c.ID || stolen[0].Attempts != 2 || stolen[0].LeaseOwner != "w2" {
		t.Fatalf("claim after expiry = %+v, %v", stolen, err)
	}
	if err := s.Complete(ctx, c.ID, "w1", t0.Add(time.Hour), t0.Add(time.Minute)); !errors.Is(err, ErrConflict) {
		t.Errorf("complete by stale owner = %v, want ErrConflict", err)
	}
	if err := s.Complete(ctx, 99999, "w1", t0, t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("complete missing = %v, want ErrNotFound", err)
	}
	// Retry-After: defer keeps attempts and records the reason.
	if err := s.Defer(ctx, c.ID, "w2", t0.Add(10*time.Minute), "429 retry-after 540s", t0.Add(61*time.Second)); err != nil {
		t.Fatal(err)
	}
	w, _ = s.GetWork(ctx, "a", "poll.de", "DE-1")
	if !w.NextDueAt.Equal(t0.Add(10*time.Minute)) || w.LeaseOwner != "" || w.Attempts != 2 || w.LastError != "429 retry-after 540s" {
		t.Errorf("deferred = %+v", w)
	}
	if got, _ := s.ClaimDue(ctx, "w2", t0.Add(9*time.Minute), time.Hour, 10); len(got) != 1 || got[0].Kind != "poll.automations" {
		// only the w1-leased automations item (lease expired) is due; DE-1 is deferred
		t.Errorf("claim before deferral ends = %+v", got)
	}
	got, err := s.ClaimDue(ctx, "w3", t0.Add(10*time.Minute), time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].ID != c.ID || got[0].Attempts != 3 {
		t.Fatalf("claim after deferral = %+v, %v", got, err)
	}
	if err := s.Complete(ctx, c.ID, "w3", t0.Add(time.Hour), t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	w, _ = s.GetWork(ctx, "a", "poll.de", "DE-1")
	if !w.NextDueAt.Equal(t0.Add(time.Hour)) || w.Attempts != 0 || w.LastError != "" || w.LeaseOwner != "" || !w.UpdatedAt.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("completed = %+v", w)
	}
	if err := s.Defer(ctx, c.ID, "w3", t0, "x", t0); !errors.Is(err, ErrConflict) {
		t.Errorf("defer without lease = %v, want ErrConflict", err)
	}
	if err := s.RemoveWork(ctx, "b", "poll.de", "DE-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveWork(ctx, "b", "poll.de", "DE-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove twice = %v", err)
	}
}

// testWorkConcurrentClaim: two replicas with several workers each drain
// one queue; no item is handed out twice.
func testWorkConcurrentClaim(t *testing.T, h harness) {
	ctx := t.Context()
	cfg := h.fresh(t)
	handles := []Store{openT(t, cfg), openT(t, cfg)}
	const items = 150
	specs := make([]WorkSpec, items)
	for i := range specs {
		specs[i] = WorkSpec{Tenant: "a", Kind: "poll", Key: fmt.Sprint(i), NextDueAt: t0.Add(-time.Duration(i) * time.Second)}
	}
	if err := handles[0].EnsureWork(ctx, t0, specs...); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		seen   = map[int64]string{}
		dups   []int64
		errsMu sync.Mutex
		errs   []error
	)
	var wg sync.WaitGroup
	for w := range 6 {
		s := handles[w%2]
		owner := fmt.Sprintf("worker-%d", w)
		wg.Go(func() {
			for {
				got, err := s.ClaimDue(ctx, owner, t0, time.Hour, 7)
				if err != nil {
					errsMu.Lock()
					errs = append(errs, err)
					errsMu.Unlock()
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, it := range got {
					if _, ok := seen[it.ID]; ok {
						dups = append(dups, it.ID)
					}
					seen[it.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if len(dups) > 0 || len(seen) != items {
		t.Fatalf("claimed %d distinct items, duplicates %v; want %d, none", len(seen), dups, items)
	}
}

func testUsage(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	day1 := time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC)
	day2 := day1.Add(2 * time.Minute)
	err := s.AddUsage(ctx,
		UsageDelta{Tenant: "a", Endpoint: "/auth", At: day1, Calls: 1},
		UsageDelta{Tenant: "a", Endpoint: "/soap", At: day1, Calls: 5},
		UsageDelta{Tenant: "a", Endpoint: "/soap", At: day2, Calls: 2},
		UsageDelta{Tenant: "b", Endpoint: "/soap", At: day2, Calls: 7},
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsage(ctx, UsageDelta{Tenant: "a", Endpoint: "/soap", At: day1.Add(-time.Hour), Calls: 3}); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Usage(ctx, UsageQuery{Tenant: "a"})
	want := []UsageRow{
		{Tenant: "a", Endpoint: "/auth", Day: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Calls: 1},
		{Tenant: "a", Endpoint: "/soap", Day: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Calls: 8},
		{Tenant: "a", Endpoint: "/soap", Day: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Calls: 2},
	}
	if err != nil || fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Fatalf("Usage =\n%+v, %v\nwant %+v", rows, err, want)
	}
	rows, err = s.Usage(ctx, UsageQuery{From: day2, To: day2})
	if err != nil || len(rows) != 2 || rows[1].Tenant != "b" || rows[1].Calls != 7 {
		t.Errorf("Usage day2 = %+v, %v", rows, err)
	}
}

func testCursors(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	if _, err := s.GetCursor(ctx, "tx.notsent"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetCursor missing = %v", err)
	}
	if err := s.CompareAndSetCursor(ctx, "tx.notsent", "", "e1", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.CompareAndSetCursor(ctx, "tx.notsent", "", "e9", t0); !errors.Is(err, ErrConflict) {
		t.Errorf("CAS from empty on set cursor = %v, want ErrConflict", err)
	}
	if err := s.CompareAndSetCursor(ctx, "tx.notsent", "e0", "e9", t0); !errors.Is(err, ErrConflict) {
		t.Errorf("CAS from wrong value = %v, want ErrConflict", err)
	}
	if err := s.CompareAndSetCursor(ctx, "tx.notsent", "e1", "e2", t0); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetCursor(ctx, "tx.notsent"); err != nil || v != "e2" {
		t.Fatalf("GetCursor = %q, %v", v, err)
	}
	if err := s.SetCursor(ctx, "tail:/var/log/x", "1234", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCursor(ctx, "tail:/var/log/x", "5678", t0); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.GetCursor(ctx, "tail:/var/log/x"); v != "5678" {
		t.Errorf("after SetCursor = %q", v)
	}
	// Racing advances from one value: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 8 {
		wg.Go(func() {
			err := s.CompareAndSetCursor(ctx, "tx.notsent", "e2", fmt.Sprintf("e3-%d", i), t0)
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, ErrConflict) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d CAS winners, want 1", wins)
	}
}

func testPrune(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	const pruneChunk = 300
	s.(*sqlStore).pruneChunk = pruneChunk // several chunks without 10,000s of rows
	now := t0.Add(30 * 24 * time.Hour)
	// Events: more old ones than one prune chunk, plus recent ones.
	const oldEvents = pruneChunk*2 + 10
	recs := make([]EventRecord, 0, oldEvents+3)
	for i := range oldEvents {
		recs = append(recs, ev(t0.Add(time.Duration(i)*time.Millisecond), "a", "x", "/e", "none", 200, ""))
	}
	for i := range 3 {
		recs = append(recs, ev(now.Add(-time.Duration(i)*time.Hour), "a", "x", "/e", "none", 200, ""))
	}
	if _, err := s.InsertEvents(ctx, recs); err != nil {
		t.Fatal(err)
	}
	de := ResourceRef{Tenant: "a", ResourceType: "data_extension", ResourceKey: "DE-1"}
	stale := ResourceRef{Tenant: "a", ResourceType: "data_extension", ResourceKey: "DE-old"}
	snapIDs, err := s.InsertSnapshots(ctx, []Snapshot{
		{ResourceRef: de, ObservedAt: t0, Status: "a"},
		{ResourceRef: de, ObservedAt: t0.Add(time.Hour), Status: "b"}, // the state at the cutoff: kept
		{ResourceRef: de, ObservedAt: now.Add(-time.Hour), Status: "c"},
		{ResourceRef: stale, ObservedAt: t0}, // old but the latest of its resource: kept
	})
	if err != nil {
		t.Fatal(err)
	}
	oldInc, _, _ := s.OpenOrUpdateIncident(ctx, upsert("old", t0, Evidence{Kind: EvidenceEvent, RefID: 1}))
	if _, err := s.ResolveIncident(ctx, oldInc.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	stillOpen, _, _ := s.OpenOrUpdateIncident(ctx, upsert("open", t0))
	recent, _, _ := s.OpenOrUpdateIncident(ctx, upsert("recent", now.Add(-2*time.Hour)))
	if _, err := s.ResolveIncident(ctx, recent.ID, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsage(ctx, UsageDelta{Tenant: "a", Endpoint: "/e", At: t0, Calls: 1}, UsageDelta{Tenant: "a", Endpoint: "/e", At: now, Calls: 1}); err != nil {
		t.Fatal(err)
	}

	// Zero retention keeps everything.
	if res, err := s.Prune(ctx, now, Retention{}); err != nil || res != (PruneResult{}) {
		t.Fatalf("Prune(zero) = %+v, %v", res, err)
	}
	week := 7 * 24 * time.Hour
	res, err := s.Prune(ctx, now, Retention{Events: week, Snapshots: week, Incidents: week, Usage: week})
	if err != nil {
		t.Fatal(err)
	}
	if res != (PruneResult{Events: oldEvents, Snapshots: 1, Incidents: 1, Usage: 1}) {
		t.Errorf("Prune = %+v", res)
	}
	left, _ := s.QueryEvents(ctx, EventQuery{})
	if len(left) != 3 {
		t.Errorf("%d events left, want 3", len(left))
	}
	if l, err := s.LatestSnapshot(ctx, stale); err != nil || l.ID != snapIDs[3] {
		t.Errorf("stale resource's only snapshot = %+v, %v", l, err)
	}
	if h, _ := s.SnapshotHistory(ctx, de, time.Time{}, time.Time{}, 0); len(h) != 2 || h[0].ID != snapIDs[1] || h[1].ID != snapIDs[2] {
		t.Errorf("DE-1 history after prune = %+v", h)
	}
	if _, err := s.GetIncident(ctx, oldInc.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("old resolved incident = %v, want pruned", err)
	}
	for _, id := range []int64{stillOpen.ID, recent.ID} {
		if _, err := s.GetIncident(ctx, id); err != nil {
			t.Errorf("incident %d pruned: %v", id, err)
		}
	}
	if rows, _ := s.Usage(ctx, UsageQuery{}); len(rows) != 1 {
		t.Errorf("usage rows = %+v", rows)
	}
}

func testCanceledContext(t *testing.T, h harness) {
	s := openT(t, h.fresh(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.InsertEvents(ctx, []EventRecord{ev(t0, "a", "x", "/e", "none", 200, "")}); err == nil {
		t.Error("InsertEvents with canceled context succeeded")
	}
	if _, err := s.ClaimDue(ctx, "w", t0, time.Minute, 1); err == nil {
		t.Error("ClaimDue with canceled context succeeded")
	}
	if all, err := s.QueryEvents(t.Context(), EventQuery{}); err != nil || len(all) != 0 {
		t.Errorf("after canceled insert: %d events, %v", len(all), err)
	}
}
