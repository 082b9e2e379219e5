package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// TestCausedBy: a child shows "caused by #N" in the list and on its page,
// the API has caused_by (null for top-level) and the cause's children.
func TestCausedBy(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	cause, child := f.seeded.Open[0], f.seeded.Open[1]
	if _, err := f.st.CorrelateIncident(ctx, cause, store.Correlation{Cause: "sfmc.outage", Title: "SFMC outage or maintenance on t: 5xx/timeouts on 2 endpoints"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.CorrelateIncident(ctx, child, store.Correlation{CausedBy: cause}); err != nil {
		t.Fatal(err)
	}
	c := client(t)
	_, body := do(t, c, "GET", f.srv.URL+"/api/v1/incidents/"+itoa(cause), nil, nil)
	var d struct {
		CausedBy *int64 `json:"caused_by"`
		Cause    string `json:"cause"`
		Children []struct {
			ID       int64  `json:"id"`
			CausedBy *int64 `json:"caused_by"`
		} `json:"children"`
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	if d.CausedBy != nil || d.Cause != "sfmc.outage" || len(d.Children) != 1 || d.Children[0].ID != child || d.Children[0].CausedBy == nil || *d.Children[0].CausedBy != cause {
		t.Fatalf("cause JSON = %+v\n%s", d, body)
	}
	_, body = do(t, c, "GET", f.srv.URL+"/api/v1/incidents?status=open", nil, nil)
	if !strings.Contains(body, `"caused_by": `+itoa(cause)) || !strings.Contains(body, `"caused_by": null`) {
		t.Errorf("list JSON lacks caused_by: %s", body)
	}
	_, page := do(t, c, "GET", f.srv.URL+"/incidents/"+itoa(child), nil, nil)
	if !strings.Contains(page, `Caused by <a href="/incidents/`+itoa(cause)+`">incident #`+itoa(cause)) {
		t.Errorf("child page lacks caused by")
	}
	_, page = do(t, c, "GET", f.srv.URL+"/incidents/"+itoa(cause), nil, nil)
	if !strings.Contains(page, "Explains 1 incident") || !strings.Contains(page, "sfmc.outage") {
		t.Errorf("cause page lacks its children")
	}
	_, page = do(t, c, "GET", f.srv.URL+"/incidents?status=open", nil, nil)
	if !strings.Contains(page, `caused by <a href="/incidents/`+itoa(cause)+`">#`+itoa(cause)+`</a>`) {
		t.Errorf("list page lacks caused by")
	}
}
