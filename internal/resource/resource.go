// Package resource names the SFMC objects sfmcwatch monitors and defines the
// observed state a collector records for each one. The state is stored as a
// snapshot (store.Snapshot: Status, LastRunAt, RowCount, SchemaHash,
// Counters, and the typed JSON Payload below) and read back by detection
// rules; this package is the contract between the two.
package resource

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Type is a monitored resource type (singular, as in rule ids and config
// object keys).
type Type string

// Resource types.
const (
	Automation    Type = "automation"
	Journey       Type = "journey"
	TriggeredSend Type = "triggered_send"
	Transactional Type = "transactional"
	DataExtension Type = "data_extension"
	Import        Type = "import"
	// Tenant is the tenant itself (authentication, blocking, budget): one
	// snapshot per poll with ResourceKey = tenant name.
	Tenant Type = "tenant"
	// Security is a subject of the SFMC Audit Trail (an installed package,
	// a role or user, the security settings, a user's logins): one
	// snapshot per subject with recent changes (SecurityState), collected
	// by the audit monitor.
	Security Type = "security"
)

// Types lists the SFMC object types in display order (Tenant excluded).
var Types = []Type{Automation, Journey, TriggeredSend, Transactional, DataExtension, Import, Send, Security}

// Monitor returns the config monitor name of a type ("automations", …).
func (t Type) Monitor() string {
	switch t {
	case Transactional:
		return "transactional"
	case Security:
		return "audit"
	case Tenant:
		return ""
	}
	return string(t) + "s"
}

// Normalised statuses stored in Snapshot.Status (lower case, stable).
const (
	// Automation (SFMC statusId -1..8).
	StatusError           = "error"
	StatusBuildingError   = "building_error"
	StatusBuilding        = "building"
	StatusReady           = "ready"
	StatusRunning         = "running"
	StatusPaused          = "paused"
	StatusStopped         = "stopped"
	StatusScheduled       = "scheduled"
	StatusAwaitingTrigger = "awaiting_trigger"
	StatusInactiveTrigger = "inactive_trigger"
	// Journeys.
	StatusDraft       = "draft"
	StatusPublished   = "published"
	StatusUnpublished = "unpublished"
	// Triggered sends and transactional definitions.
	StatusActive   = "active"
	StatusInactive = "inactive"
	StatusNew      = "new"
	StatusCanceled = "canceled"
	StatusDeleted  = "deleted"
	// Imports (last run) and runs.
	StatusComplete   = "complete"
	StatusProcessing = "processing"
	// Automation runs that did not run their activities.
	StatusSkipped = "skipped"
	// Tenant.
	StatusOK      = "ok"
	StatusBlind   = "blind"   // cannot authenticate or reach the tenant
	StatusBlocked = "blocked" // REST 50200
	// Unknown is used when SFMC reports a status this version does not know.
	StatusUnknown = "unknown"
)

// Counter names used in Snapshot.Counters. Cumulative counters only grow
// (SFMC totals); rules take deltas between snapshots.
const (
	// Triggered sends (TriggeredSendSummary, cumulative).
	CounterSent              = "sent"
	CounterNotSentDueToError = "not_sent_due_to_error"
	CounterNotSentOptOut     = "not_sent_due_to_opt_out"
	CounterNotSentUndeliv    = "not_sent_due_to_undeliverable"
	CounterQueued            = "queued"     // gauge
	CounterInProcess         = "in_process" // gauge
	CounterBounces           = "bounces"
	// Journeys (stats, cumulative population / current population gauge).
	CounterCumulativePopulation = "cumulative_population"
	CounterCurrentPopulation    = "current_population"
	// Transactional (gauges from queue metrics; not-sent cumulative as seen
	// by sfmcwatch from the not-sent feed).
	CounterQueueCount      = "queue_count"
	CounterQueueAgeSeconds = "queue_age_seconds"
	CounterNotSent         = "not_sent"
	// CounterNotSentSystem is the part of not_sent whose status code is a
	// system or integration fault (catalog family auth, client with a
	// build/send code ≥ 100, rate_limit, server, timeout), not list hygiene.
	CounterNotSentSystem = "not_sent_system"
	// Imports (last run).
	CounterRowsImported = "rows_imported"
	CounterRowsErrored  = "rows_errored"
	CounterRowsTotal    = "rows_total"
	// Tenant.
	CounterAPICallsToday = "api_calls_today"
	CounterDailyBudget   = "daily_budget"
)

// Run is one execution of an automation or import.
type Run struct {
	ID          string    `json:"id,omitempty"`
	Status      string    `json:"status"` // normalised: complete, error, running, stopped, skipped, …
	StartedAt   time.Time `json:"started_at"`
	CompletedAt time.Time `json:"completed_at"` // zero while running
	// Message is SFMC's StatusMessage (masked) for errored runs.
	Message string `json:"message,omitempty"`
	// Rows is the output volume when known (target DE rows, import rows); -1 unknown.
	Rows int64 `json:"rows"`
	// Errored and Total are an import run's rejected and file rows (0 for
	// automation runs).
	Errored int64 `json:"errored,omitempty"`
	Total   int64 `json:"total,omitempty"`
	// ENS is the last Automation Studio instance state SFMC's Event
	// Notification Service reported for this run (started, complete,
	// error, stopped, skipped; "" when ENS never reported it), and ENSAt
	// when sfmcwatch received it. A run known only from ENS is kept until
	// a poll covers it; a poll that sees the run never clears these.
	ENS   string    `json:"ens,omitempty"`
	ENSAt time.Time `json:"ens_at,omitzero"`
	// Polled is true once a poll reported the run.
	Polled bool `json:"polled,omitempty"`
}

// Duration returns the run time (to now when still running).
func (r Run) Duration(now time.Time) time.Duration {
	if r.CompletedAt.IsZero() {
		return now.Sub(r.StartedAt)
	}
	return r.CompletedAt.Sub(r.StartedAt)
}

// AutomationState is the payload of an automation snapshot.
type AutomationState struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	// ScheduleStatus: active, paused, none (SFMC schedule.scheduleStatus).
	ScheduleStatus string `json:"schedule_status,omitempty"`
	// Interval is the schedule's repeat interval when known (0 = unknown).
	Interval time.Duration `json:"interval_ns,omitempty"`
	// NextRunAt is the next scheduled start when known.
	NextRunAt time.Time `json:"next_run_at"`
	// Runs holds the recent runs known to sfmcwatch, oldest first (the
	// collector carries history forward from the previous snapshot).
	Runs []Run `json:"runs,omitempty"`
	// ErrorNotifications are the addresses SFMC e-mails on error (masked);
	// nil when unknown, empty when none configured.
	ErrorNotifications []string `json:"error_notifications"`
	// TargetDataExtensions are external keys written by the automation.
	TargetDataExtensions []string `json:"target_data_extensions,omitempty"`
	// FileDrop is true for file-drop (triggered) automations.
	FileDrop bool `json:"file_drop,omitempty"`
	// LegacyID is the legacy API id (notifications endpoint).
	LegacyID string `json:"legacy_id,omitempty"`
	// ModifiedAt and PausedAt are SFMC's modifiedDate and lastPausedDate
	// (zero when SFMC did not say): how old a paused or stopped state is.
	ModifiedAt time.Time `json:"modified_at"`
	PausedAt   time.Time `json:"paused_at"`
	// ObservedSince is sfmcwatch's first observation of the automation
	// (carried): evidence older than it was found on the first look.
	ObservedSince time.Time `json:"observed_since"`
	// TargetsKnown is true once the definition (steps, target DEs) was read.
	TargetsKnown bool `json:"targets_known,omitempty"`
	// StatusSince is when the current Snapshot.Status was first observed,
	// StatusPolls how many consecutive polls observed it (counted up to
	// config.StatusPollsCap, where it stays: more is never needed, and a
	// poll that saw nothing new then stores nothing new), PreviousStatus
	// the status observed before it ("" when sfmcwatch never saw another).
	StatusSince    time.Time `json:"status_since"`
	StatusPolls    int       `json:"status_polls,omitempty"`
	PreviousStatus string    `json:"previous_status,omitempty"`
	// ENSAt is when an ENS event about this automation last arrived (zero:
	// never): ens.silent only judges automations ENS reported before.
	ENSAt time.Time `json:"ens_at,omitzero"`
	// Activities are the automation's query, import and file transfer
	// activities, read with its definition (nil until read).
	Activities []Activity `json:"activities,omitempty"`
	// ActivityRuns are those activities' outcomes in recent runs, oldest
	// first, at most MaxActivityRuns.
	ActivityRuns []ActivityRun `json:"activity_runs,omitempty"`
	// ActivitiesReadAt is the start of the newest run whose activity
	// outcomes were read (zero: none yet).
	ActivitiesReadAt time.Time `json:"activities_read_at,omitzero"`
	// DefinitionReadAt is when the definition (steps, targets) was last
	// read: a later ModifiedAt reads it again (zero: never).
	DefinitionReadAt time.Time `json:"definition_read_at,omitzero"`
	// TargetRows are the target data extensions' row counts SFMC gave
	// with the definition read at DefinitionReadAt (by target key): the
	// data extension collector takes them as measured counts, so a DE an
	// automation writes costs no rowset call of its own.
	TargetRows map[string]int64 `json:"target_rows,omitempty"`
}

// JourneyState is the payload of a journey snapshot.
type JourneyState struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name"`
	Version int    `json:"version"`
	// EntryDataExtension is the entry source DE key when known.
	EntryDataExtension string    `json:"entry_data_extension,omitempty"`
	ModifiedAt         time.Time `json:"modified_at"`
	// Transactional marks transactional send journeys.
	Transactional bool `json:"transactional,omitempty"`
	// DefinitionType is SFMC's definitionType (Multistep, Transactional, …).
	DefinitionType  string    `json:"definition_type,omitempty"`
	LastPublishedAt time.Time `json:"last_published_at"`
	// StatusSince, StatusPolls, PreviousStatus: as in AutomationState.
	StatusSince    time.Time `json:"status_since"`
	StatusPolls    int       `json:"status_polls,omitempty"`
	PreviousStatus string    `json:"previous_status,omitempty"`
	// PublishedBefore is true when sfmcwatch had observed the journey
	// published before its current status began.
	PublishedBefore bool `json:"published_before,omitempty"`
	// PauseEndsAt is when a pause expires, when known (zero: unknown).
	PauseEndsAt time.Time `json:"pause_ends_at"`
	// ObservedSince is sfmcwatch's first observation (carried).
	ObservedSince time.Time `json:"observed_since"`
	// EntryAt is the last poll at which cumulative_population grew (zero:
	// never seen growing); EntryGaps the last gaps between such polls in
	// seconds, oldest first, at most MaxEntryGaps.
	EntryAt   time.Time `json:"entry_at"`
	EntryGaps []int64   `json:"entry_gaps,omitempty"`
	// Splits are the journey's decision splits with per-path counts
	// (journeysplit.go); SplitsVersion and SplitsModified name the
	// definition they were read from (a new version is read again).
	Splits         []JourneySplit `json:"splits,omitempty"`
	SplitsVersion  int            `json:"splits_version,omitempty"`
	SplitsModified time.Time      `json:"splits_modified,omitzero"`
}

// MaxEntryGaps bounds JourneyState.EntryGaps.
const MaxEntryGaps = 20

// TriggeredSendState is the payload of a triggered send snapshot.
type TriggeredSendState struct {
	ID         string    `json:"id,omitempty"`
	Name       string    `json:"name"`
	ModifiedAt time.Time `json:"modified_at"`
	// StatusSince, StatusPolls, PreviousStatus: as in AutomationState.
	StatusSince    time.Time `json:"status_since"`
	StatusPolls    int       `json:"status_polls,omitempty"`
	PreviousStatus string    `json:"previous_status,omitempty"`
	// ActiveBefore is true when sfmcwatch had observed the definition
	// active before its current status began.
	ActiveBefore  bool      `json:"active_before,omitempty"`
	ObservedSince time.Time `json:"observed_since"`
	// SentAt and ErrorAt are the last polls at which sent and
	// not_sent_due_to_error grew (zero: never seen growing).
	SentAt  time.Time `json:"sent_at"`
	ErrorAt time.Time `json:"error_at"`
	// DefinitionsReadAt is when the definition list (status) was last
	// read; between reads the status carries forward.
	// A store.ReadMarks key: a change in it alone adds no snapshot row.
	DefinitionsReadAt time.Time `json:"definitions_read_at,omitzero"`
}

// TransactionalState is the payload of a transactional definition snapshot.
type TransactionalState struct {
	Name       string    `json:"name"`
	ModifiedAt time.Time `json:"modified_at"`
	// NotSentByCode counts not-sent events seen in the feed since the last
	// snapshot, by statusCode.
	NotSentByCode map[string]int64 `json:"not_sent_by_code,omitempty"`
	// JourneyKey is the definition's transactional journey.
	JourneyKey string `json:"journey_key,omitempty"`
	// StatusSince, StatusPolls, PreviousStatus: as in AutomationState.
	StatusSince    time.Time `json:"status_since"`
	StatusPolls    int       `json:"status_polls,omitempty"`
	PreviousStatus string    `json:"previous_status,omitempty"`
	ActiveBefore   bool      `json:"active_before,omitempty"`
	ObservedSince  time.Time `json:"observed_since"`
	// QueueReadAt is when queue_count/queue_age_seconds were read (queue
	// reads are budgeted: other polls carry them forward);
	// PreviousQueueCount is the count of the read before (-1: none).
	QueueReadAt        time.Time `json:"queue_read_at"`
	PreviousQueueCount int64     `json:"previous_queue_count"`
	// SystemNotSentAt is the last poll that saw system-caused not-sent
	// events (not_sent_system grew).
	SystemNotSentAt time.Time `json:"system_not_sent_at"`
	// NotSentSeen are the not-sent messages counted into not_sent in the
	// last hour, whichever input saw them first (the not-sent feed or an
	// ENS EmailNotSent event), so the other input does not count them
	// again; oldest first, at most MaxNotSentSeen.
	NotSentSeen []NotSentMark `json:"not_sent_seen,omitempty"`
	// ENSAt is when an ENS EmailNotSent event for this definition last
	// arrived (zero: never).
	ENSAt time.Time `json:"ens_at,omitzero"`
	// DefinitionsReadAt is when the definition list (status) was last
	// read (it is read every callplan.TxDefinitionsRefresh while all is
	// healthy; in between the definitions carry forward).
	// A store.ReadMarks key: a change in it alone adds no snapshot row.
	DefinitionsReadAt time.Time `json:"definitions_read_at,omitzero"`
}

// MaxNotSentSeen bounds TransactionalState.NotSentSeen.
const MaxNotSentSeen = 2000

// NotSentMark is one counted not-sent message: Key is a short hash of its
// messageKey, At when it happened, Polled and ENS which inputs saw it,
// System whether it counted into not_sent_system.
type NotSentMark struct {
	Key    string    `json:"k"`
	At     time.Time `json:"at"`
	Polled bool      `json:"p,omitempty"`
	ENS    bool      `json:"e,omitempty"`
	System bool      `json:"s,omitempty"`
}

// Field is one data extension column.
type Field struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	MaxLength  int    `json:"max_length,omitempty"`
	Required   bool   `json:"required,omitempty"`
	PrimaryKey bool   `json:"primary_key,omitempty"`
	Scale      int    `json:"scale,omitempty"`
}

// RowSample is one measured data extension row count.
type RowSample struct {
	At   time.Time `json:"at"`
	Rows int64     `json:"rows"`
	// First marks sfmcwatch's first measurement (a level, not a load).
	First bool `json:"first,omitempty"`
}

// MaxDELoads bounds DataExtensionState.Loads.
const MaxDELoads = 32

// DataExtensionState is the payload of a data extension snapshot.
type DataExtensionState struct {
	ID         string    `json:"id,omitempty"`
	Name       string    `json:"name"`
	ModifiedAt time.Time `json:"modified_at"`
	// Fields is the schema (sorted by name) when it was read this poll; nil
	// when not read (SchemaHash then carries over).
	Fields []Field `json:"fields,omitempty"`
	// RowCountAt is when RowCount was last measured (row counts are read in
	// budgeted tiers, not every poll).
	RowCountAt time.Time `json:"row_count_at"`
	// LastLoadAt is the last time sfmcwatch saw the content change (row
	// count change, or an import/automation writing it completed).
	LastLoadAt time.Time `json:"last_load_at"`
	// ObservedSince is sfmcwatch's first observation of the DE (carried).
	ObservedSince time.Time `json:"observed_since"`
	// Loads are the measured row counts that differed from the measurement
	// before them (the first measurement is kept, marked First), oldest
	// first, at most MaxDELoads: load intervals and pre-drop levels.
	Loads []RowSample `json:"loads,omitempty"`
	// FieldsAt is when the fields were last read: the snapshot observed
	// then carries them in Fields.
	FieldsAt time.Time `json:"fields_at"`
	// SchemaChangedAt is when SchemaHash last differed from the previous
	// snapshot's (zero: never seen changing); PreviousSchemaHash and
	// PreviousFieldsAt describe the schema before that change.
	SchemaChangedAt    time.Time `json:"schema_changed_at"`
	PreviousSchemaHash string    `json:"previous_schema_hash,omitempty"`
	PreviousFieldsAt   time.Time `json:"previous_fields_at"`
	// CountTier is the row-count tier the DE was in this poll (1: every
	// poll, 2: rotation).
	CountTier int `json:"count_tier,omitempty"`
	// Retention is the data retention policy (nil: none).
	Retention *Retention `json:"retention,omitempty"`
	// DefinitionsReadAt is when the DataExtension list (ModifiedDate,
	// retention) was last read: every callplan.DEDefinitionsRefresh; in
	// between the definitions carry forward.
	// A store.ReadMarks key: a change in it alone adds no snapshot row.
	DefinitionsReadAt time.Time `json:"definitions_read_at,omitzero"`
}

// ImportState is the payload of an import definition snapshot.
type ImportState struct {
	ID             string `json:"id,omitempty"`
	Name           string `json:"name"`
	DestinationKey string `json:"destination_key,omitempty"`
	// FileLocation is the definition's file transfer location
	// (fileTransferLocationId): imports reading one partner's drop share it.
	FileLocation   string `json:"file_location,omitempty"`
	AllowErrors    bool   `json:"allow_errors,omitempty"`
	Runs           []Run  `json:"runs,omitempty"` // oldest first
	LastRunMessage string `json:"last_run_message,omitempty"`
	// DefinitionsReadAt is when the definition list was last read (it is
	// re-read every callplan.ImportDefinitionsRefresh; in between the
	// definition carries forward).
	// A store.ReadMarks key: a change in it alone adds no snapshot row.
	DefinitionsReadAt time.Time `json:"definitions_read_at,omitzero"`
}

// TenantState is the payload of the tenant snapshot written every poll.
type TenantState struct {
	// TokenOK is false when the last token request failed.
	TokenOK bool `json:"token_ok"`
	// TokenFailures counts consecutive failed token requests.
	TokenFailures int `json:"token_failures"`
	// LastError is the classified error of the last failed call (masked).
	LastError string `json:"last_error,omitempty"`
	LastCode  string `json:"last_code,omitempty"`
	// LastKind is the failure kind of the last failed call (sfmc.Kind:
	// auth, transport, timeout, server …): what the fix is depends on it.
	LastKind string `json:"last_kind,omitempty"`
	// FailingSince is when the current run of failures started.
	FailingSince time.Time `json:"failing_since"`
	// BlockedUntil is set while SFMC blocks the tenant (50200).
	BlockedUntil time.Time `json:"blocked_until"`
	// MissingScopes lists scopes the monitor needs but the token lacks.
	MissingScopes []string `json:"missing_scopes,omitempty"`
}

// Encode marshals a payload for Snapshot.Payload.
func Encode(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		// Payload types are plain structs; failure is a programming error.
		panic(fmt.Sprintf("resource: encode %T: %v", v, err))
	}
	return b
}

// Decode unmarshals a snapshot's payload into v (a pointer to one of the
// state types); an empty payload leaves v zero.
func Decode(s store.Snapshot, v any) error {
	if len(s.Payload) == 0 {
		return nil
	}
	if err := json.Unmarshal(s.Payload, v); err != nil {
		return fmt.Errorf("snapshot %d (%s %s): payload: %w", s.ID, s.ResourceType, s.ResourceKey, err)
	}
	return nil
}

// Ref builds a store.ResourceRef.
func Ref(tenant string, t Type, key string) store.ResourceRef {
	return store.ResourceRef{Tenant: tenant, ResourceType: string(t), ResourceKey: key}
}

// Security subject kinds (SecurityState.Kind).
const (
	SecurityIntegration = "integration" // an installed package or its components
	SecurityAccess      = "access"      // a role, user permissions, security settings, a user
	SecurityLogins      = "logins"      // one user's logins (security events)
)

// Security change kinds (SecurityChange.Kind), one per security.* rule.
const (
	ChangeNewIntegration = "new_integration"
	ChangeScope          = "scope_change"
	ChangeRole           = "role_change"
	ChangeLoginFailed    = "login_failed"
	ChangeIPBlocked      = "ip_blocked"
)

// SecurityChange is one audit-trail entry kept for the security rules:
// bounded labels and ids only, never a user name, address or IP.
type SecurityChange struct {
	// ID is SFMC's audit or security event id (dedupes overlapping reads).
	ID int64 `json:"id"`
	// At is SFMC's createdDate (US Central time, converted to UTC).
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	// ObjectType and Operation are SFMC's labels (objectType.name,
	// operation.name; for security events eventType.name and
	// loginStatus.name), cut to 40 characters of [A-Za-z0-9 _.-].
	ObjectType string `json:"object_type,omitempty"`
	Operation  string `json:"operation,omitempty"`
	// Actor is the acting employee's id, or "u-" and a hash of the user
	// name when SFMC gave no id ("" when unknown).
	Actor string `json:"actor,omitempty"`
}

// SecurityState is the payload of a security snapshot.
type SecurityState struct {
	Kind string `json:"kind"`
	// Name is a bounded label of the subject: the object type and id
	// ("InstalledPackage 8c1f…"), never free text SFMC holds about people.
	Name string `json:"name"`
	// Changes are the recent entries about the subject, oldest first,
	// kept for the longest hold of the security rules (bounded).
	Changes []SecurityChange `json:"changes,omitempty"`
	// ObservedSince is sfmcwatch's first observation of the subject.
	ObservedSince time.Time `json:"observed_since"`
}
