package demo

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMeasureIntegrationCases runs the measure's integration cases on a
// short warm-up: shop-backend's transactional sends swallowed, member-app's
// journey entry events dropped, two more apps on order-sync's client id,
// and an outage while Salesforce Trust reports an incident. Each must
// become its incident (and none before its fault: the measure reports an
// incident already open as not detected).
func TestMeasureIntegrationCases(t *testing.T) {
	if testing.Short() {
		t.Skip("plays hours of simulated time")
	}
	if raceDetector {
		t.Skip("minutes under the race detector; .ci/run's demo --measure step runs these cases")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	m, err := Measure(ctx, MeasureOptions{WarmUp: time.Hour, Limit: 2 * time.Hour, SpendHours: -1,
		Rules: []string{"send.silent_failure", "credentials.contention", "trust"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"transactional_swallowed (shop-backend's sends)":     "integration:shop-backend",
		"journey_events_dropped (member-app's entry events)": "api-entry-events",
		"two more apps on order-sync's client id":            "",
	}
	for _, r := range m.Rules {
		tgt, ok := want[r.Fault]
		if !ok {
			t.Errorf("unexpected case %+v", r)
			continue
		}
		delete(want, r.Fault)
		if !r.Detected || r.Target != tgt || r.Latency <= 0 || r.Latency > time.Hour {
			t.Errorf("%s / %s: %+v", r.Rule, r.Fault, r)
		}
		t.Logf("%s / %s: %s (%s)", r.Rule, r.Fault, r.Latency, r.Why)
	}
	if len(want) != 0 {
		t.Errorf("cases not measured: %v", want)
	}
	if m.Trust == nil || !m.Trust.Detected || !strings.Contains(m.Trust.Title, "SFMC reports an incident on your instance S7") {
		t.Fatalf("Trust note: %+v", m.Trust)
	}
	t.Logf("Trust note after %s: %s", m.Trust.Latency, m.Trust.Title)
	// .ci/run counts rules by the first field of the rows; the Trust line
	// is not a rule.
	var b bytes.Buffer
	PrintMeasurement(&b, m)
	rules := map[string]bool{}
	re := regexp.MustCompile(`^[a-z_]+\.[a-z_]+$`)
	for i, l := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(l); i >= 3 && len(f) > 0 && re.MatchString(f[0]) {
			rules[f[0]] = true
		}
	}
	if len(rules) != 2 || !rules["send.silent_failure"] || !rules["credentials.contention"] || !strings.Contains(b.String(), "\nTrust note (") {
		t.Fatalf("printed rules %v:\n%s", rules, b.String())
	}
}
