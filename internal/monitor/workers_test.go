package monitor

import (
	"fmt"
	"testing"
	"time"
)

func TestSizeFor(t *testing.T) {
	for _, c := range []struct {
		name       string
		load       float64
		items, max int
		want       int
	}{
		{"idle", 0, 7, 128, 3},
		{"one tenant", 0.09, 7, 128, 3},
		{"load doubled plus slack", 5.6, 1400, 128, 14},
		{"capped", 100, 1400, 128, 128},
		{"never more than the items", 10, 4, 128, 4},
		{"never fewer than the minimum", 0, 1, 128, 3},
	} {
		if got := sizeFor(c.load, c.items, c.max); got != c.want {
			t.Errorf("%s: sizeFor(%v, %d, %d) = %d, want %d", c.name, c.load, c.items, c.max, got, c.want)
		}
	}
}

func TestPoolSizerLearnsDurations(t *testing.T) {
	p := newPoolSizer(0, 128)
	items := map[itemKey]time.Duration{}
	for i := range 100 {
		items[itemKey{fmt.Sprint("bu", i), "automation"}] = 5 * time.Minute
		items[itemKey{fmt.Sprint("bu", i), "tenant"}] = time.Minute
	}
	p.setItems(items)
	// Guess: 100 × 5 s/300 s + 100 × 0.1 s/60 s ≈ 1.83 busy → 2×1.83+2 → 6.
	if got := p.want(); got != 6 {
		t.Fatalf("guessed pool %d, want 6", got)
	}
	for range 30 {
		for k := range items {
			if k.key == "automation" {
				p.observe(k, 30*time.Second)
			}
		}
	}
	// Measured: 100 × 30 s/300 s = 10 busy → 2×10(+0.17)+2 → 23.
	if got := p.want(); got != 23 {
		t.Fatalf("measured pool %d, want 23", got)
	}
	if got := newPoolSizer(4, 128).want(); got != 4 {
		t.Fatalf("fixed pool %d, want 4", got)
	}
}
