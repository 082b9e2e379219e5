package config

import (
	"testing"
	"time"
)

// No option that does nothing: monitors.audit collects the audit trail
// (collect.SecurityCollector, the security.* rules). It is off by default
// (the tracking_events_read scope is not in every read-only package) and
// hourly when on; enabling it at the top or per tenant is accepted and
// takes effect, as do overrides of its subjects (security:<key>).
func TestAuditMonitorCollectsWhenEnabled(t *testing.T) {
	d := DefaultMonitors().Audit
	if d.Enabled || d.Interval != Duration(time.Hour) {
		t.Fatalf("default audit monitor = %+v, want off, hourly", d)
	}
	base := "tenants:\n  - name: t\n    subdomain: mc1234567890abcdefghijklmn\n    client_id: c\n    client_secret: s\n    account_id: \"1\"\n"
	for _, y := range []string{
		"monitors:\n  audit: {enabled: true}\n" + base,
		base + "    monitors: {audit: {enabled: true, interval: 30m}}\n",
		base + "    monitors: {audit: {enabled: true}}\n    objects:\n      \"security:integration:abc\": {ignore: true}\n",
	} {
		cfg, err := Parse("t.yaml", []byte(y), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatalf("enabling the audit monitor: %v\n%s", err, y)
		}
		if !cfg.Tenants[0].Monitors.Audit.Enabled {
			t.Errorf("audit monitor not enabled for the tenant:\n%s", y)
		}
		for _, w := range cfg.Warnings {
			t.Errorf("unexpected warning %v:\n%s", w, y)
		}
	}
	r := DefaultRules()
	for id, rb := range map[string]RuleBase{"security.new_integration": r.SecurityNewIntegration.RuleBase,
		"security.login_failures": r.SecurityLoginFailures.RuleBase} {
		if !rb.Enabled || r.Rule(id) == nil {
			t.Errorf("rule %s: not registered or not enabled by default", id)
		}
	}
	if r.SecurityLoginFailures.Threshold != 5 || r.SecurityIPBlocked.Threshold != 3 || r.SecurityRoleChange.Hold != Duration(24*time.Hour) {
		t.Errorf("security rule defaults changed: %+v %+v %+v", r.SecurityLoginFailures, r.SecurityIPBlocked, r.SecurityRoleChange)
	}
}
