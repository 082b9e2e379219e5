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
	r := &Result{Opened: 7, Resolved: 7, ByArea: map[string]int{"tenant": 7}, StoryTopLevel: 2,
		Causes: []Cause{
			{ID: 5, Rule: "api.errors", Cause: "credentials.monitor", Title: "Credentials for demo-bu rejected (oauth:invalid_client) for crm-sync, sfmcwatch: secret rotated?",
				Incidents: 5, Children: []int64{6, 7, 8, 9}, Notifications: 2},
			{ID: 10, Rule: "journey.stopped", Title: "Journey 'X' is stopped", Incidents: 1, Notifications: 2},
			{ID: 1, Rule: "automation.paused", Title: "Automation 'Y' is paused", Incidents: 1, Notifications: 1, FirstLook: true},
		}}
	var b bytes.Buffer
	printSummary(&b, r)
	out := b.String()
	for _, want := range []string{
		"Causes: 3 top-level (notifying) incidents, 1 of them recognised causes explaining 4 more incidents",
		"#5   credentials.monitor                    5 incident(s) →  2 notification(s)  Credentials for demo-bu",
		"(children #6, #7, #8, #9)",
		"#10  journey.stopped                        1 incident(s) →  2 notification(s)",
		"#1   automation.paused (first look)         1 incident(s) →  1 notification(s)",
		"Notifying incidents: 3 of 7 opened (1 pre-existing on the first look, 2 from the story).",
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
			FirstLook     bool   `json:"first_look"`
		} `json:"causes"`
		StoryTopLevel int `json:"story_top_level"`
	}
	if err := json.Unmarshal(js, &got); err != nil || got.Opened != 7 || len(got.Causes) != 3 || got.StoryTopLevel != 2 ||
		got.Causes[0].Rule != "api.errors" || got.Causes[0].Incidents != 5 || got.Causes[0].Notifications != 2 ||
		got.Causes[0].FirstLook || !got.Causes[2].FirstLook {
		t.Fatalf("JSON %s → %+v, %v", js, got, err)
	}
}
