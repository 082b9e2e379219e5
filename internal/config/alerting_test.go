package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var alertingEnv = map[string]string{
	"SLACK_MARKETING_OPS_WEBHOOK": "https://hooks.slack.com/services/T000/B000/XXXX",
	"SLACK_WEBHOOK_URL":           "https://hooks.slack.com/services/T000/B001/YYYY",
	"TEAMS_WORKFLOW_URL":          "https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=x",
	"PAGERDUTY_ROUTING_KEY":       "0123456789abcdef0123456789abcdef",
	"SMTP_PASSWORD":               "hunter2hunter2",
	"SFMCWATCH_WEBHOOK_KEY":       "0123456789abcdef-key",
}

func parseAlerting(t *testing.T, yaml string) (*Config, error) {
	t.Helper()
	l := Loader{
		Env: func(k string) (string, bool) { v, ok := alertingEnv[k]; return v, ok },
		ReadFile: func(name string) ([]byte, error) {
			switch {
			case strings.Contains(name, "pagerduty"):
				return []byte("fedcba9876543210fedcba9876543210\n"), nil
			case strings.HasPrefix(name, "/run/secrets/"):
				return []byte("https://prod-00.westeurope.logic.azure.com/workflows/from-file\n"), nil
			}
			return os.ReadFile(name)
		},
	}
	return l.Parse("alerting.yaml", []byte(yaml))
}

// Every YAML example of docs/ALERTING.md is a valid config.
func TestAlertingDocExamplesParse(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ALERTING.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 8 {
		t.Fatalf("found %d yaml examples", len(blocks))
	}
	kinds := map[string]bool{}
	for i, b := range blocks {
		cfg, err := parseAlerting(t, b[1])
		if err != nil {
			t.Errorf("example %d does not parse:\n%s\n%v", i+1, b[1], err)
			continue
		}
		for _, w := range cfg.Warnings {
			if strings.HasPrefix(w.Path, "alerting") {
				t.Errorf("example %d warns: %s", i+1, w)
			}
		}
		for _, r := range cfg.Alerting.Receivers {
			for _, c := range r.Channels() {
				kinds[c] = true
			}
		}
	}
	for _, want := range []string{"slack", "teams", "email", "pagerduty", "webhook", "alertmanager", "console"} {
		if !kinds[want] {
			t.Errorf("docs/ALERTING.md has no %s example", want)
		}
	}
}

func TestAlertingDefaultsAndTeamRouting(t *testing.T) {
	cfg, err := parseAlerting(t, `
alerting:
  receivers:
    - {name: data_engineering, console: {}}
    - {name: marketing_ops, console: {}}
    - {name: default, console: {}}
`)
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Alerting.Route
	if r.Receiver != "default" || r.GroupWait.Std() != 15*time.Second || r.RepeatInterval.Std() != 3*time.Hour || !r.SendResolved {
		t.Fatalf("root %+v", r)
	}
	if len(r.Routes) != 2 || r.Routes[0].Receiver != "marketing_ops" || r.Routes[0].Matchers[0] != "owner=marketing_ops" ||
		r.Routes[1].Receiver != "data_engineering" || r.Routes[1].GroupWait != r.GroupWait {
		t.Fatalf("default team routes %+v", r.Routes)
	}
	if em := cfg.Alerting.Receivers[0].Console.Output; em != "stdout" {
		t.Fatalf("console default output %q", em)
	}
}

func TestAlertingInheritance(t *testing.T) {
	cfg, err := parseAlerting(t, `
alerting:
  receivers: [{name: a, console: {}}, {name: b, console: {}}]
  route:
    receiver: a
    group_wait: 5s
    repeat_interval: 1h
    escalate_to: b
    routes:
      - matchers: [family=auth]
        group_wait: 10s
        routes:
          - matchers: [tenant=x]
            receiver: b
`)
	if err != nil {
		t.Fatal(err)
	}
	child := cfg.Alerting.Route.Routes[0]
	grand := child.Routes[0]
	if child.Receiver != "a" || child.GroupWait.Std() != 10*time.Second || child.RepeatInterval.Std() != time.Hour || child.EscalateTo != "b" {
		t.Fatalf("child %+v", child)
	}
	if grand.Receiver != "b" || grand.GroupWait.Std() != 10*time.Second || grand.EscalateTo != "b" {
		t.Fatalf("grandchild %+v", grand)
	}
}

func TestAlertingErrorsAndWarnings(t *testing.T) {
	_, err := parseAlerting(t, `
alerting:
  receivers:
    - name: slackteam
      slack: {webhook_url: "http://hooks.slack.com/services/T/B/SECRET-IN-URL"}
    - name: slackteam
      console: {output: file}
    - name: empty
    - name: pd
      pagerduty: {routing_key: short}
    - name: mail
      email: {host: smtp.example.com, from: nobody, to: []}
  route:
    receiver: slakteam
    matchers: [family=auth]
    group_by: [colour]
    routes:
      - matchers: ["family"]
  maintenance_windows:
    - {name: w, schedule: "61 * * * *", duration: 0s, timezone: Mars/Olympus, action: snooze}
  inhibit_rules:
    - source_matchers: [family=auth]
`)
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	text := err.Error()
	for _, want := range []string{
		"alerting.receivers[0].slack.webhook_url: http is allowed for loopback hosts only",
		`alerting.receivers[1].name: duplicate receiver name "slackteam"`,
		"alerting.receivers[1].console.output: want stdout or stderr",
		`alerting.receivers[2]: receiver "empty" sets no channel`,
		"alerting.receivers[3].pagerduty.routing_key: want the 32-character integration key",
		"alerting.receivers[4].email.from: want an e-mail address",
		"alerting.receivers[4].email.to: at least one recipient is required",
		`alerting.route.receiver: unknown receiver "slakteam" (did you mean "slackteam"?)`,
		"alerting.route.matchers: the root route matches every alert",
		`alerting.route.group_by[0]: unknown label "colour"`,
		`alerting.route.routes[0].matchers[0]: matcher "family": want label=value`,
		"alerting.maintenance_windows[0].schedule:",
		`alerting.maintenance_windows[0].timezone: unknown time zone "Mars/Olympus"`,
		"alerting.maintenance_windows[0].duration: want a duration between 1s and 7d",
		`alerting.maintenance_windows[0].action: unknown value "snooze"`,
		"alerting.inhibit_rules[0]: source_matchers and target_matchers are both required",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing problem %q", want)
		}
	}
	if strings.Contains(text, "SECRET-IN-URL") {
		t.Errorf("a secret URL leaked into the errors:\n%s", text)
	}
	for _, p := range ce.Problems {
		if p.Line == 0 {
			t.Errorf("problem without a line: %s", p)
		}
	}

	_, err = parseAlerting(t, `
alerting:
  receivers: [{name: a, console: {}}, {name: b, console: {}}]
  route:
    receiver: a
    group_wait: 2m
    group_interval: 1m
    repeat_interval: 30s
    escalate_to: a
    escalate_after: 1m
`)
	if err == nil {
		t.Fatal("repeat_interval 30s accepted (minimum 1m)")
	}
	_, err = parseAlerting(t, `
alerting:
  receivers: [{name: a, console: {}}]
  route:
    receiver: a
    group_wait: 2m
    group_interval: 1m
    repeat_interval: 50s
    escalate_to: a
    escalate_after: 1m
`)
	if err == nil {
		t.Fatal("repeat_interval below 1m accepted")
	}
	cfg, err := parseAlerting(t, `
alerting:
  receivers: [{name: a, console: {}}]
  route:
    receiver: a
    group_wait: 2m
    group_interval: 1m
    repeat_interval: 1m
    escalate_to: a
    escalate_after: 1m
`)
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	for _, w := range cfg.Warnings {
		warnings = append(warnings, w.String())
	}
	all := strings.Join(warnings, "\n")
	for _, want := range []string{
		"alerting.route.group_wait: group_wait (2m) is longer than group_interval (1m)",
		"alerting.route.escalate_after: escalate_after (1m) is not longer than group_wait (2m)",
		`alerting.route.escalate_to: escalates to its own receiver "a"`,
		"delays the first notice of auth and client failures past 30s",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing warning %q in\n%s", want, all)
		}
	}
}

func TestMaintenanceWindowContains(t *testing.T) {
	cfg, err := parseAlerting(t, `
alerting:
  receivers: [{name: a, console: {}}]
  maintenance_windows:
    - {name: release, schedule: "0 22 * * sat", duration: 6h, timezone: Europe/Paris}
`)
	if err != nil {
		t.Fatal(err)
	}
	w := &cfg.Alerting.MaintenanceWindows[0]
	if w.Action != "downgrade" || len(w.Matchers) != 1 {
		t.Fatalf("defaults: %+v", w)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2026, 3, 7, 21, 59, 0, 0, paris), false}, // Saturday before
		{time.Date(2026, 3, 7, 22, 0, 0, 0, paris), true},
		{time.Date(2026, 3, 8, 3, 59, 0, 0, paris), true}, // Sunday early
		{time.Date(2026, 3, 8, 4, 0, 0, 0, paris), false},
		{time.Date(2026, 3, 11, 23, 0, 0, 0, paris), false}, // Wednesday
	} {
		if got := w.Contains(tc.at); got != tc.want {
			t.Errorf("Contains(%v) = %v, want %v", tc.at, got, tc.want)
		}
	}
}
