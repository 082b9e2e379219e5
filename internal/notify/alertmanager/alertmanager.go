// Package alertmanager forwards incidents to a Prometheus Alertmanager
// (POST /api/v2/alerts), so teams that already route through Alertmanager
// keep one pipeline. Alertmanager does its own grouping; each incident is
// one alert with startsAt, and endsAt once resolved.
package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/fit"
)

// Config is the receiver's alertmanager block.
type Config = config.Alertmanager

// Notifier posts to one Alertmanager.
type Notifier struct {
	cfg    Config
	client *http.Client
	now    func() time.Time
}

var _ notify.Notifier = (*Notifier)(nil)

// New validates cfg and returns the notifier (now nil = time.Now).
func New(cfg Config, client *http.Client, now func() time.Time) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("alertmanager: %w", err)
	}
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout.Std()}
	}
	if now == nil {
		now = time.Now
	}
	return &Notifier{cfg: cfg, client: client, now: now}, nil
}

// PostableAlert is Alertmanager's API v2 alert.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Label values an alert always carries; Alertmanager drops a label with an
// empty value, so an unknown value is sent as None.
var promised = []string{"family", "owner", "tenant", "severity"}

// None is the value of a promised label the incident does not have: the
// catalog's family for "not an error" and, for owner, tenant and severity,
// "unknown to sfmcwatch".
const None = "none"

// Annotation caps: Alertmanager keeps every alert in memory and shows the
// summary in lists and notification titles.
const (
	maxSummary    = 1024
	maxAnnotation = 4096
)

// Labels are the alert's Alertmanager labels: alertname (the rule),
// source="sfmcwatch", family, owner, tenant and severity (always present,
// None when unknown), resource_type and resource_key when the incident
// has them, and incident_id.
func Labels(a notify.Alert) map[string]string {
	labels := map[string]string{"alertname": a.Rule, "source": "sfmcwatch"}
	for k, v := range a.Labels() {
		if v != "" && k != "rule" {
			labels[k] = v
		}
	}
	for _, k := range promised {
		if labels[k] == "" {
			labels[k] = None
		}
	}
	if labels["alertname"] == "" {
		labels["alertname"] = "sfmcwatch"
	}
	if a.IncidentID > 0 {
		labels["incident_id"] = strconv.FormatInt(a.IncidentID, 10)
	}
	return labels
}

// Alerts converts a message; firing alerts get endsAt = now + 1h so a
// silent sfmcwatch lets them expire rather than fire forever (reminders
// refresh them).
func Alerts(m *notify.Message, now time.Time) ([]PostableAlert, error) {
	if m.Kind == notify.KindReport {
		return nil, notify.Permanent("alertmanager", fmt.Errorf("alertmanager receives alerts, not reports (%q)", m.Title()))
	}
	out := make([]PostableAlert, 0, len(m.Alerts))
	for _, a := range m.Alerts {
		labels := Labels(a)
		ann := map[string]string{"summary": fit.Clip(a.Title, maxSummary), "description": fit.Clip(a.WhyItMatters, maxAnnotation),
			"evidence": fit.Clip(a.Evidence, maxAnnotation), "remediation": fit.Clip(strings.Join(a.Remediation, "\n"), maxAnnotation),
			"note": fit.Clip(a.Note, maxAnnotation), "detail": fit.Clip(a.Detail, maxAnnotation)}
		for k, v := range ann {
			if v == "" {
				delete(ann, k)
			}
		}
		pa := PostableAlert{Labels: labels, Annotations: ann, StartsAt: a.StartsAt.UTC(), GeneratorURL: a.Link}
		if a.Status == notify.StatusResolved {
			pa.EndsAt = a.EndsAt.UTC()
			if pa.EndsAt.IsZero() {
				pa.EndsAt = now.UTC()
			}
		} else {
			pa.EndsAt = now.Add(time.Hour).UTC()
		}
		if m.Kind == notify.KindTest {
			pa.EndsAt = now.Add(5 * time.Minute).UTC()
		}
		out = append(out, pa)
	}
	return out, nil
}

// Notify posts the alerts.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) error {
	alerts, err := Alerts(m, n.now())
	if err != nil {
		return err
	}
	if len(alerts) == 0 {
		return nil
	}
	body, err := json.Marshal(alerts)
	if err != nil {
		return notify.Permanent("alertmanager", err)
	}
	h := http.Header{"User-Agent": {fit.UserAgent()}}
	if n.cfg.BearerToken.IsSet() {
		h.Set("Authorization", "Bearer "+n.cfg.BearerToken.Reveal())
	}
	return notify.PostJSON(ctx, n.client, "alertmanager", strings.TrimRight(n.cfg.URL, "/")+"/api/v2/alerts", body, h, n.cfg.BearerToken.Reveal())
}
