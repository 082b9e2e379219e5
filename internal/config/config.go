package config

import (
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// Config is the whole sfmcwatch configuration. Field tags: `yaml` names the
// key, `doc` documents it (docs/CONFIG.md is generated from these tags), and
// `config` marks special strings: "url" (parsed as a URL, ${ENV} expanded)
// and "path" (resolved against the config file's directory).
type Config struct {
	Storage   Storage   `yaml:"storage" doc:"Where events, snapshots and incidents are kept."`
	Server    Server    `yaml:"server" doc:"HTTP server for the dashboard, JSON API, /metrics, ingest and ENS callbacks."`
	Logging   Logging   `yaml:"logging" doc:"Log output of the daemon."`
	Monitors  Monitors  `yaml:"monitors" doc:"Default monitors for every tenant; a tenant's own monitors block overrides these key by key."`
	Tenants   []Tenant  `yaml:"tenants" doc:"SFMC business units to watch, each with its own credentials and API budget."`
	Rules     Rules     `yaml:"rules" doc:"Detection rules, one block per rule id."`
	Incidents Incidents `yaml:"incidents" doc:"Incident lifecycle: flap damping before an incident resolves."`
	Ingest    Ingest    `yaml:"ingest" doc:"Log and event inputs pushed to sfmcwatch."`
	Proxy     Proxy     `yaml:"proxy" doc:"Recording proxy between the integrations and SFMC (sfmcwatch proxy, or inside serve)."`
	Alerting  Alerting  `yaml:"alerting" doc:"Notification routing, grouping, inhibition, maintenance windows and receivers (docs/ALERTING.md)."`
	Digest    Digest    `yaml:"digest" doc:"The weekly post-mortem digest: schedule, period and where it goes."`
	Trust     Trust     `yaml:"trust" doc:"Optional: Salesforce's public Trust status, attached to SFMC outage incidents (off by default)."`

	// File is the path the config was read from.
	File string `yaml:"-"`
	// Warnings are non-fatal problems found while loading.
	Warnings []Problem `yaml:"-"`
}

// Storage selects and tunes the store.
type Storage struct {
	Driver    string    `yaml:"driver" doc:"sqlite or postgres."`
	Path      string    `yaml:"path,omitempty" config:"path" doc:"SQLite database file (sqlite only), relative to the config file."`
	DSN       Secret    `yaml:"dsn,omitempty" doc:"PostgreSQL connection string (postgres only); secret, ${ENV} expanded, or dsn_file."`
	Retention Retention `yaml:"retention" doc:"How long stored data is kept."`
}

// Retention is how long each kind of stored data is kept.
type Retention struct {
	Events    Duration `yaml:"events" doc:"Raw events (API calls, log lines, ENS events)."`
	Snapshots Duration `yaml:"snapshots" doc:"Object snapshots (row counts, schemas, statuses, counters)."`
	Incidents Duration `yaml:"incidents" doc:"Resolved incidents."`
	// FullResolution and MaxSize bound the database (issue 18).
	FullResolution Duration `yaml:"full_resolution" doc:"Keep every snapshot, and every successful call the monitor makes to SFMC, this long (never less than an hour beyond what api.errors reads back); older snapshot history keeps one per object per hour (the last), which the baselines read, and those calls are counted in the daily API usage alone (failed calls keep their events). 0 keeps both for the whole retention."`
	MaxSize        Size     `yaml:"max_size" doc:"Bound on the database's used size: when over, the oldest day of events and snapshot history goes (repeatedly), never the full_resolution window (at least 48h). 0: no bound."`
}

// Server is the HTTP listener.
type Server struct {
	Listen      string `yaml:"listen" doc:"host:port to listen on."`
	ExternalURL string `yaml:"external_url,omitempty" config:"url" doc:"Public base URL used in notification links; ${ENV} expanded."`
	TLSCertFile string `yaml:"tls_cert_file,omitempty" config:"path" doc:"TLS certificate (PEM); set together with tls_key_file."`
	TLSKeyFile  string `yaml:"tls_key_file,omitempty" config:"path" doc:"TLS private key (PEM)."`
}

// Logging configures log/slog.
type Logging struct {
	Level  string `yaml:"level" doc:"debug, info, warn or error."`
	Format string `yaml:"format" doc:"text or json."`
}

// Resource types a tenant is monitored for; the singular forms prefix
// object keys in Tenant.Objects and rule ids.
const (
	Automations    = "automations"
	Journeys       = "journeys"
	TriggeredSends = "triggered_sends"
	Transactional  = "transactional"
	DataExtensions = "data_extensions"
	Imports        = "imports"
	Audit          = "audit"
	Sends          = "sends"
)

// Monitors holds one Monitor per SFMC resource type.
type Monitors struct {
	Automations    Monitor `yaml:"automations" doc:"Automation Studio automations (bulk list poll)."`
	Journeys       Monitor `yaml:"journeys" doc:"Journey Builder journeys (list with stats)."`
	TriggeredSends Monitor `yaml:"triggered_sends" doc:"Triggered send definitions and their summary counters (SOAP)."`
	Transactional  Monitor `yaml:"transactional" doc:"Transactional messaging send definitions."`
	DataExtensions Monitor `yaml:"data_extensions" doc:"Data extension row counts, freshness and schemas."`
	Imports        Monitor `yaml:"imports" doc:"Import activity results."`
	Audit          Monitor `yaml:"audit" doc:"SFMC Audit Trail (audit and security events: new installed packages, scope and role changes, failed logins, IP allowlist refusals) for the security.* rules; needs the tracking_events_read scope; off by default (about 2 calls an hour)."`
	Sends          Monitor `yaml:"sends" doc:"Email send jobs (SOAP Send) and their delivery counters, for send health."`
}

// Monitor is the polling setup for one resource type.
type Monitor struct {
	Enabled  bool     `yaml:"enabled" doc:"Poll this resource type."`
	Interval Duration `yaml:"interval" doc:"Poll interval (at least 30s)."`
	Critical []string `yaml:"critical" doc:"External keys of critical objects: first error alerts, pages instead of warns."`
}

// Each calls fn for every resource type with its monitor.
func (m *Monitors) Each(fn func(resource string, mon *Monitor)) {
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		fn(yamlName(v.Type().Field(i)), v.Field(i).Addr().Interface().(*Monitor))
	}
}

// Get returns the monitor of a resource type (plural: "automations") or nil.
func (m *Monitors) Get(resource string) *Monitor {
	var out *Monitor
	m.Each(func(r string, mon *Monitor) {
		if r == resource {
			out = mon
		}
	})
	return out
}

// Tenant is one SFMC business unit.
type Tenant struct {
	Name                string            `yaml:"name" doc:"Unique short name (letters, digits, - and _), used in URLs, metrics and alerts."`
	Subdomain           string            `yaml:"subdomain,omitempty" doc:"Tenant-specific subdomain; derives the auth, REST and SOAP URLs. Set it or all three URLs."`
	AuthURL             string            `yaml:"auth_url,omitempty" config:"url" doc:"OAuth base URL (https, or http on loopback); ${ENV} expanded."`
	RestURL             string            `yaml:"rest_url,omitempty" config:"url" doc:"REST base URL."`
	SoapURL             string            `yaml:"soap_url,omitempty" config:"url" doc:"SOAP base URL."`
	ClientID            string            `yaml:"client_id" doc:"Installed package client id."`
	ClientSecret        Secret            `yaml:"client_secret" doc:"Client secret; ${ENV} expanded, or client_secret_file."`
	ClientSecretRotated string            `yaml:"client_secret_rotated,omitempty" doc:"Date (YYYY-MM-DD) the secret was generated; tenant.blind warns before its 180-day expiry."`
	AccountID           string            `yaml:"account_id,omitempty" doc:"Business unit MID (numeric); empty uses the package's default BU."`
	Edition             string            `yaml:"edition" doc:"pro, corporate or enterprise: sets the default daily_api_budget (5% of the yearly entitlement / 365)."`
	DailyAPIBudget      int64             `yaml:"daily_api_budget" doc:"Most API calls a day sfmcwatch may spend on this tenant; 0 = unlimited. Default from edition: 274, 822 or 27400."`
	Timezone            string            `yaml:"timezone" doc:"IANA time zone for schedules, seasonality and the digest."`
	Monitors            Monitors          `yaml:"monitors" doc:"Per resource type polling; defaults come from the top-level monitors block."`
	Objects             map[string]Object `yaml:"objects,omitempty" doc:"Per-object overrides keyed by <type>:<external key>, e.g. data_extension:Orders_Daily."`
	TrustInstance       string            `yaml:"trust_instance,omitempty" doc:"The tenant's instance on Salesforce Trust (e.g. S7), read when trust.enabled."`

	loc *time.Location
}

// Location returns the tenant's time zone (UTC when the tenant did not come
// from Parse).
func (t *Tenant) Location() *time.Location {
	if t.loc == nil {
		return time.UTC
	}
	return t.loc
}

// Endpoints are a tenant's effective base URLs.
type Endpoints struct{ Auth, REST, SOAP string }

// Endpoints returns the base URLs, derived from Subdomain when it is set.
func (t *Tenant) Endpoints() Endpoints {
	if t.Subdomain != "" {
		return Endpoints{
			Auth: "https://" + t.Subdomain + ".auth.marketingcloudapis.com",
			REST: "https://" + t.Subdomain + ".rest.marketingcloudapis.com",
			SOAP: "https://" + t.Subdomain + ".soap.marketingcloudapis.com",
		}
	}
	return Endpoints{Auth: t.AuthURL, REST: t.RestURL, SOAP: t.SoapURL}
}

// IsCritical reports whether an object is critical: its override says so,
// or its key is in the monitor's critical list. objType is singular
// ("automation", "data_extension").
func (t *Tenant) IsCritical(objType, key string) bool {
	if o, ok := t.Objects[objType+":"+key]; ok && o.Critical != nil {
		return *o.Critical
	}
	if m := t.Monitors.Get(pluralOf(objType)); m != nil {
		return slices.Contains(m.Critical, key)
	}
	return false
}

// Object returns the override of one object (zero Object when none).
func (t *Tenant) Object(objType, key string) Object { return t.Objects[objType+":"+key] }

// ObjectTypes lists the singular resource types used in object keys.
func ObjectTypes() []string {
	return []string{"automation", "journey", "triggered_send", "transactional", "data_extension", "import", "send", "security"}
}

// pluralOf maps an object type to its monitor name ("" when unknown).
func pluralOf(objType string) string {
	switch objType {
	case "automation", "journey", "triggered_send", "data_extension", "import", "send":
		return objType + "s"
	case "transactional":
		return Transactional
	case "security":
		return Audit // subjects of the audit trail (security.* findings)
	}
	return ""
}

// Object overrides the rule defaults for one SFMC object. Zero values mean
// "use the rule default".
type Object struct {
	Ignore           bool      `yaml:"ignore,omitempty" doc:"Do not raise findings for this object."`
	Critical         *bool     `yaml:"critical,omitempty" doc:"Critical (true) or not (false), overriding the monitor's critical list."`
	ExpectedInterval Duration  `yaml:"expected_interval,omitempty" doc:"Declared schedule/refresh interval (otherwise learned from history)."`
	MaxRuntime       Duration  `yaml:"max_runtime,omitempty" doc:"automation: runtime that counts as stalled (otherwise 1.5 x p95)."`
	Freshness        Freshness `yaml:"freshness,omitempty" doc:"Staleness thresholds (data_extension.stale)."`
	RowDrop          RowDrop   `yaml:"row_drop,omitempty" doc:"data_extension: row count drop thresholds (data_extension.row_drop)."`
	MinRows          int64     `yaml:"min_rows,omitempty" doc:"data_extension: fewer rows than this after a load is an error."`
	// Output assertions (automation.no_output) and query limits.
	MinOutputRows  int64    `yaml:"min_output_rows,omitempty" doc:"automation, import: each completed run must write at least this many rows (automation: its target data extensions' rows after the run; import: rows imported); otherwise learned (never-zero history asserts at least 1)."`
	MinFileLines   int64    `yaml:"min_file_lines,omitempty" doc:"import: each completed run's file must have at least this many data lines (SFMC's TotalRows)."`
	QueryWarnAfter Duration `yaml:"query_warn_after,omitempty" doc:"automation: a query step running this long warns (query.timeout; default warn_ratio x limit)."`

	// SplitDropRatio overrides journey.split_skew's drop_ratio.
	SplitDropRatio Ratio `yaml:"split_drop_ratio,omitempty" doc:"journey: journey.split_skew drop_ratio for this journey's decision splits."`

	// Send health thresholds (send, triggered_send).
	Send SendOverride `yaml:"send,omitempty" doc:"send, triggered_send: send health thresholds (send.volume_drop, send.bounce_spike, send.complaint_spike)."`
}

// Freshness is a dbt-style freshness SLA.
type Freshness struct {
	WarnAfter  Duration `yaml:"warn_after,omitempty" doc:"Warn when the last load is older than this."`
	ErrorAfter Duration `yaml:"error_after,omitempty" doc:"Error when the last load is older than this."`
}

// RowDrop are row-count drop thresholds relative to the previous load.
type RowDrop struct {
	Warn  Ratio `yaml:"warn,omitempty" doc:"Drop that warns (e.g. 30%)."`
	Error Ratio `yaml:"error,omitempty" doc:"Drop that is an error (e.g. 50%)."`
}

// Ingest configures pushed inputs.
type Ingest struct {
	MaxBodySize Size           `yaml:"max_body_size" doc:"Largest accepted request body."`
	Sources     []IngestSource `yaml:"sources" doc:"Named inputs: http (log lines POSTed with a bearer token), file (tailed log file), ens (SFMC Event Notification Service callback)."`
}

// IngestSource is one pushed or tailed input.
type IngestSource struct {
	Name         string `yaml:"name" doc:"Unique name; becomes the integration name of its events unless the log line has one."`
	Type         string `yaml:"type" doc:"http, file or ens."`
	Tenant       string `yaml:"tenant,omitempty" doc:"Tenant the events belong to (required for ens)."`
	Token        Secret `yaml:"token,omitempty" doc:"http: bearer token; secret, ${ENV} expanded, or token_file."`
	TokenSHA256  string `yaml:"token_sha256,omitempty" doc:"http: hex SHA-256 of the bearer token, instead of token."`
	Path         string `yaml:"path,omitempty" config:"path" doc:"file: log file to tail."`
	Format       string `yaml:"format,omitempty" doc:"http: auto, jsonl or csv; file: auto or jsonl (a tailed file is read as JSON lines)."`
	SignatureKey Secret `yaml:"signature_key,omitempty" doc:"ens: HMAC key of the callback (x-sfmc-ens-signature); secret, or signature_key_file."`
}

// Rules holds one block per detection rule id (DESIGN.md).
type Rules struct {
	APIErrors                  APIErrorsRule           `yaml:"api.errors" doc:"The monitor's own API calls fail (429/5xx/timeouts)."`
	AutomationError            AutomationErrorRule     `yaml:"automation.error" doc:"Automation runs error."`
	AutomationStalled          AutomationStalledRule   `yaml:"automation.stalled" doc:"An automation runs far longer than usual (before the ~30 min query kill)."`
	AutomationMissedRun        AutomationMissedRunRule `yaml:"automation.missed_run" doc:"An expected run did not start."`
	AutomationPaused           AutomationPausedRule    `yaml:"automation.paused" doc:"An automation is paused, its trigger inactive, or it was deactivated."`
	AutomationPartial          AutomationPartialRule   `yaml:"automation.partial" doc:"A run completed but produced far less output than usual."`
	JourneyStopped             JourneyStoppedRule      `yaml:"journey.stopped" doc:"A journey was stopped, unpublished or paused."`
	JourneyEnrollmentDrop      JourneyEnrollmentRule   `yaml:"journey.enrollment_drop" doc:"A published journey stopped receiving entries."`
	JourneySplitSkew           JourneySplitSkewRule    `yaml:"journey.split_skew" doc:"A journey's decision split sends a far different share of contacts down a path than its baseline (e.g. everyone down the remainder path after a field changed); counts from the journey history."`
	TriggeredSendInactive      ConfirmRule             `yaml:"triggered_send.inactive" doc:"A triggered send is not Active (paused TSDs queue silently)."`
	TriggeredSendErrors        TriggeredSendErrorsRule `yaml:"triggered_send.errors" doc:"NotSentDueToError share of a triggered send is high."`
	TriggeredSendBacklog       WindowRule              `yaml:"triggered_send.backlog" doc:"Queued grows while Sent stays flat."`
	TriggeredSendSilentFailure SilentFailureRule       `yaml:"triggered_send.silent_failure" doc:"Sends are accepted (202) but not sent: NotSent burn rate or sent volume gone."`
	DataExtensionRowDrop       RowDropRule             `yaml:"data_extension.row_drop" doc:"Row count dropped sharply against the previous load."`
	DataExtensionEmpty         EmptyRule               `yaml:"data_extension.empty" doc:"A data extension that had rows is empty."`
	DataExtensionSchemaDrift   RuleBase                `yaml:"data_extension.schema_drift" doc:"Fields of a data extension were added, removed or retyped."`
	DataExtensionStale         StaleRule               `yaml:"data_extension.stale" doc:"A data extension was not refreshed in time (dbt-style freshness)."`
	ImportFailed               RuleBase                `yaml:"import.failed" doc:"An import errored or imported zero rows."`
	ImportPartial              ImportPartialRule       `yaml:"import.partial" doc:"An import rejected part of its rows."`
	TenantBlind                TenantBlindRule         `yaml:"tenant.blind" doc:"sfmcwatch cannot authenticate: token endpoint or API 401s; client secret near expiry."`
	TenantBlocked              TenantBlockedRule       `yaml:"tenant.blocked" doc:"SFMC blocks the tenant's requests (REST 50200)."`
	TenantBudget               TenantBudgetRule        `yaml:"tenant.budget" doc:"sfmcwatch's own calls approach the tenant's daily_api_budget."`
	QueryFailed                ActivityFailedRule      `yaml:"query.failed" doc:"A query activity failed with SFMC's error text (invalid column, syntax, primary-key violation)."`
	QueryTimeout               QueryTimeoutRule        `yaml:"query.timeout" doc:"A query activity was killed at SFMC's 30-minute limit, or ran close to it."`
	FileMissing                ActivityFailedRule      `yaml:"file.missing" doc:"An import or file transfer step found no file (not delivered, or no name matching its pattern)."`
	FileUnexpected             ActivityFailedRule      `yaml:"file.unexpected" doc:"An import or file transfer step got an unusable file: empty, older than allowed, wrong name or layout."`
	AutomationNoOutput         NoOutputRule            `yaml:"automation.no_output" doc:"A run completed but failed its output assertion (fewer rows written or file lines than asserted or learned)."`
	SendVolumeDrop             SendVolumeDropRule      `yaml:"send.volume_drop" doc:"A send job or triggered send sent far fewer messages than its own hour-of-week baseline."`
	SendBounceSpike            SendRateRule            `yaml:"send.bounce_spike" doc:"A send's bounce rate is over the threshold and a multiple of its baseline."`
	SendComplaintSpike         SendRateRule            `yaml:"send.complaint_spike" doc:"A send's unsubscribe rate (SFMC's read APIs expose no spam-complaint counter) is over the threshold and a multiple of its baseline."`
	SendSilentFailure          SendSilentFailureRule   `yaml:"send.silent_failure" doc:"Sends SFMC accepted (202) and did not carry out: transactional messages of an integration in the not-sent feed; journey entry events no journey admitted."`
	DataExtensionRetention     RetentionRiskRule       `yaml:"data_extension.retention_risk" doc:"Data retention can delete rows a journey entry source, an automation or an import relies on."`
	ENSSilent                  ENSSilentRule           `yaml:"ens.silent" doc:"ENS stopped reporting: polling sees automation runs finish or messages not sent that ENS, which reported them before, did not push (callback suspended, subscription lost)."`
	SecurityNewIntegration     SecurityChangeRule      `yaml:"security.new_integration" doc:"The audit trail shows an installed package (API integration) created or licensed (monitors.audit)."`
	SecurityScopeChange        SecurityChangeRule      `yaml:"security.scope_change" doc:"The audit trail shows an installed package or its API integration component modified: its scopes may have changed (monitors.audit)."`
	SecurityRoleChange         SecurityChangeRule      `yaml:"security.role_change" doc:"The audit trail shows roles, user permissions or security settings changed (monitors.audit)."`
	SecurityLoginFailures      SecurityBurstRule       `yaml:"security.login_failures" doc:"Repeated failed logins of one user in the audit trail's security events (monitors.audit)."`
	SecurityIPBlocked          SecurityBurstRule       `yaml:"security.ip_blocked" doc:"Logins refused by the IP allowlist in the audit trail's security events (monitors.audit)."`
	CredentialsContention      ContentionRule          `yaml:"credentials.contention" doc:"Several integrations or replicas share one installed package's client id: token requests per client id (recording proxy), token-endpoint throttling, tokens that stop working early."`
}

// RuleInfo names one rule and its common settings.
type RuleInfo struct {
	ID   string
	Base *RuleBase
}

// All lists every rule in id order of the Rules struct.
func (r *Rules) All() []RuleInfo {
	v := reflect.ValueOf(r).Elem()
	out := make([]RuleInfo, 0, v.NumField())
	for i := range v.NumField() {
		f := v.Field(i)
		var base *RuleBase
		if b, ok := f.Addr().Interface().(*RuleBase); ok {
			base = b
		} else {
			base = f.FieldByName("RuleBase").Addr().Interface().(*RuleBase)
		}
		out = append(out, RuleInfo{ID: yamlName(v.Type().Field(i)), Base: base})
	}
	return out
}

// Rule returns the common settings of a rule id, or nil.
func (r *Rules) Rule(id string) *RuleBase {
	for _, ri := range r.All() {
		if ri.ID == id {
			return ri.Base
		}
	}
	return nil
}

// RuleBase is what every rule has.
type RuleBase struct {
	Enabled  bool             `yaml:"enabled" doc:"Evaluate this rule."`
	Severity catalog.Severity `yaml:"severity" doc:"critical, error, warning or info."`
	// Flap damping per rule; zero takes the incidents block's value.
	ResolveAfter     Duration `yaml:"resolve_after,omitempty" doc:"Flap damping: how long since the condition was last seen before its incident resolves (default: incidents.resolve_after)."`
	ClearEvaluations int      `yaml:"clear_evaluations,omitempty" doc:"Flap damping: consecutive evaluations without the condition needed to resolve (default: incidents.clear_evaluations)."`
}

// APIErrorsRule: the monitor's own call errors.
type APIErrorsRule struct {
	RuleBase      `yaml:",inline"`
	Window        Duration `yaml:"window" doc:"Window over which the error ratio is computed."`
	Consecutive   int      `yaml:"consecutive" doc:"Consecutive failed calls that fire regardless of the ratio."`
	ErrorRatio    Ratio    `yaml:"error_ratio" doc:"Share of failed (429/5xx/timeout) calls in the window that fires."`
	MinCalls      int      `yaml:"min_calls" doc:"Calls needed in the window before the ratio counts."`
	EscalateAfter Duration `yaml:"escalate_after" doc:"Firing longer than this is persistent and escalates one severity."`
}

// AutomationErrorRule: N-of-M run errors.
type AutomationErrorRule struct {
	RuleBase            `yaml:",inline"`
	Consecutive         int   `yaml:"consecutive" doc:"Consecutive errored runs that fire."`
	Ratio               Ratio `yaml:"ratio" doc:"Or: share of errored runs among the last last_runs that fires."`
	LastRuns            int   `yaml:"last_runs" doc:"Runs considered by ratio."`
	CriticalFirstError  bool  `yaml:"critical_first_error" doc:"Critical automations fire on their first error."`
	EscalateConsecutive int   `yaml:"escalate_consecutive" doc:"Consecutive errors that escalate to critical (SFMC deactivates after 30)."`
	// InfrequentInterval: automations that run this rarely or less often
	// (or with no known rhythm) fire on their first error.
	InfrequentInterval Duration `yaml:"infrequent_interval" doc:"Automations that run at most this often (interval from objects.<key>.expected_interval, the schedule, or learned gaps; or with no known rhythm) alert on their first errored run; 0 turns this off."`
}

// AutomationStalledRule: runtime creep.
type AutomationStalledRule struct {
	RuleBase    `yaml:",inline"`
	P95Factor   float64  `yaml:"p95_factor" doc:"Warn when a run exceeds this multiple of the p95 runtime of the last history_runs runs."`
	HistoryRuns int      `yaml:"history_runs" doc:"Runs in the runtime baseline."`
	Floor       Duration `yaml:"floor" doc:"Never warn below this runtime."`
	ErrorAfter  Duration `yaml:"error_after" doc:"Runtime that is an error (SFMC kills queries at ~30 min)."`
}

// AutomationMissedRunRule: expected-run heartbeat.
type AutomationMissedRunRule struct {
	RuleBase       `yaml:",inline"`
	Grace          Duration `yaml:"grace" doc:"Minimum delay after the expected start before firing."`
	GraceRatio     Ratio    `yaml:"grace_ratio" doc:"Or this share of the schedule interval, whichever is larger."`
	LearnRuns      int      `yaml:"learn_runs" doc:"Inter-run gaps whose median gives the interval when no schedule is known."`
	FileDropFactor float64  `yaml:"file_drop_factor" doc:"File-drop automations: fire after this multiple of the p95 inter-arrival time."`
}

// MaxConfirmPolls bounds confirm_polls. Collectors count the polls that
// saw an object's status (StatusPolls) only up to StatusPollsCap, one more
// than any rule asks for: past it a poll that sees nothing new stores
// nothing new (snapshots are stored on change).
const MaxConfirmPolls = 5

// StatusPollsCap is where collectors stop counting StatusPolls.
const StatusPollsCap = MaxConfirmPolls + 1

// ConfirmRule fires after a number of confirming polls.
type ConfirmRule struct {
	RuleBase     `yaml:",inline"`
	ConfirmPolls int `yaml:"confirm_polls" doc:"Polls that must confirm the state before firing (at most 5)."`
}

// AutomationPausedRule: paused, inactive trigger, deactivated.
type AutomationPausedRule struct {
	RuleBase            `yaml:",inline"`
	ConfirmPolls        int              `yaml:"confirm_polls" doc:"Polls that must confirm the state before firing (at most 5)."`
	DeactivatedSeverity catalog.Severity `yaml:"deactivated_severity" doc:"Severity when SFMC deactivated the automation."`
}

// AutomationPartialRule: low output volume.
type AutomationPartialRule struct {
	RuleBase           `yaml:",inline"`
	OutputRatio        Ratio            `yaml:"output_ratio" doc:"Fire when output rows fall below this share of the same hour-of-week median."`
	MinSamples         int              `yaml:"min_samples" doc:"Prior samples needed for a baseline."`
	ZeroOutputSeverity catalog.Severity `yaml:"zero_output_severity" doc:"Severity when a run produced zero rows against a non-zero baseline."`
}

// JourneyStoppedRule: journey state transitions.
type JourneyStoppedRule struct {
	RuleBase      `yaml:",inline"`
	KeepFiringFor Duration `yaml:"keep_firing_for" doc:"Keep firing this long after a republish, against flapping."`
	PauseWarning  Duration `yaml:"pause_warning" doc:"Warn this long before a paused journey's pause expires."`
}

// JourneyEnrollmentRule: entry drop vs baseline.
type JourneyEnrollmentRule struct {
	RuleBase           `yaml:",inline"`
	MinBaselinePerHour float64  `yaml:"min_baseline_per_hour" doc:"Journeys with at least this many entries/hour get the zero-entries check."`
	SilenceMin         Duration `yaml:"silence_min" doc:"Zero entries for max(silence_min, silence_factor x median inter-arrival) fires."`
	SilenceFactor      float64  `yaml:"silence_factor" doc:"See silence_min."`
	DropRatio          Ratio    `yaml:"drop_ratio" doc:"Low-volume journeys: entries below this share of baseline over window fire."`
	Window             Duration `yaml:"window" doc:"Window for drop_ratio."`
	TrainingWindow     Duration `yaml:"training_window" doc:"History used for the hour-of-week baseline."`
}

// TriggeredSendErrorsRule: NotSentDueToError ratio.
type TriggeredSendErrorsRule struct {
	RuleBase `yaml:",inline"`
	Ratio    Ratio    `yaml:"ratio" doc:"NotSentDueToError / (Sent + NotSent) over window that fires."`
	Window   Duration `yaml:"window" doc:"Window for ratio."`
}

// WindowRule fires when a condition holds for a window.
type WindowRule struct {
	RuleBase `yaml:",inline"`
	Window   Duration `yaml:"window" doc:"How long the condition must hold."`
}

// SilentFailureRule: burn rate on NotSent plus absence of sends.
type SilentFailureRule struct {
	RuleBase           `yaml:",inline"`
	SLO                Ratio    `yaml:"slo" doc:"Target share of sends that are sent (system-caused NotSent counts against it)."`
	BurnRate           float64  `yaml:"burn_rate" doc:"Error-budget burn rate that fires over both windows."`
	LongWindow         Duration `yaml:"long_window" doc:"Long burn-rate window."`
	ShortWindow        Duration `yaml:"short_window" doc:"Short burn-rate window (confirms the burn is ongoing)."`
	AbsenceAfter       Duration `yaml:"absence_after" doc:"No sends for this long on a definition with traffic fires."`
	MinBaselinePerHour float64  `yaml:"min_baseline_per_hour" doc:"Definitions with fewer sends/hour are not checked for absence."`
	XrefWindow         Duration `yaml:"xref_window" doc:"Cross-reference: window over which sends the integrations made (proxy, ingest, ENS) are compared with SFMC's Sent delta."`
	XrefMinAccepted    int      `yaml:"xref_min_accepted" doc:"Cross-reference: fewest accepted sends in the window before it judges."`
	XrefNotSentRatio   Ratio    `yaml:"xref_not_sent_ratio" doc:"Cross-reference: share of accepted sends SFMC did not send that fires."`
}

// RowDropRule: row-count drop thresholds (overridable per object).
type RowDropRule struct {
	RuleBase        `yaml:",inline"`
	WarnDrop        Ratio `yaml:"warn_drop" doc:"Drop against the previous load that warns."`
	ErrorDrop       Ratio `yaml:"error_drop" doc:"Drop that raises the rule's severity."`
	MinPreviousRows int64 `yaml:"min_previous_rows" doc:"Ignore data extensions that had fewer rows."`
}

// EmptyRule: a populated DE became empty.
type EmptyRule struct {
	RuleBase        `yaml:",inline"`
	MinPreviousRows int64 `yaml:"min_previous_rows" doc:"Rows the previous load must have had."`
}

// StaleRule: freshness SLA derived from the expected interval.
type StaleRule struct {
	RuleBase          `yaml:",inline"`
	WarnFactor        float64  `yaml:"warn_factor" doc:"warn_after = warn_factor x expected interval."`
	ErrorFactor       float64  `yaml:"error_factor" doc:"error_after = error_factor x expected interval."`
	WarnFloor         Duration `yaml:"warn_floor" doc:"Smallest derived warn_after."`
	ErrorFloor        Duration `yaml:"error_floor" doc:"Smallest derived error_after."`
	LearnIntervals    int      `yaml:"learn_intervals" doc:"Load intervals whose median is the learned expected interval."`
	MinLearnIntervals int      `yaml:"min_learn_intervals" doc:"Intervals needed before learned mode applies."`
}

// ImportPartialRule: rejected-row ratio.
type ImportPartialRule struct {
	RuleBase   `yaml:",inline"`
	WarnRatio  Ratio `yaml:"warn_ratio" doc:"errors/(errors+successful) that warns."`
	ErrorRatio Ratio `yaml:"error_ratio" doc:"errors/(errors+successful) that raises the rule's severity."`
}

// TenantBlindRule: auth failures and secret expiry.
type TenantBlindRule struct {
	RuleBase       `yaml:",inline"`
	TokenFailures  int      `yaml:"token_failures" doc:"Consecutive token endpoint failures that fire."`
	TokenRetry     Duration `yaml:"token_retry" doc:"Delay before retrying a failed token request."`
	API401Count    int      `yaml:"api_401_count" doc:"API 401s with fresh tokens within api_401_window that fire."`
	API401Window   Duration `yaml:"api_401_window" doc:"Window for api_401_count."`
	SecretWarnAge  Duration `yaml:"secret_warn_age" doc:"Warn when client_secret_rotated is older (secrets expire after 180 days)."`
	SecretErrorAge Duration `yaml:"secret_error_age" doc:"Error when client_secret_rotated is older."`
}

// TenantBlockedRule: REST 50200.
type TenantBlockedRule struct {
	RuleBase    `yaml:",inline"`
	CircuitOpen Duration `yaml:"circuit_open" doc:"Stop calling the tenant this long after a block."`
}

// ENSSilentRule: a lost ENS callback or subscription.
type ENSSilentRule struct {
	RuleBase  `yaml:",inline"`
	Window    Duration `yaml:"window" doc:"Runs finished and messages not sent within this window are judged."`
	Grace     Duration `yaml:"grace" doc:"How long ENS gets to report a run or message polling saw before it counts as missed."`
	MinMissed int      `yaml:"min_missed" doc:"Missed runs/messages in the window that fire, when ENS reported none of the window's others."`
}

// SecurityChangeRule: one audit-trail change is a finding for hold after
// SFMC dated it.
type SecurityChangeRule struct {
	RuleBase `yaml:",inline"`
	Hold     Duration `yaml:"hold" doc:"How long after SFMC dated the change it stays a finding (the incident then resolves)."`
}

// SecurityBurstRule: threshold security events of one user within window.
type SecurityBurstRule struct {
	RuleBase  `yaml:",inline"`
	Threshold int      `yaml:"threshold" doc:"Events of one user within window that fire."`
	Window    Duration `yaml:"window" doc:"Span the threshold is counted over (by SFMC's event times)."`
	Hold      Duration `yaml:"hold" doc:"How long after the burst's last event it stays a finding."`
}

// ContentionRule: several apps behind one client id.
type ContentionRule struct {
	RuleBase         `yaml:",inline"`
	Window           Duration `yaml:"window" doc:"Token requests and API calls of the integrations are judged over this window."`
	MaxTokenRequests int      `yaml:"max_token_requests" doc:"Token requests of one client id within window that fire (a process caching its ~18-minute token needs about 3 an hour)."`
	MinIntegrations  int      `yaml:"min_integrations" doc:"Distinct integrations requesting tokens of one client id that count as shared (fires at info alone, at the rule's severity with a symptom)."`
}

// TenantBudgetRule: own API spend.
type TenantBudgetRule struct {
	RuleBase  `yaml:",inline"`
	Threshold Ratio `yaml:"threshold" doc:"Share of daily_api_budget spent that fires."`
}

// EditionBudget returns the default daily API budget of an SFMC edition: 5%
// of its yearly entitlement / 365 (research/detection.md §1.4); ok is false
// for an unknown edition.
func EditionBudget(edition string) (budget int64, ok bool) {
	switch edition {
	case "pro":
		return 274, true
	case "corporate":
		return 822, true
	case "enterprise":
		return 27400, true
	}
	return 0, false
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// ActivityFailedRule: failed query, import or file transfer steps.
type ActivityFailedRule struct {
	RuleBase           `yaml:",inline"`
	Consecutive        int  `yaml:"consecutive" doc:"Runs in a row in which the same step failed this way that fire."`
	CriticalFirstError bool `yaml:"critical_first_error" doc:"Critical automations, infrequent ones (automation.error's infrequent_interval) and failures found on the first look fire on the first failed run."`
}

// QueryTimeoutRule: query steps killed at, or running close to, SFMC's limit.
type QueryTimeoutRule struct {
	RuleBase       `yaml:",inline"`
	Limit          Duration         `yaml:"limit" doc:"SFMC's runtime limit for a query activity (it kills the query there)."`
	WarnRatio      Ratio            `yaml:"warn_ratio" doc:"A completed query step that ran this share of limit or longer warns (objects.<key>.query_warn_after overrides)."`
	KilledSeverity catalog.Severity `yaml:"killed_severity" doc:"Severity when SFMC killed the query (the step failed with a timeout)."`
}

// NoOutputRule: output assertions on completed runs.
type NoOutputRule struct {
	RuleBase  `yaml:",inline"`
	LearnRuns int `yaml:"learn_runs" doc:"Measured completed runs, all with output, before a run writing nothing fails the learned assertion (objects.<key>.min_output_rows / min_file_lines assert from the first run)."`
}
