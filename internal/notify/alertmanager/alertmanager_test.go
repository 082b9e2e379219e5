package alertmanager

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/notifytest"
)

const bearer = "am-bearer-TOKEN-0123456789"

func newAM(t *testing.T, url string) notify.Notifier {
	n, err := New(Config{URL: url, BearerToken: bearer, Timeout: config.Duration(5 * time.Second)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConformance(t *testing.T) {
	notifytest.Run(t, notifytest.Case{New: newAM, Secrets: []string{bearer}})
}

// A local /api/v2/alerts that checks the postable alert schema.
func TestPostableAlerts(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/alerts" || r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+bearer {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, a := range got {
			labels, ok := a["labels"].(map[string]any)
			if !ok || labels["alertname"] == nil {
				http.Error(w, "labels.alertname required", http.StatusBadRequest)
				return
			}
			for _, k := range []string{"startsAt", "endsAt"} {
				if s, ok := a[k].(string); ok {
					if _, err := time.Parse(time.RFC3339, s); err != nil {
						http.Error(w, k, http.StatusBadRequest)
						return
					}
				}
			}
		}
	}))
	defer srv.Close()
	n, err := New(Config{URL: srv.URL + "/", BearerToken: bearer, Timeout: config.Duration(time.Second)}, nil, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	m := notify.SampleMessage("am", "https://x.example", now)
	m.Kind = notify.KindAlert
	res := m.Alerts[0]
	res.Status, res.EndsAt, res.IncidentID = notify.StatusResolved, now.Add(-time.Minute), 9
	m.Alerts = append(m.Alerts, res)
	if err := n.Notify(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d alerts", len(got))
	}
	l := got[0]["labels"].(map[string]any)
	if l["alertname"] != "api.errors" || l["family"] != "auth" || l["owner"] != "marketing_ops" || l["source"] != "sfmcwatch" {
		t.Errorf("labels %v", l)
	}
	if got[0]["endsAt"] != "2026-03-02T11:00:00Z" || got[1]["endsAt"] != "2026-03-02T09:59:00Z" {
		t.Errorf("endsAt %v / %v", got[0]["endsAt"], got[1]["endsAt"])
	}
	if !strings.Contains(got[0]["annotations"].(map[string]any)["description"].(string), "failing") {
		t.Errorf("annotations %v", got[0]["annotations"])
	}
}

// Every alert carries the labels the docs promise: family is never empty
// (triggered_send.* and data_extension.schema_drift incidents have no
// family), and the text annotations stay bounded.
func TestPromisedLabelsAlwaysPresent(t *testing.T) {
	m := notify.SampleMessage("am", "", time.Now())
	m.Kind = notify.KindAlert
	base := m.Alerts[0]
	m.Alerts = nil
	for _, rule := range []string{"triggered_send.errors", "triggered_send.stale", "data_extension.schema_drift"} {
		a := base
		a.Rule, a.Family, a.Owner, a.ResourceType, a.ResourceKey = rule, "", "", "", ""
		a.Evidence = strings.Repeat("SOAP 12014 ", 2000)
		m.Alerts = append(m.Alerts, a)
	}
	alerts, err := Alerts(m, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, pa := range alerts {
		for _, k := range []string{"alertname", "source", "family", "owner", "tenant", "severity"} {
			if pa.Labels[k] == "" {
				t.Errorf("%s: label %s missing: %v", pa.Labels["alertname"], k, pa.Labels)
			}
		}
		if pa.Labels["family"] != "none" {
			t.Errorf("family %q, want none", pa.Labels["family"])
		}
		for k, v := range pa.Annotations {
			if len([]rune(v)) > 4096 {
				t.Errorf("annotation %s: %d characters", k, len([]rune(v)))
			}
		}
	}
}
