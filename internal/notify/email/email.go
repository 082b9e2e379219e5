// Package email delivers notifications over SMTP (STARTTLS or implicit
// TLS) with a plain-text and an HTML part, using github.com/wneessen/go-mail.
package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	netmail "net/mail"
	"net/textproto"
	"os"
	"strings"

	mail "github.com/wneessen/go-mail"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit"
)

// Config is the receiver's email block.
type Config = config.Email

// Notifier sends to one list of recipients.
type Notifier struct {
	cfg    Config
	tls    *tls.Config
	domain string // of the sender, for Message-IDs
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg; tlsConfig nil verifies the server against the system
// roots (tests pass their own CA).
func New(cfg Config, tlsConfig *tls.Config) (*Notifier, error) {
	if cfg.TLS == "" {
		cfg.TLS = "starttls"
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tlsConfig = tlsConfig.Clone()
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = cfg.Host
	}
	return &Notifier{cfg: cfg, tls: tlsConfig, domain: senderDomain(cfg.From)}, nil
}

// Build returns the e-mail for a message (exported for tests and previews).
func (n *Notifier) Build(m *notify.Message) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(n.cfg.From); err != nil {
		return nil, notify.Permanent("email", errors.New("invalid from address"))
	}
	if err := msg.To(n.cfg.To...); err != nil {
		return nil, notify.Permanent("email", errors.New("invalid recipient address"))
	}
	msg.Subject(Subject(m, n.cfg.SubjectPrefix))
	h := sha256.Sum256([]byte(m.Key))
	msg.SetMessageIDWithValue(hex.EncodeToString(h[:16]) + "@" + n.domain)
	msg.SetUserAgent(fit.UserAgent())
	if !m.CreatedAt.IsZero() {
		msg.SetDateWithValue(m.CreatedAt)
	}
	text, html := "", ""
	if m.Kind == notify.KindReport && m.Report != nil {
		text, html = m.Report.Text, m.Report.HTML
	}
	if text == "" && html == "" {
		var err error
		if text, html, err = Bodies(m); err != nil {
			return nil, notify.Permanent("email", fmt.Errorf("render: %w", err))
		}
	}
	if html == "" {
		var b bytes.Buffer
		if err := page.Execute(&b, view(m, len(m.Alerts))); err != nil {
			return nil, notify.Permanent("email", fmt.Errorf("render: %w", err))
		}
		html = b.String()
	}
	if text == "" {
		text = m.Title()
	}
	msg.SetBodyString(mail.TypeTextPlain, text)
	msg.AddAlternativeString(mail.TypeTextHTML, html)
	return msg, nil
}

// Limits. RFC 5322 caps a header line at 998 characters and subjects are
// read in a list: the subject is the short title (under 120 characters)
// after the prefix, at most MaxSubject characters. Gmail clips a message
// body over 102 KB ("[Message clipped]"): each part stays under MaxBody
// bytes, the least urgent alerts (the last) becoming "…and N more". Text
// lines are wrapped at TextWidth.
const (
	MaxSubject = 250
	MaxBody    = 96 << 10
	TextWidth  = 78
)

// Per-alert caps so that one alert always fits with room for others.
const (
	maxAlertTitle = 500
	maxEvidence   = 4000
	maxNote       = 1000
	maxFixLines   = 10
	maxFixLine    = 1000
)

// Subject is the e-mail subject: prefix and the short title, at most
// MaxSubject characters on one line.
func Subject(m *notify.Message, prefix string) string {
	subject := fit.Title(m)
	if prefix != "" {
		subject = prefix + " " + subject
	}
	return fit.Clip(strings.Join(strings.Fields(subject), " "), MaxSubject)
}

// Bodies renders the plain-text part (wrapped at TextWidth) and the HTML
// part of an alert message, each at most MaxBody bytes.
func Bodies(m *notify.Message) (text, html string, err error) {
	alerts := make([]notify.Alert, len(m.Alerts))
	for i, a := range m.Alerts {
		alerts[i] = capAlert(a)
	}
	capped := *m
	capped.Alerts = alerts
	render := func(k int) (string, string, error) {
		v := view(&capped, k)
		sub := capped
		sub.Alerts = alerts[:k]
		t := sub.Text()
		if _, rest, ok := strings.Cut(t, "\n"); ok { // the title counts every alert
			t = v.Title + "\n" + rest
		}
		if v.More != "" {
			t += "\n" + v.More
			if v.MoreURL != "" {
				t += ": " + v.MoreURL
			}
			t += "\n"
		}
		var b bytes.Buffer
		if err := page.Execute(&b, v); err != nil {
			return "", "", err
		}
		return fit.Wrap(t, TextWidth), b.String(), nil
	}
	k := fit.Largest(len(alerts), func(k int) bool {
		t, h, err := render(k)
		return err == nil && len(t) <= MaxBody && len(h) <= MaxBody
	})
	return render(k)
}

// capAlert caps an alert's free text.
func capAlert(a notify.Alert) notify.Alert {
	a.Title = fit.Clip(a.Title, maxAlertTitle)
	a.Evidence = fit.Clip(a.Evidence, maxEvidence)
	a.Note = fit.Clip(a.Note, maxNote)
	a.WhyItMatters = fit.Clip(a.WhyItMatters, maxEvidence)
	a.Detail = fit.Clip(a.Detail, maxEvidence)
	if len(a.Remediation) > 0 {
		fix := make([]string, 0, min(len(a.Remediation), maxFixLines+1))
		for i, r := range a.Remediation {
			if i == maxFixLines {
				fix = append(fix, fit.More(len(a.Remediation)-i))
				break
			}
			fix = append(fix, fit.Clip(r, maxFixLine))
		}
		a.Remediation = fix
	}
	if a.Family == "" {
		a.Family = "none"
	}
	return a
}

// pageView is what the HTML template shows: the first alerts of a message
// and the line standing for the others.
type pageView struct {
	Title, Kind   string
	Alerts        []notify.Alert
	More, MoreURL string
}

func view(m *notify.Message, k int) pageView {
	v := pageView{Title: fit.Title(m), Kind: m.Kind, Alerts: m.Alerts[:k]}
	if k < len(m.Alerts) {
		v.More = fit.More(len(m.Alerts) - k)
		if m.ExternalURL != "" {
			v.MoreURL = strings.TrimRight(m.ExternalURL, "/") + "/incidents"
		}
	}
	return v
}

// senderDomain is the domain of the From address, for Message-IDs
// (RFC 5322 §3.6.4: unique on the sender's domain).
func senderDomain(from string) string {
	if a, err := netmail.ParseAddress(from); err == nil {
		from = a.Address
	}
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i < len(from)-1 {
		return strings.Trim(from[i+1:], "<> ")
	}
	if h, err := os.Hostname(); err == nil && strings.Contains(h, ".") {
		return h
	}
	return "localhost"
}

// Notify sends the e-mail. SMTP 4xx replies and connection failures are
// retryable, 5xx replies (bad credentials, rejected recipient) are not.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) error {
	msg, err := n.Build(m)
	if err != nil {
		return err
	}
	opts := []mail.Option{mail.WithPort(n.cfg.Port), mail.WithTimeout(n.cfg.Timeout.Std()), mail.WithTLSConfig(n.tls)}
	switch n.cfg.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if n.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(n.cfg.Username), mail.WithPassword(n.cfg.Password.Reveal()))
	}
	client, err := mail.NewClient(n.cfg.Host, opts...)
	if err != nil {
		return notify.Permanent("email", errors.New(n.scrub(err.Error())))
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if err == nil {
		return nil
	}
	ne := &notify.Error{Channel: "email", Retry: true, Err: errors.New(n.scrub(err.Error()))}
	var (
		se *mail.SendError
		te *textproto.Error
	)
	switch {
	case errors.As(err, &se):
		ne.Status = se.ErrorCode()
		ne.Retry = se.IsTemp() || ne.Status == 0 || (ne.Status >= 400 && ne.Status < 500)
	case errors.As(err, &te): // e.g. AUTH rejected while dialing
		ne.Status = te.Code
		ne.Retry = te.Code >= 400 && te.Code < 500
	}
	return ne
}

// scrub removes the password and the recipients' addresses (personal data)
// from an error text.
func (n *Notifier) scrub(s string) string {
	secrets := append([]string{n.cfg.Password.Reveal(), n.cfg.Username}, n.cfg.To...)
	return notify.Scrub(s, secrets...)
}

var page = template.Must(template.New("email").Funcs(template.FuncMap{
	"human":  notify.HumanDuration,
	"firing": func(s string) bool { return s == notify.StatusFiring },
	"upper":  strings.ToUpper,
}).Parse(`<!doctype html>
<html><body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d1d1f">
<h2 style="margin:0 0 12px">{{.Title}}</h2>
{{if eq .Kind "test"}}<p>This is a test notification from sfmcwatch: the receiver is configured correctly.</p>{{end}}
{{range .Alerts}}
<div style="border-left:4px solid {{if firing .Status}}#d93025{{else}}#188038{{end}};padding:8px 12px;margin:12px 0">
<p style="margin:0"><strong>{{if firing .Status}}{{upper .Severity}}{{else}}RESOLVED{{end}}: {{if .Link}}<a href="{{.Link}}">{{.Title}}</a>{{else}}{{.Title}}{{end}}</strong><br>
{{if firing .Status}}Failing for {{human .FailingFor}}{{else}}Resolved after {{human .FailingFor}}{{end}}{{if .AcknowledgedBy}} · acknowledged by {{.AcknowledgedBy}}{{end}}</p>
<table style="border-collapse:collapse;margin:6px 0">
<tr><td style="padding-right:12px;color:#5f6368">Family</td><td>{{.Family}}</td></tr>
<tr><td style="padding-right:12px;color:#5f6368">Owner</td><td>{{.Owner}}</td></tr>
<tr><td style="padding-right:12px;color:#5f6368">Where</td><td>tenant {{.Tenant}}, {{.ResourceType}} {{.ResourceKey}} (rule {{.Rule}})</td></tr>
{{if .Evidence}}<tr><td style="padding-right:12px;color:#5f6368">Evidence</td><td>{{.Evidence}}</td></tr>{{end}}
{{if .Note}}<tr><td style="padding-right:12px;color:#5f6368">Note</td><td>{{.Note}}</td></tr>{{end}}
</table>
{{if and (firing .Status) .WhyItMatters}}<p style="margin:6px 0"><strong>Why it matters:</strong> {{.WhyItMatters}}</p>{{end}}
{{if and (firing .Status) .Detail}}<p style="margin:6px 0"><strong>What we see:</strong> {{.Detail}}</p>{{end}}
{{if and (firing .Status) .Remediation}}<p style="margin:6px 0 0"><strong>Fix:</strong></p><ol style="margin:4px 0">{{range .Remediation}}<li>{{.}}</li>{{end}}</ol>{{end}}
</div>
{{end}}
{{if .More}}<p>{{.More}}{{if .MoreURL}}: <a href="{{.MoreURL}}">all incidents</a>{{end}}</p>{{end}}
<p style="color:#5f6368;font-size:12px">Sent by sfmcwatch.</p>
</body></html>
`))
