package detect

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// First-look tests: each rule judges the state it is given on sfmcwatch's
// first look at a tenant (serve's first cycle and the audit alike), from
// SFMC's own statuses, timestamps and lifetime counters.

// dailyRuns builds runs one day apart ending before autoT0, from a
// pattern: E error, C complete.
func dailyRuns(pattern string) []resource.Run {
	var out []resource.Run
	for i, c := range pattern {
		st := autoT0.Add(time.Duration(i-len(pattern)) * 24 * time.Hour)
		r := resource.Run{StartedAt: st, CompletedAt: st.Add(20 * time.Minute), Rows: -1, Status: resource.StatusComplete}
		if c == 'E' {
			r.Status, r.Message = resource.StatusError, "Query failed: Invalid column name 'X'."
		}
		out = append(out, r)
	}
	return out
}

func TestAutomationErrorInfrequentFirstError(t *testing.T) {
	cases := []struct {
		name       string
		st         resource.AutomationState
		infrequent time.Duration // rules' infrequent_interval
		want       bool
	}{
		{name: "daily job, first error alerts at once", st: resource.AutomationState{Runs: dailyRuns("CCCCCE")}, infrequent: 4 * time.Hour, want: true},
		{name: "daily by schedule, one known run", st: resource.AutomationState{Interval: 24 * time.Hour, Runs: dailyRuns("E")}, infrequent: 4 * time.Hour, want: true},
		{name: "no rhythm known (no schedule, one run)", st: resource.AutomationState{Runs: dailyRuns("E")}, infrequent: 4 * time.Hour, want: true},
		{name: "hourly job waits for the streak", st: resource.AutomationState{Runs: autoRunsOf("CCCCCE"), ObservedSince: autoT0.Add(-48 * time.Hour)}, infrequent: 4 * time.Hour},
		{name: "hourly job found errored on the first look", st: resource.AutomationState{Runs: autoRunsOf("CCCCCE"), ObservedSince: autoT0}, infrequent: 4 * time.Hour, want: true},
		{name: "hourly by schedule waits too", st: resource.AutomationState{Interval: time.Hour, Runs: dailyRuns("E")}, infrequent: 4 * time.Hour},
		{name: "infrequent_interval 0 turns it off", st: resource.AutomationState{Runs: dailyRuns("CCCCCE")}},
		{name: "daily job recovered", st: resource.AutomationState{Runs: dailyRuns("CCCCEC")}, infrequent: 4 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.st.Name = "Nightly"
			in := autoInput(autoT0, resource.StatusError, c.st, nil)
			in.Rules.AutomationError.InfrequentInterval = config.Duration(c.infrequent)
			fs := autoEval(t, AutomationErrorRule{}, in)
			if (len(fs) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", fs, c.want)
			}
		})
	}
}

func TestAutomationErrorFirstLookAges(t *testing.T) {
	// Found on the first look: the last run errored three days ago and
	// nothing ran since. The failure has SFMC's age; sfmcwatch saw it now.
	runs := dailyRuns("CCE")
	runs[2].StartedAt, runs[2].CompletedAt = autoT0.Add(-72*time.Hour), autoT0.Add(-72*time.Hour+time.Minute)
	st := resource.AutomationState{Name: "Nightly", Interval: 24 * time.Hour, Runs: runs, ObservedSince: autoT0}
	fs := autoEval(t, AutomationErrorRule{}, autoInput(autoT0, resource.StatusError, st, nil))
	if len(fs) != 1 {
		t.Fatalf("findings %+v", fs)
	}
	f := fs[0]
	if !f.FailureStartedAt.Equal(runs[2].CompletedAt) || !f.FirstSeen.Equal(autoT0) {
		t.Errorf("failure_started_at %v first_seen %v, want %v and %v", f.FailureStartedAt, f.FirstSeen, runs[2].CompletedAt, autoT0)
	}
	if !strings.Contains(f.Detail, "still the last one") {
		t.Errorf("detail does not say the error persists: %s", f.Detail)
	}
	// The same failure happening while watched: first seen when it happened.
	st.ObservedSince = autoT0.Add(-100 * time.Hour)
	fs = autoEval(t, AutomationErrorRule{}, autoInput(autoT0, resource.StatusError, st, nil))
	if len(fs) != 1 || !fs[0].FirstSeen.Equal(runs[2].CompletedAt) {
		t.Fatalf("while watched: %+v", fs)
	}
}

func TestTriggeredSendErrorsLifetime(t *testing.T) {
	now := msgT0.Add(2 * time.Hour)
	cases := []struct {
		name          string
		sent, errs    int64
		laterSent     int64 // Sent growth over the window (second snapshot); -1: first look only
		laterErrs     int64
		want          bool
		wantSeverity  catalog.Severity
		wantTitlePart string
	}{
		{name: "first look: thousands of errors", sent: 20000, errs: 4000, laterSent: -1, want: true, wantSeverity: catalog.Warning, wantTitlePart: "lifetime"},
		{name: "first look: healthy lifetime", sent: 20000, errs: 40, laterSent: -1},
		{name: "first look: few errors", sent: 10, errs: 2, laterSent: -1},
		{name: "first look: thousands at 1.2% of a high-volume send", sent: 400000, errs: 5000, laterSent: -1, want: true, wantTitlePart: "lifetime"},
		{name: "first look: 1,000 errors at 0.25% (normal noise)", sent: 400000, errs: 1000, laterSent: -1},
		{name: "second cycle, no traffic: still reported", sent: 20000, errs: 4000, laterSent: 0, want: true, wantTitlePart: "lifetime"},
		{name: "healthy traffic in the window clears it", sent: 20000, errs: 4000, laterSent: 100, laterErrs: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := &msgFakeSnaps{}
			if c.laterSent < 0 {
				fs.add(msgSnap(resource.TriggeredSend, "ts", now, resource.StatusActive, resource.TriggeredSendState{ObservedSince: now}, msgTSCounters(c.sent, c.errs, 0)))
			} else {
				start := now.Add(-30 * time.Minute)
				fs.add(msgSnap(resource.TriggeredSend, "ts", start, resource.StatusActive, resource.TriggeredSendState{ObservedSince: start}, msgTSCounters(c.sent, c.errs, 0)))
				fs.add(msgSnap(resource.TriggeredSend, "ts", now, resource.StatusActive, resource.TriggeredSendState{ObservedSince: start},
					msgTSCounters(c.sent+c.laterSent, c.errs+c.laterErrs, 0)))
			}
			got, err := TriggeredSendErrorsRule{}.Evaluate(context.Background(), msgInput(resource.TriggeredSend, now, fs))
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != c.want {
				t.Fatalf("%+v, want %v", got, c.want)
			}
			if c.want && (c.wantSeverity != "" && got[0].Severity != c.wantSeverity || !strings.Contains(got[0].Title, c.wantTitlePart)) {
				t.Fatalf("%+v", got[0])
			}
		})
	}
}

func TestTriggeredSendBacklogSecondCycle(t *testing.T) {
	now := msgT0.Add(2 * time.Hour)
	for _, c := range []struct {
		name     string
		q0, q1   int64
		dSent    int64
		observed time.Duration // how long ago monitoring began
		want     bool
	}{
		{name: "found queued, not drained 30s later", q0: 4200, q1: 4200, observed: 30 * time.Second, want: true},
		{name: "a handful queued, not drained (too thin to judge)", q0: 3, q1: 3, observed: 30 * time.Second},
		{name: "found queued, draining", q0: 4200, q1: 4100, observed: 30 * time.Second},
		{name: "found queued, sending", q0: 4200, q1: 4200, dSent: 50, observed: 30 * time.Second},
		{name: "empty queue", q0: 0, q1: 0, observed: 30 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := &msgFakeSnaps{}
			st := resource.TriggeredSendState{ObservedSince: now.Add(-c.observed)}
			fs.add(msgSnap(resource.TriggeredSend, "ts", now.Add(-c.observed), resource.StatusActive, st, msgTSCounters(500, 0, c.q0)))
			fs.add(msgSnap(resource.TriggeredSend, "ts", now, resource.StatusActive, st, msgTSCounters(500+c.dSent, 0, c.q1)))
			got, err := TriggeredSendBacklogRule{}.Evaluate(context.Background(), msgInput(resource.TriggeredSend, now, fs))
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != c.want {
				t.Fatalf("%+v, want %v", got, c.want)
			}
		})
	}
}

func TestTriggeredSendInactiveFirstLook(t *testing.T) {
	now := msgT0.Add(2 * time.Hour)
	for _, c := range []struct {
		name   string
		queued int64
		want   bool
	}{
		{name: "paused with queued messages", queued: 350, want: true},
		{name: "paused, nothing queued (retired)", queued: 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := &msgFakeSnaps{}
			st := resource.TriggeredSendState{StatusPolls: 1, ObservedSince: now, ModifiedAt: now.Add(-50 * time.Hour)}
			fs.add(msgSnap(resource.TriggeredSend, "ts", now, resource.StatusInactive, st, msgTSCounters(500, 0, c.queued)))
			got, err := TriggeredSendInactiveRule{}.Evaluate(context.Background(), msgInput(resource.TriggeredSend, now, fs))
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != c.want {
				t.Fatalf("%+v, want %v", got, c.want)
			}
			if c.want && !got[0].FailureStartedAt.Equal(now.Add(-50*time.Hour)) {
				t.Errorf("failure_started_at %v, want SFMC's ModifiedDate", got[0].FailureStartedAt)
			}
		})
	}
}

func TestJourneyStoppedFirstLook(t *testing.T) {
	now := msgT0.Add(10 * time.Hour)
	for _, c := range []struct {
		name   string
		status string
		mod    time.Duration
		want   bool
	}{
		{name: "stopped 2 days ago", status: resource.StatusStopped, mod: 48 * time.Hour, want: true},
		{name: "stopped 3 weeks ago: a finished campaign", status: resource.StatusStopped, mod: 21 * 24 * time.Hour},
		{name: "paused (however old)", status: resource.StatusPaused, mod: 10 * 24 * time.Hour, want: true},
		{name: "unpublished 2 days ago", status: resource.StatusUnpublished, mod: 48 * time.Hour},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, oneShot := range []bool{false, true} {
				fs := &msgFakeSnaps{}
				fs.add(msgSnap(resource.Journey, "j1", now, c.status, resource.JourneyState{Name: "Welcome", StatusSince: now, StatusPolls: 1, ModifiedAt: now.Add(-c.mod)}, nil))
				in := msgInput(resource.Journey, now, fs)
				in.OneShot = oneShot
				got, err := JourneyStoppedRule{}.Evaluate(context.Background(), in)
				if err != nil {
					t.Fatal(err)
				}
				if (len(got) == 1) != c.want {
					t.Fatalf("one-shot %v: %+v, want %v", oneShot, got, c.want)
				}
			}
		})
	}
}

func TestImportFirstLook(t *testing.T) {
	// An errored run that imported part of the file names its counts.
	errRun := resource.Run{Status: resource.StatusError, Rows: 1020, Errored: 30, Total: 1050}
	fs := autoEval(t, ImportFailedRule{}, importInput(errRun))
	if len(fs) != 1 || strings.Contains(fs[0].Detail, "none imported") || !strings.Contains(fs[0].Detail, "1020 rows imported") {
		t.Fatalf("errored run with 1020 rows: %+v", fs)
	}

	// "Completed" with 0 rows and an empty file: failed when the
	// destination data extension holds no rows, fine when it holds rows.
	for _, c := range []struct {
		name string
		rows int64
		dest string // the import's destination: the DE's key or its ObjectID
		want bool
	}{
		{"empty destination", 0, "Customers", true},
		{"empty destination named by ObjectID (REST destinationObjectId)", 0, "6f1c2a4e-0b1d-4c8e-9a55-3d2f1e0c7b11", true},
		{"destination has rows", 5000, "Customers", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := importInput(resource.Run{Status: resource.StatusComplete, Rows: 0, CompletedAt: autoT0.Add(-2 * time.Hour)})
			var st resource.ImportState
			if err := resource.Decode(in.Current[0], &st); err != nil {
				t.Fatal(err)
			}
			st.DestinationKey = c.dest
			in.Current[0].Payload = resource.Encode(st)
			n := c.rows
			de := store.Snapshot{ID: 7, ResourceRef: resource.Ref("t", resource.DataExtension, "Customers"), ObservedAt: autoT0, RowCount: &n,
				Payload: resource.Encode(resource.DataExtensionState{ID: "6f1c2a4e-0b1d-4c8e-9a55-3d2f1e0c7b11", Name: "Customers"})}
			look := NewOneLook()
			look.Add(resource.DataExtension, []store.Snapshot{de})
			look.Add(resource.Import, in.Current)
			in.Snapshots = look
			fs := autoEval(t, ImportFailedRule{}, in)
			if (len(fs) == 1) != c.want {
				t.Fatalf("%+v, want %v", fs, c.want)
			}
			if c.want && (!strings.Contains(fs[0].Title, "empty data extension") || fs[0].FailureStartedAt.IsZero()) {
				t.Fatalf("%+v", fs[0])
			}
		})
	}
}

func TestTransactionalNotSentFirstLook(t *testing.T) {
	// The first look counts the feed's system-caused NotSent of the hour
	// before it (collect.TransactionalCollector); five or more fire.
	now := msgT0.Add(3 * time.Hour)
	for _, c := range []struct {
		n    int64
		want bool
	}{{6, true}, {4, false}} {
		fs := &msgFakeSnaps{}
		st := resource.TransactionalState{Name: "Order confirmation", PreviousQueueCount: -1, ObservedSince: now, SystemNotSentAt: now}
		fs.add(msgSnap(resource.Transactional, "tx", now, resource.StatusActive, st,
			map[string]int64{resource.CounterNotSentSystem: c.n, resource.CounterNotSent: c.n}))
		got := msgSilent(t, fs, now)
		if (len(got) == 1) != c.want {
			t.Fatalf("%d system not-sent on the first look: %+v, want %v", c.n, got, c.want)
		}
	}
}

func TestRegistryWithoutStoreJudgesOneLook(t *testing.T) {
	// A caller with no store (Snapshots nil) gets the one-look judgment:
	// rules that read other types or history do not fail, and rules that
	// need events or change history are skipped.
	reg, err := NewRegistry(DefaultRules()...)
	if err != nil {
		t.Fatal(err)
	}
	rules := config.DefaultRules()
	for _, typ := range append([]resource.Type{resource.Tenant}, resource.Types...) {
		in := &Input{Now: autoT0, Tenant: &config.Tenant{Name: "t"}, Rules: &rules, Type: typ}
		if _, err := reg.Evaluate(context.Background(), in); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
}

// familyless returns one finding without a family.
type familyless struct{ id string }

func (f familyless) ID() string        { return f.id }
func (familyless) Type() resource.Type { return resource.Journey }
func (familyless) NeedsHistory() bool  { return false }
func (f familyless) Evaluate(context.Context, *Input) ([]Finding, error) {
	return []Finding{{ResourceType: resource.Journey, ResourceKey: "j"}}, nil
}

func TestEveryFindingHasAFamily(t *testing.T) {
	// Labels and routing promise a family on every incident: one of the
	// five, or none for states that are not failed calls.
	for id, want := range map[string]catalog.Family{
		"journey.stopped": catalog.None, "data_extension.schema_drift": catalog.Client, "triggered_send.backlog": catalog.Timeout,
	} {
		reg, err := NewRegistry(familyless{id})
		if err != nil {
			t.Fatal(err)
		}
		rules := config.DefaultRules()
		res, err := reg.Evaluate(context.Background(), &Input{Now: autoT0, Tenant: &config.Tenant{Name: "t"}, Rules: &rules, Type: resource.Journey})
		if err != nil {
			t.Fatal(err)
		}
		if fs := res[id]; len(fs) != 1 || fs[0].Family != want {
			t.Errorf("%s: %+v, want family %s", id, fs, want)
		}
	}
}

func TestFirstLookIgnoresRetiredTriggeredSends(t *testing.T) {
	// A Canceled definition keeps its old counters forever: neither its
	// lifetime errors nor a queued count are current failures.
	now := msgT0.Add(2 * time.Hour)
	fs := &msgFakeSnaps{}
	fs.add(msgSnap(resource.TriggeredSend, "ts", now, resource.StatusCanceled, resource.TriggeredSendState{ObservedSince: now, StatusPolls: 1}, msgTSCounters(20000, 4000, 50)))
	for _, r := range []Rule{TriggeredSendErrorsRule{}, TriggeredSendInactiveRule{}} {
		got, err := r.Evaluate(context.Background(), msgInput(resource.TriggeredSend, now, fs))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("%s on a canceled definition: %+v", r.ID(), got)
		}
	}
}
