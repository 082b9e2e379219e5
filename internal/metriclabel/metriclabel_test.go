package metriclabel

import (
	"fmt"
	"sync"
	"testing"
)

// TestLimiterCapsSeries: 10,000 distinct values (integration names,
// tenants, sources) give at most the cap, Other included, from any number
// of goroutines; values seen before the cap keep their name.
func TestLimiterCapsSeries(t *testing.T) {
	l := NewLimiter(50)
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2500 {
				v := l.Label(fmt.Sprintf("integration-%d-%d", g, i))
				mu.Lock()
				seen[v] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 50 || !seen[Other] {
		t.Fatalf("%d label values (other: %v), want 50 with other", len(seen), seen[Other])
	}
	for v := range seen {
		if v != Other && l.Label(v) != v {
			t.Errorf("%q renamed after the cap", v)
		}
	}
}

func TestNotLabelLikeIsOther(t *testing.T) {
	l := NewLimiter(1000)
	for _, v := range []string{"jane@example.com", "jane%40example.com", "a\nb", "two  spaces", string(make([]byte, 65)), "\xff", "other"} {
		if got := l.Label(v); got != Other {
			t.Errorf("Label(%q) = %q, want other", v, got)
		}
	}
	for _, v := range []string{"crm-sync", "acme", "ens/EngagementEvents", "Some Tenant", ""} {
		if got := l.Label(v); got != v {
			t.Errorf("Label(%q) = %q", v, got)
		}
	}
}

func TestTopKeepsTheLargest(t *testing.T) {
	counts := map[string]int64{}
	for i := range 10000 {
		counts[fmt.Sprintf("code-%05d", i)] = int64(i)
	}
	counts["jane@example.com"] = 1 << 40
	label := Top(counts, 100)
	seen := map[string]bool{}
	for v := range counts {
		seen[label(v)] = true
	}
	if len(seen) != 100 || !seen[Other] || !seen["code-09999"] || seen["code-00000"] || seen["jane@example.com"] {
		t.Fatalf("%d labels; other %v, largest %v, smallest %v, address %v", len(seen), seen[Other], seen["code-09999"], seen["code-00000"], seen["jane@example.com"])
	}
	if l := Top(map[string]int64{"a": 1, "b": 2}, 100); l("a") != "a" || l("b") != "b" {
		t.Error("few values renamed")
	}
}

func TestOneOf(t *testing.T) {
	if OneOf("auth", "auth", "client") != "auth" || OneOf("made-up", "auth") != Other {
		t.Fatal("OneOf")
	}
}
