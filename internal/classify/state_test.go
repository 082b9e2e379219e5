package classify

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/sharedfixtures"
)

// The shapes below follow documented or recorded SFMC responses:
//   - automation records: GET /automation/v1/automations/{id} carries
//     statusId and status (shared fixtures/sfmc/automation/
//     rest-automation-paused.json: statusId 4 "PausedSchedule"); the status
//     ids, -1 = Error, are in shared research/error-codes.md ("Automation
//     Status int (-1 Error, 0 BuildingError, …)") and research/detection.md
//     row 1 (list status=Error, statusId −1).
//   - journeys: GET /interaction/v1/interactions/… records have a status
//     (fixtures/sfmc/journey/interaction-paused.json "Paused",
//     interactions-list-with-stopped.json "Stopped").
//   - transactional definitions: GET /messaging/v1/email/definitions/{key}
//     with status (fixtures/sfmc/triggeredsend/transactional-definition.json
//     "Active"); the not-sent feed GET /messaging/v1/email/messages/
//     ?type=notSent with messages[].statusCode
//     (triggeredsend/transactional-messages-notsent-list.json, doc
//     https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/getMessagesNotSent.htm).
//   - ImportResultsSummary (ImportStatus, NumberErrors…) is the WSDL type in
//     fixtures/sfmc/wsdl/etframework.wsdl.
// The testdata read-*.json and soap-retrieve-importresults-error.xml files
// are our own small bodies in those shapes.

// TestRecordStateIsNotCallStatus: a read that succeeded and returned a
// record in a failed state is not a failed call.
func TestRecordStateIsNotCallStatus(t *testing.T) {
	c := csvClassifier(t)
	type state struct {
		field, code string
		surface     catalog.Surface
		count       int
		failed      bool
	}
	cases := []struct {
		name   string
		in     Input
		file   string
		states []state // nil: no record state expected
	}{
		{name: "GET automation status Error", file: "read-automation-error.json",
			in:     Input{Method: "GET", Status: 200, URL: "https://x.rest.marketingcloudapis.com/automation/v1/automations/5d1d8f0e-0000-4000-8000-000000000001"},
			states: []state{{field: "status", code: "-1", surface: catalog.Automation, count: 1, failed: true}}},
		{name: "automation read, method unknown (log line without method)", file: "read-automation-error.json",
			in:     Input{Status: 200, URL: "/automation/v1/automations/5d1d8f0e-0000-4000-8000-000000000001"},
			states: []state{{field: "status", code: "-1", surface: catalog.Automation, count: 1, failed: true}}},
		{name: "GET automations list with two in Error", file: "read-automations-list-errors.json",
			in:     Input{Method: "get", Status: 200, URL: "/automation/v1/automations?$page=1"},
			states: []state{{field: "items[].status", code: "status:Error", surface: catalog.Automation, count: 2, failed: true}}},
		{name: "GET journey status Error", file: "read-journey-status-error.json",
			in:     Input{Method: "GET", Status: 200, URL: "/interaction/v1/interactions/key:welcome_journey"},
			states: []state{{field: "status", code: "status:Error", surface: catalog.Journey, count: 1, failed: true}}},
		{name: "GET journey Stopped", file: "read-journey-stopped.json",
			in: Input{Method: "GET", Status: 200, URL: "/interaction/v1/interactions/8f1e0c55-0000-4000-8000-000000000003"}},
		{name: "GET triggered send definition status Error", file: "read-definitionsend-error.json",
			in:     Input{Method: "GET", Status: 200, URL: "/messaging/v1/messageDefinitionSends/key:order_confirmation"},
			states: []state{{field: "status", code: "status:Error", surface: catalog.TriggeredSend, count: 1, failed: true}}},
		{name: "GET transactional definition Inactive", file: "read-transactional-definition-inactive.json",
			in: Input{Method: "GET", Status: 200, URL: "/messaging/v1/email/definitions/password_reset"}},
		{name: "GET transactional definition status Error", file: "read-transactional-definition-error.json",
			in:     Input{Method: "GET", Status: 200, URL: "/messaging/v1/email/definitions/password_reset"},
			states: []state{{field: "status", code: "status:Error", surface: catalog.Transactional, count: 1, failed: true}}},
		{name: "GET not-sent feed with system-caused codes", file: "read-notsent-system.json",
			in: Input{Method: "GET", Status: 200, URL: "/messaging/v1/email/messages/?type=notSent&$pagesize=100&lastEventId=40999"},
			states: []state{
				{field: "messages[].statusCode", code: "4", surface: catalog.Transactional, count: 2, failed: true},
				{field: "messages[].statusCode", code: "24", surface: catalog.Transactional, count: 1, failed: false},
			}},
		{name: "not-sent feed, method unknown", file: "read-notsent-system.json",
			in: Input{Status: 200, URL: "/messaging/v1/email/messages/?type=notSent&lastEventId=40999"},
			states: []state{
				{field: "messages[].statusCode", code: "4", surface: catalog.Transactional, count: 2, failed: true},
				{field: "messages[].statusCode", code: "24", surface: catalog.Transactional, count: 1, failed: false},
			}},
		{name: "SOAP Retrieve ImportResultsSummary ImportStatus Error", file: "soap-retrieve-importresults-error.xml",
			in:     Input{Method: "POST", Status: 200, URL: "https://x.soap.marketingcloudapis.com/Service.asmx"},
			states: []state{{field: "ImportStatus", code: "ImportStatus:Error", surface: catalog.Import, count: 1, failed: true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Body = testdata(t, tc.file)
			r := c.Classify(in)
			checkInvariants(t, r)
			if r.IsError {
				t.Fatalf("IsError = true for a successful read: %+v", r.Classifications)
			}
			if p := r.Primary(); p.Family != catalog.None || p.Code != "200" {
				t.Errorf("primary = %s %s, want the 200 success", p.Family, p.Code)
			}
			if len(r.RecordStates) != len(tc.states) {
				t.Fatalf("record states = %+v, want %d", r.RecordStates, len(tc.states))
			}
			for i, w := range tc.states {
				g := r.RecordStates[i]
				if g.Field != w.field || g.Code != w.code || g.Surface != w.surface || g.Count != w.count || g.Failed != w.failed {
					t.Errorf("state %d = {%s %s %s count %d failed %v}, want %+v", i, g.Field, g.Code, g.Surface, g.Count, g.Failed, w)
				}
				if g.Title == "" || g.Owner == "" || !g.Family.Valid() {
					t.Errorf("state %d not resolved: %+v", i, g)
				}
			}
			if r.RecordFailed() != (len(tc.states) > 0 && anyFailed(tc.states, func(s state) bool { return s.failed })) {
				t.Errorf("RecordFailed = %v", r.RecordFailed())
			}
		})
	}
}

func anyFailed[T any](xs []T, f func(T) bool) bool {
	for _, x := range xs {
		if f(x) {
			return true
		}
	}
	return false
}

// TestOperationOutcomesStayErrors: the caller's own request failing — a
// write whose body reports failure, or a GET of the status of an operation
// the caller started — is still a failed call, whatever the method says.
func TestOperationOutcomesStayErrors(t *testing.T) {
	c := csvClassifier(t)
	cases := []struct {
		name   string
		in     Input
		file   string
		body   string
		isErr  bool
		family catalog.Family
		code   string // a code that must be among the classifications
	}{
		// Shape: triggeredsend/transactional-send-mixed-errors.json (doc sendMessageMultipleRecipients.htm).
		{name: "transactional send 202 with 109001", file: "transactional-202-batch.json",
			in: Input{Method: "POST", Status: 202, URL: "/messaging/v1/email/messages/"}, isErr: true, family: catalog.Client, code: "109106"},
		// Doc messageDefinitionSends.htm: errors inside the 202.
		{name: "messageDefinitionSends 202 hasErrors", file: "definitionsend-202-errors.json",
			in: Input{Method: "POST", Status: 202, URL: "/messaging/v1/messageDefinitionSends/key:x/send"}, isErr: true, family: catalog.Client, code: "180008"},
		// Shape: dataextension/async-insert-object-not-found.json (doc insertDataExtensionIDAsync.htm).
		{name: "async insert resultMessages Error", body: `{"requestId":"r1","resultMessages":[{"resultType":"Operational","resultClass":"Error","resultCode":"CustomObjectNotFound","message":"Data extension not found"}]}`,
			in: Input{Method: "POST", Status: 200, URL: "/data/v1/async/dataextensions/key:x/rows"}, isErr: true, family: catalog.Client, code: "CustomObjectNotFound"},
		// Shape: dataextension/async-status-not-found.json: a GET that failed to find the request.
		{name: "GET async status resultMessages Error", body: `{"requestId":"r1","resultMessages":[{"resultType":"Operational","resultClass":"Error","resultCode":"AsyncRequestStatusNotFound","message":"not found"}]}`,
			in: Input{Method: "GET", Status: 200, URL: "/data/v1/async/r1/status"}, isErr: true, family: catalog.Client, code: "AsyncRequestStatusNotFound"},
		{name: "GET async status of the caller's job in Error", file: "async-status-error.json",
			in: Input{Method: "GET", Status: 200, URL: "/data/v1/async/x/status"}, isErr: true, family: catalog.Server, code: "requestStatus:Error"},
		{name: "GET publishStatus of the caller's publish in Error", file: "journey-publish-error.json",
			in: Input{Method: "GET", Status: 200, URL: "/interaction/v1/interactions/publishStatus/45f06c0a"}, isErr: true, family: catalog.Client, code: "publishStatus:Error"},
		{name: "SOAP Retrieve OverallStatus Error", file: "soap-retrieve-error.xml",
			in: Input{Method: "POST", Status: 200, URL: "/Service.asmx"}, isErr: true, family: catalog.Client, code: "OverallStatus:Error"},
		// errors/soap-create-error-12014.xml shape: a write's result failed.
		{name: "SOAP Create StatusCode Error", body: `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><CreateResponse xmlns="http://exacttarget.com/wsdl/partnerAPI"><Results><StatusCode>Error</StatusCode><StatusMessage>The subscriber is already on the list</StatusMessage><OrdinalID>0</OrdinalID><ErrorCode>12014</ErrorCode></Results><OverallStatus>Error</OverallStatus></CreateResponse></soap:Body></soap:Envelope>`,
			in: Input{Method: "POST", Status: 200, URL: "/Service.asmx"}, isErr: true, family: catalog.Client, code: "12014"},
		{name: "GET one transactional message NotSent (the caller's send)", body: `{"requestId":"q","eventCategoryType":"TransactionalSendEvents.EmailNotSent","timestamp":"2026-03-01T12:00:00","definitionKey":"password_reset","info":{"messageKey":"k1","statusCode":4,"statusMessage":"MissingEmailAddress"}}`,
			in: Input{Method: "GET", Status: 200, URL: "/messaging/v1/email/messages/k1"}, isErr: true, family: catalog.Client, code: "4"},
		{name: "errorcode inside a 2xx GET is the call's", body: `{"message":"Unable to process","errorcode":10000,"status":"Error"}`,
			in: Input{Method: "GET", Status: 200, URL: "/automation/v1/automations/x"}, isErr: true, family: catalog.Client, code: "10000"},
		{name: "PATCH echoing status Error is the caller's own operation", file: "read-automation-error.json",
			in: Input{Method: "PATCH", Status: 200, URL: "/automation/v1/automations/x"}, isErr: true, family: catalog.Client, code: "status:Error"},
		{name: "no URL: nothing assumed, status Error counts", file: "read-automation-error.json",
			in: Input{Status: 200}, isErr: true, family: catalog.Client, code: "status:Error"},
		{name: "failed read is still a failed call", body: `{"message":"Not Found","errorcode":404,"documentation":""}`,
			in: Input{Method: "GET", Status: 404, URL: "/automation/v1/automations/x"}, isErr: true, family: catalog.Client, code: "404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Body = []byte(tc.body)
			if tc.file != "" {
				in.Body = testdata(t, tc.file)
			}
			r := c.Classify(in)
			checkInvariants(t, r)
			if r.IsError != tc.isErr {
				t.Errorf("IsError = %v, want %v (%+v)", r.IsError, tc.isErr, r.Classifications)
			}
			if got := r.Primary().Family; got != tc.family {
				t.Errorf("primary family = %s, want %s", got, tc.family)
			}
			found := false
			for _, cl := range r.Classifications {
				found = found || cl.Code == tc.code
			}
			if !found {
				t.Errorf("code %s missing from %+v", tc.code, r.Classifications)
			}
			if len(r.RecordStates) != 0 {
				t.Errorf("record states on an operation outcome: %+v", r.RecordStates)
			}
		})
	}
}

// TestRecordStateOnSharedFixtures takes recorded read shapes from the
// shared fixtures, sets their status to Error in memory (the recordings
// show healthy records) and checks the read is not a call failure.
func TestRecordStateOnSharedFixtures(t *testing.T) {
	dir := sharedfixtures.Fixtures(t)
	c := csvClassifier(t)
	cases := []struct {
		file, url string
		set       map[string]any
		code      string
	}{
		{"automation/rest-automation-paused.json", "/automation/v1/automations/08afb0e2-b00a-4c88-ad2e-1f7f8788c560",
			map[string]any{"status": "Error", "statusId": -1}, "-1"},
		{"journey/interaction-multistep.json", "/interaction/v1/interactions/key:testExisting_journey_Multistep",
			map[string]any{"status": "Error"}, "status:Error"},
		{"triggeredsend/transactional-definition.json", "/messaging/v1/email/definitions/testExisting_temail",
			map[string]any{"status": "Error"}, "status:Error"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.set {
				m[k] = v
			}
			body, _ := json.Marshal(m)
			get := c.Classify(Input{Method: "GET", URL: tc.url, Status: 200, Body: body})
			checkInvariants(t, get)
			if get.IsError || len(get.RecordStates) != 1 || get.RecordStates[0].Code != tc.code || !get.RecordFailed() {
				t.Errorf("GET: IsError %v, states %+v", get.IsError, get.RecordStates)
			}
			// The recorded (healthy) body: no state at all.
			clean := c.Classify(Input{Method: "GET", URL: tc.url, Status: 200, Body: b})
			if clean.IsError || len(clean.RecordStates) != 0 {
				t.Errorf("recorded body: IsError %v, states %+v", clean.IsError, clean.RecordStates)
			}
		})
	}
	// The recorded not-sent feed: a read of other sends' outcomes.
	b, err := os.ReadFile(filepath.Join(dir, "triggeredsend", "transactional-messages-notsent-list.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Classify(Input{Method: "GET", URL: "/messaging/v1/email/messages/?type=notSent&$pagesize=10&lastEventId=35000", Status: 200, Body: b})
	checkInvariants(t, r)
	if r.IsError || len(r.RecordStates) != 1 || r.RecordStates[0].Code != "24" || r.RecordStates[0].Family != catalog.Recipient {
		t.Errorf("not-sent feed: IsError %v, states %+v", r.IsError, r.RecordStates)
	}
}

func TestReadsState(t *testing.T) {
	cases := []struct {
		method, url string
		want        bool
	}{
		{"GET", "/automation/v1/automations/x", true},
		{"HEAD", "/automation/v1/automations/x", true},
		{"GET", "/legacy/v1/beta/bulk/automations/automation/definition/", true},
		{"GET", "/asset/v1/content/assets/1", true},
		{"GET", "", false},
		{"PATCH", "/automation/v1/automations/x", false},
		{"POST", "/automation/v1/automations/x/actions/start", false},
		{"GET", "/data/v1/async/r/status", false},
		{"GET", "/interaction/v1/interactions/publishStatus/s", false},
		{"GET", "/messaging/v1/messageDefinitionSends/key:k/deliveryRecords/r", false},
		{"GET", "/messaging/v1/email/messages/mk1", false},
		{"GET", "/messaging/v1/email/messages/?type=notSent", true},
		{"", "/messaging/v1/email/messages/?type=notSent", true},
		{"", "/messaging/v1/email/messages/", false}, // batch send
		{"", "/automation/v1/automations/x", true},
		{"", "/automation/v1/automations/x/actions/start", false},
		{"", "/interaction/v1/interactions/publishAsync/x", false},
		{"", "/messaging/v1/messageDefinitionSends/key:k/send", false},
		{"", "/hub/v1/dataevents/key:x/rowset", false},
	}
	for _, tc := range cases {
		if got := readsState(tc.method, tc.url); got != tc.want {
			t.Errorf("readsState(%q, %q) = %v, want %v", tc.method, tc.url, got, tc.want)
		}
	}
}
