// Package webhook delivers notifications as JSON to any HTTP endpoint,
// signed with HMAC-SHA256 over a timestamp and the body.
//
// Headers: Content-Type: application/json; X-Sfmcwatch-Idempotency-Key (the
// outbox key: deliveries are at least once, deduplicate on it); and, with a
// signing key, X-Sfmcwatch-Signature: t=<unix seconds>,v1=<hex> where v1 =
// HMAC-SHA256(key, "<t>.<body>"). Receivers should reject timestamps older
// than a few minutes (replay) — see Verify.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit"
)

// Header names.
const (
	SignatureHeader   = "X-Sfmcwatch-Signature"
	IdempotencyHeader = "X-Sfmcwatch-Idempotency-Key"
)

// Config is the receiver's webhook block.
type Config = config.Webhook

// Notifier posts to one endpoint.
type Notifier struct {
	cfg    Config
	client *http.Client
	now    func() time.Time
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg; client nil uses one with cfg.Timeout, now nil time.Now.
func New(cfg Config, client *http.Client, now func() time.Time) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout.Std()}
	}
	if now == nil {
		now = time.Now
	}
	return &Notifier{cfg: cfg, client: client, now: now}, nil
}

// Payload is the JSON body: the message with a schema version.
type Payload struct {
	Version string `json:"version"`
	*notify.Message
	// Title is the short title (under 120 characters) naming the cause.
	Title string `json:"title"`
	Text  string `json:"text"`
	// OmittedAlerts counts the alerts left out to keep the body under
	// MaxBytes (the last, least urgent ones; "…and N more" in Text).
	OmittedAlerts int `json:"omitted_alerts,omitempty"`
}

// MaxBytes caps the body below the 1 MiB many receivers accept by default
// (nginx client_max_body_size, several serverless gateways).
const MaxBytes = 960 << 10

// Per-alert caps of free text.
const (
	maxText     = 16 << 10
	maxFixLines = 20
)

// Body builds the JSON body, at most MaxBytes: alerts' free text is
// capped and, when the group is still too large, the last alerts are left
// out and counted in omitted_alerts.
func Body(m *notify.Message) ([]byte, error) {
	alerts := make([]notify.Alert, len(m.Alerts))
	for i, a := range m.Alerts {
		a.Title, a.Evidence, a.Note, a.WhyItMatters = fit.Clip(a.Title, maxText), fit.Clip(a.Evidence, maxText), fit.Clip(a.Note, maxText), fit.Clip(a.WhyItMatters, maxText)
		a.Detail = fit.Clip(a.Detail, maxText)
		if len(a.Remediation) > maxFixLines {
			a.Remediation = append(slices.Clip(a.Remediation[:maxFixLines]), fit.More(len(a.Remediation)-maxFixLines))
		}
		alerts[i] = a
	}
	title := fit.Title(m)
	build := func(k int) ([]byte, error) {
		sub := *m
		sub.Alerts = alerts[:k]
		text := sub.Text()
		if k < len(alerts) {
			if _, rest, ok := strings.Cut(text, "\n"); ok {
				text = m.Title() + "\n" + rest
			}
			text += "\n" + fit.More(len(alerts)-k) + "\n"
		}
		return json.Marshal(Payload{Version: "1", Message: &sub, Title: title, Text: fit.ClipBytes(text, MaxBytes/2), OmittedAlerts: len(alerts) - k})
	}
	k := fit.Largest(len(alerts), func(k int) bool {
		b, err := build(k)
		return err == nil && len(b) <= MaxBytes
	})
	return build(k)
}

// Notify posts the signed payload.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) error {
	body, err := Body(m)
	if err != nil {
		return notify.Permanent("webhook", err)
	}
	h := http.Header{"User-Agent": {fit.UserAgent()}}
	h.Set(IdempotencyHeader, m.Key)
	if n.cfg.SigningKey.IsSet() {
		h.Set(SignatureHeader, Sign([]byte(n.cfg.SigningKey.Reveal()), n.now(), body))
	}
	return notify.PostJSON(ctx, n.client, "webhook", n.cfg.URL.Reveal(), body, h, n.cfg.SigningKey.Reveal())
}

// Sign returns the signature header value for body at t.
func Sign(key []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a signature header against body: the HMAC must match and
// the timestamp be within tolerance of now.
func Verify(key []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("webhook signature: want t=<unix>,v1=<hex>")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook signature: timestamp %s outside the %s tolerance", time.Unix(sec, 0).UTC().Format(time.RFC3339), tolerance)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return errors.New("webhook signature: v1 is not hex")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("webhook signature: mismatch")
	}
	return nil
}
