package scan

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/ingest"
)

// benchLogBytes is the size of the generated benchmark log.
const benchLogBytes = 96 << 20

// writeBenchLog writes a deterministic, mostly-2xx JSON-lines log of about
// size bytes with ~1 KB bodies and ~3% errors of mixed shapes (REST JSON,
// OAuth, SOAP faults, HTML gateway pages, transactional 202 with errors).
func writeBenchLog(tb testing.TB, path string, size int64) int64 {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	items := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"keys":{"subscriberkey":"C-%06d"},"values":{"tier":"gold","points":"%d","city":"Lyon","optin":"true"}}`, rng.IntN(1e6), rng.IntN(1e5))
		}
		return b.String()
	}
	soapOK := `"<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><RetrieveResponseMsg xmlns=\"http://exacttarget.com/wsdl/partnerAPI\"><OverallStatus>OK</OverallStatus><RequestID>5b4c1d0e-8f7a-4c2b-9e6d-3a2f1b0c9d8e</RequestID>` +
		strings.Repeat(`<Results><PartnerKey xsi:nil=\"true\" /><ObjectID>8a3c1e2f-7b6d-4e9a-9c1b-2f3e4d5a6b7c</ObjectID><CustomerKey>Orders</CustomerKey></Results>`, 6) + `</RetrieveResponseMsg></soap:Body></soap:Envelope>"`
	errorsBodies := []struct {
		status int
		url    string
		body   string
	}{
		{401, "https://x.auth.marketingcloudapis.com/v2/token", `{"error":"invalid_client","error_description":"Client authentication failed.","error_uri":"https://developer.salesforce.com/docs"}`},
		{429, "https://x.rest.marketingcloudapis.com/data/v1/async/dataextensions/key:Orders/rows", `{"message":"Rate limit exceeded","errorcode":50100,"retryAfter":5}`},
		{400, "https://x.rest.marketingcloudapis.com/hub/v1/dataevents/key:Loyalty/rowset", `{"message":"Unable to save rows for data extension ID 6f1c","errorcode":10006,"additionalErrors":[{"message":"Tier: The field 'Tier' does not exist","errorcode":10000}]}`},
		{500, "https://x.soap.marketingcloudapis.com/Service.asmx", `"<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>Rate Limited</faultstring><detail><apifault xmlns=\"urn:fault.partner.exacttarget.com\"><Code>17</Code><Message>Rate Limited</Message></apifault></detail></soap:Fault></soap:Body></soap:Envelope>"`},
		{504, "https://x.rest.marketingcloudapis.com/interaction/v1/events", `"<html><body><h1>504 Gateway Time-out</h1></body></html>"`},
		{202, "https://x.rest.marketingcloudapis.com/messaging/v1/email/messages/", `{"requestId":"r","errorcode":109001,"message":"MCMS_UTM_ResponsesHasErrors: 1 subscribers failed to queue out of 2","responses":[{"messageKey":"a","errorcode":109106,"message":"MCMS_UTM_Validation_MissingRequiredField_to: Invalid subscriber"},{"messageKey":"b"}]}`},
	}
	integrations := []string{"crm-sync", "dw-loader", "journey-api", "shop-tx", "soap-bridge"}
	t0 := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	var n int64
	for i := 0; n < size; i++ {
		ts := t0.Add(time.Duration(i) * 50 * time.Millisecond).Format(time.RFC3339Nano)
		integ := integrations[i%len(integrations)]
		var line string
		switch r := rng.IntN(1000); {
		case r < 30:
			e := errorsBodies[rng.IntN(len(errorsBodies))]
			line = fmt.Sprintf(`{"ts":"%s","integration":"%s","method":"POST","url":"%s","status":%d,"body":%s,"duration_ms":%d,"request_id":"req-%d","tenant":"acme"}`, ts, integ, e.url, e.status, e.body, rng.IntN(3000), i)
		case r < 200:
			line = fmt.Sprintf(`{"ts":"%s","integration":"%s","method":"POST","url":"https://x.soap.marketingcloudapis.com/Service.asmx","status":200,"body":%s,"duration_ms":%d,"request_id":"req-%d","tenant":"acme"}`, ts, integ, soapOK, rng.IntN(900), i)
		case r < 400:
			line = fmt.Sprintf(`{"ts":"%s","integration":"%s","method":"POST","url":"https://x.rest.marketingcloudapis.com/messaging/v1/email/messages/ord-%d","status":202,"body":{"requestId":"3f2a9c1e-5b7d-4e8f-a1c3-%012d","errorcode":0,"responses":[{"messageKey":"ord-%d","recipient":"C-%d"}],"meta":{"items":[%s]}},"duration_ms":%d,"request_id":"req-%d","tenant":"acme"}`, ts, integ, i, i, i, i, items(6), rng.IntN(900), i)
		default:
			line = fmt.Sprintf(`{"ts":"%s","integration":"%s","method":"GET","url":"https://x.rest.marketingcloudapis.com/data/v1/customobjectdata/key/Orders/rowset?$page=%d","status":200,"body":{"links":{"self":"/v1/customobjectdata/token/abc/rowset?$page=%d"},"requestToken":"abc","page":%d,"pageSize":2500,"count":8,"items":[%s]},"duration_ms":%d,"request_id":"req-%d","tenant":"acme"}`, ts, integ, i%50+1, i%50+1, i%50+1, items(8), rng.IntN(900), i)
		}
		k, _ := io.WriteString(w, line+"\n")
		n += int64(k)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return n
}

func fileInput(path string) Input {
	return Input{Name: path, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// BenchmarkScan measures end-to-end throughput (read, parse, classify every
// body, aggregate) on a generated mostly-2xx log.
func BenchmarkScan(b *testing.B) {
	path := filepath.Join(b.TempDir(), "calls.jsonl")
	size := writeBenchLog(b, path, benchLogBytes)
	b.SetBytes(size)
	b.ResetTimer()
	var r *Report
	for b.Loop() {
		var err error
		if r, err = Run(context.Background(), []Input{fileInput(path)}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(r.Summary.Events), "events/op")
	if r.Summary.Errors == 0 || r.Summary.BadLines != 0 {
		b.Fatalf("unexpected summary %+v", r.Summary)
	}
}

// BenchmarkJQBaseline runs `jq -c 'select(.status >= 400)'` over the same
// log, for comparison with BenchmarkScan (skipped when jq is missing).
func BenchmarkJQBaseline(b *testing.B) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		b.Skip("jq not installed")
	}
	path := filepath.Join(b.TempDir(), "calls.jsonl")
	size := writeBenchLog(b, path, benchLogBytes)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(jq, "-c", "select(.status >= 400)", path)
		cmd.Stdout = io.Discard
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriteBenchLog writes the benchmark log to $SFMCWATCH_BENCHLOG (size
// $SFMCWATCH_BENCHLOG_MB, default 500) for measuring the built binary, e.g.
// peak RSS with /usr/bin/time -v; skipped unless the variable is set.
func TestWriteBenchLog(t *testing.T) {
	path := os.Getenv("SFMCWATCH_BENCHLOG")
	if path == "" {
		t.Skip("set SFMCWATCH_BENCHLOG=/path/to/calls.jsonl to write a benchmark log")
	}
	mb := 500
	if v := os.Getenv("SFMCWATCH_BENCHLOG_MB"); v != "" {
		if _, err := fmt.Sscan(v, &mb); err != nil {
			t.Fatal(err)
		}
	}
	n := writeBenchLog(t, path, int64(mb)<<20)
	t.Logf("wrote %d bytes to %s", n, path)
}

// BenchmarkSummarizeOneCore is the per-core cost of a scan worker (parse,
// classify and summarise a batch, on lines already in memory): the figure
// that decides how scan compares with jq when the machine is busy and
// parallelism does not help.
func BenchmarkSummarizeOneCore(b *testing.B) {
	path := filepath.Join(b.TempDir(), "calls.jsonl")
	size := writeBenchLog(b, path, 16<<20)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	opts := Options{}.withDefaults()
	src, err := opts.Open(f, ingest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var jobs []job
	for {
		lines, err := src.ReadBatch(nil, opts.BatchBytes)
		if len(lines) > 0 {
			jobs = append(jobs, job{seq: len(jobs), lines: lines, parser: src.Parser()})
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	t := thresholds{window: opts.Window, consecutive: int64(opts.Consecutive)}
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		for _, j := range jobs {
			summarize(j, opts.Classifier, t)
		}
	}
}
