package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// True docs: every sfmcwatch command in README.md, docs/ and examples/
// names a real command with real flags; every "METHOD /path" and curl URL
// of sfmcwatch's own HTTP surface hits a route of a running serve (or of
// the simulator for /_sim and /v2/token); the README's push example is
// posted to the documented endpoint and accepted; every YAML block that
// looks like a config parses; nothing is called "reserved".

var docFiles = []string{"../../README.md", "../../docs/*.md", "../../examples/README.md"}

type docSnippet struct {
	file string
	line int
	text string
	code bool // a fenced block line (vs an inline code span)
}

func readDocs(t *testing.T) (snips []docSnippet, yamlBlocks []docSnippet, all map[string]string) {
	t.Helper()
	all = map[string]string{}
	inline := regexp.MustCompile("`([^`]+)`")
	for _, g := range docFiles {
		files, _ := filepath.Glob(g)
		if len(files) == 0 {
			t.Fatalf("no docs at %s", g)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all[f] = string(b)
			var fence string
			var block strings.Builder
			blockStart := 0
			for i, line := range strings.Split(string(b), "\n") {
				trimmed := strings.TrimSpace(line)
				if strings.HasPrefix(trimmed, "```") {
					if fence == "" {
						fence = strings.TrimPrefix(trimmed, "```")
						if fence == "" {
							fence = "plain"
						}
						block.Reset()
						blockStart = i + 2
						continue
					}
					if fence == "yaml" {
						yamlBlocks = append(yamlBlocks, docSnippet{file: f, line: blockStart, text: block.String(), code: true})
					}
					fence = ""
					continue
				}
				if fence != "" {
					block.WriteString(line + "\n")
					snips = append(snips, docSnippet{file: f, line: i + 1, text: line, code: true})
					continue
				}
				for _, m := range inline.FindAllStringSubmatch(line, -1) {
					snips = append(snips, docSnippet{file: f, line: i + 1, text: m[1]})
				}
			}
		}
	}
	return snips, yamlBlocks, all
}

var (
	reInvocation = regexp.MustCompile(`(?:^|[\s$(|;&])(?:sfmcwatch|go run \./cmd/sfmcwatch|bin/sfmcwatch|/tmp/sfmcwatch(?:-ci)?)\s+([a-z][a-z-]*)((?:\s+[^|;&#>]*)?)`)
	reFlag       = regexp.MustCompile(`(?:^|[\s\[])--([a-z][a-z0-9-]*)`)
	reRoute      = regexp.MustCompile(`\b((?:GET|POST|PUT|DELETE|PATCH)(?:\|(?:GET|POST|PUT|DELETE|PATCH))*) (/[A-Za-z0-9_\-./{}:$]*)`)
	reCurlURL    = regexp.MustCompile(`https?://[A-Za-z0-9_.\-]+(?::\d+|:PORT)?(/[A-Za-z0-9_\-./{}:$]*)`)
)

func TestDocsCommandsExist(t *testing.T) {
	snips, _, _ := readDocs(t)
	helps := map[string]string{}
	help := func(args ...string) (string, bool) {
		k := strings.Join(args, " ")
		if h, ok := helps[k]; ok {
			return h, h != ""
		}
		var out, errb bytes.Buffer
		code := Run(context.Background(), append(args, "--help"), IO{In: strings.NewReader(""), Out: &out, Err: &errb})
		h := out.String() + errb.String()
		if code != ExitOK || !strings.Contains(h, "Usage: sfmcwatch "+k) {
			h = ""
		}
		helps[k] = h
		return h, h != ""
	}
	checked := 0
	for _, sn := range snips {
		text := sn.text
		if !sn.code && !strings.HasPrefix(text, "sfmcwatch ") && !strings.HasPrefix(text, "go run ./cmd/sfmcwatch ") {
			continue
		}
		for _, m := range reInvocation.FindAllStringSubmatch(text, -1) {
			cmd, rest := m[1], m[2]
			h, ok := help(cmd)
			if !ok {
				if sn.code || strings.HasPrefix(text, "sfmcwatch "+cmd) {
					t.Errorf("%s:%d: %q: no command %q", sn.file, sn.line, text, cmd)
				}
				continue
			}
			if f := strings.Fields(rest); len(f) > 0 && !strings.HasPrefix(f[0], "-") {
				if sub, ok := help(cmd, f[0]); ok {
					h += sub
				}
			}
			checked++
			for _, fm := range reFlag.FindAllStringSubmatch(rest, -1) {
				if !strings.Contains(h, "-"+fm[1]) {
					t.Errorf("%s:%d: %q: sfmcwatch %s has no flag --%s", sn.file, sn.line, text, cmd, fm[1])
				}
			}
		}
	}
	if checked < 40 {
		t.Errorf("only %d documented invocations found; is the extraction broken?", checked)
	}
}

// sfmcAPIPrefixes are SFMC's own endpoints (documented, not served by
// sfmcwatch; the simulator serves the ones it reads).
var sfmcAPIPrefixes = []string{"/automation/", "/interaction/", "/messaging/", "/data/", "/hub/", "/legacy/", "/platform/",
	"/contacts/", "/Service.asmx", "/address/", "/asset/", "/email/", "/push/", "/sms/", "/etframework.wsdl"}

func TestDocsRoutesExist(t *testing.T) {
	snips, _, all := readDocs(t)
	// A simulator, and serve in front of it with a push source and an ENS source.
	start := time.Now().UTC().Truncate(time.Minute)
	s, err := sim.New(sim.Options{Seed: 9, Start: start, Size: sim.Size{Automations: 2, Journeys: 1, DataExtensions: 2, TriggeredSends: 1, Transactional: 1, Imports: 1}})
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(s.Handler())
	defer simSrv.Close()
	cr := s.Credentials()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ens.key"), []byte("ens-signing-key"), 0o600)
	sum := sha256.Sum256([]byte("doc-token"))
	cfgText := fmt.Sprintf(`storage: {driver: sqlite, path: serve.db}
logging: {level: error}
tenants:
  - name: prod
    auth_url: %[1]s
    rest_url: %[1]s
    soap_url: %[1]s
    client_id: %[2]s
    client_secret: %[3]s
    account_id: "%[4]d"
ingest:
  sources:
    - {name: crm-sync, type: http, tenant: prod, token_sha256: %[5]s}
    - {name: ens-prod, type: ens, tenant: prod, signature_key_file: ens.key}
`, simSrv.URL, cr.ClientID, cr.ClientSecret, cr.MIDs[0], hex.EncodeToString(sum[:]))
	path := filepath.Join(dir, "sfmcwatch.yaml")
	os.WriteFile(path, []byte(cfgText), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &lockedBuf{}, &lockedBuf{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--config", path, "--listen", "127.0.0.1:0"}, IO{Out: out, Err: errb})
	}()
	defer func() { cancel(); <-done }()
	re := regexp.MustCompile(`serving on (http://\S+)`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s %s", out.String(), errb.String())
		}
	}

	exists := func(target, method, p string) (int, bool) {
		p = regexp.MustCompile(`\{[a-z_]*id\}`).ReplaceAllString(p, "1")
		p = strings.ReplaceAll(p, "{source}", "ens-prod")
		p = regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(p, "x")
		p = strings.TrimRight(p, ".:,")
		var body io.Reader
		if method != http.MethodGet && method != http.MethodDelete {
			body = strings.NewReader("{}")
		}
		req, _ := http.NewRequest(method, target+p, body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, p, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// The mux's own answers for a route that does not exist; a handler's
		// 404 for a missing incident is a JSON error and counts as a route.
		missing := resp.StatusCode == http.StatusMethodNotAllowed ||
			(resp.StatusCode == http.StatusNotFound && strings.TrimSpace(string(b)) == "404 page not found")
		return resp.StatusCode, !missing
	}
	check := func(sn docSnippet, method, p string) {
		for _, pre := range sfmcAPIPrefixes {
			if strings.HasPrefix(p, pre) {
				return
			}
		}
		target := base
		if strings.HasPrefix(p, "/_sim/") || p == "/v2/token" {
			target = simSrv.URL
		}
		if p == "/" || p == "" {
			return
		}
		for _, m := range strings.Split(method, "|") {
			if code, ok := exists(target, m, p); !ok {
				t.Errorf("%s:%d: %s %s: no such route (HTTP %d)", sn.file, sn.line, m, p, code)
			}
		}
	}
	routes := 0
	for _, sn := range snips {
		for _, m := range reRoute.FindAllStringSubmatch(sn.text, -1) {
			routes++
			check(sn, m[1], m[2])
		}
		if strings.Contains(sn.text, "curl") {
			method := http.MethodGet
			if strings.Contains(sn.text, "--data") || strings.Contains(sn.text, " -d ") || strings.Contains(sn.text, "-XPOST") || strings.Contains(sn.text, "-X POST") {
				method = http.MethodPost
			}
			for _, m := range reCurlURL.FindAllStringSubmatch(sn.text, -1) {
				if strings.Contains(m[0], "example.com") || strings.Contains(m[0], "marketingcloudapis.com") {
					continue
				}
				routes++
				check(sn, method, m[1])
			}
		}
	}
	if routes < 15 {
		t.Errorf("only %d documented routes found; is the extraction broken?", routes)
	}
	for f, text := range all {
		if strings.Contains(text, "POST /ingest") || strings.Contains(text, "/ingest ") {
			t.Errorf("%s documents POST /ingest; the route is POST /api/v1/events", f)
		}
	}

	// The README's push example, posted as documented.
	calls, err := os.ReadFile("../../examples/integration-calls.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/events", bytes.NewReader(calls))
	req.Header.Set("Authorization", "Bearer doc-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"inserted"`) {
		t.Errorf("POST /api/v1/events with examples/integration-calls.jsonl: HTTP %d %s", resp.StatusCode, b)
	}
}

// Every YAML block in the docs that is (part of) a config parses as one.
func TestDocsYAMLBlocksParse(t *testing.T) {
	_, blocks, _ := readDocs(t)
	env := func(name string) (string, bool) {
		if strings.HasSuffix(name, "_KEY") {
			return "0123456789abcdef0123456789abcdef", true // PagerDuty-shaped
		}
		return "https://example.invalid/" + name, true
	}
	_, crt, key := writeProxyCerts(t, t.TempDir(), []string{"sfmcwatch.example.com"})
	crtPEM, _ := os.ReadFile(crt)
	keyPEM, _ := os.ReadFile(key)
	parsed := 0
	for _, b := range blocks {
		if strings.Contains(b.text, "…") || strings.Contains(b.text, "<") {
			continue // a sketch with placeholders, not a file
		}
		// Fragments (one section) are completed with a tenant so that
		// sections referring to one validate.
		text := dedent(b.text)
		if !strings.Contains(text, "\ntenants:") && !strings.HasPrefix(text, "tenants:") {
			text += "tenants:\n  - {name: prod, subdomain: mc563885gzs27c5t9-63k636ttgm, client_id: x, client_secret: y}\n" +
				"  - {name: acme-parent, subdomain: mc563885gzs27c5t9-63k636ttgm, client_id: x, client_secret: y, account_id: \"2\"}\n"
		}
		dir := t.TempDir()
		for _, f := range []string{"ens-prod.key", "ens-acme.key"} {
			os.WriteFile(filepath.Join(dir, f), []byte("k"), 0o600)
		}
		l := config.Loader{Env: env, ReadFile: func(name string) ([]byte, error) {
			if b, err := os.ReadFile(name); err == nil {
				return b, nil
			}
			switch {
			case strings.HasSuffix(name, ".crt") || strings.HasSuffix(name, ".pem"):
				return crtPEM, nil
			case strings.HasSuffix(name, ".key") && strings.Contains(name, "tls"):
				return keyPEM, nil
			}
			return []byte("file-content"), nil
		}}
		if _, err := l.Parse(filepath.Join(dir, "doc.yaml"), []byte(text)); err != nil {
			t.Errorf("%s:%d: YAML block does not parse as a config:\n%v\n%s", b.file, b.line, err, b.text)
			continue
		}
		parsed++
	}
	if parsed < 3 {
		t.Errorf("only %d YAML blocks parsed", parsed)
	}
}

// No feature is documented as "reserved" (for later): docs describe what exists.
func TestDocsNoReservedFeatures(t *testing.T) {
	_, _, all := readDocs(t)
	for f, text := range all {
		for i, line := range strings.Split(text, "\n") {
			if strings.Contains(strings.ToLower(line), "reserved") {
				t.Errorf("%s:%d: %q", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// dedent removes the indentation every non-empty line shares (blocks inside
// list items are indented).
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	min := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " "))
		if min < 0 || n < min {
			min = n
		}
	}
	for i, l := range lines {
		if len(l) >= min && min > 0 {
			lines[i] = l[min:]
		}
	}
	return strings.Join(lines, "\n")
}
