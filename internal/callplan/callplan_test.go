package callplan

import (
	"math"
	"testing"
	"time"
)

func TestPagesAndTokens(t *testing.T) {
	for _, c := range []struct{ n, size, want int }{{0, 50, 1}, {1, 50, 1}, {50, 50, 1}, {51, 50, 2}, {2500, 2500, 1}, {6000, 2500, 3}} {
		if got := Pages(c.n, c.size); got != c.want {
			t.Errorf("Pages(%d, %d) = %d, want %d", c.n, c.size, got, c.want)
		}
	}
	// A token lasts 17m49s: polls every 5 min fetch one every 4th poll
	// (every 20 min), hourly polls one each poll.
	for _, c := range []struct {
		every time.Duration
		want  float64
	}{{5 * time.Minute, 72}, {time.Minute, 80}, {time.Hour, 24}, {0, 0}} {
		if got := TokensPerDay(c.every); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("TokensPerDay(%s) = %v, want %v", c.every, got, c.want)
		}
	}
}

func TestRowCountsPerPoll(t *testing.T) {
	for _, c := range []struct {
		daily    int64
		other    float64
		interval time.Duration
		critical int
		want     int
	}{
		{27400, 4400, 15 * time.Minute, 0, 23}, // ⌊0.1 × 23,000 / 96⌋
		{0, 4400, 15 * time.Minute, 0, 23},     // unlimited: the Enterprise basis
		{27400, 4400, time.Hour, 0, 95},
		{822, 4400, 15 * time.Minute, 3, 3}, // nothing spare: the critical floor
		{27400, 4400, 15 * time.Minute, 500, 500},
	} {
		if got := RowCountsPerPoll(c.daily, c.other, c.interval, c.critical); got != c.want {
			t.Errorf("RowCountsPerPoll(%d, %v, %s, %d) = %d, want %d", c.daily, c.other, c.interval, c.critical, got, c.want)
		}
	}
}

func TestMakeFollowsMonitorsAndInventory(t *testing.T) {
	five := 5 * time.Minute
	all := map[string]time.Duration{Automations: five, Journeys: five, TriggeredSends: five, Transactional: five, Imports: five, DataExtensions: 15 * time.Minute}
	p := Make(Input{Intervals: all, Inventory: Reference(), DailyBudget: 27400})
	if len(p.Monitors) != 7 || p.Monitors[len(p.Monitors)-1].Name != Tokens {
		t.Fatalf("monitors %+v", p.Monitors)
	}
	// Each list is one call a poll at the reference size.
	for _, name := range []string{Journeys} {
		if got := p.Get(name).Lines[0].PerDay; got != 288 {
			t.Errorf("%s: %v a day, want 288", name, got)
		}
	}
	// journey.split_skew: one history download every 4 h for each journey
	// with decision splits (25 % of 50 journeys: 13 × 6).
	if ls := p.Get(Journeys).Lines; len(ls) != 2 || ls[1].PerDay != 78 {
		t.Errorf("journey split reads %+v, want 78 a day", ls)
	}
	// Summaries every poll, definitions every hour.
	if got := p.Get(TriggeredSends).PerDay(); got != 288+24 {
		t.Errorf("triggered sends: %v a day, want 312 (summaries every poll, definitions every 1h)", got)
	}
	// Transactional: the not-sent feed every poll, the definition list
	// every 30 minutes, each healthy queue every 12 h (20 definitions).
	if ls := p.Get(Transactional).Lines; len(ls) != 3 || ls[0].PerDay != 48 || ls[1].PerDay != 288 || ls[2].PerDay != 40 {
		t.Errorf("transactional %+v, want 48 list reads, 288 feed reads, 40 queue reads a day", ls)
	}
	// Data extensions: the list hourly.
	if got := p.Get(DataExtensions).Lines[0].PerDay; got != 24 {
		t.Errorf("data extension list: %v a day, want 24 (hourly)", got)
	}
	// The per-poll row-count cap is the share of what the rest leaves;
	// the steady counts are the DEs no automation writes, once a day.
	if want := RowCountsPerPoll(27400, p.OtherPerDay, 15*time.Minute, 0); p.RowCountsPerPoll != want {
		t.Errorf("row counts %d a poll, want %d", p.RowCountsPerPoll, want)
	}
	if got, want := float64(p.PerDay()), p.OtherPerDay+500*(1-TargetDEShare); math.Abs(got-want) > 1 {
		t.Errorf("total %v, want other + daily row counts = %v", got, want)
	}
	// A critical DE is counted every poll.
	withCritical := Make(Input{Intervals: all, Inventory: Reference(), DailyBudget: 27400, CriticalDEs: 1})
	if got := withCritical.PerDay() - p.PerDay(); got < 95 || got > 96 {
		t.Errorf("one critical DE adds %d calls a day, want 96 (less its daily count)", got)
	}
	// More journeys: more pages.
	big := Reference()
	big.Journeys = 120
	if got := Make(Input{Intervals: all, Inventory: big}).Get(Journeys).Lines[0].PerDay; got != 3*288 {
		t.Errorf("120 journeys: %v a day, want 3 pages a poll", got)
	}
	// A disabled monitor costs nothing; no monitor: no token either.
	delete(all, Journeys)
	if got := Make(Input{Intervals: all, Inventory: Reference()}).Get(Journeys); got.Name != "" {
		t.Errorf("disabled journeys planned: %+v", got)
	}
	if got := Make(Input{Inventory: Reference()}); got.PerDay() != 0 || len(got.Monitors) != 0 {
		t.Errorf("nothing enabled: %+v", got)
	}
	// Slower polls: fewer list reads; the output checks follow the runs
	// (AutomationOutputEvery), not the polls, within their per-poll budget.
	slow := Make(Input{Intervals: map[string]time.Duration{Automations: time.Hour}, Inventory: Reference()})
	fast := Make(Input{Intervals: map[string]time.Duration{Automations: 5 * time.Minute}, Inventory: Reference()})
	outputs := func(p Plan) float64 { return p.Get(Automations).Lines[1].PerDay }
	if got := slow.Get(Automations).Lines[0].PerDay; got != 24 {
		t.Errorf("hourly automations: %v list reads a day, want 24", got)
	}
	if o := outputs(slow); o != min(outputs(fast), 24*AutomationDetailBudget) || o < 100 {
		t.Errorf("output checks: %v a day hourly, %v every 5 min; want the same within the hourly polls' budget", o, outputs(fast))
	}
	// Spacing the output checks: fewer than one per completed run.
	if o, runs := outputs(fast), 200*AutomationTargetShare*AutomationRunsPerDay; o >= runs/2 {
		t.Errorf("output checks %v a day for %v completed runs", o, runs)
	}
}
