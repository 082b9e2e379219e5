package sfmc

import (
	"context"
	"time"
)

// TriggeredSendStatus is TriggeredSendStatusEnum: New, Inactive, Active,
// Canceled, Deleted, Moved.
type TriggeredSendStatus string

// Triggered send statuses.
const (
	TSNew      TriggeredSendStatus = "New"
	TSInactive TriggeredSendStatus = "Inactive"
	TSActive   TriggeredSendStatus = "Active"
	TSCanceled TriggeredSendStatus = "Canceled"
	TSDeleted  TriggeredSendStatus = "Deleted"
	TSMoved    TriggeredSendStatus = "Moved"
)

const scopeEmail = "email_read"

// TriggeredSend is a classic triggered send definition.
type TriggeredSend struct {
	ObjectID              string
	Key                   string
	Name                  string
	Description           string
	Status                TriggeredSendStatus
	Type                  string
	CreatedDate           time.Time
	ModifiedDate          time.Time
	CategoryID            string
	EmailID               string
	SendClassificationKey string
	SenderProfileKey      string
}

type soapTSD struct {
	ObjectID            string  `xml:"ObjectID"`
	CustomerKey         string  `xml:"CustomerKey"`
	Name                string  `xml:"Name"`
	Description         string  `xml:"Description"`
	TriggeredSendStatus string  `xml:"TriggeredSendStatus"`
	TriggeredSendType   string  `xml:"TriggeredSendType"`
	CreatedDate         xmlTime `xml:"CreatedDate"`
	ModifiedDate        xmlTime `xml:"ModifiedDate"`
	CategoryID          string  `xml:"CategoryID"`
	Email               struct {
		ID string `xml:"ID"`
	} `xml:"Email"`
	SendClassification struct {
		CustomerKey string `xml:"CustomerKey"`
	} `xml:"SendClassification"`
	SenderProfile struct {
		CustomerKey string `xml:"CustomerKey"`
	} `xml:"SenderProfile"`
}

// DefaultTriggeredSendFilter reads every status except Deleted (what a
// monitor cares about).
func DefaultTriggeredSendFilter() Filter {
	return In("TriggeredSendStatus", "New", "Active", "Inactive", "Moved", "Canceled")
}

// TriggeredSends reads triggered send definitions in bulk (SOAP Retrieve,
// 2,500 per page). nil f uses DefaultTriggeredSendFilter.
func (c *Client) TriggeredSends(ctx context.Context, f Filter) ([]TriggeredSend, error) {
	if f == nil {
		f = DefaultTriggeredSendFilter()
	}
	rs, err := retrieve[soapTSD](ctx, c, RetrieveRequest{ObjectType: "TriggeredSendDefinition", Filter: f,
		Properties: []string{"ObjectID", "CustomerKey", "Name", "Description", "TriggeredSendStatus", "TriggeredSendType",
			"CreatedDate", "ModifiedDate", "CategoryID", "Email.ID", "SendClassification.CustomerKey", "SenderProfile.CustomerKey"}},
		scopeEmail)
	out := make([]TriggeredSend, 0, len(rs))
	for _, r := range rs {
		out = append(out, TriggeredSend{ObjectID: r.ObjectID, Key: r.CustomerKey, Name: r.Name, Description: r.Description,
			Status: TriggeredSendStatus(r.TriggeredSendStatus), Type: r.TriggeredSendType, CreatedDate: r.CreatedDate.Time,
			ModifiedDate: r.ModifiedDate.Time, CategoryID: r.CategoryID, EmailID: r.Email.ID,
			SendClassificationKey: r.SendClassification.CustomerKey, SenderProfileKey: r.SenderProfile.CustomerKey})
	}
	return out, err
}

// TriggeredSendSummary holds a triggered send's cumulative counters; diff
// successive polls (rising NotSentDueToError, growing Queued, flat Sent).
type TriggeredSendSummary struct {
	Key                       string
	ObjectID                  string
	Sent                      int64
	NotSentDueToError         int64
	NotSentDueToOptOut        int64
	NotSentDueToUndeliverable int64
	Queued                    int64
	InProcess                 int64
	Bounces                   int64
	Opens                     int64
	Clicks                    int64
	UniqueOpens               int64
	UniqueClicks              int64
	OptOuts                   int64
	Conversions               int64
}

type soapTSS struct {
	ObjectID                  string `xml:"ObjectID"`
	CustomerKey               string `xml:"CustomerKey"`
	Sent                      xmlInt `xml:"Sent"`
	NotSentDueToError         xmlInt `xml:"NotSentDueToError"`
	NotSentDueToOptOut        xmlInt `xml:"NotSentDueToOptOut"`
	NotSentDueToUndeliverable xmlInt `xml:"NotSentDueToUndeliverable"`
	Queued                    xmlInt `xml:"Queued"`
	InProcess                 xmlInt `xml:"InProcess"`
	Bounces                   xmlInt `xml:"Bounces"`
	Opens                     xmlInt `xml:"Opens"`
	Clicks                    xmlInt `xml:"Clicks"`
	UniqueOpens               xmlInt `xml:"UniqueOpens"`
	UniqueClicks              xmlInt `xml:"UniqueClicks"`
	OptOuts                   xmlInt `xml:"OptOuts"`
	Conversions               xmlInt `xml:"Conversions"`
}

// TriggeredSendSummaries reads counters for the given definition keys (IN
// filter, 500 keys per call) or for all definitions when keys is empty.
func (c *Client) TriggeredSendSummaries(ctx context.Context, keys ...string) ([]TriggeredSendSummary, error) {
	rs, err := retrieveIn[soapTSS](ctx, c, RetrieveRequest{ObjectType: "TriggeredSendSummary",
		Properties: []string{"CustomerKey", "ObjectID", "Sent", "NotSentDueToError", "NotSentDueToOptOut", "NotSentDueToUndeliverable",
			"Queued", "InProcess", "Bounces", "Opens", "Clicks", "UniqueOpens", "UniqueClicks", "OptOuts", "Conversions"}},
		scopeEmail, "CustomerKey", keys, nil)
	out := make([]TriggeredSendSummary, 0, len(rs))
	for _, r := range rs {
		out = append(out, TriggeredSendSummary{Key: r.CustomerKey, ObjectID: r.ObjectID, Sent: int64(r.Sent),
			NotSentDueToError: int64(r.NotSentDueToError), NotSentDueToOptOut: int64(r.NotSentDueToOptOut),
			NotSentDueToUndeliverable: int64(r.NotSentDueToUndeliverable), Queued: int64(r.Queued), InProcess: int64(r.InProcess),
			Bounces: int64(r.Bounces), Opens: int64(r.Opens), Clicks: int64(r.Clicks), UniqueOpens: int64(r.UniqueOpens),
			UniqueClicks: int64(r.UniqueClicks), OptOuts: int64(r.OptOuts), Conversions: int64(r.Conversions)})
	}
	return out, err
}

// DeliveryRecord is the status of one REST triggered-send recipient.
type DeliveryRecord struct {
	ID           string
	MessageID    string
	Status       string // Queued, Sent, Error
	DeliveryTime time.Time
	Errors       []string
}

// DeliveryRecord reads a messageDefinitionSends delivery record (needs the
// recipientSendId the sending integration received).
func (c *Client) DeliveryRecord(ctx context.Context, definitionKey, recipientSendID string) (DeliveryRecord, error) {
	var r struct {
		ID            string   `json:"id"`
		MessageID     string   `json:"messageId"`
		Status        string   `json:"status"`
		DeliveryTime  jsonTime `json:"deliveryTime"`
		MessageErrors []struct {
			MessageErrorStatus string `json:"messageErrorStatus"`
		} `json:"messageErrors"`
	}
	if _, err := c.getFeed(ctx, "/messaging/v1/messageDefinitionSends/key:{key}/deliveryRecords/{id}", scopeEmail,
		"/messaging/v1/messageDefinitionSends/key:"+pathEscape(definitionKey)+"/deliveryRecords/"+pathEscape(recipientSendID), nil, &r); err != nil {
		return DeliveryRecord{}, err
	}
	d := DeliveryRecord{ID: r.ID, MessageID: r.MessageID, Status: r.Status, DeliveryTime: r.DeliveryTime.Time}
	for _, e := range r.MessageErrors {
		d.Errors = append(d.Errors, e.MessageErrorStatus)
	}
	return d, nil
}
