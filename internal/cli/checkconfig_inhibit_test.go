package cli

import (
	"strings"
	"testing"
)

// check-config warns about inhibit rules that are broad (no equal labels,
// no rule or resource in the target) or whose source and target can be
// the same incident (they hide each other, and resolutions with them in
// receivers that drop inhibited resolutions); the rules still load.
func TestCheckConfigInhibitRuleWarnings(t *testing.T) {
	code, out, errOut := runConfigCLI(t, "check-config", "--config", "testdata/config-inhibit.yaml")
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, want := range []string{
		"alerting.inhibit_rules[1]: inhibit rule's source and target can match the same incident",
		"alerting.inhibit_rules[2]: inhibit rule has no equal labels",
		"alerting.inhibit_rules[2]: inhibit rule is broad",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout misses %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "inhibit_rules[0]") {
		t.Errorf("a narrow, per-tenant rule warns:\n%s", out)
	}
	if code, _, _ := runConfigCLI(t, "check-config", "--strict", "--config", "testdata/config-inhibit.yaml"); code != ExitFindings {
		t.Errorf("--strict exit %d, want %d", code, ExitFindings)
	}
}
