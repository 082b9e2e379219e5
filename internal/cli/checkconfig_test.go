package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func runConfigCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestCheckConfig(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		code     int
		out, err []string
	}{
		{"valid", []string{"check-config", "--config", "testdata/config-valid.yaml"}, ExitOK,
			[]string{"ok: testdata/config-valid.yaml: 1 tenant(s), 7 monitor(s) enabled, 38 of 39 rules enabled", "warning: testdata/config-valid.yaml:2:5: tenants[0].daily_api_budget"}, nil},
		{"strict with warnings", []string{"check-config", "--strict", "--config", "testdata/config-valid.yaml"}, ExitFindings, []string{"ok:"}, nil},
		{"invalid", []string{"check-config", "--config", "testdata/config-invalid.yaml"}, ExitUsage, nil,
			[]string{
				`error: testdata/config-invalid.yaml:2:5: tenants[0]: client_secret or client_secret_file is required`,
				`error: testdata/config-invalid.yaml:5:5: tenants[0].client_secert: unknown key "client_secert" (did you mean "client_secret"?)`,
				`error: testdata/config-invalid.yaml:7:21: tenants[0].monitors.automations.interval: must be at least 30s, got 10s`,
				"3 problem(s)",
			}},
		{"missing file", []string{"check-config", "--config", "testdata/nope.yaml"}, ExitUsage, nil, []string{"nope.yaml"}},
		{"bad flag", []string{"check-config", "--bogus"}, ExitUsage, nil, nil},
		{"extra args", []string{"check-config", "x.yaml"}, ExitUsage, nil, []string{"unexpected arguments"}},
		{"help", []string{"check-config", "--help"}, ExitOK, []string{"Usage: sfmcwatch check-config"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runConfigCLI(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out, errOut)
			}
			for _, w := range c.out {
				if !strings.Contains(out, w) {
					t.Errorf("stdout misses %q:\n%s", w, out)
				}
			}
			for _, w := range c.err {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr misses %q:\n%s", w, errOut)
				}
			}
		})
	}
}

func TestConfigDump(t *testing.T) {
	const secret = "cli-test-secret-7f1e"
	code, out, errOut := runConfigCLI(t, "config-dump", "--config", "testdata/config-valid.yaml")
	if code != ExitOK || !strings.Contains(out, "client_secret: '***'") || !strings.Contains(out, "interval: 5m") {
		t.Fatalf("yaml dump: exit %d\n%s\n%s", code, out, errOut)
	}
	code, js, _ := runConfigCLI(t, "config-dump", "--format", "json", "--config", "testdata/config-valid.yaml")
	var v struct {
		Tenants []struct {
			ClientSecret   string `json:"client_secret"`
			DailyAPIBudget int    `json:"daily_api_budget"`
		} `json:"tenants"`
	}
	if code != ExitOK || json.Unmarshal([]byte(js), &v) != nil || len(v.Tenants) != 1 ||
		v.Tenants[0].ClientSecret != "***" || v.Tenants[0].DailyAPIBudget != 274 {
		t.Fatalf("json dump: exit %d %+v\n%s", code, v, js)
	}
	if strings.Contains(out+js, secret) {
		t.Error("dump leaks the secret")
	}
	if code, _, _ := runConfigCLI(t, "config-dump", "--format", "toml", "--config", "testdata/config-valid.yaml"); code != ExitUsage {
		t.Errorf("bad format: exit %d", code)
	}
	if code, _, e := runConfigCLI(t, "config-dump", "--config", "testdata/config-invalid.yaml"); code != ExitUsage || !strings.Contains(e, "client_secert") {
		t.Errorf("invalid: exit %d %s", code, e)
	}
}
