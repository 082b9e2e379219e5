package detect_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// tokenCall is a v2/token request through the recording proxy, labelled
// with its client id (event.ClientRef). A throttled token endpoint answers
// 429 (rate_limit).
func tokenCall(i int, at time.Duration, integration, clientID string, status int) store.EventRecord {
	r := store.EventRecord{Event: event.Event{TS: t0.Add(at), Tenant: "acme", Integration: integration, Source: "proxy",
		Method: "POST", Endpoint: "/v2/token", ObjectKey: event.ClientRef(clientID), Status: status, RequestID: fmt.Sprint("tok-", i)},
		Family: "none", Count: 1}
	switch status {
	case 429:
		r.IsError, r.Family, r.Surface, r.Code = true, "rate_limit", "http", "429"
	case 401:
		r.IsError, r.Family, r.Surface, r.Code = true, "auth", "oauth", "invalid_client"
	}
	return r
}

// apiCall is a REST read of an integration; 401 is a token refused.
func apiCall(i int, at time.Duration, integration string, status int) store.EventRecord {
	r := store.EventRecord{Event: event.Event{TS: t0.Add(at), Tenant: "acme", Integration: integration, Source: "proxy",
		Method: "GET", Endpoint: "/data/v1/customobjectdata/key/{key}/rowset", Status: status, RequestID: fmt.Sprint("api-", i)},
		Family: "none", Count: 1}
	if status == 401 {
		r.IsError, r.Family, r.Surface, r.Code = true, "auth", "rest", "0"
	}
	return r
}

func evalContention(t *testing.T, now time.Duration, recs []store.EventRecord) []detect.Finding {
	t.Helper()
	st := newStore(t)
	if _, err := st.InsertEvents(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	rules := config.DefaultRules()
	reg, err := detect.NewRegistry(detect.CredentialsContention{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := reg.Evaluate(context.Background(), &detect.Input{Now: t0.Add(now), Tenant: &config.Tenant{Name: "acme"}, Rules: &rules,
		Type: resource.Tenant, Snapshots: st, Events: st, Usage: st})
	if err != nil {
		t.Fatal(err)
	}
	return res["credentials.contention"]
}

// credentials.contention per client id over the last hour (defaults:
// max_token_requests 9, min_integrations 2). SFMC: "1 per 20 min per
// client machine" token requests (help.salesforce.com mc_overview_limits_api,
// research/detection.md §1.3) and tokens of ~18 minutes ("expires_in": 1079).
func TestCredentialsContention(t *testing.T) {
	const id = "3x8kq2v7m4n9p1r6s5t0w2y4"
	every := func(n int, gap time.Duration, integration string, status int, from int) []store.EventRecord {
		var out []store.EventRecord
		for i := range n {
			out = append(out, tokenCall(from+i, time.Duration(i)*gap, integration, id, status))
		}
		return out
	}
	cases := []struct {
		name     string
		recs     []store.EventRecord
		want     int
		severity string
		inTitle  string
	}{
		{"one well-behaved process: 3 tokens an hour", every(3, 18*time.Minute, "crm-sync", 200, 0), 0, "", ""},
		{"replicas behind one name: 12 tokens an hour", every(12, 5*time.Minute, "order-loader", 200, 0), 1, "warning", "one integration name"},
		{"two integrations, nothing broke: info", append(every(3, 18*time.Minute, "crm-sync", 200, 0), every(3, 18*time.Minute, "reporting", 200, 100)...),
			1, "info", "2 integrations: crm-sync, reporting"},
		{"token endpoint throttled", append(every(2, 20*time.Minute, "crm-sync", 200, 0), tokenCall(50, 50*time.Minute, "crm-sync", id, 429)), 1, "warning", "crm-sync"},
		{"token requests older than the window do not count", every(12, time.Minute, "order-loader", 200, 0), 0, "", ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := 59 * time.Minute
			if i == 4 {
				now = 3 * time.Hour
			}
			fs := evalContention(t, now, c.recs)
			if len(fs) != c.want {
				t.Fatalf("%d findings, want %d: %+v", len(fs), c.want, fs)
			}
			if c.want == 0 {
				return
			}
			f := fs[0]
			if string(f.Severity) != c.severity || !strings.Contains(f.Title, c.inTitle) || f.ResourceKey != "client:"+event.ClientRef(id) {
				t.Errorf("finding severity %s title %q key %s", f.Severity, f.Title, f.ResourceKey)
			}
			if strings.Contains(f.Title+f.Detail, id) {
				t.Errorf("the client id is shown unmasked: %s / %s", f.Title, f.Detail)
			}
		})
	}

	// Tokens that stop working early: two integrations share the id; one
	// gets a token and, 6 minutes later, its call is refused with 401.
	recs := []store.EventRecord{tokenCall(1, 0, "crm-sync", id, 200), apiCall(2, time.Minute, "crm-sync", 200),
		tokenCall(3, 5*time.Minute, "reporting", id, 200), apiCall(4, 6*time.Minute, "crm-sync", 401)}
	fs := evalContention(t, 10*time.Minute, recs)
	if len(fs) != 1 || fs[0].Severity != "warning" || !strings.Contains(fs[0].Detail, "stopped working early") || len(fs[0].Evidence) == 0 {
		t.Fatalf("early token failure: %+v", fs)
	}
}

// ClientRef is bounded, stable and does not hold the id.
func TestClientRef(t *testing.T) {
	a, b := event.ClientRef("3x8kq2v7m4n9p1r6s5t0w2y4"), event.ClientRef(" 3x8kq2v7m4n9p1r6s5t0w2y4 ")
	if a != b || len(a) != 13 || !strings.HasPrefix(a, "3x8k~") || strings.Contains(a, "q2v7") || event.ClientRef("") != "" {
		t.Fatalf("ClientRef = %q, %q", a, b)
	}
	if event.ClientRef("ab<script>") == event.ClientRef("ab<script>x") || strings.ContainsAny(event.ClientRef("a<b>cdef"), "<>") {
		t.Fatal("labels collide or keep markup")
	}
}
