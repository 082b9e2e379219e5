package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/collect/collecttest"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/digest"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/ens"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/httpin"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/sink"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/tail"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/email"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/slack"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/webhook"
	"github.com/sfmcwatch/sfmcwatch/internal/proxy"
	"github.com/sfmcwatch/sfmcwatch/internal/report"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
	"github.com/sfmcwatch/sfmcwatch/internal/web"
)

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.b.Bytes())
}

// captureNotifier keeps every notification in each channel's wire format
// (webhook JSON, Slack Block Kit, e-mail subject, text and HTML).
type captureNotifier struct {
	mu  sync.Mutex
	out []namedBytes
	n   int
}

type namedBytes struct {
	name string
	b    []byte
}

func (c *captureNotifier) Notify(_ context.Context, m *notify.Message) error {
	wh, err := webhook.Body(m)
	if err != nil {
		return err
	}
	sl, err := json.Marshal(slack.Payload(m, "#alerts", "sfmcwatch"))
	if err != nil {
		return err
	}
	text, html, err := email.Bodies(m)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	c.out = append(c.out, namedBytes{"webhook payload", wh}, namedBytes{"Slack payload", sl},
		namedBytes{"e-mail subject", []byte(email.Subject(m, "[sfmcwatch]"))}, namedBytes{"e-mail text", []byte(text)}, namedBytes{"e-mail HTML", []byte(html)})
	return nil
}

// TestPrivacyEverySourceAndSink feeds generated personal data and secrets
// through every source — HTTP ingest, a tailed log file, ENS callbacks,
// and SFMC's own answers read by the pollers (an automation run's
// StatusMessage, transactional not-sent messages) — into one store watched
// by the engine with alerting, and checks that none of it appears in any
// table of the store, the JSON API and dashboard pages, /metrics, the logs
// of every part, the notifications (webhook, Slack, e-mail) or the weekly
// digest (HTML, Markdown, e-mail).
func TestPrivacyEverySourceAndSink(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end privacy run")
	}
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 23))
	marker := fmt.Sprintf("pii%06d", r.IntN(1000000))
	vals := secretsAndPII(r, marker)
	var logs lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	capture := &captureNotifier{}
	var cfg *config.Config
	env := collecttest.New(t, collecttest.Options{Seed: 5,
		Size: sim.Size{Automations: 3, Journeys: 1, TriggeredSends: 1, Transactional: 2, DataExtensions: 2, Imports: 1},
		Configure: func(c *config.Config) {
			cfg = c
			c.Tenants[0].Monitors.Each(func(_ string, m *config.Monitor) { m.Interval = config.Duration(30 * time.Second) })
			c.Alerting.Route = config.Route{Receiver: "capture", GroupBy: []string{"..."}, SendResolved: true}
			c.Alerting.Receivers = []config.Receiver{{Name: "capture", Console: &config.Console{Output: "stdout"}}}
		}})
	tenant := cfg.Tenants[0].Name

	// SFMC's own answers: a failed automation run whose StatusMessage
	// names a subscriber, their phone number and a token; transactional
	// not-sent events whose message holds an address.
	autoMsg := fmt.Sprintf("Query activity failed: subscriber %s (%s) rejected, Authorization: Bearer %s", vals[0], vals[3], vals[4])
	txMsg := fmt.Sprintf("Invalid subscriber address %s", vals[2])
	phones := []string{vals[3]}
	autos := env.Keys("automation")
	slices.Sort(autos)
	env.Inject(sim.Fault{Kind: sim.FaultAutomationError, Target: autos[0], Start: env.Now().Add(-6 * time.Hour), Params: map[string]string{"message": autoMsg}})
	txs := env.Keys("transactional")
	slices.Sort(txs)
	env.Inject(sim.Fault{Kind: sim.FaultTransactionalNotSent, Target: txs[0], Start: env.Now().Add(-3 * time.Hour),
		Params: map[string]string{"per_hour": "120", "status_code": "126", "message": txMsg}})

	dbPath := filepath.Join(t.TempDir(), "privacy.db")
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: dbPath}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	holder := config.NewHolder(cfg, config.Loader{})
	d, err := notify.New(notify.Options{Store: st, Config: holder, Clock: env.Sim.Now, Logger: logger,
		Notifiers: map[string]notify.Notifier{"capture": capture}})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := monitor.New(monitor.Options{Store: st, Config: holder, Clock: env.Sim.Now, Owner: "privacy", Logger: logger,
		Workers: 2, CallTimeout: 10 * time.Second, OnChanges: d.OnChanges,
		ClientOptions: func(o *sfmc.Options) {
			o.BackoffBase, o.BackoffMax, o.MaxRetryAfter = time.Millisecond, 5*time.Millisecond, 10*time.Millisecond
			o.RateLimit, o.Burst = 1e6, 1000
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	// Pushed and tailed integration logs, and ENS callbacks, into the
	// same store, timestamped in the last minutes of the simulated clock.
	w := sink.NewWriter(st, sink.WriterOptions{Logger: logger})
	wctx, stopWriter := context.WithCancel(ctx)
	writerDone := make(chan struct{})
	go func() { w.Run(wctx); close(writerDone) }()
	defer func() { stopWriter(); <-writerDone }()
	const ingestToken, ensKey = "privacy-ingest-token", "privacy-ens-key-0123456789"
	icfg := config.Ingest{Sources: []config.IngestSource{
		{Name: "crm", Type: "http", Tenant: tenant, Token: config.Secret(ingestToken), Format: "auto"},
		{Name: "ens-prod", Type: "ens", Tenant: tenant, SignatureKey: ensKey},
	}}
	hsrc, esrc := httpin.SourcesFromConfig(icfg), ens.SourcesFromConfig(icfg)
	ing := httpin.New(httpin.Options{Writer: w, Sources: func() []httpin.Source { return hsrc }, Clock: env.Sim.Now, Logger: logger})
	ensr := ens.New(ens.Options{Writer: w, Cursors: st, Sources: func() []ens.Source { return esrc }, Clock: env.Sim.Now, Logger: logger})
	mux := http.NewServeMux()
	mux.Handle("POST "+httpin.Path, ing)
	mux.Handle("POST "+ens.Path, ensr)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// Bad lines too: their rejection reasons (acknowledgements, logs) must
	// not echo what they hold.
	badLines := fmt.Sprintf("{\"status\": \"%s\", \"url\": \"%s\"}\n{\"status\":400,\"ts\":\"%s\"}\nnot json %s %s\n", vals[0], vals[4], vals[2], vals[1], vals[3])
	pushed, ph := privacyLines(r, marker, env.Now().Add(-10*time.Minute), 60)
	pushed = append(pushed, badLines...)
	phones = append(phones, ph...)
	post := func(path string, body []byte, hdr map[string]string) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	acks := [][]byte{post(httpin.Path, pushed, map[string]string{"Authorization": "Bearer " + ingestToken})}

	tailed, ph := privacyLines(r, marker, env.Now().Add(-8*time.Minute), 40)
	tailed = append(tailed, badLines...)
	phones = append(phones, ph...)
	logPath := filepath.Join(t.TempDir(), "integration.jsonl")
	if err := os.WriteFile(logPath, tailed, 0o600); err != nil {
		t.Fatal(err)
	}
	tl, err := tail.New(tail.Source{Name: "applog", Tenant: tenant, Pattern: logPath}, tail.Options{Store: st, Clock: env.Sim.Now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if stats, err := tl.Poll(ctx); err != nil {
		t.Fatal(err)
	} else if stats.Inserted == 0 {
		t.Fatalf("the tailer stored nothing: %+v", stats)
	}
	tl.Close()

	// ENS: bounces and not-sent events whose info carries the address, a
	// phone number in the bounce text and a token in a custom field.
	var eb strings.Builder
	eb.WriteByte('[')
	for i := range 20 {
		if i > 0 {
			eb.WriteByte(',')
		}
		typ, info := "TransactionalSendEvents.EmailBounced", fmt.Sprintf(`{"to":%q,"subscriberKey":%q,"messageKey":"m-%d","bounceCode":"HARD","bounceMessage":"5.1.1 <%s> User Unknown, call %s","smtpReason":"5.1.1"}`, vals[0], vals[1], i, vals[2], vals[3])
		if i%2 == 1 {
			typ, info = "TransactionalSendEvents.EmailNotSent", fmt.Sprintf(`{"to":%q,"subscriberKey":%q,"messageKey":"m-%d","statusCode":"126","statusMessage":"Subscriber %s was excluded; token %s","reason":"%s"}`, vals[2], vals[0], i, vals[0], vals[4], vals[1])
		}
		fmt.Fprintf(&eb, `{"eventCategoryType":%q,"timestampUTC":%d,"compositeId":"c-%s-%d","definitionKey":%q,"mid":%d,"eid":%d,"info":%s}`,
			typ, env.Now().Add(-time.Duration(20-i)*time.Minute).UnixMilli(), marker[:3], i, txs[0], env.MID, env.MID, info)
	}
	eb.WriteByte(']')
	ensBody := []byte(eb.String())
	acks = append(acks, post(ens.Path, ensBody, map[string]string{"X-SFMC-ENS-Signature": ens.Sign([]byte(ensKey), ensBody)}))

	// The recording proxy: integrations' calls whose URLs, headers and
	// SFMC's error answers carry the same data, recorded into the store.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"message":"Proxy-path subscriber %s (%s) not found; token %s","errorcode":10005,"responses":[{"hasErrors":true,"messages":["bad address %s"]}]}`, vals[0], vals[3], vals[4], vals[2])
	}))
	defer up.Close()
	rcd, err := proxy.NewRecorder(proxy.RecorderOptions{Store: st, Logger: logger, Linger: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(proxy.Options{Tenant: tenant, Upstream: proxy.Upstream{Auth: up.URL, REST: up.URL + "/", SOAP: up.URL + "/Service.asmx"},
		Sink: rcd, IntegrationHeader: "X-Integration", Clock: env.Sim.Now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(p)
	defer ps.Close()
	for i := range 6 {
		path := []string{"/messaging/v1/messageDefinitionSends/key:welcome/send?to=" + vals[1], "/hub/v1/dataevents/key:x/rowset?email=" + vals[0]}[i%2]
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
	for deadline := time.Now().Add(5 * time.Second); rcd.Stats().Recorded.Load() < 6 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if err := rcd.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	// The engine's first look and a few cycles, alerting after each.
	if _, err := eng.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	d.Step(ctx)
	for range 8 {
		step := monitor.Stepper{Engine: eng, Advance: env.Advance, Now: env.Now, Step: 30 * time.Second}
		if err := step.Run(ctx, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		d.Step(ctx)
	}

	leaks := 0
	leak := func(where string, b []byte) {
		t.Helper()
		for _, needle := range append([]string{marker}, phones...) {
			if i := bytes.Index(b, []byte(needle)); i >= 0 {
				leaks++
				t.Errorf("seed %d: %s leaks personal data or a secret: …%s…", seed, where, b[max(0, i-100):min(len(b), i+100)])
				return
			}
		}
	}
	for _, a := range acks {
		leak("an ingest acknowledgement", a)
	}

	// Every table of the store, read with SQL.
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables := sqliteTables(t, db)
	rowsSeen := map[string]int{}
	var all bytes.Buffer
	for _, tbl := range tables {
		b, n := dumpTable(t, db, tbl)
		rowsSeen[tbl] = n
		all.Write(b)
		leak("store table "+tbl, b)
	}
	// Each source's text reached the store (masked): the checks above
	// looked at data that went through it.
	for _, want := range []string{"Query activity failed", "Invalid subscriber address", "User Unknown", "Subscriber ***@example.com not found", "crm-sync", "Proxy-path subscriber"} {
		if !bytes.Contains(all.Bytes(), []byte(want)) {
			t.Errorf("the store holds no %q: that source was not exercised", want)
		}
	}

	// The JSON API, the dashboard pages and /metrics.
	h := web.New(web.Options{Store: st, Config: holder, Logger: logger, Clock: env.Sim.Now,
		Collectors: []prometheus.Collector{ing.Collector(), ensr.Collector(), d.Collector()}}).Handler()
	get := func(path string) []byte {
		rq := httptest.NewRequest("GET", path, nil)
		rq.Host = "127.0.0.1"
		rq = rq.WithContext(context.WithValue(rq.Context(), http.LocalAddrContextKey, loopbackAddr{}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, rq)
		if rec.Code != 200 {
			t.Errorf("GET %s: %d %.300s", path, rec.Code, rec.Body.String())
		}
		return rec.Body.Bytes()
	}
	incs, err := st.ListIncidents(ctx, store.IncidentFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/api/v1/overview", "/api/v1/incidents", "/api/v1/incidents?status=resolved", "/api/v1/events?range=7d&limit=1000", "/api/v1/events/aggregate?range=7d",
		"/api/v1/objects", "/api/v1/usage", "/metrics", "/", "/incidents", "/errors", "/errors/events", "/objects"}
	for _, in := range incs {
		id := strconv.FormatInt(in.ID, 10)
		paths = append(paths, "/api/v1/incidents/"+id, "/incidents/"+id)
	}
	for _, p := range paths {
		leak("GET "+p, get(p))
	}

	// The weekly digest in every form it is sent.
	dg, err := digest.Build(ctx, st, digest.Options{Now: env.Sim.Now, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	var dh, dm bytes.Buffer
	if err := report.WriteDigestHTML(&dh, dg); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteDigestMarkdown(&dm, dg); err != nil {
		t.Fatal(err)
	}
	de, err := report.NewDigestEmail(dg)
	if err != nil {
		t.Fatal(err)
	}
	deb, _ := json.Marshal(de)
	dj, _ := json.Marshal(dg)
	leak("the digest (HTML)", dh.Bytes())
	leak("the digest (Markdown)", dm.Bytes())
	leak("the digest e-mail", deb)
	leak("the digest (JSON)", dj)

	// Notifications, in each channel's format.
	capture.mu.Lock()
	sent := capture.n
	for _, nb := range capture.out {
		leak("a notification ("+nb.name+")", nb.b)
	}
	capture.mu.Unlock()

	// Logs of every part (last: the steps above log too).
	leak("the logs", logs.Bytes())

	// The run exercised what it claims to check.
	rules := map[string]bool{}
	for _, in := range incs {
		rules[in.Rule] = true
	}
	for _, want := range []string{"automation.error", "api.errors"} {
		if !rules[want] {
			t.Errorf("no %s incident: the source it comes from was not exercised (rules: %v)", want, rules)
		}
	}
	if rowsSeen["events"] < 100 || rowsSeen["snapshots"] == 0 || rowsSeen["incidents"] == 0 {
		t.Errorf("store rows %v: sources not exercised", rowsSeen)
	}
	if sent == 0 {
		t.Error("no notification sent: the notification sink was not exercised")
	}
	if len(logs.Bytes()) == 0 {
		t.Error("nothing logged")
	}
	t.Logf("seed %d: %d tables (%v), %d incidents (%v), %d notifications, %d bytes of logs, %d leaks", seed, len(tables), rowsSeen, len(incs), rules, sent, len(logs.Bytes()), leaks)
}

func sqliteTables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		t.Fatal("no tables")
	}
	return out
}

// dumpTable returns every value of every row of tbl as text.
func dumpTable(t *testing.T, db *sql.DB, tbl string) ([]byte, int) {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM "` + tbl + `"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var b bytes.Buffer
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		n++
		for _, v := range vals {
			switch x := v.(type) {
			case []byte:
				b.Write(x)
			default:
				fmt.Fprint(&b, x)
			}
			b.WriteByte('\t')
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), n
}
