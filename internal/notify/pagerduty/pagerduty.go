// Package pagerduty delivers notifications through the PagerDuty Events API
// v2: one event per incident, trigger / acknowledge / resolve, with
// dedup_key = the incident fingerprint so PagerDuty keeps one incident per
// sfmcwatch incident.
package pagerduty

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit"
)

// Config is the receiver's pagerduty block.
type Config = config.PagerDuty

// Notifier sends events to one PagerDuty service.
type Notifier struct {
	cfg    Config
	client *http.Client
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg and returns the notifier.
func New(cfg Config, client *http.Client) (*Notifier, error) {
	if cfg.URL == "" {
		cfg.URL = config.DefaultPagerDutyURL
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("pagerduty: %w", err)
	}
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout.Std()}
	}
	return &Notifier{cfg: cfg, client: client}, nil
}

// Event is an Events API v2 event.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key"`
	Payload     *Payload `json:"payload,omitempty"`
	Links       []Link   `json:"links,omitempty"`
	Client      string   `json:"client,omitempty"`
	ClientURL   string   `json:"client_url,omitempty"`
}

// Payload is the trigger payload.
type Payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Link is an event link.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// DedupKey is the incident fingerprint (hashed when over PagerDuty's 255
// characters).
func DedupKey(fingerprint string) string {
	if len(fingerprint) <= 255 {
		return fingerprint
	}
	h := sha256.Sum256([]byte(fingerprint))
	return "sfmcwatch-" + hex.EncodeToString(h[:])
}

// Events builds the events of a message: trigger for firing alerts
// (acknowledge once acknowledged), resolve for resolved ones. A test
// message triggers and resolves a throw-away incident.
func Events(routingKey string, m *notify.Message) ([]Event, error) {
	if m.Kind == notify.KindReport {
		return nil, notify.Permanent("pagerduty", fmt.Errorf("pagerduty receives incidents, not reports (%q)", m.Title()))
	}
	var out []Event
	for _, a := range m.Alerts {
		ev := Event{RoutingKey: routingKey, DedupKey: DedupKey(a.Fingerprint), Client: "sfmcwatch", ClientURL: m.ExternalURL}
		if m.Kind == notify.KindTest {
			ev.DedupKey = DedupKey("sfmcwatch-test|" + m.Key)
		}
		switch {
		case a.Status == notify.StatusResolved:
			ev.EventAction = "resolve"
		case a.AcknowledgedBy != "":
			ev.EventAction = "acknowledge"
		default:
			ev.EventAction = "trigger"
			source := a.Tenant
			if source == "" {
				source = "sfmcwatch"
			}
			summary := a.Title
			if m.Kind == notify.KindEscalation {
				summary = "[escalated] " + summary
			}
			family := a.Family
			if family == "" {
				family = "none"
			}
			ev.Payload = &Payload{
				Summary: fit.Clip(summary, maxSummary), Source: fit.Clip(source, maxField), Severity: severity(a.Severity),
				Timestamp: a.StartsAt.UTC().Format(time.RFC3339), Component: fit.Clip(a.ResourceKey, maxField), Group: a.Owner, Class: family,
				CustomDetails: details(a),
			}
			if a.Link != "" {
				ev.Links = []Link{{Href: a.Link, Text: "sfmcwatch incident"}}
			}
		}
		out = append(out, ev)
		if m.Kind == notify.KindTest {
			res := ev
			res.EventAction, res.Payload, res.Links = "resolve", nil, nil
			out = append(out, res)
		}
	}
	return out, nil
}

// PagerDuty limits: an event is at most 512 KB ("Event object is too
// large"), a summary 1,024 characters. The free text of custom_details is
// capped well below so an event never comes near the limit; MaxEventBytes
// is checked after encoding anyway.
const (
	MaxEventBytes = 512 * 1024
	maxSummary    = 1024
	maxField      = 255
	maxText       = 16 << 10
	maxFixLines   = 20
	maxFixLine    = 2 << 10
)

// details are the event's custom_details, free text capped.
func details(a notify.Alert) map[string]any {
	fix := a.Remediation
	if len(fix) > maxFixLines {
		fix = append(slices.Clip(fix[:maxFixLines]), fit.More(len(fix)-maxFixLines))
	}
	clipped := make([]string, len(fix))
	for i, r := range fix {
		clipped[i] = fit.Clip(r, maxFixLine)
	}
	return map[string]any{
		"rule": a.Rule, "tenant": a.Tenant, "resource_type": a.ResourceType, "resource_key": fit.Clip(a.ResourceKey, maxText), "owner": a.Owner,
		"title": fit.Clip(a.Title, maxText), "failing_for": notify.HumanDuration(a.FailingFor), "why_it_matters": fit.Clip(a.WhyItMatters, maxText),
		"detail":      fit.Clip(a.Detail, maxText),
		"remediation": clipped, "evidence": fit.Clip(a.Evidence, maxText), "note": fit.Clip(a.Note, maxText), "incident_id": a.IncidentID,
	}
}

// encode marshals an event, dropping its custom details rather than
// exceeding MaxEventBytes.
func encode(ev Event) ([]byte, error) {
	body, err := json.Marshal(ev)
	if err != nil || len(body) <= MaxEventBytes || ev.Payload == nil {
		return body, err
	}
	p := *ev.Payload
	p.CustomDetails = map[string]any{"note": "details left out: over PagerDuty's 512 KB event limit; open the incident in sfmcwatch"}
	ev.Payload = &p
	return json.Marshal(ev)
}

func severity(s string) string {
	switch s {
	case "critical", "error", "warning", "info":
		return s
	}
	return "error"
}

// Notify sends the events in order; the first failure stops (the outbox
// retries the message; PagerDuty deduplicates on dedup_key).
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) error {
	key := n.cfg.RoutingKey.Reveal()
	events, err := Events(key, m)
	if err != nil {
		return err
	}
	for _, ev := range events {
		body, err := encode(ev)
		if err != nil {
			return notify.Permanent("pagerduty", err)
		}
		if err := notify.PostJSON(ctx, n.client, "pagerduty", n.cfg.URL, body, http.Header{"User-Agent": {fit.UserAgent()}}, key); err != nil {
			return err
		}
	}
	return nil
}
