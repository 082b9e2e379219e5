package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
	"github.com/sfmcwatch/sfmcwatch/internal/web"
	"github.com/sfmcwatch/sfmcwatch/internal/web/webtest"
)

var seedNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

type fixture struct {
	srv    *httptest.Server
	st     store.Store
	seeded *webtest.Result
}

// seedTemplate is a seeded SQLite file made once per test binary; each
// fixture works on its own copy.
var seedTemplate = sync.OnceValues(func() (tmpl, error) {
	dir, err := os.MkdirTemp("", "sfmcwatch-webtest-")
	if err != nil {
		return tmpl{}, err
	}
	path := filepath.Join(dir, "seed.db")
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: path}, nil)
	if err != nil {
		return tmpl{}, err
	}
	res, err := webtest.Seed(ctx, st, webtest.Options{Now: seedNow, Days: 2, EventsPerHour: 40,
		Size: webtest.Size{Automations: 8, Journeys: 4, DataExtensions: 12, TriggeredSends: 6, Transactional: 2, Imports: 6}})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return tmpl{dir: dir, path: path, res: res}, err
})

type tmpl struct {
	dir, path string
	res       *webtest.Result
}

func TestMain(m *testing.M) {
	code := m.Run()
	if t, err := seedTemplate(); err == nil && t.dir != "" {
		os.RemoveAll(t.dir)
	}
	os.Exit(code)
}

// newFixture serves a copy of the seeded store on loopback with the clock
// at the end of the seeded history. users: name → role (password
// "password-<name>").
func newFixture(t *testing.T, users map[string]string, extra func(*web.Options)) *fixture {
	t.Helper()
	t.Parallel()
	ctx := context.Background()
	tp, err := seedTemplate()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "w.db")
	b, err := os.ReadFile(tp.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	res := tp.res
	for name, role := range users {
		hash, err := web.HashPassword("password-" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateUser(ctx, store.User{Name: name, Role: role, PasswordHash: hash}, seedNow); err != nil {
			t.Fatal(err)
		}
	}
	o := web.Options{Store: st, Clock: func() time.Time { return seedNow }}
	if extra != nil {
		extra(&o)
	}
	srv := httptest.NewServer(web.New(o).Handler())
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, st: st, seeded: res}
}

func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, u string, body io.Reader, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func form(vals url.Values) (io.Reader, map[string]string) {
	return strings.NewReader(vals.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
}

func login(t *testing.T, f *fixture, name string) *http.Client {
	t.Helper()
	c := client(t)
	body, hdr := form(url.Values{"username": {name}, "password": {"password-" + name}, "next": {"/incidents"}})
	resp, _ := do(t, c, "POST", f.srv.URL+"/login", body, hdr)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/incidents" {
		t.Fatalf("login %s: %d → %q", name, resp.StatusCode, resp.Header.Get("Location"))
	}
	return c
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t, map[string]string{"ana": store.RoleAdmin, "vic": store.RoleViewer}, nil)
	anon := client(t)
	id := f.seeded.Open[0]
	ack := f.srv.URL + "/api/v1/incidents/" + itoa(id) + "/acknowledge"

	// Users exist: nothing is open, not even on loopback.
	if resp, body := do(t, anon, "GET", f.srv.URL+"/api/v1/incidents", nil, nil); resp.StatusCode != 401 || !strings.Contains(body, "Bearer") {
		t.Errorf("anonymous API: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, anon, "GET", f.srv.URL+"/incidents?status=open", nil, nil); resp.StatusCode != 303 ||
		resp.Header.Get("Location") != "/login?next=%2Fincidents%3Fstatus%3Dopen" {
		t.Errorf("anonymous page: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, p := range []string{"/healthz", "/readyz", "/login", "/api/v1/openapi.json"} {
		if resp, _ := do(t, anon, "GET", f.srv.URL+p, nil, nil); resp.StatusCode != 200 {
			t.Errorf("public %s: %d", p, resp.StatusCode)
		}
	}

	// The session cookie.
	body, hdr := form(url.Values{"username": {"ana"}, "password": {"password-ana"}})
	resp, _ := do(t, client(t), "POST", f.srv.URL+"/login", body, hdr)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "sfmcwatch_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || cookie.MaxAge <= 0 {
		t.Fatalf("session cookie = %+v", cookie)
	}
	if resp.Header.Get("Location") != "/" {
		t.Errorf("login without next goes to %q", resp.Header.Get("Location"))
	}
	// Offsite next is ignored.
	body, hdr = form(url.Values{"username": {"ana"}, "password": {"password-ana"}, "next": {"//evil.example/x"}})
	if resp, _ := do(t, client(t), "POST", f.srv.URL+"/login", body, hdr); resp.Header.Get("Location") != "/" {
		t.Errorf("offsite next followed: %q", resp.Header.Get("Location"))
	}

	// Roles: a viewer reads, cannot act.
	vic := login(t, f, "vic")
	if resp, _ := do(t, vic, "GET", f.srv.URL+"/api/v1/incidents", nil, nil); resp.StatusCode != 200 {
		t.Errorf("viewer read: %d", resp.StatusCode)
	}
	if resp, _ := do(t, vic, "POST", ack, nil, nil); resp.StatusCode != 403 {
		t.Errorf("viewer acknowledge: %d, want 403", resp.StatusCode)
	}
	if resp, _ := do(t, vic, "POST", f.srv.URL+"/incidents/"+itoa(id)+"/acknowledge", nil, nil); resp.StatusCode != 403 {
		t.Errorf("viewer acknowledge form: %d, want 403", resp.StatusCode)
	}
	ana := login(t, f, "ana")
	// Cross-origin form posts are refused (CSRF).
	if resp, _ := do(t, ana, "POST", f.srv.URL+"/incidents/"+itoa(id)+"/acknowledge", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.StatusCode != 403 {
		t.Errorf("cross-site POST: %d, want 403", resp.StatusCode)
	}
	if resp, _ := do(t, ana, "POST", f.srv.URL+"/incidents/"+itoa(id)+"/acknowledge", nil, map[string]string{"Sec-Fetch-Site": "same-origin"}); resp.StatusCode != 303 {
		t.Errorf("same-origin acknowledge: %d, want 303", resp.StatusCode)
	}
	inc, _ := f.st.GetIncident(context.Background(), id)
	if inc.AcknowledgedBy != "ana" {
		t.Errorf("acknowledged by %q", inc.AcknowledgedBy)
	}

	// API tokens.
	tok, _, err := web.CreateAPIToken(context.Background(), f.st, "ana", "ci", 0, seedNow)
	if err != nil || !strings.HasPrefix(tok, web.APITokenPrefix) {
		t.Fatalf("CreateAPIToken = %q, %v", tok, err)
	}
	if resp, body := do(t, anon, "GET", f.srv.URL+"/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + tok}); resp.StatusCode != 200 || !strings.Contains(body, `"via": "token"`) {
		t.Errorf("bearer: %d %s", resp.StatusCode, body)
	}
	if resp, body := do(t, anon, "GET", f.srv.URL+"/api/v1/me", nil, map[string]string{"Authorization": "Bearer nope"}); resp.StatusCode != 401 || strings.Contains(body, "nope") {
		t.Errorf("bad bearer: %d %s", resp.StatusCode, body)
	}

	// Logout ends the session server-side.
	do(t, ana, "POST", f.srv.URL+"/logout", nil, nil)
	if resp, _ := do(t, anon, "GET", f.srv.URL+"/api/v1/me", nil, map[string]string{"Cookie": "sfmcwatch_session=" + cookie.Value}); resp.StatusCode != 200 {
		t.Errorf("other session ended by a different logout: %d", resp.StatusCode)
	}
	if resp, _ := do(t, ana, "GET", f.srv.URL+"/api/v1/me", nil, nil); resp.StatusCode != 401 {
		t.Errorf("after logout: %d, want 401", resp.StatusCode)
	}
}

func TestLoginThrottle(t *testing.T) {
	f := newFixture(t, map[string]string{"ana": store.RoleAdmin}, nil)
	c := client(t)
	try := func(pw string) *http.Response {
		body, hdr := form(url.Values{"username": {"ana"}, "password": {pw}})
		resp, page := do(t, c, "POST", f.srv.URL+"/login", body, hdr)
		if strings.Contains(page, pw) && pw != "" {
			t.Errorf("the login page echoes the password")
		}
		return resp
	}
	for i := range 5 {
		if resp := try("wrong-password-" + itoa(int64(i))); resp.StatusCode != 401 {
			t.Fatalf("attempt %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp := try("password-ana") // even the right password is refused while locked
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("locked out: %d retry-after %q, want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestOpenModeOnlyWithoutUsers(t *testing.T) {
	f := newFixture(t, nil, nil)
	resp, body := do(t, client(t), "GET", f.srv.URL+"/api/v1/me", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"via": "local"`) {
		t.Errorf("no users, loopback: %d %s", resp.StatusCode, body)
	}
	if resp, page := do(t, client(t), "GET", f.srv.URL+"/", nil, nil); resp.StatusCode != 200 || !strings.Contains(page, "No users exist yet") {
		t.Errorf("open mode banner missing: %d", resp.StatusCode)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080": "127.0.0.1:8080", ":8080": "127.0.0.1:8080", "0.0.0.0:9": "127.0.0.1:9",
		"[::1]:80": "[::1]:80", "10.1.2.3:80": "127.0.0.1:80", "localhost:1": "localhost:1",
	} {
		if got := web.LoopbackOnly(in); got != want {
			t.Errorf("LoopbackOnly(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := web.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash = %q", h)
	}
	if !web.CheckPassword(h, "correct horse") || web.CheckPassword(h, "correct horsE") || web.CheckPassword("", "") {
		t.Error("CheckPassword is wrong")
	}
	h2, _ := web.HashPassword("correct horse")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	if _, err := web.HashPassword("short"); err == nil {
		t.Error("short password accepted")
	}
}

func FuzzCheckPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "pw")
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=1$$", "")
	f.Add("$bcrypt$", "x")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		_ = web.CheckPassword(hash, pw) // must not panic or allocate unbounded memory
	})
}

func TestPagesRender(t *testing.T) {
	f := newFixture(t, nil, nil)
	c := client(t)
	drift := itoa(f.seeded.SchemaDrift)
	for _, tc := range []struct{ path, want string }{
		{"/", "Business units"},
		{"/", " · database "},
		{"/incidents", "Incidents"},
		{"/incidents?status=open&family=client", "Orders_001 schema changed"},
		{"/incidents/" + drift, "removed field Total"},
		{"/errors", "By integration and endpoint"},
		{"/errors?range=30d&family=auth", "http:401"},
		{"/errors/events?range=7d&family=auth", "Not Authorized"},
		{"/objects", "Nightly load 3"},
		{"/objects?type=data_extension", "Freshness vs SLA"},
		{"/objects?type=journey", "entries (cumulative)"},
		{"/objects?type=triggered_send", "sent (cumulative)"},
		{"/decoder?q=rest:50200", "rate_limit"},
		{"/decoder?q=Token%20Expired", "Catalog entries matching"},
		{"/scan", "Log scan"},
		{"/silences", "New silence"},
		{"/config", "without a configuration file"},
	} {
		resp, page := do(t, c, "GET", f.srv.URL+tc.path, nil, map[string]string{"Accept": "text/html"})
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", tc.path, resp.StatusCode)
			continue
		}
		for _, bad := range []string{"ZgotmplZ", "jane.doe@example.com", "eyJhbGciOiJIUzI1NiJ9.secret", "<no value>"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s contains %q", tc.path, bad)
			}
		}
		if !strings.Contains(page, tc.want) {
			t.Errorf("%s does not show %q", tc.path, tc.want)
		}
		if !strings.Contains(page, "<h1") || !strings.Contains(page, `lang="en"`) {
			t.Errorf("%s: no h1 or lang", tc.path)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP %q", tc.path, csp)
		}
	}
	// Bad input gets a clear 400, not a 500.
	for _, p := range []string{"/incidents?status=maybe", "/errors?range=forever", "/objects?type=widget", "/incidents/abc"} {
		if resp, page := do(t, c, "GET", f.srv.URL+p, nil, nil); resp.StatusCode != 400 || !strings.Contains(page, "Cannot") {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := do(t, c, "GET", f.srv.URL+"/incidents/99999", nil, nil); resp.StatusCode != 404 {
		t.Errorf("missing incident: %d", resp.StatusCode)
	}
}

func TestScanAndSilenceForms(t *testing.T) {
	f := newFixture(t, nil, nil)
	c := client(t)
	log := `{"ts":"2026-03-02T10:00:00Z","integration":"loader","method":"POST","url":"/hub/v1/dataevents/key:Orders/rowset","status":401,"body":"{\"access_token\":\"abcdefghijklmnopqrstuvwxyz\"}"}
not json at all
{"ts":"2026-03-02T10:01:00Z","integration":"loader","method":"POST","url":"/hub/v1/dataevents/key:Orders/rowset","status":200}
`
	body, hdr := form(url.Values{"lines": {log}})
	// The scan form is multipart; a urlencoded post is refused clearly.
	if resp, _ := do(t, c, "POST", f.srv.URL+"/scan", body, hdr); resp.StatusCode != 400 {
		t.Errorf("urlencoded scan: %d", resp.StatusCode)
	}
	var mp bytes.Buffer
	mw := newMultipart(&mp, map[string]string{"lines": log, "window": "15m", "consecutive": "5"})
	resp, page := do(t, c, "POST", f.srv.URL+"/scan", &mp, map[string]string{"Content-Type": mw})
	if resp.StatusCode != 200 || !strings.Contains(page, "Report for pasted lines") || !strings.Contains(page, "1 unreadable line") {
		t.Errorf("scan: %d", resp.StatusCode)
	}
	if strings.Contains(page, "abcdefghijklmnopqrstuvwxyz") {
		t.Error("scan report shows the access token")
	}

	// Silences: a bad regular expression is reported, the form kept.
	body, hdr = form(url.Values{"label": {"rule", ""}, "op": {"=~", "="}, "value": {"api.(", ""}, "duration": {"2h"}, "comment": {"maintenance"}})
	resp, page = do(t, c, "POST", f.srv.URL+"/silences", body, hdr)
	if resp.StatusCode != 400 || !strings.Contains(page, "invalid regular expression") || !strings.Contains(page, `value="api.("`) {
		t.Errorf("bad silence: %d", resp.StatusCode)
	}
	body, hdr = form(url.Values{"label": {"rule", "tenant"}, "op": {"=", "="}, "value": {"api.errors", "acme-bu"}, "duration": {"2h"}, "comment": {"maintenance"}})
	if resp, _ := do(t, c, "POST", f.srv.URL+"/silences", body, hdr); resp.StatusCode != 303 {
		t.Fatalf("create silence: %d", resp.StatusCode)
	}
	var list struct {
		Silences []struct {
			ID    int64  `json:"id"`
			State string `json:"state"`
		} `json:"silences"`
	}
	get(t, f.srv.URL+"/api/v1/silences", 200, &list)
	if len(list.Silences) != 1 || list.Silences[0].State != "active" {
		t.Fatalf("silences = %+v", list)
	}
	if resp, _ := do(t, c, "POST", f.srv.URL+"/silences/"+itoa(list.Silences[0].ID)+"/expire", nil, nil); resp.StatusCode != 303 {
		t.Errorf("expire: %d", resp.StatusCode)
	}
	get(t, f.srv.URL+"/api/v1/silences?active=true", 200, &list)
	if len(list.Silences) != 0 {
		t.Errorf("expired silence still active: %+v", list)
	}
}

func TestMetricsAndExtension(t *testing.T) {
	depth := prometheus.NewGauge(prometheus.GaugeOpts{Name: "sfmcwatch_ingest_queue_depth", Help: "test"})
	depth.Set(7)
	f := newFixture(t, map[string]string{"ana": store.RoleAdmin}, func(o *web.Options) {
		o.Collectors = []prometheus.Collector{depth}
		o.Extra = map[string]http.Handler{"POST /api/v1/events": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
		})}
	})
	// Extra handlers are mounted as-is: no session needed.
	if resp, _ := do(t, client(t), "POST", f.srv.URL+"/api/v1/events", strings.NewReader("{}"), nil); resp.StatusCode != 202 {
		t.Errorf("extra handler: %d", resp.StatusCode)
	}
	// Two channel rows of one message, pending.
	if _, err := f.st.EnqueueNotifications(context.Background(), time.Now(),
		store.OutboxMessage{Key: "m1", Channel: "slack", Receiver: "ops", Kind: "test", Payload: []byte(`{}`)},
		store.OutboxMessage{Key: "m1", Channel: "webhook", Receiver: "ops", Kind: "test", Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := do(t, client(t), "GET", f.srv.URL+"/metrics", nil, nil); resp.StatusCode != 401 {
		t.Errorf("anonymous /metrics: %d", resp.StatusCode)
	}
	resp, body := do(t, login(t, f, "ana"), "GET", f.srv.URL+"/metrics", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	for _, re := range []string{
		`sfmcwatch_incidents_open\{family="client",severity="error",tenant="acme-bu"\} 1`,
		`sfmcwatch_incidents_open\{family="none",severity="critical",tenant="acme-bu"\} 1`,
		`sfmcwatch_events_24h\{code="http:401",family="auth",tenant="acme-bu"\} \d+`,
		`sfmcwatch_events_24h\{code="rest:50100",family="rate_limit",tenant="acme-bu"\} \d+`,
		`sfmcwatch_api_calls_today\{endpoint="/v2/token",tenant="acme-bu"\} 140`,
		`sfmcwatch_time_to_detection_seconds_bucket\{le="300"\} \d+`,
		`sfmcwatch_time_to_detection_seconds_count \d+`,
		`sfmcwatch_store_up 1`,
		`sfmcwatch_notifications\{channel="slack",receiver="ops",status="pending"\} 1`,
		`sfmcwatch_notifications\{channel="webhook",receiver="ops",status="pending"\} 1`,
		`sfmcwatch_sqlite_checkpoints_total\{mode="passive"\} \d+`,
		`sfmcwatch_sqlite_wal_pages \d+`,
		`sfmcwatch_database_bytes [1-9][0-9.e+]*`,
		`sfmcwatch_database_free_bytes [0-9.e+]+`,
		`sfmcwatch_ingest_queue_depth 7`,
		`go_goroutines \d+`,
	} {
		if !regexp.MustCompile(`(?m)^` + re + `$`).MatchString(body) {
			t.Errorf("/metrics lacks %s", re)
		}
	}
}

func newMultipart(buf *bytes.Buffer, fields map[string]string) string {
	w := multipartWriter(buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	_ = w.Close()
	return w.FormDataContentType()
}

// TestFirstLoadBudget: the overview with its scripts and styles transfers
// less than 200 KB (gzip, as browsers ask for it).
func TestFirstLoadBudget(t *testing.T) {
	f := newFixture(t, nil, nil)
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	fetch := func(u string) int {
		resp, body := do(t, c, "GET", u, nil, map[string]string{"Accept-Encoding": "gzip"})
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", u, resp.StatusCode)
		}
		n := len(body)
		if resp.Header.Get("Content-Encoding") != "gzip" {
			var gz bytes.Buffer // the page itself: count what gzip would send
			zw := gzip.NewWriter(&gz)
			zw.Write([]byte(body))
			zw.Close()
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				n = gz.Len()
			}
		}
		return n
	}
	resp, page := do(t, c, "GET", f.srv.URL+"/", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	total := fetch(f.srv.URL + "/")
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 4 {
		t.Fatalf("overview references %d assets", len(refs))
	}
	for _, m := range refs {
		total += fetch(f.srv.URL + strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	t.Logf("first load of the overview: %d bytes transferred (%d assets)", total, len(refs))
	if total > 200<<10 {
		t.Errorf("first load is %d bytes, budget 200 KB", total)
	}
}

func TestAssetsLicensed(t *testing.T) {
	for _, name := range []string{"htmx.LICENSE", "uPlot.LICENSE"} {
		b, err := os.ReadFile(filepath.Join("assets", "vendor", name))
		if err != nil || !bytes.Contains(b, []byte("Permission")) && !bytes.Contains(b, []byte("BSD")) && !bytes.Contains(b, []byte("MIT")) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func multipartWriter(b *bytes.Buffer) *multipart.Writer { return multipart.NewWriter(b) }
