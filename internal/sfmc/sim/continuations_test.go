package sim

import (
	"testing"
	"time"
)

// TestContinuationsBounded: the rest of paged retrieves that clients never
// continue is dropped oldest first, by count, by objects held and by age,
// so abandoned continuations cannot hold the process's memory; a dropped
// one is simply gone (its continue request then answers "expired").
func TestContinuationsBounded(t *testing.T) {
	var c continuations
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	big := make([]soapObj, maxContinuationObjects/4+1)
	var ids []string
	for i := range 5 {
		ids = append(ids, c.put(1, &continuation{objects: big, created: t0.Add(time.Duration(i) * time.Second)}))
		if c.objects > maxContinuationObjects {
			t.Fatalf("after %d puts %d objects held, cap %d", i+1, c.objects, maxContinuationObjects)
		}
	}
	if c.take(ids[0]) != nil || c.take(ids[1]) != nil {
		t.Error("the oldest continuations were kept past the objects cap")
	}
	if c.take(ids[4]) == nil {
		t.Error("the newest continuation was dropped")
	}
	for i := range maxContinuations + 10 {
		c.put(1, &continuation{objects: make([]soapObj, 1), created: t0.Add(time.Minute + time.Duration(i)*time.Millisecond)})
	}
	if len(c.m) > maxContinuations {
		t.Errorf("%d continuations held, cap %d", len(c.m), maxContinuations)
	}
	late := c.put(1, &continuation{objects: make([]soapObj, 1), created: t0.Add(time.Minute + continuationTTL + time.Second)})
	if len(c.m) != 1 || c.take(late) == nil || c.objects != 0 {
		t.Errorf("after the TTL: %d held (%d objects), want only the new one", len(c.m), c.objects)
	}
}
