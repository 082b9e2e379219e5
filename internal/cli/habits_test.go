package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// Habit: durations accept days and weeks everywhere the CLI takes one.
func TestDurationsAcceptDaysAndWeeks(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90s": 90 * time.Second, "15m": 15 * time.Minute, "36h": 36 * time.Hour,
		"7d": 7 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "1w2d": 9 * 24 * time.Hour,
		"1d12h": 36 * time.Hour, "1w1d1h30m": (8*24+1)*time.Hour + 30*time.Minute,
	} {
		got, err := parseDuration(in)
		if err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "7x", "1d1w", "w", "7 d", "-1d"} {
		if d, err := parseDuration(in); err == nil && in != "-1d" {
			t.Errorf("parseDuration(%q) = %v, want an error", in, d)
		} else if in == "-1d" && d != -24*time.Hour {
			t.Errorf("parseDuration(-1d) = %v", d)
		}
	}
	// Every duration flag of every command goes through it.
	dir := t.TempDir()
	cfg := writeOfflineConfig(t, dir)
	if code, out, errs := runCLI(t, "", "digest", "--config", cfg, "--since", "7d", "--format", "json"); code != ExitOK || !strings.Contains(out, `"period"`) && !strings.Contains(out, "{") {
		t.Errorf("digest --since 7d: exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "", "digest", "--config", cfg, "--since", "1w", "--format", "text"); code != ExitOK {
		t.Errorf("digest --since 1w: exit %d: %s", code, errs)
	}
	if code, out, errs := runCLI(t, "", "silence", "add", "--config", cfg, "--duration", "1w", "--comment", "maintenance", "tenant=sim"); code != ExitOK {
		t.Errorf("silence add --duration 1w: exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "", "scan", "--window", "1d", "--fail-on", "none", "../../examples/integration-calls.jsonl"); code != ExitOK {
		t.Errorf("scan --window 1d: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(t, "", "scan", "--window", "7days", "-"); code != ExitUsage || !strings.Contains(errs, "invalid duration") {
		t.Errorf("scan --window 7days: exit %d: %s", code, errs)
	}
}

// Habit: an argument that looks like a path is read as a file; a missing
// file is exit 2, never "unknown code" (1).
func TestExplainPathLikeArgument(t *testing.T) {
	for _, arg := range []string{"./nosuch.xml", "nosuch.xml", "dir/body.json", "../x"} {
		code, _, errs := runCLI(t, "", "explain", arg)
		if code != ExitUsage || !strings.Contains(errs, "cannot read") {
			t.Errorf("explain %s: exit %d (%q), want 2 and 'cannot read'", arg, code, errs)
		}
	}
	dir := t.TempDir()
	body := filepath.Join(dir, "blocked.json")
	os.WriteFile(body, []byte(`{"message":"Too many requests","errorcode":50200,"documentation":""}`), 0o644)
	if code, out, errs := runCLI(t, "", "explain", "--status", "429", body); code != ExitOK || !strings.Contains(out, "rate_limit") {
		t.Errorf("explain FILE: exit %d\n%s%s", code, out, errs)
	}
	// Codes still are codes.
	if code, _, _ := runCLI(t, "", "explain", "soap:17"); code != ExitOK {
		t.Errorf("explain soap:17: exit %d", code)
	}
}

// Habit: a file in a format scan does not read is an error with a hint,
// not a clean "EMPTY" report.
func TestScanUnknownFormatIsAnError(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"body.xml":   "<soap:Envelope><soap:Body/></soap:Envelope>\n",
		"app.log":    "2026-01-02 10:00:00 INFO started\n2026-01-02 10:00:01 WARN slow\n",
		"other.json": "{\"foo\":1}\n{\"bar\":2}\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		code, _, errs := runCLI(t, "", "scan", p)
		if code != ExitUsage || !strings.Contains(errs, "hint: scan reads JSON lines") {
			t.Errorf("scan %s: exit %d, want 2 with a hint; stderr:\n%s", name, code, errs)
		}
	}
	// An empty file is not an unknown format: clean, exit 0.
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, nil, 0o644)
	if code, _, errs := runCLI(t, "", "scan", empty); code != ExitOK {
		t.Errorf("scan empty: exit %d: %s", code, errs)
	}
}

// writeOfflineConfig writes a config whose SFMC secret comes from an
// environment variable that is not set.
func writeOfflineConfig(t *testing.T, dir string) string {
	t.Helper()
	cfg := filepath.Join(dir, "sfmcwatch.yaml")
	text := fmt.Sprintf(`storage: {driver: sqlite, path: %s}
tenants:
  - name: sim
    auth_url: http://127.0.0.1:8899
    rest_url: http://127.0.0.1:8899
    soap_url: http://127.0.0.1:8899
    client_id: sim-client
    client_secret: ${SFMCWATCH_TEST_UNSET_SECRET_4711}
alerting:
  receivers:
    - {name: team, slack: {webhook_url: "${SFMCWATCH_TEST_UNSET_WEBHOOK_4711}"}}
`, filepath.Join(dir, "s.db"))
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Habit: commands that never call SFMC do not demand its secret.
func TestOfflineCommandsNeedNoSFMCSecret(t *testing.T) {
	dir := t.TempDir()
	cfg := writeOfflineConfig(t, dir)
	for _, args := range [][]string{
		{"user", "--config", cfg, "list"},
		{"silence", "list", "--config", cfg},
		{"config-dump", "--config", cfg},
		{"digest", "--config", cfg, "--format", "text"},
		{"check-config", "--config", cfg},
	} {
		code, out, errs := runCLI(t, "", args...)
		if code != ExitOK || strings.Contains(errs, "is not set") {
			t.Errorf("%v: exit %d, want 0 without the secret\nstdout: %s\nstderr: %s", args, code, out, errs)
		}
	}
	// ack reaches the store (no such incident: 2, but not for the secret).
	if code, _, errs := runCLI(t, "", "ack", "--config", cfg, "42"); code != ExitUsage || !strings.Contains(errs, "no incident 42") {
		t.Errorf("ack: exit %d: %s", code, errs)
	}
	// The offline check says the secret is unset (serve will need it), and
	// --strict turns that warning into exit 1.
	if code, out, _ := runCLI(t, "", "check-config", "--strict", "--config", cfg); code != ExitFindings || !strings.Contains(out, "tenants[0].client_secret") {
		t.Errorf("check-config --strict: exit %d\n%s", code, out)
	}
	// Commands that call SFMC still need it.
	for _, args := range [][]string{
		{"audit", "--config", cfg},
		{"check-config", "--online", "--config", cfg},
	} {
		if code, _, errs := runCLI(t, "", args...); code != ExitUsage || !strings.Contains(errs, "SFMCWATCH_TEST_UNSET_SECRET_4711") {
			t.Errorf("%v: exit %d, want 2 naming the variable: %s", args, code, errs)
		}
	}
	// A problem elsewhere is still an error.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("storage:\n  driver: postgres\n  dsn: ${SFMCWATCH_TEST_UNSET_DSN_4711}\n"), 0o600)
	if code, _, errs := runCLI(t, "", "user", "--config", bad, "list"); code != ExitUsage || !strings.Contains(errs, "SFMCWATCH_TEST_UNSET_DSN_4711") {
		t.Errorf("user list with an unset DSN: exit %d: %s", code, errs)
	}
}

// digest --send builds real channels: no false "no notifier builder" error.
func TestDigestSendLogsNoFalseError(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`storage: {driver: sqlite, path: %s}
alerting:
  receivers:
    - {name: team, webhook: {url: "http://127.0.0.1:9/hook"}}
`, filepath.Join(dir, "d.db"))), 0o600)
	code, _, errs := runCLI(t, "", "digest", "--config", cfg, "--format", "text", "--send", "team")
	if code != ExitOK {
		t.Fatalf("digest --send: exit %d: %s", code, errs)
	}
	if strings.Contains(errs, "ERROR") || strings.Contains(errs, "no notifier builder") {
		t.Errorf("digest --send logged a false error:\n%s", errs)
	}
}

// check-config --online names the missing scope when the simulator denies it.
func TestCheckConfigOnlineNamesMissingScope(t *testing.T) {
	start := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	s, err := sim.New(sim.Options{Seed: 3, Start: start, Now: func() time.Time { return start },
		Size: sim.Size{Automations: 3, Journeys: 2, DataExtensions: 3, TriggeredSends: 2, Transactional: 2, Imports: 2}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c := s.Credentials()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("tenants:\n  - name: sim\n    auth_url: %[1]s\n    rest_url: %[1]s\n    soap_url: %[1]s\n    client_id: %[2]s\n    client_secret: %[3]s\n    account_id: \"%[4]d\"\n",
		srv.URL, c.ClientID, c.ClientSecret, c.MIDs[0])), 0o644)

	code, out, errs := runCLI(t, "", "check-config", "--online", "--config", cfg)
	if code != ExitOK || strings.Count(out, "  ok    ") < 7 || strings.Contains(out, "FAIL") {
		t.Fatalf("healthy tenant: exit %d\n%s%s", code, out, errs)
	}
	for _, p := range []struct{ scope, monitor, permission string }{
		{"journeys_read", "journeys", "Automation › Journeys › Read"},
		{"email_read", "triggered_sends", "Channels › Email › Read"},
		{"data_extensions_read", "data_extensions", "Data › Data Extensions › Read"},
	} {
		id := s.Inject(sim.Fault{Kind: sim.FaultScopeRemoved, Target: p.scope})
		code, out, errs := runCLI(t, "", "check-config", "--online", "--config", cfg)
		if code != ExitFindings {
			t.Errorf("%s denied: exit %d, want 1\n%s%s", p.scope, code, out, errs)
		}
		want := fmt.Sprintf("FAIL  %-15s missing scope %s — tick %q", p.monitor, p.scope, p.permission)
		if !strings.Contains(out, want) {
			t.Errorf("%s denied: output lacks %q:\n%s", p.scope, want, out)
		}
		if !s.Clear(id) {
			t.Fatalf("fault %s not cleared", id)
		}
	}
	// Wrong secret: the credentials, not a scope.
	os.WriteFile(cfg, []byte(fmt.Sprintf("tenants:\n  - name: sim\n    auth_url: %[1]s\n    rest_url: %[1]s\n    soap_url: %[1]s\n    client_id: %[2]s\n    client_secret: wrong-secret\n    account_id: \"%[3]d\"\n",
		srv.URL, c.ClientID, c.MIDs[0])), 0o644)
	if code, out, _ := runCLI(t, "", "check-config", "--online", "--config", cfg); code != ExitFindings || !strings.Contains(out, "credentials refused") {
		t.Errorf("wrong secret: exit %d\n%s", code, out)
	}
	// Unreachable host: said so, not blamed on the credentials.
	srv.Close()
	os.WriteFile(cfg, []byte(fmt.Sprintf("tenants:\n  - name: sim\n    auth_url: %[1]s\n    rest_url: %[1]s\n    soap_url: %[1]s\n    client_id: %[2]s\n    client_secret: x\n    account_id: \"%[3]d\"\n",
		srv.URL, c.ClientID, c.MIDs[0])), 0o644)
	if code, out, _ := runCLI(t, "", "check-config", "--online", "--config", cfg); code != ExitFindings || !strings.Contains(out, "unreachable") {
		t.Errorf("unreachable: exit %d\n%s", code, out)
	}
}

// Habit: long work shows progress on stderr; quick work prints nothing.
func TestProgressOnlyForLongWork(t *testing.T) {
	var mu sync.Mutex
	var b bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return b.Write(p) })
	p := startProgress(w, time.Hour, time.Hour, func(time.Duration) string { return "never" })
	p.Stop()
	p = startProgress(w, 10*time.Millisecond, 10*time.Millisecond, func(time.Duration) string { return "scan: 1 of 2 MB read" })
	time.Sleep(80 * time.Millisecond)
	p.Stop()
	p.Stop() // idempotent
	mu.Lock()
	got := b.String()
	mu.Unlock()
	if strings.Contains(got, "never") || !strings.Contains(got, "scan: 1 of 2 MB read") {
		t.Errorf("progress output %q", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Habit: exit codes are the same across commands — --help 0, a bad flag or
// a missing argument 2.
func TestExitCodesConsistent(t *testing.T) {
	for _, c := range commands() {
		if code, _, _ := runCLI(t, "", c.name, "--help"); code != ExitOK {
			t.Errorf("%s --help: exit %d, want 0", c.name, code)
		}
		if code, _, _ := runCLI(t, "", c.name, "--no-such-flag-xyz"); code != ExitUsage {
			t.Errorf("%s --no-such-flag-xyz: exit %d, want 2", c.name, code)
		}
	}
	for _, args := range [][]string{
		{"audit"}, {"digest"}, {"serve", "--config", "testdata/nope.yaml"}, {"check-config", "--config", "testdata/nope.yaml"},
		{"explain"}, {"scan"}, {"config-dump", "--config", "testdata/nope.yaml"}, {"silence", "list"}, {"ack"},
		{"user", "--config", "testdata/nope.yaml", "list"}, {"nosuchcommand"},
	} {
		if code, _, errs := runCLI(t, "", args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errs)
		}
	}
}

// version shows the version, the commit and the date, stamped or not.
func TestVersionShowsCommitAndDate(t *testing.T) {
	code, out, _ := runCLI(t, "", "version")
	if code != ExitOK || !strings.Contains(out, " commit ") || !strings.Contains(out, " built ") {
		t.Errorf("version: %d %q", code, out)
	}
	oldV, oldC, oldD := Version, Commit, Date
	defer func() { Version, Commit, Date = oldV, oldC, oldD }()
	Version, Commit, Date = "v1.2.3", "0123456789abcdef0123", "2026-01-02T03:04:05Z"
	_, out, _ = runCLI(t, "", "version")
	if !strings.HasPrefix(out, "sfmcwatch v1.2.3 commit 0123456789ab built 2026-01-02T03:04:05Z (go") {
		t.Errorf("stamped version: %q", out)
	}
	_, out, _ = runCLI(t, "", "version", "--json")
	if !strings.Contains(out, `"commit": "0123456789abcdef0123"`) {
		t.Errorf("version --json: %q", out)
	}
}

func TestHealthcheck(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	defer ok.Close()
	if code, out, errs := runCLI(t, "", "healthcheck", "--url", ok.URL+"/healthz"); code != ExitOK {
		t.Errorf("healthy: exit %d %s %s", code, out, errs)
	}
	if code, _, _ := runCLI(t, "", "healthcheck", "--url", ok.URL+"/nope"); code != ExitFindings {
		t.Errorf("404: exit %d, want 1", code)
	}
	ok.Close()
	if code, _, _ := runCLI(t, "", "healthcheck", "--url", ok.URL+"/healthz", "--timeout", "2s"); code != ExitFindings {
		t.Errorf("down: exit %d, want 1", code)
	}
}

// demo --help tells the story internal/demo/story.yaml has now.
func TestDemoHelpMatchesStory(t *testing.T) {
	_, out, _ := runCLI(t, "", "demo", "--help")
	sim, real := demoStoryTimes(120)
	for _, want := range []string{"already broken", "First look:", "covers " + sim + " of simulated time", "about " + real + " of real time"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("demo --help lacks %q:\n%s", want, out)
		}
	}
	if sim == "a few hours" || strings.Contains(out, "seven") || strings.Contains(out, "four real minutes") {
		t.Errorf("demo --help: stale or unknown story length:\n%s", out)
	}
}
