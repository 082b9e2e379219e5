package collect_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/ens"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// TestENSNotSentCountedOnce: EmailNotSent notices pushed by ENS count
// into the definition's not_sent / not_sent_system at once (a new
// snapshot, before any poll), a redelivery counts nothing, and the next
// poll reading the same messages from the not-sent feed does not count
// them again; messages ENS missed are counted by the poll.
func TestENSNotSentCountedOnce(t *testing.T) {
	ctx := context.Background()
	e := msgEnv(t, nil)
	e.Collect(ctx, resource.Transactional)
	key := e.Keys("transactional")[0]
	ref := resource.Ref(e.Tenant.Name, resource.Transactional, key)
	base, err := e.Store.LatestSnapshot(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	// System-caused (22 DataExtensionInsertFailed).
	e.Inject(sim.Fault{Kind: sim.FaultTransactionalNotSent, Target: key, Params: map[string]string{"per_hour": "240", "status_code": "22"}})
	e.Advance(5 * time.Minute)
	cur, err := e.Store.GetCursor(ctx, collect.NotSentCursor(e.Tenant.Name))
	if err != nil {
		t.Fatal(err)
	}
	after, _ := strconv.ParseInt(cur, 10, 64)
	page, err := e.Client.TransactionalNotSent(ctx, after, 500, 4)
	if err != nil {
		t.Fatal(err)
	}
	var ns []ens.Notice
	for _, ev := range page.Events {
		if ev.DefinitionKey == key {
			ns = append(ns, ens.Notice{Tenant: e.Tenant.Name, Type: "TransactionalSendEvents.EmailNotSent", At: ev.Time, Received: e.Now(),
				Definition: key, MessageKey: ev.MessageKey, StatusCode: strconv.Itoa(ev.StatusCode), StatusMessage: ev.StatusMessage})
		}
	}
	if len(ns) < 4 {
		t.Fatalf("only %d not-sent events in 5 minutes", len(ns))
	}
	lost := ns[len(ns)-1] // ENS dropped this one
	ns = ns[: len(ns)-1 : len(ns)-1]
	changed, err := collect.ApplyENS(ctx, e.Store, e.Tenant.Name, append(ns, ns[0]), e.Now(), nil) // ns[0] twice
	if err != nil || !changed[resource.Transactional] {
		t.Fatalf("ApplyENS: %v %v", changed, err)
	}
	s, err := e.Store.LatestSnapshot(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	want := base.Counters[resource.CounterNotSent] + int64(len(ns))
	if s.Counters[resource.CounterNotSent] != want || s.Counters[resource.CounterNotSentSystem] != base.Counters[resource.CounterNotSentSystem]+int64(len(ns)) {
		t.Fatalf("after ENS: counters %v, want not_sent %d", s.Counters, want)
	}
	var st resource.TransactionalState
	if err := resource.Decode(s, &st); err != nil || st.ENSAt.IsZero() || st.SystemNotSentAt.IsZero() {
		t.Fatalf("state %+v %v", st, err)
	}
	// Redelivered: nothing changes.
	if changed, err := collect.ApplyENS(ctx, e.Store, e.Tenant.Name, ns, e.Now(), nil); err != nil || changed[resource.Transactional] {
		t.Fatalf("redelivery changed %v %v", changed, err)
	}
	// The poll reads the same feed page: only the message ENS lost counts.
	e.Collect(ctx, resource.Transactional)
	s, err = e.Store.LatestSnapshot(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	extra := int64(0)
	for _, ev := range page.Events {
		if ev.DefinitionKey == key && ev.MessageKey == lost.MessageKey {
			extra = 1
		}
	}
	// The poll may also read events of the poll's own newer minute.
	got := s.Counters[resource.CounterNotSent]
	if got < want+extra || got > want+extra+int64(len(ns)/2) {
		t.Fatalf("after the poll: not_sent %d, want %d (+ events newer than the ENS batch)", got, want+extra)
	}
	st = resource.TransactionalState{}
	if err := resource.Decode(s, &st); err != nil {
		t.Fatal(err)
	}
	both := 0
	for _, m := range st.NotSentSeen {
		if m.ENS && m.Polled {
			both++
		}
	}
	if both != len(ns) {
		t.Fatalf("%d messages marked seen by both inputs, want %d: %+v", both, len(ns), st.NotSentSeen)
	}
}

// TestENSAutomationMergeIdempotent: one run per instance id whatever the
// order and repetition of notices; a notice for a run without an id joins
// the run it falls in.
func TestENSAutomationMergeIdempotent(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	st := resource.AutomationState{Runs: []resource.Run{{Status: resource.StatusComplete, StartedAt: t0.Add(-time.Hour), CompletedAt: t0.Add(-50 * time.Minute), Polled: true}}}
	n := func(state string, at time.Duration) ens.Notice {
		return ens.Notice{InstanceID: "I-2", State: state, At: t0.Add(at), Received: t0.Add(at + time.Second)}
	}
	if !collect.MergeAutomationNotice(&st, n("Errored", 5*time.Minute), 20) {
		t.Fatal("errored: no change")
	}
	if collect.MergeAutomationNotice(&st, n("Errored", 5*time.Minute), 20) {
		t.Fatal("duplicate changed the state")
	}
	if !collect.MergeAutomationNotice(&st, n("Started", 0), 20) {
		t.Fatal("late Started: no change (it carries the start)")
	}
	if collect.MergeAutomationNotice(&st, n("Started", 0), 20) {
		t.Fatal("duplicate Started changed the state")
	}
	if len(st.Runs) != 2 {
		t.Fatalf("runs: %+v", st.Runs)
	}
	r := st.Runs[1]
	if r.ID != "I-2" || r.Status != resource.StatusError || !r.StartedAt.Equal(t0) || !r.CompletedAt.Equal(t0.Add(5*time.Minute)) || r.ENS != resource.StatusError {
		t.Fatalf("run: %+v", r)
	}
	// A notice about the earlier run (no id) joins it instead of adding one.
	old := ens.Notice{InstanceID: "I-1", State: "Completed", At: t0.Add(-50 * time.Minute), Received: t0}
	collect.MergeAutomationNotice(&st, old, 20)
	if len(st.Runs) != 2 || st.Runs[0].ID != "I-1" || st.Runs[0].ENS != resource.StatusComplete {
		t.Fatalf("runs after the old run's notice: %+v", st.Runs)
	}
}
