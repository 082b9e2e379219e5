package sfmc

import (
	"context"
	"strconv"
	"time"
)

// SendJob is one email send job (SOAP Send object): a user-initiated or
// automation-started send of one email to its audience, with its delivery
// counters. Field names are the WSDL's (complexType Send in
// etframework.wsdl): SendDate, SentDate, EmailName, Status, NumberTargeted,
// NumberSent, NumberDelivered, NumberErrored, NumberExcluded, HardBounces,
// SoftBounces, OtherBounces, Unsubscribes and EmailSendDefinition.
type SendJob struct {
	ID        int64
	EmailID   string
	EmailName string
	// DefinitionKey is the EmailSendDefinition's CustomerKey (the
	// user-initiated send definition or the automation's send activity);
	// empty for sends without one.
	DefinitionKey string
	SendDate      time.Time
	SentDate      time.Time
	// Status is SFMC's send status text ("Complete" when finished; the
	// other values are not enumerated by the WSDL).
	Status         string
	Targeted       int64
	Sent           int64
	Delivered      int64
	Errored        int64
	Excluded       int64
	HardBounces    int64
	SoftBounces    int64
	OtherBounces   int64
	Unsubscribes   int64
	ExistingUnsubs int64
}

// Bounces returns hard + soft + other bounces.
func (j SendJob) Bounces() int64 { return j.HardBounces + j.SoftBounces + j.OtherBounces }

type soapSend struct {
	ID    xmlInt `xml:"ID"`
	Email struct {
		ID string `xml:"ID"`
	} `xml:"Email"`
	EmailName           string  `xml:"EmailName"`
	SendDate            xmlTime `xml:"SendDate"`
	SentDate            xmlTime `xml:"SentDate"`
	Status              string  `xml:"Status"`
	NumberTargeted      xmlInt  `xml:"NumberTargeted"`
	NumberSent          xmlInt  `xml:"NumberSent"`
	NumberDelivered     xmlInt  `xml:"NumberDelivered"`
	NumberErrored       xmlInt  `xml:"NumberErrored"`
	NumberExcluded      xmlInt  `xml:"NumberExcluded"`
	HardBounces         xmlInt  `xml:"HardBounces"`
	SoftBounces         xmlInt  `xml:"SoftBounces"`
	OtherBounces        xmlInt  `xml:"OtherBounces"`
	Unsubscribes        xmlInt  `xml:"Unsubscribes"`
	ExistingUnsubscribe xmlInt  `xml:"ExistingUnsubscribes"`
	EmailSendDefinition struct {
		CustomerKey string `xml:"CustomerKey"`
	} `xml:"EmailSendDefinition"`
}

// SendProperties are the Send properties Sends reads.
var SendProperties = []string{"ID", "Email.ID", "EmailName", "SendDate", "SentDate", "Status",
	"NumberTargeted", "NumberSent", "NumberDelivered", "NumberErrored", "NumberExcluded",
	"HardBounces", "SoftBounces", "OtherBounces", "Unsubscribes", "ExistingUnsubscribes",
	"EmailSendDefinition.CustomerKey"}

// Sends reads the send jobs whose SendDate is after since, in bulk (SOAP
// Retrieve of Send with a SendDate greaterThan filter, 2,500 a page,
// ContinueRequest paging).
func (c *Client) Sends(ctx context.Context, since time.Time) ([]SendJob, error) {
	rs, err := retrieve[soapSend](ctx, c, RetrieveRequest{ObjectType: "Send", Properties: SendProperties,
		Filter: After("SendDate", since)}, scopeEmail)
	out := make([]SendJob, 0, len(rs))
	for _, r := range rs {
		out = append(out, SendJob{ID: int64(r.ID), EmailID: r.Email.ID, EmailName: r.EmailName,
			DefinitionKey: r.EmailSendDefinition.CustomerKey, SendDate: r.SendDate.Time, SentDate: r.SentDate.Time,
			Status: r.Status, Targeted: int64(r.NumberTargeted), Sent: int64(r.NumberSent), Delivered: int64(r.NumberDelivered),
			Errored: int64(r.NumberErrored), Excluded: int64(r.NumberExcluded), HardBounces: int64(r.HardBounces),
			SoftBounces: int64(r.SoftBounces), OtherBounces: int64(r.OtherBounces), Unsubscribes: int64(r.Unsubscribes),
			ExistingUnsubs: int64(r.ExistingUnsubscribe)})
	}
	return out, err
}

// SendGroupKey is the key send jobs are grouped by for their baseline: the
// EmailSendDefinition's key, else the email's id, else its name.
func SendGroupKey(j SendJob) string {
	switch {
	case j.DefinitionKey != "":
		return j.DefinitionKey
	case j.EmailID != "" && j.EmailID != "0":
		return "email:" + j.EmailID
	case j.EmailName != "":
		return "email:" + j.EmailName
	}
	return "send:" + strconv.FormatInt(j.ID, 10)
}
