package pagerduty

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit/fittest"
)

// Every event of the largest realistic group, and of an alert with
// absurdly long text, stays under PagerDuty's 512 KB event limit and its
// 1,024-character summary, and keeps the fields PagerDuty requires.
func TestEventSizeLimit(t *testing.T) {
	m := fittest.Group(t, 200)
	huge := &m.Alerts[0]
	huge.Evidence = strings.Repeat(fittest.Bodies(t)[0], 2000) // ≈ 3 MB
	huge.Title = strings.Repeat("SOAP 12014 Subscriber is on the unsubscribe list ", 100)
	huge.ResourceKey = strings.Repeat("Newsletter_Subscribers_Master_EU_", 100)
	huge.Remediation = huge.Remediation[:0]
	for range 5000 {
		huge.Remediation = append(huge.Remediation, "Check the subscriber status in All Subscribers before retrying.")
	}
	var (
		mu     sync.Mutex
		events []map[string]any
		sizes  []int
		agents []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev map[string]any
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Error(err)
		}
		mu.Lock()
		events, sizes, agents = append(events, ev), append(sizes, len(b)), append(agents, r.Header.Get("User-Agent"))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	if err := newPD(t, srv.URL+"/v2/enqueue").Notify(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if len(events) != 200 {
		t.Fatalf("%d events for 200 incidents", len(events))
	}
	for i, ev := range events {
		if sizes[i] > 512*1024 {
			t.Errorf("event %d is %d bytes, over 512 KB", i, sizes[i])
		}
		if agents[i] != fit.UserAgent() {
			t.Errorf("User-Agent %q", agents[i])
		}
		p, _ := ev["payload"].(map[string]any)
		summary, _ := p["summary"].(string)
		if summary == "" || utf8.RuneCountInString(summary) > 1024 || p["source"] == "" || p["severity"] == "" {
			t.Errorf("event %d payload %v", i, p)
		}
		if dk, _ := ev["dedup_key"].(string); dk == "" || len(dk) > 255 {
			t.Errorf("dedup_key %q", dk)
		}
	}
	if d, _ := events[0]["payload"].(map[string]any)["custom_details"].(map[string]any); !strings.Contains(d["remediation"].([]any)[20].(string), "…and 4980 more") {
		t.Errorf("remediation not capped: %v", d["remediation"])
	}
	t.Logf("largest event %d bytes", sizes[0])
}
