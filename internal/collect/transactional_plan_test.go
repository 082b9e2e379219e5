package collect_test

import (
	"context"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// Queue metrics of healthy definitions are read once every
// callplan.TxQueueRefresh (at a slot of the period their key fixes, within
// the per-poll budget); a definition that
// is not Active and holds messages is read every poll.
func TestTransactionalQueueCadence(t *testing.T) {
	env := fastEnv(t, 5, sim.Size{Automations: 1, Journeys: 1, DataExtensions: 1, TriggeredSends: 1, Transactional: 8, Imports: 1})
	ctx := context.Background()
	const queue = "GET /messaging/v1/email/definitions/{key}/queue"
	reads := func() int64 {
		n := env.Sim.Stats().ByRoute[queue]
		env.Sim.ResetStats()
		return n
	}
	env.Collect(ctx, resource.Transactional)
	if n := reads(); n != callplan.TxQueueBudget {
		t.Fatalf("first poll: %d queue reads, want the budget %d", n, callplan.TxQueueBudget)
	}
	env.Advance(poll)
	env.Collect(ctx, resource.Transactional)
	if n := reads(); n != 3 {
		t.Fatalf("second poll: %d queue reads, want the 3 never read", n)
	}
	// Healthy: never again within half the refresh; then each once a
	// period, at its slot (slots spread the reads over the period).
	polls := int(callplan.TxQueueRefresh/2/poll) - 2
	for range polls {
		env.Advance(poll)
		env.Collect(ctx, resource.Transactional)
	}
	if n := reads(); n != 0 {
		t.Fatalf("healthy definitions re-read %d times within %s", n, callplan.TxQueueRefresh/2)
	}
	period := func() {
		for range int(callplan.TxQueueRefresh / poll) {
			env.Advance(poll)
			env.Collect(ctx, resource.Transactional)
		}
	}
	period() // the first re-reads settle on the slots
	reads()
	period()
	if n := reads(); n != 8 {
		t.Fatalf("within the next %s: %d queue reads, want each of the 8 definitions once", callplan.TxQueueRefresh, n)
	}
	// Made inactive with messages queuing: read every poll.
	key := env.Keys("transactional")[0]
	env.Inject(sim.Fault{Kind: sim.FaultTransactionalQueue, Target: key})
	for i := range 4 {
		env.Advance(poll)
		env.Collect(ctx, resource.Transactional)
		if n := reads(); n < 1 {
			t.Fatalf("poll %d after the fault: no queue read", i+1)
		}
	}
}
