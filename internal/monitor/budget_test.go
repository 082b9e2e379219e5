package monitor

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

// The budget guard's decisions are counted by tenant, priority and
// decision, and its first refusal of a priority on a UTC day is logged
// once.
func TestBudgetGuardDecisionsVisible(t *testing.T) {
	m := newPollMetrics()
	var logs bytes.Buffer
	g := &budgetGuard{Meter: sfmc.NewMemMeter(nil), budget: m.budget, refused: map[string]bool{},
		log: slog.New(slog.NewTextHandler(&logs, nil))}
	b := sfmc.Budget{Daily: 10, OptionalShare: 0.5}
	day := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	refusedOptional := 0
	for range 8 {
		if err := g.Allow("acme", b, sfmc.Optional, day); errors.Is(err, sfmc.ErrBudgetExhausted) {
			refusedOptional++
		}
	}
	if refusedOptional != 3 {
		t.Fatalf("optional calls refused: %d of 8, want 3 (5 allowed at a 50 %% share of 10)", refusedOptional)
	}
	if err := g.Allow("acme", b, sfmc.Essential, day); err != nil {
		t.Fatalf("essential call refused: %v", err)
	}
	for name, want := range map[string]float64{"optional/allowed": 5, "optional/refused": 3, "essential/allowed": 1} {
		p, d, _ := strings.Cut(name, "/")
		if got := testutil.ToFloat64(m.budget.WithLabelValues("acme", p, d)); got != want {
			t.Errorf("sfmcwatch_budget_decisions_total{priority=%s,decision=%s} = %v, want %v", p, d, got, want)
		}
	}
	if n := strings.Count(logs.String(), "daily API budget reached"); n != 1 {
		t.Fatalf("%d refusal warnings for 3 refusals on one day, want 1:\n%s", n, logs.String())
	}
	_ = g.Allow("acme", b, sfmc.Optional, day.Add(24*time.Hour)) // next day: allowed again
	if err := g.Allow("acme", sfmc.Budget{Daily: 1}, sfmc.Required, day.Add(24*time.Hour)); err == nil {
		t.Fatal("normal call over the budget allowed")
	}
	if n := strings.Count(logs.String(), "daily API budget reached"); n != 2 {
		t.Fatalf("%d refusal warnings, want 2 (a new priority and day)", n)
	}
}
