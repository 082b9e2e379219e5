package sfmc

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// ImportDefinition is an import activity's definition.
type ImportDefinition struct {
	ID                     string
	Key                    string
	Name                   string
	DestinationObjectID    string
	DestinationName        string
	FileNamingPattern      string
	FileTransferLocationID string
	UpdateTypeID           int
	AllowErrors            bool
	MaxFileAgeHours        int
	ModifiedDate           time.Time
}

type restImport struct {
	ImportDefinitionID     string   `json:"importDefinitionId"`
	CustomerKey            string   `json:"customerKey"`
	Name                   string   `json:"name"`
	DestinationObjectID    string   `json:"destinationObjectId"`
	DestinationName        string   `json:"destinationName"`
	FileNamingPattern      string   `json:"fileNamingPattern"`
	FileTransferLocationID string   `json:"fileTransferLocationId"`
	UpdateTypeID           int      `json:"updateTypeId"`
	AllowErrors            bool     `json:"allowErrors"`
	MaxFileAgeHours        int      `json:"maxFileAgeHours"`
	ModifiedDate           jsonTime `json:"modifiedDate"`
}

func (r restImport) def() ImportDefinition {
	return ImportDefinition{ID: r.ImportDefinitionID, Key: r.CustomerKey, Name: r.Name, DestinationObjectID: r.DestinationObjectID,
		DestinationName: r.DestinationName, FileNamingPattern: r.FileNamingPattern, FileTransferLocationID: r.FileTransferLocationID,
		UpdateTypeID: r.UpdateTypeID, AllowErrors: r.AllowErrors, MaxFileAgeHours: r.MaxFileAgeHours, ModifiedDate: r.ModifiedDate.Time}
}

// listItems pages a classic REST list ({page, pageSize, count, items}).
func listItems[T any](ctx context.Context, c *Client, endpoint, scope string, size int, q url.Values, add func(T)) error {
	return c.pageLoop(ctx, endpoint, size, func(ctx context.Context, page int) (pageInfo, error) {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("$page", strconv.Itoa(page))
		qq.Set("$pageSize", strconv.Itoa(size))
		var body struct {
			Count    int `json:"count"`
			PageSize int `json:"pageSize"`
			Items    []T `json:"items"`
		}
		if _, err := c.getJSON(ctx, endpoint, scope, endpoint, qq, &body); err != nil {
			return pageInfo{}, err
		}
		for _, it := range body.Items {
			add(it)
		}
		return pageInfo{n: len(body.Items), total: body.Count, pageSize: body.PageSize}, nil
	})
}

// ImportDefinitions lists import definitions (REST, paged).
func (c *Client) ImportDefinitions(ctx context.Context) ([]ImportDefinition, error) {
	var out []ImportDefinition
	seen := map[string]bool{}
	err := listItems(ctx, c, "/automation/v1/imports", scopeAutomations, c.pageSize(500), nil, func(r restImport) {
		if !seen[r.ImportDefinitionID] {
			seen[r.ImportDefinitionID] = true
			out = append(out, r.def())
		}
	})
	return out, err
}

// ImportDefinition reads one import definition by id.
func (c *Client) ImportDefinition(ctx context.Context, id string) (ImportDefinition, error) {
	var r restImport
	if _, err := c.getJSON(ctx, "/automation/v1/imports/{id}", scopeAutomations, "/automation/v1/imports/"+pathEscape(id), nil, &r); err != nil {
		return ImportDefinition{}, err
	}
	return r.def(), nil
}

// RetrieveImportDefinitions reads ImportDefinition objects over SOAP.
func (c *Client) RetrieveImportDefinitions(ctx context.Context, f Filter) ([]ImportDefinition, error) {
	type soapImport struct {
		ObjectID    string `xml:"ObjectID"`
		CustomerKey string `xml:"CustomerKey"`
		Name        string `xml:"Name"`
	}
	rs, err := retrieve[soapImport](ctx, c, RetrieveRequest{ObjectType: "ImportDefinition", Filter: f,
		Properties: []string{"ObjectID", "CustomerKey", "Name"}}, scopeAutomations)
	out := make([]ImportDefinition, 0, len(rs))
	for _, r := range rs {
		out = append(out, ImportDefinition{ID: r.ObjectID, Key: r.CustomerKey, Name: r.Name})
	}
	return out, err
}

// ImportResult is one import run's outcome (SOAP ImportResultsSummary).
type ImportResult struct {
	DefinitionKey    string
	TaskResultID     int64
	Status           string // New, Processing, Completed, Error, IOWork, Unknown
	Type             string
	StartDate        time.Time
	EndDate          time.Time
	DestinationID    string
	NumberSuccessful int64
	NumberDuplicated int64
	NumberErrors     int64
	TotalRows        int64
}

// Failed reports an Error status or rejected rows.
func (r ImportResult) Failed() bool { return r.Status == "Error" || r.NumberErrors > 0 }

type soapImportResult struct {
	ImportDefinitionCustomerKey string  `xml:"ImportDefinitionCustomerKey"`
	TaskResultID                xmlInt  `xml:"TaskResultID"`
	ImportStatus                string  `xml:"ImportStatus"`
	ImportType                  string  `xml:"ImportType"`
	StartDate                   xmlTime `xml:"StartDate"`
	EndDate                     xmlTime `xml:"EndDate"`
	DestinationID               string  `xml:"DestinationID"`
	NumberSuccessful            xmlInt  `xml:"NumberSuccessful"`
	NumberDuplicated            xmlInt  `xml:"NumberDuplicated"`
	NumberErrors                xmlInt  `xml:"NumberErrors"`
	TotalRows                   xmlInt  `xml:"TotalRows"`
}

// ImportResults reads import run summaries for the given definition keys
// (IN filter on ImportDefinitionCustomerKey, 500 per call; all when empty).
// extra narrows further (e.g. After("StartDate", since)); it may be nil.
func (c *Client) ImportResults(ctx context.Context, keys []string, extra Filter) ([]ImportResult, error) {
	rs, err := retrieveIn[soapImportResult](ctx, c, RetrieveRequest{ObjectType: "ImportResultsSummary",
		Properties: []string{"ImportDefinitionCustomerKey", "TaskResultID", "ImportStatus", "ImportType", "StartDate", "EndDate",
			"DestinationID", "NumberSuccessful", "NumberDuplicated", "NumberErrors", "TotalRows"}},
		scopeAutomations, "ImportDefinitionCustomerKey", keys, extra)
	out := make([]ImportResult, 0, len(rs))
	for _, r := range rs {
		out = append(out, ImportResult{DefinitionKey: r.ImportDefinitionCustomerKey, TaskResultID: int64(r.TaskResultID),
			Status: r.ImportStatus, Type: r.ImportType, StartDate: r.StartDate.Time, EndDate: r.EndDate.Time,
			DestinationID: r.DestinationID, NumberSuccessful: int64(r.NumberSuccessful), NumberDuplicated: int64(r.NumberDuplicated),
			NumberErrors: int64(r.NumberErrors), TotalRows: int64(r.TotalRows)})
	}
	return out, err
}

// FileTransfer is a file transfer activity definition.
type FileTransfer struct {
	ID, Key, Name string
	ModifiedDate  time.Time
}

// FileTransfers lists file transfer activities.
func (c *Client) FileTransfers(ctx context.Context) ([]FileTransfer, error) {
	type item struct {
		ID           string   `json:"id"`
		CustomerKey  string   `json:"customerKey"`
		Name         string   `json:"name"`
		ModifiedDate jsonTime `json:"modifiedDate"`
	}
	var out []FileTransfer
	err := listItems(ctx, c, "/automation/v1/filetransfers", scopeAutomations, c.pageSize(500), nil, func(r item) {
		out = append(out, FileTransfer{ID: r.ID, Key: r.CustomerKey, Name: r.Name, ModifiedDate: r.ModifiedDate.Time})
	})
	return out, err
}

// FileLocation is a file transfer location (credentials are never kept).
type FileLocation struct {
	Key, Name, Type string
}

// FileLocations lists file transfer locations.
func (c *Client) FileLocations(ctx context.Context) ([]FileLocation, error) {
	type item struct {
		CustomerKey  string `json:"customerKey"`
		Name         string `json:"name"`
		LocationType string `json:"locationType"`
	}
	var out []FileLocation
	err := listItems(ctx, c, "/data/v1/filetransferlocations", "file_locations_read", c.pageSize(50), nil, func(r item) {
		out = append(out, FileLocation{Key: r.CustomerKey, Name: r.Name, Type: r.LocationType})
	})
	return out, err
}
