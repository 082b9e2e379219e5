package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/scan"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func tp(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// sampleReport is a fixed report exercising every section.
func sampleReport() *scan.Report {
	return &scan.Report{
		Summary: scan.Summary{Files: []string{"examples/integration-calls.jsonl"}, Bytes: 123456, Lines: 1204, Events: 1200, Errors: 57, RecipientOutcomes: 3, BadLines: 4,
			From: tp("2025-03-01T09:00:00Z"), To: tp("2025-03-01T11:00:00Z"), PersistentPatterns: 1, IntermittentPatterns: 1},
		Settings: scan.Settings{Window: scan.Duration(15 * time.Minute), Consecutive: 5},
		Families: map[catalog.Family]*scan.FamilyStats{
			catalog.Auth:      {Count: 40, Codes: map[string]int64{"rest:0": 30, "oauth:invalid_client": 10}},
			catalog.RateLimit: {Count: 17, Codes: map[string]int64{"rest:50100": 17}},
			catalog.Recipient: {Count: 3, Codes: map[string]int64{"transactional:109106": 3}},
		},
		Patterns: []scan.Pattern{
			{Family: catalog.Auth, Code: "0", HTTPStatus: 401, Surface: catalog.REST, Endpoint: "/contacts/v1/contacts", Integration: "crm-sync",
				Count: 30, FirstSeen: tp("2025-03-01T09:30:00Z"), LastSeen: tp("2025-03-01T10:10:00Z"), Persistence: scan.Persistent,
				Owner: catalog.MarketingOps, Remediation: []string{"Check the client secret <rotated?> & the MID.", "Re-install the package."},
				Title: "Not Authorized", Severity: catalog.Error, Calls: 40, ErrorRatio: 0.75, LongestRun: 30, LongestSpan: scan.Duration(40 * time.Minute),
				SampleMessage: "Not Authorized | token ***", SampleURL: "https://x.rest.marketingcloudapis.com/contacts/v1/contacts"},
			{Family: catalog.RateLimit, Code: "50100", HTTPStatus: 429, Surface: catalog.REST, Endpoint: "/data/v1/async/dataextensions/key:{key}/rows", Integration: "loader",
				Count: 17, FirstSeen: tp("2025-03-01T09:05:00Z"), LastSeen: tp("2025-03-01T10:55:00Z"), Persistence: scan.Intermittent,
				Owner: catalog.Infrastructure, Remediation: []string{"Honour Retry-After."}, Title: "Rate limit exceeded", Severity: catalog.Warning, Transient: true,
				Calls: 400, ErrorRatio: 17.0 / 400, LongestRun: 2, LongestSpan: scan.Duration(time.Second), SampleObjectKey: "Orders_DE", SampleMessage: "Rate limit exceeded"},
			{Family: catalog.Recipient, Code: "109106", HTTPStatus: 202, Surface: catalog.Transactional, Endpoint: "/messaging/v1/email/messages", Integration: "shop",
				Count: 3, FirstSeen: tp("2025-03-01T09:10:00Z"), LastSeen: tp("2025-03-01T09:10:00Z"), Persistence: scan.Intermittent,
				Owner: catalog.MarketingOps, Remediation: []string{"Fix the recipient address."}, Title: "Invalid subscriber", Severity: catalog.Info,
				Calls: 10, ErrorRatio: 0.3, LongestRun: 3, SampleMessage: "<script>alert(1)</script> ***@example.com"},
		},
		BadLines: []scan.BadLine{{File: "examples/integration-calls.jsonl", Line: 17, Reason: "invalid JSON: unexpected end <eof>"}},
		Timeline: scan.Timeline{Start: tp("2025-03-01T09:00:00Z"), Bucket: scan.Duration(15 * time.Minute), Series: []scan.Series{
			{Family: catalog.Auth, Counts: []int64{0, 0, 10, 12, 8, 10, 0, 0, 0}},
			{Family: catalog.RateLimit, Counts: []int64{2, 3, 0, 0, 4, 0, 5, 0, 3}},
			{Family: catalog.Recipient, Counts: []int64{3, 0, 0, 0, 0, 0, 0, 0, 0}},
		}},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file (run go test -update to accept):\n%s", name, got)
	}
}

func TestGolden(t *testing.T) {
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, f, sampleReport()); err != nil {
				t.Fatal(err)
			}
			golden(t, string(f), b.Bytes())
		})
	}
	t.Run("empty", func(t *testing.T) {
		var b bytes.Buffer
		r := &scan.Report{Families: map[catalog.Family]*scan.FamilyStats{}, Patterns: []scan.Pattern{}, BadLines: []scan.BadLine{}}
		if err := WriteText(&b, r); err != nil {
			t.Fatal(err)
		}
		golden(t, "empty.text", b.Bytes())
	})
}

func TestJSONContract(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	sum := v["summary"].(map[string]any)
	for _, k := range []string{"lines", "events", "errors", "bad_lines", "from", "to"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
	fam := v["families"].(map[string]any)["auth"].(map[string]any)
	if fam["count"] == nil || fam["codes"] == nil {
		t.Errorf("families.auth = %v", fam)
	}
	p := v["patterns"].([]any)[0].(map[string]any)
	for _, k := range []string{"family", "code", "http_status", "surface", "endpoint", "integration", "count", "first_seen", "last_seen", "persistence", "owner", "remediation"} {
		if _, ok := p[k]; !ok {
			t.Errorf("pattern lacks %q", k)
		}
	}
	bl := v["bad_lines"].([]any)[0].(map[string]any)
	if bl["file"] == nil || bl["line"] == nil {
		t.Errorf("bad line = %v", bl)
	}
}

func TestHTMLSelfContainedAndEscaped(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, bad := range []string{"<script", "src=", "href=\"http", "@import", "url("} {
		if strings.Contains(s, bad) {
			t.Errorf("html contains %q", bad)
		}
	}
	for _, want := range []string{"<svg", "<polyline", "auth (40)", "rate_limit (17)", "time (UTC)", "calls per 15min", "persistent", "&lt;script&gt;"} {
		if !strings.Contains(s, want) {
			t.Errorf("html lacks %q", want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"text": Text, "JSON": JSON, "md": Markdown, "markdown": Markdown, "html": HTML} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("pdf"); err == nil {
		t.Error("pdf accepted")
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[int64]int64{0: 4, 1: 4, 4: 4, 5: 8, 13: 20, 20: 20, 21: 40, 99: 100, 101: 200, 450: 800, 1200: 2000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", in, got, want)
		}
	}
}
