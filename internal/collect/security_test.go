package collect_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/collect/collecttest"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"golang.org/x/time/rate"
)

// Classification of SFMC's documented audit-trail shapes.
//
// Audit events (GET /data/v1/audit/auditEvents): the documentation sample
// (../shared/fixtures/sfmc/audit/auditevents-doc.json, from
// developer.salesforce.com getAuditEvents) is objectType
// {73, "DataExtractActivity"} operation {8, "Start"}; the answer recorded
// in Salesforce's Postman collection ("Get Audit Events", qodex mirror)
// holds objectType {2101, "MemberEmployee"}, {2103, "Member"} and
// {2102, "SecuritySettings"}, each with operation {2, "Update"}. SFMC's
// Audit Trail help lists the audited Setup changes (users, user
// permissions, roles, security settings) and "Installed Package: Create,
// modify, delete, and license an installed package".
//
// Security events (GET /data/v1/audit/securityEvents): sample eventType
// {1, "Login Attempted"}, loginStatus {4, "Successful"}; the Audit Trail
// Access Log help: "Failed (LoginStatusID = 1): The login attempt failed",
// eventTypes 8 Logout, 10 Request Token.
func TestClassifyAuditTrail(t *testing.T) {
	for _, c := range []struct {
		objectType, op string
		kind, subject  string
	}{
		{"DataExtractActivity", "Start", "", ""},
		{"Automation", "Update", "", ""},
		{"MemberEmployee", "Update", resource.ChangeRole, resource.SecurityAccess},
		{"SecuritySettings", "Update", resource.ChangeRole, resource.SecurityAccess},
		{"Member", "Update", "", ""}, // the business unit's own settings: not access
		{"Role", "Create", resource.ChangeRole, resource.SecurityAccess},
		{"InstalledPackage", "Create", resource.ChangeNewIntegration, resource.SecurityIntegration},
		{"Installed Package", "License", resource.ChangeNewIntegration, resource.SecurityIntegration},
		{"InstalledPackage", "Update", resource.ChangeScope, resource.SecurityIntegration},
		{"ApiIntegration", "Modify", resource.ChangeScope, resource.SecurityIntegration},
		{"InstalledPackage", "Delete", "", ""},
	} {
		kind, subject := collect.ClassifyAuditEvent(c.objectType, c.op)
		if kind != c.kind || subject != c.subject {
			t.Errorf("%s %s: (%q, %q), want (%q, %q)", c.objectType, c.op, kind, subject, c.kind, c.subject)
		}
	}
	for _, c := range []struct{ eventType, status, want string }{
		{"Login Attempted", "Successful", ""},
		{"Login Attempted", "Failed", resource.ChangeLoginFailed},
		{"Request Token", "Failed", resource.ChangeLoginFailed},
		{"Logout", "Successful", ""},
		{"Password Changed", "Successful", ""},
		{"Login Attempted", "Invalid IP", resource.ChangeIPBlocked},
		{"Login Attempted", "IP Address Restricted", resource.ChangeIPBlocked},
		{"Login Attempted", "Blocked: not on allowlist", resource.ChangeIPBlocked},
		{"Login Attempted", "Skipped", ""}, // "skipped" holds "ip" but not as a word
	} {
		if got := collect.ClassifySecurityEvent(c.eventType, c.status); got != c.want {
			t.Errorf("%s / %s: %q, want %q", c.eventType, c.status, got, c.want)
		}
	}
}

func securityRules() []detect.Rule {
	return []detect.Rule{detect.SecurityNewIntegrationRule{}, detect.SecurityScopeChangeRule{}, detect.SecurityRoleChangeRule{},
		detect.SecurityLoginFailuresRule{}, detect.SecurityIPBlockedRule{}}
}

func findingKeys(res map[string][]detect.Finding, rule string) []string {
	var out []string
	for _, f := range res[rule] {
		out = append(out, f.ResourceKey)
	}
	return out
}

// The audit trail on the first look and after: what changed in the last
// day is reported on the first poll; the cursors make later polls read
// each entry once; a change clears after its hold; only ids and bounded
// labels are stored.
func TestSecurityTimeline(t *testing.T) {
	ctx := context.Background()
	e := collecttest.New(t, collecttest.Options{Seed: 3, Size: sim.Size{Automations: 4, Journeys: 2, DataExtensions: 4, TriggeredSends: 2, Transactional: 1, Imports: 1}})

	// A healthy tenant (its audit trail holds automation, journey and
	// data extension changes and the odd failed login): nothing fires.
	res := e.Poll(ctx, resource.Security, securityRules()...)
	for rule, fs := range res {
		if len(fs) > 0 {
			t.Fatalf("healthy tenant: %s fired: %+v", rule, fs)
		}
	}

	// Broken before sfmcwatch looked: a package created 3 hours ago and a
	// burst of failed logins 5 hours ago.
	e2 := collecttest.New(t, collecttest.Options{Seed: 3, Size: sim.Size{Automations: 4, Journeys: 2, DataExtensions: 4, TriggeredSends: 2, Transactional: 1, Imports: 1}})
	e2.Inject(sim.Fault{Kind: sim.FaultSecurityNewIntegration, Target: "Shadow Export", Start: e2.Now().Add(-3 * time.Hour)})
	e2.Inject(sim.Fault{Kind: sim.FaultSecurityLoginFailures, Target: "mallory@example.com", Start: e2.Now().Add(-5 * time.Hour), Duration: time.Hour})
	res = e2.Poll(ctx, resource.Security, securityRules()...)
	pkgKey := "integration:" + strings.ToLower(sim.SecurityObjectID("Shadow Export"))
	userKey := "logins:" + collect.SecurityActor(0, "mallory@example.com")
	if got := findingKeys(res, "security.new_integration"); len(got) != 1 || got[0] != pkgKey {
		t.Fatalf("first look: new_integration on %v, want %s", got, pkgKey)
	}
	if got := findingKeys(res, "security.login_failures"); len(got) != 1 || got[0] != userKey {
		t.Fatalf("first look: login_failures on %v, want %s", got, userKey)
	}
	f := res["security.new_integration"][0]
	if f.ResourceName != "Shadow Export" || f.FailureStartedAt.IsZero() || !f.FailureStartedAt.Before(e2.Now().Add(-2*time.Hour)) {
		t.Errorf("new_integration finding: %+v", f)
	}
	lf := res["security.login_failures"][0]
	if lf.Owner != "security" || !strings.Contains(lf.Title, "12 failed logins") {
		t.Errorf("login_failures finding: %+v", lf)
	}
	// No user name, address or IP is stored.
	snaps, err := e2.Store.LatestSnapshots(ctx, e2.Tenant.Name, string(resource.Security))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		p := string(s.Payload)
		for _, bad := range []string{"mallory", "example.com", "198.51.100.", "Mozilla", "@"} {
			if strings.Contains(p, bad) || strings.Contains(s.ResourceKey, bad) {
				t.Fatalf("snapshot %s stores %q: %s", s.ResourceKey, bad, p)
			}
		}
	}

	// Later polls: cursors stored, entries read once.
	for _, c := range []string{collect.AuditEventsCursor(e2.Tenant.Name), collect.SecurityEventsCursor(e2.Tenant.Name)} {
		if v, err := e2.Store.GetCursor(ctx, c); err != nil || v == "" {
			t.Fatalf("cursor %s = %q, %v", c, v, err)
		}
	}
	e2.Advance(time.Hour)
	out := e2.Collect(ctx, resource.Security)
	for _, s := range out.Snapshots {
		var st resource.SecurityState
		if err := resource.Decode(s, &st); err != nil {
			t.Fatal(err)
		}
		if s.ResourceKey == pkgKey && len(st.Changes) != 1 {
			t.Fatalf("package entry counted %d times: %+v", len(st.Changes), st.Changes)
		}
		if s.ResourceKey == userKey && len(st.Changes) != 12 {
			t.Fatalf("failed logins counted %d times, want 12", len(st.Changes))
		}
	}

	// A change while watching: detected on the next poll.
	e2.Inject(sim.Fault{Kind: sim.FaultSecurityRoleChange})
	e2.Inject(sim.Fault{Kind: sim.FaultSecurityIPBlocked, Target: "bob"})
	e2.Advance(time.Hour)
	res = e2.Poll(ctx, resource.Security, securityRules()...)
	if got := findingKeys(res, "security.role_change"); len(got) != 1 || !strings.HasPrefix(got[0], "access:securitysettings:") {
		t.Fatalf("role_change on %v", got)
	}
	if got := findingKeys(res, "security.ip_blocked"); len(got) != 1 || got[0] != "logins:"+collect.SecurityActor(0, "bob") {
		t.Fatalf("ip_blocked on %v", got)
	}

	// The hold (24 h) passes: the package and the login burst clear.
	e2.Advance(22 * time.Hour)
	res = e2.Poll(ctx, resource.Security, securityRules()...)
	if got := findingKeys(res, "security.new_integration"); len(got) != 0 {
		t.Fatalf("new_integration still firing after its hold: %v", got)
	}
	if got := findingKeys(res, "security.login_failures"); len(got) != 0 {
		t.Fatalf("login_failures still firing after its hold: %v", got)
	}
}

// A one-shot audit (no cursors) reads one page of the last day and judges
// it like serve's first cycle.
func TestSecurityAuditWithoutCursors(t *testing.T) {
	ctx := context.Background()
	e := collecttest.New(t, collecttest.Options{Seed: 5, Size: sim.Size{Automations: 2, Journeys: 1, DataExtensions: 2, TriggeredSends: 1, Transactional: 1, Imports: 1}})
	e.Inject(sim.Fault{Kind: sim.FaultSecurityScopeChange, Target: "Data Sync", Start: e.Now().Add(-2 * time.Hour)})
	out, err := collect.SecurityCollector{}.Collect(ctx, &collect.Input{Now: e.Now(), Tenant: e.Tenant, Client: e.Client})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Cursors) != 0 {
		t.Fatalf("audit advanced cursors: %+v", out.Cursors)
	}
	reg, _ := detect.NewRegistry(securityRules()...)
	res, err := reg.Evaluate(ctx, &detect.Input{Now: e.Now(), Tenant: e.Tenant, Rules: e.Rules, Type: resource.Security, Current: out.Snapshots})
	if err != nil {
		t.Fatal(err)
	}
	if got := findingKeys(res, "security.scope_change"); len(got) != 1 {
		t.Fatalf("audit: scope_change on %v", got)
	}
}

// FuzzSecurityClassify: any label pair classifies without panicking into
// the bounded sets.
func FuzzSecurityClassify(f *testing.F) {
	f.Add("InstalledPackage", "Create")
	f.Add("Login Attempted", "Invalid IP")
	f.Fuzz(func(t *testing.T, a, b string) {
		kind, subject := collect.ClassifyAuditEvent(a, b)
		switch kind {
		case "", resource.ChangeNewIntegration, resource.ChangeScope, resource.ChangeRole:
		default:
			t.Fatalf("kind %q", kind)
		}
		if (kind == "") != (subject == "") {
			t.Fatalf("kind %q subject %q", kind, subject)
		}
		switch k := collect.ClassifySecurityEvent(a, b); k {
		case "", resource.ChangeLoginFailed, resource.ChangeIPBlocked:
		default:
			t.Fatalf("security kind %q", k)
		}
		if r := collect.SecurityActor(0, a); r != "" && (len(r) != 12 || !strings.HasPrefix(r, "u-") || strings.Trim(r[2:], "0123456789abcdef") != "") {
			t.Fatalf("actor %q for %q: want u- and 10 hex digits", r, a)
		}
	})
}

// The audit trail is optional: with the daily budget at its optional
// share, the collector spends nothing and says why (the required polls
// keep the rest of the budget).
func TestSecurityDegradesFirstOnBudget(t *testing.T) {
	ctx := context.Background()
	e := collecttest.New(t, collecttest.Options{Seed: 5, Size: sim.Size{Automations: 2, Journeys: 1, DataExtensions: 2, TriggeredSends: 1, Transactional: 1, Imports: 1}})
	ep := e.Tenant.Endpoints()
	cl, err := sfmc.New(sfmc.Tenant{Name: e.Tenant.Name, AuthURL: ep.Auth, RestURL: ep.REST, SOAPURL: ep.SOAP, ClientID: e.Tenant.ClientID,
		ClientSecret: e.Tenant.ClientSecret.Reveal(), AccountID: e.Tenant.AccountID, DailyBudget: 10},
		sfmc.Options{Clock: e.Sim.Now, RateLimit: rate.Inf, OptionalShare: 0.5, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Five required calls (and the token) use the optional share (5 of 10).
	for range 5 {
		if _, err := cl.Journeys(ctx, sfmc.JourneyListOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = collect.SecurityCollector{}.Collect(ctx, &collect.Input{Now: e.Now(), Tenant: e.Tenant, Client: cl, Cursors: e.Store})
	if !sfmc.IsBudget(err) {
		t.Fatalf("audit trail read past the optional share: err = %v", err)
	}
	// Required reads still go through.
	if _, err := cl.Journeys(ctx, sfmc.JourneyListOptions{}); err != nil {
		t.Fatalf("required read refused: %v", err)
	}
}

// An entry SFMC publishes late (dated a few minutes before entries already
// read: the audit trail is not real time) is still read, once.
func TestSecurityLateEntry(t *testing.T) {
	ctx := context.Background()
	e := collecttest.New(t, collecttest.Options{Seed: 5, Size: sim.Size{Automations: 2, Journeys: 1, DataExtensions: 2, TriggeredSends: 1, Transactional: 1, Imports: 1}})
	e.Inject(sim.Fault{Kind: sim.FaultSecurityRoleChange, Start: e.Now().Add(-time.Minute)})
	e.Collect(ctx, resource.Security)
	cur, err := e.Store.GetCursor(ctx, collect.AuditEventsCursor(e.Tenant.Name))
	if err != nil {
		t.Fatal(err)
	}
	at, _, _ := strings.Cut(cur, "|")
	cursorAt, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		t.Fatalf("cursor %q: %v", cur, err)
	}
	// A package created 3 minutes before the newest entry read, published
	// only now.
	e.Inject(sim.Fault{Kind: sim.FaultSecurityNewIntegration, Target: "Late Package", Start: cursorAt.Add(-3 * time.Minute)})
	e.Advance(time.Minute)
	res := e.Poll(ctx, resource.Security, securityRules()...)
	if got := findingKeys(res, "security.new_integration"); len(got) != 1 {
		t.Fatalf("late entry not read: %v", got)
	}
	e.Advance(time.Minute)
	out := e.Collect(ctx, resource.Security)
	for _, s := range out.Snapshots {
		var st resource.SecurityState
		_ = resource.Decode(s, &st)
		if strings.HasPrefix(s.ResourceKey, "integration:") && len(st.Changes) != 1 {
			t.Fatalf("late entry counted %d times", len(st.Changes))
		}
	}
}
