package sim

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind names a fault the simulator can inject.
type Kind string

// Request-level faults: they change how the API answers.
const (
	// FaultCredentialsRotated makes v2/token answer 401 invalid_client.
	FaultCredentialsRotated Kind = "credentials_rotated"
	// FaultScopeRemoved answers 403 errorcode 20002 (REST) or an
	// "Insufficient Privileges" SOAP fault for calls needing the scope named
	// in Target (empty: every read scope); tokens no longer list the scope.
	FaultScopeRemoved Kind = "scope_removed"
	// FaultRESTThrottle answers REST calls 429 errorcode 50100 with
	// Retry-After (param retry_after, seconds, default 5).
	FaultRESTThrottle Kind = "rest_throttle"
	// FaultRESTBlocked answers REST calls 429 errorcode 50200, no Retry-After.
	FaultRESTBlocked Kind = "rest_blocked"
	// FaultSOAPThrottle answers SOAP calls HTTP 500 soap:Server "Rate Limited"
	// with apifault Code 17.
	FaultSOAPThrottle Kind = "soap_throttle"
	// FaultServerError answers HTTP 500 (REST classic body; SOAP apifault 2).
	FaultServerError Kind = "server_error"
	// FaultUnavailable answers REST 503 errorcode 50300 with Retry-After and
	// SOAP 500 "Unplanned Outage" (apifault 2).
	FaultUnavailable Kind = "service_unavailable"
	// FaultSlow delays answers by param delay (default 5s, real time).
	FaultSlow Kind = "slow"
	// FaultTimeout holds the request until the client gives up or param hold
	// (default 2m, real time) passes, then answers 504.
	FaultTimeout Kind = "timeout"
	// FaultTokenExpired treats every token issued before the fault started as
	// expired: REST 401 "Not Authorized", SOAP HTTP 500 q0:Security "Token
	// Expired". A new token works.
	FaultTokenExpired Kind = "token_expired"
)

// Object-level faults: they change the tenant's data. Target is an object
// key, name, id or a glob (path.Match) over the key or name; empty or "*"
// means every object of the type.
const (
	FaultAutomationError    Kind = "automation_error"    // runs end in Error with StatusMessage (param message)
	FaultAutomationStuck    Kind = "automation_stuck"    // the first run in the window never finishes; later runs are skipped
	FaultAutomationMissed   Kind = "automation_missed"   // scheduled runs do not happen; status stays Scheduled
	FaultAutomationPaused   Kind = "automation_paused"   // status PausedSchedule, schedule paused
	FaultAutomationInactive Kind = "automation_inactive" // triggered: InactiveTrigger; scheduled: Ready, schedule none

	FaultJourneyStopped Kind = "journey_stopped" // status Stopped, population drains
	FaultJourneyPaused  Kind = "journey_paused"  // status Paused
	FaultJourneyStalled Kind = "journey_stalled" // Published but cumulativePopulation stops growing

	FaultTriggeredSendInactive Kind = "triggered_send_inactive" // TriggeredSendStatus Inactive (sends queue)
	FaultTriggeredSendErrors   Kind = "triggered_send_errors"   // NotSentDueToError rises (param per_hour, default 120)
	FaultTriggeredSendBacklog  Kind = "triggered_send_backlog"  // Queued grows, Sent flat (param per_hour)

	FaultTransactionalNotSent Kind = "transactional_notsent" // not-sent events (params per_hour, status_code, message)
	FaultTransactionalQueue   Kind = "transactional_queue"   // definition Inactive, queue count/age grow (param per_hour)

	FaultDERowDrop        Kind = "de_row_drop"        // row count × param fraction (default 0.3)
	FaultDEEmptied        Kind = "de_emptied"         // row count 0
	FaultDESchemaChange   Kind = "de_schema_change"   // a field changes type and one is added; ModifiedDate moves
	FaultDERefreshStopped Kind = "de_refresh_stopped" // row count frozen (no loads)

	FaultImportErrors Kind = "import_errors" // runs complete with NumberErrors (param error_rate, default 0.4)
	FaultImportFailed Kind = "import_failed" // runs end with ImportStatus Error, no rows
	// FaultImportEmptyFile: runs report Completed from an empty file (0 rows,
	// no errors) and the destination data extension, overwritten, is empty.
	FaultImportEmptyFile Kind = "import_empty_file"

	// Step faults (steps.go): one activity of the automation's runs.
	FaultQueryError     Kind = "query_error"     // a query step fails (param message, default invalid column; param activity)
	FaultQuerySlow      Kind = "query_slow"      // a query step completes after param duration (default 26m)
	FaultFileMissing    Kind = "file_missing"    // an import/file transfer step finds no file (param message)
	FaultFileUnexpected Kind = "file_unexpected" // an import/file transfer step rejects an empty file (param message)
	// Send health: send jobs (automation email sends; target the
	// automation or its send activity) and triggered sends started in the
	// window.
	FaultSendVolumeDrop       Kind = "send_volume_drop"       // audience × param fraction (default 0.1)
	FaultSendBounceSpike      Kind = "send_bounce_spike"      // bounce rate param rate (default 0.2)
	FaultSendUnsubscribeSpike Kind = "send_unsubscribe_spike" // unsubscribe rate param rate (default 0.03)

	// FaultTransactionalSwallowed: messages integrations send to the
	// definition are accepted (202) and then listed in the not-sent feed
	// (param status_code, default 139) instead of being sent.
	FaultTransactionalSwallowed Kind = "transactional_swallowed"

	// FaultJourneyEventsDropped: entry events fired at the journey's entry
	// event (POST /interaction/v1/events) are answered 201 with an
	// eventInstanceId, but the contacts never enter the journey.
	FaultJourneyEventsDropped Kind = "journey_events_dropped"

	// FaultDERetention: the data extension gets row-based retention of
	// param days (default 1) and loses param fraction of its rows
	// (default 0.5).
	FaultDERetention Kind = "de_retention"
)

// Audit-trail faults: entries appear in GET /data/v1/audit/auditEvents and
// /securityEvents (see security.go). Target names the subject: the
// installed package (new_integration, scope_change), the audited object
// type (role_change, default SecuritySettings) or the user name that
// tries to log in (login_failures, ip_blocked).
const (
	FaultSecurityNewIntegration Kind = "security_new_integration" // an InstalledPackage Create entry at the fault's start
	FaultSecurityScopeChange    Kind = "security_scope_change"    // an InstalledPackage Update entry at the fault's start
	FaultSecurityRoleChange     Kind = "security_role_change"     // an Update entry of the object type in Target at the fault's start
	FaultSecurityLoginFailures  Kind = "security_login_failures"  // Login Attempted / Failed entries (param per_hour, default 12)
	FaultSecurityIPBlocked      Kind = "security_ip_blocked"      // Login Attempted entries refused by the IP allowlist (param per_hour, default 6)
)

// FaultTrustIncident makes the simulated Salesforce Trust status (trust.go)
// report an incident (param kind=incident, the default; status
// MAJOR_INCIDENT_CORE) or maintenance (kind=maintenance; MAINTENANCE_CORE)
// on the instance in Target (empty: every instance).
const FaultTrustIncident Kind = "trust_incident"

// kindInfo describes one fault kind.
type kindInfo struct {
	request bool
	// surfaces hit when Target is empty (request faults only).
	surfaces []string
	summary  string
}

var kinds = map[Kind]kindInfo{
	FaultCredentialsRotated: {true, []string{"auth"}, "v2/token answers 401 invalid_client"},
	FaultScopeRemoved:       {true, []string{"rest", "soap"}, "403 errorcode 20002 for calls needing the scope in target"},
	FaultRESTThrottle:       {true, []string{"rest"}, "429 errorcode 50100 with Retry-After"},
	FaultRESTBlocked:        {true, []string{"rest"}, "429 errorcode 50200"},
	FaultSOAPThrottle:       {true, []string{"soap"}, "SOAP 500 Rate Limited, apifault Code 17"},
	FaultServerError:        {true, []string{"rest", "soap"}, "HTTP 500"},
	FaultUnavailable:        {true, []string{"rest", "soap"}, "REST 503 errorcode 50300 / SOAP Unplanned Outage"},
	FaultSlow:               {true, []string{"rest", "soap", "auth"}, "answers delayed by params.delay"},
	FaultTimeout:            {true, []string{"rest", "soap"}, "request hangs, then 504"},
	FaultTokenExpired:       {true, []string{"rest", "soap"}, "tokens issued before the fault are expired"},

	FaultAutomationError:       {summary: "automation runs end in Error with StatusMessage"},
	FaultAutomationStuck:       {summary: "an automation run never finishes"},
	FaultAutomationMissed:      {summary: "scheduled automation runs are missed"},
	FaultAutomationPaused:      {summary: "automation paused"},
	FaultAutomationInactive:    {summary: "automation inactive"},
	FaultJourneyStopped:        {summary: "journey stopped"},
	FaultJourneyPaused:         {summary: "journey paused"},
	FaultJourneyStalled:        {summary: "journey enrollment stalls"},
	FaultTriggeredSendInactive: {summary: "triggered send definition inactive"},
	FaultTriggeredSendErrors:   {summary: "NotSentDueToError rises"},
	FaultTriggeredSendBacklog:  {summary: "Queued backlog grows"},
	FaultTransactionalNotSent:  {summary: "transactional not-sent events"},
	FaultTransactionalQueue:    {summary: "transactional definition inactive, queue grows"},
	FaultDERowDrop:             {summary: "data extension row count drops"},
	FaultDEEmptied:             {summary: "data extension emptied"},
	FaultDESchemaChange:        {summary: "data extension schema changes"},
	FaultDERefreshStopped:      {summary: "data extension no longer refreshed"},
	FaultImportErrors:          {summary: "import runs with NumberErrors"},
	FaultImportFailed:          {summary: "import runs with ImportStatus Error"},
	FaultImportEmptyFile:       {summary: "import runs complete from an empty file; destination emptied"},
	FaultQueryError:            {summary: "a query step of the automation's runs fails"},
	FaultQuerySlow:             {summary: "a query step runs close to SFMC's 30-minute limit"},
	FaultFileMissing:           {summary: "an import or file transfer step finds no file"},
	FaultFileUnexpected:        {summary: "an import or file transfer step gets an unusable file"},
	FaultSendVolumeDrop:        {summary: "send jobs and triggered sends reach a fraction of their audience"},
	FaultSendBounceSpike:       {summary: "send jobs and triggered sends bounce at a high rate"},
	FaultSendUnsubscribeSpike:  {summary: "send jobs and triggered sends draw many unsubscribes"},

	// Accepted through the API, then not sent.
	FaultTransactionalSwallowed: {summary: "transactional messages accepted through the API are not sent"},
	FaultJourneyEventsDropped:   {summary: "journey entry events are accepted (201) but contacts do not enter the journey"},
	FaultDERetention:            {summary: "data extension gets short row-based retention; rows expire"},

	FaultSecurityNewIntegration: {summary: "audit trail: an installed package is created"},
	FaultSecurityScopeChange:    {summary: "audit trail: an installed package is modified"},
	FaultSecurityRoleChange:     {summary: "audit trail: roles, users or security settings change"},
	FaultSecurityLoginFailures:  {summary: "audit trail: repeated failed logins of one user"},
	FaultSecurityIPBlocked:      {summary: "audit trail: logins refused by the IP allowlist"},
	FaultTrustIncident:          {summary: "Salesforce Trust reports an incident or maintenance on the instance"},
}

// Kinds returns every fault kind, sorted.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Valid reports whether k is a known fault kind.
func (k Kind) Valid() bool { _, ok := kinds[k]; return ok }

// Fault is one injected fault.
type Fault struct {
	// ID is assigned by Inject.
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// MID limits the fault to one tenant; 0 means every tenant.
	MID int64 `json:"mid,omitempty"`
	// Target selects what the fault hits. Request faults: "rest", "soap",
	// "auth", "all", or a path prefix such as "/interaction/" (empty: the
	// kind's default surfaces); scope_removed: the scope name. Object faults:
	// an object key, name, id or glob ("" or "*": all objects of the type).
	Target string `json:"target,omitempty"`
	// Start is the simulated time the fault begins; zero means now.
	Start time.Time `json:"start"`
	// Duration is how long (simulated) it lasts; 0 means until cleared.
	Duration time.Duration `json:"duration"`
	// Count limits a request fault to the first Count matching requests
	// (0: unlimited).
	Count int `json:"count,omitempty"`
	// Params tune the fault (see each kind).
	Params map[string]string `json:"params,omitempty"`
}

// FaultState is a fault with its runtime state.
type FaultState struct {
	Fault
	End    time.Time `json:"end,omitzero"`
	Active bool      `json:"active"`
	Used   int       `json:"used"`
	// Cleared is set when the fault was ended early with Clear.
	Cleared bool `json:"cleared,omitempty"`
}

type faultEntry struct {
	f       Fault
	end     time.Time // zero: open-ended
	used    int
	cleared bool
}

func (e *faultEntry) activeAt(t time.Time) bool {
	if t.Before(e.f.Start) {
		return false
	}
	return e.end.IsZero() || t.Before(e.end)
}

// window is a period during which an object fault applies.
type window struct {
	start, end time.Time // end zero: open
	f          *Fault
}

func (w window) contains(t time.Time) bool {
	return !t.Before(w.start) && (w.end.IsZero() || t.Before(w.end))
}

// overlap returns how much of [from, to) the window covers.
func (w window) overlap(from, to time.Time) time.Duration {
	s := w.start
	if s.Before(from) {
		s = from
	}
	e := to
	if !w.end.IsZero() && w.end.Before(e) {
		e = w.end
	}
	if !s.Before(e) {
		return 0
	}
	return e.Sub(s)
}

// registry holds injected faults. Ended faults stay so the history they
// caused (cumulative counters, skipped runs) stays consistent.
type registry struct {
	mu      sync.Mutex
	next    int
	entries []*faultEntry
}

func (r *registry) add(f Fault) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	f.ID = "f" + strconv.Itoa(r.next)
	e := &faultEntry{f: f}
	if f.Duration > 0 {
		e.end = f.Start.Add(f.Duration)
	}
	r.entries = append(r.entries, e)
	return f.ID
}

// clear ends a fault at now; a fault that has not started is removed.
func (r *registry) clear(id string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, e := range r.entries {
		if e.f.ID != id {
			continue
		}
		switch {
		case now.Before(e.f.Start):
			r.entries = slices.Delete(r.entries, i, i+1)
		case e.end.IsZero() || now.Before(e.end):
			e.end = now
			e.cleared = true
		}
		return true
	}
	return false
}

func (r *registry) list(now time.Time) []FaultState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]FaultState, 0, len(r.entries))
	for _, e := range r.entries {
		st := FaultState{Fault: e.f, End: e.end, Used: e.used, Cleared: e.cleared}
		st.Params = maps(e.f.Params)
		st.Active = e.activeAt(now) && (e.f.Count == 0 || e.used < e.f.Count)
		out = append(out, st)
	}
	return out
}

func maps(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// reqCtx describes a request for matching request faults.
type reqCtx struct {
	surface string // rest, soap, auth
	path    string
	mid     int64
	scope   string // scope the call needs
}

// take returns the first active request fault of one of the kinds matching
// the request and counts it as used.
func (r *registry) take(now time.Time, rc reqCtx, want ...Kind) *Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if !slices.Contains(want, e.f.Kind) || !e.activeAt(now) {
			continue
		}
		if e.f.Count > 0 && e.used >= e.f.Count {
			continue
		}
		if e.f.MID != 0 && rc.mid != 0 && e.f.MID != rc.mid {
			continue
		}
		if !matchRequest(e.f, rc) {
			continue
		}
		e.used++
		f := e.f
		return &f
	}
	return nil
}

func matchRequest(f Fault, rc reqCtx) bool {
	if f.Kind == FaultScopeRemoved {
		if rc.surface == "auth" || rc.scope == "" {
			return false
		}
		return f.Target == "" || f.Target == "*" || f.Target == rc.scope
	}
	t := f.Target
	switch {
	case t == "" || t == "*":
		return slices.Contains(kinds[f.Kind].surfaces, rc.surface)
	case t == "all":
		return true
	case strings.HasPrefix(t, "/"):
		return strings.HasPrefix(rc.path, t)
	default:
		for _, s := range strings.Split(t, ",") {
			if strings.TrimSpace(s) == rc.surface {
				return true
			}
		}
		return false
	}
}

// removedScopes returns the scopes removed at now for mid.
func (r *registry) removedScopes(now time.Time, mid int64) (all bool, scopes []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if e.f.Kind != FaultScopeRemoved || !e.activeAt(now) || (e.f.MID != 0 && e.f.MID != mid) {
			continue
		}
		if e.f.Target == "" || e.f.Target == "*" {
			all = true
			continue
		}
		scopes = append(scopes, e.f.Target)
	}
	return all, scopes
}

// windows returns the periods during which faults of kind k apply to the
// object identified by ids (key, name, id...) in tenant mid.
func (r *registry) windows(k Kind, mid int64, ids ...string) []window {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []window
	for _, e := range r.entries {
		if e.f.Kind != k || (e.f.MID != 0 && e.f.MID != mid) {
			continue
		}
		if !matchObject(e.f.Target, ids) {
			continue
		}
		f := e.f
		out = append(out, window{start: e.f.Start, end: e.end, f: &f})
	}
	return out
}

// tokenExpiredSince returns the start of the earliest active token_expired
// fault matching the request, or the zero time.
func (r *registry) tokenExpiredSince(now time.Time, rc reqCtx) (time.Time, *Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if e.f.Kind != FaultTokenExpired || !e.activeAt(now) || (e.f.Count > 0 && e.used >= e.f.Count) {
			continue
		}
		if e.f.MID != 0 && rc.mid != 0 && e.f.MID != rc.mid {
			continue
		}
		if !matchRequest(e.f, rc) {
			continue
		}
		f := e.f
		return e.f.Start, &f
	}
	return time.Time{}, nil
}

func (r *registry) use(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if e.f.ID == id {
			e.used++
		}
	}
}

func matchObject(target string, ids []string) bool {
	if target == "" || target == "*" {
		return true
	}
	for _, t := range strings.Split(target, ",") {
		t = strings.TrimSpace(t)
		for _, id := range ids {
			if id == "" {
				continue
			}
			if strings.EqualFold(t, id) {
				return true
			}
			if ok, _ := path.Match(t, id); ok {
				return true
			}
		}
	}
	return false
}

// activeIn reports whether any window contains t.
func activeIn(ws []window, t time.Time) *window {
	for i := range ws {
		if ws[i].contains(t) {
			return &ws[i]
		}
	}
	return nil
}

// paramFloat reads a float parameter.
func (f *Fault) paramFloat(name string, def float64) float64 {
	if f == nil || f.Params == nil {
		return def
	}
	v, ok := f.Params[name]
	if !ok {
		return def
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return def
	}
	return x
}

func (f *Fault) paramDuration(name string, def time.Duration) time.Duration {
	if f == nil || f.Params == nil {
		return def
	}
	v, ok := f.Params[name]
	if !ok {
		return def
	}
	if d, err := time.ParseDuration(strings.TrimSpace(v)); err == nil {
		return d
	}
	if x, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
		return time.Duration(x * float64(time.Second))
	}
	return def
}

func (f *Fault) param(name, def string) string {
	if f == nil || f.Params == nil {
		return def
	}
	if v, ok := f.Params[name]; ok && v != "" {
		return v
	}
	return def
}

// validateFault checks a fault before injection.
func validateFault(f Fault) error {
	if !f.Kind.Valid() {
		return fmt.Errorf("unknown fault kind %q (known: %s)", f.Kind, joinKinds())
	}
	if f.Duration < 0 {
		return fmt.Errorf("fault %s: negative duration", f.Kind)
	}
	if f.Count < 0 {
		return fmt.Errorf("fault %s: negative count", f.Kind)
	}
	return nil
}

func joinKinds() string {
	ks := Kinds()
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
