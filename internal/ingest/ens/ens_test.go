package ens

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/sink"
	"github.com/sfmcwatch/sfmcwatch/internal/sharedfixtures"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

const key = "V27FXfqI3DnhfQW1bhFDeJixpt8eDAY5R24UJI3cK6M="

type env struct {
	st  store.Store
	w   *sink.Writer
	r   *Receiver
	srv *httptest.Server
	now time.Time
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(t.TempDir(), "db.sqlite")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newEnv(t *testing.T, ins sink.Inserter, ackWait time.Duration) *env {
	t.Helper()
	e := &env{st: openStore(t), now: t0}
	if ins == nil {
		ins = e.st
	}
	e.w = sink.NewWriter(ins, sink.WriterOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	srcs := SourcesFromConfig(config.Ingest{Sources: []config.IngestSource{
		{Name: "ens-prod", Type: "ens", Tenant: "acme", SignatureKey: key},
		{Name: "ens-other", Type: "ens", Tenant: "other", SignatureKey: "other-key"},
	}})
	e.r = New(Options{Writer: e.w, Cursors: e.st, Sources: func() []Source { return srcs }, AckWait: ackWait,
		Clock: func() time.Time { return e.now }})
	mux := http.NewServeMux()
	mux.Handle("POST "+Path, e.r)
	mux.Handle("POST "+SourcePath, e.r)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) post(t *testing.T, path string, body []byte, sig string) (int, reply) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("X-SFMC-ENS-Signature", sig)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep reply
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
	return resp.StatusCode, rep
}

func (e *env) events(t *testing.T) []store.EventRecord {
	t.Helper()
	evs, err := e.st.QueryEvents(context.Background(), store.EventQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func fixture(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join(sharedfixtures.Fixtures(t), "ens", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTransactionalFixtures(t *testing.T) {
	e := newEnv(t, nil, 0)
	sent, bounced := fixture(t, "event-email-sent.json"), fixture(t, "event-email-bounced.json")
	for _, b := range [][]byte{sent, bounced} {
		if code, rep := e.post(t, Path, b, Sign([]byte(key), b)); code != 200 || rep.Inserted != 1 {
			t.Fatalf("%d %+v", code, rep)
		}
	}
	evs := e.events(t)
	if len(evs) != 2 {
		t.Fatalf("stored %d", len(evs))
	}
	byEP := map[string]store.EventRecord{}
	for _, ev := range evs {
		byEP[ev.Endpoint] = ev
		if bytes.Contains(ev.Body, []byte("mduarte")) {
			t.Errorf("subscriber e-mail stored: %s", ev.Body)
		}
		if ev.Source != "ens" || ev.Tenant != "acme" || ev.Integration != "ens-prod" || ev.ObjectKey != "makana-appt" || !strings.HasPrefix(ev.RequestID, "ens:") {
			t.Errorf("event %+v", ev)
		}
	}
	s := byEP["ens/TransactionalSendEvents.EmailSent"]
	if s.Family != "none" || s.IsError || !s.TS.Equal(time.UnixMilli(1600698608530)) {
		t.Errorf("sent = %+v", s)
	}
	if b := byEP["ens/TransactionalSendEvents.EmailBounced"]; b.Family != "recipient" || b.IsError {
		t.Errorf("bounced = %+v", b)
	}
}

func TestSignatureChecks(t *testing.T) {
	e := newEnv(t, nil, 0)
	b, sent := fixture(t, "event-email-bounced.json"), fixture(t, "event-email-sent.json")
	good := Sign([]byte(key), b)
	cases := []struct {
		name, path, sig string
		body            []byte
		want            int
	}{
		{"missing", Path, "", b, 401},
		{"not base64", Path, "%%%", b, 401},
		{"wrong key", Path, Sign([]byte("nope"), b), b, 401},
		{"key decoded instead of UTF-8", Path, Sign(mustB64(t, key), b), b, 401},
		{"body changed", Path, good, append(bytes.Clone(b), ' '), 401},
		{"other source's path", "/hooks/ens/ens-other", good, b, 401},
		{"own source's path", "/hooks/ens/ens-prod", good, b, 200},
		{"other source by key", Path, Sign([]byte("other-key"), sent), sent, 200},
	}
	for _, c := range cases {
		if code, rep := e.post(t, c.path, c.body, c.sig); code != c.want {
			t.Errorf("%s: %d %+v, want %d", c.name, code, rep, c.want)
		}
	}
	if n := value(t, e.r.requests.WithLabelValues("bad_signature")); n != 6 {
		t.Errorf("bad signatures counted %v, want 6", n)
	}
	evs := e.events(t)
	if len(evs) != 2 || evs[0].Tenant == evs[1].Tenant {
		t.Fatalf("stored %+v", evs)
	}
}

func mustB64(t *testing.T, s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDuplicateDeliveries(t *testing.T) {
	e := newEnv(t, nil, 0)
	b := fixture(t, "event-email-bounced.json")
	sig := Sign([]byte(key), b)
	e.post(t, Path, b, sig)
	code, rep := e.post(t, Path, b, sig)
	if code != 200 || rep.Inserted != 0 || rep.Duplicates != 1 {
		t.Fatalf("redelivery: %d %+v", code, rep)
	}
	// The same event inside a bigger batch is still a duplicate.
	batch := []byte("[" + strings.TrimSpace(string(b))[1:len(strings.TrimSpace(string(b)))-1] + "," +
		strings.TrimSpace(string(fixture(t, "event-email-sent.json"))) + "]")
	code, rep = e.post(t, Path, batch, Sign([]byte(key), batch))
	if code != 200 || rep.Inserted != 1 || rep.Duplicates != 1 {
		t.Fatalf("mixed batch: %d %+v", code, rep)
	}
	if n := len(e.events(t)); n != 2 {
		t.Fatalf("stored %d", n)
	}
}

func automationEvent(state, instance string, ts int64) string {
	return fmt.Sprintf(`{"eventCategoryType":"SendEvents.AutomationInstance%s","timestampUTC":%d,"mid":1476456,"eid":1476266,
"automationName":"Nightly load","automationCustomerKey":"nightly-load","automationType":"Schedule",
"automationInstanceID":"%s","automationInstanceStatus":"%s"}`, state, ts, instance, state)
}

func TestAutomationEvents(t *testing.T) {
	e := newEnv(t, nil, 0)
	var parts []string
	for i, st := range []string{"Started", "Completed", "Errored", "Stopped", "Skipped"} {
		parts = append(parts, automationEvent(st, fmt.Sprintf("inst-%d", i), 1772442000000+int64(i)))
	}
	// The bare type name and attributes under info are accepted too.
	parts = append(parts, `{"eventCategoryType":"AutomationInstanceErrored","timestampUTC":1772442009000,"info":{"automationCustomerKey":"hourly","automationInstanceID":"x9"}}`)
	body := []byte("[" + strings.Join(parts, ",") + "]")
	if code, rep := e.post(t, Path, body, Sign([]byte(key), body)); code != 200 || rep.Inserted != 6 {
		t.Fatalf("%d %+v", code, rep)
	}
	want := map[string][2]string{ // code -> family, severity
		"SendEvents.AutomationInstanceStarted":   {"none", "info"},
		"SendEvents.AutomationInstanceCompleted": {"none", "info"},
		"SendEvents.AutomationInstanceErrored":   {"client", "error"},
		"SendEvents.AutomationInstanceStopped":   {"none", "warning"},
		"SendEvents.AutomationInstanceSkipped":   {"none", "warning"},
	}
	evs := e.events(t)
	for _, ev := range evs[:5] {
		w := want[ev.Code]
		if ev.Surface != "ens" || ev.Family != w[0] || ev.Severity != w[1] || ev.ObjectKey != "nightly-load" ||
			ev.Endpoint != "ens/"+ev.Code || ev.IsError != (w[0] == "client") {
			t.Errorf("event %+v", ev)
		}
	}
	if last := evs[5]; last.Code != "SendEvents.AutomationInstanceErrored" || last.ObjectKey != "hourly" || !last.IsError {
		t.Errorf("bare type = %+v", last)
	}
}

func TestBadPayload(t *testing.T) {
	e := newEnv(t, nil, 0)
	for _, b := range []string{`not json`, `[1,2]`, `[{"timestampUTC":1}]`, `[{"eventCategoryType":"x"`} {
		if code, _ := e.post(t, Path, []byte(b), Sign([]byte(key), []byte(b))); code != 400 {
			t.Errorf("%q: %d, want 400", b, code)
		}
	}
}

func TestVerificationWindow(t *testing.T) {
	e := newEnv(t, nil, 0)
	v := []byte(`{"callbackId":"65b885ab-c2b4-46fe-85d0-d6cb8be8057d","verificationKey":"CZwJw4XATH6LK1fPWFeMDkIyVbro6T3ijXK8CrzQe2s="}`)
	if code, _ := e.post(t, Path, v, ""); code != http.StatusForbidden {
		t.Fatalf("outside a setup window: %d", code)
	}
	ctx := context.Background()
	e.st.SetCursor(ctx, CursorSetupUntil, t0.Add(time.Minute).Format(time.RFC3339), t0)
	if code, _ := e.post(t, Path, v, ""); code != 200 {
		t.Fatalf("inside the window: %d", code)
	}
	got, err := e.st.GetCursor(ctx, CursorVerification+"65b885ab-c2b4-46fe-85d0-d6cb8be8057d")
	if err != nil || got != "CZwJw4XATH6LK1fPWFeMDkIyVbro6T3ijXK8CrzQe2s=" {
		t.Fatalf("kept %q, %v", got, err)
	}
	e.now = t0.Add(2 * time.Minute) // window closed
	if code, _ := e.post(t, Path, v, ""); code != http.StatusForbidden {
		t.Fatalf("after the window: %d", code)
	}
}

// gate blocks commits until released.
type gate struct {
	st      store.Store
	release chan struct{}
}

func (g *gate) InsertEventGroups(ctx context.Context, groups [][]store.EventRecord) ([]store.InsertResult, error) {
	<-g.release
	return g.st.InsertEventGroups(ctx, groups)
}

func TestAckBeforeSlowCommit(t *testing.T) {
	g := &gate{release: make(chan struct{})}
	e := newEnv(t, g, 20*time.Millisecond)
	g.st = e.st
	b := fixture(t, "event-email-sent.json")
	code, rep := e.post(t, Path, b, Sign([]byte(key), b))
	if code != 200 || !rep.Pending {
		t.Fatalf("slow store: %d %+v", code, rep)
	}
	if n := value(t, e.r.early); n != 1 {
		t.Fatalf("early acks = %v", n)
	}
	close(g.release)
	for range 500 { // the background commit completes
		if len(e.events(t)) == 1 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("event never stored")
}

func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestNotices: after the commit, OnNotices gets the automation instance
// and EmailNotSent notices of the batch (not Sent/Bounced), with the
// fields the rules merge on, duplicates included.
func TestNotices(t *testing.T) {
	e := newEnv(t, nil, 0)
	got := make(chan []Notice, 4)
	e.r.opt.OnNotices = func(ns []Notice) { got <- ns }
	notSent := `{"eventCategoryType":"TransactionalSendEvents.EmailNotSent","timestampUTC":1772442005000,"definitionKey":"receipts",
"compositeId":"c-1","info":{"messageKey":"mk-1","statusCode":"22","statusMessage":"DataExtensionInsertFailed","to":"a@example.com"}}`
	body := []byte("[" + automationEvent("Errored", "inst-1", 1772442000000) + "," + notSent + "," +
		strings.TrimSpace(string(fixture(t, "event-email-sent.json"))) + "]")
	for range 2 { // the redelivery is passed on too: merging is idempotent
		if code, _ := e.post(t, Path, body, Sign([]byte(key), body)); code != 200 {
			t.Fatalf("status %d", code)
		}
		var ns []Notice
		select {
		case ns = <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("no notices")
		}
		if len(ns) != 2 {
			t.Fatalf("notices: %+v", ns)
		}
		a, m := ns[0], ns[1]
		if !a.IsAutomation() || a.Tenant != "acme" || a.Automation != "nightly-load" || a.InstanceID != "inst-1" || a.State != "Errored" ||
			a.Name != "Nightly load" || !a.At.Equal(time.UnixMilli(1772442000000).UTC()) {
			t.Errorf("automation notice %+v", a)
		}
		if m.IsAutomation() || m.Definition != "receipts" || m.MessageKey != "mk-1" || m.StatusCode != "22" || m.Tenant != "acme" {
			t.Errorf("not-sent notice %+v", m)
		}
	}
}
