// Package store persists what sfmcwatch observes and decides: normalised API
// events, resource snapshots, incidents, the due-work schedule, API-call
// metering and small named cursors.
//
// There is one interface ([Store], composed of small per-domain interfaces
// consumers can depend on) and two implementations behind [Open]: SQLite
// (modernc.org/sqlite, WAL, one writer connection, batched transactions) as
// the zero-setup default, and PostgreSQL (pgx) for shared deployments where
// several replicas share one database. Both are exercised by the same
// contract test suite.
//
// Conventions:
//   - The store never reads the clock: every method that stamps a time takes
//     it as an argument (now), so callers and tests control time.
//   - Times are stored as unix microseconds UTC and returned in UTC.
//   - Errors wrap [ErrNotFound] and [ErrConflict] where those apply.
//
// Schema changes are goose SQL migrations embedded from
// migrations/sqlite/NNNNN_name.sql and migrations/postgres/NNNNN_name.sql:
// every version exists in both directories (a test checks the counts),
// numbers only grow, and applied files are never edited. Open applies
// pending ones; on PostgreSQL under a session advisory lock keyed by
// database and schema, so replicas starting together migrate once.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrNotFound: the addressed row does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: the row exists but not in the state the operation
	// requires (lease lost, incident already resolved, cursor moved on).
	ErrConflict = errors.New("store: conflict")
)

// Store is everything the product persists.
type Store interface {
	EventStore
	CollectionStore
	SnapshotStore
	IncidentStore
	WorkQueue
	UsageMeter
	Cursors
	IngestStore
	AuthStore
	SilenceStore
	OutboxStore
	Pruner
	// Driver names the backend: "sqlite" or "postgres".
	Driver() string
	// Close releases the database handles.
	Close() error
}

// CollectionBatch is what one collection stores at once.
type CollectionBatch struct {
	Events    []EventRecord
	Snapshots []Snapshot
	// Cursors move by compare-and-set with the rest.
	Cursors []CursorMove
}

// CollectionStore stores a collection atomically.
type CollectionStore interface {
	// StoreCollection stores the events and snapshots and moves the
	// cursors in one transaction; ErrConflict (wrapped) when a cursor is
	// not at its Old value, and then nothing is stored.
	StoreCollection(ctx context.Context, b CollectionBatch) (InsertResult, error)
}

// EventStore holds normalised, classified API-call events.
type EventStore interface {
	// InsertEvents stores a batch in one transaction: either all new rows
	// of the batch are stored or none. Records with a RequestID already
	// stored for the same Source (or repeated within the batch) are
	// skipped and counted as duplicates.
	InsertEvents(ctx context.Context, recs []EventRecord) (InsertResult, error)
	// QueryEvents lists events matching q, oldest first (newest first when
	// q.Newest is set).
	QueryEvents(ctx context.Context, q EventQuery) ([]EventRecord, error)
	// AggregateEvents counts events per time bucket and the dimensions in
	// q.By (family and code when By is nil).
	AggregateEvents(ctx context.Context, q AggregateQuery) ([]EventBucket, error)
}

// SnapshotStore holds observed resource state over time.
type SnapshotStore interface {
	// InsertSnapshots stores a batch in one transaction and returns the new
	// ids in input order.
	InsertSnapshots(ctx context.Context, snaps []Snapshot) ([]int64, error)
	// LatestSnapshot returns the most recent snapshot of one resource, or
	// ErrNotFound.
	LatestSnapshot(ctx context.Context, ref ResourceRef) (Snapshot, error)
	// LatestSnapshots returns the most recent snapshot of every resource of
	// one type in a tenant, ordered by resource key.
	LatestSnapshots(ctx context.Context, tenant, resourceType string) ([]Snapshot, error)
	// SnapshotHistory returns the snapshots of one resource observed in
	// [from, to) (zero bounds are open), oldest first, at most limit
	// (0 = default limit).
	SnapshotHistory(ctx context.Context, ref ResourceRef, from, to time.Time, limit int) ([]Snapshot, error)
}

// IncidentStore holds incidents and their evidence.
type IncidentStore interface {
	// OpenOrUpdateIncident opens an incident for u.Fingerprint, or updates
	// the open one, atomically: concurrent callers never create two open
	// incidents for one fingerprint. created reports which happened.
	OpenOrUpdateIncident(ctx context.Context, u IncidentUpsert) (inc Incident, created bool, err error)
	// ApplyIncidents writes one evaluation's incident changes in one
	// transaction: every upsert as OpenOrUpdateIncident, every clear mark
	// (see ClearMark). An item that fails is left out and its error is in
	// its result; the error returned means nothing was written.
	ApplyIncidents(ctx context.Context, b IncidentBatch) (IncidentBatchResult, error)
	// ResolveIncident resolves an open incident: ErrNotFound if there is no
	// such incident, ErrConflict if it is already resolved.
	ResolveIncident(ctx context.Context, id int64, now time.Time) (Incident, error)
	// ResolveFingerprint resolves the open incident with this fingerprint,
	// or returns ErrNotFound when none is open.
	ResolveFingerprint(ctx context.Context, fingerprint string, now time.Time) (Incident, error)
	// AcknowledgeIncident records who acknowledged an incident and when.
	AcknowledgeIncident(ctx context.Context, id int64, by string, now time.Time) (Incident, error)
	// GetIncident returns one incident with its evidence, or ErrNotFound.
	GetIncident(ctx context.Context, id int64) (Incident, error)
	// ListIncidents lists incidents (without evidence), newest first.
	ListIncidents(ctx context.Context, f IncidentFilter) ([]Incident, error)
	// CorrelateIncident records what the correlation step decided about
	// one incident (its cause link, the cause it names, the cause's title),
	// open or resolved; ErrNotFound if there is no such incident.
	CorrelateIncident(ctx context.Context, id int64, c Correlation) (Incident, error)
	// CorrelateIncidents records several decisions in one transaction and
	// returns the incidents as stored, in input order. An incident that
	// does not exist (pruned) is skipped: its result is the zero Incident
	// and the error returned wraps ErrNotFound, the others are written.
	CorrelateIncidents(ctx context.Context, cs []IncidentCorrelation) ([]Incident, error)
}

// IncidentCorrelation is a correlation decision about one incident.
type IncidentCorrelation struct {
	ID int64
	Correlation
}

// Correlation is the correlation step's decision about one incident.
type Correlation struct {
	// CausedBy links the incident to its cause (0 = top-level).
	CausedBy int64
	// Cause names the recognised cause when the incident is one ("" = not
	// a cause).
	Cause string
	// Title replaces the title when non-empty (a cause's title names the
	// cause). A rule update (OpenOrUpdateIncident) sets the rule's title
	// again; the correlation step runs after every update and re-applies it.
	Title string
}

// WorkQueue is the schedule: due-work items claimed under leases, so several
// replicas can share the work and a crashed worker's items come back when
// its lease expires.
type WorkQueue interface {
	// EnsureWork creates the items that do not exist yet (due at their
	// NextDueAt); existing items keep their schedule.
	EnsureWork(ctx context.Context, now time.Time, specs ...WorkSpec) error
	// RemoveWork deletes an item; ErrNotFound if it does not exist.
	RemoveWork(ctx context.Context, tenant, kind, key string) error
	// GetWork returns one item, or ErrNotFound.
	GetWork(ctx context.Context, tenant, kind, key string) (WorkItem, error)
	// ClaimDue leases up to limit items that are due at now and not under
	// a live lease, earliest due first, to owner until now+leaseFor. Each
	// claim increments the item's Attempts. Two concurrent callers never
	// get the same item.
	ClaimDue(ctx context.Context, owner string, now time.Time, leaseFor time.Duration, limit int) ([]WorkItem, error)
	// RenewWork extends owner's lease on id to until while the job still
	// runs (every lease/3, so a dead holder's items come back soon).
	// ErrConflict when owner no longer holds the lease.
	RenewWork(ctx context.Context, id int64, owner string, until, now time.Time) error
	// Complete ends owner's lease after a success: the item is due again
	// at nextDue, Attempts and LastError are reset. ErrConflict when owner
	// no longer holds the lease (another worker claimed it after expiry).
	Complete(ctx context.Context, id int64, owner string, nextDue, now time.Time) error
	// Defer ends owner's lease without success: the item is due again at
	// until (e.g. now + Retry-After, or a backoff), reason is kept as
	// LastError and Attempts is kept for backoff. ErrConflict as Complete.
	Defer(ctx context.Context, id int64, owner string, until time.Time, reason string, now time.Time) error
}

// UsageMeter counts API calls per tenant, endpoint and UTC day for budgets.
type UsageMeter interface {
	// AddUsage adds the deltas (one transaction).
	AddUsage(ctx context.Context, deltas ...UsageDelta) error
	// Usage returns per-endpoint-per-day rows of a tenant (all tenants when
	// q.Tenant is empty) for days in [q.From, q.To] (UTC dates, zero = open).
	Usage(ctx context.Context, q UsageQuery) ([]UsageRow, error)
}

// Cursors are small named positions (transactional lastEventId, file-tail
// offsets) with compare-and-set so two replicas cannot both advance one.
type Cursors interface {
	// GetCursor returns a cursor's value, or ErrNotFound.
	GetCursor(ctx context.Context, name string) (string, error)
	// SetCursor stores value unconditionally.
	SetCursor(ctx context.Context, name, value string, now time.Time) error
	// CompareAndSetCursor stores next only if the cursor's value is old
	// (a missing cursor counts as ""), else returns ErrConflict.
	CompareAndSetCursor(ctx context.Context, name, old, next string, now time.Time) error
}

// Pruner applies retention.
type Pruner interface {
	// Prune deletes, in bounded chunks, events and snapshots older than the
	// retention windows (keeping the latest snapshot of every resource),
	// resolved incidents resolved before the window, and usage rows older
	// than the usage window. A zero duration keeps that kind forever.
	Prune(ctx context.Context, now time.Time, r Retention) (PruneResult, error)
}

// MaxBodySample caps the stored body sample; longer bodies are truncated.
const MaxBodySample = 4 << 10

// EventRecord is one event as stored: the normalised event plus its primary
// classification. Event.Body is the masked body sample (capped at
// MaxBodySample on insert).
type EventRecord struct {
	// ID is assigned by the store; ignored on insert.
	ID int64 `json:"id"`
	event.Event
	Family   string `json:"family"`
	Code     string `json:"code,omitempty"`
	Surface  string `json:"surface,omitempty"`
	IsError  bool   `json:"is_error"`
	Severity string `json:"severity,omitempty"`
	// Count is how often Code occurs in the body (≥ 1; 0 is stored as 1).
	Count int `json:"count"`
}

// InsertResult reports what InsertEvents did.
type InsertResult struct {
	Inserted   int `json:"inserted"`
	Duplicates int `json:"duplicates"`
}

// EventKey positions keyset paging in QueryEvents.
type EventKey struct {
	TS time.Time
	ID int64
}

// EventQuery filters events. Empty fields do not filter.
type EventQuery struct {
	From, To    time.Time // [From, To)
	Tenant      string
	Integration string
	Source      string
	Endpoint    string
	Family      string
	ErrorsOnly  bool
	// After continues a previous ascending page after this key.
	After EventKey
	// Newest returns the most recent events first (After is then ignored).
	Newest bool
	// Limit caps the rows returned; 0 means 1,000, at most 10,000.
	Limit int
}

// Dimension is an event column AggregateEvents can group by.
type Dimension string

// Dimensions for AggregateQuery.By.
const (
	DimTenant      Dimension = "tenant"
	DimIntegration Dimension = "integration"
	DimSource      Dimension = "source"
	DimEndpoint    Dimension = "endpoint"
	DimFamily      Dimension = "family"
	DimCode        Dimension = "code"
	DimSurface     Dimension = "surface"
	DimStatus      Dimension = "status"
)

// AggregateQuery asks for event counts per bucket.
type AggregateQuery struct {
	From, To    time.Time // [From, To); zero bounds are open
	Bucket      time.Duration
	Tenant      string
	Integration string
	Endpoint    string
	Family      string
	ErrorsOnly  bool
	// By lists the grouping dimensions besides the bucket; nil means
	// {DimFamily, DimCode}. Use an empty non-nil slice for buckets only.
	By []Dimension
}

// EventBucket is one aggregate row; only the dimensions grouped by are set.
type EventBucket struct {
	// Start of the bucket (epoch-aligned multiple of Bucket); zero when the
	// query had no Bucket.
	Start       time.Time `json:"start"`
	Tenant      string    `json:"tenant,omitempty"`
	Integration string    `json:"integration,omitempty"`
	Source      string    `json:"source,omitempty"`
	Endpoint    string    `json:"endpoint,omitempty"`
	Family      string    `json:"family,omitempty"`
	Code        string    `json:"code,omitempty"`
	Surface     string    `json:"surface,omitempty"`
	Status      int       `json:"status,omitempty"`
	// Events counts rows, Errors rows with IsError, Occurrences sums Count.
	Events      int64 `json:"events"`
	Errors      int64 `json:"errors"`
	Occurrences int64 `json:"occurrences"`
}

// ResourceRef names one monitored resource.
type ResourceRef struct {
	Tenant       string `json:"tenant"`
	ResourceType string `json:"resource_type"`
	ResourceKey  string `json:"resource_key"`
}

// Snapshot is a resource's observed state at ObservedAt.
type Snapshot struct {
	ID int64 `json:"id"`
	ResourceRef
	ObservedAt time.Time `json:"observed_at"`
	Status     string    `json:"status,omitempty"`
	// LastRunAt is zero when unknown.
	LastRunAt time.Time `json:"last_run_at"`
	// RowCount is nil when not applicable or unknown.
	RowCount   *int64           `json:"row_count,omitempty"`
	SchemaHash string           `json:"schema_hash,omitempty"`
	Counters   map[string]int64 `json:"counters,omitempty"`
	// Payload is resource-specific JSON (nil when none).
	Payload json.RawMessage `json:"payload,omitempty"`
}

// IncidentStatus is open or resolved.
type IncidentStatus string

// Incident statuses.
const (
	IncidentOpen     IncidentStatus = "open"
	IncidentResolved IncidentStatus = "resolved"
)

// EvidenceKind says what an evidence reference points at.
type EvidenceKind string

// Evidence kinds.
const (
	EvidenceEvent    EvidenceKind = "event"
	EvidenceSnapshot EvidenceKind = "snapshot"
)

// Evidence links an incident to an event or snapshot id. The referenced
// row may since have been pruned.
type Evidence struct {
	Kind    EvidenceKind `json:"kind"`
	RefID   int64        `json:"ref_id"`
	AddedAt time.Time    `json:"added_at"`
}

// MaxEvidence caps the evidence links kept per incident (the first ones).
const MaxEvidence = 200

// Incident is a detected problem with its lifecycle.
type Incident struct {
	ID           int64          `json:"id"`
	Fingerprint  string         `json:"fingerprint"`
	Rule         string         `json:"rule"`
	Severity     string         `json:"severity"`
	Family       string         `json:"family,omitempty"`
	Tenant       string         `json:"tenant,omitempty"`
	ResourceType string         `json:"resource_type,omitempty"`
	ResourceKey  string         `json:"resource_key,omitempty"`
	Title        string         `json:"title"`
	Status       IncidentStatus `json:"status"`
	Owner        string         `json:"owner,omitempty"`
	Remediation  []string       `json:"remediation,omitempty"`
	// Detail explains the evidence and why it matters (the rule's
	// finding, masked), as of the last rule update.
	Detail string `json:"detail,omitempty"`
	// FirstSeen is when sfmcwatch first saw evidence of the problem (JSON
	// first_seen, and first_seen_at as well: see MarshalJSON).
	FirstSeen time.Time `json:"first_seen"`
	// FailureStartedAt is when the failure began by SFMC's own timestamps
	// (detect.Finding.FailureStartedAt, the earliest of the incident's
	// findings); zero when unknown.
	FailureStartedAt time.Time `json:"failure_started_at,omitzero"`
	LastSeen         time.Time `json:"last_seen"`
	OpenedAt         time.Time `json:"opened_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	ResolvedAt       time.Time `json:"resolved_at"`
	// TTD is time to detection from sfmcwatch's first evidence:
	// OpenedAt − FirstSeen.
	TTD time.Duration `json:"ttd_ns"`
	// TTDSinceFailure is time to detection from the failure's start:
	// OpenedAt − FailureStartedAt; meaningful only when FailureStartedAt
	// is set (see FailureKnown). JSON ttd_since_failure_ns, absent when
	// unknown (see MarshalJSON).
	TTDSinceFailure time.Duration `json:"-"`
	Occurrences     int64         `json:"occurrences"`
	AcknowledgedAt  time.Time     `json:"acknowledged_at"`
	AcknowledgedBy  string        `json:"acknowledged_by,omitempty"`
	// CausedBy is the id of the incident that explains this one (set by the
	// correlation step, internal/correlate); 0 = none: a top-level incident.
	// A child stays stored and visible but does not notify while its cause
	// is open; when the cause resolves first, CausedBy is cleared (the child
	// is promoted and notifies on its own).
	CausedBy int64 `json:"caused_by,omitempty"`
	// Cause names the recognised cause (correlate.Cause* ids, e.g.
	// "credentials.monitor", "sfmc.throttling") on a cause incident; "" when
	// this incident is not a recognised cause. The correlation step may set
	// a title naming the cause (re-applied after every rule update).
	Cause string `json:"cause,omitempty"`
	// Evidence is filled by GetIncident only.
	Evidence []Evidence `json:"evidence,omitempty"`
}

// FailureKnown reports whether SFMC's timestamps said when the failure
// began (FailureStartedAt and TTDSinceFailure are set).
func (in Incident) FailureKnown() bool { return !in.FailureStartedAt.IsZero() }

// MarshalJSON adds first_seen_at (the same time as first_seen, which stays
// for compatibility) and, when the failure's start is known,
// ttd_since_failure_ns to the incident's fields.
func (in Incident) MarshalJSON() ([]byte, error) {
	type plain Incident
	out := struct {
		plain
		FirstSeenAt     time.Time      `json:"first_seen_at"`
		TTDSinceFailure *time.Duration `json:"ttd_since_failure_ns,omitempty"`
	}{plain: plain(in), FirstSeenAt: in.FirstSeen}
	if in.FailureKnown() {
		out.TTDSinceFailure = &in.TTDSinceFailure
	}
	return json.Marshal(out)
}

// IncidentUpsert is one detection of a problem.
type IncidentUpsert struct {
	Fingerprint  string
	Rule         string
	Severity     string
	Family       string
	Tenant       string
	ResourceType string
	ResourceKey  string
	Title        string
	Owner        string
	Remediation  []string
	// Detail is the finding's explanation (masked and capped by the
	// caller); replaced on every update.
	Detail string
	// FirstSeen is the time of the first evidence (zero = Now); on open,
	// time-to-detection is Now - FirstSeen.
	FirstSeen time.Time
	// FailureStartedAt is when the failure began by SFMC's timestamps
	// (zero = unknown). On open it is stored (capped at Now); on update it
	// replaces the stored one when earlier (or none was known), unless it
	// is after the incident opened.
	FailureStartedAt time.Time
	// Now is the detection time.
	Now time.Time
	// Evidence to link (duplicates ignored; capped at MaxEvidence).
	Evidence []Evidence
}

// IncidentBatch is one evaluation's incident writes (ApplyIncidents).
type IncidentBatch struct {
	Upserts []IncidentUpsert
	Clears  []ClearMark
}

// ClearMark records one evaluation that ran without finding an open
// incident: the damping cursor Cursor moves from Old to Next
// (compare-and-set, as CompareAndSetCursor) and, only if it moved and
// Resolve is set, the open incident of Fingerprint is resolved at Now.
type ClearMark struct {
	Cursor, Old, Next string
	Fingerprint       string
	Resolve           bool
	Now               time.Time
}

// IncidentBatchResult has one result per item of an IncidentBatch, in
// input order.
type IncidentBatchResult struct {
	Upserts []UpsertResult
	Clears  []ClearResult
}

// UpsertResult is what one upsert of a batch did.
type UpsertResult struct {
	Incident Incident
	Created  bool
	Err      error
}

// ClearResult is what one clear mark of a batch did.
type ClearResult struct {
	// Moved: the cursor was at Old and now holds Next (false: another
	// writer moved it first; nothing else was done).
	Moved bool
	// Resolved: the incident was resolved (Incident is it as stored);
	// false when none was open with the fingerprint.
	Resolved bool
	Incident Incident
	Err      error
}

// IncidentFilter selects incidents. Empty fields do not filter.
type IncidentFilter struct {
	Status       IncidentStatus
	Tenant       string
	Rule         string
	Family       string
	Severity     string
	ResourceType string
	ResourceKey  string
	// CausedBy selects the children of one cause incident.
	CausedBy int64
	// OpenedFrom/OpenedTo bound opened_at to [OpenedFrom, OpenedTo).
	OpenedFrom, OpenedTo time.Time
	// Limit caps the rows; 0 means 500.
	Limit int
}

// WorkSpec identifies a schedulable job and its first due time.
type WorkSpec struct {
	Tenant    string
	Kind      string
	Key       string
	NextDueAt time.Time
}

// WorkItem is one scheduled job and its lease state.
type WorkItem struct {
	ID         int64     `json:"id"`
	Tenant     string    `json:"tenant"`
	Kind       string    `json:"kind"`
	Key        string    `json:"key"`
	NextDueAt  time.Time `json:"next_due_at"`
	LeaseOwner string    `json:"lease_owner,omitempty"`
	// LeaseUntil is zero when not leased.
	LeaseUntil time.Time `json:"lease_until"`
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"last_error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// UsageDelta adds Calls to a tenant's endpoint on the UTC day of At.
type UsageDelta struct {
	Tenant   string
	Endpoint string
	At       time.Time
	Calls    int64
}

// UsageQuery selects usage rows.
type UsageQuery struct {
	Tenant   string
	From, To time.Time // UTC days, inclusive; zero = open
}

// UsageRow is one tenant/endpoint/day counter.
type UsageRow struct {
	Tenant   string `json:"tenant"`
	Endpoint string `json:"endpoint"`
	// Day is midnight UTC.
	Day   time.Time `json:"day"`
	Calls int64     `json:"calls"`
}

// Retention says how long to keep each kind of data; zero keeps forever.
type Retention struct {
	Events    time.Duration
	Snapshots time.Duration
	Incidents time.Duration // resolved incidents only; open ones are kept
	Usage     time.Duration
	// FullResolution keeps every snapshot row this long; older history is
	// downsampled to the last row of each object per hour (0: never).
	FullResolution time.Duration
	// MaxBytes bounds the database's used size (0: no bound): while it is
	// over, the oldest day of events and snapshot history goes, never
	// younger than MinAge (see Prune).
	MaxBytes int64
	// MinAge is what size retention never deletes (default 48h).
	MinAge time.Duration
	// CallDetail keeps the event rows and per-second aggregates of the
	// successful calls of CallDetailSource (the monitor's own calls to
	// SFMC) this long (0: for Events). Older, those calls are counted in
	// the daily API usage alone: their failures keep every row for Events.
	// It must cover the lookback of the rules that read them (api.errors).
	CallDetail       time.Duration
	CallDetailSource string
}

// PruneResult counts deleted rows.
type PruneResult struct {
	Events    int64 `json:"events"`
	Snapshots int64 `json:"snapshots"`
	Incidents int64 `json:"incidents"`
	Usage     int64 `json:"usage"`
	// Downsampled counts snapshot rows removed by downsampling (not in
	// Snapshots); Bases counts unreferenced snapshot bases removed.
	Downsampled int64 `json:"downsampled"`
	Bases       int64 `json:"bases"`
	// BySize counts the events and snapshot rows removed to bring the
	// database under MaxBytes (not in Events and Snapshots).
	BySize int64 `json:"by_size"`
	// CallDetail counts the rows of successful own calls removed after
	// Retention.CallDetail (not in Events).
	CallDetail int64 `json:"call_detail"`
}
