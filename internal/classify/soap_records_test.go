package classify

import (
	"strings"
	"testing"
)

// A successful Retrieve's Results are records: a record that happens to
// carry a StatusCode of Error says nothing about the call, and the classifier
// stops at the first record of a type it reads nothing from (a week of
// send jobs is megabytes). ImportResultsSummary records are still read, and
// a Retrieve that is not OK is still read in full.
func TestRetrieveRecordsAreNotOutcomes(t *testing.T) {
	c := csvClassifier(t)
	const head = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body><RetrieveResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">`
	const tail = `</RetrieveResponseMsg></soap:Body></soap:Envelope>`
	rec := func(typ, inner string) string {
		return `<Results xsi:type="` + typ + `"><ID>1</ID>` + inner + `</Results>`
	}
	records := strings.Repeat(rec("Send", "<Status>Complete</Status>"), 3) + rec("Send", "<StatusCode>Error</StatusCode><StatusMessage>x</StatusMessage>")
	for _, tc := range []struct {
		name      string
		body      string
		isErr     bool
		truncated bool
		states    int
	}{
		{"OK Send records", head + `<OverallStatus>OK</OverallStatus><RequestID>r</RequestID>` + records + tail, false, false, 0},
		{"MoreDataAvailable Send records", head + `<OverallStatus>MoreDataAvailable</OverallStatus><RequestID>r</RequestID>` + records + tail, false, false, 0},
		{"OK Send records cut short", head + `<OverallStatus>OK</OverallStatus><RequestID>r</RequestID>` + records[:40], false, true, 0},
		{"ImportResultsSummary still read", head + `<OverallStatus>OK</OverallStatus><RequestID>r</RequestID>` +
			rec("ImportResultsSummary", "<ImportStatus>Completed</ImportStatus>") + rec("ImportResultsSummary", "<ImportStatus>Error</ImportStatus>") + tail, false, false, 1},
		{"error status read in full", head + `<OverallStatus>Error: bad filter</OverallStatus><RequestID>r</RequestID>` + records + tail, true, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Classify(Input{Method: "POST", Status: 200, URL: "https://x.soap.marketingcloudapis.com/Service.asmx", Body: []byte(tc.body)})
			checkInvariants(t, r)
			if r.IsError != tc.isErr || r.Truncated != tc.truncated || len(r.RecordStates) != tc.states {
				t.Errorf("IsError %v Truncated %v states %+v; want %v %v %d (classifications %+v)",
					r.IsError, r.Truncated, r.RecordStates, tc.isErr, tc.truncated, tc.states, r.Classifications)
			}
		})
	}
}
