package resource

import "time"

// Automation Studio activity types sfmcwatch follows per activity (the
// automation definition's steps[].activities[].objectTypeId: 300 SQL query,
// 43 file import, 53 file transfer).
const (
	ActivityQuery        = "query"
	ActivityImport       = "import"
	ActivityFileTransfer = "file_transfer"
)

// ActivityType maps an activity's objectTypeId to an ActivityQuery,
// ActivityImport or ActivityFileTransfer ("" for other activities).
func ActivityType(objectTypeID int) string {
	switch objectTypeID {
	case 300:
		return ActivityQuery
	case 43:
		return ActivityImport
	case 53:
		return ActivityFileTransfer
	}
	return ""
}

// Activity is one followed activity of an automation's definition.
type Activity struct {
	Name string `json:"name"`
	// ObjectID is the activity's definition id (activityObjectId: the
	// queryDefinitionId, importDefinitionId or file transfer id).
	ObjectID string `json:"object_id,omitempty"`
	Type     string `json:"type"`
	Step     int    `json:"step,omitempty"`
	// Targets are the data extensions the activity writes (keys).
	Targets []string `json:"targets,omitempty"`
}

// ActivityRun is one followed activity's outcome inside an automation run
// (SOAP AutomationActivityInstance).
type ActivityRun struct {
	// RunStartedAt is the start of the automation run it belongs to
	// (links it to AutomationState.Runs).
	RunStartedAt time.Time `json:"run_started_at"`
	Name         string    `json:"name"`
	Type         string    `json:"type"`
	Status       string    `json:"status"` // complete, error, running
	StartedAt    time.Time `json:"started_at"`
	CompletedAt  time.Time `json:"completed_at,omitzero"`
	// Message is SFMC's StatusMessage (masked) of an errored activity.
	Message string `json:"message,omitempty"`
}

// Duration is the activity's run time (0 while running or unknown).
func (r ActivityRun) Duration() time.Duration {
	if r.CompletedAt.IsZero() || r.StartedAt.IsZero() || r.CompletedAt.Before(r.StartedAt) {
		return 0
	}
	return r.CompletedAt.Sub(r.StartedAt)
}

// MaxActivityRuns bounds AutomationState.ActivityRuns.
const MaxActivityRuns = 60
