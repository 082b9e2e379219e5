// Package correlate is the correlation step between detection and
// routing: after incident.Manager applied a tenant's findings, it looks at
// the tenant's open incidents, recognises causes and attaches the incidents
// they explain as children (store.Incident.CausedBy). Children stay stored
// and visible (dashboard, API, digest) with "caused by #N"; only top-level
// incidents notify (notify reads CausedBy). The cause incident names the
// recognised cause (store.Incident.Cause) and, for the causes it assembles
// from several incidents, a title that names the cause and lists what it
// explains (under 120 characters).
//
// Every cause is one of the incidents themselves, so rule ids and
// fingerprints stay what they were:
//
//   - tenant.blocked explains every api.errors incident of the tenant and
//     tenant.blind (CauseTenantBlocked);
//   - credentials rejected: tenant.blind and the auth api.errors of the
//     monitor, plus token-endpoint auth failures of integrations with the
//     same code at the same time (a rotated installed-package secret breaks
//     every client of it): CauseMonitorCredentials when the monitor is one
//     of them, CauseSharedCredentials when only integrations are;
//   - one integration's credentials invalid: its auth api.errors across
//     endpoints fold under its token-endpoint incident
//     (CauseIntegrationCredentials);
//   - SFMC outage or maintenance: server/timeout api.errors across at least
//     two endpoints or integrations at once (CauseOutage);
//   - tenant-wide throttling: rate_limit api.errors (50100, SOAP code 17)
//     across at least two endpoints (CauseThrottling);
//   - the remaining api.errors of one integration and family across
//     endpoints fold into one incident listing endpoints
//     (CauseIntegrationFailing);
//   - an automation failure (automation.error, stalled, missed_run,
//     partial) or an import failure explains what fails downstream after
//     it began: its target data extensions going empty, stale or dropping
//     rows, journeys whose entry source is one of them
//     (journey.enrollment_drop) (CauseAutomationDownstream,
//     CauseImportDownstream);
//   - imports reading one file transfer location (one partner's drop)
//     that begin failing (import.failed, import.partial) within two hours
//     of each other are one failing feed: the first to open is the cause,
//     the other imports and their downstream its children
//     (CauseImportFeed);
//   - an object's state explains its symptoms: a stopped journey its
//     enrollment drop, an inactive or erroring triggered send its silent
//     failure or backlog, a paused or failing automation its missed runs
//     (CauseObjectState); a failed query or file step (query.failed,
//     file.*, a query killed at the limit) is the specific cause of its
//     automation's automation.error, so one failure pages once.
//
// "At once" means both open: an api.errors incident resolves only after
// two clean evaluations and ten minutes without failures.
//
// The choice of a cause is sticky: an incident that is a cause stays the
// cause of its cluster while it is open (a notified cause is never
// demoted). When a cause resolves while children are still open, the
// children are promoted: their CausedBy is cleared (and, when they still
// form a cluster, the earliest of them becomes its cause). Promotion waits
// for the cause to settle (WithPromoteAfter; serve: incidents.promote_after,
// 30 minutes): symptoms judged over a window (15 minutes of api.errors, 30
// of a silent-failure cross-reference) outlive their cause by that window,
// and paging for that tail would page twice for one cause. A child still
// open when the cause has been resolved that long is promoted and notifies;
// one that resolves before was never announced and needs no notice.
package correlate

// Cause ids (store.Incident.Cause).
const (
	CauseTenantBlocked          = "tenant.blocked"
	CauseMonitorCredentials     = "credentials.monitor"
	CauseSharedCredentials      = "credentials.shared"
	CauseIntegrationCredentials = "credentials.integration"
	CauseOutage                 = "sfmc.outage"
	CauseThrottling             = "sfmc.throttling"
	CauseIntegrationFailing     = "integration.failing"
	CauseAutomationDownstream   = "automation.downstream"
	CauseImportDownstream       = "import.downstream"
	CauseImportFeed             = "import.feed"
	CauseObjectState            = "object.state"
)

// MonitorIntegration is the integration name of sfmcwatch's own calls
// (monitor.Integration; repeated here to keep the dependency one way).
const MonitorIntegration = "sfmcwatch"

// MaxTitle is the longest title the step writes (runes).
const MaxTitle = 119
