package digest

import (
	"slices"
	"testing"
	"time"
)

// TestChildrenUnderTheirCause: a child is listed right after its cause
// with "caused by #N"; a child whose cause is not in the list stays where
// it was.
func TestChildrenUnderTheirCause(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ins := []Incident{
		{ID: 1, OpenedAt: t0},
		{ID: 2, OpenedAt: t0.Add(time.Minute), Cause: "sfmc.outage"},
		{ID: 3, OpenedAt: t0.Add(2 * time.Minute)},
		{ID: 4, OpenedAt: t0.Add(3 * time.Minute), CausedBy: 2},
		{ID: 5, OpenedAt: t0.Add(4 * time.Minute), CausedBy: 99},
		{ID: 6, OpenedAt: t0.Add(5 * time.Minute), CausedBy: 2},
	}
	var got []int64
	for _, in := range underCauses(ins) {
		got = append(got, in.ID)
	}
	if want := []int64{1, 2, 4, 6, 3, 5}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if n := ins[3].CauseNote(); n != " (caused by #2)" {
		t.Errorf("CauseNote = %q", n)
	}
	if n := ins[0].CauseNote(); n != "" {
		t.Errorf("top-level CauseNote = %q", n)
	}
}
