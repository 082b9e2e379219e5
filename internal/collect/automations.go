package collect

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Default budgets of the automation collector (calls per poll beyond the
// bulk list and the batched SOAP Retrieves; callplan plans them).
const (
	defaultNotificationBudget = callplan.AutomationNotificationBudget
	defaultDetailBudget       = callplan.AutomationDetailBudget
	defaultAutoMaxRuns        = 20
)

// AutomationCollector reads every automation with one bulk list per poll
// (legacy definition list: status, last run, next scheduled time) and
// spends extra calls only where they matter:
//   - one batched SOAP Retrieve of AutomationInstance for automations seen
//     for the first time (run history, so N-of-M rules work from the first
//     poll and in an audit);
//   - one batched Retrieve of AutomationActivityInstance (and, when that
//     has no text, of AutomationInstance) for runs that errored since the
//     last poll, for their StatusMessage;
//   - at most NotificationBudget legacy notification reads per poll, for
//     automations whose error-notification addresses are not known yet;
//   - at most DetailBudget REST definition reads per poll (target data
//     extensions and their row counts), first for automations whose run
//     just completed and whose output check is due (outputDue: every run
//     until callplan.AutomationOutputLearnRuns were measured, then once per
//     callplan.AutomationOutputEvery; the output volume of
//     automation.partial and automation.no_output), then for those whose
//     targets are unknown or whose definition was edited since it was read.
//     The target row counts are kept (TargetRows) for the data extension
//     collector.
type AutomationCollector struct {
	NotificationBudget int // 0: default 5; <0: none
	DetailBudget       int // 0: default 8; <0: none
	ActivityBudget     int // calls per poll on activity outcomes (0: default 4; <0: none)
	MaxRuns            int // runs kept per automation (0: 20)
}

// Type implements Collector.
func (AutomationCollector) Type() resource.Type { return resource.Automation }

// AutomationStatus maps SFMC's automation status to the normalised status.
func AutomationStatus(s sfmc.AutomationStatus) string {
	switch s {
	case sfmc.AutomationError:
		return resource.StatusError
	case sfmc.AutomationBuildingError:
		return resource.StatusBuildingError
	case sfmc.AutomationBuilding:
		return resource.StatusBuilding
	case sfmc.AutomationReady:
		return resource.StatusReady
	case sfmc.AutomationRunning:
		return resource.StatusRunning
	case sfmc.AutomationPaused:
		return resource.StatusPaused
	case sfmc.AutomationStopped:
		return resource.StatusStopped
	case sfmc.AutomationScheduled:
		return resource.StatusScheduled
	case sfmc.AutomationAwaitingTrigger:
		return resource.StatusAwaitingTrigger
	case sfmc.AutomationInactiveTrigger:
		return resource.StatusInactiveTrigger
	}
	return resource.StatusUnknown
}

// AutomationRunStatus maps a run outcome as SFMC spells it (legacy lastRunStatus or
// instance status text) to a normalised run status.
func AutomationRunStatus(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "complete", "completed", "success", "succeeded", "ready":
		return resource.StatusComplete
	case "error", "errored", "failed", "buildingerror":
		return resource.StatusError
	case "running", "building", "processing", "inprogress":
		return resource.StatusRunning
	case "stopped":
		return resource.StatusStopped
	case "skipped":
		return resource.StatusSkipped
	case "":
		return resource.StatusUnknown
	}
	return resource.StatusUnknown
}

func instanceRunStatus(s sfmc.AutomationStatus) string {
	switch s {
	case sfmc.AutomationError, sfmc.AutomationBuildingError:
		return resource.StatusError
	case sfmc.AutomationRunning, sfmc.AutomationBuilding:
		return resource.StatusRunning
	case sfmc.AutomationStopped:
		return resource.StatusStopped
	}
	return resource.StatusComplete
}

// automationKey is the resource key of an automation.
func automationKey(a sfmc.Automation) string { return cmp.Or(a.Key, a.ID, a.LegacyID) }

// autoScheduleStatus derives the schedule status from what the bulk list says.
func autoScheduleStatus(a sfmc.Automation) string {
	if s := strings.ToLower(a.ScheduleStatus); s != "" {
		switch s {
		case "scheduled", "active":
			return "active"
		case "paused", "pausedschedule":
			return "paused"
		}
		return s
	}
	switch a.Status {
	case sfmc.AutomationPaused:
		return "paused"
	case sfmc.AutomationScheduled:
		return "active"
	case sfmc.AutomationReady, sfmc.AutomationInactiveTrigger, sfmc.AutomationAwaitingTrigger:
		return "none"
	}
	if !a.ScheduledTime.IsZero() {
		return "active"
	}
	return "none"
}

type autoWork struct {
	key    string
	a      sfmc.Automation
	st     resource.AutomationState
	status string
	// newRun is true when the last run changed (new instance or new outcome).
	newRun bool
	// completedNow is true when the last run finished since the last poll.
	completedNow bool
}

// Collect implements Collector.
func (c AutomationCollector) Collect(ctx context.Context, in *Input) (*Output, error) {
	list, err := in.Client.Automations(ctx)
	if err != nil {
		return nil, err
	}
	maxRuns := cmp.Or(c.MaxRuns, defaultAutoMaxRuns)
	works := make([]*autoWork, 0, len(list))
	var backfill []string
	for _, a := range list {
		w := &autoWork{key: automationKey(a), a: a, status: AutomationStatus(a.Status)}
		if w.key == "" {
			continue
		}
		prev, had := in.Previous[w.key]
		if had {
			_ = resource.Decode(prev, &w.st) // a bad payload only loses history
		}
		c.update(w, prev, had, in.Now)
		if len(w.st.Runs) <= 1 && !a.LastRunTime.IsZero() && !had {
			backfill = append(backfill, a.Key)
		}
		works = append(works, w)
	}
	byKey := map[string]*autoWork{}
	for _, w := range works {
		byKey[strings.ToLower(w.key)] = w
	}
	if len(backfill) > 0 {
		c.backfill(ctx, in.Client, backfill, byKey, maxRuns)
	}
	c.details(ctx, in.Client, works, in.Now)
	c.activityRuns(ctx, in.Client, works) // before errorMessages: it fills their messages too
	c.errorMessages(ctx, in.Client, works)
	c.notifications(ctx, in.Client, works)

	out := &Output{Snapshots: make([]store.Snapshot, 0, len(works))}
	for _, w := range works {
		w.st.Runs = trimRuns(w.st.Runs, maxRuns)
		s := in.Snapshot(resource.Automation, w.key)
		s.Status = w.status
		if n := len(w.st.Runs); n > 0 {
			s.LastRunAt = w.st.Runs[n-1].StartedAt
		}
		s.Payload = resource.Encode(w.st)
		out.Snapshots = append(out.Snapshots, s)
	}
	return out, nil
}

// update merges the bulk list's view of one automation into its carried
// state.
func (c AutomationCollector) update(w *autoWork, prev store.Snapshot, had bool, now time.Time) {
	a := w.a
	st := &w.st
	st.ID = cmp.Or(a.ID, st.ID)
	st.LegacyID = cmp.Or(a.LegacyID, st.LegacyID)
	st.Name = a.Name
	st.FileDrop = strings.EqualFold(a.Type, "triggered")
	st.ScheduleStatus = autoScheduleStatus(a)
	st.ModifiedAt = cmp.Or(a.ModifiedDate, st.ModifiedAt)
	st.PausedAt = cmp.Or(a.LastPausedDate, st.PausedAt)
	if st.ObservedSince.IsZero() {
		st.ObservedSince = now
	}
	st.NextRunAt = a.ScheduledTime
	if st.FileDrop {
		st.NextRunAt = time.Time{}
	}
	// Status transitions.
	switch {
	case !had || prev.Status == "":
		st.StatusSince, st.StatusPolls, st.PreviousStatus = now, 1, ""
	case prev.Status == w.status:
		st.StatusPolls = min(st.StatusPolls+1, config.StatusPollsCap)
		if st.StatusSince.IsZero() {
			st.StatusSince = now
		}
	default:
		st.PreviousStatus, st.StatusSince, st.StatusPolls = prev.Status, now, 1
	}
	if a.LastRunTime.IsZero() && a.StartTime.IsZero() {
		return
	}
	r := resource.Run{ID: a.LastRunInstanceID, Status: AutomationRunStatus(a.LastRunStatus), StartedAt: cmp.Or(a.StartTime, a.LastRunTime), Rows: -1}
	if r.Status == resource.StatusUnknown {
		switch a.Status {
		case sfmc.AutomationRunning:
			r.Status = resource.StatusRunning
		case sfmc.AutomationError:
			r.Status = resource.StatusError
		default:
			r.Status = resource.StatusComplete
		}
	}
	if r.Status != resource.StatusRunning && !a.CompletedTime.Before(r.StartedAt) {
		r.CompletedAt = a.CompletedTime
	}
	// A carried run newer than what SFMC now reports as the last run, and
	// never seen to finish, no longer exists (e.g. it was skipped): drop it.
	// Runs ENS reported are kept until a poll covers them.
	for n := len(st.Runs); n > 0 && st.Runs[n-1].StartedAt.After(r.StartedAt) && st.Runs[n-1].Status == resource.StatusRunning &&
		st.Runs[n-1].ENS == ""; n-- {
		st.Runs = st.Runs[:n-1]
	}
	r.Polled = true
	n := len(st.Runs)
	if i := matchPolledRun(st.Runs, r); i >= 0 {
		last := &st.Runs[i]
		// The poll's outcome wins, but a poll still saying Running (the
		// list lags) never reverts an outcome ENS reported.
		if r.Status == resource.StatusRunning && RunFinished(last.Status) {
			r.Status, r.CompletedAt = last.Status, last.CompletedAt
		}
		// First poll of a run whose outcome ENS reported: it completed for
		// the poll's purposes (output volume read) now.
		ensFirst := !last.Polled && last.ENS != "" && last.ENS != ENSStarted && !r.CompletedAt.IsZero()
		if last.Status != r.Status || !last.CompletedAt.Equal(r.CompletedAt) || ensFirst {
			w.newRun = true
			w.completedNow = (last.CompletedAt.IsZero() || ensFirst) && !r.CompletedAt.IsZero()
			last.Status, last.CompletedAt = r.Status, r.CompletedAt
			if r.Status != resource.StatusError {
				last.Message = ""
			}
		}
		if last.ID == "" {
			last.ID = r.ID
		}
		if !last.Polled && !r.StartedAt.IsZero() && !last.StartedAt.Equal(r.StartedAt) {
			// Known from ENS until now: the poll has the real start.
			last.StartedAt = r.StartedAt
			slices.SortStableFunc(st.Runs, func(a, b resource.Run) int { return a.StartedAt.Compare(b.StartedAt) })
		}
		for j := range st.Runs {
			if sameAutoRun(st.Runs[j], r) {
				st.Runs[j].Polled = true
			}
		}
	} else if n == 0 || r.StartedAt.After(st.Runs[n-1].StartedAt) {
		// Interval: the schedule's next start minus this run's start, taken
		// when a new run appears (later the next time may move on while a
		// run hangs).
		if !st.FileDrop && !a.ScheduledTime.IsZero() && a.ScheduledTime.After(r.StartedAt) && st.ScheduleStatus == "active" {
			st.Interval = a.ScheduledTime.Sub(r.StartedAt)
		}
		st.Runs = append(st.Runs, r)
		w.newRun = true
		w.completedNow = !r.CompletedAt.IsZero()
	} else if st.Runs[n-1].ENS != "" && !st.Runs[n-1].Polled {
		// A newer run known only from ENS: this one still belongs before it.
		st.Runs = insertRun(st.Runs, r)
		w.newRun = true
		w.completedNow = !r.CompletedAt.IsZero()
	}
}

// matchPolledRun returns the index of the carried run the polled run r is:
// the same instance id anywhere in the history, else (SFMC named it
// differently, or gave no id) the newest run with r's start time or the
// newest ENS-only run r's start..end covers; -1 when none.
func matchPolledRun(runs []resource.Run, r resource.Run) int {
	if r.ID != "" {
		for i := len(runs) - 1; i >= 0; i-- {
			if strings.EqualFold(runs[i].ID, r.ID) {
				return i
			}
		}
	}
	n := len(runs)
	if n > 0 && sameAutoRun(runs[n-1], r) {
		return n - 1
	}
	for i := n - 1; i >= 0; i-- {
		x := runs[i]
		if x.Polled || x.ENS == "" || (x.ID != "" && r.ID != "") {
			continue
		}
		if !x.StartedAt.Before(r.StartedAt) && (r.CompletedAt.IsZero() || !x.StartedAt.After(r.CompletedAt.Add(time.Minute))) {
			return i
		}
	}
	return -1
}

// sameAutoRun matches runs by id, else by start time (the legacy list and
// SOAP name one run with different ids).
func sameAutoRun(a, b resource.Run) bool {
	if a.ID != "" && strings.EqualFold(a.ID, b.ID) {
		return true
	}
	return !a.StartedAt.IsZero() && a.StartedAt.Equal(b.StartedAt)
}

// backfill reads recent runs of automations seen for the first time (one
// Retrieve per 500 keys).
func (c AutomationCollector) backfill(ctx context.Context, cl *sfmc.Client, keys []string, byKey map[string]*autoWork, maxRuns int) {
	for i := 0; i < len(keys); i += 500 {
		part := keys[i:min(i+500, len(keys))]
		runs, err := cl.AutomationInstances(ctx, sfmc.In("CustomerKey", part...))
		if err != nil && len(runs) == 0 {
			return // history is a bonus: the list already gave the last run
		}
		for _, ri := range runs {
			w := byKey[strings.ToLower(ri.Key)]
			if w == nil {
				continue
			}
			w.st.ID = cmp.Or(w.st.ID, ri.AutomationID)
			r := resource.Run{ID: ri.ID, Status: instanceRunStatus(ri.Status), StartedAt: ri.StartTime, CompletedAt: ri.CompletedTime, Rows: -1, Polled: true}
			if r.Status == resource.StatusRunning {
				r.CompletedAt = time.Time{}
			}
			if r.Status == resource.StatusError {
				r.Message = redact.String(strings.TrimSpace(ri.StatusMessage))
			}
			merged := false
			for j := range w.st.Runs {
				if sameAutoRun(w.st.Runs[j], r) {
					if w.st.Runs[j].Message == "" {
						w.st.Runs[j].Message = r.Message
					}
					merged = true
				}
			}
			if !merged && !r.StartedAt.IsZero() {
				w.st.Runs = append(w.st.Runs, r)
			}
		}
		for _, k := range part {
			if w := byKey[strings.ToLower(k)]; w != nil {
				slices.SortStableFunc(w.st.Runs, func(a, b resource.Run) int { return a.StartedAt.Compare(b.StartedAt) })
				if len(w.st.Runs) > maxRuns {
					w.st.Runs = w.st.Runs[len(w.st.Runs)-maxRuns:]
				}
			}
		}
	}
}

// errorMessages fills the StatusMessage of errored runs that have none:
// one batched AutomationInstance Retrieve (by automation key) for every
// automation whose newest errored run lacks text, then one batched
// AutomationActivityInstance Retrieve for runs whose instance message is
// empty or generic (the failing activity carries the detail).
func (c AutomationCollector) errorMessages(ctx context.Context, cl *sfmc.Client, works []*autoWork) {
	need := map[string]*resource.Run{}
	var keys []string
	for _, w := range works {
		n := len(w.st.Runs)
		if n == 0 || w.a.Key == "" {
			continue
		}
		if r := &w.st.Runs[n-1]; r.Status == resource.StatusError && r.Message == "" {
			need[strings.ToLower(w.a.Key)] = r
			keys = append(keys, w.a.Key)
		}
	}
	if len(keys) == 0 {
		return
	}
	byInstance := map[string]*resource.Run{}
	var ids []string
	for i := 0; i < len(keys); i += 500 {
		runs, _ := cl.AutomationInstances(ctx, sfmc.In("CustomerKey", keys[i:min(i+500, len(keys))]...))
		for _, ri := range runs {
			r := need[strings.ToLower(ri.Key)]
			if r == nil || !ri.StartTime.Equal(r.StartedAt) {
				continue
			}
			msg := strings.TrimSpace(ri.StatusMessage)
			if msg != "" && !strings.EqualFold(msg, "error") && !strings.EqualFold(msg, "errored") {
				r.Message = redact.String(msg)
				continue
			}
			byInstance[strings.ToLower(ri.ID)] = r
			ids = append(ids, ri.ID)
		}
	}
	for i := 0; i < len(ids); i += 500 {
		acts, _ := cl.ActivityInstances(ctx, sfmc.In("AutomationInstanceID", ids[i:min(i+500, len(ids))]...))
		for _, a := range acts {
			r := byInstance[strings.ToLower(a.AutomationInstanceID)]
			if r == nil || r.Message != "" || !a.Status.IsError() || strings.TrimSpace(a.StatusMessage) == "" {
				continue
			}
			msg := strings.TrimSpace(a.StatusMessage)
			if a.Name != "" {
				msg = a.Name + ": " + msg
			}
			r.Message = redact.String(msg)
		}
	}
}

// notifications reads error-notification addresses of automations whose
// addresses are unknown, errored automations first, within the budget.
func (c AutomationCollector) notifications(ctx context.Context, cl *sfmc.Client, works []*autoWork) {
	budget := cmp.Or(c.NotificationBudget, defaultNotificationBudget)
	if budget < 0 {
		return
	}
	var todo []*autoWork
	for _, w := range works {
		if w.st.ErrorNotifications == nil && w.st.LegacyID != "" {
			todo = append(todo, w)
		}
	}
	slices.SortStableFunc(todo, func(a, b *autoWork) int {
		return cmp.Compare(autoRank(a.status != resource.StatusError), autoRank(b.status != resource.StatusError))
	})
	for _, w := range todo[:min(budget, len(todo))] {
		ns, err := cl.AutomationNotifications(sfmc.WithPriority(ctx, sfmc.Optional), w.st.LegacyID)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		addrs := []string{}
		for _, n := range ns {
			if !strings.EqualFold(n.Type, "error") {
				continue
			}
			for _, a := range strings.FieldsFunc(n.Address, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
				addrs = append(addrs, redact.String(a))
			}
		}
		w.st.ErrorNotifications = addrs
	}
}

func autoRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// details reads definitions (target DEs with row counts) within the
// budget: errored automations whose definition is unknown and automations
// whose run just completed and that write DEs (or whose targets are
// unknown) first, then any with unknown targets.
func (c AutomationCollector) details(ctx context.Context, cl *sfmc.Client, works []*autoWork, now time.Time) {
	budget := cmp.Or(c.DetailBudget, defaultDetailBudget)
	if budget < 0 {
		return
	}
	var first, second []*autoWork
	for _, w := range works {
		n := len(w.st.Runs)
		switch {
		case n > 0 && w.st.Runs[n-1].Status == resource.StatusError && !w.st.TargetsKnown:
			// The definition names the failing step's type (query, import,
			// file transfer) for the step rules.
			first = append(first, w)
		case w.completedNow && n > 0 && w.st.Runs[n-1].Status == resource.StatusComplete &&
			(!w.st.TargetsKnown || (len(w.st.TargetDataExtensions) > 0 && outputDue(&w.st, now))):
			first = append(first, w)
		case !w.st.TargetsKnown || definitionChanged(&w.st):
			second = append(second, w)
		}
	}
	// More completions than budget (hourly automations finish together):
	// the automations whose output was measured least recently go first,
	// so every one is judged in turn rather than the same ones never.
	slices.SortStableFunc(first, func(a, b *autoWork) int { return lastMeasured(a.st.Runs).Compare(lastMeasured(b.st.Runs)) })
	for _, w := range slices.Concat(first, second) {
		if budget == 0 || ctx.Err() != nil {
			return
		}
		budget--
		id := w.st.ID
		if id == "" {
			id = "key:" + w.a.Key
		}
		def, err := cl.Automation(ctx, id)
		if err != nil {
			continue
		}
		w.st.ID = cmp.Or(def.ID, w.st.ID)
		var keys []string
		var rows int64
		seen := map[string]bool{}
		counts := map[string]int64{}
		for _, s := range def.Steps {
			for _, act := range s.Activities {
				for _, t := range act.TargetDataExtensions {
					k := cmp.Or(t.Key, t.ID, t.Name)
					if k == "" || seen[k] {
						continue
					}
					seen[k] = true
					keys = append(keys, k)
					rows += max(t.RowCount, 0)
					if t.RowCount >= 0 {
						counts[k] = t.RowCount
					}
				}
			}
		}
		slices.Sort(keys)
		w.st.TargetDataExtensions = keys
		w.st.TargetsKnown = true
		w.st.DefinitionReadAt = now
		w.st.TargetRows = nil
		if len(counts) > 0 {
			w.st.TargetRows = counts
		}
		w.st.Activities = automationActivities(def)
		if n := len(w.st.Runs); n > 0 && len(keys) > 0 && w.completedNow && w.st.Runs[n-1].Status == resource.StatusComplete {
			w.st.Runs[n-1].Rows = rows
		}
	}
}

// outputDue reports whether a completed run's output volume (one
// definition read: the target DEs' row counts) is measured now: every run
// until callplan.AutomationOutputLearnRuns runs were measured (the output
// rules learn the normal volume from them), then at most once per
// callplan.AutomationOutputEvery, so an automation running every 15
// minutes costs a few reads a day rather than 96. A definition edited
// since the last read is read again regardless (see definitionChanged).
func outputDue(st *resource.AutomationState, now time.Time) bool {
	measured := 0
	for _, r := range st.Runs {
		if r.Rows >= 0 && RunFinished(r.Status) {
			measured++
		}
	}
	return measured < callplan.AutomationOutputLearnRuns || now.Sub(st.DefinitionReadAt) >= callplan.AutomationOutputEvery ||
		definitionChanged(st)
}

// definitionChanged reports a definition SFMC says was modified after
// sfmcwatch last read it: its steps and targets (the lineage the data
// extension collector follows) may have moved.
func definitionChanged(st *resource.AutomationState) bool {
	return !st.DefinitionReadAt.IsZero() && st.ModifiedAt.After(st.DefinitionReadAt)
}

// trimRuns keeps the newest max runs and, before them, the newest older
// runs whose output was measured, so that callplan.AutomationMeasuredRunsKept
// measured runs stay in the history even when only every few runs of a
// frequent automation are measured (the output rules learn from them).
func trimRuns(runs []resource.Run, maxRuns int) []resource.Run {
	if len(runs) <= maxRuns {
		return runs
	}
	cut := len(runs) - maxRuns
	measured := 0
	for _, r := range runs[cut:] {
		if r.Rows >= 0 && RunFinished(r.Status) {
			measured++
		}
	}
	var older []resource.Run
	for i := cut - 1; i >= 0 && measured < callplan.AutomationMeasuredRunsKept; i-- {
		if r := runs[i]; r.Rows >= 0 && RunFinished(r.Status) {
			older = append(older, r)
			measured++
		}
	}
	slices.Reverse(older)
	return slices.Concat(older, runs[cut:])
}

// lastMeasured is the start of the newest run whose output rows were read
// (zero when none was).
func lastMeasured(runs []resource.Run) time.Time {
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Rows >= 0 && RunFinished(runs[i].Status) {
			return runs[i].StartedAt
		}
	}
	return time.Time{}
}
