package collect_test

import (
	"context"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// The DataExtension list is read on the first poll, then every
// callplan.DEDefinitionsRefresh; in between the definitions (retention
// settings included) carry forward and the row counts keep their own
// cadence.
func TestDataExtensionDefinitionsRefresh(t *testing.T) {
	env := newDEEnv(t, 20, true, nil)
	ctx := context.Background()
	const list = "SOAP Retrieve DataExtension"
	const rowset = "GET /data/v1/customobjectdata/key/{key}/rowset"
	key := env.Keys("data_extension")[2]
	env.Inject(sim.Fault{Kind: sim.FaultDERetention, Target: key, Params: map[string]string{"days": "1"}})
	retention := func(out []store.Snapshot) bool {
		for _, s := range out {
			var st resource.DataExtensionState
			if s.ResourceKey == key && resource.Decode(s, &st) == nil {
				return st.Retention != nil
			}
		}
		return false
	}
	first := env.Collect(ctx, resource.DataExtension).Snapshots
	want := len(first)
	if n := env.Sim.Stats().ByRoute[list]; n != 1 || want != 20 || !retention(first) {
		t.Fatalf("first poll: %d list reads, %d DEs (want 20), retention seen %t", n, want, retention(first))
	}
	polls := int(callplan.DEDefinitionsRefresh / dePoll)
	for i := 1; i < polls; i++ {
		env.Advance(dePoll)
		out := env.Collect(ctx, resource.DataExtension).Snapshots
		if len(out) != want || !retention(out) {
			t.Fatalf("poll %d: %d snapshots (want %d carried), retention carried %t", i, len(out), want, retention(out))
		}
	}
	st := env.Sim.Stats()
	if st.ByRoute[list] != 1 || st.ByRoute[rowset] == 0 {
		t.Fatalf("within %s: %d list reads (want 1), %d row counts (want some)", callplan.DEDefinitionsRefresh, st.ByRoute[list], st.ByRoute[rowset])
	}
	env.Advance(dePoll)
	env.Collect(ctx, resource.DataExtension)
	if n := env.Sim.Stats().ByRoute[list]; n != 2 {
		t.Fatalf("after %s: %d list reads, want 2", callplan.DEDefinitionsRefresh, n)
	}
}
