package sim

import "time"

// Step faults: one activity of an automation's runs fails or runs long,
// as SFMC reports it on the run's AutomationActivityInstance records
// (Status, StatusMessage, StartTime, CompletedTime). The activity is the
// one named by param activity, else the automation's first activity of
// the fault's type (queries for query faults; imports, then file
// transfers, for file faults). Automations without such an activity are
// not affected.

// Default texts of the step faults, worded as SFMC words them.
const (
	queryErrorMessage     = "Query failed: Invalid column name 'EmailAddress'."
	fileMissingMessage    = "File not found: the import file matching the naming pattern was not found in the file location."
	fileUnexpectedMessage = "The import file is empty (0 bytes)."
)

// stepFault is what a step fault does to one run.
type stepFault struct {
	act     int           // index into Activities
	message string        // error text ("" for a slow step that completes)
	slow    time.Duration // the step's runtime (query_slow)
}

// stepActivity finds the activity a step fault hits (-1 when none).
func stepActivity(a *automation, f *Fault, types ...int) int {
	if name := f.param("activity", ""); name != "" {
		for i, act := range a.Activities {
			if act.Name == name {
				return i
			}
		}
		return -1
	}
	for _, typ := range types {
		for i, act := range a.Activities {
			if act.ObjectTypeID == typ {
				return i
			}
		}
	}
	return -1
}

// stepFaultAt returns the step fault of a run starting at, if any.
func (s *Sim) stepFaultAt(t *tenant, a *automation, at time.Time) (stepFault, bool) {
	ids := []string{a.Key, a.Name, a.ID, a.LegacyID}
	for _, c := range []struct {
		kind  Kind
		types []int
		def   string
	}{
		{FaultQueryError, []int{objQuery}, queryErrorMessage},
		{FaultFileMissing, []int{objImport, objFileTransfer}, fileMissingMessage},
		{FaultFileUnexpected, []int{objImport, objFileTransfer}, fileUnexpectedMessage},
	} {
		if w := activeIn(s.faults.windows(c.kind, t.MID, ids...), at); w != nil {
			if i := stepActivity(a, w.f, c.types...); i >= 0 {
				return stepFault{act: i, message: w.f.param("message", c.def)}, true
			}
		}
	}
	if w := activeIn(s.faults.windows(FaultQuerySlow, t.MID, ids...), at); w != nil {
		if i := stepActivity(a, w.f, objQuery); i >= 0 {
			return stepFault{act: i, slow: w.f.paramDuration("duration", 26*time.Minute)}, true
		}
	}
	return stepFault{}, false
}

// applyStepFault changes a finished run: an errored step ends the run in
// Error at that step; a slow step makes the run last at least as long.
func applyStepFault(r *run, sf stepFault) {
	if sf.message != "" {
		r.status, r.failedAct, r.message = "Error", sf.act, sf.message
		return
	}
	r.slowAct, r.slowDur = sf.act, sf.slow
	if least := r.start.Add(sf.slow + time.Minute); r.end.Before(least) {
		r.end = least
	}
}
