package correlate_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/correlate"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

const tenant = "bu"

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "c.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// api is an api.errors finding as detect.APIErrors makes it.
func api(integration, endpoint, family, code string) detect.Finding {
	return detect.Finding{Rule: "api.errors", Severity: catalog.Warning, Family: catalog.Family(family), ResourceType: resource.Tenant,
		ResourceKey: endpoint, Discriminator: integration + "|" + family + "|" + code,
		Title: integration + " calls to " + endpoint + " fail persistently: " + code}
}

func obj(rule string, typ resource.Type, key, title string) detect.Finding {
	return detect.Finding{Rule: rule, Severity: catalog.Error, Family: catalog.Family("client"), ResourceType: typ, ResourceKey: key, Title: title}
}

// env drives incident.Manager and the step on the bubble's clock, as the
// engine does: Apply the findings of the rules that ran, then correlate.
type env struct {
	t    *testing.T
	st   store.Store
	mgr  *incident.Manager
	step *correlate.Step
}

func newEnv(t *testing.T, st store.Store) *env {
	return &env{t: t, st: st, mgr: incident.New(st, incident.Options{Damping: incident.Damping{ClearEvaluations: 1, ClearFor: time.Minute}}),
		step: correlate.New(st, nil)}
}

// eval applies one evaluation: results per rule id (every rule listed ran).
func (e *env) eval(typ resource.Type, results map[string][]detect.Finding) incident.Changes {
	e.t.Helper()
	ctx := context.Background()
	ch, err := e.mgr.Apply(ctx, time.Now(), tenant, typ, results)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.step.Apply(ctx, tenant, &ch); err != nil {
		e.t.Fatal(err)
	}
	return ch
}

func (e *env) byRuleKey(rule, key string) store.Incident {
	e.t.Helper()
	l, err := e.st.ListIncidents(context.Background(), store.IncidentFilter{Tenant: tenant, Rule: rule, ResourceKey: key})
	if err != nil || len(l) == 0 {
		e.t.Fatalf("no %s incident on %s: %v", rule, key, err)
	}
	return l[0]
}

func (e *env) topLevelOpen() []store.Incident {
	e.t.Helper()
	l, err := e.st.ListIncidents(context.Background(), store.IncidentFilter{Tenant: tenant, Status: store.IncidentOpen})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []store.Incident
	for _, in := range l {
		if in.CausedBy == 0 {
			out = append(out, in)
		}
	}
	return out
}

// TestThrottlingTimeline: a throttling episode across endpoints and
// integrations becomes one cause; an endpoint that keeps failing after
// the cause resolved is promoted.
func TestThrottlingTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Opened and closed in the bubble: database/sql's goroutines end
		// with it.
		st := openStore(t)
		defer st.Close()
		e := newEnv(t, st)
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": nil})
		time.Sleep(5 * time.Minute)
		throttled := []detect.Finding{
			api("sfmcwatch", "/interaction/v1/interactions", "rate_limit", "rest:50100"),
			api("sfmcwatch", "/automation/v1/imports", "rate_limit", "rest:50100"),
			api("sfmcwatch", "/Service.asmx Retrieve DataExtension", "rate_limit", "soap:17"),
			api("order-loader", "/data/v1/customobjectdata/key/{key}/rowset", "rate_limit", "rest:50100"),
		}
		ch := e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": throttled})
		if len(ch.Opened) != 4 {
			t.Fatalf("opened %d", len(ch.Opened))
		}
		top := e.topLevelOpen()
		if len(top) != 1 || top[0].Cause != correlate.CauseThrottling {
			t.Fatalf("top-level after throttling = %+v", top)
		}
		cause := top[0]
		if len([]rune(cause.Title)) >= 120 || cause.Title == "" {
			t.Fatalf("cause title %q", cause.Title)
		}
		t.Logf("cause title: %s", cause.Title)
		// The changes handed on carry the correlation.
		linked := 0
		for _, in := range ch.Opened {
			if in.CausedBy == cause.ID {
				linked++
			}
		}
		if linked != 3 {
			t.Fatalf("changes carry %d linked children, want 3: %+v", linked, ch.Opened)
		}
		kids, err := st.ListIncidents(context.Background(), store.IncidentFilter{CausedBy: cause.ID})
		if err != nil || len(kids) != 3 {
			t.Fatalf("children = %d, %v", len(kids), err)
		}
		// 20 minutes on, only one endpoint still throttled; the others and
		// the cause (the first endpoint) clear.
		time.Sleep(20 * time.Minute)
		var still detect.Finding
		for _, f := range throttled {
			if f.ResourceKey != cause.ResourceKey {
				still = f
				break
			}
		}
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": {still}})
		time.Sleep(2 * time.Minute)
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": {still}})
		if c, _ := st.GetIncident(context.Background(), cause.ID); c.Status != store.IncidentResolved {
			t.Fatalf("cause still %s", c.Status)
		}
		left := e.byRuleKey("api.errors", still.ResourceKey)
		if left.Status != store.IncidentOpen || left.CausedBy != 0 {
			t.Fatalf("child left open = %+v, want promoted (caused_by cleared)", left)
		}
	})
}

// TestCredentialsRotationTimeline: an integration's token failures, then
// another integration's and sfmcwatch's own (tenant.blind) with the same
// code: one cause, kept by the first incident (sticky), naming them all.
func TestCredentialsRotationTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Opened and closed in the bubble: database/sql's goroutines end
		// with it.
		st := openStore(t)
		defer st.Close()
		e := newEnv(t, st)
		crm := api("crm-sync", "/v2/token", "auth", "oauth:invalid_client")
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": {crm}})
		first := e.byRuleKey("api.errors", "/v2/token")
		if first.CausedBy != 0 || first.Cause != "" {
			t.Fatalf("a lone incident is correlated: %+v", first)
		}
		time.Sleep(12 * time.Minute)
		loader := api("order-loader", "/v2/token", "auth", "oauth:invalid_client")
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": {crm, loader}})
		c, _ := st.GetIncident(context.Background(), first.ID)
		if c.Cause != correlate.CauseSharedCredentials {
			t.Fatalf("after a second integration: cause %q", c.Cause)
		}
		time.Sleep(time.Minute)
		blind := detect.Finding{Rule: "tenant.blind", Severity: catalog.Critical, Family: "auth", ResourceType: resource.Tenant, ResourceKey: tenant,
			Title: `sfmcwatch cannot get an access token for tenant "bu"`}
		mon := api("sfmcwatch", "/v2/token", "auth", "oauth:invalid_client")
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": {crm, loader, mon}, "tenant.blind": {blind}})
		top := e.topLevelOpen()
		if len(top) != 1 || top[0].ID != first.ID || top[0].Cause != correlate.CauseMonitorCredentials {
			t.Fatalf("top-level = %+v", top)
		}
		t.Logf("cause title: %s", top[0].Title)
		for _, want := range []string{"sfmcwatch", "crm-sync", "order-loader", "oauth:invalid_client"} {
			if !contains(top[0].Title, want) {
				t.Errorf("cause title %q does not name %s", top[0].Title, want)
			}
		}
		if b := e.byRuleKey("tenant.blind", tenant); b.CausedBy != first.ID {
			t.Errorf("tenant.blind caused_by = %d", b.CausedBy)
		}
		// The others recover first: the cause stays the cause, its title
		// still names every client it explained.
		for range 2 {
			time.Sleep(2 * time.Minute)
			e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": {crm}, "tenant.blind": nil})
		}
		c, _ = st.GetIncident(context.Background(), first.ID)
		if c.Status != store.IncidentOpen || c.Cause != correlate.CauseMonitorCredentials || !contains(c.Title, "order-loader") {
			t.Errorf("lone cause = %+v", c)
		}
		if b := e.byRuleKey("tenant.blind", tenant); b.Status != store.IncidentResolved || b.CausedBy != first.ID {
			t.Errorf("resolved child keeps its link: %+v", b)
		}
	})
}

// TestOutageAndBlockedTimeline: 5xx across endpoints and integrations is
// one outage; a tenant block then takes every api.errors incident.
func TestOutageAndBlockedTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Opened and closed in the bubble: database/sql's goroutines end
		// with it.
		st := openStore(t)
		defer st.Close()
		e := newEnv(t, st)
		out := []detect.Finding{
			api("sfmcwatch", "/interaction/v1/interactions", "server", "rest:50300"),
			api("sfmcwatch", "/Service.asmx Retrieve DataExtension", "server", "soap:2"),
			api("crm-sync", "/data/v1/customobjectdata/key/{key}/rowset", "timeout", "http:504"),
		}
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": out})
		top := e.topLevelOpen()
		if len(top) != 1 || top[0].Cause != correlate.CauseOutage {
			t.Fatalf("outage top-level = %+v", top)
		}
		time.Sleep(5 * time.Minute)
		blocked := detect.Finding{Rule: "tenant.blocked", Severity: catalog.Critical, Family: "rate_limit", ResourceType: resource.Tenant, ResourceKey: tenant,
			Title: "SFMC blocked tenant bu (50200)"}
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": out, "tenant.blocked": {blocked}})
		top = e.topLevelOpen()
		// The outage's cause stays a cause (sticky) unless the block takes
		// it: the block is the stronger explanation and claims everything.
		if len(top) != 1 || top[0].Rule != "tenant.blocked" || top[0].Cause != correlate.CauseTenantBlocked {
			t.Fatalf("blocked top-level = %+v", top)
		}
	})
}

// TestIntegrationFoldAndCredentials: one integration's auth failures
// across endpoints fold under its token incident; its client errors across
// endpoints fold into one incident listing them.
func TestIntegrationFoldAndCredentials(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Opened and closed in the bubble: database/sql's goroutines end
		// with it.
		st := openStore(t)
		defer st.Close()
		e := newEnv(t, st)
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": {
			api("reporting", "/messaging/v1/email/messages", "auth", "rest:401"),
			api("reporting", "/v2/token", "auth", "oauth:invalid_client"),
			api("web-app", "/messaging/v1/messageDefinitionSends/key:{key}/send", "client", "rest:10005"),
			api("web-app", "/hub/v1/dataevents/key:{key}/rowset", "client", "rest:10005"),
			api("crm-sync", "/data/v1/customobjectdata/key/{key}/rowset", "client", "rest:10005"),
		}})
		top := e.topLevelOpen()
		causes := map[string]store.Incident{}
		for _, in := range top {
			causes[in.Cause] = in
		}
		if len(top) != 3 {
			t.Fatalf("top-level = %+v", top)
		}
		if c := causes[correlate.CauseIntegrationCredentials]; c.ResourceKey != "/v2/token" {
			t.Errorf("integration credentials cause = %+v", c)
		}
		if c := causes[correlate.CauseIntegrationFailing]; !contains(c.Title, "web-app") || !contains(c.Title, "2 endpoints") {
			t.Errorf("fold cause = %+v", c)
		}
		if c := causes[""]; !contains(c.Fingerprint, "crm-sync") {
			t.Errorf("crm-sync alone is top-level without a cause: %+v", c)
		}
	})
}

func snap(t *testing.T, st store.Store, typ resource.Type, key string, payload any) {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertSnapshots(context.Background(), []store.Snapshot{{ResourceRef: store.ResourceRef{Tenant: tenant, ResourceType: string(typ), ResourceKey: key},
		ObservedAt: time.Now(), Status: "x", Payload: b}}); err != nil {
		t.Fatal(err)
	}
}

// TestAutomationDownstreamTimeline: an automation errors; afterwards the
// data extension it writes goes empty and the journey entered from it
// stops enrolling: both become children of the automation. A data
// extension that was already failing before the automation did is not.
func TestAutomationDownstreamTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Opened and closed in the bubble: database/sql's goroutines end
		// with it.
		st := openStore(t)
		defer st.Close()
		e := newEnv(t, st)
		snap(t, st, resource.Automation, "Hourly_ERP_Export", resource.AutomationState{Name: "Hourly ERP Export", TargetDataExtensions: []string{"DE_ERP", "DE_Old"}})
		snap(t, st, resource.Journey, "j-erp", resource.JourneyState{Name: "ERP Welcome", EntryDataExtension: "DE_ERP"})
		old := obj("data_extension.stale", resource.DataExtension, "DE_Old", "Data extension 'DE_Old' is stale")
		e.eval(resource.DataExtension, map[string][]detect.Finding{"data_extension.stale": {old}, "data_extension.empty": nil})
		time.Sleep(10 * time.Minute)
		autoErr := obj("automation.error", resource.Automation, "Hourly_ERP_Export", "Critical automation 'Hourly ERP Export' errored")
		autoErr.FailureStartedAt = time.Now().Add(-2 * time.Minute)
		e.eval(resource.Automation, map[string][]detect.Finding{"automation.error": {autoErr}})
		time.Sleep(time.Hour)
		empty := obj("data_extension.empty", resource.DataExtension, "DE_ERP", "Data extension 'DE_ERP' is empty")
		e.eval(resource.DataExtension, map[string][]detect.Finding{"data_extension.stale": {old}, "data_extension.empty": {empty}})
		drop := obj("journey.enrollment_drop", resource.Journey, "j-erp", "Journey 'ERP Welcome' received no entries for 40m")
		e.eval(resource.Journey, map[string][]detect.Finding{"journey.enrollment_drop": {drop}})
		cause := e.byRuleKey("automation.error", "Hourly_ERP_Export")
		if cause.Cause != correlate.CauseAutomationDownstream || cause.Title != autoErr.Title {
			t.Fatalf("cause = %+v", cause)
		}
		if in := e.byRuleKey("data_extension.empty", "DE_ERP"); in.CausedBy != cause.ID {
			t.Errorf("DE empty caused_by = %d", in.CausedBy)
		}
		if in := e.byRuleKey("journey.enrollment_drop", "j-erp"); in.CausedBy != cause.ID {
			t.Errorf("enrollment drop caused_by = %d", in.CausedBy)
		}
		if in := e.byRuleKey("data_extension.stale", "DE_Old"); in.CausedBy != 0 {
			t.Errorf("a DE failing before the automation is its child: %+v", in)
		}
		// The automation recovers; the DE stays empty: promoted.
		time.Sleep(5 * time.Minute)
		e.eval(resource.Automation, map[string][]detect.Finding{"automation.error": nil})
		time.Sleep(2 * time.Minute)
		e.eval(resource.Automation, map[string][]detect.Finding{"automation.error": nil})
		if in := e.byRuleKey("data_extension.empty", "DE_ERP"); in.Status != store.IncidentOpen || in.CausedBy != 0 {
			t.Errorf("after the cause resolved, DE empty = %+v", in)
		}
	})
}

// TestObjectStateTimeline: an inactive triggered send explains its silent
// failure; a stopped journey its enrollment drop.
func TestObjectStateTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Opened and closed in the bubble: database/sql's goroutines end
		// with it.
		st := openStore(t)
		defer st.Close()
		e := newEnv(t, st)
		e.eval(resource.TriggeredSend, map[string][]detect.Finding{"triggered_send.inactive": {obj("triggered_send.inactive", resource.TriggeredSend, "TS_Reset", "Triggered send 'TS_Reset' is inactive")}})
		time.Sleep(5 * time.Minute)
		e.eval(resource.TriggeredSend, map[string][]detect.Finding{
			"triggered_send.inactive":       {obj("triggered_send.inactive", resource.TriggeredSend, "TS_Reset", "Triggered send 'TS_Reset' is inactive")},
			"triggered_send.silent_failure": {obj("triggered_send.silent_failure", resource.TriggeredSend, "TS_Reset", "Triggered send 'TS_Reset': 11 sends accepted, 3 sent")},
		})
		cause := e.byRuleKey("triggered_send.inactive", "TS_Reset")
		if in := e.byRuleKey("triggered_send.silent_failure", "TS_Reset"); in.CausedBy != cause.ID || cause.Cause != correlate.CauseObjectState {
			t.Fatalf("silent failure = %+v, cause %+v", in, cause)
		}
	})
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestOutageTrustNote: with Trust set, an open SFMC outage cause says what
// Salesforce Trust reports on the tenant's instance; without a report (or
// when Trust is not configured or unreachable: "") the title is unchanged.
func TestOutageTrustNote(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		defer st.Close()
		e := newEnv(t, st)
		note := ""
		asked := 0
		e.step.SetTrust(func(_ context.Context, tn string) string {
			if tn != tenant {
				t.Errorf("asked about %q", tn)
			}
			asked++
			return note
		})
		out := []detect.Finding{
			api("sfmcwatch", "/interaction/v1/interactions", "server", "rest:50300"),
			api("crm-sync", "/data/v1/customobjectdata/key/{key}/rowset", "timeout", "http:504"),
		}
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": out})
		top := e.topLevelOpen()
		if len(top) != 1 || top[0].Cause != correlate.CauseOutage || strings.Contains(top[0].Title, "Trust") || asked == 0 {
			t.Fatalf("outage without a Trust report: %+v (asked %d)", top, asked)
		}
		note = "SFMC reports an incident on your instance S7 (Salesforce Trust)"
		time.Sleep(time.Minute)
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": out})
		top = e.topLevelOpen()
		if len(top) != 1 || !strings.HasSuffix(top[0].Title, " — "+note) || !strings.HasPrefix(top[0].Title, "SFMC outage or maintenance on") {
			t.Fatalf("outage title %q", top[0].Title)
		}
		// A throttling cause is not an outage: Trust is not asked.
		asked = 0
		time.Sleep(time.Minute)
		e2 := newEnv(t, st)
		e2.step.SetTrust(func(context.Context, string) string { asked++; return note })
		e2.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": {
			api("sfmcwatch", "/interaction/v1/interactions", "rate_limit", "rest:50100"),
			api("crm-sync", "/data/v1/customobjectdata/key/{key}/rowset", "rate_limit", "rest:50100"),
		}})
		if asked != 0 {
			t.Errorf("Trust asked %d times for a throttling episode", asked)
		}
	})
}

// TestOutageExplainsTheMonitorsFailingTokens: during an SFMC outage the
// monitor's own token requests fail with 5xx too (tenant.blind, family
// server). That is the outage, not rejected credentials: one outage cause,
// with the blindness under it, and no "credentials" cause.
func TestOutageExplainsTheMonitorsFailingTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		defer st.Close()
		e := newEnv(t, st)
		blind := detect.Finding{Rule: "tenant.blind", Severity: catalog.Critical, Family: catalog.Server, ResourceType: resource.Tenant,
			ResourceKey: tenant, Discriminator: "token", Title: "sfmcwatch cannot get an access token for tenant bu"}
		out := []detect.Finding{
			api("crm-sync", "/interaction/v1/events", "server", "http:503"),
			api("orders", "/messaging/v1/messageDefinitionSends/key:{key}/send", "server", "http:503"),
		}
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": out, "tenant.blind": {blind}})
		top := e.topLevelOpen()
		if len(top) != 1 || top[0].Cause != correlate.CauseOutage {
			t.Fatalf("top-level = %+v", top)
		}
	})
}

// TestImportFeedTimeline: two imports reading one file transfer location
// (ImportDefinition.fileTransferLocationId in the REST import list, e.g.
// ../shared/fixtures/sfmc/import/rest-imports-list.json) start rejecting
// rows within minutes of each other: one cause, the second import and its
// destination's row drop its children. An import on another location, or
// on the same location but failing hours later, stays its own incident.
// When the feed's first import recovers and the second does not, the
// second is promoted with its downstream.
func TestImportFeedTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		defer st.Close()
		e := newEnv(t, st)
		snap(t, st, resource.Import, "Import_Orders_US", resource.ImportState{Name: "Import Orders US", DestinationKey: "DE_Orders_US", FileLocation: "loc-partner"})
		snap(t, st, resource.Import, "Import_Orders_UK", resource.ImportState{Name: "Import Orders UK", DestinationKey: "DE_Orders_UK", FileLocation: "loc-partner"})
		snap(t, st, resource.Import, "Import_Late", resource.ImportState{Name: "Import Late", FileLocation: "loc-partner"})
		snap(t, st, resource.Import, "Import_Crm", resource.ImportState{Name: "Import CRM", FileLocation: "loc-crm"})
		snap(t, st, resource.Import, "Import_Nowhere", resource.ImportState{Name: "Import Nowhere"})
		partial := func(key string) detect.Finding {
			return obj("import.partial", resource.Import, key, "Import '"+key+"' rejected 35% of its rows")
		}
		us, uk, crm, nowhere := partial("Import_Orders_US"), partial("Import_Orders_UK"), partial("Import_Crm"), partial("Import_Nowhere")
		e.eval(resource.Import, map[string][]detect.Finding{"import.partial": {us}})
		time.Sleep(10 * time.Minute)
		e.eval(resource.Import, map[string][]detect.Finding{"import.partial": {us, uk, crm, nowhere}})
		time.Sleep(5 * time.Minute)
		drop := obj("data_extension.row_drop", resource.DataExtension, "DE_Orders_UK", "Data extension 'DE_Orders_UK' lost 35% of its rows")
		e.eval(resource.DataExtension, map[string][]detect.Finding{"data_extension.row_drop": {drop}})

		cause := e.byRuleKey("import.partial", "Import_Orders_US")
		if cause.Cause != correlate.CauseImportFeed || cause.CausedBy != 0 {
			t.Fatalf("cause = %+v", cause)
		}
		if !contains(cause.Title, "2 imports") || !contains(cause.Title, "Import_Orders_UK") || len([]rune(cause.Title)) >= 120 {
			t.Errorf("title = %q", cause.Title)
		}
		if in := e.byRuleKey("import.partial", "Import_Orders_UK"); in.CausedBy != cause.ID {
			t.Errorf("second import caused_by = %d, want %d", in.CausedBy, cause.ID)
		}
		if in := e.byRuleKey("data_extension.row_drop", "DE_Orders_UK"); in.CausedBy != cause.ID {
			t.Errorf("its destination's row drop caused_by = %d, want %d (one level: the feed)", in.CausedBy, cause.ID)
		}
		for _, k := range []string{"Import_Crm", "Import_Nowhere"} {
			if in := e.byRuleKey("import.partial", k); in.CausedBy != 0 || in.Cause != "" {
				t.Errorf("%s (another location, or none) joined: %+v", k, in)
			}
		}

		// Three hours later another import of the location fails: a new
		// failure, not this feed's.
		time.Sleep(3 * time.Hour)
		e.eval(resource.Import, map[string][]detect.Finding{"import.partial": {us, uk, crm, nowhere, partial("Import_Late")}})
		if in := e.byRuleKey("import.partial", "Import_Late"); in.CausedBy != 0 {
			t.Errorf("an import failing 3 h later joined the feed: %+v", in)
		}

		// The US import recovers, the UK one does not: promoted, and its
		// row drop goes with it.
		e.eval(resource.Import, map[string][]detect.Finding{"import.partial": {uk, crm, nowhere, partial("Import_Late")}})
		time.Sleep(2 * time.Minute)
		e.eval(resource.Import, map[string][]detect.Finding{"import.partial": {uk, crm, nowhere, partial("Import_Late")}})
		if in := e.byRuleKey("import.partial", "Import_Orders_US"); in.Status != store.IncidentResolved {
			t.Fatalf("US import not resolved: %+v", in)
		}
		uk2 := e.byRuleKey("import.partial", "Import_Orders_UK")
		if uk2.Status != store.IncidentOpen || uk2.CausedBy != 0 {
			t.Errorf("after the cause resolved, UK import = %+v", uk2)
		}
		if in := e.byRuleKey("data_extension.row_drop", "DE_Orders_UK"); in.CausedBy != uk2.ID {
			t.Errorf("row drop caused_by = %d, want the promoted import %d", in.CausedBy, uk2.ID)
		}
	})
}
