package sfmc

import (
	"cmp"
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// AutomationStatus is Automation Studio's status id (REST statusId, SOAP Status).
type AutomationStatus int

// Automation statuses (REST statusId / SOAP Status).
const (
	AutomationError           AutomationStatus = -1
	AutomationBuildingError   AutomationStatus = 0
	AutomationBuilding        AutomationStatus = 1
	AutomationReady           AutomationStatus = 2
	AutomationRunning         AutomationStatus = 3
	AutomationPaused          AutomationStatus = 4
	AutomationStopped         AutomationStatus = 5
	AutomationScheduled       AutomationStatus = 6
	AutomationAwaitingTrigger AutomationStatus = 7
	AutomationInactiveTrigger AutomationStatus = 8
	// AutomationUnknown marks a status the client could not map.
	AutomationUnknown AutomationStatus = -99
)

var automationStatusNames = map[AutomationStatus]string{
	AutomationError: "Error", AutomationBuildingError: "BuildingError", AutomationBuilding: "Building",
	AutomationReady: "Ready", AutomationRunning: "Running", AutomationPaused: "PausedSchedule",
	AutomationStopped: "Stopped", AutomationScheduled: "Scheduled", AutomationAwaitingTrigger: "AwaitingTrigger",
	AutomationInactiveTrigger: "InactiveTrigger", AutomationUnknown: "Unknown",
}

func (s AutomationStatus) String() string {
	if n, ok := automationStatusNames[s]; ok {
		return n
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// IsError reports Error and BuildingError.
func (s AutomationStatus) IsError() bool { return s == AutomationError || s == AutomationBuildingError }

// ParseAutomationStatus maps REST/legacy status text (and SOAP numbers).
func ParseAutomationStatus(s string) AutomationStatus {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if _, ok := automationStatusNames[AutomationStatus(n)]; ok {
			return AutomationStatus(n)
		}
		return AutomationUnknown
	}
	switch strings.ToLower(s) {
	case "error", "errored":
		return AutomationError
	case "buildingerror":
		return AutomationBuildingError
	case "building":
		return AutomationBuilding
	case "ready":
		return AutomationReady
	case "running":
		return AutomationRunning
	case "pausedschedule", "paused":
		return AutomationPaused
	case "stopped":
		return AutomationStopped
	case "scheduled":
		return AutomationScheduled
	case "awaitingtrigger":
		return AutomationAwaitingTrigger
	case "inactivetrigger":
		return AutomationInactiveTrigger
	}
	return AutomationUnknown
}

// Automation is an automation's definition and state, from whichever
// source filled it (legacy bulk list, REST by id, SOAP Retrieve).
type Automation struct {
	ID       string // REST object id (GUID); SOAP ObjectID
	LegacyID string // legacy id (used by /legacy/ endpoints)
	Key      string
	Name     string
	Type     string // scheduled, triggered, unspecified
	Status   AutomationStatus
	// StatusText is the status as SFMC spelled it.
	StatusText string
	// LastRunStatus (legacy list) is the outcome of the last run, e.g. Complete or Error.
	LastRunStatus     string
	LastRunTime       time.Time
	LastRunInstanceID string
	StartTime         time.Time // of the last/current run
	CompletedTime     time.Time
	ScheduledTime     time.Time // next scheduled run
	ScheduleStatus    string    // active, paused, none, scheduled
	ModifiedDate      time.Time
	ModifiedBy        string
	LastPausedDate    time.Time
	LastPausedBy      string
	IsActive          bool
	Steps             []AutomationStep
	// Processes are the legacy per-step run states of the last run.
	Processes []AutomationProcess
}

// AutomationStep is one step with its activities.
type AutomationStep struct {
	Step       int
	Name       string
	Activities []AutomationActivity
}

// AutomationActivity is one activity in a step.
type AutomationActivity struct {
	ID               string
	Name             string
	ActivityObjectID string
	ObjectTypeID     int
	// TargetDataExtensions names the DEs an activity writes (keys), with
	// their row counts when SFMC included them.
	TargetDataExtensions []TargetDE
}

// TargetDE is a DE an activity writes to.
type TargetDE struct {
	ID       string
	Key      string
	Name     string
	RowCount int64
}

// AutomationProcess is a legacy step-level run state.
type AutomationProcess struct {
	Sequence int
	Status   string
	Workers  []WorkerCount
}

// WorkerCount is an activity type's run state inside a process.
type WorkerCount struct {
	Name         string
	ObjectTypeID int
	Count        int
	Status       string
}

type userRef struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// name returns the display name only (e-mail addresses are personal data).
func (u *userRef) name() string {
	if u == nil {
		return ""
	}
	return u.Name
}

type legacyAutomation struct {
	ID            string   `json:"id"`
	Key           string   `json:"key"`
	Name          string   `json:"name"`
	Status        string   `json:"status"`
	LastRunStatus string   `json:"lastRunStatus"`
	StartTime     jsonTime `json:"startTime"`
	CompletedTime jsonTime `json:"completedTime"`
	LastRunTime   jsonTime `json:"lastRunTime"`
	ScheduledTime jsonTime `json:"scheduledTime"`
	ModifiedDate  jsonTime `json:"modifiedDate"`
	ModifiedBy    *userRef `json:"modifiedBy"`
	InstanceID    string   `json:"instanceId"`
	Type          string   `json:"automationType"`
	GUID          string   `json:"guidId"`
	LastPaused    jsonTime `json:"lastPausedDate"`
	LastPausedBy  *userRef `json:"lastPausedBy"`
	Schedule      *struct {
		ScheduleStatus string `json:"scheduleStatus"`
	} `json:"scheduleObject"`
	Processes []struct {
		Sequence     int    `json:"sequence"`
		Status       string `json:"status"`
		WorkerCounts []struct {
			Name         string `json:"name"`
			ObjectTypeID int    `json:"objectTypeId"`
			Count        int    `json:"count"`
			Status       string `json:"status"`
		} `json:"workerCounts"`
	} `json:"processes"`
}

func (l legacyAutomation) automation() Automation {
	a := Automation{
		ID: l.GUID, LegacyID: l.ID, Key: l.Key, Name: l.Name, Type: l.Type,
		Status: ParseAutomationStatus(l.Status), StatusText: l.Status, LastRunStatus: l.LastRunStatus,
		LastRunTime: l.LastRunTime.Time, LastRunInstanceID: l.InstanceID, StartTime: l.StartTime.Time,
		CompletedTime: l.CompletedTime.Time, ScheduledTime: l.ScheduledTime.Time, ModifiedDate: l.ModifiedDate.Time,
		ModifiedBy: l.ModifiedBy.name(), LastPausedDate: l.LastPaused.Time, LastPausedBy: l.LastPausedBy.name(),
	}
	if l.Schedule != nil {
		a.ScheduleStatus = l.Schedule.ScheduleStatus
	}
	for _, p := range l.Processes {
		ap := AutomationProcess{Sequence: p.Sequence, Status: p.Status}
		for _, w := range p.WorkerCounts {
			ap.Workers = append(ap.Workers, WorkerCount{Name: w.Name, ObjectTypeID: w.ObjectTypeID, Count: w.Count, Status: w.Status})
		}
		a.Processes = append(a.Processes, ap)
	}
	return a
}

const (
	scopeAutomations = "automations_read"
	epLegacyList     = "/legacy/v1/beta/bulk/automations/automation/definition/"
)

// Automations lists every automation with status and last-run outcome via
// the legacy bulk list (one call per page covers many automations; paged
// with startIndex/itemsPerPage).
func (c *Client) Automations(ctx context.Context) ([]Automation, error) {
	size := c.pageSize(200)
	var out []Automation
	seen := map[string]bool{}
	start := 0
	for page := 0; page < c.opt.MaxPages; page++ {
		var body struct {
			StartIndex   int                `json:"startIndex"`
			ItemsPerPage int                `json:"itemsPerPage"`
			TotalResults int                `json:"totalResults"`
			Entry        []legacyAutomation `json:"entry"`
		}
		q := url.Values{"startIndex": {strconv.Itoa(start)}, "itemsPerPage": {strconv.Itoa(size)}}
		if _, err := c.getJSON(ctx, epLegacyList, scopeAutomations, epLegacyList, q, &body); err != nil {
			return out, err
		}
		for _, e := range body.Entry {
			if seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			out = append(out, e.automation())
		}
		per := size
		if body.ItemsPerPage > 0 && body.ItemsPerPage < per {
			per = body.ItemsPerPage
		}
		start += len(body.Entry)
		if len(body.Entry) == 0 || len(body.Entry) < per || (body.TotalResults > 0 && start >= body.TotalResults) {
			return out, nil
		}
	}
	return out, nil
}

// LegacyAutomation reads one legacy definition (who paused it and when).
func (c *Client) LegacyAutomation(ctx context.Context, legacyID string) (Automation, error) {
	var l legacyAutomation
	if _, err := c.getJSON(ctx, epLegacyList+"{id}", scopeAutomations, epLegacyList+pathEscape(legacyID), nil, &l); err != nil {
		return Automation{}, err
	}
	return l.automation(), nil
}

type restAutomation struct {
	ID                string   `json:"id"`
	Key               string   `json:"key"`
	Name              string   `json:"name"`
	Type              string   `json:"type"`
	StatusID          *int     `json:"statusId"`
	Status            string   `json:"status"`
	LastRunTime       jsonTime `json:"lastRunTime"`
	LastRunInstanceID string   `json:"lastRunInstanceId"`
	Schedule          *struct {
		ScheduleStatus string   `json:"scheduleStatus"`
		ScheduledTime  jsonTime `json:"scheduledTime"`
	} `json:"schedule"`
	Steps []struct {
		Step       int    `json:"step"`
		Name       string `json:"name"`
		Activities []struct {
			ID                   string `json:"id"`
			Name                 string `json:"name"`
			ActivityObjectID     string `json:"activityObjectId"`
			ObjectTypeID         int    `json:"objectTypeId"`
			TargetDataExtensions []struct {
				ID       string `json:"id"`
				Key      string `json:"key"`
				Name     string `json:"name"`
				RowCount int64  `json:"rowCount"`
			} `json:"targetDataExtensions"`
		} `json:"activities"`
	} `json:"steps"`
}

// Automation reads one automation by object id (GUID), with its steps,
// activities and target DEs.
func (c *Client) Automation(ctx context.Context, id string) (Automation, error) {
	var r restAutomation
	if _, err := c.getJSON(ctx, "/automation/v1/automations/{id}", scopeAutomations,
		"/automation/v1/automations/"+pathEscape(id), nil, &r); err != nil {
		return Automation{}, err
	}
	a := Automation{ID: r.ID, Key: r.Key, Name: r.Name, Type: r.Type, StatusText: r.Status,
		LastRunTime: r.LastRunTime.Time, LastRunInstanceID: r.LastRunInstanceID}
	if r.StatusID != nil {
		a.Status = AutomationStatus(*r.StatusID)
		if _, ok := automationStatusNames[a.Status]; !ok {
			a.Status = AutomationUnknown
		}
	} else {
		a.Status = ParseAutomationStatus(r.Status)
	}
	if r.Schedule != nil {
		a.ScheduleStatus = r.Schedule.ScheduleStatus
		a.ScheduledTime = r.Schedule.ScheduledTime.Time
	}
	for _, s := range r.Steps {
		st := AutomationStep{Step: s.Step, Name: s.Name}
		for _, act := range s.Activities {
			aa := AutomationActivity{ID: act.ID, Name: act.Name, ActivityObjectID: act.ActivityObjectID, ObjectTypeID: act.ObjectTypeID}
			for _, t := range act.TargetDataExtensions {
				aa.TargetDataExtensions = append(aa.TargetDataExtensions, TargetDE(t))
			}
			st.Activities = append(st.Activities, aa)
		}
		a.Steps = append(a.Steps, st)
	}
	return a, nil
}

type soapAutomation struct {
	ObjectID          string  `xml:"ObjectID"`
	CustomerKey       string  `xml:"CustomerKey"`
	Name              string  `xml:"Name"`
	Status            xmlInt  `xml:"Status"`
	IsActive          xmlBool `xml:"IsActive"`
	AutomationType    string  `xml:"AutomationType"`
	LastRunTime       xmlTime `xml:"LastRunTime"`
	LastRunInstanceID string  `xml:"LastRunInstanceID"`
	ModifiedDate      xmlTime `xml:"ModifiedDate"`
	ScheduledTime     xmlTime `xml:"ScheduledTime"`
}

// RetrieveAutomations reads Automation objects over SOAP (Status as an
// int). SFMC accepts only IN and equals filters here; nil reads all.
func (c *Client) RetrieveAutomations(ctx context.Context, f Filter) ([]Automation, error) {
	rs, err := retrieve[soapAutomation](ctx, c, RetrieveRequest{ObjectType: "Automation", Filter: f,
		Properties: []string{"ObjectID", "CustomerKey", "Name", "Status", "IsActive", "AutomationType", "LastRunTime", "LastRunInstanceID", "ModifiedDate"}},
		scopeAutomations)
	out := make([]Automation, 0, len(rs))
	for _, r := range rs {
		st := AutomationStatus(r.Status)
		if _, ok := automationStatusNames[st]; !ok {
			st = AutomationUnknown
		}
		out = append(out, Automation{ID: r.ObjectID, Key: r.CustomerKey, Name: r.Name, Status: st, StatusText: st.String(),
			IsActive: bool(r.IsActive), Type: r.AutomationType, LastRunTime: r.LastRunTime.Time,
			LastRunInstanceID: r.LastRunInstanceID, ModifiedDate: r.ModifiedDate.Time, ScheduledTime: r.ScheduledTime.Time})
	}
	return out, err
}

// AutomationInstance is one run of an automation (SOAP AutomationInstance).
type AutomationInstance struct {
	ID               string // ObjectID of the run
	AutomationID     string
	Key              string
	Name             string
	Status           AutomationStatus
	StatusMessage    string
	StatusLastUpdate time.Time
	StartTime        time.Time
	CompletedTime    time.Time
	ScheduledTime    time.Time
}

type soapAutomationInstance struct {
	ObjectID         string  `xml:"ObjectID"`
	AutomationID     string  `xml:"AutomationID"`
	CustomerKey      string  `xml:"CustomerKey"`
	Name             string  `xml:"Name"`
	Status           xmlInt  `xml:"Status"`
	StatusMessage    string  `xml:"StatusMessage"`
	StatusLastUpdate xmlTime `xml:"StatusLastUpdate"`
	StartTime        xmlTime `xml:"StartTime"`
	CompletedTime    xmlTime `xml:"CompletedTime"`
	ScheduledTime    xmlTime `xml:"ScheduledTime"`
}

// AutomationInstances reads runs (one Retrieve page covers many). Filter
// e.g. In("ObjectID", lastRunInstanceIDs...) or Equals("ProgramInstanceID", id).
func (c *Client) AutomationInstances(ctx context.Context, f Filter) ([]AutomationInstance, error) {
	rs, err := retrieve[soapAutomationInstance](ctx, c, RetrieveRequest{ObjectType: "AutomationInstance", Filter: f,
		Properties: []string{"ObjectID", "AutomationID", "CustomerKey", "Name", "Status", "StatusMessage", "StatusLastUpdate", "StartTime", "CompletedTime", "ScheduledTime"}},
		scopeAutomations)
	out := make([]AutomationInstance, 0, len(rs))
	for _, r := range rs {
		out = append(out, AutomationInstance{ID: r.ObjectID, AutomationID: r.AutomationID, Key: r.CustomerKey, Name: r.Name,
			Status: AutomationStatus(r.Status), StatusMessage: r.StatusMessage, StatusLastUpdate: r.StatusLastUpdate.Time,
			StartTime: r.StartTime.Time, CompletedTime: r.CompletedTime.Time, ScheduledTime: r.ScheduledTime.Time})
	}
	return out, err
}

// LastRuns reads the runs with the given instance ids in bulk (IN filter,
// one call per 500 ids).
func (c *Client) LastRuns(ctx context.Context, instanceIDs []string) ([]AutomationInstance, error) {
	if len(instanceIDs) == 0 {
		return nil, nil
	}
	var out []AutomationInstance
	for i := 0; i < len(instanceIDs); i += maxInValues {
		part, err := c.AutomationInstances(ctx, In("ObjectID", instanceIDs[i:min(i+maxInValues, len(instanceIDs))]...))
		out = append(out, part...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// ActivityInstance is one activity's run inside an automation run; the
// error text of a failed step lives in StatusMessage.
type ActivityInstance struct {
	ID                   string
	ActivityID           string
	AutomationID         string
	AutomationInstanceID string
	Name                 string
	SequenceID           int
	Status               AutomationStatus
	StatusMessage        string
	StatusLastUpdate     time.Time
	StartTime            time.Time
	CompletedTime        time.Time
}

type soapActivityInstance struct {
	ObjectID           string  `xml:"ObjectID"`
	ActivityID         string  `xml:"ActivityID"`
	AutomationID       string  `xml:"AutomationID"`
	Name               string  `xml:"Name"`
	SequenceID         xmlInt  `xml:"SequenceID"`
	Status             xmlInt  `xml:"Status"`
	StatusMessage      string  `xml:"StatusMessage"`
	StatusLastUpdate   xmlTime `xml:"StatusLastUpdate"`
	StartTime          xmlTime `xml:"StartTime"`
	CompletedTime      xmlTime `xml:"CompletedTime"`
	AutomationInstance struct {
		ObjectID string `xml:"ObjectID"`
	} `xml:"AutomationInstance"`
	AutomationInstanceID string `xml:"AutomationInstanceID"`
}

// ActivityInstances reads activity runs, e.g. for the failed runs found by
// LastRuns: In("AutomationInstance.ObjectID", ids...).
func (c *Client) ActivityInstances(ctx context.Context, f Filter) ([]ActivityInstance, error) {
	rs, err := retrieve[soapActivityInstance](ctx, c, RetrieveRequest{ObjectType: "AutomationActivityInstance", Filter: f,
		Properties: []string{"ObjectID", "ActivityID", "AutomationID", "Name", "SequenceID", "Status", "StatusMessage", "StatusLastUpdate", "StartTime", "CompletedTime", "AutomationInstance.ObjectID"}},
		scopeAutomations)
	out := make([]ActivityInstance, 0, len(rs))
	for _, r := range rs {
		out = append(out, ActivityInstance{ID: r.ObjectID, ActivityID: r.ActivityID, AutomationID: r.AutomationID,
			AutomationInstanceID: cmp.Or(r.AutomationInstance.ObjectID, r.AutomationInstanceID), Name: r.Name, SequenceID: int(r.SequenceID),
			Status: AutomationStatus(r.Status), StatusMessage: r.StatusMessage, StatusLastUpdate: r.StatusLastUpdate.Time,
			StartTime: r.StartTime.Time, CompletedTime: r.CompletedTime.Time})
	}
	return out, err
}

// AutomationNotification is a configured built-in notification: who gets
// the Complete/Error e-mail of an automation.
type AutomationNotification struct {
	Type    string // Complete or Error
	Address string // e-mail address(es) as configured
	Channel string
}

// AutomationNotifications reads the legacy notification workers of an
// automation (by legacy id).
func (c *Client) AutomationNotifications(ctx context.Context, legacyID string) ([]AutomationNotification, error) {
	var r struct {
		Workers []struct {
			NotificationType string `json:"notificationType"`
			Definition       string `json:"definition"`
			ChannelType      string `json:"channelType"`
		} `json:"workers"`
	}
	if _, err := c.getJSON(ctx, "/legacy/v1/beta/automations/notifications/{id}", scopeAutomations,
		"/legacy/v1/beta/automations/notifications/"+pathEscape(legacyID), nil, &r); err != nil {
		return nil, err
	}
	out := make([]AutomationNotification, 0, len(r.Workers))
	for _, w := range r.Workers {
		out = append(out, AutomationNotification{Type: w.NotificationType, Address: w.Definition, Channel: w.ChannelType})
	}
	return out, nil
}
