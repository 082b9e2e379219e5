package sfmc

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/sharedfixtures"
)

// TestJourneyActivitiesFixture reads the recorded multistep journey
// (journey/interaction-multistep.json, GET
// /interaction/v1/interactions/key:{key}: "type": "MULTICRITERIADECISION",
// "outcomes": [{"key": "default_path_1", "next": "EMAILV2-1", …},
// {"key": "remainder_path", "next": "WAITBYDURATION-2", …}],
// "configurationArguments": {"criteria": {"default_path_1": "<FilterDefinition>…"}})
// and SFMC's random split format ("Random Split Format", developer.salesforce.com:
// "outcomes":[{"next":"send-sms","arguments":{"percentage":90}},
// {"next":null,"arguments":{"percentage":10}}]).
func TestJourneyActivitiesFixture(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(sharedfixtures.Fixtures(t), "journey", "interaction-multistep.json"))
	if err != nil {
		t.Fatal(err)
	}
	random := `{"activities":[{"id":"a1","key":"Random-Split-1","type":"randomSplit","outcomes":[` +
		`{"next":"send-sms","arguments":{"percentage":90}},{"next":null,"arguments":{"percentage":10}}]},` +
		`{"id":"a2","key":"send-sms","type":"SMSSYNC","outcomes":[]}]}`
	e := newEnv(t, true, nil)
	var query string
	e.f.setAPI(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		if strings.HasSuffix(r.URL.Path, "key:random") {
			writeJSON(w, 200, random)
			return
		}
		writeJSON(w, 200, string(body))
	})
	acts, err := e.c.JourneyActivities(context.Background(), "testExisting_journey_Multistep")
	if err != nil {
		t.Fatal(err)
	}
	if query != "extras=activities" {
		t.Errorf("query %q, want extras=activities", query)
	}
	if len(acts) != 4 {
		t.Fatalf("%d activities: %+v", len(acts), acts)
	}
	d := acts[0]
	if d.ID != "342dd0aa-a6be-401e-8614-3538800bfd7c" || d.Type != "MULTICRITERIADECISION" || len(d.Outcomes) != 2 {
		t.Fatalf("decision %+v", d)
	}
	if o := d.Outcomes[0]; o.Key != "default_path_1" || o.Next != "EMAILV2-1" || o.Label != "send message" || !o.Criteria {
		t.Errorf("first path %+v", o)
	}
	if o := d.Outcomes[1]; o.Key != "remainder_path" || o.Next != "WAITBYDURATION-2" || o.Label != "" || o.Criteria {
		t.Errorf("remainder %+v", o)
	}
	if !SplitActivityTypes[d.Type] || SplitActivityTypes[acts[1].Type] {
		t.Errorf("split types: %s %s", d.Type, acts[1].Type)
	}
	acts, err = e.c.JourneyActivities(context.Background(), "random")
	if err != nil {
		t.Fatal(err)
	}
	if r := acts[0]; r.Type != "RANDOMSPLIT" || r.Outcomes[0].Percentage != 90 || r.Outcomes[1].Percentage != 10 || r.Outcomes[1].Next != "" {
		t.Errorf("random split %+v", r)
	}
}

// TestJourneyHistoryCounts: the download (POST
// /interaction/v1/interactions/journeyhistory/download, documented body
// start, end, activityIds; query columns and format; header
// x-direct-pipe: true) asks only for ActivityId and TransactionTime —
// never ContactKey — and counts rows per activity and bucket. The CSV
// below has SFMC's default columns in SFMC's order ("TransactionTime,
// ContactKey, Status, DefinitionId, DefinitionName, ActivityId,
// ActivityName, ActivityType"), as a server ignoring columns would send:
// the counts must not depend on the column order, and no contact key is
// kept.
func TestJourneyHistoryCounts(t *testing.T) {
	e := newEnv(t, true, nil)
	var got struct {
		pipe, columns, format, ctype string
		body                         map[string]any
	}
	e.f.setAPI(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/interaction/v1/interactions/journeyhistory/download" {
			http.NotFound(w, r)
			return
		}
		got.pipe, got.columns, got.format = r.Header.Get("x-direct-pipe"), r.URL.Query().Get("columns"), r.URL.Query().Get("format")
		got.ctype = r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &got.body)
		w.Header().Set("Content-Type", "text/csv")
		io.WriteString(w, "TransactionTime,ContactKey,Status,DefinitionId,DefinitionName,ActivityId,ActivityName,ActivityType\r\n"+
			"2026-12-01T10:15:00Z,c1@example.com,Complete,d1,Welcome,AAA,Split,MultiCriteriaDecision\r\n"+
			"2026-12-01T11:59:00Z,c2@example.com,Complete,d1,Welcome,aaa,Split,MultiCriteriaDecision\r\n"+
			"2026-12-01T12:00:00Z,c3@example.com,Complete,d1,Welcome,AAA,Split,MultiCriteriaDecision\r\n"+
			"2026-12-01T12:30:00Z,c3@example.com,Complete,d1,Welcome,BBB,Email,EMAILV2\r\n"+
			"2026-12-01T09:00:00Z,c4@example.com,Complete,d1,Welcome,BBB,Email,EMAILV2\r\n")
	})
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	counts, err := e.c.JourneyHistoryCounts(context.Background(), []string{"AAA", "BBB"}, start, start.Add(4*time.Hour), 6*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got.pipe != "true" || got.columns != "ActivityId,TransactionTime" || got.format != "csv" || got.ctype != "application/json" {
		t.Errorf("request: %+v", got)
	}
	if strings.Contains(got.columns, "ContactKey") {
		t.Error("the download asks for contact keys")
	}
	if got.body["start"] != "2026-12-01T10:00:00Z" || got.body["end"] != "2026-12-01T14:00:00Z" || len(got.body["activityIds"].([]any)) != 2 {
		t.Errorf("body %v", got.body)
	}
	b6, b12 := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	if counts["aaa"][b6] != 2 || counts["aaa"][b12] != 1 || counts["bbb"][b12] != 1 || len(counts["bbb"]) != 1 {
		t.Errorf("counts %v (the 09:00 row is before start)", counts)
	}
	// A body without the columns is a decode error, not empty counts.
	e.f.setAPI(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "Foo,Bar\r\n1,2\r\n") })
	if _, err := e.c.JourneyHistoryCounts(context.Background(), []string{"AAA"}, start, start.Add(time.Hour), time.Hour); err == nil {
		t.Error("a CSV without ActivityId/TransactionTime was accepted")
	} else {
		wantKind(t, err, KindDecode, "")
	}
}
