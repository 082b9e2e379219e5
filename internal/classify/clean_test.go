package classify

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// cleanURLs are the calls Clean is checked against: reads, writes, SOAP,
// transactional and OAuth, so URL-dependent parsing (record states on
// reads) is covered.
var cleanURLs = []struct{ method, url string }{
	{"GET", "https://x.rest.marketingcloudapis.com/automation/v1/automations?$page=1"},
	{"POST", "https://x.rest.marketingcloudapis.com/messaging/v1/email/messages/"},
	{"POST", "https://x.soap.marketingcloudapis.com/Service.asmx"},
	{"POST", "https://x.rest.marketingcloudapis.com/messaging/v1/messageDefinitionSends/key:welcome/send"},
	{"GET", "https://x.rest.marketingcloudapis.com/interaction/v1/interactions"},
	{"", ""},
}

// checkClean fails when Clean claims a call is a plain success that
// Classify reads otherwise.
func checkClean(t *testing.T, c *Classifier, status int, body []byte) bool {
	t.Helper()
	cl, ok := c.Clean(status, body)
	if !ok {
		return false
	}
	for _, u := range cleanURLs {
		r := c.Classify(Input{URL: u.url, Method: u.method, Status: status, Body: body})
		if r.IsError || len(r.RecordStates) > 0 || len(r.Classifications) != 1 || !reflect.DeepEqual(r.Classifications[0], cl) {
			t.Fatalf("status %d %s %s body %.200q: Clean says %+v, Classify says %+v", status, u.method, u.url, body, cl, r)
		}
	}
	return true
}

// TestCleanNeverHidesA2xxError: the scan's fast path (Clean) must let every
// failure SFMC reports inside a 2xx through to the full classifier.
func TestCleanNeverHidesA2xxError(t *testing.T) {
	c := New(catalog.Default())
	errs := []struct{ name, body string }{
		// SOAP: "OverallStatus is Error when at least one result failed"
		// (Retrieve/Create responses, help.salesforce.com SOAP API reference).
		{"soap overall error", `<soap:Envelope><soap:Body><CreateResponse><Results><StatusCode>Error</StatusCode><StatusMessage>Invalid</StatusMessage><ErrorCode>180008</ErrorCode></Results><OverallStatus>Error</OverallStatus></CreateResponse></soap:Body></soap:Envelope>`},
		{"soap has errors", `<soap:Envelope><soap:Body><RetrieveResponseMsg><OverallStatus>Has Errors</OverallStatus></RetrieveResponseMsg></soap:Body></soap:Envelope>`},
		{"soap more data", `<soap:Envelope><soap:Body><RetrieveResponseMsg><OverallStatus>MoreDataAvailable</OverallStatus></RetrieveResponseMsg></soap:Body></soap:Envelope>`},
		{"soap fault in 200", `<soap:Envelope><soap:Body><soap:Fault><faultcode>soap:Client</faultcode></soap:Fault></soap:Body></soap:Envelope>`},
		// Transactional messaging: 202 with hasErrors/errorcode per recipient.
		{"transactional hasErrors", `{"requestId":"r","responses":[{"messageKey":"a","hasErrors":true,"messages":["Unable to queue"]}]}`},
		{"transactional errorcode", `{"requestId":"r","errorcode":109001,"message":"MCMS_UTM_ResponsesHasErrors","responses":[{"messageKey":"a","errorcode":109106}]}`},
		{"rest 200 errorcode", `{"message":"Unable to save rows","errorcode":10006}`},
		{"async status error", `{"status":{"requestStatus":"Error","resultStatus":"Error","hasErrors":true}}`},
		{"journey warnings", `{"id":"j","warnings":[{"message":"activity"}]}`},
		{"html in 200", `<html><head><title>Service Unavailable</title></head></html>`},
		{"text in 200", `upstream connect error`},
	}
	for _, e := range errs {
		for _, st := range []int{200, 201, 202, 204} {
			if checkClean(t, c, st, []byte(e.body)) {
				t.Errorf("%s (status %d): Clean took the fast path", e.name, st)
			}
		}
	}
	// It does take it for the common clean bodies, or it speeds nothing up.
	for _, body := range []string{``, `{}`, `{"requestId":"r","errorcode":0,"responses":[{"messageKey":"a"}]}`,
		`<soap:Envelope><soap:Body><RetrieveResponseMsg><OverallStatus>OK</OverallStatus></RetrieveResponseMsg></soap:Body></soap:Envelope>`} {
		if !checkClean(t, c, 200, []byte(body)) {
			t.Errorf("%q: no fast path for a clean 200", body)
		}
	}
	// And it agrees with Classify on every 2xx body of the test data.
	names, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []int{200, 202} {
			checkClean(t, c, st, b)
		}
	}
	// Outside 200–204 there is no fast path.
	for _, st := range []int{0, 199, 205, 206, 304, 400, 500} {
		if _, ok := c.Clean(st, []byte(`{}`)); ok {
			t.Errorf("status %d: Clean took the fast path", st)
		}
	}
}

// FuzzClean: on any body, Clean's fast path agrees with Classify.
func FuzzClean(f *testing.F) {
	seedFuzz(f, func(b []byte) { f.Add(200, b) }, "*.json", "*.xml", "*.html")
	c := New(catalog.Default())
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		checkClean(t, c, 200+((status%5)+5)%5, body)
	})
}
