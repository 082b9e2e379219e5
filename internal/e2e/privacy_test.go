package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/httpin"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/sink"
	"github.com/sfmcwatch/sfmcwatch/internal/proxy"
	"github.com/sfmcwatch/sfmcwatch/internal/report"
	"github.com/sfmcwatch/sfmcwatch/internal/scan"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
	"github.com/sfmcwatch/sfmcwatch/internal/web"
)

// secretsAndPII generates personal data and secrets in the shapes they take
// in real integration logs. Each value carries a marker unique to the run,
// so a leak is found wherever it lands, in whatever surrounding text.
func secretsAndPII(r *rand.Rand, marker string) []string {
	n := func() int { return r.IntN(900000) + 100000 }
	return []string{
		fmt.Sprintf("jane.%s.%d@example.com", marker, n()),
		fmt.Sprintf("ana.%s.%d%%40example.org", marker, n()),
		fmt.Sprintf("jörg.%s.%d@bücher.de", marker, n()),
		fmt.Sprintf("+44 20 7946 %04d", n()%10000), // found by its digits (see phones)
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI" + marker + "In0.c2lnbmF0dXJl" + marker,
	}
}

// In every line, the values sit where integrations put them: the request
// URL, free-text error messages, per-recipient messages[] (which must
// never become codes), token fields and a Basic header echoed in a body.
func privacyLines(r *rand.Rand, marker string, ts time.Time, n int) (lines []byte, phones []string) {
	var b bytes.Buffer
	for i := range n {
		vals := secretsAndPII(r, marker)
		email, enc, idn, phone, jwt := vals[0], vals[1], vals[2], vals[3], vals[4]
		phones = append(phones, phone)
		bodies := []string{
			fmt.Sprintf(`{"message":"Subscriber %s not found","errorcode":10005,"documentation":""}`, email),
			fmt.Sprintf(`{"requestId":"r","responses":[{"messageKey":"m","hasErrors":true,"messages":["Unable to queue Triggered Send request. Email address: %s"]}]}`, idn),
			fmt.Sprintf(`{"error":"invalid_client","error_description":"bad secret","access_token":"%s","refreshToken":"%s","legacyToken":"%s"}`, jwt, jwt, jwt),
			fmt.Sprintf(`{"message":"Authorization: Basic %s rejected for %s","errorcode":0}`, "cHJpdmFjeTo"+marker, phone),
			fmt.Sprintf(`{"message":"contact %s","errorcode":50100}`, enc),
		}
		statuses := []int{400, 202, 401, 403, 429}
		k := i % len(bodies)
		line := map[string]any{
			"ts": ts.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano), "integration": map[bool]string{true: "crm-sync", false: "ops." + email}[i%10 != 9],
			"method": "POST", "url": "https://mc.rest.marketingcloudapis.com/messaging/v1/messageDefinitionSends/key:welcome/send?to=" + enc + "&email=" + email,
			"status": statuses[k], "body": json.RawMessage(bodies[k]), "request_id": fmt.Sprintf("req-%d", i),
		}
		out, _ := json.Marshal(line)
		b.Write(out)
		b.WriteByte('\n')
	}
	return b.Bytes(), phones
}

// TestNoPersonalDataOrSecretLeaks sends generated personal data and
// secrets through the HTTP ingest and a log scan, and checks that none of
// it appears in the store, the JSON API, /metrics or the scan reports.
func TestNoPersonalDataOrSecretLeaks(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "privacy.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := sink.NewWriter(st, sink.WriterOptions{})
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(wctx); close(done) }()
	defer func() { stop(); <-done }()
	const tok = "privacy-ingest-token"
	srcs := httpin.SourcesFromConfig(config.Ingest{Sources: []config.IngestSource{{Name: "crm", Type: "http", Tenant: "acme", Token: config.Secret(tok), Format: "auto"}}})
	ing := httpin.New(httpin.Options{Writer: w, Sources: func() []httpin.Source { return srcs }})
	mux := http.NewServeMux()
	mux.Handle("POST "+httpin.Path, ing)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 7))
	marker := fmt.Sprintf("pii%06d", r.IntN(1000000))
	ts := time.Now().UTC().Add(-time.Hour)
	body, phones := privacyLines(r, marker, ts, 60)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+httpin.Path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ack, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, ack)
	}
	leak := func(where string, b []byte) {
		t.Helper()
		for _, needle := range append([]string{marker}, phones...) {
			if i := bytes.Index(b, []byte(needle)); i >= 0 {
				from, to := max(0, i-80), min(len(b), i+80)
				t.Errorf("seed %d: %s leaks personal data or a secret: …%s…", seed, where, b[from:to])
				return
			}
		}
	}
	leak("the ingest acknowledgement", ack)

	// The store, read back through its own API.
	evs, err := st.QueryEvents(ctx, store.EventQuery{From: ts.Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 60 {
		t.Fatalf("stored %d events, want 60", len(evs))
	}
	stored, _ := json.Marshal(evs)
	leak("the stored events", stored)

	// The JSON API and /metrics (open mode on a loopback name).
	h := web.New(web.Options{Store: st, Collectors: []prometheus.Collector{ing.Collector()}}).Handler()
	for _, path := range []string{"/api/v1/events?range=7d&limit=500", "/api/v1/events/aggregate?range=7d", "/api/v1/overview", "/metrics"} {
		rq := httptest.NewRequest("GET", path, nil)
		rq.Host = "127.0.0.1"
		rq = rq.WithContext(context.WithValue(rq.Context(), http.LocalAddrContextKey, loopbackAddr{}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, rq)
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
		}
		leak(path, rec.Body.Bytes())
	}

	// A no-credentials scan of the same log, in every report format.
	rep, err := scan.Run(ctx, []scan.Input{{Name: "calls.jsonl", Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(body)), nil
	}}}, scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []report.Format{report.Text, report.JSON, report.Markdown, report.HTML} {
		var out bytes.Buffer
		if err := report.Write(&out, f, rep); err != nil {
			t.Fatal(err)
		}
		leak("the scan report ("+string(f)+")", out.Bytes())
	}
	if !strings.Contains(string(stored), "crm-sync") {
		t.Fatal("the test stored nothing recognisable: it would pass without checking anything")
	}
}

// loopbackAddr stands for the listener's address: open mode answers only
// requests accepted on loopback.
type loopbackAddr struct{}

func (loopbackAddr) Network() string { return "tcp" }
func (loopbackAddr) String() string  { return "127.0.0.1:8080" }

// recSink keeps what the proxy records.
type recSink struct {
	mu   sync.Mutex
	recs []store.EventRecord
}

func (s *recSink) Record(r store.EventRecord) { s.mu.Lock(); s.recs = append(s.recs, r); s.mu.Unlock() }

// TestProxyRecordsNoPersonalDataOrSecrets: the recording proxy is the other
// source of integrations' calls; what it records from calls carrying
// personal data and secrets (request URLs, the integration header, SFMC's
// error bodies echoing them) holds none of it.
func TestProxyRecordsNoPersonalDataOrSecrets(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 11))
	marker := fmt.Sprintf("pii%06d", r.IntN(1000000))
	vals := secretsAndPII(r, marker)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"message":"Subscriber %s (%s) not found; token %s","errorcode":10005,"responses":[{"hasErrors":true,"messages":["bad address %s"]}]}`, vals[0], vals[3], vals[4], vals[2])
	}))
	defer up.Close()
	sk := &recSink{}
	p, err := proxy.New(proxy.Options{Tenant: "acme", Upstream: proxy.Upstream{Auth: up.URL, REST: up.URL + "/", SOAP: up.URL + "/Service.asmx"},
		Sink: sk, IntegrationHeader: "X-Integration"})
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(p)
	defer ps.Close()
	for _, path := range []string{"/messaging/v1/messageDefinitionSends/key:welcome/send?to=" + vals[1], "/hub/v1/dataevents/key:x/rowset?email=" + vals[0]} {
		req, _ := http.NewRequest(http.MethodPost, ps.URL+path, strings.NewReader(`{"To":{"Address":"`+vals[0]+`"}}`))
		req.Header.Set("X-Integration", "ops."+vals[0])
		req.Header.Set("Authorization", "Bearer "+vals[4])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// The proxy records a call when its response body is closed.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		sk.mu.Lock()
		n := len(sk.recs)
		sk.mu.Unlock()
		if n >= 2 {
			break
		}
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if len(sk.recs) != 2 {
		t.Fatalf("recorded %d calls, want 2", len(sk.recs))
	}
	b, _ := json.Marshal(sk.recs)
	for _, needle := range []string{marker, vals[3]} {
		if i := bytes.Index(b, []byte(needle)); i >= 0 {
			t.Errorf("seed %d: the proxy recorded personal data or a secret: …%s…", seed, b[max(0, i-80):min(len(b), i+80)])
		}
	}
}
