package monitor

import (
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
)

// PacingCost is the last api.errors duration the trigger paces a tenant's
// evaluations on.
func PacingCost(t *Trigger, tenant string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cost[tenant]
}

// HoldEvaluation takes the lock that serialises evaluations of typ for
// tenant, as a scheduled collection holds it, and returns its release
// (false when there is no such lock).
func HoldEvaluation(e *Engine, tenant string, typ resource.Type) (release func(), ok bool) {
	e.mu.Lock()
	rt := e.tenants[tenant]
	e.mu.Unlock()
	if rt == nil {
		return nil, false
	}
	mu := rt.evalLock(typ)
	if mu == nil {
		return nil, false
	}
	mu.Lock()
	return mu.Unlock, true
}

// Jobs returns the resource types the engine schedules for a tenant, with
// their poll intervals.
func Jobs(e *Engine, t *config.Tenant) map[resource.Type]time.Duration {
	out := map[resource.Type]time.Duration{}
	for _, typ := range e.enabledTypes(t) {
		out[typ] = e.interval(t, typ)
	}
	return out
}
