package detect_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// counted wraps a shipped rule: same id and type, but Evaluate only counts
// that the registry ran it (and NeedsHistory is false, so a one-look
// evaluation runs it too).
type counted struct {
	detect.Rule
	runs *int
}

func (counted) NeedsHistory() bool { return false }

func (c counted) Evaluate(context.Context, *detect.Input) ([]detect.Finding, error) {
	*c.runs++
	return nil, nil
}

// gatedElsewhere are shipped rules without a rules.<id> block of their own,
// with the block that switches them off (checked below).
var gatedElsewhere = map[string]string{
	"api.errors.integration": "api.errors", // the integrations' own calls, judged with api.errors' settings
}

// TestEveryRuleBlockGatesAShippedRule: every rules.<id> block of the config
// names a rule sfmcwatch ships (a block without one would be accepted and do
// nothing), and its enabled key changes the set of rules the registry runs:
// enabled, the rule is evaluated; disabled, it is not, and its incidents get
// an empty result to resolve. Every shipped rule has a block or an entry in
// gatedElsewhere.
func TestEveryRuleBlockGatesAShippedRule(t *testing.T) {
	shipped := map[string]detect.Rule{}
	for _, r := range detect.DefaultRules() {
		shipped[r.ID()] = r
	}
	def := config.DefaultRules()
	var ids []string
	for _, ri := range def.All() {
		ids = append(ids, ri.ID)
		r, ok := shipped[ri.ID]
		if !ok {
			t.Errorf("rules.%s: no shipped rule has this id; the block does nothing", ri.ID)
			continue
		}
		for _, enabled := range []bool{true, false} {
			rules := config.DefaultRules()
			rules.Rule(ri.ID).Enabled = enabled
			runs := 0
			reg, err := detect.NewRegistry(counted{r, &runs})
			if err != nil {
				t.Fatal(err)
			}
			out, err := reg.Evaluate(context.Background(), &detect.Input{Now: time.Unix(1e9, 0), Tenant: &config.Tenant{Name: "t"},
				Rules: &rules, Type: r.Type()})
			if err != nil {
				t.Fatal(err)
			}
			if _, listed := out[ri.ID]; !listed {
				t.Errorf("rules.%s.enabled=%v: no result entry (its incidents would never resolve)", ri.ID, enabled)
			}
			if want := map[bool]int{true: 1, false: 0}[enabled]; runs != want {
				t.Errorf("rules.%s.enabled=%v: rule evaluated %d times, want %d", ri.ID, enabled, runs, want)
			}
		}
	}
	for id := range shipped {
		if slices.Contains(ids, id) {
			continue
		}
		block, ok := gatedElsewhere[id]
		if !ok || !slices.Contains(ids, block) {
			t.Errorf("shipped rule %s has no rules.%s block and no gatedElsewhere entry naming an existing block", id, id)
		}
	}
}

// TestAPIErrorsGatesTheIntegrationRule: rules.api.errors.enabled switches
// the integrations' api.errors (gatedElsewhere) on and off: the same failing
// SDK calls give one finding enabled and none disabled.
func TestAPIErrorsGatesTheIntegrationRule(t *testing.T) {
	st := newStore(t)
	var recs []store.EventRecord
	for i := range 16 {
		recs = append(recs, sdkCall(i, time.Duration(i)*10*time.Second, []string{"DataExtension", "Automation", "Query", "Send"}[i%4], false))
	}
	if _, err := st.InsertEvents(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	for _, enabled := range []bool{true, false} {
		rules := config.DefaultRules()
		rules.APIErrors.Enabled = enabled
		fs, err := detect.APIErrorsIntegration{}.Evaluate(context.Background(), &detect.Input{Now: t0.Add(3 * time.Minute),
			Tenant: &config.Tenant{Name: "acme"}, Rules: &rules, Type: resource.Tenant, Snapshots: st, Events: st, Usage: st})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 1, false: 0}[enabled]; len(fs) != want {
			t.Errorf("rules.api.errors.enabled=%v: %d integration findings, want %d", enabled, len(fs), want)
		}
	}
}
