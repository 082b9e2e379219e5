// Package slack delivers notifications to a Slack incoming webhook as
// Block Kit messages.
package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
)

// Config is the receiver's slack block (validated by Validate).
type Config = config.Slack

// Notifier posts to one webhook.
type Notifier struct {
	cfg    Config
	client *http.Client
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg and returns the notifier; client nil uses a client
// with cfg.Timeout.
func New(cfg Config, client *http.Client) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout.Std()}
	}
	return &Notifier{cfg: cfg, client: client}, nil
}

// Notify posts the message.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) error {
	body, err := json.Marshal(Payload(m, n.cfg.Channel, n.cfg.Username))
	if err != nil {
		return notify.Permanent("slack", err)
	}
	return notify.PostJSON(ctx, n.client, "slack", n.cfg.WebhookURL.Reveal(), body, nil)
}

// Message is the webhook payload.
type Message struct {
	Text     string  `json:"text"`
	Blocks   []Block `json:"blocks"`
	Channel  string  `json:"channel,omitempty"`
	Username string  `json:"username,omitempty"`
}

// Block is a Block Kit block (the subset used here).
type Block struct {
	Type     string `json:"type"`
	Text     *Text  `json:"text,omitempty"`
	Fields   []Text `json:"fields,omitempty"`
	Elements []Text `json:"elements,omitempty"`
}

// Text is a Block Kit text object.
type Text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Slack limits: 50 blocks, 3000 characters per section text, 150 per header.
const (
	maxBlocks  = 50
	maxSection = 3000
	maxHeader  = 150
)

func md(s string) *Text { return &Text{Type: "mrkdwn", Text: clip(s, maxSection)} }

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// escape escapes Slack's control characters in user text.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Payload builds the Block Kit message.
func Payload(m *notify.Message, channel, username string) Message {
	out := Message{Text: escape(m.Title()), Channel: channel, Username: username}
	out.Blocks = append(out.Blocks, Block{Type: "header", Text: &Text{Type: "plain_text", Text: clip(m.Title(), maxHeader)}})
	switch m.Kind {
	case notify.KindReport:
		body := m.Report.Markdown
		if body == "" {
			body = escape(m.Report.Text)
		}
		for len(body) > 0 && len(out.Blocks) < maxBlocks {
			chunk := clip(body, maxSection)
			if chunk != body {
				chunk = string([]rune(body)[:maxSection-1])
			}
			out.Blocks = append(out.Blocks, Block{Type: "section", Text: md(chunk)})
			body = strings.TrimPrefix(body, chunk)
		}
		return out
	case notify.KindTest:
		out.Blocks = append(out.Blocks, Block{Type: "section", Text: md("This is a test notification from sfmcwatch: the receiver is configured correctly.")})
	}
	for i, a := range m.Alerts {
		if len(out.Blocks) >= maxBlocks-2 {
			out.Blocks = append(out.Blocks, Block{Type: "context", Elements: []Text{{Type: "mrkdwn", Text: fmt.Sprintf("…and %d more", len(m.Alerts)-i)}}})
			break
		}
		var b strings.Builder
		icon := ":red_circle:"
		if a.Status == notify.StatusResolved {
			icon = ":large_green_circle:"
		}
		title := escape(a.Title)
		if a.Link != "" {
			title = "<" + a.Link + "|" + title + ">"
		}
		fmt.Fprintf(&b, "%s *%s*\n%s\n", icon, title, escape(a.Summary()))
		if a.Status == notify.StatusFiring {
			if a.WhyItMatters != "" {
				fmt.Fprintf(&b, "*Why it matters:* %s\n", escape(a.WhyItMatters))
			}
			if len(a.Remediation) > 0 {
				b.WriteString("*Fix:*\n")
				for j, r := range a.Remediation {
					fmt.Fprintf(&b, "%d. %s\n", j+1, escape(r))
				}
			}
		}
		if a.Evidence != "" {
			fmt.Fprintf(&b, "*Evidence:* %s\n", escape(a.Evidence))
		}
		if a.Note != "" {
			fmt.Fprintf(&b, "_%s_\n", escape(a.Note))
		}
		out.Blocks = append(out.Blocks, Block{Type: "section", Text: md(b.String()),
			Fields: []Text{
				{Type: "mrkdwn", Text: "*Family*\n" + orDash(a.Family)},
				{Type: "mrkdwn", Text: "*Owner*\n" + orDash(a.Owner)},
				{Type: "mrkdwn", Text: "*Tenant*\n" + orDash(escape(a.Tenant))},
				{Type: "mrkdwn", Text: "*Severity*\n" + orDash(a.Severity)},
			}})
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
