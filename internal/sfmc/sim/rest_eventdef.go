package sim

import (
	"net/http"
	"strings"
	"time"
)

// restEventDefinition is a journey entry source in the shape of
// GET /interaction/v1/eventDefinitions/key:{key}
// (fixture journey/eventdefinition-deaudience.json).
type restEventDefinition struct {
	ID                           string         `json:"id"`
	Type                         string         `json:"type"`
	Name                         string         `json:"name"`
	Description                  string         `json:"description"`
	CreatedDate                  string         `json:"createdDate"`
	CreatedBy                    int64          `json:"createdBy"`
	ModifiedDate                 string         `json:"modifiedDate"`
	ModifiedBy                   int64          `json:"modifiedBy"`
	Mode                         string         `json:"mode"`
	EventDefinitionKey           string         `json:"eventDefinitionKey"`
	DataExtensionID              string         `json:"dataExtensionId"`
	DataExtensionName            string         `json:"dataExtensionName"`
	SourceApplicationExtensionID string         `json:"sourceApplicationExtensionId"`
	FilterDefinitionID           string         `json:"filterDefinitionId"`
	FilterDefinitionTemplate     string         `json:"filterDefinitionTemplate"`
	IconURL                      string         `json:"iconUrl"`
	Arguments                    map[string]any `json:"arguments"`
	ConfigurationArguments       map[string]any `json:"configurationArguments"`
	MetaData                     map[string]any `json:"metaData"`
	InteractionCount             int            `json:"interactionCount"`
	IsVisibleInPicker            bool           `json:"isVisibleInPicker"`
	IsPlatformObject             bool           `json:"isPlatformObject"`
	Category                     string         `json:"category"`
	PublishedInteractionCount    int            `json:"publishedInteractionCount"`
	AutomationID                 string         `json:"automationId"`
	DisableDEDataLogging         bool           `json:"disableDEDataLogging"`
}

const zeroGUID = "00000000-0000-0000-0000-000000000000"

// GET /interaction/v1/eventDefinitions/key:{key} (or /{id})
func (s *Sim) handleEventDefinition(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time) {
	ref := strings.ToLower(r.PathValue("id"))
	byKey, isKey := strings.CutPrefix(ref, "key:")
	var j *journey
	for _, x := range t.Journeys {
		if (isKey && strings.ToLower(x.EventDefKey) == byKey) || (!isKey && strings.ToLower(x.EventDefID) == ref) {
			j = x
			break
		}
	}
	if j == nil || j.EventDefKey == "" {
		restError(w, http.StatusNotFound, 404, "Not Found")
		return
	}
	out := restEventDefinition{
		ID: j.EventDefID, Type: "EmailAudience", Name: j.Name, CreatedDate: fmtREST(j.Created), CreatedBy: j.User.ID,
		ModifiedDate: fmtREST(j.Modified), ModifiedBy: j.User.ID, Mode: "Production", EventDefinitionKey: j.EventDefKey,
		SourceApplicationExtensionID: "97e942ee-6914-4d3d-9e52-37ecb71f79ed", FilterDefinitionID: zeroGUID,
		IconURL: "/images/icon-data-extension.svg",
		Arguments: map[string]any{"serializedObjectType": 3, "eventDefinitionId": j.EventDefID, "eventDefinitionKey": j.EventDefKey,
			"dataExtensionId": "", "criteria": ""},
		ConfigurationArguments: map[string]any{"unconfigured": true},
		MetaData:               map[string]any{"criteriaDescription": "", "scheduleState": "No Schedule"},
		InteractionCount:       1, Category: "Audience", AutomationID: zeroGUID,
	}
	if j.EntryDE != nil {
		out.DataExtensionID, out.DataExtensionName = j.EntryDE.ObjectID, j.EntryDE.Name
		out.Arguments["dataExtensionId"] = j.EntryDE.ObjectID
	}
	if j.BaseStatus != "Draft" {
		out.PublishedInteractionCount = 1
	}
	writeJSON(w, http.StatusOK, out)
}
