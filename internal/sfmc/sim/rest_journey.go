package sim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

type jStats struct {
	CurrentPopulation    int64   `json:"currentPopulation"`
	CumulativePopulation int64   `json:"cumulativePopulation"`
	MetGoal              int64   `json:"metGoal"`
	MetExitCriteria      int64   `json:"metExitCriteria"`
	GoalPerformance      float64 `json:"goalPerformance"`
}

type jAnalytics struct {
	Enabled           bool     `json:"enabled"`
	AnalyticsType     string   `json:"analyticsType"`
	URLDomainsToTrack []string `json:"urlDomainsToTrack"`
}

type jDefaults struct {
	Email      []string `json:"email,omitempty"`
	Properties struct {
		AnalyticsTracking *jAnalytics `json:"analyticsTracking,omitempty"`
	} `json:"properties"`
}

type jMetaData struct {
	DataSource           string `json:"dataSource,omitempty"`
	HighThroughputSendin *struct {
		Email bool `json:"email"`
	} `json:"highThroughputSending,omitempty"`
}

// jArgs are an outcome's arguments ({} when none; a random split's
// percentage).
type jArgs map[string]any

func (a jArgs) MarshalJSON() ([]byte, error) {
	if a == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(map[string]any(a))
}

type jOutcome struct {
	Key       string         `json:"key"`
	Next      string         `json:"next,omitempty"`
	Arguments jArgs          `json:"arguments"`
	MetaData  map[string]any `json:"metaData"`
}

type jActivity struct {
	ID                     string         `json:"id"`
	Key                    string         `json:"key"`
	Name                   string         `json:"name"`
	Description            string         `json:"description"`
	Type                   string         `json:"type"`
	Outcomes               []jOutcome     `json:"outcomes"`
	Arguments              emptyObj       `json:"arguments"`
	ConfigurationArguments map[string]any `json:"configurationArguments"`
	MetaData               map[string]any `json:"metaData"`
	Schema                 map[string]any `json:"schema"`
}

type jTrigger struct {
	ID                     string         `json:"id"`
	Key                    string         `json:"key"`
	Name                   string         `json:"name"`
	Description            string         `json:"description"`
	Type                   string         `json:"type"`
	Outcomes               []jOutcome     `json:"outcomes"`
	Arguments              emptyObj       `json:"arguments"`
	ConfigurationArguments emptyObj       `json:"configurationArguments"`
	MetaData               map[string]any `json:"metaData"`
}

type restJourney struct {
	ID                 string      `json:"id"`
	Key                string      `json:"key"`
	Name               string      `json:"name"`
	LastPublishedDate  string      `json:"lastPublishedDate"`
	Description        string      `json:"description"`
	Version            int         `json:"version"`
	WorkflowAPIVersion float64     `json:"workflowApiVersion"`
	CreatedDate        string      `json:"createdDate"`
	ModifiedDate       string      `json:"modifiedDate"`
	Activities         []jActivity `json:"activities,omitempty"`
	Triggers           []jTrigger  `json:"triggers,omitempty"`
	Goals              []struct{}  `json:"goals"`
	Exits              []struct{}  `json:"exits"`
	Notifiers          []struct{}  `json:"notifiers"`
	Stats              *jStats     `json:"stats,omitempty"`
	EntryMode          string      `json:"entryMode"`
	DefinitionType     string      `json:"definitionType"`
	Channel            string      `json:"channel"`
	Defaults           jDefaults   `json:"defaults"`
	MetaData           jMetaData   `json:"metaData"`
	ExecutionMode      string      `json:"executionMode"`
	CategoryID         int         `json:"categoryId"`
	Status             string      `json:"status"`
	DefinitionID       string      `json:"definitionId"`
	ScheduledStatus    string      `json:"scheduledStatus"`
}

func (s *Sim) restJourney(t *tenant, j *journey, now time.Time, stats, detail bool) restJourney {
	status := s.journeyStatus(t, j, now)
	out := restJourney{
		ID: j.ID, Key: j.Key, Name: j.Name, LastPublishedDate: zeroDate, Version: j.Version, WorkflowAPIVersion: 1,
		CreatedDate: fmtREST(j.Created), ModifiedDate: fmtREST(s.journeyModified(t, j, now)),
		Goals: []struct{}{}, Exits: []struct{}{}, Notifiers: []struct{}{},
		EntryMode: j.EntryMode, DefinitionType: j.DefinitionType, Channel: j.Channel,
		ExecutionMode: "Production", CategoryID: j.CategoryID, Status: status, DefinitionID: j.ID, ScheduledStatus: "Draft",
	}
	if j.BaseStatus != "Draft" && !now.Before(j.Published) {
		out.LastPublishedDate = fmtREST(j.Published)
	}
	if j.DefinitionType != "Transactional" {
		out.Defaults.Email = []string{"{{Event." + j.EventDefKey + ".\"EmailAddress\"}}"}
	}
	out.Defaults.Properties.AnalyticsTracking = &jAnalytics{Enabled: j.idx%3 == 0, AnalyticsType: "google", URLDomainsToTrack: []string{}}
	out.MetaData.DataSource = "ContactsModel"
	out.MetaData.HighThroughputSendin = &struct {
		Email bool `json:"email"`
	}{}
	if stats {
		st := s.journeyStats(t, j, now)
		out.Stats = &jStats{st.Current, st.Cumulative, st.MetGoal, st.MetExit, st.GoalPerformance}
	}
	if detail {
		out.Triggers = []jTrigger{{
			ID: hashGUID(hashString(j.ID), 1), Key: "TRIGGER", Name: "TRIGGER", Type: "EmailAudience",
			Outcomes: []jOutcome{}, MetaData: map[string]any{
				"eventDefinitionId": j.EventDefID, "eventDefinitionKey": j.EventDefKey, "chainType": "None",
				"configurationRequired": false, "iconUrl": "/images/icon-data-extension.svg", "title": "Data Extension",
				"entrySourceGroupConfigUrl": "jb:///data/entry/audience/entrysourcegroupconfig.json", "sourceInteractionId": "00000000-0000-0000-0000-000000000000",
			},
		}}
		out.Activities = []jActivity{
			{ID: hashGUID(hashString(j.ID), 2), Key: "EMAILV2-1", Name: j.EmailName, Type: "EMAILV2",
				Outcomes:               []jOutcome{{Key: hashGUID(hashString(j.ID), 3), Next: "WAITBYDURATION-1", MetaData: map[string]any{"invalid": false}}},
				ConfigurationArguments: map[string]any{"applicationExtensionKey": "jb-email-activity", "isModified": false},
				MetaData:               map[string]any{"isConfigured": true},
				Schema:                 jSchema("contactKey", "emailAddress", "messageKey")},
			{ID: hashGUID(hashString(j.ID), 4), Key: "WAITBYDURATION-1", Name: "2 days", Type: "WAIT",
				Outcomes:               []jOutcome{{Key: hashGUID(hashString(j.ID), 5), MetaData: map[string]any{"invalid": false}}},
				ConfigurationArguments: map[string]any{"waitDuration": 2, "waitUnit": "DAYS"},
				MetaData:               map[string]any{"isConfigured": true},
				Schema:                 jSchema("waitEndDateAttributeDataBound")},
		}
		if journeyHasSplit(j) {
			split, wait := splitActivities(j)
			out.Activities = append(append([]jActivity{split}, out.Activities...), wait)
		}
	}
	return out
}

// GET /interaction/v1/interactions?$page&$pageSize&status&extras&mostRecentVersionOnly&definitionType&nameOrDescription
func (s *Sim) handleJourneys(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	status := queryStr(r, "status")
	defType := queryStr(r, "definitionType")
	needle := strings.ToLower(queryStr(r, "nameOrDescription"))
	extras := strings.ToLower(queryStr(r, "extras"))
	stats := slices.Contains(strings.Split(extras, ","), "stats") || extras == "all"
	var sel []*journey
	for _, j := range t.Journeys {
		if status != "" && !strings.EqualFold(s.journeyStatus(t, j, now), status) {
			continue
		}
		if defType != "" && !strings.EqualFold(j.DefinitionType, defType) {
			continue
		}
		if needle != "" && !strings.Contains(strings.ToLower(j.Name), needle) {
			continue
		}
		sel = append(sel, j)
	}
	page, size, lo, hi := pageBounds(r, len(sel), 50, 50)
	items := make([]restJourney, 0, hi-lo)
	for _, j := range sel[lo:hi] {
		items = append(items, s.restJourney(t, j, now, stats, false))
	}
	writeJSON(w, http.StatusOK, struct {
		Count    int           `json:"count"`
		Page     int           `json:"page"`
		PageSize int           `json:"pageSize"`
		Links    emptyObj      `json:"links"`
		Items    []restJourney `json:"items"`
	}{len(sel), page, size, emptyObj{}, items})
}

func (t *tenant) findJourney(id string) *journey {
	id = strings.ToLower(id)
	return t.journeyBy[id]
}

// GET /interaction/v1/interactions/{id} (id or key:{key})
func (s *Sim) handleJourney(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	j := t.findJourney(r.PathValue("id"))
	if j == nil {
		restError(w, http.StatusBadRequest, 30003, "Interaction matching criteria not found.")
		return
	}
	writeJSON(w, http.StatusOK, s.restJourney(t, j, now, true, true))
}

type auditUser struct {
	Name   string `json:"name"`
	UserID int64  `json:"userId"`
}

type auditItem struct {
	ID                   string    `json:"id"`
	Action               string    `json:"action"`
	User                 auditUser `json:"user"`
	TimeStamp            string    `json:"timeStamp"`
	Key                  string    `json:"key"`
	VersionNumber        int       `json:"versionNumber"`
	OriginalDefinitionID string    `json:"originalDefinitionId"`
	Name                 string    `json:"name"`
	Description          string    `json:"description"`
	ExecutionMode        string    `json:"executionMode,omitempty"`
	PublishStatus        string    `json:"publishStatus,omitempty"`
	PublishRequestID     string    `json:"publishRequestId,omitempty"`
	at                   time.Time
}

// GET /interaction/v1/interactions/{id}/audit/{all|create|modify|publish|stop...}
func (s *Sim) handleJourneyAudit(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	j := t.findJourney(r.PathValue("id"))
	if j == nil {
		restError(w, http.StatusBadRequest, 30003, "Interaction matching criteria not found.")
		return
	}
	u := auditUser{Name: j.User.Name, UserID: j.User.ID}
	mk := func(action string, at time.Time) auditItem {
		return auditItem{ID: j.ID, Action: action, User: u, TimeStamp: fmtREST(at), Key: j.Key, VersionNumber: j.Version,
			OriginalDefinitionID: j.ID, Name: j.Name, at: at}
	}
	var items []auditItem
	c := mk("Create", j.Created)
	items = append(items, c)
	m := mk("Modify", j.Created.Add(j.Published.Sub(j.Created)/2))
	m.ExecutionMode = "Production"
	items = append(items, m)
	if j.BaseStatus != "Draft" {
		p := mk("Publish", j.Published)
		p.ExecutionMode, p.PublishStatus, p.PublishRequestID = "Production", "PublishCompleted", hashGUID(hashString(j.ID), 9)
		items = append(items, p)
	}
	if !j.StopAt.IsZero() {
		items = append(items, mk("Stop", j.StopAt))
	}
	stopped, _, _ := s.journeyWindows(t, j)
	for _, wdw := range stopped {
		if !wdw.start.After(now) {
			items = append(items, mk("Stop", wdw.start))
		}
	}
	action := strings.ToLower(r.PathValue("action"))
	items = slices.DeleteFunc(items, func(it auditItem) bool {
		return it.at.After(now) || (action != "all" && strings.ToLower(it.Action) != action)
	})
	slices.SortStableFunc(items, func(a, b auditItem) int { return b.at.Compare(a.at) })
	page, size, lo, hi := pageBounds(r, len(items), 50, 50)
	writeJSON(w, http.StatusOK, struct {
		Count    int         `json:"count"`
		Page     int         `json:"page"`
		PageSize int         `json:"pageSize"`
		Links    emptyObj    `json:"links"`
		Items    []auditItem `json:"items"`
	}{len(items), page, size, emptyObj{}, items[lo:hi]})
}

// jSchema builds an activity schema with hidden text arguments.
func jSchema(names ...string) map[string]any {
	args := map[string]any{}
	for i, n := range names {
		args[n] = map[string]any{"dataType": "Text", "isNullable": i > 0, "direction": "In", "readOnly": false, "access": "Hidden"}
	}
	return map[string]any{"arguments": args}
}
