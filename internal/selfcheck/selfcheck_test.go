package selfcheck

import (
	"strings"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
)

func env(name string) (string, bool) {
	if name == "SFMC_CLIENT_SECRET" {
		return "s3cret", true
	}
	return "", false
}

// every combination of answers yields a config the strict loader accepts
// without warnings (what check-config --strict checks).
func TestEveryStarterConfigIsValid(t *testing.T) {
	qs := Questions()
	var walk func(i int, a Answers)
	n := 0
	walk = func(i int, a Answers) {
		if i == len(qs) {
			n++
			r, err := Evaluate(a)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse("sfmcwatch.yaml", []byte(r.Config), env)
			if err != nil {
				t.Fatalf("answers %v: starter config rejected: %v\n%s", a, err, r.Config)
			}
			if len(cfg.Warnings) > 0 {
				t.Fatalf("answers %v: warnings %v", a, cfg.Warnings)
			}
			if len(cfg.Tenants) != 1 || !cfg.Digest.Enabled {
				t.Fatalf("answers %v: %d tenants", a, len(cfg.Tenants))
			}
			return
		}
		for _, o := range qs[i].Options {
			b := Answers{}
			for k, v := range a {
				b[k] = v
			}
			b[qs[i].ID] = o.Value
			walk(i+1, b)
		}
	}
	walk(0, Answers{})
	if n != 5*4*4*4*4 {
		t.Errorf("%d combinations", n)
	}
}

func TestEvaluate(t *testing.T) {
	worst := Answers{"failed_automations": "customer", "api_errors_logged": "no", "freshness_slas": "none", "notification_recipients": "unknown", "credential_rotation": "unknown"}
	best := Answers{"failed_automations": "monitored", "api_errors_logged": "alerted", "freshness_slas": "monitored", "notification_recipients": "team_oncall", "credential_rotation": "automated"}
	mid := Answers{"failed_automations": "personal_email", "api_errors_logged": "some", "freshness_slas": "informal", "notification_recipients": "team", "credential_rotation": "scheduled"}
	for _, c := range []struct {
		a     Answers
		score int
		level string
		risks int
		first Level
	}{
		{worst, 0, "reactive", 5, High},
		{best, 100, "proactive", 0, ""},
		{mid, 55, "managed", 5, Medium}, // 2+2+1+3+3 = 11 of 20
	} {
		r, err := Evaluate(c.a)
		if err != nil {
			t.Fatal(err)
		}
		if r.Score != c.score || r.Level != c.level || len(r.Risks) != c.risks {
			t.Errorf("%v: score %d %s, %d risks; want %d %s %d", c.a, r.Score, r.Level, len(r.Risks), c.score, c.level, c.risks)
		}
		if c.risks > 0 && r.Risks[0].Level != c.first {
			t.Errorf("%v: first risk %s, want %s", c.a, r.Risks[0].Level, c.first)
		}
		for _, rk := range r.Risks {
			if rk.Mitigation == "" || rk.Text == "" {
				t.Errorf("risk without text or mitigation: %+v", rk)
			}
		}
	}
	// Answers shape the config.
	r, _ := Evaluate(worst)
	for _, want := range []string{"consecutive: 1", "client_secret_rotated", "recording", "learns each refresh cadence"} {
		if !strings.Contains(r.Config, want) {
			t.Errorf("worst-case config lacks %q", want)
		}
	}
	r, _ = Evaluate(mid)
	if !strings.Contains(r.Config, "type: file") || strings.Contains(r.Config, "consecutive: 1") {
		t.Errorf("mid config:\n%s", r.Config)
	}
}

func TestValidateAndParse(t *testing.T) {
	err := Answers{"failed_automations": "pigeon", "colour": "blue"}.Validate()
	for _, want := range []string{`unknown question "colour"`, `failed_automations: unknown answer "pigeon" (want customer, manual`, "credential_rotation: not answered"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want %q", err, want)
		}
	}
	a, err := ParseAnswers([]byte("failed_automations: manual\napi_errors_logged: some\n"))
	if err != nil || a["failed_automations"] != "manual" || a["api_errors_logged"] != "some" {
		t.Fatalf("%v %v", a, err)
	}
	for _, c := range []struct{ in, want string }{
		{"failed_automations: [a, b]\n", "line 1: failed_automations: want a single answer"},
		{"x: 1\n", `line 1: unknown question "x"`},
		{"failed_automations: manual\ncredential_rotation: weekly\n", `line 2: credential_rotation: unknown answer "weekly"`},
		{"- a\n", "want a mapping"},
		{"", "empty document"},
		{"a: [", "answers:"},
	} {
		if _, err := ParseAnswers([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseAnswers(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzParseAnswers(f *testing.F) {
	f.Add([]byte("failed_automations: manual\n"))
	f.Add([]byte("{\"api_errors_logged\": \"no\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAnswers(data)
		if err != nil {
			return
		}
		// Whatever parses holds only known questions and options.
		for k, v := range a {
			q := Questions()
			ok := false
			for _, x := range q {
				if _, found := x.option(v); x.ID == k && found {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("accepted %q: %q", k, v)
			}
		}
	})
}
