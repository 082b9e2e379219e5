package httpin

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/sink"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

const token = "s3cret-token-crm"

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

type env struct {
	st  store.Store
	w   *sink.Writer
	srv *httptest.Server
}

func openStore(t testing.TB) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "db.sqlite")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func sources() []Source {
	return SourcesFromConfig(config.Ingest{Sources: []config.IngestSource{
		{Name: "crm", Type: "http", Tenant: "acme", Token: config.Secret(token), Format: "auto"},
		{Name: "loader", Type: "http", TokenSHA256: hexSum("loader-token"), Format: "csv"},
		{Name: "tail", Type: "file", Path: "/x"},
	}})
}

func hexSum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// newEnv starts a store, a running writer and the handler on loopback.
func newEnv(t *testing.T, ins sink.Inserter, wo sink.WriterOptions, run bool) *env {
	t.Helper()
	e := &env{}
	if ins == nil {
		e.st = openStore(t)
		ins = e.st
	}
	e.w = sink.NewWriter(ins, wo)
	if run {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { e.w.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	h := New(Options{Writer: e.w, Sources: sources, MaxBody: 4 << 10, CommitWait: 5 * time.Second,
		Clock: func() time.Time { return t0 }})
	mux := http.NewServeMux()
	mux.Handle("POST "+Path, h)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) post(t *testing.T, tok string, body []byte, hdr ...string) (*http.Response, Report) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+Path, bytes.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep Report
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("response %d %q: %v", resp.StatusCode, b, err)
	}
	return resp, rep
}

func (e *env) events(t *testing.T) []store.EventRecord {
	t.Helper()
	evs, err := e.st.QueryEvents(context.Background(), store.EventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

const mixed = `{"ts":"2026-03-02T09:00:00Z","integration":"crm-sync","method":"POST","url":"https://x.rest.marketingcloudapis.com/hub/v1/dataevents/key:Orders/rowset","status":401,"body":{"errorcode":0,"message":"Not Authorized"},"request_id":"r1"}
{"ts":"2026-03-02T09:00:01Z","method":"GET","url":"/automation/v1/automations","status":200,"request_id":"r2"}
not json at all
{"ts":"2026-03-02T09:00:02Z","method":"GET","url":"/x"}

{"timestamp":"2026-03-02T09:00:03Z","http.request.method":"POST","url.full":"/messaging/v1/email/messages/abc","http.response.status_code":429,"requestId":"r3","tenant":"other","response_body":"to jane.doe@example.com"}
`

func TestPartialRejection(t *testing.T) {
	e := newEnv(t, nil, sink.WriterOptions{}, true)
	resp, rep := e.post(t, token, []byte(mixed))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %+v", resp.StatusCode, rep)
	}
	if rep.Source != "crm" || rep.Lines != 5 || rep.Accepted != 3 || rep.Inserted != 3 || rep.Rejected != 2 {
		t.Fatalf("report = %+v", rep)
	}
	if len(rep.Errors) != 2 || rep.Errors[0].Line != 3 || rep.Errors[1].Line != 4 ||
		!strings.Contains(rep.Errors[0].Reason, "JSON") || !strings.Contains(rep.Errors[1].Reason, "status") {
		t.Fatalf("errors = %+v", rep.Errors)
	}
	evs := e.events(t)
	if len(evs) != 3 {
		t.Fatalf("stored %d", len(evs))
	}
	a := evs[0]
	if a.Source != "ingest" || a.Integration != "crm-sync" || a.Tenant != "acme" || a.Family != "auth" || !a.IsError ||
		a.Endpoint != "/hub/v1/dataevents/key:{key}/rowset" || a.ObjectKey != "Orders" {
		t.Fatalf("first event = %+v", a)
	}
	if b := evs[1]; b.Integration != "crm" || b.IsError || b.Family != "none" {
		t.Fatalf("second event (defaults from the source) = %+v", b)
	}
	c := evs[2]
	if c.Tenant != "other" || c.Family != "rate_limit" || c.RequestID != "r3" {
		t.Fatalf("third event = %+v", c)
	}
	if strings.Contains(string(c.Body), "jane.doe") {
		t.Fatalf("e-mail stored: %q", c.Body)
	}
}

func TestAllBadIs422(t *testing.T) {
	e := newEnv(t, nil, sink.WriterOptions{}, true)
	resp, rep := e.post(t, token, []byte("{\"status\":\"x\"}\n[1,2\n"))
	if resp.StatusCode != http.StatusUnprocessableEntity || rep.Rejected != 2 || rep.Accepted != 0 {
		t.Fatalf("%d %+v", resp.StatusCode, rep)
	}
	// An empty body is a successful no-op.
	resp, rep = e.post(t, token, nil)
	if resp.StatusCode != http.StatusOK || rep.Lines != 0 {
		t.Fatalf("empty: %d %+v", resp.StatusCode, rep)
	}
}

func TestIdempotentRetries(t *testing.T) {
	e := newEnv(t, nil, sink.WriterOptions{}, true)
	body := []byte(`[{"ts":1772442000,"url":"/a","status":500,"request_id":"x1"},{"ts":1772442001,"url":"/a","status":500,"request_id":"x2"}]`)
	for i, want := range []Report{{Accepted: 2, Inserted: 2}, {Accepted: 2, Duplicates: 2}} {
		resp, rep := e.post(t, token, body)
		if resp.StatusCode != 200 || rep.Accepted != want.Accepted || rep.Inserted != want.Inserted || rep.Duplicates != want.Duplicates {
			t.Fatalf("attempt %d: %d %+v", i, resp.StatusCode, rep)
		}
	}
	// Lines without request_id: the Idempotency-Key makes the retry safe.
	noID := []byte("{\"url\":\"/b\",\"status\":400}\n{\"url\":\"/b\",\"status\":400}\n")
	for i, ins := range []int{2, 0} {
		_, rep := e.post(t, token, noID, "Idempotency-Key", "batch-7")
		if rep.Inserted != ins || rep.Duplicates != 2-ins {
			t.Fatalf("idempotency key attempt %d: %+v", i, rep)
		}
	}
	if n := len(e.events(t)); n != 4 {
		t.Fatalf("stored %d events, want 4", n)
	}
	// Without either, a retry is stored again (documented).
	_, rep := e.post(t, token, noID)
	if rep.Inserted != 2 {
		t.Fatalf("no ids: %+v", rep)
	}
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestGzipAndLimits(t *testing.T) {
	e := newEnv(t, nil, sink.WriterOptions{}, true)
	line := `{"ts":"2026-03-02T09:00:00Z","url":"/c","status":502}` + "\n"
	resp, rep := e.post(t, token, gz(t, []byte(line)), "Content-Encoding", "gzip")
	if resp.StatusCode != 200 || rep.Inserted != 1 {
		t.Fatalf("gzip: %d %+v", resp.StatusCode, rep)
	}
	// Detected by magic bytes without the header, too.
	resp, rep = e.post(t, token, gz(t, []byte(line)))
	if resp.StatusCode != 200 || rep.Inserted != 1 {
		t.Fatalf("gzip sniffed: %d %+v", resp.StatusCode, rep)
	}
	big := bytes.Repeat([]byte(line), 5<<10/len(line)) // > 4 KiB limit
	cases := []struct {
		name string
		body []byte
		hdr  []string
		want int
	}{
		{"over limit", big, nil, http.StatusRequestEntityTooLarge},
		{"decompressed over limit", gz(t, big), []string{"Content-Encoding", "gzip"}, http.StatusRequestEntityTooLarge},
		{"unknown encoding", []byte(line), []string{"Content-Encoding", "br"}, http.StatusUnsupportedMediaType},
		{"claims gzip", []byte(line), []string{"Content-Encoding", "gzip"}, http.StatusBadRequest},
		{"corrupt gzip", gz(t, []byte(line))[:15], nil, http.StatusBadRequest},
		{"nested gzip", gz(t, gz(t, []byte(line))), nil, http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, rep := e.post(t, token, c.body, c.hdr...)
			if resp.StatusCode != c.want || rep.Error == "" {
				t.Fatalf("%d %+v, want %d", resp.StatusCode, rep, c.want)
			}
		})
	}
	if n := len(e.events(t)); n != 2 {
		t.Fatalf("stored %d events, want 2 (rejected requests keep nothing)", n)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, nil, sink.WriterOptions{}, true)
	csv := "ts,url,status\n2026-03-02T09:00:00Z,/d,404\n"
	for _, tc := range []struct {
		tok  string
		body string
		want int
	}{
		{"", csv, 401},
		{"wrong", csv, 401},
		{"loader-token", csv, 200}, // token_sha256
		{"loader-token", `{"url":"/d","status":404}`, 400}, // csv source gets JSON
		{token, csv, 200}, // auto accepts CSV
	} {
		resp, rep := e.post(t, tc.tok, []byte(tc.body))
		if resp.StatusCode != tc.want {
			t.Errorf("token %q: %d %+v, want %d", tc.tok, resp.StatusCode, rep, tc.want)
		}
		if tc.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
	}
	evs := e.events(t)
	if len(evs) != 2 || evs[0].Integration != "loader" {
		t.Fatalf("events = %+v", evs)
	}
}

func TestQueueFullIs429(t *testing.T) {
	e := newEnv(t, nil, sink.WriterOptions{MaxQueued: 3}, false) // writer not running: nothing drains
	if _, err := e.w.Submit(make([]store.EventRecord, 3)); err != nil {
		t.Fatal(err)
	}
	resp, rep := e.post(t, token, []byte(`{"url":"/e","status":200}`))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || rep.Error == "" {
		t.Fatalf("%d %v %+v", resp.StatusCode, resp.Header, rep)
	}
	if n := len(e.events(t)); n != 0 {
		t.Fatalf("stored %d", n)
	}
}

// gate blocks InsertEventGroups until released.
type gate struct {
	started chan struct{}
	release chan struct{}
	err     error
	st      store.Store
}

func (g *gate) InsertEventGroups(ctx context.Context, groups [][]store.EventRecord) ([]store.InsertResult, error) {
	close(g.started)
	<-g.release
	if g.err != nil {
		return nil, g.err
	}
	return g.st.InsertEventGroups(ctx, groups)
}

func TestAckOnlyAfterCommit(t *testing.T) {
	g := &gate{started: make(chan struct{}), release: make(chan struct{})}
	g.st = openStore(t)
	e := newEnv(t, g, sink.WriterOptions{}, true)
	e.st = g.st
	done := make(chan Report)
	go func() {
		_, rep := e.post(t, token, []byte(`{"url":"/f","status":200,"request_id":"f1"}`))
		done <- rep
	}()
	<-g.started
	select {
	case rep := <-done:
		t.Fatalf("answered before the commit: %+v", rep)
	default:
	}
	close(g.release)
	if rep := <-done; rep.Inserted != 1 {
		t.Fatalf("report = %+v", rep)
	}
	if n := len(e.events(t)); n != 1 {
		t.Fatalf("stored %d", n)
	}
}

func TestStoreFailureIs503(t *testing.T) {
	g := &gate{started: make(chan struct{}), release: make(chan struct{}), err: errors.New("disk full")}
	close(g.release)
	e := newEnv(t, g, sink.WriterOptions{}, true)
	resp, rep := e.post(t, token, []byte(`{"url":"/g","status":200}`))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%d %+v", resp.StatusCode, rep)
	}
	if strings.Contains(rep.Error, "disk full") {
		t.Fatalf("store error leaked to the client: %q", rep.Error)
	}
}

func TestManyBadLinesTruncated(t *testing.T) {
	var b strings.Builder
	for i := range MaxReportedErrors + 5 {
		fmt.Fprintf(&b, "{\"status\":\"bad-%d\"}\n", i)
	}
	evs, rep, herr := Decode([]byte(b.String()), "", "auto", 1<<20)
	if herr != nil || len(evs) != 0 || rep.Rejected != MaxReportedErrors+5 || len(rep.Errors) != MaxReportedErrors || !rep.ErrorsTruncated {
		t.Fatalf("%v %+v", herr, rep)
	}
}

// Deeply nested arrays are rejected lines (422), never "200, 0 lines";
// a JSON-lines body whose first line is broken keeps its other lines.
func TestNestedArraysAndBadFirstLine(t *testing.T) {
	e := newEnv(t, nil, sink.WriterOptions{}, true)
	resp, rep := e.post(t, token, []byte(strings.Repeat("[", 1500)+strings.Repeat("]", 1500)))
	if resp.StatusCode != http.StatusUnprocessableEntity || rep.Rejected == 0 {
		t.Fatalf("nested arrays: %d %+v", resp.StatusCode, rep)
	}
	resp, rep = e.post(t, token, []byte("garbage first line\n{\"status\":500,\"url\":\"/a\",\"ts\":\"2026-11-02T06:00:00Z\"}\n"))
	if resp.StatusCode != http.StatusOK || rep.Accepted != 1 || rep.Rejected != 1 {
		t.Fatalf("bad first line: %d %+v", resp.StatusCode, rep)
	}
}
