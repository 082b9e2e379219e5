package classify

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestEdgeCases(t *testing.T) {
	c := csvClassifier(t)
	type want struct {
		isErr      bool
		family     catalog.Family
		codes      map[string]int // code -> count
		truncated  bool
		retryAfter time.Duration
		transient  *bool
		surface    catalog.Surface
		msgHas     string
		msgHasNot  []string
	}
	yes, no := true, false
	cases := []struct {
		name string
		in   Input
		file string
		want want
	}{
		{name: "html 502 gateway", file: "gateway-502.html", in: Input{Status: 502, URL: "https://x.rest.marketingcloudapis.com/data/v1/customobjectdata"},
			want: want{isErr: true, family: catalog.Server, codes: map[string]int{"502": 1}, msgHas: "502 Bad Gateway"}},
		{name: "html 504 gateway", file: "gateway-504.html", in: Input{Status: 504},
			want: want{isErr: true, family: catalog.Timeout, codes: map[string]int{"504": 1}, msgHas: "Gateway Time-out & retry"}},
		{name: "empty 401", in: Input{Status: 401}, want: want{isErr: true, family: catalog.Auth, codes: map[string]int{"401": 1}}},
		{name: "empty 429", in: Input{Status: 429, Header: http.Header{"Retry-After": {"7"}}},
			want: want{isErr: true, family: catalog.RateLimit, codes: map[string]int{"429": 1}, retryAfter: 7 * time.Second}},
		{name: "empty 503", in: Input{Status: 503}, want: want{isErr: true, family: catalog.Server, codes: map[string]int{"503": 1}}},
		{name: "empty 504", in: Input{Status: 504}, want: want{isErr: true, family: catalog.Timeout, codes: map[string]int{"504": 1}}},
		{name: "empty 408", in: Input{Status: 408}, want: want{isErr: true, family: catalog.Timeout, codes: map[string]int{"408": 1}}},
		{name: "whitespace 200", in: Input{Status: 200, Body: []byte(" \n ")}, want: want{family: catalog.None, codes: map[string]int{"200": 1}}},
		{name: "no response", in: Input{Status: 0}, want: want{isErr: true, family: catalog.Timeout, codes: map[string]int{"": 1}}},
		{name: "truncated json 400", file: "truncated.json", in: Input{Status: 400, URL: "/hub/v1/dataevents/key:x/rowset"},
			want: want{isErr: true, truncated: true, family: catalog.Client, codes: map[string]int{"10006": 1}}},
		{name: "truncated json 200", in: Input{Status: 200, Body: []byte(`{"items":[{"id":1},{"id":`)},
			want: want{truncated: true, family: catalog.None, codes: map[string]int{"200": 1}}},
		{name: "invalid json 500", in: Input{Status: 500, Body: []byte(`{"message": oops}`)},
			want: want{isErr: true, truncated: true, family: catalog.Server, codes: map[string]int{"500": 1}}},
		{name: "truncated soap fault", file: "soap-truncated.xml", in: Input{Status: 500},
			want: want{isErr: true, truncated: true, family: catalog.RateLimit, codes: map[string]int{"17": 1}}},
		{name: "retry-after seconds", file: "rest-429-50200.json", in: Input{Status: 429, Header: http.Header{"Retry-After": {"30"}}},
			want: want{isErr: true, family: catalog.RateLimit, codes: map[string]int{"50200": 1}, retryAfter: 30 * time.Second, transient: &no}},
		{name: "retry-after http-date", in: Input{Status: 429, Now: now, Header: http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}},
			Body: []byte(`{"message":"Rate limit exceeded","errorcode":50100,"retryAfter":5}`)},
			want: want{isErr: true, family: catalog.RateLimit, codes: map[string]int{"50100": 1}, retryAfter: 90 * time.Second, transient: &yes}},
		{name: "retry-after from body", in: Input{Status: 429, Body: []byte(`{"message":"Rate limit exceeded","errorcode":50100,"retryAfter":5}`)},
			want: want{isErr: true, family: catalog.RateLimit, codes: map[string]int{"50100": 1}, retryAfter: 5 * time.Second}},
		{name: "retry-after date in the past", in: Input{Status: 503, Now: now, Header: http.Header{"Retry-After": {now.Add(-time.Hour).Format(http.TimeFormat)}}},
			want: want{isErr: true, family: catalog.Server, codes: map[string]int{"503": 1}}},
		{name: "429 50200 not transient", file: "rest-429-50200.json", in: Input{Status: 429, URL: "https://x.rest.marketingcloudapis.com/data/v1/x"},
			want: want{isErr: true, family: catalog.RateLimit, codes: map[string]int{"50200": 1}, transient: &no}},
		{name: "50200 on the token route", file: "oauth-token-429.json", in: Input{Status: 429, URL: "https://x.auth.marketingcloudapis.com/v2/token"},
			want: want{isErr: true, family: catalog.RateLimit, codes: map[string]int{"50200": 1}, transient: &no, surface: catalog.OAuth}},
		{name: "soap code 17 on http 500", file: "soap-fault-17.xml", in: Input{Status: 500},
			want: want{isErr: true, family: catalog.RateLimit, codes: map[string]int{"17": 1}, transient: &yes, surface: catalog.SOAP}},
		{name: "soap client fault", file: "soap-fault-client.xml", in: Input{Status: 500, URL: "https://x.soap.marketingcloudapis.com/Service.asmx"},
			want: want{isErr: true, family: catalog.Client, codes: map[string]int{"soap:Client": 1}}},
		{name: "soap retrieve error on 200", file: "soap-retrieve-error.xml", in: Input{Status: 200},
			want: want{isErr: true, family: catalog.Client, codes: map[string]int{"OverallStatus:Error": 1}, msgHas: "do not match"}},
		{name: "10006 with additionalErrors", file: "rest-10006-additional.json", in: Input{Status: 400, URL: "/hub/v1/dataevents/key:x/rowset"},
			want: want{isErr: true, family: catalog.Client, codes: map[string]int{"10000": 2}, transient: &no}},
		{name: "10006 without additionalErrors", file: "rest-10006-bare.json", in: Input{Status: 400, URL: "/hub/v1/dataevents/key:x/rowset"},
			want: want{isErr: true, family: catalog.Server, codes: map[string]int{"10006": 1}, transient: &yes}},
		{name: "transactional 202 batch", file: "transactional-202-batch.json", in: Input{Status: 202, URL: "/messaging/v1/email/messages/"},
			want: want{isErr: true, family: catalog.Client, codes: map[string]int{"109001": 1, "109106": 3, "109110": 1}, surface: catalog.Transactional}},
		{name: "transactional 202 with 40 recipients", in: Input{Status: 202, Body: transactionalBatch(40)},
			want: want{isErr: true, family: catalog.Client, codes: map[string]int{"109001": 1, "109106": 40}, surface: catalog.Transactional}},
		{name: "ens bounce batch", file: "ens-bounce-batch.json", in: Input{Status: 200},
			want: want{family: catalog.Recipient, codes: map[string]int{"TransactionalSendEvents.EmailBounced": 2, "TransactionalSendEvents.EmailSent": 1}, msgHasNot: []string{"@example.com"}}},
		{name: "e-mail and token masked", file: "rest-400-email-in-message.json", in: Input{Status: 400},
			want: want{isErr: true, family: catalog.Client, codes: map[string]int{"10005": 1}, msgHas: "***@example.com", msgHasNot: []string{"jane.doe", "abcdef123456"}}},
		{name: "mobileconnect errors array", file: "mobileconnect-errors.json", in: Input{Status: 400, URL: "/sms/v1/messageContact/x/send"},
			want: want{isErr: true, family: catalog.Client, codes: map[string]int{"(errors[])": 1}, msgHas: "No valid subscribers"}},
		{name: "messageDefinitionSends 202 errors", file: "definitionsend-202-errors.json", in: Input{Status: 202, URL: "/messaging/v1/messageDefinitionSends/key:x/send"},
			want: want{isErr: true, family: catalog.Client, codes: map[string]int{"180008": 1, "InvalidOrMissingToAddress": 1}, surface: catalog.TriggeredSend}},
		{name: "journey publish error", file: "journey-publish-error.json", in: Input{Status: 200, URL: "/interaction/v1/interactions/publishStatus/x"},
			want: want{isErr: true, family: catalog.Client, codes: map[string]int{"publishStatus:Error": 1, "121226": 1, "121547": 1}}},
		{name: "async results items", file: "async-results-items.json", in: Input{Status: 200, URL: "/data/v1/async/x/results"},
			want: want{isErr: true, family: catalog.Client, codes: map[string]int{"UnexpectedError": 2}}},
		{name: "async status error", file: "async-status-error.json", in: Input{Status: 200, URL: "/data/v1/async/x/status"},
			want: want{isErr: true, family: catalog.Server, codes: map[string]int{"requestStatus:Error": 1, "resultStatus:Has Errors": 1}, transient: &yes}},
		{name: "delivery record error", in: Input{Status: 200, Body: []byte(`{"id":"x","messageId":"y","status":"Error","messageErrors":[{"messageErrorStatus":"The subscriber was excluded by List Detective."}]}`)},
			want: want{family: catalog.Recipient, codes: map[string]int{"deliveryRecords:Error": 1}, surface: catalog.TriggeredSend}},
		{name: "clean 2xx json", file: "clean-1k.json", in: Input{Status: 200, URL: "/interaction/v1/interactions"},
			want: want{family: catalog.None, codes: map[string]int{"200": 1}, surface: catalog.Journey}},
		{name: "clean 2xx soap", file: "soap-retrieve-ok.xml", in: Input{Status: 200},
			want: want{family: catalog.None, codes: map[string]int{"200": 1}, surface: catalog.SOAP}},
		{name: "oauth detected from body", in: Input{Status: 401, Body: []byte(`{"error":"invalid_client","error_description":"Invalid client ID. Use the client ID in Marketing Cloud Installed Packages."}`)},
			want: want{isErr: true, family: catalog.Auth, codes: map[string]int{"invalid_client": 1}, surface: catalog.OAuth}},
		{name: "errorcode 0 on 500 is no code", in: Input{Status: 500, Body: []byte(`{"message":"Internal Server Error","errorcode":0}`)},
			want: want{isErr: true, family: catalog.Server, codes: map[string]int{"500": 1}, msgHas: "Internal Server Error"}},
		{name: "plain text 400", in: Input{Status: 400, Body: []byte("Bad request: missing body\nmore")},
			want: want{isErr: true, family: catalog.Client, codes: map[string]int{"400": 1}, msgHas: "missing body"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if tc.file != "" {
				in.Body = testdata(t, tc.file)
			}
			r := c.Classify(in)
			checkInvariants(t, r)
			w := tc.want
			if r.IsError != w.isErr {
				t.Errorf("IsError = %v, want %v", r.IsError, w.isErr)
			}
			if got := r.Primary().Family; got != w.family {
				t.Errorf("primary family = %s, want %s (%+v)", got, w.family, r.Classifications)
			}
			got := map[string]int{}
			for _, cl := range r.Classifications {
				got[cl.Code] += cl.Count
			}
			if !mapsEqual(got, w.codes) {
				t.Errorf("codes = %v, want %v", got, w.codes)
			}
			if r.Truncated != w.truncated {
				t.Errorf("Truncated = %v, want %v", r.Truncated, w.truncated)
			}
			if r.RetryAfter != w.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", r.RetryAfter, w.retryAfter)
			}
			if w.transient != nil && r.Primary().Transient != *w.transient {
				t.Errorf("primary transient = %v, want %v", r.Primary().Transient, *w.transient)
			}
			if w.surface != "" && r.Surface != w.surface {
				t.Errorf("surface = %s, want %s", r.Surface, w.surface)
			}
			var msgs []string
			for _, cl := range r.Classifications {
				msgs = append(msgs, cl.Message)
			}
			all := strings.Join(msgs, "\n")
			if w.msgHas != "" && !strings.Contains(all, w.msgHas) {
				t.Errorf("messages %q lack %q", all, w.msgHas)
			}
			for _, s := range w.msgHasNot {
				if strings.Contains(all, s) {
					t.Errorf("messages %q contain %q", all, s)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestBodyOverMaxBody(t *testing.T) {
	c := csvClassifier(t)
	// A clean 2xx page larger than MaxBody.
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for b.Len() < MaxBody+4096 {
		b.WriteString(`{"id":"00000000-0000-0000-0000-000000000000","name":"row"},`)
	}
	b.WriteString(`{"id":"last"}]}`)
	r := c.Classify(Input{Status: 200, Body: b.Bytes()})
	checkInvariants(t, r)
	if !r.Truncated || r.IsError || r.Primary().Code != "200" {
		t.Errorf("large 2xx: %+v", r)
	}
	// An error body whose code sits beyond MaxBody is still an error by status.
	big := append(bytes.Repeat([]byte(" "), 0), b.Bytes()...)
	r = c.Classify(Input{Status: 500, Body: big})
	checkInvariants(t, r)
	if !r.Truncated || !r.IsError || r.Primary().Family != catalog.Server {
		t.Errorf("large 500: %+v", r.Classifications)
	}
}

func TestMessageShortened(t *testing.T) {
	c := csvClassifier(t)
	long := strings.Repeat("word ", 500)
	r := c.Classify(Input{Status: 400, Body: []byte(`{"message":"` + long + `","errorcode":10005}`)})
	m := r.Primary().Message
	if n := len([]rune(m)); n > maxMessage+1 || !strings.HasSuffix(m, "…") {
		t.Errorf("message not shortened: %d runes %q", n, m)
	}
}

func TestSurfaceFromURL(t *testing.T) {
	cases := map[string]catalog.Surface{
		"": "",
		"https://abc.auth.marketingcloudapis.com/v2/token":                                       catalog.OAuth,
		"https://abc.soap.marketingcloudapis.com/Service.asmx":                                   catalog.SOAP,
		"/messaging/v1/email/messages/abc":                                                       catalog.Transactional,
		"/messaging/v1/sms/messages/":                                                            catalog.Transactional,
		"https://abc.rest.marketingcloudapis.com/messaging/v1/messageDefinitionSends/key:x/send": catalog.TriggeredSend,
		"/interaction/v1/interactions?$page=2":                                                   catalog.Journey,
		"/contacts/v1/contacts":                                                                  catalog.Contacts,
		"/automation/v1/imports/abc":                                                             catalog.Import,
		"/automation/v1/automations":                                                             catalog.Automation,
		"/data/v1/async/abc/status":                                                              catalog.REST,
		"/hub/v1/dataevents/key:x/rowset":                                                        catalog.REST,
		"/asset/v1/content/assets":                                                               catalog.REST,
	}
	for u, want := range cases {
		if got := surfaceFromURL(u); got != want {
			t.Errorf("surfaceFromURL(%q) = %q, want %q", u, got, want)
		}
	}
}

// TestMarkers checks the cheap pre-checks never miss a signal the decoder
// would find, on the shapes of the edge-case files.
func TestMarkers(t *testing.T) {
	for _, name := range []string{"transactional-202-batch.json", "ens-bounce-batch.json", "mobileconnect-errors.json",
		"definitionsend-202-errors.json", "journey-publish-error.json", "async-results-items.json", "async-status-error.json",
		"rest-429-50200.json", "rest-10006-bare.json"} {
		if !jsonHasMarkers(testdata(t, name)) {
			t.Errorf("%s: markers missed", name)
		}
	}
	for _, clean := range []string{`{"errors":[],"warnings":[]}`, `{"hasErrors": false}`, `{"isStoppedOnJobError":true}`, `{"errorcode":0}`, `{"a":"b"}`} {
		if jsonHasMarkers([]byte(clean)) {
			t.Errorf("%s: reported markers", clean)
		}
	}
	for _, name := range []string{"soap-fault-17.xml", "soap-retrieve-error.xml", "soap-fault-client.xml"} {
		if m, _ := soapScan(testdata(t, name)); !m {
			t.Errorf("%s: markers missed", name)
		}
	}
	if m, _ := soapScan(testdata(t, "soap-retrieve-ok.xml")); m {
		t.Errorf("soap-retrieve-ok.xml: reported markers")
	}
}
