package notify

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Message kinds.
const (
	KindAlert      = "alert"      // a group's firing and resolved alerts
	KindEscalation = "escalation" // one unacknowledged critical incident, to the second receiver
	KindReport     = "report"     // a non-incident report (weekly digest)
	KindTest       = "test"       // sfmcwatch test-alert
)

// Alert statuses.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Message is one notification to one receiver: it is stored as JSON in the
// outbox and rendered by each channel.
type Message struct {
	Kind     string `json:"kind"`
	Key      string `json:"key"`
	Receiver string `json:"receiver"`
	// GroupKey and GroupLabels identify the alert group (alerts only).
	GroupKey    string            `json:"group_key,omitempty"`
	GroupLabels map[string]string `json:"group_labels,omitempty"`
	// Status is firing when any alert fires, else resolved.
	Status string `json:"status,omitempty"`
	// Reminder: nothing changed, the group is still failing.
	Reminder bool `json:"reminder,omitempty"`
	// Refresh: the firing alerts re-sent to the receiver's Alertmanager
	// channels only, before their endsAt passes (nothing changed).
	Refresh bool    `json:"refresh,omitempty"`
	Alerts  []Alert `json:"alerts,omitempty"`
	Report  *Report `json:"report,omitempty"`
	// ExternalURL is server.external_url (links are built from it).
	ExternalURL string    `json:"external_url,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// Alert is one incident as a notification shows it.
type Alert struct {
	IncidentID   int64  `json:"incident_id"`
	Fingerprint  string `json:"fingerprint"`
	Status       string `json:"status"`
	Rule         string `json:"rule"`
	Title        string `json:"title"`
	Severity     string `json:"severity"`
	Family       string `json:"family,omitempty"`
	Owner        string `json:"owner,omitempty"`
	Tenant       string `json:"tenant,omitempty"`
	ResourceType string `json:"resource_type,omitempty"`
	ResourceKey  string `json:"resource_key,omitempty"`
	// StartsAt is the first evidence; EndsAt the resolution (zero while
	// firing).
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
	LastSeen time.Time `json:"last_seen"`
	// FailingFor is how long it has been failing when the message was
	// built (resolved: how long it failed).
	FailingFor     time.Duration `json:"failing_for_ns"`
	Occurrences    int64         `json:"occurrences"`
	AcknowledgedBy string        `json:"acknowledged_by,omitempty"`
	WhyItMatters   string        `json:"why_it_matters,omitempty"`
	// Detail is what the rule saw and why it judged so (the incident's
	// masked detail), told while firing.
	Detail      string   `json:"detail,omitempty"`
	Remediation []string `json:"remediation,omitempty"`
	Evidence    string   `json:"evidence,omitempty"`
	Link        string   `json:"link,omitempty"`
	// Note explains special handling: inhibited by another incident,
	// downgraded by a maintenance window.
	Note string `json:"note,omitempty"`
}

// Labels returns the routing labels of the alert.
func (a *Alert) Labels() map[string]string {
	return map[string]string{
		"family": a.Family, "rule": a.Rule, "severity": a.Severity, "tenant": a.Tenant,
		"owner": a.Owner, "resource_type": a.ResourceType, "resource_key": a.ResourceKey,
	}
}

// Report is a non-incident message (the weekly digest). Channels use the
// richest form they support: HTML (e-mail), Markdown (Slack, Teams), Text.
type Report struct {
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	HTML     string `json:"html,omitempty"`
	Markdown string `json:"markdown,omitempty"`
	// Key makes the report idempotent (e.g. "digest-2026-W10"); empty =
	// derived from the content.
	Key string `json:"key,omitempty"`
}

// Firing returns the firing alerts.
func (m *Message) Firing() []Alert { return m.filter(StatusFiring) }

// Resolved returns the resolved alerts.
func (m *Message) Resolved() []Alert { return m.filter(StatusResolved) }

func (m *Message) filter(status string) []Alert {
	var out []Alert
	for _, a := range m.Alerts {
		if a.Status == status {
			out = append(out, a)
		}
	}
	return out
}

// Title is the one-line summary used as subject, card title and console
// line prefix, e.g. "[FIRING:2] acme · auth · marketing_ops: Token request
// rejected (401)".
func (m *Message) Title() string {
	switch m.Kind {
	case KindReport:
		if m.Report != nil {
			return m.Report.Subject
		}
		return "sfmcwatch report"
	case KindTest:
		return "[TEST] sfmcwatch test notification to " + m.Receiver
	}
	firing, resolved := m.Firing(), m.Resolved()
	var b strings.Builder
	switch {
	case m.Kind == KindEscalation && len(firing) > 0:
		b.WriteString("[ESCALATED] ")
	case m.Kind == KindEscalation:
		b.WriteString("[ESCALATION RESOLVED] ")
	case len(firing) > 0 && m.Reminder:
		fmt.Fprintf(&b, "[STILL FAILING:%d] ", len(firing))
	case len(firing) > 0:
		fmt.Fprintf(&b, "[FIRING:%d] ", len(firing))
	default:
		fmt.Fprintf(&b, "[RESOLVED:%d] ", len(resolved))
	}
	var scope []string
	for _, k := range []string{"tenant", "family", "owner"} {
		if v := m.GroupLabels[k]; v != "" {
			scope = append(scope, v)
		}
	}
	if len(scope) > 0 {
		b.WriteString(strings.Join(scope, " · "))
		b.WriteString(": ")
	}
	lead := firing
	if len(lead) == 0 {
		lead = resolved
	}
	if len(lead) > 0 {
		b.WriteString(lead[0].Title)
		if len(lead) > 1 {
			fmt.Fprintf(&b, " (+%d more)", len(lead)-1)
		}
	}
	return b.String()
}

// Summary is one line per alert for plain-text channels.
func (a *Alert) Summary() string {
	var b strings.Builder
	if a.Status == StatusResolved {
		fmt.Fprintf(&b, "RESOLVED %s after %s", a.Title, HumanDuration(a.FailingFor))
	} else {
		fmt.Fprintf(&b, "%s %s — failing for %s", strings.ToUpper(a.Severity), a.Title, HumanDuration(a.FailingFor))
	}
	var tags []string
	if a.Family != "" {
		tags = append(tags, "family "+a.Family)
	}
	if a.Owner != "" {
		tags = append(tags, "owner "+a.Owner)
	}
	if a.AcknowledgedBy != "" && a.Status == StatusFiring {
		tags = append(tags, "acknowledged by "+a.AcknowledgedBy)
	}
	if len(tags) > 0 {
		b.WriteString(" (" + strings.Join(tags, ", ") + ")")
	}
	return b.String()
}

// Text renders the whole message as plain text: what failed, family, owner,
// why it matters, the fix, the evidence and the link, per alert.
func (m *Message) Text() string {
	var b strings.Builder
	b.WriteString(m.Title())
	b.WriteString("\n")
	switch m.Kind {
	case KindReport:
		if m.Report != nil {
			b.WriteString("\n" + m.Report.Text + "\n")
		}
		return b.String()
	case KindTest:
		b.WriteString("\nThis is a test notification from sfmcwatch: the receiver is configured correctly. Sample alert:\n")
	}
	for _, a := range m.Alerts {
		b.WriteString("\n• " + a.Summary() + "\n")
		if a.Tenant != "" || a.ResourceKey != "" {
			fmt.Fprintf(&b, "  Where: tenant %s, %s %s (rule %s)\n", a.Tenant, a.ResourceType, a.ResourceKey, a.Rule)
		}
		if a.Status == StatusFiring && a.WhyItMatters != "" {
			b.WriteString("  Why it matters: " + a.WhyItMatters + "\n")
		}
		if a.Status == StatusFiring && a.Detail != "" {
			b.WriteString("  What we see: " + a.Detail + "\n")
		}
		if a.Status == StatusFiring && len(a.Remediation) > 0 {
			b.WriteString("  Fix:\n")
			for i, r := range a.Remediation {
				fmt.Fprintf(&b, "    %d. %s\n", i+1, r)
			}
		}
		if a.Evidence != "" {
			b.WriteString("  Evidence: " + a.Evidence + "\n")
		}
		if a.Note != "" {
			b.WriteString("  Note: " + a.Note + "\n")
		}
		if a.Link != "" {
			b.WriteString("  " + a.Link + "\n")
		}
	}
	return b.String()
}

// HumanDuration formats a duration for people: "45s", "12m", "3h", "3h20m",
// "2d4h".
func HumanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(0, int(d/time.Second)))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	default:
		days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
		if h == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd%dh", days, h)
	}
}

// SortedLabelKeys returns the keys of labels in order.
func SortedLabelKeys(labels map[string]string) []string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// SampleMessage is the message `sfmcwatch test-alert` sends: a realistic
// firing alert so the receiver's formatting can be checked.
func SampleMessage(receiver, externalURL string, now time.Time) *Message {
	a := Alert{
		IncidentID: 0, Fingerprint: "test|sfmcwatch|tenant|", Status: StatusFiring,
		Rule: "api.errors", Title: "Test: token requests rejected with 401 invalid_client",
		Severity: "error", Family: "auth", Owner: "marketing_ops", Tenant: "example",
		ResourceType: "tenant", ResourceKey: "example",
		StartsAt: now.Add(-3 * time.Hour), LastSeen: now, FailingFor: 3 * time.Hour, Occurrences: 36,
		WhyItMatters: whyItMatters("api.errors", "auth"),
		Detail:       "Sample: 36 token requests in the last 15 minutes were refused with 401 invalid_client and none succeeded.",
		Remediation:  []string{"This is a test: nothing to fix.", "Check that this message reached the right team."},
		Evidence:     "36 occurrences, first 3h ago, last just now (sample)",
	}
	if externalURL != "" {
		a.Link = strings.TrimRight(externalURL, "/") + "/incidents"
	}
	return &Message{
		Kind: KindTest, Key: "test|" + receiver + "|" + now.UTC().Format(time.RFC3339Nano), Receiver: receiver,
		Status: StatusFiring, GroupLabels: map[string]string{"tenant": "example", "family": "auth", "owner": "marketing_ops"},
		Alerts: []Alert{a}, ExternalURL: externalURL, CreatedAt: now.UTC(),
	}
}
