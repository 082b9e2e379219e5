package audit

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Coverage-gap rule ids: what a careful operator flags when taking over a
// tenant. They are audit-only (the monitor's detection rules are listed in
// DESIGN.md) and score like any other finding of their area.
const (
	RuleNoErrorNotification = "automation.no_error_notification"
	RuleJourneyEntryNoSLA   = "journey.entry_without_sla"
	RuleTriggeredNotActive  = "triggered_send.not_active"
	RuleMissingScope        = "access.missing_scope"
)

// Coverage summarises what the coverage checks looked at.
type Coverage struct {
	// Automations whose error-notification settings were read (the legacy
	// notifications endpoint costs one call each, so it is budgeted) and
	// how many of them have no error address.
	AutomationsChecked      int `json:"automations_checked"`
	AutomationsTotal        int `json:"automations_total"`
	AutomationsWithoutAlert int `json:"automations_without_error_notification"`
	// AutomationsUnchecked counts, per cause, the automations whose
	// notification settings could not be read: not_found, scope, auth,
	// unreachable… (the endpoint failed), budget (the audit's cap or the
	// daily API budget), no_legacy_id (SFMC gave no id to read them by).
	AutomationsUnchecked map[string]int `json:"automations_unchecked_by_cause,omitempty"`
	// CriticalJourneys is how many journeys the config marks critical;
	// CriticalJourneysNoSLA how many of those are fed by a data extension
	// with no declared freshness SLA.
	CriticalJourneys      int `json:"critical_journeys"`
	CriticalJourneysNoSLA int `json:"critical_journeys_without_sla"`
	// TriggeredSendsNotActive counts triggered sends in a status other than
	// Active (deleted and canceled ones excluded).
	TriggeredSendsNotActive int `json:"triggered_sends_not_active"`
	// GrantedScopes are the token's scopes; MissingScopes the read scopes
	// the enabled monitors need but the package lacks.
	GrantedScopes []string `json:"granted_scopes,omitempty"`
	MissingScopes []string `json:"missing_scopes,omitempty"`
	// DailyAPIBudget is the tenant's budget (0: unlimited) and BudgetShare
	// the share of it this audit spent.
	DailyAPIBudget int64   `json:"daily_api_budget"`
	BudgetShare    float64 `json:"budget_share"`
	// Notes are observations that are not findings.
	Notes []string `json:"notes,omitempty"`
}

// notificationBudget is how many automations' notification settings an
// audit reads: all of them on an unlimited budget, else 5 % of the daily
// budget, at least 10.
func notificationBudget(tc *config.Tenant) int {
	if tc.DailyAPIBudget <= 0 {
		return 100000
	}
	return max(10, int(tc.DailyAPIBudget/20))
}

// scopeNeeds maps each monitor to the read scope it needs.
var scopeNeeds = []struct {
	monitor, scope, reads string
}{
	{config.Automations, sfmc.ScopeAutomations, "automations (runs, errors, notifications)"},
	{config.Imports, sfmc.ScopeAutomations, "import activities"},
	{config.Journeys, sfmc.ScopeJourneys, "journeys"},
	{config.TriggeredSends, sfmc.ScopeEmail, "triggered sends"},
	{config.Transactional, sfmc.ScopeEmail, "transactional sends"},
	{config.DataExtensions, sfmc.ScopeDataExtensions, "data extensions (row counts, schemas)"},
	{config.Audit, sfmc.ScopeAuditTrail, "the audit trail (who changed what)"},
}

// coverageGaps returns the coverage-gap findings for one tenant from what
// the audit read (snaps per type) and the findings the rules produced.
func coverageGaps(ctx context.Context, tc *config.Tenant, cl *sfmc.Client, snaps map[resource.Type][]store.Snapshot, ruled []detect.Finding, cov *Coverage, nr notificationRead) []detect.Finding {
	var out []detect.Finding
	ignored := func(t resource.Type, key string) bool { return tc.Object(string(t), key).Ignore }
	has := func(rule, key string) bool {
		return slices.ContainsFunc(ruled, func(f detect.Finding) bool { return f.Rule == rule && f.ResourceKey == key })
	}

	// Automations with no error-notification address.
	cov.AutomationsTotal = len(snaps[resource.Automation])
	for _, s := range snaps[resource.Automation] {
		var st resource.AutomationState
		if resource.Decode(s, &st) != nil || st.ErrorNotifications == nil {
			continue
		}
		cov.AutomationsChecked++
		if len(st.ErrorNotifications) > 0 || ignored(resource.Automation, s.ResourceKey) {
			continue
		}
		cov.AutomationsWithoutAlert++
		name := cmp.Or(st.Name, s.ResourceKey)
		sev := catalog.Info
		if tc.IsCritical(string(resource.Automation), s.ResourceKey) {
			sev = catalog.Warning
		}
		out = append(out, detect.Finding{Rule: RuleNoErrorNotification, Severity: sev, Tenant: tc.Name,
			ResourceType: resource.Automation, ResourceKey: s.ResourceKey, ResourceName: st.Name,
			Title:  fmt.Sprintf("Automation '%s' has no error-notification address", name),
			Detail: "SFMC's own 'Run Errors' e-mail goes to nobody: without a monitor a failed run is noticed only when someone opens Automation Studio or a customer complains.",
			Owner:  catalog.MarketingOps,
			Remediation: []string{
				fmt.Sprintf("In Automation Studio open '%s', choose Notifications and add a team mailbox (a distribution list, not a person) under Run Errors.", name),
				"Route that mailbox to the on-call team, or rely on sfmcwatch's automation.error alerts and record that decision.",
			}})
	}
	if cov.AutomationsChecked < cov.AutomationsTotal {
		cov.Notes = append(cov.Notes, notificationNote(tc, snaps[resource.Automation], cov, nr))
	}

	// Critical journeys fed by a data extension with no freshness SLA.
	var journeys int
	for _, s := range snaps[resource.Journey] {
		var st resource.JourneyState
		if resource.Decode(s, &st) != nil {
			continue
		}
		journeys++
		if !tc.IsCritical(string(resource.Journey), s.ResourceKey) || ignored(resource.Journey, s.ResourceKey) {
			continue
		}
		cov.CriticalJourneys++
		if st.EntryDataExtension == "" && cl != nil {
			st.EntryDataExtension = entryDataExtension(ctx, cl, s.ResourceKey, snaps[resource.DataExtension])
		}
		if st.EntryDataExtension == "" {
			continue
		}
		o := tc.Object(string(resource.DataExtension), st.EntryDataExtension)
		if o.Freshness.WarnAfter > 0 || o.Freshness.ErrorAfter > 0 {
			continue
		}
		cov.CriticalJourneysNoSLA++
		name := cmp.Or(st.Name, s.ResourceKey)
		out = append(out, detect.Finding{Rule: RuleJourneyEntryNoSLA, Severity: catalog.Warning, Tenant: tc.Name,
			ResourceType: resource.Journey, ResourceKey: s.ResourceKey, ResourceName: st.Name,
			Title: fmt.Sprintf("Critical journey '%s' is fed by data extension %s, which has no freshness SLA", name, st.EntryDataExtension),
			Detail: "When the entry data stops being refreshed the journey keeps running and simply admits nobody: SFMC shows no error. " +
				"Without a declared SLA sfmcwatch must first learn the refresh cadence (7 loads) before data_extension.stale can fire.",
			Owner: catalog.DataEngineering,
			Remediation: []string{
				fmt.Sprintf("Declare the SLA in the config: tenants[].objects: \"data_extension:%s\": {freshness: {warn_after: …, error_after: …}} (e.g. 26h/30h for a daily load).", st.EntryDataExtension),
				fmt.Sprintf("Mark data_extension:%s critical too, so its first failure pages.", st.EntryDataExtension),
			}})
	}
	if journeys > 0 && cov.CriticalJourneys == 0 {
		cov.Notes = append(cov.Notes, "No journey is marked critical (monitors.journeys.critical): entry-data SLAs were not checked and no journey pages on its first problem.")
	}

	// Triggered sends not Active.
	for _, s := range snaps[resource.TriggeredSend] {
		switch s.Status {
		case resource.StatusActive, resource.StatusDeleted, resource.StatusCanceled:
			continue
		}
		cov.TriggeredSendsNotActive++
		if ignored(resource.TriggeredSend, s.ResourceKey) || has("triggered_send.inactive", s.ResourceKey) {
			continue
		}
		var st resource.TriggeredSendState
		_ = resource.Decode(s, &st)
		name := cmp.Or(st.Name, s.ResourceKey)
		sev := catalog.Warning
		if tc.IsCritical(string(resource.TriggeredSend), s.ResourceKey) {
			sev = catalog.Error
		}
		detail := fmt.Sprintf("Its status is %s. API calls to a triggered send that is not Active are accepted and queued, and nothing is sent until it is started again.", s.Status)
		if !st.ModifiedAt.IsZero() {
			detail += fmt.Sprintf(" Last modified %s.", st.ModifiedAt.UTC().Format("2006-01-02"))
		}
		out = append(out, detect.Finding{Rule: RuleTriggeredNotActive, Severity: sev, Tenant: tc.Name,
			ResourceType: resource.TriggeredSend, ResourceKey: s.ResourceKey, ResourceName: st.Name,
			Title:  fmt.Sprintf("Triggered send '%s' is not Active (%s)", name, s.Status),
			Detail: detail, Owner: catalog.MarketingOps,
			Remediation: []string{
				fmt.Sprintf("If an integration still calls it, start '%s' in Email Studio > Interactions > Triggered Emails (queued messages are sent then).", name),
				fmt.Sprintf("If it is retired, delete it, or ignore it in the config (objects: \"triggered_send:%s\": {ignore: true}).", s.ResourceKey),
			}})
	}

	// Read scopes the enabled monitors need.
	if cl != nil {
		granted, err := cl.GrantedScopes(ctx)
		if err != nil {
			cause, _ := causeOf(err)
			cov.Notes = append(cov.Notes, fmt.Sprintf("Read scopes were not checked: the token request failed (%s).", cause.Describe()))
		} else {
			cov.GrantedScopes = granted
			missing := map[string][]string{}
			var order []string
			for _, n := range scopeNeeds {
				if m := tc.Monitors.Get(n.monitor); m == nil || !m.Enabled || slices.Contains(granted, n.scope) {
					continue
				}
				if _, ok := missing[n.scope]; !ok {
					order = append(order, n.scope)
				}
				missing[n.scope] = append(missing[n.scope], n.reads)
			}
			for _, sc := range order {
				cov.MissingScopes = append(cov.MissingScopes, sc)
				out = append(out, detect.Finding{Rule: RuleMissingScope, Severity: catalog.Error, Tenant: tc.Name,
					ResourceType: resource.Tenant, ResourceKey: sc, ResourceName: sc, Family: catalog.Auth,
					Title:  fmt.Sprintf("The installed package lacks the %s scope", sc),
					Detail: fmt.Sprintf("The token response does not grant %s, so sfmcwatch cannot read %s: that area is unmonitored (its calls fail with 403).", sc, strings.Join(missing[sc], ", ")),
					Owner:  catalog.MarketingOps,
					Remediation: []string{
						"In Setup > Apps > Installed Packages open the package sfmcwatch uses, edit its API Integration component and tick the Read permission of that area.",
						"New tokens carry the scope within about 5 minutes; run the audit again to confirm.",
					}})
			}
		}
	}
	return out
}

// entryDataExtension finds the external key of the data extension feeding a
// journey: the journey's entry sources (its definition, one call) and the
// first data-extension entry source (one call each), matched to the data
// extensions the audit read by id or name. "" when unknown.
func entryDataExtension(ctx context.Context, cl *sfmc.Client, journeyKey string, des []store.Snapshot) string {
	j, err := cl.Journey(ctx, journeyKey)
	if err != nil {
		return ""
	}
	for _, k := range j.EventDefinitionKeys {
		ed, err := cl.EventDefinition(ctx, k)
		if err != nil || (ed.DataExtensionID == "" && ed.DataExtensionName == "") {
			continue
		}
		for _, s := range des {
			var st resource.DataExtensionState
			if resource.Decode(s, &st) != nil {
				continue
			}
			if (ed.DataExtensionID != "" && strings.EqualFold(st.ID, ed.DataExtensionID)) ||
				(ed.DataExtensionName != "" && st.Name == ed.DataExtensionName) {
				return s.ResourceKey
			}
		}
		if ed.DataExtensionName != "" {
			return ed.DataExtensionName
		}
	}
	return ""
}

// notificationsEndpoint is the metered name of the legacy notification
// read (sfmc.Client.AutomationNotifications), one call per automation.
const notificationsEndpoint = "GET /legacy/v1/beta/automations/notifications/{id}"

// notificationRead is what the automation read went through: the calls
// that failed (per endpoint and cause) and those the daily budget refused.
type notificationRead struct {
	read     bool
	failures []EndpointFailure
	refused  int
}

// notificationNote explains why some automations' notification settings
// were not read, with the real cause of each shortfall: the endpoint's
// answer (404, 403, 401, unreachable…), the audit's own cap (5 % of the
// daily budget), the daily budget refusing calls, or no legacy id.
func notificationNote(tc *config.Tenant, autos []store.Snapshot, cov *Coverage, nr notificationRead) string {
	var noLegacy, todo int
	for _, s := range autos {
		var st resource.AutomationState
		if resource.Decode(s, &st) != nil {
			continue
		}
		switch {
		case st.LegacyID == "" && st.ErrorNotifications == nil:
			noLegacy++
		case st.LegacyID != "":
			todo++ // read, or meant to be read
		}
	}
	limit := notificationBudget(tc)
	attempted := min(limit, todo)
	capped := todo - attempted
	failed := 0
	var parts []string
	by := map[string]int{}
	for _, f := range failuresOf(nr.failures, notificationsEndpoint) {
		failed += f.Requests
		by[string(f.Cause)] += f.Requests
		parts = append(parts, fmt.Sprintf("%d not read: %s", f.Requests, f))
	}
	if refused := max(0, attempted-cov.AutomationsChecked-failed); refused > 0 {
		why := "the calls were not made"
		if nr.refused > 0 {
			why = "the daily API budget refused the calls"
		}
		by[string(CauseBudget)] += refused
		parts = append(parts, fmt.Sprintf("%d not read: %s", refused, why))
	}
	if capped > 0 {
		by[string(CauseBudget)] += capped
		parts = append(parts, fmt.Sprintf("%d not read: the audit reads at most %d (one call each, 5%% of the daily API budget of %d); raise daily_api_budget to check all", capped, limit, tc.DailyAPIBudget))
	}
	if noLegacy > 0 {
		by["no_legacy_id"] += noLegacy
		parts = append(parts, fmt.Sprintf("%d not read: SFMC returned no legacy id to read their settings by", noLegacy))
	}
	if len(by) > 0 {
		cov.AutomationsUnchecked = by
	}
	note := fmt.Sprintf("Error-notification settings were read for %d of %d automations", cov.AutomationsChecked, cov.AutomationsTotal)
	if len(parts) == 0 {
		return note + "."
	}
	return note + ": " + strings.Join(parts, "; ") + "."
}
