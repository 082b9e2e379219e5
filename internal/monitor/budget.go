package monitor

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

// budgetGuard makes the daily budget's decisions visible: it wraps a
// tenant's meter, counts every allow/refuse decision by priority
// (sfmcwatch_budget_decisions_total) and logs the first refusal of each
// priority per tenant and UTC day as a warning.
type budgetGuard struct {
	sfmc.Meter
	budget  *prometheus.CounterVec
	log     *slog.Logger
	mu      sync.Mutex
	refused map[string]bool // priority+day already logged
}

func (g *budgetGuard) Allow(tenant string, b sfmc.Budget, p sfmc.Priority, now time.Time) error {
	err := g.Meter.Allow(tenant, b, p, now)
	decision := "allowed"
	if errors.Is(err, sfmc.ErrBudgetExhausted) {
		decision = "refused"
		k := p.String() + " " + now.UTC().Format(time.DateOnly)
		g.mu.Lock()
		first := !g.refused[k]
		if first {
			if len(g.refused) > 16 {
				clear(g.refused)
			}
			g.refused[k] = true
		}
		g.mu.Unlock()
		if first {
			g.log.Warn("daily API budget reached: the budget guard refuses these calls until UTC midnight (logged once a day per priority; sfmcwatch_budget_decisions_total)",
				"tenant", tenant, "priority", p.String(), "daily_api_budget", b.Daily, "error", err)
		}
	}
	g.budget.WithLabelValues(tenant, p.String(), decision).Inc()
	return err
}
