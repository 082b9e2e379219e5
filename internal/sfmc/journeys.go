package sfmc

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// JourneyStatus is a journey's status as SFMC spells it: Draft, Published,
// ScheduledToPublish, Stopped, Unpublished, Deleted, Paused, ScheduledToSend, Sent.
type JourneyStatus string

// Journey statuses.
const (
	JourneyDraft       JourneyStatus = "Draft"
	JourneyPublished   JourneyStatus = "Published"
	JourneyStopped     JourneyStatus = "Stopped"
	JourneyPaused      JourneyStatus = "Paused"
	JourneyUnpublished JourneyStatus = "Unpublished"
	JourneyDeleted     JourneyStatus = "Deleted"
)

// Journey is one journey version with its enrollment counters.
type Journey struct {
	ID                string
	Key               string
	Name              string
	Version           int
	DefinitionID      string
	Status            JourneyStatus
	ScheduledStatus   string
	DefinitionType    string // Multistep, Transactional, Quicksend
	EntryMode         string
	CreatedDate       time.Time
	ModifiedDate      time.Time
	LastPublishedDate time.Time
	// Stats is nil when SFMC did not include extras=stats.
	Stats *JourneyStats
	// EventDefinitionKeys name the entry sources (full definition only).
	EventDefinitionKeys []string
}

// JourneyStats are the enrollment counters (extras=stats).
type JourneyStats struct {
	CurrentPopulation    int64
	CumulativePopulation int64
	MetGoal              int64
	MetExitCriteria      int64
	GoalPerformance      float64
}

type restJourney struct {
	ID                string   `json:"id"`
	Key               string   `json:"key"`
	Name              string   `json:"name"`
	Version           int      `json:"version"`
	DefinitionID      string   `json:"definitionId"`
	Status            string   `json:"status"`
	ScheduledStatus   string   `json:"scheduledStatus"`
	DefinitionType    string   `json:"definitionType"`
	EntryMode         string   `json:"entryMode"`
	CreatedDate       jsonTime `json:"createdDate"`
	ModifiedDate      jsonTime `json:"modifiedDate"`
	LastPublishedDate jsonTime `json:"lastPublishedDate"`
	Stats             *struct {
		CurrentPopulation    float64 `json:"currentPopulation"`
		CumulativePopulation float64 `json:"cumulativePopulation"`
		MetGoal              float64 `json:"metGoal"`
		MetExitCriteria      float64 `json:"metExitCriteria"`
		GoalPerformance      float64 `json:"goalPerformance"`
	} `json:"stats"`
	Triggers []struct {
		MetaData struct {
			EventDefinitionKey string `json:"eventDefinitionKey"`
		} `json:"metaData"`
	} `json:"triggers"`
}

func (r restJourney) journey() Journey {
	j := Journey{ID: r.ID, Key: r.Key, Name: r.Name, Version: r.Version, DefinitionID: r.DefinitionID,
		Status: JourneyStatus(r.Status), ScheduledStatus: r.ScheduledStatus, DefinitionType: r.DefinitionType,
		EntryMode: r.EntryMode, CreatedDate: r.CreatedDate.Time, ModifiedDate: r.ModifiedDate.Time,
		LastPublishedDate: r.LastPublishedDate.Time}
	if s := r.Stats; s != nil {
		j.Stats = &JourneyStats{CurrentPopulation: int64(s.CurrentPopulation), CumulativePopulation: int64(s.CumulativePopulation),
			MetGoal: int64(s.MetGoal), MetExitCriteria: int64(s.MetExitCriteria), GoalPerformance: s.GoalPerformance}
	}
	for _, t := range r.Triggers {
		if k := t.MetaData.EventDefinitionKey; k != "" {
			j.EventDefinitionKeys = append(j.EventDefinitionKeys, k)
		}
	}
	return j
}

const scopeJourneys = "journeys_read"

// JourneyListOptions narrow Journeys.
type JourneyListOptions struct {
	// Status filters by status (empty: all).
	Status string
	// AllVersions lists every version instead of only the most recent.
	AllVersions bool
	// DefinitionType filters (e.g. transactional).
	DefinitionType string
}

// Journeys lists journeys with extras=stats (50 per page, the API's cap).
func (c *Client) Journeys(ctx context.Context, o JourneyListOptions) ([]Journey, error) {
	const ep = "/interaction/v1/interactions"
	size := c.pageSize(50)
	var out []Journey
	seen := map[string]bool{}
	err := c.pageLoop(ctx, ep, size, func(ctx context.Context, page int) (pageInfo, error) {
		q := url.Values{"$page": {strconv.Itoa(page)}, "$pageSize": {strconv.Itoa(size)}, "extras": {"stats"},
			"mostRecentVersionOnly": {strconv.FormatBool(!o.AllVersions)}}
		if o.Status != "" {
			q.Set("status", o.Status)
		}
		if o.DefinitionType != "" {
			q.Set("definitionType", o.DefinitionType)
		}
		var body struct {
			Count    int           `json:"count"`
			Page     int           `json:"page"`
			PageSize int           `json:"pageSize"`
			Items    []restJourney `json:"items"`
		}
		if _, err := c.getJSON(ctx, ep, scopeJourneys, ep, q, &body); err != nil {
			return pageInfo{}, err
		}
		for _, it := range body.Items {
			k := it.ID + "\x00" + it.Key + "\x00" + strconv.Itoa(it.Version)
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, it.journey())
		}
		return pageInfo{n: len(body.Items), total: body.Count, pageSize: body.PageSize}, nil
	})
	return out, err
}

// Journey reads one journey (latest version) by key with its triggers.
func (c *Client) Journey(ctx context.Context, key string) (Journey, error) {
	var r restJourney
	if _, err := c.getJSON(ctx, "/interaction/v1/interactions/key:{key}", scopeJourneys,
		"/interaction/v1/interactions/key:"+pathEscape(key), url.Values{"extras": {"stats"}}, &r); err != nil {
		return Journey{}, err
	}
	return r.journey(), nil
}

// JourneyAuditEntry is one audit-log action on a journey.
type JourneyAuditEntry struct {
	Action        string // Create, Modify, Publish, Stop, …
	User          string
	Time          time.Time
	Version       int
	PublishStatus string
}

// JourneyAudit reads a journey's audit log (who stopped or published it).
// action is all, create, modify, publish, unpublish or delete.
func (c *Client) JourneyAudit(ctx context.Context, journeyID, action string) ([]JourneyAuditEntry, error) {
	if action == "" {
		action = "all"
	}
	var r struct {
		Items []struct {
			Action        string   `json:"action"`
			User          userRef  `json:"user"`
			TimeStamp     jsonTime `json:"timeStamp"`
			VersionNumber int      `json:"versionNumber"`
			PublishStatus string   `json:"publishStatus"`
		} `json:"items"`
	}
	if _, err := c.getFeed(ctx, "/interaction/v1/interactions/{id}/audit/{action}", scopeJourneys,
		"/interaction/v1/interactions/"+pathEscape(journeyID)+"/audit/"+pathEscape(action), nil, &r); err != nil {
		return nil, err
	}
	out := make([]JourneyAuditEntry, 0, len(r.Items))
	for _, it := range r.Items {
		out = append(out, JourneyAuditEntry{Action: it.Action, User: it.User.Name, Time: it.TimeStamp.Time,
			Version: it.VersionNumber, PublishStatus: it.PublishStatus})
	}
	return out, nil
}

// PublishStatus is the state of an asynchronous journey publish.
type PublishStatus struct {
	StatusID string
	Status   string // PublishInProcess, PublishCompleted, Error
	Errors   []JourneyIssue
	Warnings []JourneyIssue
}

// JourneyIssue is a publish error or warning.
type JourneyIssue struct {
	Code        string
	Detail      string
	Type        string
	ActivityKey string
}

// JourneyPublishStatus reads a publish request's status.
func (c *Client) JourneyPublishStatus(ctx context.Context, statusID string) (PublishStatus, error) {
	type issue struct {
		ErrorDetail    string `json:"errorDetail"`
		ErrorCode      string `json:"errorCode"`
		ErrorType      string `json:"errorType"`
		AdditionalInfo struct {
			ActivityKey string `json:"activityKey"`
		} `json:"additionalInfo"`
	}
	var r struct {
		StatusID string  `json:"statusId"`
		Status   string  `json:"status"`
		Errors   []issue `json:"errors"`
		Warnings []issue `json:"warnings"`
	}
	if _, err := c.getFeed(ctx, "/interaction/v1/interactions/publishStatus/{id}", scopeJourneys,
		"/interaction/v1/interactions/publishStatus/"+pathEscape(statusID), nil, &r); err != nil {
		return PublishStatus{}, err
	}
	conv := func(in []issue) []JourneyIssue {
		var out []JourneyIssue
		for _, i := range in {
			out = append(out, JourneyIssue{Code: i.ErrorCode, Detail: i.ErrorDetail, Type: i.ErrorType, ActivityKey: i.AdditionalInfo.ActivityKey})
		}
		return out
	}
	ps := PublishStatus{StatusID: r.StatusID, Status: r.Status, Errors: conv(r.Errors), Warnings: conv(r.Warnings)}
	if ps.StatusID == "" {
		ps.StatusID = statusID
	}
	return ps, nil
}

// EventDefinition is a journey entry source.
type EventDefinition struct {
	ID                string
	Key               string
	Name              string
	Type              string
	DataExtensionID   string
	DataExtensionName string
	// AutomationID is the automation that injects the audience (zero GUID: none).
	AutomationID     string
	InteractionCount int
}

// EventDefinition reads an entry source by key.
func (c *Client) EventDefinition(ctx context.Context, key string) (EventDefinition, error) {
	var r struct {
		ID                 string `json:"id"`
		EventDefinitionKey string `json:"eventDefinitionKey"`
		Name               string `json:"name"`
		Type               string `json:"type"`
		DataExtensionID    string `json:"dataExtensionId"`
		DataExtensionName  string `json:"dataExtensionName"`
		AutomationID       string `json:"automationId"`
		InteractionCount   int    `json:"interactionCount"`
	}
	if _, err := c.getJSON(ctx, "/interaction/v1/eventDefinitions/key:{key}", scopeJourneys,
		"/interaction/v1/eventDefinitions/key:"+pathEscape(key), nil, &r); err != nil {
		return EventDefinition{}, err
	}
	if r.AutomationID == "00000000-0000-0000-0000-000000000000" {
		r.AutomationID = ""
	}
	return EventDefinition{ID: r.ID, Key: r.EventDefinitionKey, Name: r.Name, Type: r.Type, DataExtensionID: r.DataExtensionID,
		DataExtensionName: r.DataExtensionName, AutomationID: r.AutomationID, InteractionCount: r.InteractionCount}, nil
}
