package web_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
	"github.com/sfmcwatch/sfmcwatch/internal/web"
)

// TestOverviewMedianTTDShowsNumber: when most incidents open on the poll
// that first sees their evidence (time to detection 0 s, the common case for
// state rules), the median is 0 s and the overview must say so, not "—"
// (which reads as "no data"); the time since the failure began (SFMC's
// timestamps) shows beside it, over the incidents that know it.
func TestOverviewMedianTTDShowsNumber(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "w.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := t0.Add(time.Hour)
	for i, tc := range []struct {
		ttd, sinceFailure time.Duration // sinceFailure 0: unknown
	}{{0, 2 * time.Hour}, {0, 0}, {0, 40 * time.Minute}, {90 * time.Second, 0}} {
		opened := t0.Add(time.Duration(i) * time.Minute)
		u := store.IncidentUpsert{Fingerprint: "fp" + itoa(int64(i)), Rule: "journey.stopped", Severity: "critical", Tenant: "acme",
			ResourceType: "journey", ResourceKey: "j" + itoa(int64(i)), Title: "stopped", FirstSeen: opened.Add(-tc.ttd), Now: opened}
		if tc.sinceFailure > 0 {
			u.FailureStartedAt = opened.Add(-tc.sinceFailure)
		}
		if _, _, err := st.OpenOrUpdateIncident(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewServer(web.New(web.Options{Store: st, Clock: func() time.Time { return now }}).Handler())
	t.Cleanup(hs.Close)
	srv := hs.URL

	resp, page := do(t, client(t), "GET", srv+"/", nil, map[string]string{"Accept": "text/html"})
	if resp.StatusCode != 200 {
		t.Fatalf("overview: %d", resp.StatusCode)
	}
	cells := regexp.MustCompile(`<td class="n ttd-median">([^<]*)</td>`).FindAllStringSubmatch(page, -1)
	if len(cells) != 2 {
		t.Fatalf("median TTD cells: %v", cells)
	}
	for _, c := range cells {
		if !regexp.MustCompile(`^[0-9]+[smhd]`).MatchString(c[1]) {
			t.Errorf("median TTD shows %q, want a number", c[1])
		}
	}
	for _, want := range []string{"Since the failure began", "40m <span class=\"muted small\">(2 of 4)</span>"} {
		if !strings.Contains(page, want) {
			t.Errorf("overview lacks %q", want)
		}
	}

	var ov web.Overview
	get(t, srv+"/api/v1/overview", 200, &ov)
	if len(ov.Detection) != 2 {
		t.Fatalf("detection: %+v", ov.Detection)
	}
	d := ov.Detection[0]
	if d.Opened != 4 || d.TTDMedian != 0 || d.TTDP90 != 90 || d.TTDSinceFailureN != 2 ||
		d.TTDSinceFailureMedian != 40*60 || d.TTDSinceFailureP90 != 2*3600 {
		t.Errorf("detection figures: %+v", d)
	}

	// The incident page: the three times, detection both ways.
	_, page = do(t, client(t), "GET", srv+"/incidents/1", nil, map[string]string{"Accept": "text/html"})
	for _, want := range []string{"Failure began", "First evidence", "detected 0s after the first evidence, 2h after the failure began"} {
		if !strings.Contains(page, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}
	_, page = do(t, client(t), "GET", srv+"/incidents/2", nil, map[string]string{"Accept": "text/html"})
	if !strings.Contains(page, "unknown: SFMC&#39;s records give no start time") {
		t.Errorf("incident page without a failure start does not say it is unknown")
	}
}
