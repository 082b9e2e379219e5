package correlate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Lineage is what sfmcwatch can read about how objects feed each other,
// from the latest snapshots (keys as in incidents' resource keys).
type Lineage struct {
	// AutomationTargets: automation key → the data extensions its
	// activities write (resource.AutomationState.TargetDataExtensions).
	AutomationTargets map[string][]string
	// ImportDestination: import key → its destination data extension.
	ImportDestination map[string]string
	// ImportLocation: import key → its file transfer location
	// (resource.ImportState.FileLocation).
	ImportLocation map[string]string
	// JourneyEntry: journey key → its entry source data extension.
	JourneyEntry map[string]string
}

// Decision is the correlation of one open incident.
type Decision struct {
	// CausedBy is the cause incident's id (0 = top-level).
	CausedBy int64
	// Cause is the recognised cause when the incident is one.
	Cause string
	// Title is the cause's title when the step writes one ("" = the
	// rule's title stays).
	Title string
}

// Plan decides the correlation of a tenant's open incidents: a decision
// for every incident in open (top-level ones get the zero Decision, or a
// Cause when they are causes). It is a pure function of its inputs; the
// current CausedBy/Cause of the incidents only make cause choices sticky.
// linked holds, per current cause, the incidents already attached to it
// (resolved ones included): a cause's title counts them too.
func Plan(open []store.Incident, lin Lineage, linked map[int64][]store.Incident) map[int64]Decision {
	return PlanHeld(open, lin, linked, nil)
}

// PlanHeld is Plan with held children: held maps an open incident to the
// resolved cause that still explains it while the cause settles (see
// WithPromoteAfter). A held incident keeps that cause and joins no other
// cluster; once it is no longer held it is planned like any other.
func PlanHeld(open []store.Incident, lin Lineage, linked map[int64][]store.Incident, held map[int64]int64) map[int64]Decision {
	p := planner{out: make(map[int64]Decision, len(open)), assigned: map[int64]bool{}, lineage: lin, linked: linked}
	p.open = slices.Clone(open)
	slices.SortFunc(p.open, func(a, b store.Incident) int {
		return cmp.Or(a.OpenedAt.Compare(b.OpenedAt), cmp.Compare(a.ID, b.ID))
	})
	for _, in := range p.open {
		p.out[in.ID] = Decision{}
		if cause, ok := held[in.ID]; ok && cause != 0 {
			p.out[in.ID] = Decision{CausedBy: cause}
			p.assigned[in.ID] = true
		}
	}
	p.tenantBlocked()
	p.credentials()
	p.integrationCredentials()
	p.spread(CauseOutage, func(in store.Incident) bool { return in.Family == "server" || in.Family == "timeout" })
	p.spread(CauseThrottling, func(in store.Incident) bool { return in.Family == "rate_limit" })
	p.integrationFold()
	p.objectState()
	p.downstream()
	p.importFeed()
	p.loneCauses()
	return p.out
}

// loneCauses keeps a cause a cause while it is open (sticky) when the
// incidents it explained resolved before it: its cause and title stay.
func (p *planner) loneCauses() {
	for _, in := range p.open {
		if p.assigned[in.ID] || in.Cause == "" || in.CausedBy != 0 || len(p.linked[in.ID]) == 0 {
			continue
		}
		p.assigned[in.ID] = true
		p.out[in.ID] = Decision{Cause: in.Cause}
		p.title(in.ID, causeTitle(in.Cause, in, p.withLinked(in.ID, []store.Incident{in})))
	}
}

type planner struct {
	lineage  Lineage
	linked   map[int64][]store.Incident
	open     []store.Incident
	out      map[int64]Decision
	assigned map[int64]bool
}

// form makes members (those not in a cluster yet) a cluster when there are
// at least two: the cause is the tenant.blocked incident of a block, else
// the current cause among them (sticky: a notified cause is not demoted),
// else the first one prefer accepts, else the earliest. It returns the cause and the
// members that joined (nil when no cluster formed).
func (p *planner) form(kind string, members []store.Incident, prefer func(store.Incident) bool) (store.Incident, []store.Incident) {
	members = slices.DeleteFunc(slices.Clone(members), func(in store.Incident) bool { return p.assigned[in.ID] })
	if len(members) < 2 {
		return store.Incident{}, nil
	}
	i := -1
	if kind == CauseTenantBlocked {
		// The block explains everything else: its incident is the cause
		// even when another one was a cause before.
		i = slices.IndexFunc(members, func(in store.Incident) bool { return in.Rule == "tenant.blocked" })
	}
	if i < 0 {
		i = slices.IndexFunc(members, func(in store.Incident) bool { return in.Cause != "" && in.CausedBy == 0 })
	}
	if i < 0 && prefer != nil {
		i = slices.IndexFunc(members, prefer)
	}
	i = max(i, 0)
	cause := members[i]
	for _, m := range members {
		p.assigned[m.ID] = true
		if m.ID != cause.ID {
			p.out[m.ID] = Decision{CausedBy: cause.ID}
		}
	}
	p.out[cause.ID] = Decision{Cause: kind}
	return cause, members
}

// withLinked adds to a cluster's members the incidents already attached to
// its cause that are not open any more (for the cause's title).
func (p *planner) withLinked(cause int64, ms []store.Incident) []store.Incident {
	out := slices.Clone(ms)
	for _, in := range p.linked[cause] {
		if !slices.ContainsFunc(out, func(m store.Incident) bool { return m.ID == in.ID }) {
			out = append(out, in)
		}
	}
	return out
}

func (p *planner) title(id int64, t string) {
	if t == "" {
		return
	}
	d := p.out[id]
	d.Title = clip(t)
	p.out[id] = d
}

func (p *planner) rule(rules ...string) []store.Incident {
	var out []store.Incident
	for _, in := range p.open {
		if slices.Contains(rules, in.Rule) {
			out = append(out, in)
		}
	}
	return out
}

func (p *planner) apiErrors(keep func(store.Incident) bool) []store.Incident {
	var out []store.Incident
	for _, in := range p.open {
		if isAPIErrors(in) && !p.assigned[in.ID] && (keep == nil || keep(in)) {
			out = append(out, in)
		}
	}
	return out
}

func (p *planner) tenantBlocked() {
	blocked := p.rule("tenant.blocked")
	if len(blocked) == 0 {
		return
	}
	members := append(blocked[:1:1], p.rule("tenant.blind")...)
	members = append(members, p.apiErrors(nil)...)
	cause, ms := p.form(CauseTenantBlocked, members, nil)
	if ms != nil {
		ms = p.withLinked(cause.ID, ms)
		p.title(cause.ID, causeTitle(CauseTenantBlocked, cause, ms))
	}
}

// credentials: the monitor's own credentials rejected, or one secret shared
// by several integrations rotated.
func (p *planner) credentials() {
	// Blindness from rejected credentials (or a near secret expiry); a
	// token endpoint that is unreachable or failing is the outage's.
	var blind []store.Incident
	for _, in := range p.rule("tenant.blind") {
		if in.Family == "auth" {
			blind = append(blind, in)
		}
	}
	monitor := p.apiErrors(func(in store.Incident) bool { return in.Family == "auth" && integration(in) == MonitorIntegration })
	token := p.apiErrors(func(in store.Incident) bool {
		return in.Family == "auth" && isTokenEndpoint(in.ResourceKey) && integration(in) != MonitorIntegration
	})
	// Codes the monitor's own token requests fail with, and codes several
	// integrations' token requests fail with at once.
	monitorCodes := map[string]bool{}
	for _, in := range monitor {
		if isTokenEndpoint(in.ResourceKey) {
			monitorCodes[code(in)] = true
		}
	}
	byCode := map[string]map[string]bool{}
	for _, in := range token {
		if byCode[code(in)] == nil {
			byCode[code(in)] = map[string]bool{}
		}
		byCode[code(in)][integration(in)] = true
	}
	members := append(slices.Clone(blind), monitor...)
	for _, in := range token {
		if monitorCodes[code(in)] || len(byCode[code(in)]) >= 2 || (len(blind) > 0 && len(monitor) == 0) {
			members = append(members, in)
		}
	}
	slices.SortFunc(members, byOpened)
	kind := CauseSharedCredentials
	if len(blind) > 0 || len(monitor) > 0 {
		kind = CauseMonitorCredentials
	}
	cause, ms := p.form(kind, members, func(in store.Incident) bool { return in.Rule == "tenant.blind" })
	if ms == nil {
		return
	}
	ms = p.withLinked(cause.ID, ms)
	p.title(cause.ID, causeTitle(kind, cause, ms))
}

// integrationCredentials folds one integration's auth failures across
// endpoints under its token-endpoint incident.
func (p *planner) integrationCredentials() {
	by := map[string][]store.Incident{}
	var order []string
	for _, in := range p.apiErrors(func(in store.Incident) bool { return in.Family == "auth" }) {
		k := integration(in)
		if by[k] == nil {
			order = append(order, k)
		}
		by[k] = append(by[k], in)
	}
	for _, k := range order {
		cause, ms := p.form(CauseIntegrationCredentials, by[k], func(in store.Incident) bool { return isTokenEndpoint(in.ResourceKey) })
		if ms != nil {
			ms = p.withLinked(cause.ID, ms)
			p.title(cause.ID, causeTitle(CauseIntegrationCredentials, cause, ms))
		}
	}
}

// spread folds the api.errors of a family that fail across at least two
// endpoints or integrations at once: a tenant-wide condition.
func (p *planner) spread(kind string, keep func(store.Incident) bool) {
	ms := p.apiErrors(keep)
	if spans(ms) < 2 && len(integrations(ms)) < 2 {
		return
	}
	// The monitor's own token requests failing the same way are the same
	// condition (tenant.blind with that family).
	for _, in := range p.rule("tenant.blind") {
		if keep(in) {
			ms = append(ms, in)
		}
	}
	slices.SortFunc(ms, byOpened)
	cause, ms := p.form(kind, ms, nil)
	if ms == nil {
		return
	}
	ms = p.withLinked(cause.ID, ms)
	p.title(cause.ID, causeTitle(kind, cause, ms))
}

// integrationFold folds the remaining api.errors of one integration and
// family across endpoints into one incident listing the endpoints.
func (p *planner) integrationFold() {
	type key struct{ integration, family string }
	by := map[key][]store.Incident{}
	var order []key
	for _, in := range p.apiErrors(nil) {
		k := key{integration(in), in.Family}
		if by[k] == nil {
			order = append(order, k)
		}
		by[k] = append(by[k], in)
	}
	for _, k := range order {
		cause, ms := p.form(CauseIntegrationFailing, by[k], nil)
		if ms != nil {
			ms = p.withLinked(cause.ID, ms)
			p.title(cause.ID, causeTitle(CauseIntegrationFailing, cause, ms))
		}
	}
}

// stateExplains lists, per rule of an object's state, the rules of the same
// object it explains.
var stateExplains = map[string][]string{
	"journey.stopped":         {"journey.enrollment_drop", "journey.split_skew"},
	"triggered_send.inactive": {"triggered_send.silent_failure", "triggered_send.backlog", "send.silent_failure", "send.volume_drop"},
	"triggered_send.errors":   {"triggered_send.silent_failure", "send.silent_failure"},
	"automation.paused":       {"automation.missed_run", "automation.no_output"},
	"automation.error":        {"automation.missed_run", "automation.no_output", "automation.partial"},
	"automation.stalled":      {"automation.missed_run", "automation.no_output"},
	"import.failed":           {"import.partial"},
	// A failing step is the specific cause of its automation's error (the
	// same run, one page), and of what follows from it.
	// Another step of the same automation failing while the first is
	// open is the same failure surfacing elsewhere (the run stops at the
	// first failed step; the next run's data moved the failure): one page.
	"query.failed":         append([]string{"automation.error", "automation.missed_run", "automation.no_output", "automation.partial"}, stepRules...),
	"file.missing":         append([]string{"automation.error", "automation.missed_run", "automation.no_output", "automation.partial"}, stepRules...),
	"file.unexpected":      append([]string{"automation.error", "automation.no_output", "automation.partial"}, stepRules...),
	"query.timeout":        {"automation.stalled", "automation.no_output", "automation.partial"},
	"automation.no_output": {"automation.partial"},
}

// stepRules are the rules of an automation's steps.
var stepRules = []string{"query.failed", "query.timeout", "file.missing", "file.unexpected"}

// killedExplains: a query killed at SFMC's limit (query.timeout at error
// severity or above) also explains the automation's error.
var killedExplains = []string{"automation.error", "automation.missed_run"}

// stateOrder is the order stateExplains is applied in (the first claim
// wins).
var stateOrder = []string{"journey.stopped", "triggered_send.inactive", "automation.paused",
	"query.failed", "query.timeout", "file.missing", "file.unexpected", "automation.error",
	"automation.stalled", "automation.no_output", "import.failed", "triggered_send.errors"}

func (p *planner) objectState() {
	for _, rule := range stateOrder {
		for _, cause := range p.rule(rule) {
			if p.assigned[cause.ID] && p.out[cause.ID].CausedBy != 0 {
				continue
			}
			members := []store.Incident{cause}
			explains := stateExplains[rule]
			if rule == "query.timeout" && catalog.Severity(cause.Severity).Rank() >= catalog.Error.Rank() {
				explains = append(slices.Clone(explains), killedExplains...)
			}
			for _, in := range p.rule(explains...) {
				if in.ResourceType == cause.ResourceType && in.ResourceKey == cause.ResourceKey {
					members = append(members, in)
				}
			}
			p.join(CauseObjectState, cause, members)
		}
	}
}

// join attaches members (the cause first) to a cause that may already be
// one: unlike form, the cause is given.
func (p *planner) join(kind string, cause store.Incident, members []store.Incident) {
	n := 0
	for _, m := range members[1:] {
		if p.assigned[m.ID] || m.ID == cause.ID {
			continue
		}
		p.assigned[m.ID] = true
		p.out[m.ID] = Decision{CausedBy: cause.ID}
		n++
	}
	if n == 0 {
		return
	}
	p.assigned[cause.ID] = true
	if d := p.out[cause.ID]; d.Cause == "" {
		d.Cause = kind
		p.out[cause.ID] = d
	}
}

var downstreamRules = []string{"data_extension.empty", "data_extension.stale", "data_extension.row_drop"}

// downstream: an automation or import failure explains the data extensions
// it writes and the journeys they feed when those fail after it began.
func (p *planner) downstream() {
	type src struct {
		kind    string
		rules   []string
		targets func(key string) []string
	}
	for _, s := range []src{
		{CauseAutomationDownstream, []string{"automation.error", "automation.stalled", "automation.missed_run", "automation.partial",
			"query.failed", "query.timeout", "file.missing", "file.unexpected", "automation.no_output"},
			func(k string) []string { return lineTargets(k, p, true) }},
		{CauseImportDownstream, []string{"import.failed", "import.partial"},
			func(k string) []string { return lineTargets(k, p, false) }},
	} {
		for _, cause := range p.rule(s.rules...) {
			if p.out[cause.ID].CausedBy != 0 {
				continue
			}
			targets := s.targets(cause.ResourceKey)
			if len(targets) == 0 {
				continue
			}
			began := cause.FirstSeen
			if cause.FailureKnown() && cause.FailureStartedAt.Before(began) {
				began = cause.FailureStartedAt
			}
			members := []store.Incident{cause}
			for _, in := range p.open {
				if in.OpenedAt.Before(began) {
					continue // failing before the cause began: not its doing
				}
				switch {
				case in.ResourceType == "data_extension" && slices.Contains(downstreamRules, in.Rule) && slices.Contains(targets, in.ResourceKey):
					members = append(members, in)
				case in.Rule == "journey.enrollment_drop" && slices.Contains(targets, journeyEntry(p, in.ResourceKey)):
					members = append(members, in)
				}
			}
			p.join(s.kind, cause, members)
		}
	}
}

// importFeedWindow is how close together the failures of imports reading
// one file transfer location must begin to be one feed's failure.
const importFeedWindow = 2 * time.Hour

// importFeed: imports that read one file transfer location (one partner's
// drop: ImportDefinition.fileTransferLocationId) and begin failing
// (import.failed, import.partial) within importFeedWindow of each other
// are one failing feed: the first to open is the cause, the others and
// what they explained (their downstream) become its children. Imports
// whose location is unknown never join.
func (p *planner) importFeed() {
	by := map[string][]store.Incident{}
	var order []string
	for _, in := range p.rule("import.failed", "import.partial") {
		loc := p.lin().ImportLocation[in.ResourceKey]
		if loc == "" || p.out[in.ID].CausedBy != 0 {
			continue
		}
		if by[loc] == nil {
			order = append(order, loc)
		}
		by[loc] = append(by[loc], in)
	}
	for _, loc := range order {
		rest := by[loc] // in opening order (p.open is)
		for len(rest) > 1 {
			// A current feed cause stays the cause (sticky); else the
			// first to open.
			i := max(slices.IndexFunc(rest, func(in store.Incident) bool { return in.Cause == CauseImportFeed && in.CausedBy == 0 }), 0)
			cause := rest[i]
			var members, later []store.Incident
			for _, in := range rest {
				if d := onset(in).Sub(onset(cause)); d <= importFeedWindow && d >= -importFeedWindow {
					members = append(members, in)
				} else {
					later = append(later, in)
				}
			}
			if len(members) > 1 {
				p.feed(cause, members)
			}
			rest = later
		}
	}
}

// feed makes cause the import.feed cause of members (cause included):
// the other members and the incidents they explained become its children.
func (p *planner) feed(cause store.Incident, members []store.Incident) {
	demoted := map[int64]bool{}
	for _, m := range members {
		if m.ID != cause.ID {
			demoted[m.ID] = true
			p.assigned[m.ID] = true
			p.out[m.ID] = Decision{CausedBy: cause.ID}
		}
	}
	var all []store.Incident
	for _, in := range p.open {
		if d := p.out[in.ID]; demoted[d.CausedBy] {
			d.CausedBy = cause.ID
			p.out[in.ID] = d
		}
		if in.ID == cause.ID || p.out[in.ID].CausedBy == cause.ID {
			all = append(all, in)
		}
	}
	p.assigned[cause.ID] = true
	p.out[cause.ID] = Decision{Cause: CauseImportFeed}
	p.title(cause.ID, causeTitle(CauseImportFeed, cause, p.withLinked(cause.ID, all)))
}

// onset is when an incident's failure began: SFMC's own timestamp when
// known, else the first evidence.
func onset(in store.Incident) time.Time {
	if in.FailureKnown() && (in.FirstSeen.IsZero() || in.FailureStartedAt.Before(in.FirstSeen)) {
		return in.FailureStartedAt
	}
	if in.FirstSeen.IsZero() {
		return in.OpenedAt
	}
	return in.FirstSeen
}

func (p *planner) lin() Lineage { return p.lineage }

// lineTargets are the data extensions an automation writes, or an import's
// destination.
func lineTargets(key string, p *planner, automation bool) []string {
	if automation {
		return p.lin().AutomationTargets[key]
	}
	if d := p.lin().ImportDestination[key]; d != "" {
		return []string{d}
	}
	return nil
}

func journeyEntry(p *planner, key string) string {
	e := p.lin().JourneyEntry[key]
	if e == "" {
		return "\x00none"
	}
	return e
}

// isAPIErrors: api.errors (one endpoint) and api.errors.integration (one
// integration across endpoints) incidents.
func isAPIErrors(in store.Incident) bool {
	return in.Rule == "api.errors" || in.Rule == "api.errors.integration"
}

// integration is the integration of an api.errors incident (from its
// fingerprint: rule|tenant|type|endpoint|integration|family|code; for
// api.errors.integration the resource key is "integration:<name>").
func integration(in store.Incident) string {
	if in.Rule == "api.errors.integration" {
		return strings.TrimPrefix(in.ResourceKey, "integration:")
	}
	parts := strings.Split(in.Fingerprint, "|")
	if len(parts) < 7 {
		return ""
	}
	return parts[len(parts)-3]
}

// code is the surface:code of an api.errors incident ("" for
// api.errors.integration, which may span codes).
func code(in store.Incident) string {
	if in.Rule == "api.errors.integration" {
		return ""
	}
	parts := strings.Split(in.Fingerprint, "|")
	if len(parts) < 7 {
		return ""
	}
	return parts[len(parts)-1]
}

func isTokenEndpoint(ep string) bool {
	return strings.HasSuffix(ep, "/v2/token") || strings.HasSuffix(ep, "/v1/requestToken")
}

func byOpened(a, b store.Incident) int {
	return cmp.Or(a.OpenedAt.Compare(b.OpenedAt), cmp.Compare(a.ID, b.ID))
}

func who(integration string) string {
	if integration == "" {
		return "(unnamed integration)"
	}
	return integration
}

func endpoints(ms []store.Incident) []string {
	var out []string
	for _, m := range ms {
		if m.Rule == "api.errors" {
			out = append(out, m.ResourceKey)
		}
	}
	return uniq(out)
}

// spans counts the endpoints of ms, an api.errors.integration incident
// counting as two (it fails across endpoints).
func spans(ms []store.Incident) int {
	n := len(endpoints(ms))
	for _, m := range ms {
		if m.Rule == "api.errors.integration" {
			n += 2
		}
	}
	return n
}

func integrations(ms []store.Incident) []string {
	var out []string
	for _, m := range ms {
		if isAPIErrors(m) {
			out = append(out, who(integration(m)))
		}
	}
	return uniq(out)
}

func codesOf(ms []store.Incident) string {
	c := map[string]bool{}
	for _, m := range ms {
		if isAPIErrors(m) && code(m) != "" {
			c[code(m)] = true
		}
	}
	return keys(c)
}

func explained(ms []store.Incident, cause int64) string {
	n := 0
	for _, m := range ms {
		if m.ID != cause {
			n++
		}
	}
	if n == 1 {
		return "1 other incident"
	}
	return fmt.Sprintf("%d other incidents", n)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func uniq(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func keys(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return list(out, 2)
}

// list joins up to n values and says how many more there are.
func list(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(" +%d more", len(s)-n)
}

// clip keeps a title under MaxTitle runes.
func clip(t string) string {
	r := []rune(t)
	if len(r) <= MaxTitle {
		return t
	}
	return string(r[:MaxTitle-1]) + "…"
}

// causeTitle names a cause assembled from several incidents and what it
// explains; "" for causes whose incident's own title names them.
func causeTitle(kind string, cause store.Incident, ms []store.Incident) string {
	switch kind {
	case CauseTenantBlocked:
		return fmt.Sprintf("SFMC blocks tenant %s (50200); %s fail with it", cause.Tenant, explained(ms, cause.ID))
	case CauseMonitorCredentials, CauseSharedCredentials:
		var who []string
		codes := map[string]bool{}
		for _, m := range ms {
			if m.Rule == "tenant.blind" {
				who = append(who, MonitorIntegration)
				continue
			}
			who = append(who, integration(m))
			codes[code(m)] = true
		}
		if kind == CauseMonitorCredentials && !slices.Contains(who, MonitorIntegration) {
			who = append([]string{MonitorIntegration}, who...)
		}
		// The monitor first: it names whose credentials they are.
		slices.SortStableFunc(who, func(a, b string) int {
			return cmp.Compare(boolInt(b == MonitorIntegration), boolInt(a == MonitorIntegration))
		})
		return fmt.Sprintf("Secret rotated? %s credentials rejected (%s): %s", cause.Tenant, keys(codes), list(uniq(who), 3))
	case CauseIntegrationCredentials:
		return fmt.Sprintf("%s credentials rejected: auth fails on %s (%s)", who(integration(cause)), plural(len(endpoints(ms)), "endpoint"), codesOf(ms))
	case CauseOutage:
		return fmt.Sprintf("SFMC outage or maintenance on %s: 5xx/timeouts on %s, %s (%s)", cause.Tenant,
			plural(len(endpoints(ms)), "endpoint"), plural(len(integrations(ms)), "integration"), list(integrations(ms), 3))
	case CauseThrottling:
		return fmt.Sprintf("SFMC throttles %s: rate limited on %s, %s (%s)", cause.Tenant,
			plural(len(endpoints(ms)), "endpoint"), plural(len(integrations(ms)), "integration"), list(integrations(ms), 3))
	case CauseImportFeed:
		var names []string
		for _, m := range ms {
			if m.Rule == "import.failed" || m.Rule == "import.partial" {
				names = append(names, m.ResourceKey)
			}
		}
		names = uniq(names)
		return fmt.Sprintf("Import feed failing on %s: %s from one file location (%s)", cause.Tenant, plural(len(names), "import"), list(names, 3))
	case CauseIntegrationFailing:
		eps := endpoints(ms)
		return fmt.Sprintf("%s calls fail (%s, %s) on %s: %s", who(integration(cause)), cause.Family, codesOf(ms), plural(len(eps), "endpoint"), list(eps, 3))
	}
	return ""
}
