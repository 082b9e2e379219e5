package sfmc

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The Send object's properties are the WSDL's (etframework.wsdl,
// complexType Send: SendDate, SentDate, EmailName, Status, NumberTargeted,
// NumberSent, NumberDelivered, NumberErrored, NumberExcluded, HardBounces,
// SoftBounces, OtherBounces, Unsubscribes, ExistingUnsubscribes,
// EmailSendDefinition); the developer guide's "Retrieve the Scheduled Send
// Time and Status of a Send" retrieves ObjectType Send with ID, Email.ID,
// SendDate, HardBounces, SoftBounces, OtherBounces, NumberSent, … .
const sendResult = `<Results><PartnerKey xsi:nil="true" /><ID>2216</ID><ObjectID xsi:nil="true" />` +
	`<Email><PartnerKey xsi:nil="true" /><ID>3113</ID><ObjectID xsi:nil="true" /></Email>` +
	`<SendDate>2026-11-02T01:01:00</SendDate><SentDate>2026-11-02T01:11:30</SentDate>` +
	`<HardBounces>12</HardBounces><SoftBounces>30</SoftBounces><OtherBounces>3</OtherBounces>` +
	`<UniqueOpens>400</UniqueOpens><NumberSent>4500</NumberSent><NumberDelivered>4455</NumberDelivered>` +
	`<Unsubscribes>7</Unsubscribes><ExistingUnsubscribes>20</ExistingUnsubscribes><EmailName>Weekly Newsletter</EmailName>` +
	`<Status>Complete</Status><NumberTargeted>4600</NumberTargeted><NumberErrored>0</NumberErrored><NumberExcluded>100</NumberExcluded>` +
	`<EmailSendDefinition><PartnerKey xsi:nil="true" /><ObjectID>5d7a</ObjectID><CustomerKey>ESD_Newsletter</CustomerKey></EmailSendDefinition></Results>` +
	`<Results><ID>2217</ID><Email><ID>3114</ID></Email><SendDate>2026-11-02T02:00:00</SendDate><EmailName>Adhoc</EmailName>` +
	`<Status>Sending</Status><NumberSent></NumberSent></Results>`

func TestSendsRetrieve(t *testing.T) {
	env := newEnv(t, false, nil)
	var body string
	env.f.setAPI(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		writeXML(w, 200, soapOK("Send", sendResult))
	})
	since := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	jobs, err := env.c.Sends(t.Context(), since)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<ObjectType>Send</ObjectType>", "<Property>SendDate</Property>", "<SimpleOperator>greaterThan</SimpleOperator>",
		"<DateValue>2026-10-01T00:00:00Z</DateValue>", "<Properties>EmailSendDefinition.CustomerKey</Properties>", "<Properties>NumberSent</Properties>"} {
		if !strings.Contains(body, want) {
			t.Errorf("request misses %s:\n%s", want, body)
		}
	}
	if len(jobs) != 2 {
		t.Fatalf("jobs %+v", jobs)
	}
	j := jobs[0]
	if j.ID != 2216 || j.EmailID != "3113" || j.DefinitionKey != "ESD_Newsletter" || j.Status != "Complete" || j.Sent != 4500 ||
		j.Targeted != 4600 || j.Excluded != 100 || j.Bounces() != 45 || j.HardBounces != 12 || j.Unsubscribes != 7 || j.Delivered != 4455 {
		t.Errorf("job %+v", j)
	}
	if j.SendDate.IsZero() || !j.SentDate.After(j.SendDate) {
		t.Errorf("dates %v %v", j.SendDate, j.SentDate)
	}
	if SendGroupKey(j) != "ESD_Newsletter" || SendGroupKey(jobs[1]) != "email:3114" {
		t.Errorf("group keys %q %q", SendGroupKey(j), SendGroupKey(jobs[1]))
	}
	if jobs[1].Sent != 0 {
		t.Errorf("empty NumberSent read as %d", jobs[1].Sent)
	}
}

// A Retrieve judged OK from its head but cut short in its Results fails
// the call as a decode error: the head alone never passes a broken body.
func TestSendsRetrieveCutShort(t *testing.T) {
	env := newEnv(t, false, nil)
	full := soapOK("Send", sendResult)
	env.f.setAPI(func(w http.ResponseWriter, r *http.Request) {
		writeXML(w, 200, full[:strings.Index(full, "<HardBounces>")])
	})
	_, err := env.c.Sends(t.Context(), time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Kind != KindDecode {
		t.Fatalf("err = %v, want a decode error", err)
	}
}

// BenchmarkSendsPage: one full page (2,500 send jobs, SFMC's Retrieve page
// size) read through the client: judged, classified and decoded.
func BenchmarkSendsPage(b *testing.B) {
	env := newEnv(b, false, nil)
	one := sendResult[:strings.Index(sendResult, "</Results>")+len("</Results>")]
	page := soapOK("Send", strings.Repeat(one, 2500))
	env.f.setAPI(func(w http.ResponseWriter, r *http.Request) { writeXML(w, 200, page) })
	since := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		if jobs, err := env.c.Sends(b.Context(), since); err != nil || len(jobs) != 2500 {
			b.Fatal(len(jobs), err)
		}
	}
}
