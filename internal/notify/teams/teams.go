// Package teams delivers notifications to a Microsoft Teams Workflows
// webhook ("When a Teams webhook request is received") as an Adaptive Card.
package teams

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit"
)

// Config is the receiver's teams block.
type Config = config.Teams

// Notifier posts to one Workflows webhook.
type Notifier struct {
	cfg    Config
	client *http.Client
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg and returns the notifier.
func New(cfg Config, client *http.Client) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("teams: %w", err)
	}
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout.Std()}
	}
	return &Notifier{cfg: cfg, client: client}, nil
}

// Notify posts the card.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) error {
	body, err := json.Marshal(Payload(m))
	if err != nil {
		return notify.Permanent("teams", err)
	}
	return notify.PostJSON(ctx, n.client, "teams", n.cfg.WebhookURL.Reveal(), body, http.Header{"User-Agent": {fit.UserAgent()}})
}

// Envelope is the Workflows webhook body: a message with one Adaptive Card
// attachment.
type Envelope struct {
	Type        string       `json:"type"`
	Attachments []Attachment `json:"attachments"`
}

// Attachment wraps the card.
type Attachment struct {
	ContentType string `json:"contentType"`
	ContentURL  any    `json:"contentUrl"`
	Content     Card   `json:"content"`
}

// Card is an Adaptive Card 1.4.
type Card struct {
	Schema  string    `json:"$schema"`
	Type    string    `json:"type"`
	Version string    `json:"version"`
	Body    []Element `json:"body"`
	Actions []Action  `json:"actions,omitempty"`
	MSTeams *struct {
		Width string `json:"width"`
	} `json:"msteams,omitempty"`
}

// Element is a card element (TextBlock, FactSet, Container).
type Element struct {
	Type      string    `json:"type"`
	Text      string    `json:"text,omitempty"`
	Weight    string    `json:"weight,omitempty"`
	Size      string    `json:"size,omitempty"`
	Color     string    `json:"color,omitempty"`
	Wrap      bool      `json:"wrap,omitempty"`
	Separator bool      `json:"separator,omitempty"`
	Facts     []Fact    `json:"facts,omitempty"`
	Items     []Element `json:"items,omitempty"`
}

// Fact is a FactSet row.
type Fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// Action is an Action.OpenUrl button.
type Action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Teams rejects a message over 28 KB ("413 Request Entity Too Large" /
// "MessageSizeTooBig"); the card is kept under MaxBytes of JSON with a
// margin for the Workflows envelope, the least urgent alerts (the last)
// becoming "…and N more".
const MaxBytes = 27 * 1024

// Per-field caps so one alert always fits with room for others.
const (
	maxAlertTitle = 300
	maxEvidence   = 1500
	maxNote       = 500
	maxWhy        = 600
	maxFixLines   = 5
	maxFixLine    = 400
)

// Payload builds the Workflows envelope, at most MaxBytes of JSON.
func Payload(m *notify.Message) Envelope {
	card := Card{Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4"}
	card.MSTeams = &struct {
		Width string `json:"width"`
	}{Width: "Full"}
	color := "Attention"
	if m.Status == notify.StatusResolved || m.Kind == notify.KindReport || m.Kind == notify.KindTest {
		color = "Good"
	}
	card.Body = append(card.Body, Element{Type: "TextBlock", Text: fit.Title(m), Weight: "Bolder", Size: "Medium", Color: color, Wrap: true})
	switch m.Kind {
	case notify.KindReport:
		text := m.Report.Markdown
		if text == "" {
			text = m.Report.Text
		}
		card.Body = append(card.Body, Element{Type: "TextBlock", Text: fit.ClipBytes(text, MaxBytes/2), Wrap: true})
	case notify.KindTest:
		card.Body = append(card.Body, Element{Type: "TextBlock", Text: "This is a test notification from sfmcwatch: the receiver is configured correctly.", Wrap: true})
	}
	if len(m.Alerts) == 1 && m.Alerts[0].Link != "" {
		card.Actions = []Action{{Type: "Action.OpenUrl", Title: "Open incident", URL: m.Alerts[0].Link}}
	}
	containers := make([]Element, len(m.Alerts))
	for i := range m.Alerts {
		containers[i] = container(m.Alerts[i])
	}
	head := card.Body
	build := func(k int) Envelope {
		c := card
		c.Body = append(slices.Clip(head), containers[:k]...)
		if k < len(containers) {
			more := fit.More(len(containers) - k)
			if m.ExternalURL != "" {
				more += " — [all incidents](" + strings.TrimRight(m.ExternalURL, "/") + "/incidents)"
			}
			c.Body = append(c.Body, Element{Type: "TextBlock", Text: more, Wrap: true, Separator: true})
		}
		return Envelope{Type: "message", Attachments: []Attachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: c}}}
	}
	k := fit.Largest(len(containers), func(k int) bool { return size(build(k)) <= MaxBytes })
	return build(k)
}

func size(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 1 << 30
	}
	return len(b)
}

// container is one alert's section of the card, its free text capped.
func container(a notify.Alert) Element {
	a.Title = fit.Clip(a.Title, maxAlertTitle)
	items := []Element{{Type: "TextBlock", Text: a.Summary(), Weight: "Bolder", Wrap: true}}
	facts := []Fact{{"Family", orNone(a.Family)}, {"Owner", a.Owner}, {"Tenant", a.Tenant}, {"Resource", strings.TrimSpace(a.ResourceType + " " + a.ResourceKey)}, {"Rule", a.Rule}}
	if a.Evidence != "" {
		facts = append(facts, Fact{"Evidence", fit.Clip(a.Evidence, maxEvidence)})
	}
	if a.Note != "" {
		facts = append(facts, Fact{"Note", fit.Clip(a.Note, maxNote)})
	}
	items = append(items, Element{Type: "FactSet", Facts: facts})
	if a.Status == notify.StatusFiring && a.WhyItMatters != "" {
		items = append(items, Element{Type: "TextBlock", Text: "**Why it matters:** " + fit.Clip(a.WhyItMatters, maxWhy), Wrap: true})
	}
	if a.Status == notify.StatusFiring && a.Detail != "" {
		items = append(items, Element{Type: "TextBlock", Text: "**What we see:** " + fit.Clip(a.Detail, maxWhy), Wrap: true})
	}
	if a.Status == notify.StatusFiring && len(a.Remediation) > 0 {
		var b strings.Builder
		b.WriteString("**Fix:**")
		for j, r := range a.Remediation {
			if j == maxFixLines {
				b.WriteString("\n" + fit.More(len(a.Remediation)-j))
				break
			}
			fmt.Fprintf(&b, "\n%d. %s", j+1, fit.Clip(r, maxFixLine))
		}
		items = append(items, Element{Type: "TextBlock", Text: b.String(), Wrap: true})
	}
	if a.Link != "" {
		items = append(items, Element{Type: "TextBlock", Text: "[Open incident](" + a.Link + ")", Wrap: true})
	}
	return Element{Type: "Container", Separator: true, Items: items}
}

func orNone(family string) string {
	if family == "" {
		return "none"
	}
	return family
}
