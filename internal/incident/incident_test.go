package incident

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

var t0 = time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)

func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func finding(key string, first time.Time, sev catalog.Severity) detect.Finding {
	return detect.Finding{Rule: "automation.error", Severity: sev, Family: catalog.Client, Tenant: "acme",
		ResourceType: resource.Automation, ResourceKey: key, Title: "Automation " + key + " errored",
		Owner: catalog.DataEngineering, Remediation: []string{"fix it"}, FirstSeen: first}
}

func apply(t *testing.T, m *Manager, now time.Time, fs ...detect.Finding) Changes {
	t.Helper()
	ch, err := m.Apply(context.Background(), now, "acme", resource.Automation, map[string][]detect.Finding{"automation.error": fs})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func openCount(t *testing.T, st store.Store) int {
	t.Helper()
	l, err := st.ListIncidents(context.Background(), store.IncidentFilter{Status: store.IncidentOpen})
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

func TestLifecycle(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "i.db"))
	m := New(st, Options{})
	min := time.Minute
	f := finding("nightly", t0.Add(-3*min), catalog.Warning)
	f.Evidence = []store.Evidence{{Kind: store.EvidenceSnapshot, RefID: 7}}

	// Open, with TTD = opened − first evidence.
	ch := apply(t, m, t0, f)
	if len(ch.Opened) != 1 || len(ch.Updated) != 0 || len(ch.Resolved) != 0 {
		t.Fatalf("first apply: %+v", ch)
	}
	inc := ch.Opened[0]
	if inc.TTD != 3*min || !inc.FirstSeen.Equal(t0.Add(-3*min)) || inc.Owner != "data_engineering" || inc.Family != "client" {
		t.Fatalf("opened incident: %+v", inc)
	}
	got, err := st.GetIncident(context.Background(), inc.ID)
	if err != nil || len(got.Evidence) != 1 || got.Evidence[0].RefID != 7 {
		t.Fatalf("evidence: %+v %v", got.Evidence, err)
	}

	// Update, escalate.
	ch = apply(t, m, t0.Add(5*min), finding("nightly", t0.Add(-3*min), catalog.Error))
	if len(ch.Updated) != 1 || len(ch.Escalated) != 1 || ch.Updated[0].ID != inc.ID || ch.Updated[0].Occurrences != 2 {
		t.Fatalf("update: %+v", ch)
	}

	// Damping: one clear evaluation does not resolve; neither do two within
	// 10 minutes of last_seen.
	if ch := apply(t, m, t0.Add(10*min)); len(ch.Resolved) != 0 {
		t.Fatalf("resolved after one clear evaluation: %+v", ch.Resolved)
	}
	if ch := apply(t, m, t0.Add(14*min)); len(ch.Resolved) != 0 {
		t.Fatalf("resolved 9 minutes after last seen: %+v", ch.Resolved)
	}
	// Found again before resolution: the same incident stays open and the
	// clear count restarts.
	if ch := apply(t, m, t0.Add(15*min), f); len(ch.Updated) != 1 || ch.Updated[0].ID != inc.ID {
		t.Fatalf("flap: %+v", ch)
	}
	if ch := apply(t, m, t0.Add(26*min)); len(ch.Resolved) != 0 {
		t.Fatalf("resolved after one clear evaluation following a flap: %+v", ch.Resolved)
	}
	ch = apply(t, m, t0.Add(27*min))
	if len(ch.Resolved) != 1 || ch.Resolved[0].ID != inc.ID || !ch.Resolved[0].ResolvedAt.Equal(t0.Add(27*min)) {
		t.Fatalf("resolve: %+v", ch)
	}

	// Re-detection after the resolve opens a new incident, flagged reopened.
	ch = apply(t, m, t0.Add(30*min), finding("nightly", t0.Add(29*min), catalog.Warning))
	if len(ch.Opened) != 1 || ch.Opened[0].ID == inc.ID || len(ch.Reopened) != 1 || ch.Opened[0].TTD != time.Minute {
		t.Fatalf("reopen: %+v", ch)
	}
	if n := openCount(t, st); n != 1 {
		t.Fatalf("%d open incidents", n)
	}
}

func TestTimeDampingIsLaterThanEvaluations(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "i.db"))
	m := New(st, Options{PerRule: map[string]Damping{"automation.error": {ClearEvaluations: 3, ClearFor: time.Minute}}})
	apply(t, m, t0, finding("a", t0, catalog.Error))
	for i, at := range []time.Duration{2 * time.Minute, 3 * time.Minute} {
		if ch := apply(t, m, t0.Add(at)); len(ch.Resolved) != 0 {
			t.Fatalf("clear evaluation %d resolved", i+1)
		}
	}
	if ch := apply(t, m, t0.Add(4*time.Minute)); len(ch.Resolved) != 1 {
		t.Fatalf("third clear evaluation did not resolve: %+v", ch)
	}
}

func TestRulesThatDidNotRunAreLeftAlone(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "i.db"))
	m := New(st, Options{Damping: Damping{ClearEvaluations: 1, ClearFor: time.Second}})
	apply(t, m, t0, finding("a", t0, catalog.Error))
	// Another rule ran; automation.error did not.
	ch, err := m.Apply(context.Background(), t0.Add(time.Hour), "acme", resource.Automation, map[string][]detect.Finding{"automation.paused": nil})
	if err != nil || len(ch.Resolved) != 0 {
		t.Fatalf("%+v %v", ch, err)
	}
	// Another tenant's evaluation does not touch it either.
	ch, err = m.Apply(context.Background(), t0.Add(time.Hour), "other", resource.Automation, map[string][]detect.Finding{"automation.error": nil})
	if err != nil || len(ch.Resolved) != 0 {
		t.Fatalf("%+v %v", ch, err)
	}
}

// TestRestart: a new manager over the same database (a restarted process)
// updates the open incident instead of opening a duplicate, and keeps the
// damping count.
func TestRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "i.db")
	st1 := openStore(t, path)
	m1 := New(st1, Options{})
	f := finding("a", t0, catalog.Error)
	first := apply(t, m1, t0, f).Opened[0]
	apply(t, m1, t0.Add(20*time.Minute)) // one clear evaluation
	st1.Close()

	st2 := openStore(t, path)
	m2 := New(st2, Options{})
	ch := apply(t, m2, t0.Add(21*time.Minute))
	if len(ch.Resolved) != 1 || ch.Resolved[0].ID != first.ID {
		t.Fatalf("second clear evaluation after restart did not resolve: %+v", ch)
	}
	ch = apply(t, m2, t0.Add(22*time.Minute), f)
	if len(ch.Opened) != 1 {
		t.Fatalf("%+v", ch)
	}
	ch = apply(t, New(st2, Options{}), t0.Add(23*time.Minute), f)
	if len(ch.Opened) != 0 || len(ch.Updated) != 1 {
		t.Fatalf("restart opened a duplicate: %+v", ch)
	}
	if n := openCount(t, st2); n != 1 {
		t.Fatalf("%d open incidents", n)
	}
}

func TestDuplicateFindingsMerge(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "i.db"))
	m := New(st, Options{})
	a := finding("a", t0.Add(-time.Minute), catalog.Warning)
	b := finding("a", t0.Add(-2*time.Minute), catalog.Error)
	ch := apply(t, m, t0, a, b)
	if len(ch.Opened) != 1 || ch.Opened[0].Severity != "error" || ch.Opened[0].TTD != 2*time.Minute {
		t.Fatalf("%+v", ch)
	}
}

// TestIncidentOfAnotherTypeResolves: a rule evaluated with one resource
// type that reports on another (triggered_send.silent_failure runs with the
// transactional collection and reports triggered sends) resolves those
// incidents too.
func TestIncidentOfAnotherTypeResolves(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "i.db"))
	m := New(st, Options{Damping: Damping{ClearEvaluations: 1, ClearFor: time.Second}})
	f := detect.Finding{Rule: "triggered_send.silent_failure", Severity: catalog.Error, Tenant: "acme",
		ResourceType: resource.TriggeredSend, ResourceKey: "TS_Order", Title: "accepted, not sent", FirstSeen: t0}
	run := func(at time.Time, fs ...detect.Finding) Changes {
		ch, err := m.Apply(context.Background(), at, "acme", resource.Transactional, map[string][]detect.Finding{"triggered_send.silent_failure": fs})
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	if ch := run(t0, f); len(ch.Opened) != 1 {
		t.Fatalf("not opened: %+v", ch)
	}
	if ch := run(t0.Add(time.Minute)); len(ch.Resolved) != 1 {
		t.Fatalf("triggered_send incident of a transactional evaluation not resolved: %+v", ch)
	}
}

// TestFailureStart: an incident carries when the failure began by SFMC's
// timestamps as well as the first evidence; later findings keep the
// earliest known start (a rule that cannot tell leaves it alone), and two
// findings of one fingerprint in one evaluation merge to the earliest.
func TestFailureStart(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "i.db"))
	m := New(st, Options{})
	withStart := func(first, started time.Time) detect.Finding {
		f := finding("nightly", first, catalog.Error)
		f.FailureStartedAt = started
		return f
	}
	// The run errored two hours before sfmcwatch saw it (first evidence
	// a minute before opening).
	ch := apply(t, m, t0, withStart(t0.Add(-time.Minute), t0.Add(-2*time.Hour)))
	if len(ch.Opened) != 1 {
		t.Fatalf("open: %+v", ch)
	}
	inc := ch.Opened[0]
	if !inc.FailureStartedAt.Equal(t0.Add(-2*time.Hour)) || inc.TTD != time.Minute || inc.TTDSinceFailure != 2*time.Hour || !inc.OpenedAt.Equal(t0) {
		t.Fatalf("opened: failure %v ttd %v since failure %v", inc.FailureStartedAt, inc.TTD, inc.TTDSinceFailure)
	}
	for i, tc := range []struct {
		fs   []detect.Finding
		want time.Time
	}{
		{[]detect.Finding{withStart(t0, t0.Add(-time.Hour))}, t0.Add(-2 * time.Hour)},                                                                       // later: kept
		{[]detect.Finding{withStart(t0, time.Time{})}, t0.Add(-2 * time.Hour)},                                                                              // unknown: kept
		{[]detect.Finding{withStart(t0, t0.Add(-3*time.Hour))}, t0.Add(-3 * time.Hour)},                                                                     // earlier: taken
		{[]detect.Finding{withStart(t0, time.Time{}), withStart(t0, t0.Add(-4*time.Hour)), withStart(t0, t0.Add(-90*time.Minute))}, t0.Add(-4 * time.Hour)}, // merged
	} {
		ch := apply(t, m, t0.Add(time.Duration(i+1)*time.Minute), tc.fs...)
		if len(ch.Updated) != 1 || ch.Updated[0].ID != inc.ID {
			t.Fatalf("update %d: %+v", i, ch)
		}
		u := ch.Updated[0]
		if !u.FailureStartedAt.Equal(tc.want) || u.TTDSinceFailure != t0.Sub(tc.want) || u.TTD != time.Minute {
			t.Errorf("update %d: failure %v since failure %v ttd %v, want failure %v", i, u.FailureStartedAt, u.TTDSinceFailure, u.TTD, tc.want)
		}
	}
	// A rule that cannot tell when the failure began leaves it unknown.
	f := finding("other", t0, catalog.Warning)
	ch = apply(t, m, t0.Add(10*time.Minute), withStart(t0, t0.Add(-4*time.Hour)), f)
	if len(ch.Opened) != 1 || ch.Opened[0].FailureKnown() || ch.Opened[0].TTDSinceFailure != 0 {
		t.Fatalf("unknown failure start: %+v", ch.Opened)
	}
}

// TestDetailStoredMaskedAndRefreshed: the finding's explanation is kept
// with the incident (masked: it quotes SFMC's error texts) and replaced on
// every update.
func TestDetailStoredMaskedAndRefreshed(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "i.db"))
	m := New(st, Options{})
	f := finding("nightly", t0, catalog.Error)
	f.Detail = `The query step failed with: "Violation of PRIMARY KEY constraint for jane.doe@example.com".`
	inc := apply(t, m, t0, f).Opened[0]
	got, err := st.GetIncident(context.Background(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Detail, "Violation of PRIMARY KEY") || strings.Contains(got.Detail, "jane.doe@example.com") {
		t.Fatalf("stored detail %q", got.Detail)
	}
	f.Detail = "Second run failed too."
	apply(t, m, t0.Add(time.Minute), f)
	if got, _ := st.GetIncident(context.Background(), inc.ID); got.Detail != "Second run failed too." {
		t.Fatalf("updated detail %q", got.Detail)
	}
}
