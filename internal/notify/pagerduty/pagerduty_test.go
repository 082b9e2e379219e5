package pagerduty

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/notifytest"
)

const routingKey = "R0UTINGKEY0123456789abcdefABCDEF"

func newPD(t *testing.T, url string) notify.Notifier {
	n, err := New(Config{RoutingKey: routingKey, URL: url, Timeout: config.Duration(5 * time.Second)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConformance(t *testing.T) {
	notifytest.Run(t, notifytest.Case{New: newPD, SecretPath: "/v2/enqueue", Secrets: []string{routingKey}})
}

func TestValidate(t *testing.T) {
	_, err := New(Config{RoutingKey: "short-key", Timeout: config.Duration(time.Second)}, nil)
	if err == nil || !strings.Contains(err.Error(), "32-character") || strings.Contains(err.Error(), "short-key") {
		t.Fatalf("err = %v", err)
	}
}

// A local Events API v2 that checks the schema of every event.
func TestLifecycleAgainstEventsAPI(t *testing.T) {
	var (
		mu     sync.Mutex
		events []Event
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev Event
		b, _ := io.ReadAll(r.Body)
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil || r.URL.Path != "/v2/enqueue" {
			http.Error(w, `{"status":"invalid event"}`, http.StatusBadRequest)
			return
		}
		valid := ev.RoutingKey == routingKey && ev.DedupKey != "" && len(ev.DedupKey) <= 255
		switch ev.EventAction {
		case "trigger":
			p := ev.Payload
			valid = valid && p != nil && p.Summary != "" && len(p.Summary) <= 1024 && p.Source != "" &&
				strings.Contains(" critical error warning info ", " "+p.Severity+" ")
		case "acknowledge", "resolve":
		default:
			valid = false
		}
		if !valid {
			http.Error(w, `{"status":"invalid event"}`, http.StatusBadRequest)
			return
		}
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"`+ev.DedupKey+`"}`)
	}))
	defer srv.Close()
	n := newPD(t, srv.URL+"/v2/enqueue")
	base := notify.Alert{IncidentID: 4, Fingerprint: "api.errors|acme|tenant|acme|auth:401", Status: notify.StatusFiring,
		Rule: "api.errors", Title: "401 on token", Severity: "critical", Family: "auth", Owner: "marketing_ops", Tenant: "acme",
		StartsAt: time.Now(), Link: "https://x.example/incidents/4"}
	fire := &notify.Message{Kind: notify.KindAlert, Key: "k1", Alerts: []notify.Alert{base}}
	acked := base
	acked.AcknowledgedBy = "ann"
	resolved := base
	resolved.Status = notify.StatusResolved
	for _, m := range []*notify.Message{fire, {Kind: notify.KindAlert, Key: "k2", Alerts: []notify.Alert{acked}}, {Kind: notify.KindAlert, Key: "k3", Alerts: []notify.Alert{resolved}}} {
		if err := n.Notify(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	if len(events) != 3 {
		t.Fatalf("%d events", len(events))
	}
	for i, want := range []string{"trigger", "acknowledge", "resolve"} {
		if events[i].EventAction != want || events[i].DedupKey != base.Fingerprint {
			t.Errorf("event %d: %s %s", i, events[i].EventAction, events[i].DedupKey)
		}
	}
	if events[0].Links[0].Href != base.Link || events[0].Payload.Group != "marketing_ops" || events[0].Payload.Class != "auth" {
		t.Errorf("trigger %+v", events[0])
	}
	// The test alert triggers and resolves its own throw-away incident.
	events = nil
	if err := n.Notify(t.Context(), notify.SampleMessage("pd", "", time.Now())); err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].EventAction != "trigger" || events[1].EventAction != "resolve" || events[0].DedupKey != events[1].DedupKey {
		t.Fatalf("test events %+v", events)
	}
	// Reports are refused permanently.
	err := n.Notify(t.Context(), &notify.Message{Kind: notify.KindReport, Report: &notify.Report{Subject: "digest", Text: "x"}})
	if err == nil || notify.IsRetryable(err) {
		t.Fatalf("report: %v", err)
	}
	if long := DedupKey(strings.Repeat("x", 300)); len(long) > 255 || !strings.HasPrefix(long, "sfmcwatch-") {
		t.Fatalf("long dedup key %q", long)
	}
}
