package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/audit"
	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/health"
)

// sampleAudit is a fixed audit exercising every section: findings in
// several areas (more than collapseAfter in one), coverage gaps, a missing
// scope, unreadable types and hostile strings.
func sampleAudit() *audit.Report {
	fs := []audit.Finding{
		{Rule: "access.missing_scope", Severity: catalog.Error, ResourceType: "tenant", ResourceKey: "journeys_read", Family: catalog.Auth,
			Title: "The installed package lacks the journeys_read scope", Detail: "sfmcwatch cannot read journeys.", Owner: catalog.MarketingOps,
			Remediation: []string{"Tick Journeys Read in the package."}, Area: health.Access, Gap: true},
		{Rule: "automation.paused", Severity: catalog.Warning, ResourceType: "automation", ResourceKey: "HOURLY_EXPORT", ResourceName: "Hourly <Export> & Co",
			Title: "Automation 'Hourly <Export> & Co' is paused", Detail: "No scheduled run will start.", Owner: catalog.MarketingOps,
			Remediation: []string{"Ask who paused it.", "Resume it."}, Area: health.Automations},
		{Rule: "triggered_send.not_active", Severity: catalog.Warning, ResourceType: "triggered_send", ResourceKey: "TS_Reset",
			Title: "Triggered send 'TS_Reset' is not Active (inactive)", Detail: "Calls queue.", Owner: catalog.MarketingOps,
			Remediation: []string{"Start it."}, Area: health.Sends, Gap: true},
	}
	for i := range 10 {
		k := string(rune('A' + i))
		fs = append(fs, audit.Finding{Rule: "automation.no_error_notification", Severity: catalog.Info, ResourceType: "automation", ResourceKey: "AUTO_" + k,
			Title: "Automation 'AUTO_" + k + "' has no error-notification address", Detail: "Nobody gets SFMC's e-mail.", Owner: catalog.MarketingOps,
			Remediation: []string{"Add a team mailbox."}, Area: health.Automations, Gap: true})
	}
	var ps []health.Problem
	for _, f := range fs {
		ps = append(ps, health.Problem{Rule: f.Rule, Severity: f.Severity})
	}
	sc := health.Compute(ps)
	return &audit.Report{GeneratedAt: time.Date(2026, 11, 2, 7, 30, 0, 0, time.UTC), Tenants: []audit.Tenant{{
		Name: "prod-de", APICalls: 96, APICallsByEndpoint: map[string]int{"POST /v2/token": 1, "GET /automation/v1/automations": 1, "GET /legacy/v1/beta/automations/notifications/{id}": 40, "GET /data/v1/customobjectdata/key/{key}/rowset": 54},
		Score: sc.Value, Grade: sc.Grade, Deductions: sc.Deductions, Scored: true,
		ScoreNote: "The score covers only what could be read: automation, triggered_send, data_extension; not read: journey (scope or permission denied (403)).",
		Checks: []audit.Check{
			{Monitor: "automation", Status: audit.CheckPartial, Objects: 40, Failures: []audit.EndpointFailure{
				{Endpoint: "GET /legacy/v1/beta/automations/notifications/{id}", Cause: audit.CauseNotFound, HTTPStatus: 404, Requests: 3}}},
			{Monitor: "journey", Status: audit.CheckNotRead, Cause: audit.CauseScope, Endpoint: "GET /interaction/v1/interactions",
				Detail: "403 insufficient privileges"},
			{Monitor: "triggered_send", Status: audit.CheckRead, Objects: 12},
			{Monitor: "transactional", Status: audit.CheckDisabled},
			{Monitor: "data_extension", Status: audit.CheckRead, Objects: 120},
		},
		Objects:  map[string]int{"automation": 40, "triggered_send": 12, "data_extension": 120},
		Findings: fs,
		Coverage: audit.Coverage{AutomationsChecked: 40, AutomationsTotal: 40, AutomationsWithoutAlert: 10, CriticalJourneys: 0,
			TriggeredSendsNotActive: 1, GrantedScopes: []string{"automations_read"}, MissingScopes: []string{"journeys_read"},
			DailyAPIBudget: 822, BudgetShare: 96.0 / 822, Notes: []string{"No journey is marked critical (monitors.journeys.critical)."}},
		Errors:   []string{"journey: 403 insufficient privileges"},
		Duration: 2345 * time.Millisecond,
	}}}
}

func TestAuditGolden(t *testing.T) {
	r := sampleAudit()
	for _, c := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"audit.txt", func(b *bytes.Buffer) error { return WriteAuditText(b, r) }},
		{"audit.md", func(b *bytes.Buffer) error { return WriteAuditMarkdown(b, r) }},
		{"audit.html", func(b *bytes.Buffer) error { return WriteAuditHTML(b, r) }},
	} {
		var b bytes.Buffer
		if err := c.write(&b); err != nil {
			t.Fatal(err)
		}
		golden(t, c.name, b.Bytes())
	}
}

func TestAuditHTMLStructure(t *testing.T) {
	var b bytes.Buffer
	if err := WriteAuditHTML(&b, sampleAudit()); err != nil {
		t.Fatal(err)
	}
	h := b.String()
	for _, want := range []string{
		`aria-label="Health score 79 of 100 (fair)"`, // gauge
		`class="deductions"`,                         // deduction bars
		"Hourly &lt;Export&gt; &amp; Co",             // escaped
		"coverage gap",
		"<details><summary>3 more</summary>", // 11 automation findings, 8 shown
		"Journeys — <span class=\"area-ok\">no findings</span>",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "<link", "src=\"http", "href=\"http", "url(", "@import"} {
		if strings.Contains(h, bad) {
			t.Errorf("HTML is not self-contained: contains %q", bad)
		}
	}
}

// TestAuditUnscored: a tenant nothing could be read from shows no score
// (no "fair 75"), says why, and names what was not checked.
func TestAuditUnscored(t *testing.T) {
	r := &audit.Report{GeneratedAt: time.Date(2026, 11, 2, 7, 30, 0, 0, time.UTC), Tenants: []audit.Tenant{{
		Name: "dark", Score: 0, Grade: audit.GradeUnknown, Scored: false,
		ScoreNote: "Not scored: nothing could be read — automation (host unreachable).",
		Checks: []audit.Check{{Monitor: "automation", Status: audit.CheckNotRead, Cause: audit.CauseUnreachable, Endpoint: "POST /v2/token",
			Detail: "connection refused"}},
		Findings: []audit.Finding{{Rule: "tenant.blind", Severity: catalog.Critical, ResourceType: "tenant", ResourceKey: "dark",
			Title: "sfmcwatch cannot reach the tenant", Owner: catalog.Infrastructure, Area: health.Access, Remediation: []string{"Check the network."}}},
	}}}
	for name, write := range map[string]func(*bytes.Buffer) error{
		"text":     func(b *bytes.Buffer) error { return WriteAuditText(b, r) },
		"markdown": func(b *bytes.Buffer) error { return WriteAuditMarkdown(b, r) },
		"html":     func(b *bytes.Buffer) error { return WriteAuditHTML(b, r) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, want := range []string{"not scored", "host unreachable", "POST /v2/token"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q:\n%s", name, want, out)
			}
		}
		for _, bad := range []string{"0/100", "75/100", "health 75", "(fair)"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}
