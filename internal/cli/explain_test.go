package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/sharedfixtures"
)

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, IO{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		code, out, errOut := runCLI(t, "", c.name, "--help")
		if code != ExitOK {
			t.Errorf("%s --help exited %d (stderr %q)", c.name, code, errOut)
		}
		if !strings.Contains(out, "Usage: sfmcwatch "+c.name) {
			t.Errorf("%s --help does not print its usage line:\n%s", c.name, out)
		}
	}
	if code, _, _ := runCLI(t, "", "no-such-command"); code != ExitUsage {
		t.Errorf("unknown command exited %d, want %d", code, ExitUsage)
	}
	if code, out, _ := runCLI(t, "", "help"); code != ExitOK || !strings.Contains(out, "explain") {
		t.Errorf("help: code %d out %q", code, out)
	}
}

type explainJSON struct {
	Family      string   `json:"family"`
	Surface     string   `json:"surface"`
	HTTPStatus  int      `json:"http_status"`
	Code        string   `json:"code"`
	Title       string   `json:"title"`
	Owner       string   `json:"owner"`
	Transient   *bool    `json:"transient"`
	Severity    string   `json:"severity"`
	Remediation []string `json:"remediation"`
	IsError     *bool    `json:"is_error"`
	Unknown     bool     `json:"unknown"`
}

func explainJSONOf(t *testing.T, stdin string, args ...string) (explainJSON, int) {
	t.Helper()
	code, out, errOut := runCLI(t, stdin, append([]string{"explain", "--json"}, args...)...)
	var v explainJSON
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("explain %v: output is not one JSON object: %v\n%s\nstderr: %s", args, err, out, errOut)
	}
	if v.Transient == nil || v.IsError == nil || v.Family == "" || v.Owner == "" || v.Title == "" || len(v.Remediation) == 0 || v.Severity == "" {
		t.Errorf("explain %v: missing contract keys: %+v", args, v)
	}
	return v, code
}

func TestExplainCodes(t *testing.T) {
	cases := []struct {
		arg, family, owner string
		transient          bool
	}{
		{"401", "auth", "marketing_ops", false},
		{"403", "auth", "marketing_ops", false},
		{"429", "rate_limit", "infrastructure", true},
		{"504", "timeout", "", true},
		{"408", "timeout", "", true},
		{"soap:17", "rate_limit", "", true},
		{"rest:50200", "rate_limit", "", false},
		{"rest:50100", "rate_limit", "", true},
		{"oauth:invalid_client", "auth", "marketing_ops", false},
		{"transactional:109110", "", "", false},
		{"triggered_send:180008", "client", "", false},
	}
	for _, c := range cases {
		t.Run(c.arg, func(t *testing.T) {
			v, code := explainJSONOf(t, "", c.arg)
			if code != ExitOK {
				t.Errorf("exit %d, want 0 (unknown=%v)", code, v.Unknown)
			}
			if c.family != "" && v.Family != c.family {
				t.Errorf("family %q, want %q", v.Family, c.family)
			}
			if c.owner != "" && v.Owner != c.owner {
				t.Errorf("owner %q, want %q", v.Owner, c.owner)
			}
			if c.family != "" && *v.Transient != c.transient {
				t.Errorf("transient %v, want %v", *v.Transient, c.transient)
			}
		})
	}
}

func TestExplainBodyFromStdin(t *testing.T) {
	body := `{"message":"Not Authorized","errorcode":0,"documentation":"https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/error-handling.htm"}`
	v, _ := explainJSONOf(t, body, "--status", "401", "-")
	if v.Family != "auth" || !*v.IsError {
		t.Errorf("401 Not Authorized body: %+v", v)
	}
}

func TestExplainText(t *testing.T) {
	code, out, _ := runCLI(t, "", "explain", "401")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"family       auth", "owner        marketing_ops", "transient    no", "fix:", "1. "} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestExplainUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"explain"},
		{"explain", "a", "b"},
		{"explain", "--surface", "nope", "17"},
		{"explain", "--no-such-flag", "401"},
	} {
		if code, _, _ := runCLI(t, "", args...); code != ExitUsage {
			t.Errorf("%v exited %d, want %d", args, code, ExitUsage)
		}
	}
	// An unknown code is reported (exit 1) with a fallback, not an error.
	v, code := explainJSONOf(t, "", "--status", "500", "rest:987654")
	if code != ExitFindings || !v.Unknown || v.Family != "server" {
		t.Errorf("unknown code: exit %d %+v", code, v)
	}
}

// TestExplainEveryFixture decodes every recorded SFMC response body: each
// must yield a family, an owner, a transient flag and concrete remediation.
func TestExplainEveryFixture(t *testing.T) {
	root := sharedfixtures.Fixtures(t)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".xml")) {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		t.Run(rel, func(t *testing.T) {
			body, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			v, code := explainJSONOf(t, string(body), "-")
			if code == ExitUsage {
				t.Errorf("usage error")
			}
			_ = v
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
