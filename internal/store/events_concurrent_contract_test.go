package store

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// testEventsConcurrentDuplicates: two writers store the same request ids
// at once, in opposite orders (two replicas reading the same log, or a
// client retrying a batch through two ingest endpoints). Every call is
// stored once and neither writer fails: on PostgreSQL, rows inserted in
// different orders under a unique index deadlock unless every batch
// takes its keys in one order.
func testEventsConcurrentDuplicates(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	const n = 3000
	fwd := make([]EventRecord, n)
	for i := range fwd {
		fwd[i] = ev(t0.Add(time.Duration(i)*time.Millisecond), "a", "crm", "/e", "auth", 401, fmt.Sprintf("req-%05d", i))
	}
	for round := range 4 {
		rev := slices.Clone(fwd)
		slices.Reverse(rev)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		res := make([]InsertResult, 2)
		for w, batch := range [][]EventRecord{fwd, rev} {
			wg.Go(func() { res[w], errs[w] = s.InsertEvents(ctx, batch) })
		}
		wg.Wait()
		for w, err := range errs {
			if err != nil {
				t.Fatalf("round %d writer %d: %v", round, w, err)
			}
		}
		if got := res[0].Inserted + res[1].Inserted; (round == 0 && got != n) || (round > 0 && got != 0) {
			t.Fatalf("round %d: inserted %d+%d", round, res[0].Inserted, res[1].Inserted)
		}
	}
	all, err := s.QueryEvents(ctx, EventQuery{Limit: 2 * n})
	if err != nil || len(all) != n {
		t.Fatalf("stored %d events (%v), want %d", len(all), err, n)
	}
}
