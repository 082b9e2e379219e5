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

// Step outcomes come from SOAP AutomationActivityInstance: per activity
// Status, StatusMessage ("the error text for the failed step lives here"),
// StartTime and CompletedTime (shared/research/sfmc-api.md 3.3, SOAP doc
// "AutomationActivityInstance"). The activity's type comes from the REST
// automation definition, steps[].activities[].objectTypeId: 300 SQL query,
// 43 import, 53 file transfer (sfmc-devtools' activity type map).

// Error texts as SFMC words them: the primary-key violation is Salesforce
// Help 000384160 ("Primary Key Constraint Error returned through a SQL
// Query"); invalid column names and syntax errors come from query
// validation; a query running past 30 minutes is stopped by SFMC.
const (
	msgInvalidColumn = "Query failed: Invalid column name 'EmailAddress'."
	msgPKViolation   = "Violation of PRIMARY KEY constraint 'PK_Orders'. Cannot insert duplicate key in object."
	msgQueryKilled   = "Query timed out after 30 minutes."
	msgFileNotFound  = "File not found: the import file matching the naming pattern was not found in the file location."
	msgFileEmpty     = "The import file is empty (0 bytes)."
	msgFileOld       = "The file is older than the maximum file age of 24 hours."
	msgSFTPAuth      = "File transfer failed: authentication to the SFTP server failed."
)

// stepState builds an hourly automation whose runs follow pattern (C
// complete, E error) and whose step `name` of type typ had outcomes from
// stepPattern (C complete, E error with msg, - not run); both end at the
// newest run.
func stepState(pattern, name, typ, stepPattern, msg string, stepDur time.Duration) resource.AutomationState {
	st := resource.AutomationState{Name: "Nightly Orders", Interval: time.Hour, ScheduleStatus: "active",
		ObservedSince: autoT0.Add(-48 * time.Hour), TargetsKnown: true,
		Activities: []resource.Activity{{Name: name, ObjectID: "obj-1", Type: typ, Step: 1, Targets: []string{"Orders_Daily"}}}}
	for i, c := range pattern {
		start := autoT0.Add(time.Duration(i-len(pattern)) * time.Hour)
		r := resource.Run{StartedAt: start, CompletedAt: start.Add(40 * time.Minute), Rows: -1, Status: resource.StatusComplete, Polled: true}
		if c == 'E' {
			r.Status, r.Message = resource.StatusError, name+": "+msg
		}
		st.Runs = append(st.Runs, r)
	}
	off := len(pattern) - len(stepPattern)
	for i, c := range stepPattern {
		if c == '-' {
			continue
		}
		run := st.Runs[off+i]
		ar := resource.ActivityRun{RunStartedAt: run.StartedAt, Name: name, Type: typ, Status: resource.StatusComplete,
			StartedAt: run.StartedAt.Add(time.Minute), CompletedAt: run.StartedAt.Add(time.Minute + stepDur)}
		if c == 'E' {
			ar.Status, ar.Message = resource.StatusError, msg
		}
		st.ActivityRuns = append(st.ActivityRuns, ar)
	}
	return st
}

func TestQueryFailedRule(t *testing.T) {
	cases := []struct {
		name              string
		pattern, steps    string
		msg               string
		edit              func(*resource.AutomationState)
		crit              bool
		want              bool
		wantInTitle       string
		wantDetailPhrases []string
	}{
		{name: "one failed run of an hourly automation (N-1)", pattern: "CCCE", steps: "CCCE", msg: msgInvalidColumn},
		{name: "two in a row (N)", pattern: "CCEE", steps: "CCEE", msg: msgInvalidColumn, want: true, wantInTitle: "failed 2 runs in a row",
			wantDetailPhrases: []string{"Invalid column name 'EmailAddress'", "'Orders_Daily'"}},
		{name: "primary-key violation twice", pattern: "CEE", steps: "CEE", msg: msgPKViolation, want: true, wantInTitle: "Query 'SQL_Orders'"},
		{name: "critical: first failure", pattern: "CCCE", steps: "CCCE", msg: msgPKViolation, crit: true, want: true},
		{name: "first look: failed before sfmcwatch watched", pattern: "CCCE", steps: "CCCE", msg: msgInvalidColumn, want: true,
			edit:              func(st *resource.AutomationState) { st.ObservedSince = autoT0 },
			wantDetailPhrases: []string{"before sfmcwatch started watching"}},
		{name: "infrequent (daily): first failure", pattern: "CCCE", steps: "CCCE", msg: msgInvalidColumn, want: true,
			edit: func(st *resource.AutomationState) { st.Interval = 24 * time.Hour }},
		{name: "recovered: the newest run's query completed", pattern: "CEEC", steps: "CEEC", msg: msgInvalidColumn},
		{name: "a newer run whose steps were not read", pattern: "CEEC", steps: "CEE-", msg: msgInvalidColumn},
		{name: "killed at the limit is query.timeout's", pattern: "CEE", steps: "CEE", msg: msgQueryKilled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := stepState(c.pattern, "SQL_Orders", resource.ActivityQuery, c.steps, c.msg, 5*time.Minute)
			if c.edit != nil {
				c.edit(&st)
			}
			var edit func(*config.Tenant)
			if c.crit {
				edit = autoCritical
			}
			fs := autoEval(t, QueryFailedRule{}, autoInput(autoT0, resource.StatusError, st, edit))
			if got := len(fs) == 1; got != c.want {
				t.Fatalf("fired = %v (%d findings %+v), want %v", got, len(fs), fs, c.want)
			}
			if !c.want {
				return
			}
			f := fs[0]
			if f.Discriminator != "sql_orders" || f.ResourceType != resource.Automation || f.ResourceKey != "A" {
				t.Errorf("finding not per step of the automation: %+v", f)
			}
			if f.Family != catalog.Client || f.Owner != catalog.DataEngineering {
				t.Errorf("family/owner = %s/%s", f.Family, f.Owner)
			}
			if c.wantInTitle != "" && !strings.Contains(f.Title, c.wantInTitle) {
				t.Errorf("title %q lacks %q", f.Title, c.wantInTitle)
			}
			for _, p := range c.wantDetailPhrases {
				if !strings.Contains(f.Detail, p) {
					t.Errorf("detail %q lacks %q", f.Detail, p)
				}
			}
			if f.FailureStartedAt.IsZero() || f.FirstSeen.IsZero() || len(f.Remediation) == 0 {
				t.Errorf("incomplete finding: %+v", f)
			}
		})
	}
}

func TestQueryTimeoutRule(t *testing.T) {
	cases := []struct {
		name     string
		steps    string
		msg      string
		dur      time.Duration
		override time.Duration
		want     catalog.Severity // "" = no finding; "rule" = the rule's severity
	}{
		{name: "20 minutes: under 80% of 30", steps: "CC", dur: 20 * time.Minute},
		{name: "25 minutes: warns", steps: "CC", dur: 25 * time.Minute, want: "rule"},
		{name: "override: 15 minutes warns at 20", steps: "CC", dur: 20 * time.Minute, override: 15 * time.Minute, want: "rule"},
		{name: "killed at the limit", steps: "CE", msg: msgQueryKilled, dur: 30 * time.Minute, want: catalog.Error},
		{name: "other query error is query.failed's", steps: "CE", msg: msgInvalidColumn, dur: time.Minute},
		{name: "a slow run before the newest one", steps: "C-", dur: 29 * time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pattern := "CC"
			if strings.HasSuffix(c.steps, "E") {
				pattern = "CE"
			}
			st := stepState(pattern, "SQL_Orders", resource.ActivityQuery, c.steps, c.msg, c.dur)
			edit := func(ten *config.Tenant) {
				if c.override > 0 {
					ten.Objects = map[string]config.Object{"automation:A": {QueryWarnAfter: config.Duration(c.override)}}
				}
			}
			fs := autoEval(t, QueryTimeoutRule{}, autoInput(autoT0, resource.StatusScheduled, st, edit))
			if c.want == "" {
				if len(fs) != 0 {
					t.Fatalf("unexpected findings %+v", fs)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("%d findings, want 1", len(fs))
			}
			f := fs[0]
			if c.want == "rule" && f.Severity != "" {
				t.Errorf("severity %q, want the rule's (warning by default)", f.Severity)
			}
			if c.want != "rule" && f.Severity != c.want {
				t.Errorf("severity %q, want %q", f.Severity, c.want)
			}
			if f.Family != catalog.Timeout || !strings.Contains(f.Title, "30m") {
				t.Errorf("finding %+v", f)
			}
		})
	}
	if got := QueryWarnAfter(config.DefaultRules().QueryTimeout, 0); got != 24*time.Minute {
		t.Errorf("default warn after = %s, want 24m (80%% of 30m)", got)
	}
}

func TestFileProblem(t *testing.T) {
	for msg, want := range map[string]string{
		msgFileNotFound: "missing",
		"No files matching the pattern Orders_%%YEAR%%%%MONTH%%%%DAY%%.csv were found.": "missing",
		"The specified file does not exist on the FTP server.":                          "missing",
		msgFileEmpty: "unexpected",
		msgFileOld:   "unexpected",
		"The file name does not match the expected naming pattern.": "unexpected",
		msgSFTPAuth: "",
		"Import failed: 412 rows rejected (Invalid email address).": "",
		"": "",
	} {
		if got := FileProblem(msg); got != want {
			t.Errorf("FileProblem(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestFileRules(t *testing.T) {
	cases := []struct {
		name        string
		typ         string
		pattern     string
		msg         string
		wantMissing bool
		wantUnexp   bool
	}{
		{"import file not found twice", resource.ActivityImport, "CEE", msgFileNotFound, true, false},
		{"file transfer found nothing twice", resource.ActivityFileTransfer, "CEE", "No file found in the source folder.", true, false},
		{"empty file twice", resource.ActivityImport, "CEE", msgFileEmpty, false, true},
		{"stale file twice", resource.ActivityImport, "CEE", msgFileOld, false, true},
		{"SFTP credentials: automation.error's", resource.ActivityFileTransfer, "CEE", msgSFTPAuth, false, false},
		{"once in an hourly automation", resource.ActivityImport, "CCE", msgFileNotFound, false, false},
		{"file arrived again", resource.ActivityImport, "EEC", msgFileNotFound, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := stepState(c.pattern, "IMP_Orders", c.typ, c.pattern, c.msg, time.Minute)
			in := autoInput(autoT0, resource.StatusError, st, nil)
			miss := autoEval(t, FileMissingRule{}, in)
			unexp := autoEval(t, FileUnexpectedRule{}, in)
			if (len(miss) == 1) != c.wantMissing || (len(unexp) == 1) != c.wantUnexp {
				t.Fatalf("missing %+v, unexpected %+v; want %v/%v", miss, unexp, c.wantMissing, c.wantUnexp)
			}
			for _, f := range append(miss, unexp...) {
				if f.Discriminator != "imp_orders" || !strings.Contains(f.Detail, c.msg) || !strings.Contains(f.Title, "IMP_Orders") {
					t.Errorf("finding %+v", f)
				}
			}
		})
	}
}

// importSnaps serves latest import snapshots to rules that read them.
type importSnapsSource struct{ snaps []store.Snapshot }

func (s importSnapsSource) LatestSnapshots(_ context.Context, _, typ string) ([]store.Snapshot, error) {
	if typ == string(resource.Import) {
		return s.snaps, nil
	}
	return nil, nil
}

func (importSnapsSource) SnapshotHistory(context.Context, store.ResourceRef, time.Time, time.Time, int) ([]store.Snapshot, error) {
	return nil, nil
}

func TestAutomationNoOutputRule(t *testing.T) {
	rowsRuns := func(rows ...int64) []resource.Run {
		var out []resource.Run
		for i, n := range rows {
			start := autoT0.Add(time.Duration(i-len(rows)) * time.Hour)
			out = append(out, resource.Run{StartedAt: start, CompletedAt: start.Add(10 * time.Minute), Status: resource.StatusComplete, Rows: n})
		}
		return out
	}
	cases := []struct {
		name     string
		runs     []resource.Run
		min      int64
		observed time.Time
		want     bool
	}{
		{name: "learned: five runs with rows, then none", runs: rowsRuns(10, 12, 9, 11, 10, 0), want: true},
		{name: "learned: only four measured runs", runs: rowsRuns(10, 12, 9, 11, 0)},
		{name: "learned: history has a zero run", runs: rowsRuns(10, 0, 9, 11, 10, 12, 0)},
		{name: "unmeasured output is not judged", runs: rowsRuns(10, 12, 9, 11, 10, -1)},
		{name: "configured: 500 < 1000 on the first look", runs: rowsRuns(500), min: 1000, observed: autoT0, want: true},
		{name: "configured: 1500 passes", runs: rowsRuns(500, 1500), min: 1000},
		{name: "errored run is automation.error's", runs: append(rowsRuns(10, 12, 9, 11, 10), resource.Run{StartedAt: autoT0, Status: resource.StatusError, Rows: -1})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := resource.AutomationState{Name: "Nightly Orders", Runs: c.runs, TargetDataExtensions: []string{"Orders_Daily"}, ObservedSince: c.observed}
			edit := func(ten *config.Tenant) {
				if c.min > 0 {
					ten.Objects = map[string]config.Object{"automation:A": {MinOutputRows: c.min}}
				}
			}
			fs := autoEval(t, AutomationNoOutputRule{}, autoInput(autoT0.Add(time.Hour), resource.StatusScheduled, st, edit))
			if (len(fs) == 1) != c.want {
				t.Fatalf("findings %+v, want fired=%v", fs, c.want)
			}
			if c.want && (!strings.Contains(fs[0].Detail, "'Orders_Daily'") || fs[0].Discriminator != "") {
				t.Errorf("finding %+v", fs[0])
			}
		})
	}
}

// TestAutomationNoOutputImportStep: an import step asserted by
// objects.import:<key> (min_file_lines against ImportResultsSummary
// TotalRows, min_output_rows against NumberSuccessful) fails when the
// import run inside the automation's newest run completed short.
func TestAutomationNoOutputImportStep(t *testing.T) {
	runStart := autoT0.Add(-time.Hour)
	imp := resource.ImportState{ID: "9d16f42c-2260-ed11-b849-48df37d1de8b", Name: "Orders Feed", DestinationKey: "Orders_Daily",
		Runs: []resource.Run{{StartedAt: runStart.Add(2 * time.Minute), CompletedAt: runStart.Add(4 * time.Minute), Status: resource.StatusComplete, Rows: 40, Total: 40}}}
	impSnap := store.Snapshot{ID: 7, ResourceRef: resource.Ref("t", resource.Import, "Orders_Feed"), ObservedAt: autoT0, Payload: resource.Encode(imp)}
	st := resource.AutomationState{Name: "Nightly Orders",
		Runs:       []resource.Run{{StartedAt: runStart, CompletedAt: runStart.Add(10 * time.Minute), Status: resource.StatusComplete, Rows: -1}},
		Activities: []resource.Activity{{Name: "IMP_Orders", ObjectID: "9D16F42C-2260-ED11-B849-48DF37D1DE8B", Type: resource.ActivityImport}}}
	for _, c := range []struct {
		name string
		o    config.Object
		want bool
	}{
		{"min_file_lines 100 > 40 lines", config.Object{MinFileLines: 100}, true},
		{"min_output_rows 10 <= 40 rows", config.Object{MinOutputRows: 10}, false},
		{"no assertion configured", config.Object{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := autoInput(autoT0, resource.StatusScheduled, st, func(ten *config.Tenant) {
				ten.Objects = map[string]config.Object{"import:Orders_Feed": c.o}
			})
			in.Snapshots = importSnapsSource{snaps: []store.Snapshot{impSnap}}
			fs := autoEval(t, AutomationNoOutputRule{}, in)
			if (len(fs) == 1) != c.want {
				t.Fatalf("findings %+v, want fired=%v", fs, c.want)
			}
			if c.want {
				f := fs[0]
				if f.Discriminator != "import:orders_feed" || !strings.Contains(f.Detail, "40 lines") || len(f.Evidence) != 2 {
					t.Errorf("finding %+v", f)
				}
			}
		})
	}
}

// FuzzStepText: the step-text classifiers accept any SFMC text and answer
// from their bounded sets.
func FuzzStepText(f *testing.F) {
	for _, s := range []string{msgInvalidColumn, msgPKViolation, msgQueryKilled, msgFileNotFound, msgFileEmpty, msgFileOld, msgSFTPAuth, "", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		switch FileProblem(msg) {
		case "", "missing", "unexpected":
		default:
			t.Fatalf("FileProblem(%q) out of set", msg)
		}
		_ = queryKilled(msg)
		_ = queryAdvice(msg)
		if capitalize(msg) == "" && msg != "" {
			t.Fatalf("capitalize lost %q", msg)
		}
	})
}
