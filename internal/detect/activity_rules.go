package detect

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
)

// Step rules read the outcomes of an automation's query, import and file
// transfer activities (AutomationState.ActivityRuns, from SOAP
// AutomationActivityInstance) and report the failing step itself, one
// incident per step (Discriminator: the activity name), linked to its
// automation (the resource) and the data extensions it writes. The
// automation's own automation.error incident for the same run is the
// step incident's child (internal/correlate), so one cause pages once.

// stepProblem is how a step's outcome in one run is judged by a rule.
type stepProblem int

const (
	stepOK    stepProblem = iota // ran and passed (or failed some other way)
	stepHit                      // the rule's problem
	stepOther                    // failed another way (another rule's problem)
)

// queryKilled reports a query step SFMC stopped at its runtime limit.
func queryKilled(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range []string{"timed out", "timeout", "time out", "30 minutes", "exceeded the maximum time", "maximum execution time"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// FileProblem classifies an import or file transfer step's error text:
// "missing" when no file was found (not delivered, or no name matching the
// pattern), "unexpected" when a file was found but was unusable (empty,
// older than the activity's maximum file age, wrong name or layout), ""
// for other failures (credentials, rejected rows, platform errors), which
// stay automation.error's.
func FileProblem(msg string) string {
	m := strings.ToLower(msg)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(m, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("empty", "0 bytes", "zero bytes", "zero-byte", "no data rows", "contains no data", "no rows in the file",
		"older than", "file age", "too old", "stale file",
		"does not match", "did not match", "unexpected file", "invalid file", "header row", "column headers", "delimiter", "could not parse", "unable to parse"):
		return "unexpected"
	case has("not found", "no file", "no files", "could not find", "cannot find", "can't find", "unable to find",
		"does not exist", "did not exist", "missing file", "file is missing", "was not delivered"):
		return "missing"
	}
	return ""
}

// stepOutcomes groups the automation's step outcomes per activity name,
// oldest run first, keeping only runs the automation's history still holds.
func stepOutcomes(a autoSnap, types ...string) (names []string, by map[string][]resource.ActivityRun) {
	by = map[string][]resource.ActivityRun{}
	for _, r := range a.state.ActivityRuns {
		if !containsString(types, r.Type) || r.Status == resource.StatusRunning {
			continue
		}
		k := strings.ToLower(r.Name)
		if _, ok := by[k]; !ok {
			names = append(names, k)
		}
		by[k] = append(by[k], r)
	}
	return names, by
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// latestRunStart is the start of the automation's newest finished run.
func latestRunStart(a autoSnap) time.Time {
	runs := autoFinishedRuns(a.state.Runs)
	if len(runs) == 0 {
		return time.Time{}
	}
	return runs[len(runs)-1].StartedAt
}

// stepStreak counts the newest outcomes of one step judged stepHit, and
// returns the first of them; outcomes of runs other than the automation's
// newest finished run end nothing (the newest run must show the problem).
func stepStreak(a autoSnap, outs []resource.ActivityRun, judge func(resource.ActivityRun) stepProblem) (int, resource.ActivityRun, bool) {
	n := len(outs)
	if n == 0 || !outs[n-1].RunStartedAt.Equal(latestRunStart(a)) {
		return 0, resource.ActivityRun{}, false
	}
	streak := 0
	var first resource.ActivityRun
	for i := n - 1; i >= 0 && judge(outs[i]) == stepHit; i-- {
		streak++
		first = outs[i]
	}
	return streak, first, streak > 0
}

// stepFires applies the shared policy of the step rules: `consecutive`
// failed runs of the step in a row, or the first one for a critical
// automation, an infrequent one (automation.error's infrequent_interval)
// or a failure that predates sfmcwatch's first look.
func stepFires(in *Input, a autoSnap, cfg config.ActivityFailedRule, streak int, last resource.ActivityRun) (bool, string) {
	if streak >= max(cfg.Consecutive, 1) {
		return true, ""
	}
	if streak < 1 || !cfg.CriticalFirstError {
		return false, ""
	}
	if in.Critical(a.snap.ResourceKey) {
		return true, " The automation is critical, so its first failed run alerts."
	}
	at := cmp.Or(last.CompletedAt, last.StartedAt, last.RunStartedAt)
	if since := a.state.ObservedSince; !since.IsZero() && at.Before(since) {
		return true, " It had already failed before sfmcwatch started watching, so it is reported at once."
	}
	inf := in.Rules.AutomationError.InfrequentInterval.Std()
	interval := autoInterval(a.state, in.Object(a.snap.ResourceKey).ExpectedInterval.Std())
	if inf > 0 && (interval <= 0 || interval >= inf) {
		return true, " The automation runs rarely (or on no known rhythm), so its first failed run alerts."
	}
	return false, ""
}

// stepFinding starts a finding about one step of an automation.
func stepFinding(in *Input, a autoSnap, rule string, step resource.ActivityRun) Finding {
	f := a.finding(in, rule)
	f.Discriminator = strings.ToLower(step.Name)
	return f
}

// stepTargets names the data extensions a step writes (from the
// automation's definition), for the detail.
func stepTargets(a autoSnap, name string) []string {
	for _, d := range a.state.Activities {
		if strings.EqualFold(d.Name, name) {
			return d.Targets
		}
	}
	return nil
}

func targetsText(ts []string) string {
	if len(ts) == 0 {
		return "its target data extension"
	}
	return "target data extension " + strings.Join(quoteAll(ts), ", ")
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "'" + x + "'"
	}
	return out
}

// ---------------------------------------------------------------- query.failed

// QueryFailedRule fires when a SQL query activity of an automation fails
// with SFMC's error text (invalid column, syntax, primary-key violation;
// a query killed at the runtime limit is query.timeout's): `consecutive`
// runs in a row (default 2), or the first failed run of a critical or
// infrequent automation or one that had already failed when sfmcwatch
// first looked. One incident per query activity; it is the cause of the
// automation's automation.error incident for the same failure.
type QueryFailedRule struct{}

// ID implements Rule.
func (QueryFailedRule) ID() string { return "query.failed" }

// Type implements Rule.
func (QueryFailedRule) Type() resource.Type { return resource.Automation }

// NeedsHistory implements Rule: step outcomes travel in the payload.
func (QueryFailedRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (r QueryFailedRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.QueryFailed
	judge := func(x resource.ActivityRun) stepProblem {
		if x.Status != resource.StatusError {
			return stepOK
		}
		if queryKilled(x.Message) {
			return stepOther
		}
		return stepHit
	}
	var out []Finding
	for _, a := range automationSnaps(in) {
		names, by := stepOutcomes(a, resource.ActivityQuery)
		for _, k := range names {
			streak, first, ok := stepStreak(a, by[k], judge)
			if !ok {
				continue
			}
			last := by[k][len(by[k])-1]
			fires, why := stepFires(in, a, cfg, streak, last)
			if !fires {
				continue
			}
			f := stepFinding(in, a, r.ID(), last)
			f.FailureStartedAt = cmp.Or(first.CompletedAt, first.StartedAt, first.RunStartedAt)
			f.FirstSeen = a.seenAt(f.FailureStartedAt)
			f.Family, f.Owner = autoClassifyMessage(last.Message)
			if f.Family == catalog.Timeout {
				f.Family = catalog.Client
			}
			targets := stepTargets(a, last.Name)
			f.Title = fmt.Sprintf("Query '%s' in automation '%s' failed", last.Name, a.name())
			if streak > 1 {
				f.Title = fmt.Sprintf("Query '%s' in automation '%s' failed %d runs in a row", last.Name, a.name(), streak)
			}
			msg := cmp.Or(strings.TrimSpace(last.Message), "(SFMC gave no error text)")
			f.Detail = fmt.Sprintf("The query step of the run started %s failed with: %q. %s was not refreshed by it, and the automation's later steps did not run or worked on stale data.",
				last.RunStartedAt.UTC().Format(time.RFC3339), msg, capitalize(targetsText(targets))) + why
			f.Remediation = []string{
				fmt.Sprintf("SFMC's error: %q. In Automation Studio open '%s' > Activity history and select the run of %s for the full text.", clipText(msg, 300), a.name(), last.RunStartedAt.UTC().Format(time.RFC3339)),
				queryAdvice(last.Message),
				"Run the automation once by hand after the fix and check the target data extension's row count.",
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// clipText cuts SFMC's (already masked) error text to n runes for a
// remediation line.
func clipText(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n]) + "…"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// queryAdvice is the fix for a query error by its text.
func queryAdvice(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "primary key"):
		return "The query wrote a primary-key value twice (duplicates in its result, or Append onto rows that exist): de-duplicate in the SQL (ROW_NUMBER() ... = 1) or use Update/Overwrite."
	case strings.Contains(m, "invalid column") || strings.Contains(m, "column name"):
		return "A column the query reads or writes does not exist: a source or target data extension's fields changed; fix the SQL or the target's fields (compare with data_extension.schema_drift)."
	case strings.Contains(m, "syntax"):
		return "The SQL no longer validates: fix the syntax in the query activity (Validate Syntax) and save."
	case strings.Contains(m, "truncat") || strings.Contains(m, "too long") || strings.Contains(m, "conversion"):
		return "A value does not fit the target field (length or type): widen the field or CAST/LEFT() in the SQL."
	}
	return "Fix the query's SQL or its target data extension's fields, then validate the query in Automation Studio."
}

// ---------------------------------------------------------------- query.timeout

// QueryTimeoutRule fires when SFMC killed a query activity at its runtime
// limit (the step failed with a timeout: killed_severity, default error),
// or a completed query step ran warn_ratio × limit or longer (default 80 %
// of 30 minutes: 24 minutes; objects.<key>.query_warn_after overrides),
// in the automation's newest finished run. Found on the first look as well:
// the newest run's steps are read when sfmcwatch first sees the
// automation's definition.
type QueryTimeoutRule struct{}

// ID implements Rule.
func (QueryTimeoutRule) ID() string { return "query.timeout" }

// Type implements Rule.
func (QueryTimeoutRule) Type() resource.Type { return resource.Automation }

// NeedsHistory implements Rule.
func (QueryTimeoutRule) NeedsHistory() bool { return false }

// QueryWarnAfter is the query runtime that warns.
func QueryWarnAfter(cfg config.QueryTimeoutRule, override time.Duration) time.Duration {
	if override > 0 {
		return override
	}
	return time.Duration(float64(cfg.Limit.Std()) * float64(cfg.WarnRatio))
}

// Evaluate implements Rule.
func (r QueryTimeoutRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.QueryTimeout
	var out []Finding
	for _, a := range automationSnaps(in) {
		warnAfter := QueryWarnAfter(cfg, in.Object(a.snap.ResourceKey).QueryWarnAfter.Std())
		latest := latestRunStart(a)
		names, by := stepOutcomes(a, resource.ActivityQuery)
		for _, k := range names {
			outs := by[k]
			last := outs[len(outs)-1]
			if latest.IsZero() || !last.RunStartedAt.Equal(latest) {
				continue
			}
			killed := last.Status == resource.StatusError && queryKilled(last.Message)
			slow := last.Status == resource.StatusComplete && warnAfter > 0 && last.Duration() >= warnAfter
			if !killed && !slow {
				continue
			}
			f := stepFinding(in, a, r.ID(), last)
			f.Family, f.Owner = catalog.Timeout, catalog.DataEngineering
			f.FailureStartedAt = cmp.Or(last.StartedAt, last.RunStartedAt)
			f.FirstSeen = a.seenAt(cmp.Or(last.CompletedAt, f.FailureStartedAt))
			targets := stepTargets(a, last.Name)
			if killed {
				f.Severity = cmp.Or(cfg.KilledSeverity, catalog.Error)
				f.Title = fmt.Sprintf("Query '%s' in automation '%s' was killed at SFMC's %s limit", last.Name, a.name(), shortDur(cfg.Limit.Std()))
				f.Detail = fmt.Sprintf("The query step of the run started %s failed with: %q. SFMC stops a query activity after %s; %s keeps what it held before (or the rows written before the kill) and later steps worked on stale data.",
					last.RunStartedAt.UTC().Format(time.RFC3339), last.Message, shortDur(cfg.Limit.Std()), targetsText(targets))
			} else {
				f.Title = fmt.Sprintf("Query '%s' in automation '%s' ran %s of SFMC's %s limit", last.Name, a.name(), shortDur(last.Duration().Round(time.Minute)), shortDur(cfg.Limit.Std()))
				if last.Duration() >= cfg.Limit.Std() {
					f.Title = fmt.Sprintf("Query '%s' in automation '%s' took %s (SFMC's limit is %s)", last.Name, a.name(), shortDur(last.Duration().Round(time.Minute)), shortDur(cfg.Limit.Std()))
				}
				f.Detail = fmt.Sprintf("The query step of the run started %s took %s (warns from %s). SFMC kills a query activity at %s: as its input grows, the next runs will fail and leave %s stale.",
					last.RunStartedAt.UTC().Format(time.RFC3339), last.Duration().Round(time.Second), shortDur(warnAfter), shortDur(cfg.Limit.Std()), targetsText(targets))
			}
			f.Remediation = []string{
				"Make the query cheaper: filter early (date windows on data views), join on primary-key fields, avoid functions on join columns, and select only the columns the target needs.",
				"Split it into staging queries (each well under the limit) writing intermediate data extensions.",
				fmt.Sprintf("Check each step's duration in Automation Studio > '%s' > Activity history.", a.name()),
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// ---------------------------------------------------------------- file.missing / file.unexpected

// FileMissingRule fires when an import or file transfer step of an
// automation found no file: the partner's file did not arrive, or none
// matched the activity's file naming pattern (FileProblem "missing"). Same
// run policy as query.failed (consecutive runs, first failure of critical
// or infrequent automations or one found on the first look).
type FileMissingRule struct{}

// ID implements Rule.
func (FileMissingRule) ID() string { return "file.missing" }

// Type implements Rule.
func (FileMissingRule) Type() resource.Type { return resource.Automation }

// NeedsHistory implements Rule.
func (FileMissingRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (r FileMissingRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	return fileFindings(in, r.ID(), "missing", in.Rules.FileMissing), nil
}

// FileUnexpectedRule fires when an import or file transfer step found a
// file it could not use: empty, older than the activity's maximum file
// age, a name or layout that does not match (FileProblem "unexpected").
type FileUnexpectedRule struct{}

// ID implements Rule.
func (FileUnexpectedRule) ID() string { return "file.unexpected" }

// Type implements Rule.
func (FileUnexpectedRule) Type() resource.Type { return resource.Automation }

// NeedsHistory implements Rule.
func (FileUnexpectedRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (r FileUnexpectedRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	return fileFindings(in, r.ID(), "unexpected", in.Rules.FileUnexpected), nil
}

func fileFindings(in *Input, rule, problem string, cfg config.ActivityFailedRule) []Finding {
	judge := func(x resource.ActivityRun) stepProblem {
		if x.Status != resource.StatusError {
			return stepOK
		}
		if FileProblem(x.Message) == problem {
			return stepHit
		}
		return stepOther
	}
	var out []Finding
	for _, a := range automationSnaps(in) {
		names, by := stepOutcomes(a, resource.ActivityImport, resource.ActivityFileTransfer)
		for _, k := range names {
			streak, first, ok := stepStreak(a, by[k], judge)
			if !ok {
				continue
			}
			last := by[k][len(by[k])-1]
			fires, why := stepFires(in, a, cfg, streak, last)
			if !fires {
				continue
			}
			f := stepFinding(in, a, rule, last)
			f.FailureStartedAt = cmp.Or(first.StartedAt, first.RunStartedAt)
			f.FirstSeen = a.seenAt(f.FailureStartedAt)
			f.Family, f.Owner = catalog.Client, catalog.DataEngineering
			kind := "import"
			if last.Type == resource.ActivityFileTransfer {
				kind = "file transfer"
			}
			when := last.RunStartedAt.UTC().Format(time.RFC3339)
			runs := ""
			if streak > 1 {
				runs = fmt.Sprintf(" %d runs in a row", streak)
			}
			if problem == "missing" {
				f.Title = fmt.Sprintf("No file for %s '%s' in automation '%s'%s", kind, last.Name, a.name(), runs)
				f.Detail = fmt.Sprintf("The %s step of the run started %s found no file: %q. Nothing was loaded; %s keeps its old rows and what reads it works on stale data.",
					kind, when, last.Message, targetsText(stepTargets(a, last.Name)))
				f.Remediation = []string{
					fmt.Sprintf("SFMC's error: %q.", clipText(last.Message, 300)),
					"Check with the file's sender whether it was delivered, and to which folder of the file location.",
					"Compare the delivered file's name with the activity's file naming pattern (date substitutions such as %%YEAR%%%%MONTH%%%%DAY%% use the account's time zone).",
					fmt.Sprintf("Once the file is there, run '%s' once by hand.", a.name()),
				}
			} else {
				f.Title = fmt.Sprintf("Unusable file for %s '%s' in automation '%s'%s", kind, last.Name, a.name(), runs)
				f.Detail = fmt.Sprintf("The %s step of the run started %s rejected the file it found: %q. %s was not refreshed from it.",
					kind, when, last.Message, capitalize(targetsText(stepTargets(a, last.Name))))
				f.Remediation = []string{
					fmt.Sprintf("SFMC's error: %q.", clipText(last.Message, 300)),
					"Open the delivered file: is it empty, an old file left in the folder, or a different layout (header, delimiter, encoding) than the import expects?",
					"Ask the sender for a complete, current file; remove stale files from the folder so the pattern picks the right one.",
					"Check the import's maximum file age and naming pattern against how the sender names and dates files.",
				}
			}
			f.Detail += why
			out = append(out, f)
		}
	}
	return out
}

// shortDur prints 30m for 30m0s and 1h for 1h0m0s.
func shortDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
