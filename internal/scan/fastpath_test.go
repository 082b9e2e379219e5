package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFastPathChangesNoReport: the byte-level fast path for 2xx calls
// whose bodies carry nothing to read gives the same report as classifying
// every call, on a log mixing clean 2xx, errors, and failures SFMC reports
// inside 2xx (SOAP OverallStatus Error, transactional hasErrors, a REST 200
// with an errorcode).
func TestFastPathChangesNoReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.jsonl")
	writeBenchLog(t, path, 2<<20)
	extra := strings.Join([]string{
		`{"ts":"2025-03-03T10:00:00Z","integration":"soap-bridge","url":"https://x.soap.marketingcloudapis.com/Service.asmx","status":200,"body":"<soap:Envelope><soap:Body><CreateResponse><Results><StatusCode>Error</StatusCode><ErrorCode>180008</ErrorCode></Results><OverallStatus>Error</OverallStatus></CreateResponse></soap:Body></soap:Envelope>"}`,
		`{"ts":"2025-03-03T10:00:01Z","integration":"shop-tx","url":"https://x.rest.marketingcloudapis.com/messaging/v1/messageDefinitionSends/key:w/send","status":202,"body":{"requestId":"r","responses":[{"messageKey":"a","hasErrors":true,"messages":["Unable to queue Triggered Send request. There are no valid subscribers."]}]}}`,
		`{"ts":"2025-03-03T10:00:02Z","integration":"crm-sync","url":"https://x.rest.marketingcloudapis.com/hub/v1/dataevents/key:Loyalty/rowset","status":200,"body":{"message":"Unable to save rows","errorcode":10006}}`,
	}, "\n") + "\n"
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if _, err := f.WriteString(extra); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	run := func(fast bool) (*Report, []byte) {
		fastPath = fast
		defer func() { fastPath = true }()
		r, err := Run(context.Background(), []Input{fileInput(path)}, Options{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(r)
		return r, b
	}
	fast, fb := run(true)
	_, sb := run(false)
	if !bytes.Equal(fb, sb) {
		t.Fatalf("the fast path changed the report:\nfast: %.2000s\nfull: %.2000s", fb, sb)
	}
	var codes []string
	for _, p := range fast.Patterns {
		codes = append(codes, string(p.Surface)+":"+p.Code)
	}
	for _, want := range []string{"soap:", "rest:10006"} {
		found := false
		for _, c := range codes {
			found = found || strings.HasPrefix(c, want)
		}
		if !found {
			t.Errorf("no %s… pattern among %v: a failure inside a 2xx was lost", want, codes)
		}
	}
}
