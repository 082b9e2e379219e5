package sim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

type restSchedule struct {
	ID             string `json:"id,omitempty"`
	TypeID         int    `json:"typeId,omitempty"`
	StartDate      string `json:"startDate,omitempty"`
	EndDate        string `json:"endDate,omitempty"`
	ScheduledTime  string `json:"scheduledTime,omitempty"`
	RangeTypeID    *int   `json:"rangeTypeId,omitempty"`
	Occurrences    int    `json:"occurrences,omitempty"`
	Pattern        string `json:"pattern,omitempty"`
	ICalRecur      string `json:"icalRecur,omitempty"`
	TimezoneName   string `json:"timezoneName,omitempty"`
	ScheduleStatus string `json:"scheduleStatus"`
	TimezoneID     int    `json:"timezoneId,omitempty"`
}

type restTargetDE struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Key         string `json:"key"`
	Description string `json:"description"`
	RowCount    int64  `json:"rowCount"`
}

type restActivity struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ActivityObjectID     string         `json:"activityObjectId"`
	ObjectTypeID         int            `json:"objectTypeId"`
	DisplayOrder         int            `json:"displayOrder"`
	TargetDataExtensions []restTargetDE `json:"targetDataExtensions,omitempty"`
}

type restStep struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Step        int            `json:"step"`
	Activities  []restActivity `json:"activities"`
}

type restAutomation struct {
	ID                string        `json:"id"`
	Name              string        `json:"name"`
	Description       string        `json:"description"`
	Key               string        `json:"key"`
	TypeID            int           `json:"typeId"`
	Type              string        `json:"type"`
	StatusID          int           `json:"statusId"`
	Status            string        `json:"status"`
	CategoryID        int           `json:"categoryId"`
	LastRunTime       string        `json:"lastRunTime,omitempty"`
	LastRunInstanceID string        `json:"lastRunInstanceId,omitempty"`
	Schedule          *restSchedule `json:"schedule"`
	Steps             []restStep    `json:"steps,omitempty"`
}

func (s *Sim) restAutomation(t *tenant, a *automation, now time.Time, withSteps bool) restAutomation {
	v := s.autoState(t, a, now)
	out := restAutomation{
		ID: a.ID, Name: a.Name, Description: a.Description, Key: a.Key, TypeID: a.TypeID, Type: a.Type,
		StatusID: v.statusID, Status: automationStatusNames[v.statusID], CategoryID: a.CategoryID,
	}
	if v.last != nil {
		out.LastRunTime = fmtREST(v.last.start)
		out.LastRunInstanceID = v.last.instanceID
	}
	if a.Sched == nil || v.scheduleStatus == "none" {
		out.Schedule = &restSchedule{ScheduleStatus: "none"}
	} else {
		rt := 1
		out.Schedule = &restSchedule{
			ID: a.ScheduleID, TypeID: a.Sched.TypeID, StartDate: fmtREST(a.Sched.First.Truncate(time.Second)),
			EndDate: "2079-06-06T00:00:00", ScheduledTime: fmtREST(v.next), RangeTypeID: &rt,
			Occurrences: int(time.Date(2079, 6, 6, 0, 0, 0, 0, time.UTC).Sub(a.Sched.First) / a.Sched.Interval),
			Pattern:     a.Sched.Pattern, ICalRecur: a.Sched.ICal, TimezoneName: "Central Standard Time",
			ScheduleStatus: v.scheduleStatus, TimezoneID: 20,
		}
	}
	if withSteps {
		out.Steps = s.restSteps(t, a, now)
	}
	return out
}

func (s *Sim) restSteps(t *tenant, a *automation, now time.Time) []restStep {
	var steps []restStep
	for i := 1; i <= a.Steps; i++ {
		st := restStep{ID: hashGUID(hashString(a.ID), uint64(i)), Step: i, Activities: []restActivity{}}
		for _, act := range a.Activities {
			if act.Step != i {
				continue
			}
			ra := restActivity{ID: act.ID, Name: act.Name, ActivityObjectID: act.ObjectID, ObjectTypeID: act.ObjectTypeID, DisplayOrder: act.Order}
			if act.TargetDE != nil {
				ra.TargetDataExtensions = []restTargetDE{{ID: act.TargetDE.ObjectID, Name: act.TargetDE.Name, Key: act.TargetDE.Key,
					Description: act.TargetDE.Description, RowCount: s.deRows(t, act.TargetDE, now)}}
			}
			st.Activities = append(st.Activities, ra)
		}
		steps = append(steps, st)
	}
	return steps
}

// GET /automation/v1/automations?$page&$pageSize
func (s *Sim) handleAutomations(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	page, size, lo, hi := pageBounds(r, len(t.Automations), 50, 500)
	items := make([]restAutomation, 0, hi-lo)
	for _, a := range t.Automations[lo:hi] {
		items = append(items, s.restAutomation(t, a, now, false))
	}
	writeJSON(w, http.StatusOK, struct {
		Count    int              `json:"count"`
		Page     int              `json:"page"`
		PageSize int              `json:"pageSize"`
		Links    emptyObj         `json:"links"`
		Items    []restAutomation `json:"items"`
	}{len(t.Automations), page, size, emptyObj{}, items})
}

// GET /automation/v1/automations/{id} (id or key:{key})
func (s *Sim) handleAutomation(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	id := strings.ToLower(r.PathValue("id"))
	a := t.autoByID[id]
	if k, ok := strings.CutPrefix(id, "key:"); ok {
		a = t.autoByKey[k]
	}
	if a == nil {
		restError(w, http.StatusNotFound, 404, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.restAutomation(t, a, now, true))
}

type legacyUser struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

func legacyU(u user) *legacyUser { return &legacyUser{ID: u.LegacyID, Name: u.Name, Email: u.Email} }

type legacyWorker struct {
	Name         string `json:"name"`
	ObjectTypeID int    `json:"objectTypeId"`
	Count        int    `json:"count"`
	Status       string `json:"status,omitempty"`
}

type legacyProcess struct {
	ID           string         `json:"id"`
	CreatedDate  string         `json:"createdDate"`
	Name         string         `json:"name"`
	Description  string         `json:"description"`
	Sequence     int            `json:"sequence"`
	Status       string         `json:"status"`
	WorkerCounts []legacyWorker `json:"workerCounts"`
	InstanceID   string         `json:"instanceId,omitempty"`
}

type legacySchedule struct {
	ID             string `json:"id"`
	Key            string `json:"key"`
	CreatedDate    string `json:"createdDate"`
	CreatedBy      string `json:"createdBy"`
	LastUpdated    string `json:"lastUpdated"`
	LastUpdatedBy  string `json:"lastUpdatedBy"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	StartDate      string `json:"startDate"`
	ICalRecur      string `json:"iCalRecur"`
	TimeZone       string `json:"timeZone"`
	TimeZoneID     int    `json:"timeZoneId"`
	ScheduleStatus string `json:"scheduleStatus"`
}

type legacyDefinition struct {
	ID                 string          `json:"id"`
	Key                string          `json:"key"`
	CreatedDate        string          `json:"createdDate"`
	Name               string          `json:"name"`
	Description        string          `json:"description"`
	ClientID           int64           `json:"clientId"`
	Status             string          `json:"status"`
	CreatedBy          *legacyUser     `json:"createdBy"`
	ModifiedDate       string          `json:"modifiedDate"`
	ModifiedBy         *legacyUser     `json:"modifiedBy"`
	Processes          []legacyProcess `json:"processes,omitempty"`
	Schedule           string          `json:"schedule,omitempty"`
	ScheduledTime      string          `json:"scheduledTime,omitempty"`
	StartTime          string          `json:"startTime,omitempty"`
	CompletedTime      string          `json:"completedTime,omitempty"`
	LastRunTime        string          `json:"lastRunTime,omitempty"`
	LastRunInstance    string          `json:"lastRunInstance,omitempty"`
	InstanceID         string          `json:"instanceId,omitempty"`
	AutomationInstance string          `json:"automationInstance,omitempty"`
	IsPlatformObject   bool            `json:"isPlatformObject"`
	Notifications      string          `json:"notifications"`
	AutomationType     string          `json:"automationType"`
	LastRunStatus      string          `json:"lastRunStatus,omitempty"`
	LastPausedDate     string          `json:"lastPausedDate,omitempty"`
	LastPausedBy       *legacyUser     `json:"lastPausedBy,omitempty"`
	LastSaveDate       string          `json:"lastSaveDate,omitempty"`
	LastSavedBy        *legacyUser     `json:"lastSavedBy,omitempty"`
	GUIDID             string          `json:"guidId,omitempty"`
	ScheduleObject     *legacySchedule `json:"scheduleObject,omitempty"`
}

// legacyStatus maps an automation's status to the legacy API's words.
func legacyStatus(id int) string {
	return automationStatusNames[id]
}

func (s *Sim) legacyDefinition(r *http.Request, t *tenant, a *automation, now time.Time, detail bool) legacyDefinition {
	base := strings.TrimSuffix(s.baseURL(r), "/")
	v := s.autoState(t, a, now)
	d := legacyDefinition{
		ID: a.LegacyID, Key: a.Key, CreatedDate: fmtLegacy(a.Created), Name: a.Name, Description: a.Description,
		ClientID: t.MID, Status: legacyStatus(v.statusID), CreatedBy: legacyU(a.CreatedBy),
		ModifiedDate: fmtLegacy(a.Modified), ModifiedBy: legacyU(a.ModifiedBy),
		Notifications:  base + "/legacy/v1/beta/hub/notifications/" + a.LegacyID,
		AutomationType: a.Type,
	}
	if a.ModifiedBy.ID == systemUser.ID {
		d.ModifiedBy.Email = ""
	}
	instance := ""
	if v.last != nil {
		instance = legacyInstanceID(v.last.instanceID)
	}
	for i := 1; i <= a.Steps; i++ {
		p := legacyProcess{ID: legacyInstanceID(hashGUID(hashString(a.ID), uint64(i))), CreatedDate: fmtLegacy(a.Modified),
			Sequence: i - 1, Status: "Initialized", WorkerCounts: []legacyWorker{}}
		counts := map[int]int{}
		var order []int
		for _, act := range a.Activities {
			if act.Step == i {
				if counts[act.ObjectTypeID] == 0 {
					order = append(order, act.ObjectTypeID)
				}
				counts[act.ObjectTypeID]++
			}
		}
		status := "Initialized"
		if v.last != nil {
			p.InstanceID = legacyInstanceID(hashGUID(hashString(v.last.instanceID), uint64(i)))
			status = processStatus(v.last, a, i)
		}
		p.Status = status
		for _, ot := range order {
			p.WorkerCounts = append(p.WorkerCounts, legacyWorker{Name: activityTypeNames[ot], ObjectTypeID: ot, Count: counts[ot], Status: status})
		}
		d.Processes = append(d.Processes, p)
	}
	if a.Sched != nil {
		d.Schedule = base + "/legacy/v1/beta/automations/schedule/" + legacyInstanceID(a.ScheduleID)
		if v.scheduleStatus != "none" {
			d.ScheduledTime = fmtLegacy(v.next)
		}
	}
	if v.last != nil {
		d.StartTime = fmtLegacy(v.last.start)
		if !v.last.end.IsZero() {
			d.CompletedTime = fmtLegacy(v.last.end)
		}
		d.LastRunTime = fmtLegacy(v.last.start)
		d.LastRunInstance = base + "/legacy/v1/beta/bulk/automations/automation/instance/" + instance
		d.InstanceID = instance
		d.AutomationInstance = d.LastRunInstance
		d.LastRunStatus = v.last.status
	}
	if detail {
		if !v.pausedAt.IsZero() {
			d.LastPausedDate = fmtLegacy(v.pausedAt)
			d.LastPausedBy = legacyU(v.pausedBy)
		}
		d.LastSaveDate = fmtLegacy(a.Modified)
		d.LastSavedBy = legacyU(a.ModifiedBy)
		if a.ModifiedBy.ID == systemUser.ID {
			d.LastSavedBy = legacyU(a.CreatedBy)
		}
		d.GUIDID = a.ID
		if a.Sched != nil {
			ss := "scheduled"
			if v.scheduleStatus != "active" {
				ss = v.scheduleStatus
			}
			d.ScheduleObject = &legacySchedule{
				ID: legacyInstanceID(a.ScheduleID), Key: fmt.Sprint(mix(hashString(a.ScheduleID), 1) % 100000),
				CreatedDate: fmtLegacy(a.Created), CreatedBy: base + "/legacy/v1/beta/organization/user/" + a.CreatedBy.LegacyID,
				LastUpdated: fmtLegacy(a.Modified), LastUpdatedBy: base + "/legacy/v1/beta/organization/user/" + a.ModifiedBy.LegacyID,
				Description: scheduleDescription(a), StartDate: a.Sched.First.In(cst).Format("2006-01-02T15:04:05"),
				ICalRecur: a.Sched.ICal, TimeZone: "Central Standard Time", TimeZoneID: 20, ScheduleStatus: ss,
			}
		}
	}
	return d
}

func processStatus(r *run, a *automation, step int) string {
	switch r.status {
	case "Running":
		return "Running"
	case "Error":
		if r.failedAct >= 0 && r.failedAct < len(a.Activities) {
			fs := a.Activities[r.failedAct].Step
			switch {
			case step < fs:
				return "Complete"
			case step == fs:
				return "Error"
			default:
				return "Initialized"
			}
		}
		return "Error"
	default:
		return "Complete"
	}
}

func scheduleDescription(a *automation) string {
	switch a.Sched.Interval {
	case 15 * time.Minute:
		return "Will run every 15 minutes"
	case time.Hour:
		return "Will run every hour"
	case 4 * time.Hour:
		return "Will run every 4 hours"
	case 24 * time.Hour:
		return "Will run every day at " + a.Sched.First.In(cst).Format("3:04 PM")
	default:
		return "Will run every week on " + a.Sched.First.In(cst).Format("Monday")
	}
}

// legacyInstanceID turns a GUID into a legacy-style base64 id.
func legacyInstanceID(guid string) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	h := hashString(guid)
	var b strings.Builder
	for i := range 22 {
		b.WriteByte(alpha[mix(h, uint64(i))%uint64(len(alpha))])
	}
	return strings.TrimRight(b64(b.String()+":26:0"), "=")
}

// GET /legacy/v1/beta/bulk/automations/automation/definition/
func (s *Sim) handleLegacyList(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	size := queryInt(r, 50, "itemsPerPage", "$pageSize", "pageSize")
	size = max(1, min(size, 500))
	start := queryInt(r, -1, "startIndex")
	if start < 0 {
		start = (max(queryInt(r, 1, "$page", "page"), 1) - 1) * size
	}
	start = min(max(start, 0), len(t.Automations))
	end := min(start+size, len(t.Automations))
	entries := make([]legacyDefinition, 0, end-start)
	for _, a := range t.Automations[start:end] {
		entries = append(entries, s.legacyDefinition(r, t, a, now, false))
	}
	writeJSON(w, http.StatusOK, struct {
		StartIndex   int                `json:"startIndex"`
		ItemsPerPage int                `json:"itemsPerPage"`
		TotalResults int                `json:"totalResults"`
		Entry        []legacyDefinition `json:"entry"`
	}{start, size, len(t.Automations), entries})
}

// GET /legacy/v1/beta/bulk/automations/automation/definition/{legacyId}
func (s *Sim) handleLegacyOne(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	a := t.autoLegacy[r.PathValue("id")]
	if a == nil {
		restError(w, http.StatusNotFound, 404, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.legacyDefinition(r, t, a, now, true))
}

// GET /legacy/v1/beta/automations/notifications/{legacyId}
func (s *Sim) handleLegacyNotifications(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	a := t.autoLegacy[r.PathValue("id")]
	if a == nil {
		restError(w, http.StatusNotFound, 404, "Not Found")
		return
	}
	type worker struct {
		ProgramID        string `json:"programId"`
		ID               string `json:"id"`
		NotificationType string `json:"notificationType"`
		Definition       string `json:"definition"`
		Body             string `json:"body"`
		ChannelType      string `json:"channelType"`
	}
	workers := []worker{}
	if mix(hashString(a.ID), 5)%10 < 7 {
		workers = append(workers, worker{a.LegacyID, legacyInstanceID(a.ID + "err"), "Error", a.NotifyEmail, "", "Account"})
	}
	if mix(hashString(a.ID), 6)%10 < 3 {
		workers = append(workers, worker{a.LegacyID, legacyInstanceID(a.ID + "ok"), "Complete", a.NotifyEmail, "", "Account"})
	}
	sort.SliceStable(workers, func(i, j int) bool { return workers[i].NotificationType < workers[j].NotificationType })
	writeJSON(w, http.StatusOK, struct {
		ProgramID string   `json:"programId"`
		Workers   []worker `json:"workers"`
	}{a.LegacyID, workers})
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
