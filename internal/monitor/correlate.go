package monitor

import (
	"context"

	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
)

// applied runs the correlation step over a tenant's incidents after the
// incident manager applied findings (so causes and caused_by are stored
// before alerting reads them), then hands the changes to OnChanges. A
// correlation error is logged: the incidents stand as they are (top-level)
// and the next pass retries. Without changes the step still runs when a
// child held under a resolved cause is due for promotion.
func (e *Engine) applied(ctx context.Context, tenant string, typ resource.Type, ch *incident.Changes) {
	if ch.Empty() && (e.correlate == nil || !e.correlate.Due(tenant)) {
		return
	}
	if e.correlate != nil {
		if _, err := e.correlate.Apply(ctx, tenant, ch); err != nil {
			e.log.Error("correlation failed", "tenant", tenant, "type", typ, "error", err)
		}
	}
	if e.opt.OnChanges != nil && !ch.Empty() {
		e.opt.OnChanges(tenant, typ, *ch)
	}
}
