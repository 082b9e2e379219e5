package audit

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/health"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

var start = time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)

func newSim(t *testing.T) (*sim.Sim, string) {
	t.Helper()
	s, err := sim.New(sim.Options{Seed: 7, Start: start, Now: func() time.Time { return start },
		Size: sim.Size{Automations: 20, Journeys: 8, DataExtensions: 30, TriggeredSends: 10, Transactional: 3, Imports: 5}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func tenantYAML(s *sim.Sim, url, extra string) string {
	c := s.Credentials()
	return fmt.Sprintf(`
tenants:
  - name: sim
    auth_url: %[1]s
    rest_url: %[1]s
    soap_url: %[1]s
    client_id: %[2]s
    client_secret: %[3]s
    account_id: "%[4]d"
    edition: pro
%[5]s`, url, c.ClientID, c.ClientSecret, c.MIDs[0], extra)
}

func run(t *testing.T, yaml string) *Tenant {
	t.Helper()
	cfg, err := config.Parse("audit.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), cfg, Options{Now: func() time.Time { return start },
		ClientOptions: func(o *sfmc.Options) { o.RateLimit, o.Burst = rate.Inf, 100 }})
	if err != nil {
		t.Fatal(err)
	}
	return &rep.Tenants[0]
}

func byRule(tn *Tenant, rule string) []Finding {
	var out []Finding
	for _, f := range tn.Findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

func TestCoverageGaps(t *testing.T) {
	s, url := newSim(t)
	mid := s.MIDs()[0]
	journeys := s.ObjectKeys(mid, "journey")
	tsds := s.ObjectKeys(mid, "triggered_send")
	s.Inject(sim.Fault{Kind: sim.FaultTriggeredSendInactive, Target: tsds[0]})
	s.Inject(sim.Fault{Kind: sim.FaultScopeRemoved, Target: "journeys_read"})
	critical := "    monitors:\n      journeys:\n        critical: [" + strings.Join(journeys, ", ") + "]\n"

	tn := run(t, tenantYAML(s, url, critical))
	cov := tn.Coverage

	// Automations: every one checked (pro budget 274/20 = 13 < 20, so 13).
	if cov.AutomationsTotal != 20 || cov.AutomationsChecked != 13 {
		t.Errorf("automations checked %d of %d, want 13 of 20", cov.AutomationsChecked, cov.AutomationsTotal)
	}
	if got := len(byRule(tn, RuleNoErrorNotification)); got != cov.AutomationsWithoutAlert || got == 0 {
		t.Errorf("%d no-notification findings, coverage says %d (the sim leaves ~30%% without one)", got, cov.AutomationsWithoutAlert)
	}
	if len(cov.Notes) == 0 || !strings.Contains(cov.Notes[0], "13 of 20") {
		t.Errorf("notes %q should say only 13 of 20 were checked", cov.Notes)
	}

	// The journeys scope is gone: the journey read fails, the gap says why.
	ms := byRule(tn, RuleMissingScope)
	if len(ms) != 1 || ms[0].ResourceKey != "journeys_read" || ms[0].Area != health.Access || !ms[0].Gap {
		t.Fatalf("missing-scope findings %+v", ms)
	}
	if !strings.Contains(strings.Join(tn.Errors, "\n"), "journey") {
		t.Errorf("errors %q should name the unreadable journeys", tn.Errors)
	}

	// The paused triggered send is reported once (by the rule or the gap).
	var ts []Finding
	for _, f := range tn.Findings {
		if f.ResourceKey == tsds[0] && strings.HasPrefix(f.Rule, "triggered_send.") {
			ts = append(ts, f)
		}
	}
	if len(ts) != 1 {
		t.Fatalf("triggered send %s: %d findings %+v, want 1", tsds[0], len(ts), ts)
	}
	if cov.TriggeredSendsNotActive < 1 {
		t.Errorf("triggered sends not active %d", cov.TriggeredSendsNotActive)
	}
	// Every gap has an owner and a fix, and deducts from the score.
	for _, f := range tn.Findings {
		if f.Owner == "" || len(f.Remediation) == 0 || f.Title == "" {
			t.Errorf("finding without owner/fix/title: %+v", f)
		}
	}
	deducted := map[string]bool{}
	for _, d := range tn.Deductions {
		deducted[d.Rule] = true
	}
	for _, r := range []string{RuleMissingScope, RuleNoErrorNotification} {
		if !deducted[r] {
			t.Errorf("no deduction for %s: %+v", r, tn.Deductions)
		}
	}
	if cov.DailyAPIBudget != 274 || cov.BudgetShare <= 0 || cov.BudgetShare != float64(tn.APICalls)/274 {
		t.Errorf("budget %d share %g for %d calls", cov.DailyAPIBudget, cov.BudgetShare, tn.APICalls)
	}
}

func TestCriticalJourneyWithoutSLA(t *testing.T) {
	s, url := newSim(t)
	journeys := s.ObjectKeys(s.MIDs()[0], "journey")
	critical := "    monitors:\n      journeys:\n        critical: [" + strings.Join(journeys, ", ") + "]\n"
	tn := run(t, tenantYAML(s, url, critical))
	gaps := byRule(tn, RuleJourneyEntryNoSLA)
	if tn.Coverage.CriticalJourneys != len(journeys) {
		t.Errorf("critical journeys %d, want %d", tn.Coverage.CriticalJourneys, len(journeys))
	}
	if len(gaps) == 0 || len(gaps) != tn.Coverage.CriticalJourneysNoSLA {
		t.Fatalf("%d gaps, coverage %d: the sim's journeys have entry data extensions", len(gaps), tn.Coverage.CriticalJourneysNoSLA)
	}
	// Declaring the SLA of the first gap's entry DE removes that gap.
	de := strings.TrimSuffix(strings.Fields(strings.SplitAfter(gaps[0].Title, "data extension ")[1])[0], ",")
	sla := critical + "    objects:\n      \"data_extension:" + de + "\": {freshness: {warn_after: 26h, error_after: 30h}}\n"
	tn2 := run(t, tenantYAML(s, url, sla))
	for _, f := range byRule(tn2, RuleJourneyEntryNoSLA) {
		if strings.Contains(f.Title, " "+de+",") {
			t.Errorf("gap for %s still reported after declaring its SLA: %s", de, f.Title)
		}
	}
	if got := len(byRule(tn2, RuleJourneyEntryNoSLA)); got >= len(gaps) {
		t.Errorf("gaps %d → %d, want fewer", len(gaps), got)
	}
	// Without critical journeys the audit says so instead.
	tn3 := run(t, tenantYAML(s, url, ""))
	if len(byRule(tn3, RuleJourneyEntryNoSLA)) != 0 || !strings.Contains(strings.Join(tn3.Coverage.Notes, " "), "No journey is marked critical") {
		t.Errorf("no critical journeys: notes %q", tn3.Coverage.Notes)
	}
}
