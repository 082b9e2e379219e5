package store

import (
	"testing"
	"time"
)

// testSnapshotsOnChange: identical polls add no rows but move the latest
// row's last observation; a change inserts; latest and history keep their
// meaning (latest observed at the last poll, history anchored at from);
// retention keeps the row the state at its cutoff depends on.
func testSnapshotsOnChange(t *testing.T, h harness) {
	ctx := t.Context()
	cfg := h.fresh(t)
	s := openT(t, cfg)
	db := h.raw(t, cfg)
	rows := func() int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM snapshots").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ref := ResourceRef{Tenant: "a", ResourceType: "data_extension", ResourceKey: "DE-1"}
	bare := ResourceRef{Tenant: "a", ResourceType: "data_extension", ResourceKey: "DE-2"}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	// Counters built in different orders are the same counters.
	stateA := func(m int) Snapshot {
		c := map[string]int64{"sent": 1}
		c["errors"] = 0
		return Snapshot{ResourceRef: ref, ObservedAt: at(m), Status: "Active", LastRunAt: t0.Add(-time.Hour),
			RowCount: i64(10), SchemaHash: "h1", Counters: c, Payload: []byte(`{"name":"Subs","loads":[1,2]}`)}
	}
	stateB := func(m int) Snapshot {
		sn := stateA(m)
		sn.Payload = []byte(`{"name":"Subs","loads":[1,2,3]}`)
		return sn
	}
	insert := func(sn ...Snapshot) []int64 {
		t.Helper()
		ids, err := s.InsertSnapshots(ctx, sn)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	a := insert(stateA(0), Snapshot{ResourceRef: bare, ObservedAt: at(0)})
	if rows() != 2 {
		t.Fatalf("%d rows after the first poll, want 2", rows())
	}
	// Two identical polls: no rows, same ids, the latest observed at the
	// last poll.
	for _, m := range []int{5, 10} {
		batch := []Snapshot{stateA(m), {ResourceRef: bare, ObservedAt: at(m)}}
		if ids := insert(batch...); ids[0] != a[0] || ids[1] != a[1] || batch[0].ID != a[0] {
			t.Fatalf("identical poll at %d min: ids %v (batch id %d), want %v", m, ids, batch[0].ID, a)
		}
	}
	if n := rows(); n != 2 {
		t.Fatalf("%d rows after identical polls, want 2", n)
	}
	latest, err := s.LatestSnapshot(ctx, ref)
	if err != nil || latest.ID != a[0] || !latest.ObservedAt.Equal(at(10)) || latest.Counters["sent"] != 1 || *latest.RowCount != 10 {
		t.Fatalf("LatestSnapshot = %+v, %v; want id %d observed at %v", latest, err, a[0], at(10))
	}
	all, err := s.LatestSnapshots(ctx, "a", "data_extension")
	if err != nil || len(all) != 2 || !all[0].ObservedAt.Equal(at(10)) || !all[1].ObservedAt.Equal(at(10)) {
		t.Fatalf("LatestSnapshots = %+v, %v; want both observed at %v", all, err, at(10))
	}
	// Any stored field differing is a change: payload, row count (also
	// to and from NULL), status, counters, last run, schema hash.
	b := insert(stateB(15))
	if b[0] == a[0] || rows() != 3 {
		t.Fatalf("changed payload: id %v, %d rows", b, rows())
	}
	if ids := insert(stateB(20)); ids[0] != b[0] || rows() != 3 {
		t.Fatalf("identical to B: id %v, %d rows", ids, rows())
	}
	// Back to A: compared with the latest row (B), so a new row.
	c := insert(stateA(25))
	if c[0] == a[0] || c[0] == b[0] || rows() != 4 {
		t.Fatalf("back to A: id %v, %d rows", c, rows())
	}
	changes := []func(*Snapshot){
		func(sn *Snapshot) { sn.RowCount = nil },
		func(sn *Snapshot) { sn.RowCount = i64(11) },
		func(sn *Snapshot) { sn.Status = "Paused" },
		func(sn *Snapshot) { sn.Counters["sent"] = 2 },
		func(sn *Snapshot) { sn.Counters = nil },
		func(sn *Snapshot) { sn.LastRunAt = time.Time{} },
		func(sn *Snapshot) { sn.SchemaHash = "h2" },
		func(sn *Snapshot) { sn.Payload = nil },
	}
	for i, change := range changes {
		base := stateA(0)
		base.ResourceRef = ResourceRef{Tenant: "b", ResourceType: "automation", ResourceKey: string(rune('a' + i))}
		next := stateA(5)
		next.ResourceRef = base.ResourceRef
		change(&next)
		ids := insert(base, next)
		if ids[0] == ids[1] {
			t.Errorf("change %d: stored as identical", i)
		}
		// And the changed state repeated is identical again.
		again := stateA(10)
		again.ResourceRef = base.ResourceRef
		change(&again)
		if id := insert(again); id[0] != ids[1] {
			t.Errorf("change %d repeated: id %d, want %d", i, id[0], ids[1])
		}
	}

	hist := func(from, to time.Time, limit int) []Snapshot {
		t.Helper()
		h, err := s.SnapshotHistory(ctx, ref, from, to, limit)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	type pt struct {
		id int64
		m  int
	}
	check := func(name string, got []Snapshot, want ...pt) {
		t.Helper()
		ok := len(got) == len(want)
		for i := 0; ok && i < len(want); i++ {
			ok = got[i].ID == want[i].id && got[i].ObservedAt.Equal(at(want[i].m))
		}
		if !ok {
			var g []pt
			for _, sn := range got {
				g = append(g, pt{sn.ID, int(sn.ObservedAt.Sub(t0) / time.Minute)})
			}
			t.Errorf("%s = %v, want %v", name, g, want)
		}
	}
	// Every row at its first and last observation.
	check("whole history", hist(time.Time{}, time.Time{}, 0),
		pt{a[0], 0}, pt{a[0], 10}, pt{b[0], 15}, pt{b[0], 20}, pt{c[0], 25})
	// From inside A's run: A is the state at from (the anchor).
	check("history from 7 min", hist(at(7), time.Time{}, 0),
		pt{a[0], 7}, pt{a[0], 10}, pt{b[0], 15}, pt{b[0], 20}, pt{c[0], 25})
	// From after A's last observation: nothing observed at from.
	check("history from 12 min", hist(at(12), time.Time{}, 0),
		pt{b[0], 15}, pt{b[0], 20}, pt{c[0], 25})
	// B was still observed at to: its last observation in range unknown.
	check("history [7, 20) min", hist(at(7), at(20), 0), pt{a[0], 7}, pt{a[0], 10}, pt{b[0], 15})
	// The state at one instant.
	check("state at 20 min", hist(at(20), at(20).Add(time.Microsecond), 1), pt{b[0], 20})
	check("state at 17 min", hist(at(17), at(17).Add(time.Microsecond), 1), pt{b[0], 17})
	check("limit", hist(time.Time{}, time.Time{}, 2), pt{a[0], 0}, pt{a[0], 10})
	check("empty range", hist(at(17), at(17), 0))

	// Retention with its cutoff at 20 min: A goes, B (the state at the
	// cutoff) stays, as does the bare DE's only row however old; of each
	// changed object the first row goes.
	res, err := s.Prune(ctx, at(20).Add(time.Hour), Retention{Snapshots: time.Hour})
	if want := int64(1 + len(changes)); err != nil || res.Snapshots != want {
		t.Fatalf("Prune = %+v, %v; want %d snapshots deleted", res, err, want)
	}
	check("history from the cutoff after prune", hist(at(20), time.Time{}, 0), pt{b[0], 20}, pt{c[0], 25})
	check("whole history after prune", hist(time.Time{}, time.Time{}, 0), pt{b[0], 15}, pt{b[0], 20}, pt{c[0], 25})
	if l, err := s.LatestSnapshot(ctx, bare); err != nil || l.ID != a[1] || !l.ObservedAt.Equal(at(10)) {
		t.Errorf("bare DE after prune = %+v, %v", l, err)
	}
	// Pruning again deletes nothing: the anchor is never pruned.
	if res, err := s.Prune(ctx, at(20).Add(time.Hour), Retention{Snapshots: time.Hour}); err != nil || res.Snapshots != 0 {
		t.Errorf("second Prune = %+v, %v", res, err)
	}
}

// testSnapshotsOnChangeNanoseconds: a last run with nanoseconds (taken
// from a poll's clock) is stored in microseconds; the next identical poll
// is still identical, not a new row every poll.
func testSnapshotsOnChangeNanoseconds(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	ref := ResourceRef{Tenant: "a", ResourceType: "data_extension", ResourceKey: "DE-ns"}
	run := t0.Add(-time.Hour + 848_900*time.Nanosecond)
	poll := func(m int) int64 {
		t.Helper()
		ids, err := s.InsertSnapshots(ctx, []Snapshot{{ResourceRef: ref, ObservedAt: t0.Add(time.Duration(m) * time.Minute),
			Status: "active", LastRunAt: run, RowCount: i64(3), Payload: []byte(`{"row_count_at":"2026-03-02T09:00:00.0008489Z"}`)}})
		if err != nil {
			t.Fatal(err)
		}
		return ids[0]
	}
	first := poll(0)
	for _, m := range []int{15, 30} {
		if id := poll(m); id != first {
			t.Fatalf("identical poll at %d min: row %d, want the first row %d extended", m, id, first)
		}
	}
	hist, err := s.SnapshotHistory(ctx, ref, time.Time{}, time.Time{}, 0)
	if err != nil || len(hist) == 0 {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	for _, sn := range hist {
		if sn.ID != first || !sn.LastRunAt.Equal(run.Truncate(time.Microsecond)) {
			t.Fatalf("history = %+v; want row %d only, last run %v", hist, first, run.Truncate(time.Microsecond))
		}
	}
}
