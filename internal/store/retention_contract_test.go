package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// runsPayload is an automation-like payload: a name and the last ten of
// n runs, so each run shifts the list by one (what polls store).
func runsPayload(name string, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"name":%q,"runs":[`, name)
	for i := max(0, n-10); i < n; i++ {
		if i > max(0, n-10) {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"run-%08d-%s","status":"complete","started_at":"2026-03-02T%02d:%02d:00Z","rows":%d}`,
			i*7919, name, i/60%24, i%60, 1000+i*13)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// testSnapshotsPacked: counters and payload come back byte for byte from
// packed rows (latest, latest of a type, history), rows of one object
// share a base while they resemble it, a dissimilar state starts a new
// one, the stored bytes are a fraction of the payloads, and retention
// removes the bases no row refers to any more.
func testSnapshotsPacked(t *testing.T, h harness) {
	ctx := t.Context()
	cfg := h.fresh(t)
	s := openT(t, cfg)
	db := h.raw(t, cfg)
	count := func(q string) int64 {
		t.Helper()
		var n int64
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	refs := []ResourceRef{
		{Tenant: "a", ResourceType: "automation", ResourceKey: "A-1"},
		{Tenant: "a", ResourceType: "automation", ResourceKey: "A-2"},
	}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	type state struct {
		counters map[string]int64
		payload  []byte
	}
	want := map[int64]state{}
	var raw int
	const polls = 60
	for i := range polls {
		batch := make([]Snapshot, len(refs))
		for j, ref := range refs {
			batch[j] = Snapshot{ResourceRef: ref, ObservedAt: at(10 * i), Status: "Scheduled",
				Counters: map[string]int64{"sent": int64(100*i + j), "errors": int64(i / 10)},
				Payload:  runsPayload(ref.ResourceKey, i+1)}
			raw += len(batch[j].Payload)
		}
		if _, err := s.InsertSnapshots(ctx, batch); err != nil {
			t.Fatal(err)
		}
		for _, sn := range batch {
			want[sn.ID] = state{sn.Counters, sn.Payload}
		}
	}
	same := func(name string, got Snapshot) {
		t.Helper()
		w, ok := want[got.ID]
		if !ok {
			t.Fatalf("%s: unknown id %d", name, got.ID)
		}
		if !bytes.Equal(got.Payload, w.payload) || fmt.Sprint(got.Counters) != fmt.Sprint(w.counters) {
			t.Fatalf("%s: snapshot %d = %v %s, want %v %s", name, got.ID, got.Counters, got.Payload, w.counters, w.payload)
		}
	}
	for _, ref := range refs {
		hist, err := s.SnapshotHistory(ctx, ref, time.Time{}, time.Time{}, 0)
		if err != nil || len(hist) != polls {
			t.Fatalf("history of %s: %d rows, %v", ref.ResourceKey, len(hist), err)
		}
		for _, sn := range hist {
			same("history", sn)
		}
		l, err := s.LatestSnapshot(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		same("latest", l)
	}
	all, err := s.LatestSnapshots(ctx, "a", "automation")
	if err != nil || len(all) != 2 {
		t.Fatalf("LatestSnapshots: %d, %v", len(all), err)
	}
	for _, sn := range all {
		same("latest of the type", sn)
	}
	// A fresh store (empty base cache) reads the same.
	s2 := openT(t, cfg)
	hist, err := s2.SnapshotHistory(ctx, refs[1], at(100), at(200), 0)
	if err != nil || len(hist) == 0 {
		t.Fatalf("history from a second store: %d, %v", len(hist), err)
	}
	for _, sn := range hist {
		same("history from a second store", sn)
	}

	bases := count(`SELECT COUNT(*) FROM snapshot_bases`)
	if bases < 2 || bases > 2*polls/2 {
		t.Errorf("%d bases for %d rows of 2 objects: want deltas against shared bases", bases, 2*polls)
	}
	stored := count(`SELECT SUM(LENGTH(packed)) FROM snapshots`) + count(`SELECT SUM(LENGTH(body)) FROM snapshot_bases`)
	if stored*5 > int64(raw) {
		t.Errorf("stored %d bytes for %d bytes of payload: want at most a fifth", stored, raw)
	}
	if n := count(`SELECT COUNT(*) FROM snapshots WHERE payload IS NOT NULL OR counters IS NOT NULL`); n != 0 {
		t.Errorf("%d rows with unpacked counters or payload", n)
	}

	// A state unlike its base starts a new base; it reads back too.
	rnd := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 3000)
	for i := range noise {
		noise[i] = 'a' + byte(rnd.IntN(26))
	}
	odd := Snapshot{ResourceRef: refs[0], ObservedAt: at(10 * polls), Payload: []byte(`{"blob":"` + string(noise) + `"}`)}
	if ids, err := s.InsertSnapshots(ctx, []Snapshot{odd}); err != nil {
		t.Fatal(err)
	} else {
		odd.ID = ids[0]
	}
	want[odd.ID] = state{nil, odd.Payload}
	if n := count(`SELECT COUNT(*) FROM snapshot_bases`); n != bases+1 {
		t.Errorf("%d bases after a dissimilar state, want %d", n, bases+1)
	}
	l, err := s.LatestSnapshot(ctx, refs[0])
	if err != nil {
		t.Fatal(err)
	}
	same("dissimilar latest", l)
	// Identical to the dissimilar state: no row, no base.
	again := odd
	again.ObservedAt = at(10*polls + 5)
	if ids, err := s.InsertSnapshots(ctx, []Snapshot{again}); err != nil || ids[0] != odd.ID {
		t.Fatalf("identical poll: %v, %v; want id %d", ids, err, odd.ID)
	}

	// Retention down to the last rows: the bases nobody refers to go,
	// what is left still reads.
	res, err := s.Prune(ctx, at(10*polls).Add(time.Minute), Retention{Snapshots: time.Minute})
	if err != nil || res.Snapshots == 0 || res.Bases == 0 {
		t.Fatalf("Prune = %+v, %v; want snapshots and bases removed", res, err)
	}
	if n := count(`SELECT COUNT(*) FROM snapshot_bases b WHERE NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.base_id = b.id)`); n != 0 {
		t.Errorf("%d unreferenced bases after prune", n)
	}
	for _, ref := range refs {
		hist, err := s2.SnapshotHistory(ctx, ref, time.Time{}, time.Time{}, 0)
		if err != nil || len(hist) == 0 {
			t.Fatalf("history after prune: %d, %v", len(hist), err)
		}
		for _, sn := range hist {
			same("history after prune", sn)
		}
	}
}

// testSnapshotsDownsample: beyond the full-resolution window each object
// keeps its last row of each hour (the latest always); inside it every
// row stays; a second run removes nothing; hourly history still reads.
func testSnapshotsDownsample(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	ref := ResourceRef{Tenant: "a", ResourceType: "triggered_send", ResourceKey: "TS-1"}
	quiet := ResourceRef{Tenant: "a", ResourceType: "triggered_send", ResourceKey: "TS-quiet"}
	// Every 10 min for 6 h, a counter that grows every poll.
	var batch []Snapshot
	for i := range 36 {
		batch = append(batch, Snapshot{ResourceRef: ref, ObservedAt: t0.Add(time.Duration(i) * 10 * time.Minute),
			Counters: map[string]int64{"sent": int64(i * 10)}})
	}
	batch = append(batch, Snapshot{ResourceRef: quiet, ObservedAt: t0.Add(5 * time.Minute), Status: "Active"})
	if _, err := s.InsertSnapshots(ctx, batch); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(6 * time.Hour)
	full := 3 * time.Hour // hours 0-2 downsampled, 3-5 at full resolution
	res, err := s.Prune(ctx, now, Retention{Snapshots: 30 * 24 * time.Hour, FullResolution: full})
	if err != nil {
		t.Fatal(err)
	}
	if res.Downsampled != 3*5 || res.Snapshots != 0 {
		t.Errorf("Prune = %+v, want 15 rows downsampled (5 of each of 3 hours)", res)
	}
	hist, err := s.SnapshotHistory(ctx, ref, time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sn := range hist {
		got = append(got, fmt.Sprintf("%s=%d", sn.ObservedAt.Sub(t0), sn.Counters["sent"]))
	}
	want := []string{"50m0s=50", "1h50m0s=110", "2h50m0s=170"}
	for i := 18; i < 36; i++ {
		want = append(want, fmt.Sprintf("%s=%d", time.Duration(i)*10*time.Minute, i*10))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("history after downsampling = %v\nwant %v", got, want)
	}
	if l, err := s.LatestSnapshot(ctx, quiet); err != nil || l.Status != "Active" {
		t.Errorf("quiet object's only row = %+v, %v", l, err)
	}
	// The hour-of-week reading (tsSentPerHour): the counter at the end of
	// hour 1 against the end of hour 0.
	h1, err := s.SnapshotHistory(ctx, ref, t0.Add(time.Hour), t0.Add(2*time.Hour), 0)
	if err != nil || len(h1) != 1 || h1[0].Counters["sent"] != 110 {
		t.Errorf("hour 1 after downsampling = %+v, %v", h1, err)
	}
	if res, err := s.Prune(ctx, now, Retention{Snapshots: 30 * 24 * time.Hour, FullResolution: full}); err != nil || res.Downsampled != 0 {
		t.Errorf("second Prune = %+v, %v; want nothing downsampled", res, err)
	}
	// An hour later, hour 3 leaves the window.
	if res, err := s.Prune(ctx, now.Add(time.Hour), Retention{Snapshots: 30 * 24 * time.Hour, FullResolution: full}); err != nil || res.Downsampled != 5 {
		t.Errorf("Prune an hour later = %+v, %v; want 5 rows downsampled", res, err)
	}
}

// testPruneCallDetail: successful calls of the detail source lose their
// rows and per-second aggregates beyond CallDetail, a range at a time
// (the cursor); failed calls of that source and every call of other
// sources keep theirs.
func testPruneCallDetail(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	var recs []EventRecord
	// One call a minute for 5 h from t0: successes of the monitor's own
	// client, every 10th a 500; the same from an integration's proxy.
	for i := range 300 {
		at := t0.Add(time.Duration(i)*time.Minute + 250*time.Millisecond)
		fam, status := "none", 200
		if i%10 == 0 {
			fam, status = "server", 500
		}
		for _, src := range []string{"client", "proxy"} {
			e := ev(at, "a", "i", "/automation/v1/automations", fam, status, "")
			e.Source = src
			recs = append(recs, e)
		}
	}
	if _, err := s.InsertEvents(ctx, recs); err != nil {
		t.Fatal(err)
	}
	count := func(src string, errorsOnly bool) int {
		t.Helper()
		evs, err := s.QueryEvents(ctx, EventQuery{Tenant: "a", Source: src, ErrorsOnly: errorsOnly, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	buckets := func(src string, from, to time.Time) (ok, failed int64) {
		t.Helper()
		rows, err := s.(BucketReader).EventBuckets(ctx, BucketQuery{Tenant: "a", Source: src, From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Failed {
				failed += r.N
			} else {
				ok += r.N
			}
		}
		return ok, failed
	}
	r := Retention{Events: 30 * 24 * time.Hour, CallDetail: 3 * time.Hour, CallDetailSource: "client"}
	now := t0.Add(5 * time.Hour) // calls before t0+2h lose their detail
	res, err := s.Prune(ctx, now, r)
	if err != nil {
		t.Fatal(err)
	}
	if res.CallDetail != 108 || res.Events != 0 {
		t.Errorf("Prune = %+v, want 108 successful client calls of the first 2 h removed, no other event", res)
	}
	if got := count("client", false); got != 300-108 {
		t.Errorf("client events left = %d, want %d", got, 300-108)
	}
	if got := count("client", true); got != 30 {
		t.Errorf("client failures left = %d, want all 30", got)
	}
	if got := count("proxy", false); got != 300 {
		t.Errorf("proxy events left = %d, want all 300", got)
	}
	if ok, failed := buckets("client", time.Time{}, t0.Add(2*time.Hour)); ok != 0 || failed != 12 {
		t.Errorf("client aggregates before the cutoff: %d ok, %d failed; want 0 and 12", ok, failed)
	}
	if ok, failed := buckets("client", t0.Add(2*time.Hour), time.Time{}); ok != 162 || failed != 18 {
		t.Errorf("client aggregates after the cutoff: %d ok, %d failed; want 162 and 18", ok, failed)
	}
	if ok, failed := buckets("proxy", time.Time{}, time.Time{}); ok != 270 || failed != 30 {
		t.Errorf("proxy aggregates: %d ok, %d failed; want 270 and 30", ok, failed)
	}
	if res, err := s.Prune(ctx, now, r); err != nil || res.CallDetail != 0 {
		t.Errorf("second Prune = %+v, %v; want nothing more", res, err)
	}
	// A successful call stored late, behind the cursor (within the hour
	// before it), still goes on the next run.
	late := ev(t0.Add(110*time.Minute+500*time.Millisecond), "a", "i", "/automation/v1/automations", "none", 200, "")
	late.Source = "client"
	if _, err := s.InsertEvents(ctx, []EventRecord{late}); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Prune(ctx, now, r); err != nil || res.CallDetail != 1 {
		t.Errorf("Prune after a late call = %+v, %v; want it removed", res, err)
	}
	// An hour later, the next hour goes (54 successes).
	if res, err := s.Prune(ctx, now.Add(time.Hour), r); err != nil || res.CallDetail != 54 {
		t.Errorf("Prune an hour later = %+v, %v; want 54 removed", res, err)
	}
	// Without CallDetail nothing of the kind goes.
	s2 := openT(t, h.fresh(t))
	if _, err := s2.InsertEvents(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if res, err := s2.Prune(ctx, now, Retention{Events: 30 * 24 * time.Hour}); err != nil || res.CallDetail != 0 {
		t.Errorf("Prune without CallDetail = %+v, %v", res, err)
	}
}

// testPruneBySize: over MaxBytes, the oldest days of events and snapshot
// history go, never what is younger than MinAge; under it nothing goes.
func testPruneBySize(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	now := t0.Add(10 * 24 * time.Hour)
	var recs []EventRecord
	for d := range 10 {
		for i := range 50 {
			r := ev(t0.Add(time.Duration(d)*24*time.Hour+time.Duration(i)*time.Minute), "a", "x", "/e", "none", 200, "")
			r.Body = bytes.Repeat([]byte{'x' + byte(i%3)}, 2000)
			recs = append(recs, r)
		}
	}
	if _, err := s.InsertEvents(ctx, recs); err != nil {
		t.Fatal(err)
	}
	// A bound far above the size removes nothing.
	if res, err := s.Prune(ctx, now, Retention{MaxBytes: 1 << 40}); err != nil || res.BySize != 0 {
		t.Fatalf("Prune(huge bound) = %+v, %v", res, err)
	}
	// A bound nothing fits under: the oldest days go, down to MinAge at
	// most (on PostgreSQL, whose statistics lag, one day per run).
	minAge := 3 * 24 * time.Hour
	res, err := s.Prune(ctx, now, Retention{MaxBytes: 1, MinAge: minAge})
	if err != nil || res.BySize == 0 {
		t.Fatalf("Prune(tiny bound) = %+v, %v; want events removed", res, err)
	}
	left, err := s.QueryEvents(ctx, EventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		if e.TS.Before(t0) {
			t.Fatalf("event at %v", e.TS)
		}
	}
	oldest := now
	for _, e := range left {
		if e.TS.Before(oldest) {
			oldest = e.TS
		}
	}
	if young := 3 * 50; len(left) < young {
		t.Errorf("%d events left, want at least the %d younger than MinAge", len(left), young)
	}
	if h.driver == DriverSQLite && !oldest.Equal(t0.Add(7*24*time.Hour)) {
		t.Errorf("oldest event left at %v, want %v (everything older than MinAge gone)", oldest, t0.Add(7*24*time.Hour))
	}
	if h.driver != DriverSQLite && !oldest.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("oldest event left at %v, want %v (one day per run)", oldest, t0.Add(24*time.Hour))
	}
}
