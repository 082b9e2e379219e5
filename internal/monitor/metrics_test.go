package monitor

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A poll that starts late is observed in sfmcwatch_poll_lag_seconds, the
// scheduled polls it swallowed are counted, and it is reported once when
// it starts lagging and once when it is back on schedule.
func TestPollLagMetrics(t *testing.T) {
	m := newPollMetrics()
	due := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	const every = time.Minute
	if _, late, _ := m.started(1, "automation", due, due.Add(2*time.Second), every); late {
		t.Fatal("2 s late on a 1 min schedule reported as lagging")
	}
	lag, late, _ := m.started(1, "automation", due, due.Add(150*time.Second), every)
	if !late || lag != 150*time.Second {
		t.Fatalf("150 s late: lag %s late %v", lag, late)
	}
	if _, late, _ := m.started(1, "automation", due, due.Add(150*time.Second), every); late {
		t.Fatal("still lagging reported twice")
	}
	if _, _, back := m.started(1, "automation", due, due.Add(time.Second), every); !back {
		t.Fatal("back on schedule not reported")
	}
	if got := testutil.ToFloat64(m.skipped.WithLabelValues("automation")); got != 4 {
		t.Fatalf("skipped polls = %v, want 4 (two polls 150 s late on a 1 min schedule: 2 each)", got)
	}
	m.finished("automation", nil)
	if n := testutil.CollectAndCount(m, "sfmcwatch_poll_lag_seconds"); n != 1 {
		t.Fatalf("%d lag series, want 1", n)
	}
	if err := testutil.CollectAndCompare(m, strings.NewReader(`
# HELP sfmcwatch_polls_total Polls run, by monitor and result (ok, error).
# TYPE sfmcwatch_polls_total counter
sfmcwatch_polls_total{monitor="automation",result="ok"} 1
`), "sfmcwatch_polls_total"); err != nil {
		t.Fatal(err)
	}
}
