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
	"net/textproto"
	"strings"

	mail "github.com/wneessen/go-mail"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
)

// Config is the receiver's email block.
type Config = config.Email

// Notifier sends to one list of recipients.
type Notifier struct {
	cfg Config
	tls *tls.Config
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
	return &Notifier{cfg: cfg, tls: tlsConfig}, nil
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
	subject := m.Title()
	if n.cfg.SubjectPrefix != "" {
		subject = n.cfg.SubjectPrefix + " " + subject
	}
	msg.Subject(subject)
	h := sha256.Sum256([]byte(m.Key))
	msg.SetMessageIDWithValue(hex.EncodeToString(h[:16]) + "@sfmcwatch")
	if !m.CreatedAt.IsZero() {
		msg.SetDateWithValue(m.CreatedAt)
	}
	text, html := m.Text(), ""
	if m.Kind == notify.KindReport && m.Report != nil {
		text, html = m.Report.Text, m.Report.HTML
	}
	if html == "" {
		var b bytes.Buffer
		if err := page.Execute(&b, m); err != nil {
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
{{if and (firing .Status) .Remediation}}<p style="margin:6px 0 0"><strong>Fix:</strong></p><ol style="margin:4px 0">{{range .Remediation}}<li>{{.}}</li>{{end}}</ol>{{end}}
</div>
{{end}}
<p style="color:#5f6368;font-size:12px">Sent by sfmcwatch.</p>
</body></html>
`))
