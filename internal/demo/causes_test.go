package demo

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestCausesSummary: the summary ends with causes → incidents →
// notifications, and the JSON result has causes[] with rule, incidents and
// notifications.
func TestCausesSummary(t *testing.T) {
	r := &Result{Opened: 6, Resolved: 6, ByArea: map[string]int{"tenant": 6}, StoryTopLevel: 2,
		Causes: []Cause{
			{ID: 5, Rule: "api.errors", Cause: "credentials.monitor", Title: "Credentials for demo-bu rejected (oauth:invalid_client) for crm-sync, sfmcwatch: secret rotated?",
				Incidents: 5, Children: []int64{6, 7, 8, 9}, Notifications: 2},
			{ID: 10, Rule: "journey.stopped", Title: "Journey 'X' is stopped", Incidents: 1, Notifications: 2},
		}}
	var b bytes.Buffer
	printSummary(&b, r)
	out := b.String()
	for _, want := range []string{
		"Causes: 2 top-level (notifying) incidents, 1 of them recognised causes explaining 4 more incidents",
		"#5   credentials.monitor       5 incident(s) →  2 notification(s)  Credentials for demo-bu",
		"(children #6, #7, #8, #9)",
		"#10  journey.stopped           1 incident(s) →  2 notification(s)",
		"Notifying incidents: 2 of 6 opened (2 of them opened after the first look).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Opened int `json:"opened"`
		Causes []struct {
			Rule          string `json:"rule"`
			Incidents     int    `json:"incidents"`
			Notifications int    `json:"notifications"`
		} `json:"causes"`
	}
	if err := json.Unmarshal(js, &got); err != nil || got.Opened != 6 || len(got.Causes) != 2 ||
		got.Causes[0].Rule != "api.errors" || got.Causes[0].Incidents != 5 || got.Causes[0].Notifications != 2 {
		t.Fatalf("JSON %s → %+v, %v", js, got, err)
	}
}
