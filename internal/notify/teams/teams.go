// Package teams delivers notifications to a Microsoft Teams Workflows
// webhook ("When a Teams webhook request is received") as an Adaptive Card.
package teams

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
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
	return notify.PostJSON(ctx, n.client, "teams", n.cfg.WebhookURL.Reveal(), body, nil)
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

// maxAlerts bounds the card (Teams rejects payloads over ~28 KB).
const maxAlerts = 20

// Payload builds the Workflows envelope.
func Payload(m *notify.Message) Envelope {
	card := Card{Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4"}
	card.MSTeams = &struct {
		Width string `json:"width"`
	}{Width: "Full"}
	color := "Attention"
	if m.Status == notify.StatusResolved || m.Kind == notify.KindReport || m.Kind == notify.KindTest {
		color = "Good"
	}
	card.Body = append(card.Body, Element{Type: "TextBlock", Text: m.Title(), Weight: "Bolder", Size: "Medium", Color: color, Wrap: true})
	switch m.Kind {
	case notify.KindReport:
		text := m.Report.Markdown
		if text == "" {
			text = m.Report.Text
		}
		card.Body = append(card.Body, Element{Type: "TextBlock", Text: text, Wrap: true})
	case notify.KindTest:
		card.Body = append(card.Body, Element{Type: "TextBlock", Text: "This is a test notification from sfmcwatch: the receiver is configured correctly.", Wrap: true})
	}
	for i, a := range m.Alerts {
		if i == maxAlerts {
			card.Body = append(card.Body, Element{Type: "TextBlock", Text: fmt.Sprintf("…and %d more", len(m.Alerts)-i), Wrap: true})
			break
		}
		items := []Element{{Type: "TextBlock", Text: a.Summary(), Weight: "Bolder", Wrap: true}}
		facts := []Fact{{"Family", a.Family}, {"Owner", a.Owner}, {"Tenant", a.Tenant}, {"Resource", strings.TrimSpace(a.ResourceType + " " + a.ResourceKey)}, {"Rule", a.Rule}}
		if a.Evidence != "" {
			facts = append(facts, Fact{"Evidence", a.Evidence})
		}
		if a.Note != "" {
			facts = append(facts, Fact{"Note", a.Note})
		}
		items = append(items, Element{Type: "FactSet", Facts: facts})
		if a.Status == notify.StatusFiring && a.WhyItMatters != "" {
			items = append(items, Element{Type: "TextBlock", Text: "**Why it matters:** " + a.WhyItMatters, Wrap: true})
		}
		if a.Status == notify.StatusFiring && len(a.Remediation) > 0 {
			var b strings.Builder
			b.WriteString("**Fix:**")
			for j, r := range a.Remediation {
				fmt.Fprintf(&b, "\n%d. %s", j+1, r)
			}
			items = append(items, Element{Type: "TextBlock", Text: b.String(), Wrap: true})
		}
		if a.Link != "" {
			items = append(items, Element{Type: "TextBlock", Text: "[Open incident](" + a.Link + ")", Wrap: true})
		}
		card.Body = append(card.Body, Element{Type: "Container", Separator: true, Items: items})
	}
	if len(m.Alerts) == 1 && m.Alerts[0].Link != "" {
		card.Actions = []Action{{Type: "Action.OpenUrl", Title: "Open incident", URL: m.Alerts[0].Link}}
	}
	return Envelope{Type: "message", Attachments: []Attachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card}}}
}
