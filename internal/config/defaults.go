package config

import (
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// Default returns the configuration used for every key the file leaves out.
// Rule defaults follow research/detection.md (§2 failure patterns, §3
// detection methods).
func Default() *Config {
	return &Config{
		Storage: Storage{
			Driver: "sqlite",
			Path:   "sfmcwatch.db",
			Retention: Retention{
				Events:    Duration(30 * day),
				Snapshots: Duration(90 * day),
				Incidents: Duration(365 * day),
				// 48 h: the rules read recent history at full resolution
				// over at most a day (tenant.api_budget from the start of
				// the UTC day); older baselines (send volume and row counts
				// by hour of week, journey entry rates over 28 days) read
				// history by the hour, which downsampling keeps.
				FullResolution: Duration(2 * day),
				MaxSize:        Size(10 << 30),
			},
		},
		Server:    Server{Listen: "127.0.0.1:8080"},
		Logging:   Logging{Level: "info", Format: "text"},
		Monitors:  DefaultMonitors(),
		Rules:     DefaultRules(),
		Incidents: Incidents{ResolveAfter: Duration(DefaultResolveAfter), ClearEvaluations: DefaultClearEvaluations, PromoteAfter: Duration(DefaultPromoteAfter)},
		Ingest:    Ingest{MaxBodySize: 10 << 20},
		Digest:    DefaultDigest(),
		Proxy:     DefaultProxy(),
		Alerting:  DefaultAlerting(),
		Trust:     DefaultTrust(),
	}
}

// DefaultMonitors polls automations every 5 minutes (their list is the
// cheapest and most telling read: one call for 200 automations), journeys,
// triggered sends, transactional sends and imports every 10 minutes, data
// extensions and send jobs every 15 (the Tier-A freshness cadence; send
// counters settle over hours), so a default-size business unit costs
// under about 2,000 calls a day (see check-config). The audit trail is
// off (it needs the tracking_events_read scope, which a read-only package
// may lack) and hourly when on: 2 feed calls a poll, about 48 calls a day.
func DefaultMonitors() Monitors {
	m := Monitor{Enabled: true, Interval: Duration(5 * time.Minute)}
	ten := m
	ten.Interval = Duration(10 * time.Minute)
	de, audit, sends := m, m, m
	sends.Interval = Duration(15 * time.Minute)
	de.Interval = Duration(15 * time.Minute)
	audit.Enabled, audit.Interval = false, Duration(time.Hour)
	return Monitors{
		Automations: m, Journeys: ten, TriggeredSends: ten, Transactional: ten,
		DataExtensions: de, Imports: ten, Audit: audit, Sends: sends,
	}
}

func defaultTenant(monitors Monitors) Tenant {
	return Tenant{Edition: "enterprise", Timezone: "UTC", Monitors: cloneMonitors(monitors)}
}

func cloneMonitors(m Monitors) Monitors {
	m.Each(func(_ string, mon *Monitor) {
		if mon.Critical != nil {
			c := make([]string, len(mon.Critical))
			copy(c, mon.Critical)
			mon.Critical = c
		}
	})
	return m
}

func defaultIngestSource() IngestSource { return IngestSource{Format: "auto"} }

// DefaultRules returns every rule enabled with the defaults of
// research/detection.md.
func DefaultRules() Rules {
	on := func(s catalog.Severity) RuleBase { return RuleBase{Enabled: true, Severity: s} }
	return Rules{
		APIErrors: APIErrorsRule{
			RuleBase: on(catalog.Warning), Window: Duration(15 * time.Minute), Consecutive: 5,
			ErrorRatio: 0.05, MinCalls: 20, EscalateAfter: Duration(30 * time.Minute),
		},
		AutomationError: AutomationErrorRule{
			RuleBase: on(catalog.Error), Consecutive: 2, Ratio: 0.5, LastRuns: 6,
			CriticalFirstError: true, EscalateConsecutive: 5, InfrequentInterval: Duration(4 * time.Hour),
		},
		AutomationStalled: AutomationStalledRule{
			RuleBase: on(catalog.Warning), P95Factor: 1.5, HistoryRuns: 20,
			Floor: Duration(20 * time.Minute), ErrorAfter: Duration(25 * time.Minute),
		},
		AutomationMissedRun: AutomationMissedRunRule{
			RuleBase: on(catalog.Error), Grace: Duration(5 * time.Minute), GraceRatio: 0.1,
			LearnRuns: 10, FileDropFactor: 1.5,
		},
		AutomationPaused: AutomationPausedRule{
			RuleBase: on(catalog.Warning), ConfirmPolls: 1, DeactivatedSeverity: catalog.Critical,
		},
		AutomationPartial: AutomationPartialRule{
			RuleBase: on(catalog.Warning), OutputRatio: 0.5, MinSamples: 4, ZeroOutputSeverity: catalog.Error,
		},
		QueryFailed:        ActivityFailedRule{RuleBase: on(catalog.Error), Consecutive: 2, CriticalFirstError: true},
		QueryTimeout:       QueryTimeoutRule{RuleBase: on(catalog.Warning), Limit: Duration(30 * time.Minute), WarnRatio: 0.8, KilledSeverity: catalog.Error},
		FileMissing:        ActivityFailedRule{RuleBase: on(catalog.Error), Consecutive: 2, CriticalFirstError: true},
		FileUnexpected:     ActivityFailedRule{RuleBase: on(catalog.Warning), Consecutive: 2, CriticalFirstError: true},
		AutomationNoOutput: NoOutputRule{RuleBase: on(catalog.Error), LearnRuns: 5},
		JourneyStopped: JourneyStoppedRule{
			RuleBase: on(catalog.Warning), KeepFiringFor: Duration(15 * time.Minute), PauseWarning: Duration(day),
		},
		JourneyEnrollmentDrop: JourneyEnrollmentRule{
			RuleBase: on(catalog.Error), MinBaselinePerHour: 5, SilenceMin: Duration(30 * time.Minute),
			SilenceFactor: 3, DropRatio: 0.2, Window: Duration(6 * time.Hour), TrainingWindow: Duration(28 * day),
		},
		TriggeredSendInactive: ConfirmRule{RuleBase: on(catalog.Error), ConfirmPolls: 1},
		TriggeredSendErrors: TriggeredSendErrorsRule{
			RuleBase: on(catalog.Warning), Ratio: 0.02, Window: Duration(time.Hour),
		},
		TriggeredSendBacklog: WindowRule{RuleBase: on(catalog.Error), Window: Duration(15 * time.Minute)},
		TriggeredSendSilentFailure: SilentFailureRule{
			RuleBase: on(catalog.Error), SLO: 0.995, BurnRate: 14.4,
			LongWindow: Duration(time.Hour), ShortWindow: Duration(5 * time.Minute),
			AbsenceAfter: Duration(15 * time.Minute), MinBaselinePerHour: 10,
			XrefWindow: Duration(30 * time.Minute), XrefMinAccepted: 10, XrefNotSentRatio: 0.5,
		},
		DataExtensionRowDrop: RowDropRule{
			RuleBase: on(catalog.Error), WarnDrop: 0.3, ErrorDrop: 0.5, MinPreviousRows: 5,
		},
		DataExtensionEmpty:       EmptyRule{RuleBase: on(catalog.Error), MinPreviousRows: 1},
		DataExtensionSchemaDrift: on(catalog.Warning),
		DataExtensionStale: StaleRule{
			RuleBase: on(catalog.Error), WarnFactor: 1.5, ErrorFactor: 2,
			WarnFloor: Duration(15 * time.Minute), ErrorFloor: Duration(30 * time.Minute),
			LearnIntervals: 20, MinLearnIntervals: 7,
		},
		ImportFailed:  on(catalog.Error),
		ImportPartial: ImportPartialRule{RuleBase: on(catalog.Error), WarnRatio: 0.01, ErrorRatio: 0.05},
		TenantBlind: TenantBlindRule{
			RuleBase: on(catalog.Critical), TokenFailures: 2, TokenRetry: Duration(time.Minute),
			API401Count: 3, API401Window: Duration(5 * time.Minute),
			SecretWarnAge: Duration(166 * day), SecretErrorAge: Duration(177 * day),
		},
		TenantBlocked: TenantBlockedRule{RuleBase: on(catalog.Critical), CircuitOpen: Duration(15 * time.Minute)},
		TenantBudget:  TenantBudgetRule{RuleBase: on(catalog.Warning), Threshold: 0.8},
		ENSSilent: ENSSilentRule{RuleBase: on(catalog.Warning), Window: Duration(time.Hour),
			Grace: Duration(10 * time.Minute), MinMissed: 2},
		// Send health.
		JourneySplitSkew: JourneySplitSkewRule{RuleBase: on(catalog.Warning), Window: Duration(6 * time.Hour), Baseline: Duration(7 * day),
			MinContacts: 100, MinBaseline: 200, DropRatio: 0.8, MinShare: 0.1},
		SendVolumeDrop: SendVolumeDropRule{RuleBase: on(catalog.Error), DropRatio: 0.7, MinBaseline: 100, MinSamples: 2, BaselineWeeks: 4},
		SendBounceSpike: SendRateRule{RuleBase: on(catalog.Warning), Ratio: 0.05, BaselineFactor: 2, MinSent: 200,
			Window: Duration(6 * time.Hour)},
		SendComplaintSpike: SendRateRule{RuleBase: on(catalog.Warning), Ratio: 0.005, BaselineFactor: 3, MinSent: 500,
			Window: Duration(6 * time.Hour)},
		SendSilentFailure: SendSilentFailureRule{RuleBase: on(catalog.Error), Window: Duration(30 * time.Minute),
			Grace: Duration(5 * time.Minute), MinNotSent: 5, NotSentRatio: 0.1, MinEntryEvents: 20, NotEnteredRatio: 0.5},
		DataExtensionRetention: RetentionRiskRule{RuleBase: on(catalog.Warning), Horizon: Duration(14 * day), MinPeriod: Duration(7 * day)},
		SecurityNewIntegration: SecurityChangeRule{RuleBase: on(catalog.Warning), Hold: Duration(day)},
		SecurityScopeChange:    SecurityChangeRule{RuleBase: on(catalog.Warning), Hold: Duration(day)},
		SecurityRoleChange:     SecurityChangeRule{RuleBase: on(catalog.Warning), Hold: Duration(day)},
		SecurityLoginFailures: SecurityBurstRule{RuleBase: on(catalog.Warning), Threshold: 5,
			Window: Duration(time.Hour), Hold: Duration(day)},
		SecurityIPBlocked: SecurityBurstRule{RuleBase: on(catalog.Warning), Threshold: 3,
			Window: Duration(time.Hour), Hold: Duration(day)},
		CredentialsContention: ContentionRule{RuleBase: on(catalog.Warning), Window: Duration(time.Hour),
			MaxTokenRequests: 9, MinIntegrations: 2},
	}
}
