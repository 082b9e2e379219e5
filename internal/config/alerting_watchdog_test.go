package config

import (
	"strings"
	"testing"
	"time"
)

func TestHeartbeatAndFallbackConfig(t *testing.T) {
	cfg, err := parseAlerting(t, `
alerting:
  receivers: [{name: default, console: {}}, {name: pager, console: {}}]
  fallback_receiver: pager
  heartbeat: {url: "https://hc-ping.com/0f3c-secret-uuid"}
`)
	if err != nil {
		t.Fatal(err)
	}
	hb := cfg.Alerting.Heartbeat
	if cfg.Alerting.FallbackReceiver != "pager" || hb.Interval.Std() != time.Minute || hb.Method != "GET" || hb.Timeout.Std() != 10*time.Second {
		t.Fatalf("heartbeat defaults: %+v, fallback %q", hb, cfg.Alerting.FallbackReceiver)
	}
	if strings.Contains(hb.URL.String(), "secret") || hb.URL.Reveal() != "https://hc-ping.com/0f3c-secret-uuid" {
		t.Fatalf("heartbeat URL printed: %s", hb.URL.String())
	}

	_, err = parseAlerting(t, `
alerting:
  receivers: [{name: default, console: {}}]
  fallback_receiver: pagr
  heartbeat: {url: "http://hc.example.com/ping", interval: 5s, method: PUT}
`)
	if err == nil {
		t.Fatal("invalid heartbeat and fallback accepted")
	}
	for _, want := range []string{
		`alerting.fallback_receiver: unknown receiver "pagr"`,
		"alerting.heartbeat.url: http is allowed for loopback hosts only",
		"alerting.heartbeat.interval: must be between 10s and 1h",
		"alerting.heartbeat.method",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error misses %q:\n%v", want, err)
		}
	}
}
