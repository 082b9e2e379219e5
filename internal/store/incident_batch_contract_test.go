package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// testIncidentBatch: ApplyIncidents writes like OpenOrUpdateIncident and
// CompareAndSetCursor + ResolveFingerprint item by item, returns results
// in input order, and a failing item is rolled back alone.
func testIncidentBatch(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	ref := openT(t, h.fresh(t)) // the same writes, one call per item

	// Two evaluations of the same findings, through both paths.
	evals := [][]IncidentUpsert{
		{upsert("fp-b", t0, Evidence{Kind: EvidenceEvent, RefID: 1}), upsert("fp-a", t0), upsert("fp-c", t0)},
		{upsert("fp-c", t0.Add(time.Minute), Evidence{Kind: EvidenceSnapshot, RefID: 2}), upsert("fp-a", t0.Add(time.Minute))},
	}
	evals[1][1].Severity, evals[1][1].Title, evals[1][1].Detail = "warning", "new title", "masked detail"
	evals[1][1].FailureStartedAt = t0.Add(-time.Hour)
	for i, ups := range evals {
		res, err := s.ApplyIncidents(ctx, IncidentBatch{Upserts: ups})
		if err != nil || len(res.Upserts) != len(ups) || len(res.Clears) != 0 {
			t.Fatalf("eval %d: ApplyIncidents = %+v, %v", i, res, err)
		}
		for j, u := range ups {
			want, wantCreated, err := ref.OpenOrUpdateIncident(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			got := res.Upserts[j]
			if got.Err != nil || got.Incident.Fingerprint != u.Fingerprint || got.Created != wantCreated {
				t.Fatalf("eval %d item %d (%s) = %+v, want created %v", i, j, u.Fingerprint, got, wantCreated)
			}
			want.ID, got.Incident.ID = 0, 0 // ids follow the write order
			if fmt.Sprintf("%+v", got.Incident) != fmt.Sprintf("%+v", want) {
				t.Errorf("eval %d %s:\nbatch    %+v\none call %+v", i, u.Fingerprint, got.Incident, want)
			}
		}
	}
	for _, fp := range []string{"fp-b", "fp-c"} {
		a, b := evidenceOf(t, s, fp), evidenceOf(t, ref, fp)
		if !slices.Equal(a, b) || len(a) == 0 {
			t.Errorf("%s evidence: batch %v, one call %v", fp, a, b)
		}
	}

	// Clear marks: a first count, a lost compare-and-set, a count that
	// resolves, a resolve of a fingerprint with nothing open. One invalid
	// upsert and one failing upsert (an unknown evidence kind, rolled back
	// alone: its incident is not counted) do not stop the rest.
	if err := s.CompareAndSetCursor(ctx, "clear/fp-c", "", "1", t0); err != nil {
		t.Fatal(err)
	}
	before := incidentByFP(t, s, "fp-a")
	bad := upsert("fp-a", t0.Add(2*time.Minute), Evidence{Kind: "bogus", RefID: 9})
	now := t0.Add(20 * time.Minute)
	res, err := s.ApplyIncidents(ctx, IncidentBatch{
		Upserts: []IncidentUpsert{bad, {Rule: "x", Now: now}, upsert("fp-d", now)},
		Clears: []ClearMark{
			{Cursor: "clear/fp-b", Old: "", Next: "1", Fingerprint: "fp-b", Now: now},
			{Cursor: "clear/fp-c", Old: "0", Next: "1", Fingerprint: "fp-c", Resolve: true, Now: now},
			{Cursor: "clear/fp-c", Old: "1", Next: "2", Fingerprint: "fp-c", Resolve: true, Now: now},
			{Cursor: "clear/fp-z", Old: "", Next: "5", Fingerprint: "fp-z", Resolve: true, Now: now},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if u := res.Upserts; u[0].Err == nil || u[1].Err == nil || u[2].Err != nil || !u[2].Created || u[2].Incident.Fingerprint != "fp-d" {
		t.Fatalf("upserts = %+v", u)
	}
	c := res.Clears
	if c[0].Err != nil || !c[0].Moved || c[0].Resolved {
		t.Errorf("first count = %+v", c[0])
	}
	if c[1].Err != nil || c[1].Moved || c[1].Resolved {
		t.Errorf("lost compare-and-set = %+v", c[1])
	}
	if c[2].Err != nil || !c[2].Moved || !c[2].Resolved || c[2].Incident.Fingerprint != "fp-c" ||
		c[2].Incident.Status != IncidentResolved || !c[2].Incident.ResolvedAt.Equal(now) {
		t.Errorf("resolving count = %+v", c[2])
	}
	if c[3].Err != nil || !c[3].Moved || c[3].Resolved {
		t.Errorf("resolve with nothing open = %+v", c[3])
	}
	for name, want := range map[string]string{"clear/fp-b": "1", "clear/fp-c": "2", "clear/fp-z": "5"} {
		if v, err := s.GetCursor(ctx, name); err != nil || v != want {
			t.Errorf("cursor %s = %q, %v; want %q", name, v, err, want)
		}
	}
	if after := incidentByFP(t, s, "fp-a"); after.Occurrences != before.Occurrences || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("the failing upsert was written: %+v (before %+v)", after, before)
	}
	if in := incidentByFP(t, s, "fp-b"); in.Status != IncidentOpen {
		t.Errorf("counted, not resolved: %+v", in)
	}

	// A batch that cannot run writes nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.ApplyIncidents(cctx, IncidentBatch{Upserts: []IncidentUpsert{upsert("fp-e", now)}}); err == nil {
		t.Error("ApplyIncidents with a cancelled context succeeded")
	}
	if l, err := s.ListIncidents(ctx, IncidentFilter{}); err != nil || slices.ContainsFunc(l, func(in Incident) bool { return in.Fingerprint == "fp-e" }) {
		t.Errorf("after a failed batch: %v, %v", l, err)
	}
	if res, err := s.ApplyIncidents(ctx, IncidentBatch{}); err != nil || len(res.Upserts)+len(res.Clears) != 0 {
		t.Errorf("empty batch = %+v, %v", res, err)
	}
}

// testIncidentBatchConcurrent: two replicas apply overlapping batches in
// opposite orders at once: no deadlock, no duplicate open incident, every
// update counted.
func testIncidentBatchConcurrent(t *testing.T, h harness) {
	ctx := t.Context()
	cfg := h.fresh(t)
	handles := []Store{openT(t, cfg), openT(t, cfg)}
	fps := []string{"r1", "r2", "r3", "r4", "r5"}
	const workers, each = 4, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*(len(fps)+1))
	for w := range workers {
		s := handles[w%len(handles)]
		order := slices.Clone(fps)
		if w%2 == 1 {
			slices.Reverse(order)
		}
		wg.Go(func() {
			for i := range each {
				var b IncidentBatch
				for _, fp := range order {
					b.Upserts = append(b.Upserts, upsert(fp, t0.Add(time.Duration(i)*time.Second), Evidence{Kind: EvidenceEvent, RefID: int64(w*100 + i)}))
				}
				res, err := s.ApplyIncidents(ctx, b)
				if err != nil {
					errs <- err
					return
				}
				for _, r := range res.Upserts {
					if r.Err != nil {
						errs <- r.Err
					}
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
	if err != nil || len(open) != len(fps) {
		t.Fatalf("open incidents = %d, %v; want %d", len(open), err, len(fps))
	}
	for _, in := range open {
		if in.Occurrences != workers*each {
			t.Errorf("%s: occurrences = %d, want %d", in.Fingerprint, in.Occurrences, workers*each)
		}
	}
}

func incidentByFP(t *testing.T, s Store, fp string) Incident {
	t.Helper()
	l, err := s.ListIncidents(t.Context(), IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range l {
		if in.Fingerprint == fp {
			return in
		}
	}
	t.Fatalf("no incident %s", fp)
	return Incident{}
}

func evidenceOf(t *testing.T, s Store, fp string) []string {
	t.Helper()
	in, err := s.GetIncident(t.Context(), incidentByFP(t, s, fp).ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range in.Evidence {
		out = append(out, fmt.Sprintf("%s:%d@%s", e.Kind, e.RefID, e.AddedAt.Format(time.RFC3339)))
	}
	return out
}

// testIncidentCorrelations: several correlation decisions in one call, in
// input order; a missing incident is reported and the others written.
func testIncidentCorrelations(t *testing.T, h harness) {
	ctx := t.Context()
	s := openT(t, h.fresh(t))
	var ids []int64
	for _, fp := range []string{"cause", "kid-1", "kid-2"} {
		in, _, err := s.OpenOrUpdateIncident(ctx, upsert(fp, t0))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, in.ID)
	}
	got, err := s.CorrelateIncidents(ctx, []IncidentCorrelation{
		{ID: ids[2], Correlation: Correlation{CausedBy: ids[0]}},
		{ID: 99999, Correlation: Correlation{CausedBy: ids[0]}},
		{ID: ids[0], Correlation: Correlation{Cause: "sfmc.outage", Title: "SFMC outage"}},
		{ID: ids[1], Correlation: Correlation{CausedBy: ids[0]}},
	})
	if !errors.Is(err, ErrNotFound) || len(got) != 4 {
		t.Fatalf("CorrelateIncidents = %+v, %v; want the missing one reported", got, err)
	}
	if got[0].ID != ids[2] || got[0].CausedBy != ids[0] || got[0].Title != "401 on /e" || got[1].ID != 0 ||
		got[2].ID != ids[0] || got[2].Cause != "sfmc.outage" || got[2].Title != "SFMC outage" || got[3].ID != ids[1] || got[3].CausedBy != ids[0] {
		t.Fatalf("CorrelateIncidents results = %+v", got)
	}
	kids, err := s.ListIncidents(ctx, IncidentFilter{CausedBy: ids[0]})
	if err != nil || len(kids) != 2 {
		t.Fatalf("children = %+v, %v", kids, err)
	}
	if got, err := s.CorrelateIncidents(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("no decisions = %+v, %v", got, err)
	}
}
