package collect_test

import (
	"context"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// The import definition list is read on the first poll, then every
// callplan.ImportDefinitionsRefresh; in between the definitions carry
// forward (results are read every poll), and a definition the last list
// read no longer had is not carried.
func TestImportDefinitionsRefresh(t *testing.T) {
	env := fastEnv(t, 11, smallTenant)
	ctx := context.Background()
	const list = "GET /automation/v1/imports"
	const results = "SOAP Retrieve ImportResultsSummary"
	first := env.Collect(ctx, resource.Import)
	if n := env.Sim.Stats().ByRoute[list]; n != 1 {
		t.Fatalf("first poll read the definition list %d times", n)
	}
	want := len(first.Snapshots)
	if want == 0 {
		t.Fatal("no import definitions")
	}
	polls := int(callplan.ImportDefinitionsRefresh / poll)
	for i := 1; i < polls; i++ {
		env.Advance(poll)
		out := env.Collect(ctx, resource.Import)
		if len(out.Snapshots) != want {
			t.Fatalf("poll %d: %d snapshots, want %d carried", i, len(out.Snapshots), want)
		}
	}
	st := env.Sim.Stats()
	if st.ByRoute[list] != 1 || st.ByRoute[results] != int64(polls) {
		t.Fatalf("within the hour: %d list reads (want 1), %d result reads (want %d)", st.ByRoute[list], st.ByRoute[results], polls)
	}
	env.Advance(poll)
	env.Collect(ctx, resource.Import)
	if n := env.Sim.Stats().ByRoute[list]; n != 2 {
		t.Fatalf("after %s: %d list reads, want 2", callplan.ImportDefinitionsRefresh, n)
	}

	// A definition seen in an older list read only (deleted since) is not
	// carried forward.
	env.Advance(poll)
	prev := map[string]store.Snapshot{}
	latest, err := env.Store.LatestSnapshots(ctx, env.Tenant.Name, string(resource.Import))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range latest {
		prev[s.ResourceKey] = s
	}
	gone := store.Snapshot{ResourceRef: resource.Ref(env.Tenant.Name, resource.Import, "Deleted_Import"), ObservedAt: env.Now().Add(-2 * time.Hour),
		Payload: resource.Encode(resource.ImportState{Name: "Deleted", DefinitionsReadAt: env.Now().Add(-2 * time.Hour)})}
	prev[gone.ResourceKey] = gone
	c, err := collect.For(resource.Import)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Collect(ctx, &collect.Input{Now: env.Now(), Tenant: env.Tenant, Client: env.Client, Previous: prev, Cursors: env.Store})
	if err != nil {
		t.Fatal(err)
	}
	if env.Sim.Stats().ByRoute[list] != 2 {
		t.Fatal("a stale snapshot of a deleted definition forced a list read")
	}
	for _, s := range out.Snapshots {
		if s.ResourceKey == gone.ResourceKey {
			t.Fatal("deleted definition carried forward")
		}
	}
	if len(out.Snapshots) != want {
		t.Fatalf("%d snapshots, want %d", len(out.Snapshots), want)
	}
}
