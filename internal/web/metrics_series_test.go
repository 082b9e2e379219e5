package web_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
	"github.com/sfmcwatch/sfmcwatch/internal/web"
)

// TestMetricsSeriesBounded: 10,000 (1,500 under -race) distinct tenants, integrations, codes
// (numbers, free text, an address), families and endpoints in the store,
// and incidents of 300 tenants with made-up severities and families, give
// /metrics at most the cap of series per metric: every label comes from a
// bounded set with an "other" bucket, codes from the catalog.
func TestMetricsSeriesBounded(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "m.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	const n = seriesTestRows
	recs := make([]store.EventRecord, 0, n)
	usage := make([]store.UsageDelta, 0, n)
	for i := range n {
		code := fmt.Sprint(100000 + i)
		switch i % 3 {
		case 1:
			code = fmt.Sprintf("Subscriber jane.%d@example.com not found", i)
		case 2:
			code = fmt.Sprintf("custom-%d", i)
		}
		recs = append(recs, store.EventRecord{Event: event.Event{TS: now.Add(-time.Duration(i) * time.Second), Source: "ingest",
			Tenant: fmt.Sprintf("tenant-%05d", i), Integration: fmt.Sprintf("integration-%05d", i), Method: "POST",
			Endpoint: fmt.Sprintf("/data/v1/x%05d", i), Status: 400, RequestID: fmt.Sprintf("r-%d", i)},
			Family: []string{"client", "server", fmt.Sprintf("family-%d", i)}[i%3], Code: code, Surface: []string{"rest", "soap", fmt.Sprintf("surface-%d", i)}[i%3],
			IsError: true, Count: 1})
		usage = append(usage, store.UsageDelta{Tenant: fmt.Sprintf("tenant-%05d", i%500), Endpoint: fmt.Sprintf("/data/v1/x%05d", i), At: now, Calls: int64(i%7 + 1)})
	}
	if _, err := st.InsertEvents(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := st.AddUsage(ctx, usage...); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if _, _, err := st.OpenOrUpdateIncident(ctx, store.IncidentUpsert{Fingerprint: fmt.Sprintf("api.errors|t%d", i), Rule: "api.errors",
			Severity: fmt.Sprintf("sev-%d", i%4*(i%2)), Family: []string{"server", fmt.Sprintf("fam-%d", i)}[i%2], Tenant: fmt.Sprintf("tenant-%05d", i),
			ResourceType: "tenant", ResourceKey: "x", Title: "t", Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	h := web.New(web.Options{Store: st}).Handler()
	rq := httptest.NewRequest("GET", "/metrics", nil)
	rq.Host = "127.0.0.1"
	rq = rq.WithContext(context.WithValue(rq.Context(), http.LocalAddrContextKey, loopbackAddr{}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, rq)
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	series := map[string]int{}
	labels := map[string]map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(rec.Body.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		series[name]++
		for _, kv := range strings.Split(strings.SplitN(rest, "}", 2)[0], ",") {
			k, v, _ := strings.Cut(kv, "=")
			if labels[name+"."+k] == nil {
				labels[name+"."+k] = map[string]bool{}
			}
			labels[name+"."+k][v] = true
		}
	}
	if !bytes.Contains(rec.Body.Bytes(), []byte("sfmcwatch_store_up 1")) {
		t.Fatal("the store did not answer the scrape in time")
	}
	if bytes.Contains(rec.Body.Bytes(), []byte("example.com")) {
		t.Error("/metrics holds an address")
	}
	for _, c := range []struct {
		label string
		max   int
	}{
		{"sfmcwatch_events_24h.tenant", 100},
		{"sfmcwatch_events_24h.family", 8},
		{"sfmcwatch_events_24h.code", 400 + 500}, // catalog entries + HTTP statuses
		{"sfmcwatch_incidents_open.tenant", 100},
		{"sfmcwatch_incidents_open.severity", 5},
		{"sfmcwatch_incidents_open.family", 8},
		{"sfmcwatch_api_calls_today.tenant", 100},
		{"sfmcwatch_api_calls_today.endpoint", 200},
	} {
		got := len(labels[c.label])
		if got == 0 || got > c.max {
			t.Errorf("%s: %d values, cap %d", c.label, got, c.max)
		}
		if !labels[c.label][`"other"`] && !strings.HasSuffix(c.label, ".code") {
			t.Errorf("%s: no other bucket", c.label)
		}
	}
	for name, k := range series {
		if k > 2000 {
			t.Errorf("%s: %d series", name, k)
		}
	}
	if series["sfmcwatch_events_24h"] == 0 {
		t.Fatal("no events series: the test checked nothing")
	}
}
