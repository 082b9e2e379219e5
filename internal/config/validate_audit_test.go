package config

import (
	"strings"
	"testing"
)

// No option that does nothing: the audit-trail monitor has no collector
// yet, so it is off by default and enabling it is refused with a message
// naming the key.
func TestAuditMonitorRefusedUntilCollected(t *testing.T) {
	if DefaultMonitors().Audit.Enabled {
		t.Fatal("monitors.audit is enabled by default but nothing collects it")
	}
	base := "tenants:\n  - name: t\n    subdomain: mc1234567890abcdefghijklmn\n    client_id: c\n    client_secret: s\n    account_id: \"1\"\n"
	for _, y := range []string{
		"monitors:\n  audit: {enabled: true}\n" + base,
		base + "    monitors: {audit: {enabled: true}}\n",
	} {
		_, err := Parse("t.yaml", []byte(y), func(string) (string, bool) { return "", false })
		if err == nil || !strings.Contains(err.Error(), "monitors.audit.enabled") {
			t.Errorf("enabling the audit monitor: err = %v, want a refusal naming monitors.audit.enabled", err)
		}
	}
}
