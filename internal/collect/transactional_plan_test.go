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
	const txDefs = "GET /messaging/v1/email/definitions"
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
	// Made inactive with messages queuing: seen at the next definition
	// read (every callplan.TxDefinitionsRefresh while all is healthy),
	// then its queue and the definitions are read every poll.
	key := env.Keys("transactional")[0]
	env.Inject(sim.Fault{Kind: sim.FaultTransactionalQueue, Target: key})
	inactive := false
	for range callplan.TxDefinitionsRefresh / poll {
		env.Advance(poll)
		for _, s := range env.Collect(ctx, resource.Transactional).Snapshots {
			inactive = inactive || (s.ResourceKey == key && s.Status == resource.StatusInactive)
		}
		if inactive {
			break
		}
	}
	if !inactive {
		t.Fatalf("Inactive definition not seen within %s", callplan.TxDefinitionsRefresh)
	}
	reads()
	for i := range 4 {
		env.Advance(poll)
		env.Collect(ctx, resource.Transactional)
		defs := env.Sim.Stats().ByRoute[txDefs]
		if n := reads(); n < 1 || defs != 1 {
			t.Fatalf("poll %d after the fault: %d queue reads, %d definition reads; want both every poll", i+1, n, defs)
		}
	}
}

// The definition list is read on the first poll, then every
// callplan.TxDefinitionsRefresh while all is healthy (the not-sent feed
// every poll); a system-caused not-sent reads it at once.
func TestTransactionalDefinitionsRefresh(t *testing.T) {
	env := fastEnv(t, 5, sim.Size{Automations: 1, Journeys: 1, DataExtensions: 1, TriggeredSends: 1, Transactional: 4, Imports: 1})
	ctx := context.Background()
	const list = "GET /messaging/v1/email/definitions"
	const feed = "GET /messaging/v1/email/messages/{$}"
	first := env.Collect(ctx, resource.Transactional)
	want := len(first.Snapshots)
	if n := env.Sim.Stats().ByRoute[list]; n != 1 || want == 0 {
		t.Fatalf("first poll: %d list reads, %d definitions", n, want)
	}
	polls := int(callplan.TxDefinitionsRefresh / poll)
	for i := 1; i < polls; i++ {
		env.Advance(poll)
		if out := env.Collect(ctx, resource.Transactional); len(out.Snapshots) != want {
			t.Fatalf("poll %d: %d snapshots, want %d carried", i, len(out.Snapshots), want)
		}
	}
	st := env.Sim.Stats()
	if st.ByRoute[list] != 1 || st.ByRoute[feed] != int64(polls) {
		t.Fatalf("within %s: %d list reads (want 1), %d feed reads (want %d)", callplan.TxDefinitionsRefresh, st.ByRoute[list], st.ByRoute[feed], polls)
	}
	env.Advance(poll)
	env.Collect(ctx, resource.Transactional)
	if n := env.Sim.Stats().ByRoute[list]; n != 2 {
		t.Fatalf("after %s: %d list reads, want 2", callplan.TxDefinitionsRefresh, n)
	}
	// System-caused not-sent (126): the definitions are read at once.
	env.Inject(sim.Fault{Kind: sim.FaultTransactionalNotSent, Target: env.Keys("transactional")[0],
		Params: map[string]string{"per_hour": "240", "status_code": "126"}})
	env.Advance(poll)
	env.Collect(ctx, resource.Transactional)
	if n := env.Sim.Stats().ByRoute[list]; n != 3 {
		t.Fatalf("poll after a system-caused not-sent: %d list reads in all, want 3", n)
	}
}
