package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/scan"
)

func runScanCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), append([]string{"scan"}, args...), IO{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

const (
	okLine   = `{"ts":"2025-03-03T08:00:00Z","integration":"crm","method":"POST","url":"https://x.rest.marketingcloudapis.com/contacts/v1/contacts","status":200,"body":{"ok":true}}`
	authLine = `{"ts":"2025-03-03T08:01:00Z","integration":"crm","method":"POST","url":"https://x.auth.marketingcloudapis.com/v2/token","status":401,"body":{"error":"invalid_client","error_description":"Client authentication failed. client_secret=hunter2 for jane.doe@example.com"}}`
	rateLine = `{"ts":"2025-03-03T08:02:00Z","integration":"loader","method":"POST","url":"https://x.rest.marketingcloudapis.com/data/v1/async/dataextensions/key:Orders/rows","status":429,"body":{"message":"Rate limit exceeded","errorcode":50100,"retryAfter":5}}`
)

func TestScanExitCodes(t *testing.T) {
	cases := []struct {
		name  string
		stdin string
		args  []string
		want  int
	}{
		{"clean", okLine + "\n", []string{"-"}, ExitOK},
		{"auth finding default fail-on", okLine + "\n" + authLine + "\n", []string{"-"}, ExitFindings},
		{"fail-on none", authLine + "\n", []string{"--fail-on", "none", "-"}, ExitOK},
		{"fail-on other family", authLine + "\n", []string{"--fail-on", "rate_limit,timeout", "-"}, ExitOK},
		{"fail-on family", authLine + "\n" + rateLine + "\n", []string{"--fail-on=rate_limit", "-"}, ExitFindings},
		{"fail-on critical above warning 429", rateLine + "\n", []string{"--fail-on", "critical", "-"}, ExitOK},
		{"fail-on persistent: one failure is not", authLine + "\n", []string{"--fail-on", "persistent", "-"}, ExitOK},
		{"fail-on persistent with consecutive 1", authLine + "\n", []string{"--fail-on", "persistent", "--consecutive", "1", "-"}, ExitFindings},
		{"fail-on any", rateLine + "\n", []string{"--fail-on", "any", "-"}, ExitFindings},
		{"bad lines only never fail", okLine + "\nnot json\n" + okLine + "\n", []string{"-"}, ExitOK},
		{"no input", "", nil, ExitUsage},
		{"missing file", "", []string{"/nonexistent/calls.jsonl"}, ExitUsage},
		{"directory", "", []string{"."}, ExitUsage},
		{"bad format", okLine, []string{"--format", "pdf", "-"}, ExitUsage},
		{"bad fail-on", okLine, []string{"--fail-on", "loud", "-"}, ExitUsage},
		{"bad map", okLine, []string{"--map", "colour=x", "-"}, ExitUsage},
		{"bad window", okLine, []string{"--window", "0s", "-"}, ExitUsage},
		{"bad consecutive", okLine, []string{"--consecutive", "0", "-"}, ExitUsage},
		{"help", "", []string{"--help"}, ExitOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runScanCLI(t, c.stdin, c.args...)
			if code != c.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.want, out, errs)
			}
		})
	}
}

func TestScanMissingFileNamed(t *testing.T) {
	code, _, errs := runScanCLI(t, "", "../../examples/integration-calls.jsonl", "/nonexistent/x.jsonl")
	if code != ExitUsage || !strings.Contains(errs, "/nonexistent/x.jsonl") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

func TestScanMasksSecrets(t *testing.T) {
	for _, f := range []string{"text", "json", "markdown", "html"} {
		_, out, _ := runScanCLI(t, authLine+"\n", "--format", f, "-")
		for _, secret := range []string{"hunter2", "jane.doe"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output leaks %q", f, secret)
			}
		}
	}
}

func TestScanMapAndOut(t *testing.T) {
	line := `{"when":"2025-03-03T08:01:00Z","app":"crm","resp":{"code":503},"path":"/contacts/v1/contacts"}`
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, errs := runScanCLI(t, line+"\n", "--map", "status=resp.code", "--map", "ts=when", "--format", "json", "--out", out, "-")
	if code != ExitFindings || stdout != "" {
		t.Fatalf("exit %d stdout %q stderr %q", code, stdout, errs)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r scan.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Summary.Events != 1 || len(r.Patterns) != 1 || r.Patterns[0].HTTPStatus != 503 || r.Patterns[0].Family != "server" {
		t.Errorf("report = %+v", r)
	}
}

// TestScanExamples checks every incident planted in examples/ (see
// examples/README.md) is found with the right family and persistence.
func TestScanExamples(t *testing.T) {
	code, out, errs := runScanCLI(t, "", "--format", "json", "--fail-on", "none",
		"../../examples/integration-calls.jsonl", "../../examples/ecs-calls.jsonl", "../../examples/calls.csv")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r scan.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	find := func(integration, endpoint string, codes ...string) *scan.Pattern {
		for i, p := range r.Patterns {
			if p.Integration == integration && p.Endpoint == endpoint && slices.Contains(codes, string(p.Surface)+":"+p.Code) {
				return &r.Patterns[i]
			}
		}
		return nil
	}
	incidents := []struct {
		name, integration, endpoint string
		codes                       []string
		family, persistence         string
		status                      int
	}{
		{"401 storm (token)", "crm-sync", "/v2/token", []string{"oauth:invalid_client"}, "auth", scan.Persistent, 401},
		{"401 storm (api)", "crm-sync", "/contacts/v1/contacts", []string{"rest:0"}, "auth", scan.Persistent, 401},
		{"429 on loader", "dw-loader", "/data/v1/async/dataextensions/key:{key}/rows", []string{"rest:50100"}, "rate_limit", scan.Intermittent, 429},
		{"10006 schema mismatch", "dw-loader", "/hub/v1/dataevents/key:{key}/rowset", []string{"rest:10006", "rest:10000"}, "client", scan.Persistent, 400},
		{"500 blip", "journey-api", "/interaction/v1/events", []string{"http:500", "rest:0"}, "server", scan.Intermittent, 500},
		{"transactional 109001", "shop-tx", "/messaging/v1/email/messages", []string{"transactional:109001"}, "client", scan.Intermittent, 202},
		{"SOAP Code 17", "soap-bridge", "/Service.asmx", []string{"soap:17"}, "rate_limit", scan.Intermittent, 500},
		{"SOAP OverallStatus Error", "soap-bridge", "/Service.asmx", []string{"soap:OverallStatus:Error", "soap:Error"}, "client", scan.Intermittent, 200},
		{"504 burst", "journey-api", "/interaction/v1/events", []string{"http:504"}, "timeout", scan.Intermittent, 504},
		{"ECS 403 after scope change", "email-orchestrator", "/data/v1/customobjectdata/key/{key}/rowset", []string{"rest:20002"}, "auth", scan.Persistent, 403},
		{"CSV 504 listing", "nightly-import", "/automation/v1/filetransfers", []string{"http:504"}, "timeout", scan.Persistent, 504},
	}
	for _, in := range incidents {
		p := find(in.integration, in.endpoint, in.codes...)
		if p == nil {
			t.Errorf("%s: no pattern %s %s %v", in.name, in.integration, in.endpoint, in.codes)
			continue
		}
		if string(p.Family) != in.family || p.Persistence != in.persistence || p.HTTPStatus != in.status {
			t.Errorf("%s: got family %s persistence %s status %d, want %s %s %d", in.name, p.Family, p.Persistence, p.HTTPStatus, in.family, in.persistence, in.status)
		}
		if p.Remediation == nil || p.Owner == "" || p.FirstSeen == nil {
			t.Errorf("%s: incomplete pattern %+v", in.name, p)
		}
	}
	if p := find("shop-tx", "/messaging/v1/email/messages", "transactional:109106"); p == nil {
		t.Error("per-recipient 109106 failures not reported")
	}
	wantBad := []scan.BadLine{
		{File: "../../examples/integration-calls.jsonl", Line: 60}, {File: "../../examples/integration-calls.jsonl", Line: 140},
		{File: "../../examples/integration-calls.jsonl", Line: 250}, {File: "../../examples/integration-calls.jsonl", Line: 330},
		{File: "../../examples/ecs-calls.jsonl", Line: 11}, {File: "../../examples/calls.csv", Line: 9},
	}
	if len(r.BadLines) != len(wantBad) || r.Summary.BadLines != int64(len(wantBad)) {
		t.Fatalf("bad lines = %+v", r.BadLines)
	}
	for i, w := range wantBad {
		if g := r.BadLines[i]; g.File != w.File || g.Line != w.Line || g.Reason == "" {
			t.Errorf("bad line %d = %+v, want %s:%d", i, g, w.File, w.Line)
		}
	}
	for _, leak := range []string{"eyJhbGci", "jane.doe"} {
		if strings.Contains(out, leak) {
			t.Errorf("report leaks %q", leak)
		}
	}
}
