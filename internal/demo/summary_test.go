package demo

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSummaryTTDTable: the summary keeps the lines scripts read and shows
// time to detection both ways, one rule a row: from the first evidence, and
// from when the failure began by SFMC's timestamps when SFMC dates it.
func TestSummaryTTDTable(t *testing.T) {
	r := &Result{Opened: 3, Resolved: 2, ByArea: map[string]int{"automation": 2, "data_extension": 1},
		Rules:           []string{"automation.error", "data_extension.row_drop"},
		TTD:             map[string]time.Duration{"automation.error": 17*time.Minute + 31*time.Second, "data_extension.row_drop": 0},
		TTDSinceFailure: map[string]time.Duration{"automation.error": 48 * time.Minute},
		Calls:           1200, SimDuration: 6 * time.Hour,
		Alerts: "Alerts: 4 signed webhook messages in 2 groups (grouped by tenant, owner and family), announcing 3 incidents; resolved notices for 2 of 2 resolved incidents, 0 duplicated; 0 bad signatures."}
	var b bytes.Buffer
	printSummary(&b, r)
	out := b.String()
	for _, re := range []string{
		`(?m)^Summary: 3 incidents opened, 2 resolved over 6h0m0s simulated`,
		`(?m)^By area:.*automation 2`,
		`(?m)^Alerts: [1-9][0-9]* signed webhook messages .* announcing 3 incidents; resolved notices for ([0-9]+) of 2 resolved incidents, 0 duplicated; 0 bad signatures`,
		`(?m)^Time to detection \(first incident of each rule, from first evidence to incident opened\):$`,
		`(?m)^  automation\.error +17m31s +48m0s since the failure began$`,
		`(?m)^  data_extension\.row_drop +0s +\(SFMC dates no start\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("summary does not match %s:\n%s", re, out)
		}
	}
}

// TestMeasurementTable: the measurement table adds the failure-start column
// and keeps the rule id first (.ci/run counts rules by the first field).
func TestMeasurementTable(t *testing.T) {
	m := &Measurement{PollInterval: 5 * time.Minute, WarmUp: 12 * time.Hour, Rules: []RuleLatency{
		{Rule: "automation.error", Fault: "every run errors", Detected: true, Latency: 20 * time.Minute, TTD: 17 * time.Minute, TTDSinceFailure: 19 * time.Minute, FailureKnown: true, Why: "two errored runs"},
		{Rule: "data_extension.empty", Fault: "rows deleted", Detected: true, Latency: 10 * time.Second, Why: "next row count"},
		{Rule: "journey.stopped", Fault: "journey stopped", Why: "next poll"},
	}}
	var b bytes.Buffer
	PrintMeasurement(&b, m)
	lines := strings.Split(b.String(), "\n")
	if !strings.Contains(lines[2], "TTD (EVIDENCE→INCIDENT)") || !strings.Contains(lines[2], "FAILURE START→INCIDENT (SFMC TIMES)") {
		t.Fatalf("header %q", lines[2])
	}
	for i, want := range [][]string{
		{"automation.error", "20m0s", "17m0s", "19m0s", "two errored runs"},
		{"data_extension.empty", "10s", "0s", "-", "next row count"},
		{"journey.stopped", "not detected", "-", "-", "next poll"},
	} {
		row := lines[3+i]
		if f := strings.Fields(row); f[0] != want[0] {
			t.Errorf("row %d starts with %q", i, f[0])
		}
		at := 0
		for _, w := range want {
			j := strings.Index(row[at:], w)
			if j < 0 {
				t.Errorf("row %q lacks %q after column %d", row, w, at)
				break
			}
			at += j + len(w)
		}
	}
}
