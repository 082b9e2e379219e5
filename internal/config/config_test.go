package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

var update = flag.Bool("update", false, "rewrite golden files and docs/CONFIG.md")

const testSecret = "s3cr3t-Value-9f2c"

// testEnv is the environment of the golden tests.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{
		"SFMC_SECRET":  testSecret,
		"PG_PASSWORD":  testSecret + "-pg",
		"EXTERNAL_URL": "https://watch.example.com",
		"CRM_TOKEN":    testSecret + "-crm",
	}[name]
	return v, ok
}

// testFiles serves *_file secrets of the golden tests.
func testFiles(name string) ([]byte, error) {
	switch filepath.ToSlash(name) {
	case "testdata/secrets/client", "testdata/invalid/secrets/client":
		return []byte(testSecret + "-file\n"), nil
	case "testdata/secrets/ens":
		return []byte(testSecret + "-ens\r\n"), nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

var testLoader = Loader{Env: testEnv, ReadFile: testFiles}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestInvalidGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/invalid/*.yaml")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := testLoader.Parse(f, data)
			if err == nil {
				t.Fatalf("parsed without error: %+v", cfg)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			for _, p := range ce.Problems {
				if p.File != f || p.Message == "" {
					t.Errorf("problem without file or message: %+v", p)
				}
				if p.Line == 0 && !strings.Contains(p.Message, "invalid YAML") {
					t.Errorf("problem without line: %s", p)
				}
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error contains the secret:\n%v", err)
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", []byte(err.Error()+"\n"))
		})
	}
}

func TestValidDumpGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := testLoader.Parse("testdata/valid.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Tenants[0].ClientSecret.Reveal(); got != testSecret {
		t.Errorf("client_secret = %q", got)
	}
	if got := cfg.Tenants[1].ClientSecret.Reveal(); got != "literal-${NOT_ENV}" {
		t.Errorf("escaped secret = %q", got)
	}
	if got := cfg.Storage.DSN.Reveal(); got != "postgres://watch:"+testSecret+"-pg@db:5432/sfmcwatch" {
		t.Errorf("dsn = %q", got)
	}
	if got := cfg.Ingest.Sources[2].SignatureKey.Reveal(); got != testSecret+"-ens" {
		t.Errorf("signature_key from file = %q (trailing CRLF must be trimmed)", got)
	}
	if got := cfg.Ingest.Sources[1].Path; got != filepath.Join("testdata", "logs", "etl.jsonl") {
		t.Errorf("relative path not resolved: %q", got)
	}
	if cfg.Tenants[1].Monitors.DataExtensions.Interval != Duration(30*time.Minute) || cfg.Tenants[1].Monitors.Audit.Enabled {
		t.Errorf("alias or inherited monitors wrong: %+v", cfg.Tenants[1].Monitors)
	}
	if cfg.Tenants[0].IsCritical("data_extension", "Orders_Daily") {
		t.Error("object override critical: false should win over the monitor's critical list")
	}
	if cfg.Tenants[0].Location().String() != "Europe/Berlin" {
		t.Errorf("location = %v", cfg.Tenants[0].Location())
	}
	if e := cfg.Tenants[0].Endpoints(); e.SOAP != "https://mc563885gzs27c5t9-63k636ttgm.soap.marketingcloudapis.com" {
		t.Errorf("endpoints = %+v", e)
	}
	var yml, js bytes.Buffer
	if err := Dump(&yml, cfg); err != nil {
		t.Fatal(err)
	}
	if err := DumpJSON(&js, cfg); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"yaml": yml.String(), "json": js.String()} {
		if strings.Contains(out, testSecret) {
			t.Errorf("%s dump contains a secret:\n%s", name, out)
		}
		if !strings.Contains(out, "***") {
			t.Errorf("%s dump shows no masked secret", name)
		}
	}
	if !json.Valid(js.Bytes()) {
		t.Errorf("DumpJSON is not JSON:\n%s", js.String())
	}
	golden(t, "testdata/valid.dump.golden", yml.Bytes())
	warnings := ""
	for _, w := range cfg.Warnings {
		warnings += w.String() + "\n"
	}
	golden(t, "testdata/valid.warnings.golden", []byte(warnings))

	// The dump parses again (masked secrets become the literal "***").
	if _, err := Parse("testdata/dump.yaml", yml.Bytes(), nil); err != nil {
		t.Errorf("dump does not parse back: %v", err)
	}
}

func TestDefaultsFilled(t *testing.T) {
	cfg, err := Parse("min.yaml", []byte(`
tenants:
  - name: a
    subdomain: abc
    client_id: c
    client_secret: s
    edition: pro
    monitors:
      journeys: {interval: 10m}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	tn := cfg.Tenants[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"storage.driver", cfg.Storage.Driver, "sqlite"},
		{"storage.path", cfg.Storage.Path, "sfmcwatch.db"},
		{"retention.events", cfg.Storage.Retention.Events, Duration(30 * day)},
		{"server.listen", cfg.Server.Listen, "127.0.0.1:8080"},
		{"logging.level", cfg.Logging.Level, "info"},
		{"budget from edition", tn.DailyAPIBudget, int64(274)},
		{"timezone", tn.Timezone, "UTC"},
		{"automations interval", tn.Monitors.Automations.Interval, Duration(5 * time.Minute)},
		{"journeys interval override", tn.Monitors.Journeys.Interval, Duration(10 * time.Minute)},
		{"journeys enabled kept", tn.Monitors.Journeys.Enabled, true},
		{"api.errors window", cfg.Rules.APIErrors.Window, Duration(15 * time.Minute)},
		{"api.errors consecutive", cfg.Rules.APIErrors.Consecutive, 5},
		{"automation.error consecutive", cfg.Rules.AutomationError.Consecutive, 2},
		{"automation.error ratio", cfg.Rules.AutomationError.Ratio, Ratio(0.5)},
		{"automation.error last_runs", cfg.Rules.AutomationError.LastRuns, 6},
		{"automation.stalled factor", cfg.Rules.AutomationStalled.P95Factor, 1.5},
		{"row_drop error", cfg.Rules.DataExtensionRowDrop.ErrorDrop, Ratio(0.5)},
		{"stale factors", [2]float64{cfg.Rules.DataExtensionStale.WarnFactor, cfg.Rules.DataExtensionStale.ErrorFactor}, [2]float64{1.5, 2}},
		{"tenant.blind severity", cfg.Rules.TenantBlind.Severity, catalog.Critical},
		{"ingest max body", cfg.Ingest.MaxBodySize, Size(10 << 20)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if n := len(cfg.Rules.All()); n != 39 {
		t.Errorf("%d rules, want 39", n)
	}
	for _, r := range cfg.Rules.All() {
		if !r.Base.Enabled || r.Base.Severity.Rank() == 0 {
			t.Errorf("rule %s: %+v", r.ID, *r.Base)
		}
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].Message, "more than the budget of 274") {
		t.Errorf("want one budget warning, got %v", cfg.Warnings)
	}
	// Default validates on its own, and the empty file gives it.
	empty, err := Parse("empty.yaml", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(empty.Warnings) != 1 || empty.Warnings[0].Path != "tenants" {
		t.Errorf("empty config warnings: %v", empty.Warnings)
	}
}

func tenantYAML(extra string) []byte {
	return []byte("tenants:\n  - name: a\n    subdomain: abc\n    client_id: c\n" + extra)
}

func TestEnvExpansionOnlyInSecretAndURLFields(t *testing.T) {
	env := func(name string) (string, bool) {
		if name == "X" {
			return "from-env", true
		}
		return "", false
	}
	cases := []struct {
		name, yaml, wantErr string
		check               func(*Config) string
	}{
		{name: "secret", yaml: "    client_secret: ${X}\n", check: func(c *Config) string { return c.Tenants[0].ClientSecret.Reveal() }},
		{name: "secret escaped", yaml: "    client_secret: a$${X}b\n", check: func(c *Config) string { return c.Tenants[0].ClientSecret.Reveal() }},
		{name: "secret with lone dollar", yaml: "    client_secret: pa$word$\n", check: func(c *Config) string { return c.Tenants[0].ClientSecret.Reveal() }},
		{name: "missing var", yaml: "    client_secret: ${NOPE}\n", wantErr: "tenants[0].client_secret: environment variable NOPE is not set"},
		{name: "unterminated", yaml: "    client_secret: ${X\n", wantErr: "unterminated ${"},
		{name: "plain string field", yaml: "    client_secret: s\n    timezone: ${X}\n", wantErr: "min.yaml:6:15: tenants[0].timezone: environment references (${X}) are only expanded in secret and URL fields"},
		{name: "client_id is not a secret", yaml: "    client_secret: s\n    account_id: ${X}\n", wantErr: "only expanded in secret and URL fields"},
		{name: "duration field", yaml: "    client_secret: s\n    monitors: {audit: {interval: '${X}'}}\n", wantErr: "tenants[0].monitors.audit.interval: environment references"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("min.yaml", tenantYAML(c.yaml), env)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"secret": "from-env", "secret escaped": "a${X}b", "secret with lone dollar": "pa$word$"}[c.name]
			if got := c.check(cfg); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
	// URL fields expand too.
	cfg, err := Parse("u.yaml", []byte(`
server: {external_url: "https://${X}.example.com"}
tenants:
  - {name: a, auth_url: "http://127.0.0.1:1", rest_url: "https://${X}.example.com", soap_url: "https://s.example.com", client_id: c, client_secret: s}
`), env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.ExternalURL != "https://from-env.example.com" || cfg.Tenants[0].RestURL != "https://from-env.example.com" {
		t.Errorf("URL expansion: %q %q", cfg.Server.ExternalURL, cfg.Tenants[0].RestURL)
	}
}

func TestSecretFileTwins(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("from-file\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(body string) string {
		p := filepath.Join(dir, "sfmcwatch.yaml")
		if err := os.WriteFile(p, tenantYAML(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Relative to the config file's directory.
	cfg, err := Load(write("    client_secret_file: secret\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Tenants[0].ClientSecret.Reveal(); got != "from-file" {
		t.Errorf("secret = %q", got)
	}
	if !filepath.IsAbs(cfg.Storage.Path) || filepath.Dir(cfg.Storage.Path) != dir {
		t.Errorf("storage.path = %q, want it in %s", cfg.Storage.Path, dir)
	}
	for _, c := range []struct{ body, want string }{
		{"    client_secret: x\n    client_secret_file: secret\n", "tenants[0].client_secret_file: set either client_secret or client_secret_file, not both"},
		{"    client_secret_file: nope\n", "tenants[0].client_secret_file: cannot read secret file: open " + filepath.Join(dir, "nope")},
		{"    client_secret_file: empty\n", "tenants[0].client_secret_file: secret file " + filepath.Join(dir, "empty") + " is empty"},
		{"    client_secret_file: ${X}\n", "only expanded in secret and URL fields"},
		{"    client_secret: s\n    client_id_file: x\n", `unknown key "client_id_file"`},
	} {
		_, err := Load(write(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("body %q: err = %v, want %q", c.body, err, c.want)
		}
	}
}

func TestSecretNeverLeaks(t *testing.T) {
	data, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := testLoader.Parse("testdata/valid.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %+v %#v %s %q %x %d\n", cfg, cfg, cfg, cfg.Tenants[0].ClientSecret,
		cfg.Tenants[0].ClientSecret, cfg.Tenants[0].ClientSecret, cfg.Tenants[0].ClientSecret)
	fmt.Fprintf(&out, "%v %+v\n", *cfg, cfg.Tenants)
	for _, h := range []slog.Handler{slog.NewTextHandler(&out, nil), slog.NewJSONHandler(&out, nil)} {
		l := slog.New(h)
		l.Info("cfg", "secret", cfg.Tenants[0].ClientSecret, "tenant", cfg.Tenants[0], "storage", cfg.Storage)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(b)
	if err := Dump(&out, cfg); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), testSecret) {
		t.Fatalf("secret leaked:\n%s", out.String())
	}
	if got := cfg.Tenants[0].ClientSecret.String(); got != "***" {
		t.Errorf("String() = %q", got)
	}
	// Errors of a config holding secrets do not contain them.
	bad := strings.Replace(string(data), "timezone: Europe/Berlin", "timezone: ${SFMC_SECRET}", 1)
	bad = strings.Replace(bad, "client_id: sim-client", "client_id: sim-client\n    bogus: ${SFMC_SECRET}", 1)
	_, err = testLoader.Parse("testdata/valid.yaml", []byte(bad))
	if err == nil || strings.Contains(err.Error(), testSecret) {
		t.Errorf("error leaks or is missing: %v", err)
	}
}

func TestUnknownKeySuggestion(t *testing.T) {
	for _, c := range []struct{ key, want string }{
		{"intervall", "interval"}, {"Interval", "interval"}, {"client-secret", "client_secret"},
		{"client_secert", "client_secret"}, {"automation.errors", "automation.error"}, {"zzz", ""},
	} {
		got := suggest(c.key, []string{"interval", "client_secret", "client_id", "automation.error", "enabled"})
		if got != c.want {
			t.Errorf("suggest(%q) = %q, want %q", c.key, got, c.want)
		}
	}
}

func TestMergeKeysAndAliases(t *testing.T) {
	cfg, err := Parse("m.yaml", []byte(`
tenants:
  - &base {name: a, subdomain: abc, client_id: c, client_secret: s, edition: pro}
  - <<: *base
    name: b
    edition: corporate
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := cfg.Tenants[1]; b.Name != "b" || b.ClientID != "c" || b.DailyAPIBudget != 822 {
		t.Errorf("merged tenant = %+v", b)
	}
}

func TestScalarTypes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5m", 5 * time.Minute, true}, {"90s", 90 * time.Second, true}, {"1d", day, true},
		{"7d", 7 * day, true}, {"1d12h", 36 * time.Hour, true}, {"-5m", 0, false},
		{"-1d", 0, false}, {"d", 0, false}, {"5", 0, false}, {"1d-1h", 0, false}, {"", 0, false},
	} {
		got, err := ParseDuration(c.in)
		if (err == nil) != c.ok || (c.ok && got.Std() != c.want) {
			t.Errorf("ParseDuration(%q) = %v, %v", c.in, got, err)
		}
		if c.ok {
			back, err := ParseDuration(got.String())
			if err != nil || back != got {
				t.Errorf("round trip %q -> %q -> %v, %v", c.in, got.String(), back, err)
			}
		}
	}
	for in, want := range map[string]string{"1h30m": "1h30m", "2h": "2h", "36h": "1d12h", "90s": "1m30s", "0s": "0s"} {
		d, _ := ParseDuration(in)
		if d.String() != want {
			t.Errorf("Duration(%s).String() = %q, want %q", in, d.String(), want)
		}
	}
	for in, want := range map[string]int64{"512": 512, "10MiB": 10 << 20, "1GB": 1e9, "64 KiB": 64 << 10, "3kb": 3000} {
		got, err := ParseSize(in)
		if err != nil || int64(got) != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for in, want := range map[string]float64{"5%": 0.05, "0.5": 0.5, "100%": 1, "0": 0} {
		got, err := ParseRatio(in)
		if err != nil || float64(got) != want {
			t.Errorf("ParseRatio(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"150%", "-0.1", "x", "NaN"} {
		if _, err := ParseRatio(in); err == nil {
			t.Errorf("ParseRatio(%q) accepted", in)
		}
	}
}

func TestReference(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReference(&buf); err != nil {
		t.Fatal(err)
	}
	rules := DefaultRules()
	for _, r := range rules.All() {
		if !strings.Contains(buf.String(), "`rules."+r.ID+".severity`") {
			t.Errorf("reference misses rule %s", r.ID)
		}
	}
	golden(t, "../../docs/CONFIG.md", buf.Bytes())
}

func TestExampleConfigIsValid(t *testing.T) {
	env := func(name string) (string, bool) {
		if name == "SFMCWATCH_SIM_SECRET" {
			return "sim-secret", true
		}
		return "", false
	}
	cfg, err := Loader{Env: env}.Load("../../examples/sfmcwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("example has warnings: %v", cfg.Warnings)
	}
	if e := cfg.Tenants[0].Endpoints(); e.Auth != "http://127.0.0.1:8899" {
		t.Errorf("example endpoints: %+v", e)
	}
}

func TestDampingPrecedence(t *testing.T) {
	cfg, err := Parse("d.yaml", []byte("incidents: {resolve_after: 20m, clear_evaluations: 3}\nrules:\n  api.errors: {resolve_after: 1m}\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if after, n := cfg.Damping("api.errors"); after != time.Minute || n != 3 {
		t.Errorf("api.errors: %v %d, want 1m 3", after, n)
	}
	if after, n := cfg.Damping("tenant.blind"); after != 20*time.Minute || n != 3 {
		t.Errorf("tenant.blind: %v %d, want 20m 3", after, n)
	}
	def := Default()
	if after, n := def.Damping("tenant.blind"); after != DefaultResolveAfter || n != DefaultClearEvaluations {
		t.Errorf("defaults: %v %d", after, n)
	}
	_, err = Parse("d.yaml", []byte("incidents: {resolve_after: -1m}\n"), func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "incidents.resolve_after") {
		t.Errorf("negative resolve_after: %v", err)
	}
}
