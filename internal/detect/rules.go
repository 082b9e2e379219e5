package detect

// DefaultRules returns every detection rule sfmcwatch ships, for the engine
// and the audit. Each area adds its rules here, one line each.
func DefaultRules() []Rule {
	return []Rule{
		// Tenant health and the monitor's own API calls.
		TenantBlind{}, TenantBlocked{}, TenantBudget{}, APIErrors{}, APIErrorsIntegration{}, ENSSilentRule{},
		// Automations and imports.
		AutomationErrorRule{}, AutomationStalledRule{}, AutomationMissedRunRule{}, AutomationPausedRule{}, AutomationPartialRule{},
		ImportFailedRule{}, ImportPartialRule{},
		// Journeys, triggered sends and transactional messaging.
		JourneyStoppedRule{}, JourneyEnrollmentDropRule{}, JourneySplitSkewRule{},
		TriggeredSendInactiveRule{}, TriggeredSendErrorsRule{}, TriggeredSendBacklogRule{}, SilentFailureRule{},
		// Data extensions.
		DERowDrop{}, DEEmpty{}, DESchemaDrift{}, DEStale{},
		// Automation steps (queries, files) and output assertions.
		QueryFailedRule{}, QueryTimeoutRule{}, FileMissingRule{}, FileUnexpectedRule{}, AutomationNoOutputRule{},
		// Send health (send jobs and triggered sends).
		SendVolumeDropRule{}, SendBounceSpikeRule{}, SendComplaintSpikeRule{}, SendSilentFailureRule{},
		// Data retention.
		DERetentionRisk{},
		// Security (the audit trail).
		SecurityNewIntegrationRule{}, SecurityScopeChangeRule{}, SecurityRoleChangeRule{}, SecurityLoginFailuresRule{}, SecurityIPBlockedRule{},
		// Several integrations behind one client id (proxy events).
		CredentialsContention{},
	}
}
