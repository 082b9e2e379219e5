package cli

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
)

// check-config prints the tenant's call plan: the total a day, then each
// monitor's calls a day and interval, then each kind of call.
func TestCheckConfigPrintsCallPlan(t *testing.T) {
	code, out, errOut := runConfigCLI(t, "check-config", "--config", "testdata/config-valid.yaml")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	cfg, _, err := loadConfigOffline("testdata/config-valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.Tenants[0]
	p := tc.CallPlan(callplan.Reference())
	want := []string{fmt.Sprintf("tenant %s: ~%d API calls/day of a %d budget (+%d once while the tenant is learned)", tc.Name, p.PerDay(), tc.DailyAPIBudget, p.Once()),
		"planned for 200 automations, 50 journeys, 500 data extensions, 100 triggered sends, 20 transactional definitions, 60 imports:"}
	n := 0
	tc.Monitors.Each(func(name string, m *config.Monitor) {
		if !m.Enabled {
			return
		}
		n++
		pm := p.Get(name)
		if pm.Name == "" {
			t.Errorf("enabled monitor %s has no plan", name)
			return
		}
		want = append(want, fmt.Sprintf("    %-16s %6.0f/day every %s\n", name, pm.PerDay(), shortInterval(m.Interval.Std())))
		for _, l := range pm.Lines {
			want = append(want, fmt.Sprintf("%6.0f  %s\n", l.PerDay, l.Call))
		}
	})
	if n == 0 {
		t.Fatal("no monitor enabled in the test config")
	}
	want = append(want, "    tokens ")
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("stdout misses %q:\n%s", w, out)
		}
	}
}

func TestShortInterval(t *testing.T) {
	for in, want := range map[string]string{"30s": "30s", "5m": "5m", "15m": "15m", "1h": "1h", "90s": "1m30s", "24h": "24h"} {
		d, err := config.ParseDuration(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := shortInterval(d.Std()); got != want {
			t.Errorf("shortInterval(%s) = %q, want %q", in, got, want)
		}
	}
}
