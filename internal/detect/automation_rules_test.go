package detect

import (
	"cmp"
	"context"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

var autoT0 = time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)

type autoNopSnaps struct{}

func (autoNopSnaps) LatestSnapshots(context.Context, string, string) ([]store.Snapshot, error) {
	return nil, nil
}
func (autoNopSnaps) SnapshotHistory(context.Context, store.ResourceRef, time.Time, time.Time, int) ([]store.Snapshot, error) {
	return nil, nil
}

func autoInput(now time.Time, status string, st resource.AutomationState, edit func(*config.Tenant)) *Input {
	rules := config.DefaultRules()
	ten := &config.Tenant{Name: "t"}
	if edit != nil {
		edit(ten)
	}
	s := store.Snapshot{ID: 1, ResourceRef: resource.Ref("t", resource.Automation, "A"), ObservedAt: now, Status: status, Payload: resource.Encode(st)}
	return &Input{Now: now, Tenant: ten, Rules: &rules, Type: resource.Automation, Current: []store.Snapshot{s}, Snapshots: autoNopSnaps{}}
}

// runs builds hourly runs from a pattern: E error, C complete, R running.
func autoRunsOf(pattern string) []resource.Run {
	var out []resource.Run
	for i, c := range pattern {
		st := autoT0.Add(time.Duration(i-len(pattern)) * time.Hour)
		r := resource.Run{StartedAt: st, CompletedAt: st.Add(10 * time.Minute), Rows: -1}
		switch c {
		case 'E':
			r.Status, r.Message = resource.StatusError, "Query failed: Invalid column name 'X'."
		case 'C':
			r.Status = resource.StatusComplete
		case 'R':
			r.Status, r.CompletedAt = resource.StatusRunning, time.Time{}
		}
		out = append(out, r)
	}
	return out
}

func autoCritical(t *config.Tenant) {
	yes := true
	t.Objects = map[string]config.Object{"automation:A": {Critical: &yes}}
}

func autoEval(t *testing.T, r Rule, in *Input) []Finding {
	t.Helper()
	fs, err := r.Evaluate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestAutomationErrorRule(t *testing.T) {
	cases := []struct {
		name     string
		pattern  string
		crit     bool
		want     bool
		severity catalog.Severity
	}{
		{"one error (N-1)", "CCCCCE", false, false, ""},
		{"two in a row (N)", "CCCCEE", false, true, ""},
		{"ratio below: 2 of 6", "CECCEC", false, false, ""},
		{"ratio at 50%: 3 of 6", "ECECEC", false, true, ""},
		{"autoCritical first error", "CCCCCE", true, true, ""},
		{"critical, recovered", "CCCCEC", true, false, ""},
		{"escalate at 5", "CEEEEE", false, true, catalog.Critical},
		{"4 in a row not escalated", "CCEEEE", false, true, ""},
		{"running run ignored", "CCCCEER", false, true, ""},
		{"too few runs for ratio", "EC", false, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var edit func(*config.Tenant)
			if c.crit {
				edit = autoCritical
			}
			fs := autoEval(t, AutomationErrorRule{}, autoInput(autoT0, resource.StatusError, resource.AutomationState{Name: "A", Runs: autoRunsOf(c.pattern)}, edit))
			if (len(fs) == 1) != c.want {
				t.Fatalf("findings %d, want %v: %+v", len(fs), c.want, fs)
			}
			if c.want && fs[0].Severity != c.severity {
				t.Errorf("severity %q, want %q", fs[0].Severity, c.severity)
			}
			if c.want && c.name == "two in a row (N)" {
				if r := autoRunsOf(c.pattern)[4]; !fs[0].FirstSeen.Equal(cmp.Or(r.CompletedAt, r.StartedAt)) {
					t.Errorf("FirstSeen %v, want the end of the first errored run %v", fs[0].FirstSeen, cmp.Or(r.CompletedAt, r.StartedAt))
				}
				if fs[0].Family != catalog.Client || fs[0].Owner != catalog.DataEngineering {
					t.Errorf("family %s owner %s", fs[0].Family, fs[0].Owner)
				}
			}
		})
	}
}

func TestAutoClassifyMessage(t *testing.T) {
	for msg, want := range map[string]catalog.Family{
		"Query timed out after 30 minutes.":                       catalog.Timeout,
		"File transfer failed: authentication to the SFTP failed": catalog.Auth,
		"File transfer failed: could not connect to the remote":   catalog.Server,
		"Violation of PRIMARY KEY constraint.":                    catalog.Client,
		"":                                                        catalog.Client,
	} {
		if got, _ := autoClassifyMessage(msg); got != want {
			t.Errorf("%q: %s, want %s", msg, got, want)
		}
	}
	if _, o := autoClassifyMessage("Insufficient Privileges"); o != catalog.MarketingOps {
		t.Errorf("permission owner %s", o)
	}
}

func TestAutomationStalledRule(t *testing.T) {
	base := autoRunsOf("CCCCCR") // 10-minute runs: p95 × 1.5 = 15 min < floor 20 min
	cases := []struct {
		name    string
		running time.Duration
		maxRT   time.Duration
		want    bool
		sev     catalog.Severity
	}{
		{"below floor", 19 * time.Minute, 0, false, ""},
		{"at floor", 20 * time.Minute, 0, false, ""},
		{"over floor", 21 * time.Minute, 0, true, catalog.Warning},
		{"error_after", 25 * time.Minute, 0, true, catalog.Error},
		{"max_runtime override", 12 * time.Minute, 11 * time.Minute, true, catalog.Warning},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := resource.AutomationState{Name: "A", Runs: base}
			now := base[len(base)-1].StartedAt.Add(c.running)
			fs := autoEval(t, AutomationStalledRule{}, autoInput(now, resource.StatusRunning, st, func(ten *config.Tenant) {
				ten.Objects = map[string]config.Object{"automation:A": {MaxRuntime: config.Duration(c.maxRT)}}
			}))
			if (len(fs) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", fs, c.want)
			}
			if c.want && fs[0].Severity != c.sev {
				t.Errorf("severity %s, want %s", fs[0].Severity, c.sev)
			}
		})
	}
	// p95 above the floor: 30-min runs → threshold 45 min.
	if got := AutomationStallThreshold([]time.Duration{30 * time.Minute, 28 * time.Minute}, 1.5, 20*time.Minute, 0); got != 45*time.Minute {
		t.Errorf("threshold %v, want 45m", got)
	}
}

func TestAutomationMissedRunRule(t *testing.T) {
	st := resource.AutomationState{Name: "A", ScheduleStatus: "active", Interval: time.Hour, Runs: autoRunsOf("CCCC")}
	last := st.Runs[3].StartedAt
	// grace = max(5m, 10% of 1h) = 6m.
	for _, c := range []struct {
		at   time.Duration
		want bool
	}{{time.Hour + 6*time.Minute, false}, {time.Hour + 6*time.Minute + time.Second, true}} {
		fs := autoEval(t, AutomationMissedRunRule{}, autoInput(last.Add(c.at), resource.StatusScheduled, st, nil))
		if (len(fs) == 1) != c.want {
			t.Errorf("at +%v: findings %d, want %v", c.at, len(fs), c.want)
		}
		if c.want && !fs[0].FirstSeen.Equal(last.Add(time.Hour)) {
			t.Errorf("FirstSeen %v", fs[0].FirstSeen)
		}
	}
	// Paused schedule: not missed_run's business.
	if fs := autoEval(t, AutomationMissedRunRule{}, autoInput(last.Add(3*time.Hour), resource.StatusPaused, st, nil)); len(fs) != 0 {
		t.Errorf("paused: %+v", fs)
	}
	// Learned interval (no schedule interval): median gap 1h.
	st.Interval = 0
	if fs := autoEval(t, AutomationMissedRunRule{}, autoInput(last.Add(67*time.Minute), resource.StatusScheduled, st, nil)); len(fs) != 1 {
		t.Errorf("learned: %d findings", len(fs))
	}
	// File drop: 1.5 × p95 gap (1h) = 90 min.
	fd := resource.AutomationState{Name: "A", FileDrop: true, ScheduleStatus: "active", Runs: autoRunsOf("CCCCC")}
	last = fd.Runs[4].StartedAt
	if fs := autoEval(t, AutomationMissedRunRule{}, autoInput(last.Add(89*time.Minute), resource.StatusAwaitingTrigger, fd, nil)); len(fs) != 0 {
		t.Errorf("file drop early: %+v", fs)
	}
	if fs := autoEval(t, AutomationMissedRunRule{}, autoInput(last.Add(91*time.Minute), resource.StatusAwaitingTrigger, fd, nil)); len(fs) != 1 {
		t.Errorf("file drop late: %d", len(fs))
	}
}

func TestAutomationPausedRule(t *testing.T) {
	cases := []struct {
		name    string
		status  string
		st      resource.AutomationState
		confirm int
		audit   bool
		crit    bool
		want    bool
		sev     catalog.Severity
	}{
		{"paused while watched", resource.StatusPaused, resource.AutomationState{PreviousStatus: "scheduled", StatusPolls: 1}, 1, false, false, true, ""},
		{"confirm 2, 1 poll", resource.StatusPaused, resource.AutomationState{PreviousStatus: "scheduled", StatusPolls: 1}, 2, false, false, false, ""},
		{"confirm 2, 2 polls", resource.StatusPaused, resource.AutomationState{PreviousStatus: "scheduled", StatusPolls: 2}, 2, false, false, true, ""},
		{"paused before monitoring (first look judges the state)", resource.StatusPaused, resource.AutomationState{StatusPolls: 50}, 1, false, false, true, ""},
		{"paused 30 days before monitoring: info", resource.StatusPaused, resource.AutomationState{StatusPolls: 1, PausedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}, 1, false, false, true, catalog.Info},
		{"paused yesterday, first look: rule severity", resource.StatusPaused, resource.AutomationState{StatusPolls: 1, PausedAt: time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)}, 1, false, false, true, ""},
		{"paused before monitoring, critical", resource.StatusPaused, resource.AutomationState{StatusPolls: 1}, 1, false, true, true, ""},
		{"audit reports paused", resource.StatusPaused, resource.AutomationState{StatusPolls: 1}, 3, true, false, true, ""},
		{"deactivated", resource.StatusReady, resource.AutomationState{PreviousStatus: "error", StatusPolls: 1}, 1, false, false, true, catalog.Critical},
		{"ready adhoc", resource.StatusReady, resource.AutomationState{StatusPolls: 9}, 1, false, false, false, ""},
		{"inactive trigger", resource.StatusInactiveTrigger, resource.AutomationState{FileDrop: true, PreviousStatus: "awaiting_trigger", StatusPolls: 1}, 1, false, false, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var edit func(*config.Tenant)
			if c.crit {
				edit = autoCritical
			}
			in := autoInput(autoT0, c.status, c.st, edit)
			in.Rules.AutomationPaused.ConfirmPolls = c.confirm
			if c.audit {
				in.Snapshots = nil
			}
			fs := autoEval(t, AutomationPausedRule{}, in)
			if (len(fs) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", fs, c.want)
			}
			if c.want && fs[0].Severity != c.sev {
				t.Errorf("severity %s, want %s", fs[0].Severity, c.sev)
			}
		})
	}
}

func TestAutomationPartialRule(t *testing.T) {
	mk := func(rows ...int64) []resource.Run {
		rs := autoRunsOf(string(make([]byte, 0)) + "CCCCCC"[:len(rows)])
		for i := range rs {
			rs[i].Rows = rows[i]
		}
		return rs
	}
	cases := []struct {
		name string
		rows []int64
		want bool
		sev  catalog.Severity
	}{
		{"normal", []int64{100, 100, 100, 100, 90}, false, ""},
		{"at ratio", []int64{100, 100, 100, 100, 50}, false, ""},
		{"below ratio", []int64{100, 100, 100, 100, 49}, true, ""},
		{"zero", []int64{100, 100, 100, 100, 0}, true, catalog.Error},
		{"too few samples", []int64{100, 100, 100, 0}, false, ""},
		{"unknown output", []int64{100, 100, 100, 100, -1}, false, ""},
		{"zero baseline", []int64{0, 0, 0, 0, 0}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := autoEval(t, AutomationPartialRule{}, autoInput(autoT0, resource.StatusScheduled, resource.AutomationState{Name: "A", Runs: mk(c.rows...)}, nil))
			if (len(fs) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", fs, c.want)
			}
			if c.want && fs[0].Severity != c.sev {
				t.Errorf("severity %s, want %s", fs[0].Severity, c.sev)
			}
		})
	}
}
