package sfmc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/sharedfixtures"
)

// TestRetrieveHeadFixtures: SFMC's recorded Retrieve responses (see
// ../shared/fixtures/sfmc/SOURCES.md: sfmc-devtools' retrieve-response.xml
// and triggeredSendSummary/retrieve-response.xml, SFMC-SDK's
// retrieveBulkDataExtension) write OverallStatus first in
// RetrieveResponseMsg, so judging them reads only the head.
func TestRetrieveHeadFixtures(t *testing.T) {
	dir := sharedfixtures.Fixtures(t)
	for file, want := range map[string]string{
		"errors/soap-retrieve-empty-ok.xml":           "OK",
		"errors/soap-retrieve-moredataavailable.xml":  "MoreDataAvailable",
		"triggeredsend/soap-tss-retrieve.xml":         "OK",
		"automation/soap-automation-retrieve-doc.xml": "MoreDataAvailable",
	} {
		body, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := retrieveHead(body); !ok || got != want {
			t.Errorf("%s: retrieveHead = %q, %v; want %q", file, got, ok, want)
		}
	}
}

func TestRetrieveHead(t *testing.T) {
	const env = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Header><wsa:Action xmlns:wsa="x">RetrieveResponse</wsa:Action><wsse:Security xmlns:wsse="y"><Timestamp><Created>x</Created></Timestamp></wsse:Security></soap:Header><soap:Body>`
	for _, tc := range []struct {
		name, body string
		want       string
		ok         bool
	}{
		{"ok", env + `<RetrieveResponseMsg xmlns="p"><OverallStatus> OK </OverallStatus><RequestID>r</RequestID><Results xsi:type="Send"><ID>1</ID></Results></RetrieveResponseMsg></soap:Body></soap:Envelope>`, "OK", true},
		// Cut after the head: judged OK here; the caller's decode of the
		// Results then fails the call.
		{"cut after the head", env + `<RetrieveResponseMsg xmlns="p"><OverallStatus>OK</OverallStatus><RequestID>r</RequestID><Results xsi:type="Send"><ID>1`, "OK", true},
		{"error status", env + `<RetrieveResponseMsg xmlns="p"><OverallStatus>Error: The Request Property(s) X do not match</OverallStatus></RetrieveResponseMsg></soap:Body></soap:Envelope>`, "Error: The Request Property(s) X do not match", true},
		{"no header", `<Envelope><Body><RetrieveResponseMsg><OverallStatus>OK</OverallStatus></RetrieveResponseMsg></Body></Envelope>`, "OK", true},
		{"fault", env + `<soap:Fault><faultcode>soap:Server</faultcode><faultstring>x</faultstring></soap:Fault></soap:Body></soap:Envelope>`, "", false},
		{"results first", env + `<RetrieveResponseMsg xmlns="p"><Results xsi:type="Send"><OverallStatus>OK</OverallStatus></Results><OverallStatus>Error</OverallStatus></RetrieveResponseMsg></soap:Body></soap:Envelope>`, "", false},
		{"create response", env + `<CreateResponse xmlns="p"><Results><StatusCode>Error</StatusCode></Results><OverallStatus>OK</OverallStatus></CreateResponse></soap:Body></soap:Envelope>`, "", false},
		{"empty message", env + `<RetrieveResponseMsg xmlns="p"/></soap:Body></soap:Envelope>`, "", false},
		{"markup in status", env + `<RetrieveResponseMsg xmlns="p"><OverallStatus>O<b>K</b></OverallStatus></RetrieveResponseMsg></soap:Body></soap:Envelope>`, "", false},
		{"status outside a message", `<Envelope><Body><OverallStatus>OK</OverallStatus></Body></Envelope>`, "", false},
		{"not xml", `Bad Request`, "", false},
		{"html", `<html><body><h1>503</h1></body></html>`, "", false},
	} {
		got, ok := retrieveHead([]byte(tc.body))
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: retrieveHead = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzRetrieveHead(f *testing.F) {
	f.Add(`<Envelope><Body><RetrieveResponseMsg><OverallStatus>OK</OverallStatus></RetrieveResponseMsg></Body></Envelope>`)
	f.Add(`<Envelope><Header><a><b/></a></Header><Body><RetrieveResponseMsg><OverallStatus>MoreDataAvailable</OverallStatus><Results/>`)
	f.Fuzz(func(t *testing.T, body string) {
		got, ok := retrieveHead([]byte(body))
		if !ok {
			return
		}
		// Whatever it accepts names its status in an OverallStatus element.
		if !strings.Contains(body, "OverallStatus") || strings.Contains(got, "<") {
			t.Fatalf("retrieveHead(%q) = %q, true", body, got)
		}
	})
}
