package collect

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

// Activity outcomes (query, import and file transfer steps) of automation
// runs. SFMC keeps a step's outcome, timing and error text on the SOAP
// AutomationActivityInstance of the run; the automation collector reads
// them in bulk for runs that finished since the last poll:
//   - one AutomationInstance Retrieve (IN on the automations' keys) maps the
//     runs to their SOAP instance ids, and
//   - one AutomationActivityInstance Retrieve (IN on those ids) returns every
//     activity of every run at once,
// so a poll spends at most two calls (more only past 500 automations).
// Errored runs are read at the Required priority (the error text is the
// incident); completed runs of automations with queries, imports or file
// transfers only when their outcomes can say more than the run did (see
// stepsWorthReading: a slow run, the run after a failed step, the first
// look), at the Optional priority: a tenant short of daily budget drops
// the query-duration and step-outcome reads first. The same read fills an
// errored run's StatusMessage, so errorMessages then has nothing left to do.

// defaultActivityBudget is the calls a poll may spend on activity outcomes.
const defaultActivityBudget = 4

// automationActivities lists the followed activities of a definition.
func automationActivities(def sfmc.Automation) []resource.Activity {
	out := []resource.Activity{}
	for _, s := range def.Steps {
		for _, a := range s.Activities {
			typ := resource.ActivityType(a.ObjectTypeID)
			if typ == "" {
				continue
			}
			act := resource.Activity{Name: a.Name, ObjectID: a.ActivityObjectID, Type: typ, Step: s.Step}
			for _, t := range a.TargetDataExtensions {
				if k := cmp.Or(t.Key, t.ID, t.Name); k != "" && !slices.Contains(act.Targets, k) {
					act.Targets = append(act.Targets, k)
				}
			}
			out = append(out, act)
		}
	}
	return out
}

// activityNeed is a run whose activity outcomes are to be read.
type activityNeed struct {
	w   *autoWork
	run *resource.Run
}

// activityRuns reads the activity outcomes of runs that finished since the
// last read: errored runs always, completed runs of automations known to
// run queries, imports or file transfers when stepsWorthReading.
func (c AutomationCollector) activityRuns(ctx context.Context, cl *sfmc.Client, works []*autoWork) {
	budget := cmp.Or(c.ActivityBudget, defaultActivityBudget)
	if budget < 0 {
		return
	}
	var needs []activityNeed
	required := false
	for _, w := range works {
		runs := autoFinishedRunsOf(w.st.Runs)
		if len(runs) == 0 || w.a.Key == "" {
			continue
		}
		r := runs[len(runs)-1]
		// A run known only from ENS has no SFMC start time yet to match
		// its instance by: wait for the poll that covers it.
		if r.StartedAt.IsZero() || !r.Polled || !r.StartedAt.After(w.st.ActivitiesReadAt) {
			continue
		}
		switch {
		case r.Status == resource.StatusError:
			required = true
		case r.Status == resource.StatusComplete && len(w.st.Activities) > 0 && stepsWorthReading(&w.st, r):
		default:
			continue
		}
		needs = append(needs, activityNeed{w: w, run: r})
	}
	if len(needs) == 0 {
		return
	}
	if !required {
		ctx = sfmc.WithPriority(ctx, sfmc.Optional)
	}
	byKey := map[string]activityNeed{}
	keys := make([]string, 0, len(needs))
	for _, n := range needs {
		byKey[strings.ToLower(n.w.a.Key)] = n
		keys = append(keys, n.w.a.Key)
	}
	byInstance := map[string]activityNeed{}
	var ids []string
	failed := false
	// cut is set when the call budget ran out before every batch was read.
	cut := false
	for i := 0; i < len(keys); i += 500 {
		if budget == 0 {
			cut = true
			break
		}
		budget--
		runs, err := cl.AutomationInstances(ctx, sfmc.In("CustomerKey", keys[i:min(i+500, len(keys))]...))
		if err != nil {
			failed = true
			if len(runs) == 0 {
				return // read again next poll
			}
		}
		for _, ri := range runs {
			n, ok := byKey[strings.ToLower(ri.Key)]
			if !ok || !ri.StartTime.Equal(n.run.StartedAt) {
				continue
			}
			if n.run.Status == resource.StatusError && n.run.Message == "" {
				if msg := strings.TrimSpace(ri.StatusMessage); msg != "" && !genericStatusMessage(msg) {
					n.run.Message = redact.String(msg)
				}
			}
			if _, dup := byInstance[strings.ToLower(ri.ID)]; !dup {
				byInstance[strings.ToLower(ri.ID)] = n
				ids = append(ids, ri.ID)
			}
		}
	}
	got := map[*autoWork]bool{}
	for i := 0; i < len(ids); i += 500 {
		if budget == 0 {
			cut = true
			break
		}
		budget--
		acts, err := cl.ActivityInstances(ctx, sfmc.In("AutomationInstanceID", ids[i:min(i+500, len(ids))]...))
		if err != nil {
			failed = true
			if len(acts) == 0 {
				continue
			}
		}
		slices.SortStableFunc(acts, func(a, b sfmc.ActivityInstance) int { return cmp.Compare(a.SequenceID, b.SequenceID) })
		for _, a := range acts {
			n, ok := byInstance[strings.ToLower(a.AutomationInstanceID)]
			if !ok {
				continue
			}
			got[n.w] = true
			ar, followed := activityRun(n.w.st.Activities, a, n.run.StartedAt)
			if n.run.Status == resource.StatusError && n.run.Message == "" && a.Status.IsError() && strings.TrimSpace(a.StatusMessage) != "" {
				msg := strings.TrimSpace(a.StatusMessage)
				if a.Name != "" {
					msg = a.Name + ": " + msg
				}
				n.run.Message = redact.String(msg)
			}
			if followed {
				n.w.st.ActivityRuns = mergeActivityRun(n.w.st.ActivityRuns, ar)
			}
		}
	}
	for _, n := range needs {
		// Read (or SFMC has nothing for it): do not ask again. A failed
		// or budget-cut read is retried next poll.
		if got[n.w] || (!failed && !cut) {
			n.w.st.ActivitiesReadAt = n.run.StartedAt
		}
		if k := len(n.w.st.ActivityRuns); k > resource.MaxActivityRuns {
			n.w.st.ActivityRuns = slices.Clone(n.w.st.ActivityRuns[k-resource.MaxActivityRuns:])
		}
	}
}

// stepsWorthReading reports whether a completed run's step outcomes can
// tell the step rules anything the run's own outcome did not: a failed
// step fails the run (read as an errored run, every poll), so a completed
// run matters only when
//   - it lasted callplan.StepOutcomeSlowRun or more (a query step may have
//     run near SFMC's 30-minute limit: query.timeout; no step outlasts its
//     run, so a shorter run cannot hold a slow query),
//   - the automation's newest read step outcome was a failure (this run
//     is the evidence its step incident resolves on), or
//   - no outcome of the automation was read yet (first look).
func stepsWorthReading(st *resource.AutomationState, r *resource.Run) bool {
	if st.ActivitiesReadAt.IsZero() || (!r.CompletedAt.IsZero() && r.CompletedAt.Sub(r.StartedAt) >= callplan.StepOutcomeSlowRun) {
		return true
	}
	if n := len(st.ActivityRuns); n > 0 {
		last := st.ActivityRuns[n-1].RunStartedAt
		for _, ar := range st.ActivityRuns {
			if ar.RunStartedAt.Equal(last) && ar.Status == resource.StatusError {
				return true
			}
		}
	}
	return false
}

// genericStatusMessage reports an instance message that names no cause.
func genericStatusMessage(msg string) bool {
	switch strings.ToLower(msg) {
	case "error", "errored", "failed", "complete", "completed":
		return true
	}
	return false
}

// autoFinishedRunsOf returns pointers to the runs with an outcome, oldest
// first.
func autoFinishedRunsOf(runs []resource.Run) []*resource.Run {
	var out []*resource.Run
	for i := range runs {
		switch runs[i].Status {
		case resource.StatusComplete, resource.StatusError:
			out = append(out, &runs[i])
		}
	}
	return out
}

// activityRun turns one activity instance into an ActivityRun; followed is
// false for activities that are not queries, imports or file transfers.
// The type comes from the definition (matched by activity object id, then
// name); when the definition is not known yet, an errored activity's
// message says what it was.
func activityRun(defs []resource.Activity, a sfmc.ActivityInstance, runStart time.Time) (resource.ActivityRun, bool) {
	typ := ""
	name := strings.TrimSpace(a.Name)
	for _, d := range defs {
		if (a.ActivityID != "" && strings.EqualFold(d.ObjectID, a.ActivityID)) || (name != "" && strings.EqualFold(d.Name, name)) {
			typ, name = d.Type, cmp.Or(name, d.Name)
			break
		}
	}
	if typ == "" && defs == nil && a.Status.IsError() {
		typ = ActivityTypeFromMessage(a.StatusMessage)
	}
	if typ == "" {
		return resource.ActivityRun{}, false
	}
	r := resource.ActivityRun{RunStartedAt: runStart, Name: redact.String(name), Type: typ, StartedAt: a.StartTime, CompletedAt: a.CompletedTime}
	switch {
	case a.Status.IsError():
		r.Status = resource.StatusError
		r.Message = redact.String(strings.TrimSpace(a.StatusMessage))
	case a.Status == sfmc.AutomationRunning || a.Status == sfmc.AutomationBuilding:
		r.Status, r.CompletedAt = resource.StatusRunning, time.Time{}
	default:
		r.Status = resource.StatusComplete
	}
	return r, true
}

// ActivityTypeFromMessage guesses a failed activity's type from SFMC's
// error text, for runs read before the automation's definition: query
// errors name SQL, columns or keys; import and transfer errors name files.
func ActivityTypeFromMessage(msg string) string {
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
	case has("query", "sql", "column name", "primary key", "syntax"):
		return resource.ActivityQuery
	case has("file transfer", "sftp", "ftp server", "remote host"):
		return resource.ActivityFileTransfer
	case has("import", "file not found", "naming pattern", "file location"):
		return resource.ActivityImport
	}
	return ""
}

// mergeActivityRun replaces the outcome of the same activity in the same
// run, else appends.
func mergeActivityRun(runs []resource.ActivityRun, r resource.ActivityRun) []resource.ActivityRun {
	for i := range runs {
		if runs[i].RunStartedAt.Equal(r.RunStartedAt) && runs[i].Name == r.Name && runs[i].StartedAt.Equal(r.StartedAt) {
			runs[i] = r
			return runs
		}
	}
	runs = append(runs, r)
	slices.SortStableFunc(runs, func(a, b resource.ActivityRun) int { return a.RunStartedAt.Compare(b.RunStartedAt) })
	return runs
}
