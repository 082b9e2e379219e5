package detect

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Automation rules read the automation collector's snapshots: the
// normalised status, and the AutomationState payload with the recent runs
// (oldest first) the collector carries forward from poll to poll. They
// need no store history: what they compare against travels in the payload.

// autoMinLearnGaps is the number of inter-run gaps needed before a learned
// interval (median gap, p95 inter-arrival) is trusted.
const autoMinLearnGaps = 3

// autoSnap is one automation snapshot with its decoded payload.
type autoSnap struct {
	snap  store.Snapshot
	state resource.AutomationState
}

func (a autoSnap) name() string { return cmp.Or(a.state.Name, a.snap.ResourceKey) }

// automationSnaps decodes the current automation snapshots (undecodable
// payloads are skipped: one bad row must not hide every other automation).
func automationSnaps(in *Input) []autoSnap {
	out := make([]autoSnap, 0, len(in.Current))
	for _, s := range in.Current {
		var st resource.AutomationState
		if err := resource.Decode(s, &st); err != nil {
			continue
		}
		out = append(out, autoSnap{snap: s, state: st})
	}
	return out
}

// seenAt is when sfmcwatch first saw evidence of a failure that SFMC's
// timestamps date at started: then, when it happened while watching (to
// within a poll), else on sfmcwatch's first look at the automation.
func (a autoSnap) seenAt(started time.Time) time.Time {
	if since := a.state.ObservedSince; !since.IsZero() && started.Before(since) {
		return since
	}
	return cmp.Or(started, a.snap.ObservedAt)
}

func autoEvidence(s store.Snapshot, now time.Time) []store.Evidence {
	if s.ID == 0 {
		return nil
	}
	return []store.Evidence{{Kind: store.EvidenceSnapshot, RefID: s.ID, AddedAt: now}}
}

func (a autoSnap) finding(in *Input, rule string) Finding {
	return Finding{Rule: rule, Tenant: in.Tenant.Name, ResourceType: resource.Automation, ResourceKey: a.snap.ResourceKey,
		ResourceName: a.state.Name, Evidence: autoEvidence(a.snap, in.Now)}
}

// autoFinishedRuns returns the runs that have an outcome (complete, error,
// stopped), oldest first.
func autoFinishedRuns(runs []resource.Run) []resource.Run {
	out := make([]resource.Run, 0, len(runs))
	for _, r := range runs {
		switch r.Status {
		case resource.StatusComplete, resource.StatusError, resource.StatusStopped:
			out = append(out, r)
		}
	}
	return out
}

// autoClassifyMessage gives the family and owner of an automation
// StatusMessage. SFMC's activity messages are free text; the markers below
// are the ones its activities use. Anything else is a problem in the
// automation's own definition or data (client).
func autoClassifyMessage(msg string) (catalog.Family, catalog.Owner) {
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
	case has("insufficient privileges", "not authorized", "permission", "access denied", "authentication", "unauthorized", "no access"):
		return catalog.Auth, catalog.MarketingOps
	case has("timed out", "timeout", "time out", "30 minutes", "exceeded the maximum time"):
		return catalog.Timeout, catalog.DataEngineering
	case has("internal server error", "unexpected error", "service unavailable", "system error", "could not connect", "connection reset", "try again later"):
		return catalog.Server, catalog.DataEngineering
	}
	return catalog.Client, catalog.DataEngineering
}

func autoFixAdvice(f catalog.Family) string {
	switch f {
	case catalog.Auth:
		return "The activity lacks access: check the user or installed package behind it, the data extension's sharing, or the SFTP/file location credentials."
	case catalog.Timeout:
		return "The activity ran out of time: simplify the query (indexes on join keys, fewer rows, staging steps) so it finishes well under SFMC's 30-minute limit."
	case catalog.Server:
		return "The failure looks platform- or endpoint-side: rerun once; if it repeats, check Salesforce Trust and the remote host, then open a case."
	}
	return "Fix the failing activity's definition or input (query SQL and target fields, missing or malformed file, send configuration), then run the automation once by hand."
}

// ---------------------------------------------------------------- automation.error

// AutomationErrorRule fires when runs error: the first error of a critical
// automation or of an infrequent one (it runs every infrequent_interval or
// less often, or its rhythm is unknown: judged by time, not run counts),
// otherwise `consecutive` errored runs in a row or `ratio` of
// the last `last_runs` runs. The ratio is evaluated once at least half of
// last_runs (+1) runs are known and stays firing until the share falls
// below it; a streak clears at the first clean run.
type AutomationErrorRule struct{}

// ID implements Rule.
func (AutomationErrorRule) ID() string { return "automation.error" }

// Type implements Rule.
func (AutomationErrorRule) Type() resource.Type { return resource.Automation }

// NeedsHistory implements Rule: the run history travels in the payload.
func (AutomationErrorRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (r AutomationErrorRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.AutomationError
	consecutive := max(cfg.Consecutive, 1)
	lastN := max(cfg.LastRuns, 1)
	var out []Finding
	for _, a := range automationSnaps(in) {
		runs := autoFinishedRuns(a.state.Runs)
		if len(runs) == 0 {
			continue
		}
		streak := 0
		for i := len(runs) - 1; i >= 0 && runs[i].Status == resource.StatusError; i-- {
			streak++
		}
		window := runs[max(0, len(runs)-lastN):]
		errs := 0
		var firstErr resource.Run
		for _, x := range window {
			if x.Status == resource.StatusError {
				if errs == 0 {
					firstErr = x
				}
				errs++
			}
		}
		critical := cfg.CriticalFirstError && in.Critical(a.snap.ResourceKey)
		// Infrequent jobs (a few runs a day or fewer, or no known rhythm)
		// alert on their first error: waiting for a second errored run of
		// a daily job means alerting a day late.
		interval := autoInterval(a.state, in.Object(a.snap.ResourceKey).ExpectedInterval.Std())
		infrequent := cfg.InfrequentInterval.Std() > 0 && (interval <= 0 || interval >= cfg.InfrequentInterval.Std())
		// Found on the first look: the last run had already errored before
		// sfmcwatch started watching, so the failure is not a blip seen
		// happen; waiting for the next run would leave it unreported for
		// an interval.
		last := runs[len(runs)-1]
		foundErrored := streak >= 1 && !a.state.ObservedSince.IsZero() && cmp.Or(last.CompletedAt, last.StartedAt).Before(a.state.ObservedSince)
		byStreak := streak >= consecutive || ((critical || infrequent || foundErrored) && streak >= 1)
		byRatio := cfg.Ratio > 0 && len(window) >= lastN/2+1 && errs > 0 &&
			float64(errs)/float64(len(window)) >= float64(cfg.Ratio)
		if !byStreak && !byRatio {
			continue
		}
		f := a.finding(in, r.ID())
		lastErr := runs[len(runs)-1]
		if streak == 0 {
			for i := len(runs) - 1; i >= 0; i-- {
				if runs[i].Status == resource.StatusError {
					lastErr = runs[i]
					break
				}
			}
		}
		if byStreak {
			// The error exists from the moment the run ended in error.
			first := runs[len(runs)-streak]
			f.FailureStartedAt = cmp.Or(first.CompletedAt, first.StartedAt)
			switch {
			case streak == 1 && critical:
				f.Title = fmt.Sprintf("Critical automation '%s' errored", a.name())
			case streak == 1:
				f.Title = fmt.Sprintf("Automation '%s' errored", a.name())
			default:
				f.Title = fmt.Sprintf("Automation '%s' errored %d runs in a row", a.name(), streak)
			}
		} else {
			f.FailureStartedAt = cmp.Or(firstErr.CompletedAt, firstErr.StartedAt)
			f.Title = fmt.Sprintf("Automation '%s' errored %d of its last %d runs", a.name(), errs, len(window))
		}
		f.FirstSeen = a.seenAt(f.FailureStartedAt)
		if cfg.EscalateConsecutive > 0 && streak >= cfg.EscalateConsecutive {
			f.Severity = catalog.Critical
		}
		msg := strings.TrimSpace(lastErr.Message)
		f.Family, f.Owner = autoClassifyMessage(msg)
		when := lastErr.StartedAt.UTC().Format(time.RFC3339)
		if msg != "" {
			f.Detail = fmt.Sprintf("The run started %s failed with: %q. Downstream data extensions and sends fed by this automation were not refreshed.", when, msg)
		} else {
			f.Detail = fmt.Sprintf("The run started %s ended in Error (SFMC returned no status message). Downstream data extensions and sends fed by this automation were not refreshed.", when)
		}
		if streak >= 1 {
			f.Detail += fmt.Sprintf(" %d consecutive errored runs; %d of the last %d.", streak, errs, len(window))
		}
		if streak == 1 && foundErrored && !infrequent && !critical {
			f.Detail += " It had already errored before sfmcwatch started watching, so it is reported at once."
		}
		if streak == 1 && infrequent && !critical {
			if interval > 0 {
				f.Detail += fmt.Sprintf(" It runs every %s, so its first error alerts at once (infrequent_interval %s).", interval.Round(time.Minute), cfg.InfrequentInterval.Std())
			} else {
				f.Detail += " Its run rhythm is unknown (no schedule, too few runs), so its first error alerts at once."
			}
		}
		if age := in.Now.Sub(f.FailureStartedAt); byStreak && age > autoStaleErrorAge {
			f.Detail += fmt.Sprintf(" The errored run is still the last one, %s later: nothing has run successfully since.", age.Round(time.Hour))
		}
		look := fmt.Sprintf("In Automation Studio open '%s' > Activity history, select the run of %s and read the failed activity's message", a.name(), when)
		if msg != "" {
			look += fmt.Sprintf(" (%q)", msg)
		}
		f.Remediation = []string{look + ".", autoFixAdvice(f.Family),
			"After the fix, watch the next scheduled run complete: SFMC deactivates an automation that keeps failing."}
		if a.state.ErrorNotifications != nil && len(a.state.ErrorNotifications) == 0 {
			f.Remediation = append(f.Remediation, "No error-notification address is set on this automation: add a team mailbox so SFMC's own error e-mail reaches someone.")
		}
		out = append(out, f)
	}
	return out, nil
}

// autoOldState: a paused or stopped state SFMC dates further back than
// this is reported at info severity on the first look.
const autoOldState = 7 * 24 * time.Hour

// autoStaleErrorAge: an errored last run older than this is called out as
// persisting in the finding's detail.
const autoStaleErrorAge = 24 * time.Hour

// autoInterval is how often an automation runs: the object's
// expected_interval, else the schedule's interval, else the median of the
// learned gaps between runs (0 when unknown).
func autoInterval(st resource.AutomationState, expected time.Duration) time.Duration {
	if expected > 0 {
		return expected
	}
	if st.Interval > 0 {
		return st.Interval
	}
	gaps := autoRunGaps(st.Runs, 0)
	if len(gaps) < autoMinLearnGaps {
		return 0
	}
	s := slices.Clone(gaps)
	slices.Sort(s)
	return s[len(s)/2]
}

// ---------------------------------------------------------------- automation.stalled

// AutomationStalledRule fires when the current run has been running longer
// than max(p95_factor × p95 of recent run durations, floor), or the
// object's max_runtime; severity error once it passes error_after.
type AutomationStalledRule struct{}

// ID implements Rule.
func (AutomationStalledRule) ID() string { return "automation.stalled" }

// Type implements Rule.
func (AutomationStalledRule) Type() resource.Type { return resource.Automation }

// NeedsHistory implements Rule.
func (AutomationStalledRule) NeedsHistory() bool { return false }

// autoPercentile returns the nearest-rank p-quantile of xs (0 when empty).
func autoPercentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// AutomationStallThreshold is the runtime above which a run counts as stalled.
func AutomationStallThreshold(durations []time.Duration, factor float64, floor, maxRuntime time.Duration) time.Duration {
	if maxRuntime > 0 {
		return maxRuntime
	}
	return max(time.Duration(factor*float64(autoPercentile(durations, 0.95))), floor)
}

// Evaluate implements Rule.
func (r AutomationStalledRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.AutomationStalled
	var out []Finding
	for _, a := range automationSnaps(in) {
		n := len(a.state.Runs)
		if n == 0 {
			continue
		}
		cur := a.state.Runs[n-1]
		if cur.Status != resource.StatusRunning || !cur.CompletedAt.IsZero() || cur.StartedAt.IsZero() {
			continue
		}
		var durs []time.Duration
		for _, x := range autoFinishedRuns(a.state.Runs[:n-1]) {
			if !x.CompletedAt.IsZero() && x.CompletedAt.After(x.StartedAt) {
				durs = append(durs, x.CompletedAt.Sub(x.StartedAt))
			}
		}
		if h := cfg.HistoryRuns; h > 0 && len(durs) > h {
			durs = durs[len(durs)-h:]
		}
		thr := AutomationStallThreshold(durs, cfg.P95Factor, cfg.Floor.Std(), in.Object(a.snap.ResourceKey).MaxRuntime.Std())
		d := cur.Duration(in.Now)
		if thr <= 0 || d <= thr {
			continue
		}
		f := a.finding(in, r.ID())
		f.FailureStartedAt = cur.StartedAt.Add(thr)
		f.FirstSeen = a.seenAt(f.FailureStartedAt)
		f.Family, f.Owner = catalog.Timeout, catalog.DataEngineering
		f.Severity = catalog.Warning
		if ea := cfg.ErrorAfter.Std(); ea > 0 && d >= ea {
			f.Severity = catalog.Error
		}
		f.Title = fmt.Sprintf("Automation '%s' has been running for %s", a.name(), d.Round(time.Minute))
		base := "no completed runs to compare with"
		if len(durs) > 0 {
			base = fmt.Sprintf("p95 of the last %d runs is %s", len(durs), autoPercentile(durs, 0.95).Round(time.Second))
		}
		f.Detail = fmt.Sprintf("The run started %s is still running after %s; the stall threshold is %s (%s). SFMC kills query activities at about 30 minutes, and later scheduled runs are skipped while this one runs.",
			cur.StartedAt.UTC().Format(time.RFC3339), d.Round(time.Second), thr.Round(time.Second), base)
		f.Remediation = []string{
			fmt.Sprintf("In Automation Studio open '%s' > Activity history and see which activity of the current run is still running.", a.name()),
			"If it is a query: check for a missing join key, a growing source data extension or a lock from another query writing the same target; split or filter it.",
			"If nothing is progressing, stop the run and start it again by hand once the cause is fixed; set objects.automation:<key>.max_runtime if this automation legitimately runs long.",
		}
		out = append(out, f)
	}
	return out, nil
}

// ---------------------------------------------------------------- automation.missed_run

// AutomationMissedRunRule fires when an automation with an active schedule
// did not start its expected run: last start + interval (the object's
// expected_interval, the schedule interval, or the median of the last
// learn_runs gaps) + max(grace, grace_ratio × interval) has passed. For
// file-drop automations the deadline is the last start + max(file_drop_factor
// × p95 inter-arrival, expected_interval). A run still in progress is left
// to automation.stalled.
type AutomationMissedRunRule struct{}

// ID implements Rule.
func (AutomationMissedRunRule) ID() string { return "automation.missed_run" }

// Type implements Rule.
func (AutomationMissedRunRule) Type() resource.Type { return resource.Automation }

// NeedsHistory implements Rule.
func (AutomationMissedRunRule) NeedsHistory() bool { return false }

// autoRunGaps returns the gaps between consecutive run starts, the last n.
func autoRunGaps(runs []resource.Run, n int) []time.Duration {
	var gaps []time.Duration
	for i := 1; i < len(runs); i++ {
		if g := runs[i].StartedAt.Sub(runs[i-1].StartedAt); g > 0 {
			gaps = append(gaps, g)
		}
	}
	if n > 0 && len(gaps) > n {
		gaps = gaps[len(gaps)-n:]
	}
	return gaps
}

// AutomationMissedRunDeadline returns when an automation's next run is overdue and
// when it was expected (zero when the rule cannot say).
func AutomationMissedRunDeadline(st resource.AutomationState, expectedInterval time.Duration, grace time.Duration, graceRatio float64,
	learnRuns int, fileDropFactor float64) (expected, deadline time.Time, interval time.Duration) {
	var lastStart time.Time
	if n := len(st.Runs); n > 0 {
		lastStart = st.Runs[n-1].StartedAt
	}
	gaps := autoRunGaps(st.Runs, learnRuns)
	if st.FileDrop {
		if lastStart.IsZero() {
			return
		}
		var thr time.Duration
		if len(gaps) >= autoMinLearnGaps {
			thr = time.Duration(fileDropFactor * float64(autoPercentile(gaps, 0.95)))
		}
		thr = max(thr, expectedInterval)
		if thr <= 0 {
			return
		}
		return lastStart.Add(thr), lastStart.Add(thr), thr
	}
	interval = expectedInterval
	if interval <= 0 {
		interval = st.Interval
	}
	if interval <= 0 && len(gaps) >= autoMinLearnGaps {
		s := slices.Clone(gaps)
		slices.Sort(s)
		interval = s[len(s)/2]
	}
	switch {
	case !lastStart.IsZero() && interval > 0:
		expected = lastStart.Add(interval)
		// The schedule was resumed or changed after the expected time: the
		// next start it announces is what counts.
		if !st.NextRunAt.IsZero() && st.NextRunAt.After(expected) && st.StatusSince.After(expected) {
			expected = st.NextRunAt
		}
	case lastStart.IsZero() && !st.NextRunAt.IsZero():
		expected = st.NextRunAt
	default:
		return time.Time{}, time.Time{}, 0
	}
	g := max(grace, time.Duration(graceRatio*float64(interval)))
	return expected, expected.Add(g), interval
}

// Evaluate implements Rule.
func (r AutomationMissedRunRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.AutomationMissedRun
	var out []Finding
	for _, a := range automationSnaps(in) {
		st := a.state
		if st.ScheduleStatus != "active" {
			continue
		}
		switch a.snap.Status {
		case resource.StatusPaused, resource.StatusInactiveTrigger, resource.StatusReady, resource.StatusStopped,
			resource.StatusBuilding, resource.StatusBuildingError, resource.StatusRunning:
			continue
		}
		if n := len(st.Runs); n > 0 && st.Runs[n-1].Status == resource.StatusRunning {
			continue
		}
		expected, deadline, interval := AutomationMissedRunDeadline(st, in.Object(a.snap.ResourceKey).ExpectedInterval.Std(),
			cfg.Grace.Std(), float64(cfg.GraceRatio), cfg.LearnRuns, cfg.FileDropFactor)
		if deadline.IsZero() || !in.Now.After(deadline) {
			continue
		}
		f := a.finding(in, r.ID())
		f.FailureStartedAt = expected
		f.FirstSeen = a.seenAt(expected)
		f.Family, f.Owner = catalog.None, catalog.MarketingOps
		last := "never observed a run"
		if n := len(st.Runs); n > 0 {
			last = "last run started " + st.Runs[n-1].StartedAt.UTC().Format(time.RFC3339)
		}
		if st.FileDrop {
			f.Title = fmt.Sprintf("File-drop automation '%s' has not run for %s", a.name(), in.Now.Sub(expected.Add(-interval)).Round(time.Minute))
			f.Detail = fmt.Sprintf("No file triggered it within %s (%s). Either the upstream system stopped delivering the file or the file no longer matches the trigger's folder and name pattern.", interval.Round(time.Minute), last)
			f.Remediation = []string{
				"Check the Enhanced FTP folder the automation watches for today's file, and ask the sending system whether it delivered.",
				fmt.Sprintf("In Automation Studio open '%s' and confirm the file-drop trigger (folder, file name pattern) still matches the delivered file; a file transfer or export writing the folder does not trigger it.", a.name()),
			}
		} else {
			missed := int(in.Now.Sub(expected)/max(interval, time.Minute)) + 1
			f.Title = fmt.Sprintf("Automation '%s' missed its scheduled run at %s", a.name(), expected.UTC().Format("2006-01-02 15:04 MST"))
			f.Detail = fmt.Sprintf("It runs every %s and should have started by %s (%s); about %d expected run(s) did not happen, so what it feeds is getting stale.", interval.Round(time.Minute), expected.UTC().Format(time.RFC3339), last, missed)
			f.Remediation = []string{
				fmt.Sprintf("In Automation Studio open '%s': check the schedule is active, its end date has not passed and the time zone is right.", a.name()),
				"Check whether a previous run is still running or stuck (SFMC skips a start while the automation is busy) and whether someone edited the automation.",
				"Start the automation once by hand if its data is needed now.",
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// ---------------------------------------------------------------- automation.paused

// AutomationPausedRule fires when an automation is paused, its file-drop
// trigger is inactive, it is stopped, or its schedule disappeared
// (deactivated, at deactivated_severity). A change observed while watching
// fires once confirm_polls polls confirm it. A state found on the first
// look fires at once, in serve and audit alike; when SFMC's lastPausedDate
// says the pause is older than 7 days, at info severity (an old pause is
// still an automation that does not run, but rarely news).
type AutomationPausedRule struct{}

// ID implements Rule.
func (AutomationPausedRule) ID() string { return "automation.paused" }

// Type implements Rule.
func (AutomationPausedRule) Type() resource.Type { return resource.Automation }

// NeedsHistory implements Rule: the transition travels in the payload.
func (AutomationPausedRule) NeedsHistory() bool { return false }

// autoActiveStatus: statuses of an automation whose schedule was active.
// Running is not one: an unscheduled automation run by hand goes Ready →
// Running → Ready without losing anything.
func autoActiveStatus(s string) bool {
	switch s {
	case resource.StatusScheduled, resource.StatusError, resource.StatusAwaitingTrigger:
		return true
	}
	return false
}

// Evaluate implements Rule.
func (r AutomationPausedRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.AutomationPaused
	confirm := max(cfg.ConfirmPolls, 1)
	var out []Finding
	for _, a := range automationSnaps(in) {
		st := a.state
		status := a.snap.Status
		deactivated := status == resource.StatusReady && autoActiveStatus(st.PreviousStatus) && !st.FileDrop
		switch status {
		case resource.StatusPaused, resource.StatusInactiveTrigger, resource.StatusStopped:
		default:
			if !deactivated {
				continue
			}
		}
		critical := in.Critical(a.snap.ResourceKey)
		firstSight := st.PreviousStatus == ""
		// A change seen while watching is confirmed over confirm_polls
		// polls; a state found on the first look is already confirmed by
		// SFMC's own timestamps.
		if !firstSight && max(st.StatusPolls, 1) < confirm {
			continue
		}
		f := a.finding(in, r.ID())
		f.FirstSeen = cmp.Or(st.StatusSince, a.snap.ObservedAt)
		f.Family, f.Owner = catalog.None, catalog.MarketingOps
		since := ""
		if !firstSight {
			since = fmt.Sprintf(" since %s (was %s)", f.FirstSeen.UTC().Format(time.RFC3339), st.PreviousStatus)
		} else {
			// Found in this state on the first look: SFMC's lastPausedDate
			// (or modifiedDate) tells how old the state is. An old state is
			// still reported, one severity lower than a fresh one.
			// Only lastPausedDate dates a pause: modifiedDate moves with
			// any edit and says nothing about when the state began.
			if at := st.PausedAt; status == resource.StatusPaused && !at.IsZero() && !at.After(in.Now) {
				f.FailureStartedAt = at
				since = fmt.Sprintf(" since %s (SFMC's lastPausedDate; found so on sfmcwatch's first look)", at.UTC().Format(time.RFC3339))
				if in.Now.Sub(at) > autoOldState && !critical {
					f.Severity = catalog.Info
				}
			} else {
				since = " (found so on sfmcwatch's first look)"
			}
		}
		switch {
		case deactivated:
			f.Severity = cmp.Or(cfg.DeactivatedSeverity, catalog.Critical)
			f.Title = fmt.Sprintf("Automation '%s' lost its schedule (deactivated)", a.name())
			f.Detail = "The automation is Ready with no active schedule" + since + ". SFMC deactivates automations after repeated failed runs; none of its scheduled runs will happen until it is reactivated."
			f.Remediation = []string{
				fmt.Sprintf("In Automation Studio open '%s' > Activity history: if the last runs errored, fix that first (see automation.error).", a.name()),
				"Re-activate the schedule and confirm the next run completes; check the notification e-mail SFMC sent on deactivation for its reason.",
			}
		case status == resource.StatusInactiveTrigger:
			f.Title = fmt.Sprintf("File-drop automation '%s' has an inactive trigger", a.name())
			f.Detail = "The file-drop trigger is inactive" + since + ": files dropped in its folder will not start it."
			f.Remediation = []string{
				fmt.Sprintf("In Automation Studio open '%s' and activate the trigger if the pause was not intended.", a.name()),
				"Check whether files arrived while it was inactive and run the automation by hand for them.",
			}
		case status == resource.StatusStopped:
			f.Title = fmt.Sprintf("Automation '%s' is stopped", a.name())
			f.Detail = "The automation is Stopped" + since + " (a verification activity or a user halted it): its output was not produced."
			f.Remediation = []string{
				fmt.Sprintf("In Automation Studio open '%s' > Activity history to see which verification step or user stopped it.", a.name()),
				"Fix the data the verification rejected, then restart the automation.",
			}
		default:
			f.Title = fmt.Sprintf("Automation '%s' is paused", a.name())
			f.Detail = "The schedule is paused" + since + "; no scheduled run will start until someone resumes it."
			f.Remediation = []string{
				fmt.Sprintf("Ask who paused '%s' (Automation Studio shows the last user and date) and whether the pause is still wanted.", a.name()),
				"Resume the schedule, and run the automation by hand if a run was missed while it was paused.",
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// ---------------------------------------------------------------- automation.partial

// AutomationPartialRule fires when the newest finished run completed but
// its output rows fall below output_ratio × the median of the previous
// completed runs with known output (at least min_samples); zero rows
// against a non-zero baseline is zero_output_severity.
//
// Output rows are the summed row counts of the automation's target data
// extensions read right after the run completed (the collector reads them
// within a per-poll budget); SFMC does not report rows written per run, so
// this is the volume of the DEs the run wrote, and runs whose output was not
// measured are not judged.
type AutomationPartialRule struct{}

// ID implements Rule.
func (AutomationPartialRule) ID() string { return "automation.partial" }

// Type implements Rule.
func (AutomationPartialRule) Type() resource.Type { return resource.Automation }

// NeedsHistory implements Rule.
func (AutomationPartialRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (r AutomationPartialRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.AutomationPartial
	minSamples := max(cfg.MinSamples, 1)
	var out []Finding
	for _, a := range automationSnaps(in) {
		runs := autoFinishedRuns(a.state.Runs)
		if len(runs) == 0 {
			continue
		}
		last := runs[len(runs)-1]
		if last.Status != resource.StatusComplete || last.Rows < 0 {
			continue
		}
		var prior []int64
		for _, x := range runs[:len(runs)-1] {
			if x.Status == resource.StatusComplete && x.Rows >= 0 {
				prior = append(prior, x.Rows)
			}
		}
		if len(prior) < minSamples {
			continue
		}
		slices.Sort(prior)
		median := prior[len(prior)/2]
		if len(prior)%2 == 0 {
			median = (prior[len(prior)/2-1] + prior[len(prior)/2]) / 2
		}
		if median <= 0 || float64(last.Rows) >= float64(cfg.OutputRatio)*float64(median) {
			continue
		}
		f := a.finding(in, r.ID())
		f.FailureStartedAt = cmp.Or(last.CompletedAt, last.StartedAt)
		f.FirstSeen = a.seenAt(f.FailureStartedAt)
		f.Family, f.Owner = catalog.Client, catalog.DataEngineering
		if last.Rows == 0 {
			f.Severity = cmp.Or(cfg.ZeroOutputSeverity, catalog.Error)
			f.Title = fmt.Sprintf("Automation '%s' completed but its target data extensions are empty", a.name())
		} else {
			f.Title = fmt.Sprintf("Automation '%s' produced %.0f%% of its usual output", a.name(), 100*float64(last.Rows)/float64(median))
		}
		f.Detail = fmt.Sprintf("The run completed %s reported success, but its target data extensions (%s) hold %d rows against a median of %d over the previous %d runs: the run likely processed partial or empty input.",
			f.FirstSeen.UTC().Format(time.RFC3339), strings.Join(a.state.TargetDataExtensions, ", "), last.Rows, median, len(prior))
		f.Remediation = []string{
			"Check the run's source data: did the upstream file or source data extension arrive complete before the run started?",
			fmt.Sprintf("In Automation Studio open '%s' and check each query's row count in Activity history; a query that errors midway leaves the rows it already wrote (no rollback).", a.name()),
			"Re-run the automation once the input is complete, before journeys or sends use the target data extensions.",
		}
		out = append(out, f)
	}
	return out, nil
}
