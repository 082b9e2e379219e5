package collecttest

import (
	"context"
	"testing"
	"time"
)

func TestEnvTalksToTheSimulator(t *testing.T) {
	e := New(t, Options{Seed: 1})
	ctx := context.Background()
	autos, err := e.Client.Automations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(autos) == 0 {
		t.Fatal("no automations from the simulator")
	}
	before := e.Now()
	e.Advance(time.Hour)
	if got := e.Now().Sub(before); got != time.Hour {
		t.Fatalf("clock advanced %v, want 1h", got)
	}
	if len(e.Keys("automation")) != len(autos) {
		t.Errorf("sim keys %d vs listed %d", len(e.Keys("automation")), len(autos))
	}
}
