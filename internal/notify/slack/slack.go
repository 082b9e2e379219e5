// Package slack delivers notifications to a Slack incoming webhook as
// Block Kit messages.
package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit"
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
	return notify.PostJSON(ctx, n.client, "slack", n.cfg.WebhookURL.Reveal(), body, http.Header{"User-Agent": {fit.UserAgent()}})
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

// Slack limits (Block Kit reference): 50 blocks a message, 3,000
// characters a section text, 2,000 a section field, 150 a header; a message
// over 40,000 characters is rejected or truncated. MaxChars keeps a margin
// under the latter.
const (
	maxBlocks  = 50
	maxSection = 3000
	maxField   = 2000
	maxHeader  = 150
	MaxChars   = 39000
)

// Per-alert caps so that one alert always fits and others can follow.
const (
	maxAlertTitle = 300
	maxEvidence   = 1200
	maxNote       = 400
	maxWhy        = 500
	maxFixLines   = 5
	maxFixLine    = 300
)

func md(s string) *Text { return &Text{Type: "mrkdwn", Text: fit.Clip(s, maxSection)} }

// escape escapes Slack's control characters in user text.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Payload builds the Block Kit message within Slack's limits: the least
// urgent alerts (the last) become "…and N more" when the message would
// exceed 50 blocks or MaxChars characters.
func Payload(m *notify.Message, channel, username string) Message {
	title := fit.Title(m)
	out := Message{Text: escape(title), Channel: channel, Username: username}
	out.Blocks = append(out.Blocks, Block{Type: "header", Text: &Text{Type: "plain_text", Text: fit.Clip(title, maxHeader)}})
	switch m.Kind {
	case notify.KindReport:
		body := m.Report.Markdown
		if body == "" {
			body = escape(m.Report.Text)
		}
		used := chars(out)
		for body != "" && len(out.Blocks) < maxBlocks {
			room := min(maxSection, MaxChars-used)
			if room <= 0 {
				break
			}
			r := []rune(body)
			if len(r) <= room {
				out.Blocks = append(out.Blocks, Block{Type: "section", Text: md(body)})
				break
			}
			if len(out.Blocks) == maxBlocks-1 || room < maxSection {
				out.Blocks = append(out.Blocks, Block{Type: "section", Text: md(fit.Clip(body, room))})
				break
			}
			out.Blocks = append(out.Blocks, Block{Type: "section", Text: md(string(r[:room]))})
			used += room
			body = string(r[room:])
		}
		return out
	case notify.KindTest:
		out.Blocks = append(out.Blocks, Block{Type: "section", Text: md("This is a test notification from sfmcwatch: the receiver is configured correctly.")})
	}
	sections := make([]Block, len(m.Alerts))
	for i := range m.Alerts {
		sections[i] = section(m.Alerts[i])
	}
	head := out.Blocks
	build := func(k int) Message {
		msg := out
		msg.Blocks = append(slices.Clip(head), sections[:k]...)
		if k < len(sections) {
			more := fit.More(len(sections) - k)
			if m.ExternalURL != "" {
				more += " — <" + strings.TrimRight(m.ExternalURL, "/") + "/incidents|all incidents>"
			}
			msg.Blocks = append(msg.Blocks, Block{Type: "context", Elements: []Text{{Type: "mrkdwn", Text: more}}})
		}
		return msg
	}
	k := fit.Largest(len(sections), func(k int) bool {
		msg := build(k)
		return len(msg.Blocks) <= maxBlocks && chars(msg) <= MaxChars
	})
	return build(k)
}

// section is one alert's block, its free text capped.
func section(a notify.Alert) Block {
	a.Title = fit.Clip(a.Title, maxAlertTitle)
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
			fmt.Fprintf(&b, "*Why it matters:* %s\n", escape(fit.Clip(a.WhyItMatters, maxWhy)))
		}
		if a.Detail != "" {
			fmt.Fprintf(&b, "*What we see:* %s\n", escape(fit.Clip(a.Detail, maxWhy)))
		}
		if len(a.Remediation) > 0 {
			b.WriteString("*Fix:*\n")
			for j, r := range a.Remediation {
				if j == maxFixLines {
					b.WriteString(fit.More(len(a.Remediation)-j) + "\n")
					break
				}
				fmt.Fprintf(&b, "%d. %s\n", j+1, escape(fit.Clip(r, maxFixLine)))
			}
		}
	}
	if a.Evidence != "" {
		fmt.Fprintf(&b, "*Evidence:* %s\n", escape(fit.Clip(a.Evidence, maxEvidence)))
	}
	if a.Note != "" {
		fmt.Fprintf(&b, "_%s_\n", escape(fit.Clip(a.Note, maxNote)))
	}
	field := func(name, v string) Text {
		return Text{Type: "mrkdwn", Text: fit.Clip("*"+name+"*\n"+orDash(v), maxField)}
	}
	return Block{Type: "section", Text: md(b.String()), Fields: []Text{
		field("Family", orNone(a.Family)), field("Owner", a.Owner), field("Tenant", escape(a.Tenant)), field("Severity", a.Severity),
	}}
}

// chars counts the characters Slack counts: the fallback text and every
// text object of every block.
func chars(m Message) int {
	n := utf8.RuneCountInString(m.Text)
	for _, b := range m.Blocks {
		if b.Text != nil {
			n += utf8.RuneCountInString(b.Text.Text)
		}
		for _, t := range b.Fields {
			n += utf8.RuneCountInString(t.Text)
		}
		for _, t := range b.Elements {
			n += utf8.RuneCountInString(t.Text)
		}
	}
	return n
}

func orNone(family string) string {
	if family == "" {
		return "none"
	}
	return family
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
