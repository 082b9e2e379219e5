package sfmc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

const scopeDE = "data_extensions_read"

// DataExtension is a DE definition.
type DataExtension struct {
	ObjectID     string
	Key          string
	Name         string
	CategoryID   string
	IsSendable   bool
	CreatedDate  time.Time
	ModifiedDate time.Time
	// RetainUntil and retention settings, when set.
	RetainUntil           time.Time
	RetentionPeriodLength int
	RetentionPeriodUnit   int
	RowBasedRetention     bool
	// RetentionPeriod is DataRetentionPeriod (Days, Weeks, Months, Years).
	RetentionPeriod        string
	ResetRetentionOnImport bool
	DeleteAtEndOfRetention bool
}

type soapDE struct {
	ObjectID                         string  `xml:"ObjectID"`
	CustomerKey                      string  `xml:"CustomerKey"`
	Name                             string  `xml:"Name"`
	CategoryID                       string  `xml:"CategoryID"`
	IsSendable                       xmlBool `xml:"IsSendable"`
	CreatedDate                      xmlTime `xml:"CreatedDate"`
	ModifiedDate                     xmlTime `xml:"ModifiedDate"`
	RetainUntil                      xmlTime `xml:"RetainUntil"`
	DataRetentionPeriodLength        xmlInt  `xml:"DataRetentionPeriodLength"`
	DataRetentionPeriodUnitOfMeasure xmlInt  `xml:"DataRetentionPeriodUnitOfMeasure"`
	RowBasedRetention                xmlBool `xml:"RowBasedRetention"`
	DataRetentionPeriod              string  `xml:"DataRetentionPeriod"`
	ResetRetentionPeriodOnImport     xmlBool `xml:"ResetRetentionPeriodOnImport"`
	DeleteAtEndOfRetentionPeriod     xmlBool `xml:"DeleteAtEndOfRetentionPeriod"`
}

// DataExtensions reads DE definitions (2,500 per page). nil f reads all.
func (c *Client) DataExtensions(ctx context.Context, f Filter) ([]DataExtension, error) {
	rs, err := retrieve[soapDE](ctx, c, RetrieveRequest{ObjectType: "DataExtension", Filter: f,
		Properties: []string{"ObjectID", "CustomerKey", "Name", "CategoryID", "IsSendable", "CreatedDate", "ModifiedDate",
			"RetainUntil", "DataRetentionPeriodLength", "DataRetentionPeriodUnitOfMeasure", "RowBasedRetention",
			"ResetRetentionPeriodOnImport", "DeleteAtEndOfRetentionPeriod"}}, scopeDE)
	out := make([]DataExtension, 0, len(rs))
	for _, r := range rs {
		out = append(out, DataExtension{ObjectID: r.ObjectID, Key: r.CustomerKey, Name: r.Name, CategoryID: r.CategoryID,
			IsSendable: bool(r.IsSendable), CreatedDate: r.CreatedDate.Time, ModifiedDate: r.ModifiedDate.Time,
			RetainUntil: r.RetainUntil.Time, RetentionPeriodLength: int(r.DataRetentionPeriodLength),
			RetentionPeriodUnit: int(r.DataRetentionPeriodUnitOfMeasure), RowBasedRetention: bool(r.RowBasedRetention),
			RetentionPeriod: r.DataRetentionPeriod, ResetRetentionOnImport: bool(r.ResetRetentionPeriodOnImport),
			DeleteAtEndOfRetention: bool(r.DeleteAtEndOfRetentionPeriod)})
	}
	return out, err
}

// Field is one DE column.
type Field struct {
	ObjectID     string
	DEKey        string
	Name         string
	Type         string // Text, Number, Date, Boolean, EmailAddress, Phone, Decimal, Locale, …
	MaxLength    int
	Scale        int
	IsRequired   bool
	IsPrimaryKey bool
	Ordinal      int
	DefaultValue string
}

type soapField struct {
	ObjectID      string  `xml:"ObjectID"`
	Name          string  `xml:"Name"`
	FieldType     string  `xml:"FieldType"`
	MaxLength     xmlInt  `xml:"MaxLength"`
	Scale         xmlInt  `xml:"Scale"`
	IsRequired    xmlBool `xml:"IsRequired"`
	IsPrimaryKey  xmlBool `xml:"IsPrimaryKey"`
	Ordinal       xmlInt  `xml:"Ordinal"`
	DefaultValue  string  `xml:"DefaultValue"`
	DataExtension struct {
		CustomerKey string `xml:"CustomerKey"`
	} `xml:"DataExtension"`
}

// DataExtensionFields reads the fields of the given DEs (IN filter on
// DataExtension.CustomerKey, 500 keys per call; all DEs when keys is
// empty), grouped by DE key and sorted by Ordinal.
func (c *Client) DataExtensionFields(ctx context.Context, keys ...string) (map[string][]Field, error) {
	rs, err := retrieveIn[soapField](ctx, c, RetrieveRequest{ObjectType: "DataExtensionField",
		Properties: []string{"ObjectID", "Name", "FieldType", "MaxLength", "Scale", "IsRequired", "IsPrimaryKey", "Ordinal",
			"DefaultValue", "DataExtension.CustomerKey"}}, scopeDE, "DataExtension.CustomerKey", keys, nil)
	out := map[string][]Field{}
	for _, r := range rs {
		k := r.DataExtension.CustomerKey
		out[k] = append(out[k], Field{ObjectID: r.ObjectID, DEKey: k, Name: r.Name, Type: r.FieldType, MaxLength: int(r.MaxLength),
			Scale: int(r.Scale), IsRequired: bool(r.IsRequired), IsPrimaryKey: bool(r.IsPrimaryKey), Ordinal: int(r.Ordinal),
			DefaultValue: r.DefaultValue})
	}
	for k := range out {
		fs := out[k]
		sort.SliceStable(fs, func(i, j int) bool { return fs[i].Ordinal < fs[j].Ordinal })
	}
	return out, err
}

// SchemaHash fingerprints a DE schema for drift detection: the ordered
// (Name, Type, MaxLength, Scale, IsRequired, IsPrimaryKey) list.
func SchemaHash(fields []Field) string {
	fs := append([]Field(nil), fields...)
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Ordinal != fs[j].Ordinal {
			return fs[i].Ordinal < fs[j].Ordinal
		}
		return strings.ToLower(fs[i].Name) < strings.ToLower(fs[j].Name)
	})
	h := sha256.New()
	for _, f := range fs {
		fmt.Fprintf(h, "%s\x1f%s\x1f%d\x1f%d\x1f%t\x1f%t\x1e", strings.ToLower(f.Name), f.Type, f.MaxLength, f.Scale, f.IsRequired, f.IsPrimaryKey)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// RowCount reads a DE's row count (one REST call: rowset page of 1).
func (c *Client) RowCount(ctx context.Context, key string) (int64, error) {
	var r struct {
		Count int64 `json:"count"`
	}
	if _, err := c.getJSON(ctx, "/data/v1/customobjectdata/key/{key}/rowset", scopeDE,
		"/data/v1/customobjectdata/key/"+pathEscape(key)+"/rowset", url.Values{"$page": {"1"}, "$pageSize": {"1"}}, &r); err != nil {
		return 0, err
	}
	return r.Count, nil
}

// RowCounts reads row counts for keys in order, spending at most budget
// calls (SFMC has no bulk row count: one call per DE). Order keys by tier —
// critical DEs first — and rotate the rest across rounds. Calls are
// Optional for the daily budget unless ctx says otherwise.
func (c *Client) RowCounts(ctx context.Context, keys []string, budget int) (Budgeted[int64], error) {
	if _, ok := ctx.Value(priorityKey{}).(Priority); !ok {
		ctx = WithPriority(ctx, Optional)
	}
	return budgeted(ctx, keys, budget, c.RowCount)
}

// AsyncStatus is the state of an asynchronous DE write.
type AsyncStatus struct {
	RequestID      string
	RequestStatus  string // Pending, Complete, Error
	ResultStatus   string
	HasErrors      bool
	CallTime       time.Time
	PickupTime     time.Time
	CompletionTime time.Time
}

// AsyncStatus reads /data/v1/async/{requestId}/status. An unknown id is an
// APIError of kind body_error with code AsyncRequestStatusNotFound.
func (c *Client) AsyncStatus(ctx context.Context, requestID string) (AsyncStatus, error) {
	var r struct {
		Status struct {
			RequestID          string   `json:"requestId"`
			RequestStatus      string   `json:"requestStatus"`
			ResultStatus       string   `json:"resultStatus"`
			HasErrors          bool     `json:"hasErrors"`
			CallDateTime       jsonTime `json:"callDateTime"`
			PickupDateTime     jsonTime `json:"pickupDateTime"`
			CompletionDateTime jsonTime `json:"completionDateTime"`
		} `json:"status"`
	}
	if _, err := c.getJSON(ctx, "/data/v1/async/{requestId}/status", scopeDE,
		"/data/v1/async/"+pathEscape(requestID)+"/status", nil, &r); err != nil {
		return AsyncStatus{}, err
	}
	s := r.Status
	return AsyncStatus{RequestID: requestID, RequestStatus: s.RequestStatus, ResultStatus: s.ResultStatus, HasErrors: s.HasErrors,
		CallTime: s.CallDateTime.Time, PickupTime: s.PickupDateTime.Time, CompletionTime: s.CompletionDateTime.Time}, nil
}
