// Package selfcheck is the five-question self-assessment for teams that do
// not monitor SFMC yet: how they learn of failures, whether integration API
// errors are logged, freshness SLAs, who reads SFMC's notification e-mails,
// and credential rotation. It turns the answers into a maturity score, the
// risks they imply, and a starter sfmcwatch configuration. Everything is
// computed locally: no answer leaves the machine.
package selfcheck

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Level is how serious a risk is.
type Level string

// Risk levels.
const (
	High   Level = "high"
	Medium Level = "medium"
	Low    Level = "low"
)

func (l Level) rank() int {
	switch l {
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	}
	return 0
}

// Option is one answer to a question.
type Option struct {
	Value  string `json:"value"`
	Label  string `json:"label"`
	Points int    `json:"points"` // 0–4
	// Risk is what this practice leaves open ("" when none).
	Risk      string `json:"risk,omitempty"`
	RiskLevel Level  `json:"risk_level,omitempty"`
	// Mitigation is what sfmcwatch (as configured below) does about it.
	Mitigation string `json:"mitigation,omitempty"`
}

// Question is one of the five questions.
type Question struct {
	ID      string   `json:"id"`
	Text    string   `json:"text"`
	Options []Option `json:"options"`
}

// MaxPoints is the best answer's points per question.
const MaxPoints = 4

// Questions returns the five questions in order.
func Questions() []Question {
	return []Question{
		{ID: "failed_automations", Text: "How do you learn that an automation failed?", Options: []Option{
			{"customer", "A customer or a colleague tells us", 0, "Failed automations are found days later, by the people they hurt: stale audiences, missed sends, wrong data in journeys.", High,
				"automation.error pages on the first error of critical automations; automation.stalled and automation.missed_run catch runs that never fail."},
			{"manual", "Someone checks Automation Studio now and then", 1, "Failures between checks go unseen; weekends and holidays are blind.", High,
				"Every automation is polled every 5 minutes in one bulk call."},
			{"personal_email", "SFMC's error e-mail goes to a person", 2, "One inbox, one holiday away from nobody noticing; SFMC never tells about stalled or skipped runs.", Medium,
				"Alerts go to a team route; stalled, missed and partial runs are caught too."},
			{"team_email", "SFMC's error e-mail goes to a team mailbox", 3, "Stalled, skipped and partial runs send no e-mail at all.", Low,
				"automation.stalled, automation.missed_run and automation.partial cover what SFMC does not e-mail about."},
			{"monitored", "A monitor alerts whoever is on call", 4, "", "", ""},
		}},
		{ID: "api_errors_logged", Text: "Are the SFMC API errors of your integrations (CRM sync, loaders, apps) logged?", Options: []Option{
			{"no", "No, or we do not know", 0, "SFMC keeps no list of failed API calls: a rotated secret (401), throttling (429) or a 202 that sends nothing stays invisible.", High,
				"Put sfmcwatch's recording proxy in front of the integrations, or ship their logs to its ingest API; a 2xx body is classified too."},
			{"some", "Some integrations log them", 2, "The integrations that do not log are blind; logged errors nobody reads are too.", Medium,
				"Ingest the logs you have (a tailed file or HTTP push) and scan the rest once with sfmcwatch scan."},
			{"logged", "All log them, nobody watches the logs", 3, "Errors are recorded but persistent failures are noticed late.", Medium,
				"The tailed logs feed api.errors: persistent failures alert, blips do not."},
			{"alerted", "All log them and errors alert someone", 4, "", "", ""},
		}},
		{ID: "freshness_slas", Text: "Do the data extensions that feed your journeys have freshness SLAs?", Options: []Option{
			{"none", "No", 0, "A journey whose entry data stopped refreshing keeps running and admits nobody; SFMC shows no error.", High,
				"data_extension.stale learns each refresh cadence (after 7 loads) and journey.enrollment_drop watches entries."},
			{"informal", "We know when they should load, it is not written down", 1, "Nobody is told when a load is late; the knowledge leaves with the person.", Medium,
				"Write the SLA into the config (freshness: warn_after / error_after) so lateness alerts."},
			{"documented", "Documented, checked by hand", 3, "Manual checks miss nights and weekends.", Low,
				"The documented SLAs become config; sfmcwatch checks them every poll."},
			{"monitored", "Documented and monitored", 4, "", "", ""},
		}},
		{ID: "notification_recipients", Text: "Who receives SFMC's notification e-mails (automation errors, send failures)?", Options: []Option{
			{"unknown", "Nobody, or we do not know", 0, "SFMC's own warnings go unread, or to someone who left.", High,
				"The audit lists automations with no error-notification address; alerts go to routes you configure."},
			{"one_person", "One person", 1, "A single point of failure: holidays, sick days and departures silence the alerts.", Medium,
				"Route alerts to a team receiver; the audit flags automations without a team address."},
			{"team", "A shared team mailbox", 3, "A mailbox is read in office hours; nothing escalates.", Low,
				"Critical problems page; the weekly digest shows what recurred."},
			{"team_oncall", "A team mailbox routed to on-call", 4, "", "", ""},
		}},
		{ID: "credential_rotation", Text: "How often are the installed packages' client secrets rotated?", Options: []Option{
			{"unknown", "Never, or we do not know", 0, "A secret that expires or is rotated by someone else breaks every integration at once (401 invalid_client), often noticed by customers.", High,
				"tenant.blind alerts within minutes of a failing token request and warns before the 180-day expiry when client_secret_rotated is set."},
			{"on_break", "When something breaks", 1, "Rotation happens as an incident, under pressure, and integrations are updated one by one.", High,
				"Set client_secret_rotated: tenant.blind warns from day 166 and errors from day 177."},
			{"scheduled", "On a schedule, by hand", 3, "A missed calendar entry still breaks integrations.", Low,
				"client_secret_rotated keeps the expiry warning honest."},
			{"automated", "On a schedule, automated, with a runbook", 4, "", "", ""},
		}},
	}
}

// Answers maps question ids to option values.
type Answers map[string]string

// Validate reports unknown questions, unknown options (naming the valid
// ones) and unanswered questions, all at once.
func (a Answers) Validate() error {
	qs := Questions()
	var errs []error
	for id := range a {
		if !slices.ContainsFunc(qs, func(q Question) bool { return q.ID == id }) {
			errs = append(errs, fmt.Errorf("unknown question %q (want one of %s)", id, strings.Join(ids(qs), ", ")))
		}
	}
	for _, q := range qs {
		v, ok := a[q.ID]
		if !ok || v == "" {
			errs = append(errs, fmt.Errorf("%s: not answered (%s)", q.ID, strings.Join(values(q), ", ")))
			continue
		}
		if _, ok := q.option(v); !ok {
			errs = append(errs, fmt.Errorf("%s: unknown answer %q (want %s)", q.ID, v, strings.Join(values(q), ", ")))
		}
	}
	slices.SortFunc(errs, func(x, y error) int { return cmp.Compare(x.Error(), y.Error()) })
	return errors.Join(errs...)
}

func (q Question) option(v string) (Option, bool) {
	for _, o := range q.Options {
		if o.Value == v {
			return o, true
		}
	}
	return Option{}, false
}

func ids(qs []Question) []string {
	var out []string
	for _, q := range qs {
		out = append(out, q.ID)
	}
	return out
}

func values(q Question) []string {
	var out []string
	for _, o := range q.Options {
		out = append(out, o.Value)
	}
	return out
}

// ParseAnswers reads answers from YAML or JSON ({question_id: option, …});
// unknown keys and options are errors naming the line.
func ParseAnswers(data []byte) (Answers, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("answers: %w", err)
	}
	if len(n.Content) == 0 {
		return nil, errors.New("answers: empty document")
	}
	m := n.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("answers: line %d: want a mapping of question id to answer", m.Line)
	}
	a := Answers{}
	qs := Questions()
	var errs []error
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("answers: line %d: %s: want a single answer", v.Line, k.Value))
			continue
		}
		idx := slices.IndexFunc(qs, func(q Question) bool { return q.ID == k.Value })
		if idx < 0 {
			errs = append(errs, fmt.Errorf("answers: line %d: unknown question %q (want one of %s)", k.Line, k.Value, strings.Join(ids(qs), ", ")))
			continue
		}
		if _, ok := qs[idx].option(v.Value); !ok {
			errs = append(errs, fmt.Errorf("answers: line %d: %s: unknown answer %q (want %s)", v.Line, k.Value, v.Value, strings.Join(values(qs[idx]), ", ")))
			continue
		}
		a[k.Value] = v.Value
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return a, nil
}

// Risk is one risk the answers imply.
type Risk struct {
	Question   string `json:"question"`
	Level      Level  `json:"level"`
	Text       string `json:"text"`
	Mitigation string `json:"mitigation"`
}

// Result is the evaluation of a set of answers.
type Result struct {
	Answers Answers `json:"answers"`
	// Score is the maturity, 0–100 (points over the best possible).
	Score int    `json:"score"`
	Level string `json:"level"`
	// Risks, most serious first.
	Risks []Risk `json:"risks"`
	// Config is a starter sfmcwatch.yaml for these answers.
	Config string `json:"config"`
}

// MaturityLevel names a score band: proactive ≥ 80, managed ≥ 55, basic ≥ 30,
// reactive below.
func MaturityLevel(score int) string {
	switch {
	case score >= 80:
		return "proactive"
	case score >= 55:
		return "managed"
	case score >= 30:
		return "basic"
	}
	return "reactive"
}

// Evaluate scores the answers, lists the risks and writes a starter config.
func Evaluate(a Answers) (*Result, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	r := &Result{Answers: a}
	points := 0
	for _, q := range Questions() {
		o, _ := q.option(a[q.ID])
		points += o.Points
		if o.Risk != "" {
			r.Risks = append(r.Risks, Risk{Question: q.Text, Level: o.RiskLevel, Text: o.Risk, Mitigation: o.Mitigation})
		}
	}
	r.Score = (points*100 + len(Questions())*MaxPoints/2) / (len(Questions()) * MaxPoints)
	r.Level = MaturityLevel(r.Score)
	slices.SortStableFunc(r.Risks, func(x, y Risk) int { return cmp.Compare(y.Level.rank(), x.Level.rank()) })
	r.Config = StarterConfig(a)
	return r, nil
}

// StarterConfig writes a commented sfmcwatch.yaml for the answers. It
// passes check-config once SFMC_CLIENT_SECRET is exported (the only
// placeholder that must be filled in besides the subdomain and client id).
func StarterConfig(a Answers) string {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# sfmcwatch starter configuration from the self-check.\n")
	w("# Fill in subdomain, client_id and account_id, export SFMC_CLIENT_SECRET, then:\n")
	w("#   sfmcwatch check-config --config sfmcwatch.yaml\n")
	w("#   sfmcwatch audit --config sfmcwatch.yaml        # one read-only look first\n")
	w("#   sfmcwatch serve --config sfmcwatch.yaml\n")
	w("# Every key and default: docs/CONFIG.md.\n\n")
	w("storage:\n  driver: sqlite\n  path: sfmcwatch.db\n\n")
	w("server:\n  listen: 127.0.0.1:8080\n\n")

	interval := "5m"
	if a["failed_automations"] == "monitored" {
		interval = "10m" // a monitor already exists: halve the API spend
	}
	w("monitors:\n")
	w("  automations:     { enabled: true, interval: %s }\n", interval)
	w("  journeys:        { enabled: true, interval: 5m }\n")
	w("  triggered_sends: { enabled: true, interval: 5m }\n")
	w("  transactional:   { enabled: true, interval: 5m }\n")
	w("  data_extensions: { enabled: true, interval: 15m }\n")
	w("  imports:         { enabled: true, interval: 5m }\n")
	w("  audit:           { enabled: false }   # the audit trail is not collected yet\n\n")

	w("tenants:\n")
	w("  - name: prod\n")
	w("    subdomain: your-tenant-subdomain        # the mc… part of your SFMC API URLs\n")
	w("    client_id: your-installed-package-client-id\n")
	w("    client_secret: ${SFMC_CLIENT_SECRET}     # or client_secret_file: /run/secrets/sfmc\n")
	w("    # account_id: \"510000123\"              # business unit MID\n")
	w("    edition: enterprise                     # pro, corporate or enterprise: sets the daily API budget\n")
	w("    timezone: UTC\n")
	switch a["credential_rotation"] {
	case "unknown", "on_break":
		w("    # Set the date the secret was generated: tenant.blind warns before its 180-day expiry.\n")
		w("    # client_secret_rotated: 2026-01-31\n")
	default:
		w("    # client_secret_rotated: 2026-01-31     # keep it current after each rotation\n")
	}
	w("    monitors:\n")
	w("      automations:\n        critical: []       # external keys of automations whose first error should page\n")
	w("      journeys:\n        critical: []       # critical journeys: the audit checks their entry data SLAs\n")
	w("      data_extensions:\n        critical: []\n")
	switch a["freshness_slas"] {
	case "documented", "monitored", "informal":
		w("    # Your freshness SLAs, one block per entry data extension, e.g.:\n")
		w("    # objects:\n")
		w("    #   \"data_extension:Journey_Entry_Daily\":\n")
		w("    #     freshness: { warn_after: 26h, error_after: 30h }\n")
		w("    #     critical: true\n")
	default:
		w("    # Without declared SLAs data_extension.stale learns each refresh cadence from 7 loads.\n")
	}
	w("\nrules:\n")
	w("  automation.error:\n    critical_first_error: true\n")
	if a["failed_automations"] == "customer" || a["failed_automations"] == "manual" {
		w("    consecutive: 1                  # you have no other signal: alert on the first error\n")
	}
	w("  data_extension.stale:\n    enabled: true\n")
	w("  journey.enrollment_drop:\n    enabled: true\n")
	w("  tenant.blind:\n    enabled: true\n")

	switch a["api_errors_logged"] {
	case "some", "logged":
		w("\n# Your integrations' logs feed api.errors (JSON lines or CSV; see docs/CONFIG.md).\n")
		w("ingest:\n  sources:\n    - name: integrations\n      type: file\n      path: /var/log/integrations/sfmc.jsonl   # adjust\n      format: auto\n")
	case "no":
		w("\n# Your integrations' API errors are not logged: run them through the recording\n")
		w("# proxy (sfmcwatch proxy) or push their logs to POST /api/v1/events, then add a source here.\n")
	}

	w("\ndigest:\n  enabled: true\n  schedule: \"0 8 * * 1\"          # Monday 08:00\n  out_dir: digests\n")
	if a["notification_recipients"] == "unknown" || a["notification_recipients"] == "one_person" {
		w("  # Send it to a team, not a person: add an alerting receiver and list it here.\n")
	}
	w("  # receivers: [team-mail]\n")
	return b.String()
}
