// Package callplan plans the SFMC API calls of sfmcwatch's collectors:
// the page sizes, per-poll budgets and cadences the collectors follow
// (internal/collect reads its limits from here) and the calls per day they
// add up to for a tenant's monitors and inventory (config's estimate and
// check-config print it). One place decides both, so the estimate moves
// when the collectors' behaviour does.
package callplan

import (
	"math"
	"strconv"
	"time"
)

// Page sizes and batch sizes of the reads (see research/sfmc-api.md §11).
const (
	// SOAPPageSize is what one SOAP Retrieve page returns.
	SOAPPageSize = 2500
	// INChunk is how many keys one SOAP IN filter carries.
	INChunk = 500
	// AutomationPageSize is the legacy automation list's page.
	AutomationPageSize = 200
	// JourneyPageSize is the journey list's page (extras=stats).
	JourneyPageSize = 50
	// TxDefinitionPageSize is the transactional definition list's page.
	TxDefinitionPageSize = 100
	// RESTPageSize is the page of the other REST lists (imports).
	RESTPageSize = 500
	// TokenLifetime is how long one access token is used: SFMC's
	// expires_in (1,079 s) minus the client's early refresh (10 s).
	TokenLifetime = 1069 * time.Second
)

// Budgets and cadences the collectors follow.
const (
	// AutomationNotificationBudget: legacy notification reads a poll, for
	// automations whose error-notification addresses are not known yet
	// (each automation once).
	AutomationNotificationBudget = 5
	// AutomationDetailBudget: REST definition reads a poll (target data
	// extensions with row counts), first for runs that just completed.
	AutomationDetailBudget = 8
	// TxQueueBudget: transactional queue-metric reads a poll.
	TxQueueBudget = 5
	// TxQueueRefresh: a healthy (Active, not backlogged) definition's
	// queue is read again after this long; definitions that are not
	// Active or were backlogged are read every poll within the budget.
	TxQueueRefresh = 12 * time.Hour
	// TxDefinitionsRefresh: the transactional definition list (status) is
	// read again after this long while every definition is healthy; it is
	// read every poll while one is not Active and holds messages or is
	// backlogged, and at once when the not-sent feed reports a
	// system-caused failure or an unknown definition, or a queue read shows
	// a backlog. In between the definitions carry forward.
	TxDefinitionsRefresh = 30 * time.Minute
	// ImportDefinitionsRefresh: the import definition list is read again
	// after this long (ImportResultsSummary is read every poll; a result
	// naming an unknown definition triggers an early read).
	ImportDefinitionsRefresh = 6 * time.Hour
	// DEDefinitionsRefresh: the DataExtension list (ModifiedDate, which
	// triggers a schema read and a row count, and retention settings) is
	// read again after this long; in between the definitions carry
	// forward (the row counts follow their own cadence).
	DEDefinitionsRefresh = time.Hour
	// DEFieldsRefresh: field lists older than this are re-read (all at
	// once, in one batched Retrieve).
	DEFieldsRefresh = 24 * time.Hour
	// RowCountShare is the share of the tenant's spare daily budget
	// (daily_api_budget minus every other planned call) that one data
	// extension poll may spend on row counts at most (the cap while the
	// tenant is first learned; later only DEs that may have changed are
	// counted, see RowCountRefresh).
	RowCountShare = 0.1
	// JourneySplitRefresh: a journey with decision splits has its journey
	// history counted again after this long (journey.split_skew; one
	// download a journey, optional priority), or after
	// JourneySplitSuspectRefresh while its last read showed a path's share
	// falling (collect: JourneySplit.Suspect), within JourneySplitBudget
	// downloads and JourneyDefinitionBudget definition reads a poll (a
	// definition is read once per journey version).
	JourneySplitRefresh        = 4 * time.Hour
	JourneySplitSuspectRefresh = time.Hour
	JourneySplitBudget         = 4
	JourneyDefinitionBudget    = 5
	// SplitJourneyShare is the share of published journeys assumed to
	// have a decision split (offline estimate; the simulator's default
	// business unit has 12 published ones among 50).
	SplitJourneyShare = 0.25
	// StaleCheckMinLoads: a DE with this many loads seen has a learned
	// load interval (data_extension.stale's min_learn_intervals 7 + 1).
	StaleCheckMinLoads = 8
	// RowCountRefresh: a DE no followed writer changed is counted again
	// after this long (scripts, the API or journeys may still write it).
	RowCountRefresh = 24 * time.Hour
	// AutomationOutputLearnRuns: an automation's completed runs have their
	// output measured (a definition read) every run until this many were,
	// so the output rules learn the normal volume (automation.no_output
	// learn_runs 5 plus the run judged).
	AutomationOutputLearnRuns = 6
	// AutomationOutputEvery: after that, a completed run's output is
	// measured at most once per this long per automation (plus after a
	// definition edit). It bounds how late automation.partial and
	// automation.no_output see an automation that stopped writing rows.
	AutomationOutputEvery = 4 * time.Hour
	// AutomationMeasuredRunsKept: measured runs kept in an automation's
	// history beyond its newest runs, so a frequent automation measured
	// every few hours still has the samples the output rules learn from.
	AutomationMeasuredRunsKept = 8
	// StepOutcomeSlowRun: a completed run's step outcomes are read when it
	// lasted this long or more (one of its queries may have run near
	// SFMC's 30-minute limit: query.timeout warns from 80 %, 24 min).
	// Errored runs are always read (their failing step is the incident).
	StepOutcomeSlowRun = 20 * time.Minute
	// TriggeredSendDefinitionsRefresh: the triggered send definitions
	// (status) are read again after this long; the summaries are read
	// every poll, and one whose queue grew (an Inactive definition queues
	// its sends) reads them at once.
	TriggeredSendDefinitionsRefresh = time.Hour
	// SendRecentWindow: each send poll re-reads the jobs of this many
	// recent days (still sending; most bounces and unsubscribes arrive
	// within them) ...
	SendRecentWindow = 2 * 24 * time.Hour
	// SendRecheckEvery: ... and every this long the whole week (counters
	// keep growing for days after a send).
	SendRecheckEvery = 6 * time.Hour
	// UnlimitedBudgetBasis is the daily budget assumed when
	// daily_api_budget is 0 (unlimited): the Enterprise default.
	UnlimitedBudgetBasis = 27400
)

// Assumptions of an offline estimate (no tenant read): what the
// reference business unit of the design notes looks like.
const (
	// FieldsPerDE is the mean number of fields of a data extension.
	FieldsPerDE = 12
	// AutomationRunsPerDay is how many runs an automation completes a
	// day on average: the reference mix (5 % every 15 min, 30 % hourly,
	// 10 % every 4 h, 45 % daily, 10 % weekly; paused and ad-hoc ones do
	// not run), as measured on the simulator's default tenant.
	AutomationRunsPerDay = 11.2
	// AutomationTargetShare is the share of automations whose activities
	// write data extensions (queries, imports).
	AutomationTargetShare = 0.83
	// AutomationRunErrorRate is the share of runs that error (the
	// reference mix: 4 % of automations flaky at 5 %).
	AutomationRunErrorRate = 0.002
	// TargetDEShare is the share of data extensions some automation
	// writes at least daily: their counts come with the automations'
	// output checks.
	TargetDEShare = 0.45
)

// StaleCheckFactors: a DE is counted once more when its last seen load
// grows older than these multiples of its learned load interval
// (data_extension.stale's default warn_factor and error_factor), so the
// rule sees the staleness without the DE being counted every poll.
var StaleCheckFactors = []float64{1.5, 2}

// automationMix is the reference mix of automations that run, by run
// interval (AutomationRunsPerDay is measured on it).
var automationMix = []struct {
	share float64
	every time.Duration
}{
	{0.05, 15 * time.Minute}, {0.30, time.Hour}, {0.10, 4 * time.Hour}, {0.45, 24 * time.Hour}, {0.10, 7 * 24 * time.Hour},
}

// AutomationOutputChecksPerDay is the output checks (definition reads) a
// day of one automation that writes data extensions, averaged over the
// reference mix: every run of those running less often than
// AutomationOutputEvery; for the others the first run completing once
// AutomationOutputEvery has passed, on average half a run interval later.
func AutomationOutputChecksPerDay() float64 {
	var mixRuns, checks float64
	for _, m := range automationMix {
		mixRuns += m.share * float64(24*time.Hour) / float64(m.every)
		spacing := m.every
		if m.every < AutomationOutputEvery {
			spacing = AutomationOutputEvery + m.every/2
		}
		checks += m.share * float64(24*time.Hour) / float64(spacing)
	}
	// Scaled to the measured runs a day (paused, ad-hoc and file-drop
	// automations run less than their schedule says).
	return checks * AutomationRunsPerDay / mixRuns
}

// Inventory is how many objects of each type a business unit holds.
type Inventory struct {
	Automations, Journeys, DataExtensions, TriggeredSends, Transactional, Imports int
	// SendJobsPerWeek is the email send jobs a week (every poll re-reads
	// the last 7 days: bounce and unsubscribe counters keep growing).
	SendJobsPerWeek int
}

// Reference is the reference business unit of the design notes (and the
// simulator's default size).
func Reference() Inventory {
	return Inventory{Automations: 200, Journeys: 50, DataExtensions: 500, TriggeredSends: 100, Transactional: 20, Imports: 60,
		SendJobsPerWeek: 3000}
}

// SendPageSize is the send jobs a SOAP Retrieve page returns.
const SendPageSize = 2500

// Monitor names, as in the config's monitors block.
const (
	Automations    = "automations"
	Journeys       = "journeys"
	TriggeredSends = "triggered_sends"
	Transactional  = "transactional"
	DataExtensions = "data_extensions"
	Imports        = "imports"
	Sends          = "sends"
	Audit          = "audit"
	Tokens         = "tokens"
)

// Line is one kind of call and how many a day it costs.
type Line struct {
	Call   string
	PerDay float64
}

// Monitor is the plan of one monitor.
type Monitor struct {
	Name     string
	Interval time.Duration
	// Lines are the steady calls a day.
	Lines []Line
	// Once are one-off calls while the tenant is being learned (first
	// polls after start: notification addresses, automation targets, run
	// history, schemas), spread over the first polls by the budgets.
	Once []Line
}

// PerDay is the monitor's steady calls a day.
func (m Monitor) PerDay() float64 { return sum(m.Lines) }

// OnceTotal is the monitor's one-off calls.
func (m Monitor) OnceTotal() float64 { return sum(m.Once) }

func sum(ls []Line) float64 {
	var n float64
	for _, l := range ls {
		n += l.PerDay
	}
	return n
}

// Input is what a plan depends on.
type Input struct {
	// Intervals by monitor name; 0 or absent: disabled.
	Intervals map[string]time.Duration
	Inventory Inventory
	// DailyBudget is daily_api_budget (0: unlimited).
	DailyBudget int64
	// CriticalDEs is the number of critical data extensions.
	CriticalDEs int
}

// Plan is a tenant's planned calls, by monitor (token requests last).
type Plan struct {
	Monitors []Monitor
	// RowCountsPerPoll is the data extension poll's row-count budget
	// (RowCountsPerPoll of what the other planned calls leave).
	RowCountsPerPoll int
	// OtherPerDay is every planned call a day but the row counts: what
	// the row counts' share of the daily budget is taken from.
	OtherPerDay float64
}

// PerDay is the tenant's steady calls a day, rounded up.
func (p Plan) PerDay() int64 {
	var n float64
	for _, m := range p.Monitors {
		n += m.PerDay()
	}
	return int64(math.Ceil(n))
}

// Once is the tenant's one-off calls, rounded up.
func (p Plan) Once() int64 {
	var n float64
	for _, m := range p.Monitors {
		n += m.OnceTotal()
	}
	return int64(math.Ceil(n))
}

// Get returns the plan of a monitor (zero Monitor when not planned).
func (p Plan) Get(name string) Monitor {
	for _, m := range p.Monitors {
		if m.Name == name {
			return m
		}
	}
	return Monitor{}
}

// Pages is the number of calls that read n objects page by page (at least
// one: an empty list still costs its call).
func Pages(n, pageSize int) int {
	if n <= 0 || pageSize <= 0 {
		return 1
	}
	return (n + pageSize - 1) / pageSize
}

// PollsPerDay is the polls a day at interval.
func PollsPerDay(interval time.Duration) float64 {
	if interval <= 0 {
		return 0
	}
	return float64(24*time.Hour) / float64(interval)
}

// TokensPerDay is the token requests a day of a client polling every
// interval: a token lasts TokenLifetime and is fetched by the first call
// after it ran out.
func TokensPerDay(interval time.Duration) float64 {
	if interval <= 0 {
		return 0
	}
	polls := math.Ceil(float64(TokenLifetime) / float64(interval))
	return PollsPerDay(interval) / polls
}

// RowCountsPerPoll is the number of rowset count calls one data extension
// poll may spend:
//
//	spare  = daily_api_budget − other planned calls a day
//	budget = max(floor(RowCountShare × spare / polls a day), critical)
//
// where daily_api_budget 0 (unlimited) counts as UnlimitedBudgetBasis and
// critical is the number of critical DEs (always counted).
func RowCountsPerPoll(daily int64, other float64, interval time.Duration, critical int) int {
	if interval <= 0 {
		interval = 15 * time.Minute
	}
	if daily == 0 {
		daily = UnlimitedBudgetBasis
	}
	spare := float64(daily) - other
	n := 0
	if spare > 0 {
		n = int(RowCountShare * spare / PollsPerDay(interval))
	}
	return max(n, critical)
}

// Make plans a tenant's calls. The data extension row counts take their
// share of what the other monitors leave of the daily budget.
func Make(in Input) Plan {
	inv := in.Inventory
	var p Plan
	minInterval := time.Duration(0)
	add := func(m Monitor) {
		p.Monitors = append(p.Monitors, m)
		if minInterval == 0 || m.Interval < minInterval {
			minInterval = m.Interval
		}
	}
	if iv := in.Intervals[Automations]; iv > 0 {
		polls := PollsPerDay(iv)
		details := min(float64(AutomationDetailBudget)*polls, float64(inv.Automations)*AutomationTargetShare*AutomationOutputChecksPerDay())
		// collect/activities.go: a poll that saw a run error (or a run
		// after an errored step, or a slow run) reads the step outcomes in
		// two batched Retrieves.
		errPolls := min(polls, 2*float64(inv.Automations)*AutomationRunsPerDay*AutomationRunErrorRate)
		add(Monitor{Name: Automations, Interval: iv,
			Lines: []Line{
				{"legacy automation list (" + pageNote(inv.Automations, AutomationPageSize) + ")", float64(Pages(inv.Automations, AutomationPageSize)) * polls},
				{"output check: definition read after a completed run (target rows; each automation every run until " +
					strconv.Itoa(AutomationOutputLearnRuns) + " measured, then at most every " + shortDur(AutomationOutputEvery) + ")", details},
				{"step outcomes of errored, slow or recovering runs (SOAP AutomationInstance and AutomationActivityInstance, 500 keys a call)",
					2 * float64(Pages(inv.Automations, INChunk)) * errPolls},
			},
			Once: []Line{
				{"run history (SOAP AutomationInstance, 500 keys a call)", float64(Pages(inv.Automations, INChunk))},
				{"error-notification addresses (one read per automation)", float64(inv.Automations)},
				{"target data extensions (one definition read per automation)", float64(inv.Automations)},
				{"output learning (every run measured until " + strconv.Itoa(AutomationOutputLearnRuns) + " were)",
					float64(inv.Automations) * AutomationTargetShare * (AutomationOutputLearnRuns - 1)},
				{"step outcomes of the first finished runs", 2 * float64(Pages(inv.Automations, INChunk))},
			}})
	}
	if iv := in.Intervals[Audit]; iv > 0 {
		// collect/security.go: the audit events and the security events
		// feeds, one page each a poll behind their cursors (up to 4 calls
		// while a backlog drains); the first look reads one day.
		add(Monitor{Name: Audit, Interval: iv, Lines: []Line{
			{"audit trail (auditEvents and securityEvents, one page each)", 2 * PollsPerDay(iv)},
		}, Once: []Line{{"first look: the last 24 hours of both feeds", 2}}})
	}
	if iv := in.Intervals[Sends]; iv > 0 {
		// collect/sends.go: a SOAP Retrieve of Send filtered on SendDate
		// over the last 7 days each poll (2,500 jobs a page); the first look
		// reads 36 days of history.
		recent := inv.SendJobsPerWeek * int(SendRecentWindow/(24*time.Hour)) / 7
		weekly := PollsPerDay(max(SendRecheckEvery, iv))
		add(Monitor{Name: Sends, Interval: iv, Lines: []Line{
			{"send jobs of the last 2 days (SOAP Send Retrieve, " + pageNote(recent, SendPageSize) + ")",
				float64(Pages(recent, SendPageSize)) * (PollsPerDay(iv) - weekly)},
			{"send jobs of the last 7 days (every " + shortDur(max(SendRecheckEvery, iv)) + ", " + pageNote(inv.SendJobsPerWeek, SendPageSize) + ")",
				float64(Pages(inv.SendJobsPerWeek, SendPageSize)) * weekly},
		}, Once: []Line{{"first look: 36 days of send jobs", float64(Pages(inv.SendJobsPerWeek*36/7, SendPageSize))}}})
	}
	if iv := in.Intervals[Journeys]; iv > 0 {
		add(Monitor{Name: Journeys, Interval: iv, Lines: []Line{
			{"journey list with stats (" + pageNote(inv.Journeys, JourneyPageSize) + ")", float64(Pages(inv.Journeys, JourneyPageSize)) * PollsPerDay(iv)},
		}})
	}
	if iv := in.Intervals[Journeys]; iv > 0 && len(p.Monitors) > 0 && p.Monitors[len(p.Monitors)-1].Name == Journeys {
		// collect/journeysplits.go: journey.split_skew's reads (optional).
		j := &p.Monitors[len(p.Monitors)-1]
		splits := math.Ceil(float64(inv.Journeys) * SplitJourneyShare)
		j.Lines = append(j.Lines, Line{"journey history downloads (one per journey with decision splits every " + shortDur(max(JourneySplitRefresh, iv)) +
			"; every " + shortDur(max(JourneySplitSuspectRefresh, iv)) + " while a split is suspect)",
			min(splits*PollsPerDay(max(JourneySplitRefresh, iv)), float64(JourneySplitBudget)*PollsPerDay(iv))})
		j.Once = append(j.Once, Line{"journey definitions (one read per journey version: its decision splits)", float64(inv.Journeys)})
	}
	if iv := in.Intervals[TriggeredSends]; iv > 0 {
		polls := PollsPerDay(iv)
		add(Monitor{Name: TriggeredSends, Interval: iv, Lines: []Line{
			{"SOAP TriggeredSendDefinition (" + pageNote(inv.TriggeredSends, SOAPPageSize) + ", every " + shortDur(max(TriggeredSendDefinitionsRefresh, iv)) +
				"; at once when a queue grows)", float64(Pages(inv.TriggeredSends, SOAPPageSize)) * PollsPerDay(max(TriggeredSendDefinitionsRefresh, iv))},
			{"SOAP TriggeredSendSummary (500 keys a call)", float64(Pages(inv.TriggeredSends, INChunk)) * polls},
		}})
	}
	if iv := in.Intervals[Transactional]; iv > 0 {
		polls := PollsPerDay(iv)
		queues := min(float64(TxQueueBudget)*polls, float64(inv.Transactional)*PollsPerDay(max(TxQueueRefresh, iv)))
		add(Monitor{Name: Transactional, Interval: iv, Lines: []Line{
			{"definition list (" + pageNote(inv.Transactional, TxDefinitionPageSize) + ", every " + shortDur(max(TxDefinitionsRefresh, iv)) +
				"; every poll while one is unhealthy)", float64(Pages(inv.Transactional, TxDefinitionPageSize)) * PollsPerDay(max(TxDefinitionsRefresh, iv))},
			{"not-sent feed (one page a poll when quiet)", polls},
			{"queue metrics (each definition every " + shortDur(TxQueueRefresh) + "; not Active or backlogged: every poll)", queues},
		}})
	}
	if iv := in.Intervals[Imports]; iv > 0 {
		add(Monitor{Name: Imports, Interval: iv, Lines: []Line{
			{"SOAP ImportResultsSummary (runs since the last poll)", PollsPerDay(iv)},
			{"import definition list (every " + shortDur(max(ImportDefinitionsRefresh, iv)) + ")", float64(Pages(inv.Imports, RESTPageSize)) * PollsPerDay(max(ImportDefinitionsRefresh, iv))},
		}})
	}
	var de *Monitor
	if iv := in.Intervals[DataExtensions]; iv > 0 {
		fields := inv.DataExtensions * FieldsPerDE
		add(Monitor{Name: DataExtensions, Interval: iv, Lines: []Line{
			{"SOAP DataExtension (" + pageNote(inv.DataExtensions, SOAPPageSize) + ", every " + shortDur(max(DEDefinitionsRefresh, iv)) + ")",
				float64(Pages(inv.DataExtensions, SOAPPageSize)) * PollsPerDay(max(DEDefinitionsRefresh, iv))},
			{"SOAP DataExtensionField refresh (daily, 2,500 fields a page)", float64(Pages(fields, SOAPPageSize)) * PollsPerDay(max(DEFieldsRefresh, iv))},
		}, Once: []Line{
			{"schemas (SOAP DataExtensionField, 2,500 fields a page)", float64(Pages(fields, SOAPPageSize))},
			{"row counts: every DE once (rowset)", float64(inv.DataExtensions)},
		}})
		de = &p.Monitors[len(p.Monitors)-1]
	}
	if minInterval > 0 {
		p.Monitors = append(p.Monitors, Monitor{Name: Tokens, Interval: minInterval, Lines: []Line{
			{"token requests (one per " + shortDur(TokenLifetime.Round(time.Minute)) + " of polling)", TokensPerDay(minInterval)},
		}})
	}
	if de != nil {
		iv := de.Interval
		p.OtherPerDay = float64(p.PerDay())
		p.RowCountsPerPoll = RowCountsPerPoll(in.DailyBudget, p.OtherPerDay, iv, in.CriticalDEs)
		polls := PollsPerDay(iv)
		critical := float64(in.CriticalDEs) * polls
		daily := float64(max(inv.DataExtensions-in.CriticalDEs, 0)) * (1 - TargetDEShare) * PollsPerDay(max(RowCountRefresh, iv))
		n := min(critical+daily, float64(p.RowCountsPerPoll)*polls)
		de.Lines = append(de.Lines, Line{"row counts (rowset, one per DE, at most " + strconv.Itoa(p.RowCountsPerPoll) +
			" a poll): critical DEs every poll, the others once a day; DEs automations write are counted by their output checks", n})
	}
	return p
}

func pageNote(n, size int) string {
	return strconv.Itoa(Pages(n, size)) + " page(s) for " + strconv.Itoa(n)
}

func shortDur(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}
