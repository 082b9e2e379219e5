package store

import (
	"errors"
	"testing"
	"time"
)

// testIncidentCorrelation: cause links, the cause name and its title, the
// children filter, and rule updates keeping the correlation.
func testIncidentCorrelation(t *testing.T, h harness) {
	s := openT(t, h.fresh(t))
	ctx := t.Context()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	cause, _, err := s.OpenOrUpdateIncident(ctx, IncidentUpsert{Fingerprint: "tenant.blind|a", Rule: "tenant.blind", Tenant: "a", Severity: "critical", Title: "blind", Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if cause.CausedBy != 0 || cause.Cause != "" {
		t.Fatalf("new incident correlated: %+v", cause)
	}
	var kids []Incident
	for _, fp := range []string{"api.errors|a|/x", "api.errors|a|/y"} {
		k, _, err := s.OpenOrUpdateIncident(ctx, IncidentUpsert{Fingerprint: fp, Rule: "api.errors", Tenant: "a", Severity: "warning", Title: fp, Now: t0})
		if err != nil {
			t.Fatal(err)
		}
		k, err = s.CorrelateIncident(ctx, k.ID, Correlation{CausedBy: cause.ID})
		if err != nil || k.CausedBy != cause.ID || k.Title != fp {
			t.Fatalf("link child = %+v, %v", k, err)
		}
		kids = append(kids, k)
	}
	c, err := s.CorrelateIncident(ctx, cause.ID, Correlation{Cause: "credentials.monitor", Title: "sfmcwatch's credentials for a are rejected"})
	if err != nil || c.Cause != "credentials.monitor" || c.Title != "sfmcwatch's credentials for a are rejected" {
		t.Fatalf("mark cause = %+v, %v", c, err)
	}
	// A rule update sets the rule's title and keeps the correlation.
	c, _, err = s.OpenOrUpdateIncident(ctx, IncidentUpsert{Fingerprint: "tenant.blind|a", Rule: "tenant.blind", Tenant: "a", Severity: "critical", Title: "blind again", Now: t0.Add(time.Minute)})
	if err != nil || c.Title != "blind again" || c.Cause != "credentials.monitor" {
		t.Fatalf("update of a cause = %+v, %v", c, err)
	}
	got, err := s.ListIncidents(ctx, IncidentFilter{CausedBy: cause.ID})
	if err != nil || len(got) != 2 {
		t.Fatalf("children = %+v, %v", got, err)
	}
	g, err := s.GetIncident(ctx, kids[0].ID)
	if err != nil || g.CausedBy != cause.ID {
		t.Fatalf("GetIncident child = %+v, %v", g, err)
	}
	// Promotion: the link is cleared, the title stays.
	p, err := s.CorrelateIncident(ctx, kids[1].ID, Correlation{})
	if err != nil || p.CausedBy != 0 || p.Title != kids[1].Title {
		t.Fatalf("promote = %+v, %v", p, err)
	}
	// No longer a cause.
	if _, err := s.CorrelateIncident(ctx, cause.ID, Correlation{}); err != nil {
		t.Fatal(err)
	}
	c, _, err = s.OpenOrUpdateIncident(ctx, IncidentUpsert{Fingerprint: "tenant.blind|a", Rule: "tenant.blind", Tenant: "a", Severity: "critical", Title: "blind", Now: t0.Add(2 * time.Minute)})
	if err != nil || c.Title != "blind" || c.Cause != "" {
		t.Fatalf("update after uncause = %+v, %v", c, err)
	}
	if _, err := s.CorrelateIncident(ctx, 99999, Correlation{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("correlate missing = %v", err)
	}
}
