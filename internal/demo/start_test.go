package demo

import (
	"testing"
	"time"
)

// TestStoryStartFor: the story starts at 10:00 UTC, of the current day
// from 10:00 on and of the day before earlier, whenever the demo runs.
func TestStoryStartFor(t *testing.T) {
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	for _, c := range []struct{ now, want time.Time }{
		{at(25, 10, 37), at(25, 10, 0)},
		{at(25, 10, 0), at(25, 10, 0)},
		{at(25, 23, 59), at(25, 10, 0)},
		{at(25, 9, 59), at(24, 10, 0)},
		{at(25, 0, 5), at(24, 10, 0)},
		{time.Date(2026, 11, 25, 12, 37, 0, 0, time.FixedZone("CET", 3600)), at(25, 10, 0)},
		{time.Date(2026, 11, 25, 10, 30, 0, 0, time.FixedZone("CET", 3600)), at(24, 10, 0)},
	} {
		if got := storyStartFor(c.now); !got.Equal(c.want) {
			t.Errorf("storyStartFor(%s) = %s, want %s", c.now.Format(time.RFC3339), got.Format(time.RFC3339), c.want.Format(time.RFC3339))
		}
	}
}
