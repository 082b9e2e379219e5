package demo

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// candidate is an object a fault may target, with the figure it is ranked
// by (lower first).
type candidate struct {
	key  string
	rank float64
	// match is the key of the incident to wait for, when it differs from
	// the fault's target (automation.partial empties the targets of an
	// automation).
	target string
}

// snapshots decodes the latest snapshot of every object of typ.
func snapshotsOf[T any](m *measurer, typ resource.Type) map[string]struct {
	snap  store.Snapshot
	state T
} {
	out := map[string]struct {
		snap  store.Snapshot
		state T
	}{}
	snaps, err := m.r.st.LatestSnapshots(m.ctx, "demo-bu", string(typ))
	if err != nil {
		return out
	}
	for _, s := range snaps {
		var st T
		if resource.Decode(s, &st) == nil {
			out[s.ResourceKey] = struct {
				snap  store.Snapshot
				state T
			}{s, st}
		}
	}
	return out
}

// best returns the first unused candidate by rank, then key.
func best(typ resource.Type, used map[string]bool, cands []candidate) (candidate, bool) {
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].rank != cands[j].rank {
			return cands[i].rank < cands[j].rank
		}
		return cands[i].key < cands[j].key
	})
	for _, c := range cands {
		if !used[string(typ)+":"+c.key] {
			return c, true
		}
	}
	return candidate{}, false
}

// hourlyAutomations are healthy scheduled automations running at most
// hourly, ranked by interval; ok filters further.
func hourlyAutomations(m *measurer, ok func(resource.AutomationState) bool) []candidate {
	var out []candidate
	for k, v := range snapshotsOf[resource.AutomationState](m, resource.Automation) {
		st := v.state
		if st.FileDrop || st.ScheduleStatus != "active" || st.Interval <= 0 || st.Interval > time.Hour || len(st.Runs) == 0 {
			continue
		}
		if v.snap.Status != resource.StatusScheduled && v.snap.Status != resource.StatusRunning {
			continue
		}
		clean := true
		for _, r := range st.Runs {
			clean = clean && r.Status != resource.StatusError
		}
		if clean && (ok == nil || ok(st)) {
			out = append(out, candidate{key: k, rank: st.Interval.Seconds()})
		}
	}
	return out
}

func pickAutomation(why string) func(*measurer, map[string]bool) (string, string, string) {
	return func(m *measurer, used map[string]bool) (string, string, string) {
		c, ok := best(resource.Automation, used, hourlyAutomations(m, nil))
		if !ok {
			return "", "", ""
		}
		return c.key, c.key, why
	}
}

func pickPartial(m *measurer, used map[string]bool) (string, string, string) {
	cands := hourlyAutomations(m, func(st resource.AutomationState) bool {
		measured := 0
		for _, r := range st.Runs {
			if r.Rows > 0 {
				measured++
			}
		}
		return len(st.TargetDataExtensions) > 0 && measured >= 5
	})
	autos := snapshotsOf[resource.AutomationState](m, resource.Automation)
	for i := range cands {
		cands[i].target = strings.Join(autos[cands[i].key].state.TargetDataExtensions, ",")
	}
	c, ok := best(resource.Automation, used, cands)
	if !ok {
		return "", "", ""
	}
	for _, de := range strings.Split(c.target, ",") {
		used[string(resource.DataExtension)+":"+de] = true
	}
	return c.target, c.key, "its target data extensions are emptied: the next completed run writes no rows"
}

func pickJourney(highVolume bool, why string) func(*measurer, map[string]bool) (string, string, string) {
	return func(m *measurer, used map[string]bool) (string, string, string) {
		var cands []candidate
		for k, v := range snapshotsOf[resource.JourneyState](m, resource.Journey) {
			if v.snap.Status != resource.StatusPublished || v.state.Transactional {
				continue
			}
			rank := 0.0
			if highVolume {
				if len(v.state.EntryGaps) < 3 {
					continue
				}
				// Rank by the median gap between polls with entries.
				g := append([]int64(nil), v.state.EntryGaps...)
				sort.Slice(g, func(i, j int) bool { return g[i] < g[j] })
				rank = float64(g[len(g)/2])
			}
			cands = append(cands, candidate{key: k, rank: rank})
		}
		c, ok := best(resource.Journey, used, cands)
		if !ok {
			return "", "", ""
		}
		return c.key, c.key, why
	}
}

func pickTriggeredSend(why string) func(*measurer, map[string]bool) (string, string, string) {
	return func(m *measurer, used map[string]bool) (string, string, string) {
		var cands []candidate
		for k, v := range snapshotsOf[resource.TriggeredSendState](m, resource.TriggeredSend) {
			if v.snap.Status != resource.StatusActive || v.state.SentAt.IsZero() {
				continue
			}
			cands = append(cands, candidate{key: k, rank: -float64(v.snap.Counters["sent"])})
		}
		c, ok := best(resource.TriggeredSend, used, cands)
		if !ok {
			return "", "", ""
		}
		return c.key, c.key, why
	}
}

func pickTransactional(m *measurer, used map[string]bool) (string, string, string) {
	var cands []candidate
	for k, v := range snapshotsOf[resource.TransactionalState](m, resource.Transactional) {
		if v.snap.Status != resource.StatusActive {
			continue
		}
		cands = append(cands, candidate{key: k})
	}
	c, ok := best(resource.Transactional, used, cands)
	if !ok {
		return "", "", ""
	}
	return c.key, c.key, "accepted sends not sent (code 126) until the error budget burns over both windows"
}

// pickDE ranks loaded data extensions by their median load interval.
func pickDE(minRows int64, minLoads int, why string) func(*measurer, map[string]bool) (string, string, string) {
	return func(m *measurer, used map[string]bool) (string, string, string) {
		var cands []candidate
		for k, v := range snapshotsOf[resource.DataExtensionState](m, resource.DataExtension) {
			if v.snap.RowCount == nil || *v.snap.RowCount < minRows || len(v.state.Loads) < minLoads {
				continue
			}
			var gaps []float64
			for i := 1; i < len(v.state.Loads); i++ {
				gaps = append(gaps, v.state.Loads[i].At.Sub(v.state.Loads[i-1].At).Seconds())
			}
			sort.Float64s(gaps)
			cands = append(cands, candidate{key: k, rank: gaps[len(gaps)/2]})
		}
		c, ok := best(resource.DataExtension, used, cands)
		if !ok {
			return "", "", ""
		}
		return c.key, c.key, why
	}
}

func pickImport(why string) func(*measurer, map[string]bool) (string, string, string) {
	return func(m *measurer, used map[string]bool) (string, string, string) {
		var cands []candidate
		for k, v := range snapshotsOf[resource.ImportState](m, resource.Import) {
			runs := v.state.Runs
			if len(runs) < 2 {
				continue
			}
			cands = append(cands, candidate{key: k, rank: runs[len(runs)-1].StartedAt.Sub(runs[len(runs)-2].StartedAt).Seconds()})
		}
		c, ok := best(resource.Import, used, cands)
		if !ok {
			return "", "", ""
		}
		return c.key, c.key, why
	}
}

var measureCases = []measureCase{
	{rule: "automation.error", fault: sim.FaultAutomationError, typ: resource.Automation,
		params: map[string]string{"message": "Query failed: Invalid column name 'EmailAddress'."},
		pick:   pickAutomation("two errored runs in a row (a critical automation: the first); waits for the schedule")},
	{rule: "automation.stalled", fault: sim.FaultAutomationStuck, typ: resource.Automation,
		pick: pickAutomation("the next run must start and exceed max(1.5 × p95 runtime, floor)")},
	{rule: "automation.missed_run", fault: sim.FaultAutomationMissed, typ: resource.Automation,
		pick: pickAutomation("the scheduled start must pass, plus a grace of max(5 min, interval/10)")},
	{rule: "automation.paused", fault: sim.FaultAutomationPaused, typ: resource.Automation,
		pick: pickAutomation("next poll of the automation definitions")},
	{rule: "automation.partial", fault: sim.FaultDEEmptied, typ: resource.Automation,
		pick: pickPartial},
	{rule: "journey.stopped", fault: sim.FaultJourneyStopped, typ: resource.Journey,
		pick: pickJourney(false, "next poll of the journeys")},
	{rule: "journey.enrollment_drop", fault: sim.FaultJourneyStalled, typ: resource.Journey,
		pick: pickJourney(true, "no entries for max(silence_min, silence_factor × median gap)")},
	{rule: "journey.split_skew", fault: sim.FaultJourneySplitSkew, typ: resource.Journey,
		pick: pickSplitJourney},
	{rule: "triggered_send.inactive", fault: sim.FaultTriggeredSendInactive, typ: resource.TriggeredSend,
		pick: pickTriggeredSend("inactive for 2 polls (confirmation against UI pauses)")},
	{rule: "triggered_send.errors", fault: sim.FaultTriggeredSendErrors, typ: resource.TriggeredSend,
		params: map[string]string{"per_hour": "300"},
		pick:   pickTriggeredSend("NotSentDueToError ratio over the window")},
	{rule: "triggered_send.backlog", fault: sim.FaultTriggeredSendBacklog, typ: resource.TriggeredSend,
		pick: pickTriggeredSend("Queued grows while Sent stays flat for the window (15 min)")},
	{rule: "triggered_send.silent_failure", fault: sim.FaultTransactionalNotSent, typ: resource.Transactional,
		params: map[string]string{"per_hour": "240", "status_code": "126"},
		pick:   pickTransactional},
	{rule: "data_extension.row_drop", fault: sim.FaultDERowDrop, typ: resource.DataExtension,
		params: map[string]string{"fraction": "0.05"},
		pick:   pickDE(1000, 3, "next row count of the data extension (budgeted tiers)")},
	{rule: "data_extension.empty", fault: sim.FaultDEEmptied, typ: resource.DataExtension,
		pick: pickDE(1000, 3, "next row count of the data extension (budgeted tiers)")},
	{rule: "data_extension.schema_drift", fault: sim.FaultDESchemaChange, typ: resource.DataExtension,
		pick: pickDE(1, 3, "next read of the data extension definitions (hourly): ModifiedDate moved, so the schema is read")},
	{rule: "data_extension.stale", fault: sim.FaultDERefreshStopped, typ: resource.DataExtension,
		pick: pickDE(1, 8, "learned from ≥ 7 load intervals; warn_after = warn_factor × learned load interval must pass")},
	{rule: "import.failed", fault: sim.FaultImportFailed, typ: resource.Import,
		pick: pickImport("the next scheduled import run must fail")},
	{rule: "import.partial", fault: sim.FaultImportErrors, typ: resource.Import,
		params: map[string]string{"error_rate": "0.4"},
		pick:   pickImport("the next scheduled import run must reject rows")},
	// Automation steps and output assertions (issue 17).
	{rule: "query.failed", fault: sim.FaultQueryError, typ: resource.Automation,
		pick: pickStep(0, "the query fails in two runs in a row (consecutive 2); steps are read when a run finishes", resource.ActivityQuery)},
	{rule: "query.timeout", fault: sim.FaultQuerySlow, typ: resource.Automation, params: map[string]string{"duration": "26m"},
		pick: pickStep(time.Hour, "the next run's query step takes 26 min (warns from 80% of 30 min) and finishes", resource.ActivityQuery)},
	{rule: "file.missing", fault: sim.FaultFileMissing, typ: resource.Automation,
		pick: pickStep(0, "the import/file transfer step finds no file in two runs in a row", resource.ActivityImport, resource.ActivityFileTransfer)},
	{rule: "file.unexpected", fault: sim.FaultFileUnexpected, typ: resource.Automation,
		pick: pickStep(0, "the import/file transfer step rejects an empty file in two runs in a row", resource.ActivityImport, resource.ActivityFileTransfer)},
	{rule: "automation.no_output", fault: sim.FaultDEEmptied, typ: resource.Automation,
		pick: pickNoOutput},
	{rule: "send.bounce_spike", fault: sim.FaultSendBounceSpike, typ: resource.Send,
		params: map[string]string{"rate": "0.2"},
		pick:   pickSend("the next send job must complete and settle an hour (bounces arrive after the send)")},
	{rule: "send.complaint_spike", fault: sim.FaultSendUnsubscribeSpike, typ: resource.Send,
		params: map[string]string{"rate": "0.03"},
		pick:   pickSend("the next send job must complete and settle an hour (unsubscribes arrive after the send)")},
	// Picked last: the rate rules wait an hour more, so they get the most
	// frequent send groups.
	{rule: "send.volume_drop", fault: sim.FaultSendVolumeDrop, typ: resource.Send,
		params: map[string]string{"fraction": "0.1"},
		pick:   pickSend("the next send job must complete at a tenth of its hour-of-week baseline; sends are polled every 15 min")},
	{rule: "data_extension.retention_risk", fault: sim.FaultDERetention, typ: resource.DataExtension,
		params: map[string]string{"days": "1"},
		pick:   pickReliedDE("next read of the data extension definitions (hourly; retention settings come with every Retrieve)")},
	{rule: "security.new_integration", fault: sim.FaultSecurityNewIntegration, typ: resource.Security,
		pick: pickSecurity(func(*measurer) string { return "integration:" + strings.ToLower(sim.SecurityObjectID("Shadow Export")) }, "Shadow Export")},
	{rule: "security.scope_change", fault: sim.FaultSecurityScopeChange, typ: resource.Security,
		pick: pickSecurity(func(*measurer) string {
			return "integration:" + strings.ToLower(sim.SecurityObjectID("Newsletter Sync"))
		}, "Newsletter Sync")},
	{rule: "security.role_change", fault: sim.FaultSecurityRoleChange, typ: resource.Security,
		pick: pickSecurity(func(m *measurer) string {
			if mids := m.r.sim.Credentials().MIDs; len(mids) > 0 {
				return "access:securitysettings:" + strconv.FormatInt(mids[0], 10)
			}
			return ""
		}, "SecuritySettings")},
	{rule: "security.login_failures", fault: sim.FaultSecurityLoginFailures, typ: resource.Security,
		pick: pickSecurity(func(*measurer) string { return "logins:" + collect.SecurityActor(0, "mallory") }, "mallory")},
	{rule: "security.ip_blocked", fault: sim.FaultSecurityIPBlocked, typ: resource.Security,
		pick: pickSecurity(func(*measurer) string { return "logins:" + collect.SecurityActor(0, "contractor.vpn") }, "contractor.vpn")},
}

// pickSecurity targets an audit-trail subject (a package name, object type
// or user name the simulator's fault writes entries for); match is the
// security subject key the incident opens on. Detection waits for the
// next audit poll (monitors.audit, hourly in the demo) and, for logins,
// for threshold entries (5 failed at 12 an hour, 3 refused at 6 an hour).
func pickSecurity(match func(*measurer) string, target string) func(*measurer, map[string]bool) (string, string, string) {
	return func(m *measurer, used map[string]bool) (string, string, string) {
		k := match(m)
		if k == "" || used[string(resource.Security)+":"+k] {
			return "", "", ""
		}
		return target, k, "the next audit-trail poll (hourly) after the entries appear"
	}
}

// pickSplitJourney targets the published journey whose decision split
// processed the most contacts in its counted history (the fault sends
// every contact down its second path). Detection waits for the hourly
// history read and for the skewed contacts to outweigh the healthy ones
// in the 6-hour window.
func pickSplitJourney(m *measurer, used map[string]bool) (string, string, string) {
	var cands []candidate
	for k, v := range snapshotsOf[resource.JourneyState](m, resource.Journey) {
		if v.snap.Status != resource.StatusPublished || len(v.state.Splits) == 0 {
			continue
		}
		var n int64
		for _, b := range v.state.Splits[0].Buckets {
			n += b.Split
		}
		if n > 0 {
			cands = append(cands, candidate{key: k, rank: -float64(n)})
		}
	}
	c, ok := best(resource.Journey, used, cands)
	if !ok {
		return "", "", ""
	}
	return c.key, c.key, "the journey history read (every 4 h, hourly once a split looks skewed); the first path's share over the 6-hour window must fall below 20 % of its baseline"
}
