package detect_test

import (
	"context"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func ensSilentEval(t *testing.T, st store.Store, now time.Time) []detect.Finding {
	t.Helper()
	rules := config.DefaultRules()
	in := &detect.Input{Now: now, Tenant: &config.Tenant{Name: "acme"}, Rules: &rules, Type: resource.Tenant,
		Snapshots: st, Events: st, Usage: st}
	fs, err := detect.ENSSilentRule{}.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func putSnap(t *testing.T, st store.Store, typ resource.Type, key string, at time.Time, payload any) {
	t.Helper()
	s := store.Snapshot{ResourceRef: resource.Ref("acme", typ, key), ObservedAt: at, Status: "scheduled", Payload: resource.Encode(payload)}
	if _, err := st.InsertSnapshots(context.Background(), []store.Snapshot{s}); err != nil {
		t.Fatal(err)
	}
}

// TestENSSilent: automations ENS reported on keep finishing (polling sees
// them) but ENS pushes nothing: ens.silent fires once min_missed runs are
// past the grace; a run ENS did report, or objects ENS never reported on,
// keep it quiet; not-sent messages count the same way.
func TestENSSilent(t *testing.T) {
	st := newStore(t)
	now := t0.Add(3 * time.Hour)
	run := func(id string, done time.Duration, ens string) resource.Run {
		return resource.Run{ID: id, Status: resource.StatusComplete, StartedAt: now.Add(done - 5*time.Minute), CompletedAt: now.Add(done),
			Rows: -1, Polled: true, ENS: ens}
	}
	// Before: ENS reported every run.
	putSnap(t, st, resource.Automation, "A", now.Add(-2*time.Hour), resource.AutomationState{Name: "Hourly A", ENSAt: now.Add(-2 * time.Hour),
		Runs: []resource.Run{run("a0", -2*time.Hour, "complete")}})
	// Never reported by ENS: not judged.
	putSnap(t, st, resource.Automation, "N", now, resource.AutomationState{Name: "No ENS",
		Runs: []resource.Run{run("n1", -40*time.Minute, ""), run("n2", -20*time.Minute, "")}})
	if fs := ensSilentEval(t, st, now); len(fs) != 0 {
		t.Fatalf("healthy: %+v", fs)
	}
	// One run missed (a dropped batch): not yet.
	putSnap(t, st, resource.Automation, "A", now, resource.AutomationState{Name: "Hourly A", ENSAt: now.Add(-2 * time.Hour),
		Runs: []resource.Run{run("a0", -2*time.Hour, "complete"), run("a1", -30*time.Minute, "started"), run("a2", -5*time.Minute, "")}})
	if fs := ensSilentEval(t, st, now); len(fs) != 0 {
		t.Fatalf("one missed run (the other within grace) fired: %+v", fs)
	}
	// Two missed, past the grace: fires, naming the runs.
	later := now.Add(10 * time.Minute)
	fs := ensSilentEval(t, st, later)
	if len(fs) != 1 || fs[0].ResourceType != resource.Tenant || fs[0].ResourceKey != "acme" || fs[0].Rule != "" && fs[0].Rule != "ens.silent" {
		t.Fatalf("two missed: %+v", fs)
	}
	if want := now.Add(-30*time.Minute + 10*time.Minute); !fs[0].FirstSeen.Equal(want) {
		t.Fatalf("first seen %s, want %s (first missed outcome + grace)", fs[0].FirstSeen, want)
	}
	// ENS reported another outcome in the window: it is not silent.
	putSnap(t, st, resource.Transactional, "T", later, resource.TransactionalState{Name: "Receipts", ENSAt: later,
		NotSentSeen: []resource.NotSentMark{{Key: "x", At: now.Add(-25 * time.Minute), ENS: true, Polled: true}}})
	if fs := ensSilentEval(t, st, later); len(fs) != 0 {
		t.Fatalf("ENS still reports: %+v", fs)
	}
	// Not-sent messages polling read and ENS did not push count as missed.
	putSnap(t, st, resource.Transactional, "T", later.Add(time.Minute), resource.TransactionalState{Name: "Receipts", ENSAt: now.Add(-time.Hour),
		NotSentSeen: []resource.NotSentMark{{Key: "x", At: now.Add(-25 * time.Minute), Polled: true}, {Key: "y", At: now.Add(-24 * time.Minute), Polled: true}}})
	if fs := ensSilentEval(t, st, later.Add(time.Minute)); len(fs) != 1 {
		t.Fatalf("runs and messages missed: %+v", fs)
	}
	// A week after the last ENS event the tenant no longer counts as using ENS.
	if fs := ensSilentEval(t, st, now.Add(8*24*time.Hour)); len(fs) != 0 {
		t.Fatalf("after the lookback: %+v", fs)
	}
}

// TestENSSilentRegistered: the rule ships, with its config block.
func TestENSSilentRegistered(t *testing.T) {
	reg, err := detect.NewRegistry(detect.DefaultRules()...)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range reg.ForType(resource.Tenant) {
		found = found || r.ID() == "ens.silent"
	}
	rules := config.DefaultRules()
	if b := rules.Rule("ens.silent"); !found || b == nil || !b.Enabled || b.Severity != "warning" {
		t.Fatalf("registered %v, config %+v", found, b)
	}
}
