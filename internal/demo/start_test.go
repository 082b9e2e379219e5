package demo

import (
	"testing"
	"time"
)

// TestStoryStartFor: the story starts on the hour, and early enough to
// end before midnight UTC, whatever minute the demo is started at.
func TestStoryStartFor(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 25, h, m, 0, 0, time.UTC) }
	for _, c := range []struct{ now, want time.Time }{
		{at(10, 37), at(10, 0)},
		{at(10, 0), at(10, 0)},
		{at(0, 5), at(0, 0)},
		{at(17, 59), at(17, 0)},
		{at(18, 30), at(18, 0)},
		{at(20, 15), at(18, 0)},
		{at(23, 59), at(18, 0)},
		{time.Date(2026, 11, 25, 12, 37, 0, 0, time.FixedZone("CET", 3600)), at(11, 0)},
	} {
		if got := storyStartFor(c.now); !got.Equal(c.want) {
			t.Errorf("storyStartFor(%s) = %s, want %s", c.now.Format(time.RFC3339), got.Format(time.RFC3339), c.want.Format(time.RFC3339))
		}
	}
}
