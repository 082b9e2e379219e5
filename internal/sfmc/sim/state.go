package sim

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// Everything here derives an object's state at a simulated time from the
// generated tenant and the fault windows.

var automationStatusNames = map[int]string{
	-1: "Error", 0: "BuildingError", 1: "Building", 2: "Ready", 3: "Running",
	4: "PausedSchedule", 5: "Stopped", 6: "Scheduled", 7: "AwaitingTrigger", 8: "InactiveTrigger",
}

type run struct {
	k          int64
	scheduled  time.Time
	start, end time.Time // end zero while running
	status     string    // Complete, Error, Running
	message    string
	failedAct  int // index into Activities, -1 when none
	instanceID string
	// slowAct is an activity that ran slowDur (query_slow), -1 when none.
	slowAct int
	slowDur time.Duration
}

type autoFaults struct {
	errs, stuck, missed, paused, inactive []window
}

func (s *Sim) autoFaults(t *tenant, a *automation) autoFaults {
	ids := []string{a.Key, a.Name, a.ID, a.LegacyID}
	return autoFaults{
		errs:     s.faults.windows(FaultAutomationError, t.MID, ids...),
		stuck:    s.faults.windows(FaultAutomationStuck, t.MID, ids...),
		missed:   s.faults.windows(FaultAutomationMissed, t.MID, ids...),
		paused:   s.faults.windows(FaultAutomationPaused, t.MID, ids...),
		inactive: s.faults.windows(FaultAutomationInactive, t.MID, ids...),
	}
}

func (a *automation) runAt(k int64) time.Time {
	return a.Sched.First.Add(time.Duration(k) * a.Sched.Interval)
}

// firstIndexAtOrAfter returns the first run index whose time is >= t.
func (a *automation) firstIndexAtOrAfter(t time.Time) int64 {
	d := t.Sub(a.Sched.First)
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(float64(d) / float64(a.Sched.Interval)))
}

// runs returns up to n runs scheduled at or before now, newest first.
func (s *Sim) runs(t *tenant, a *automation, now time.Time, n int) []run {
	if a.Sched == nil || now.Before(a.Sched.First) || n <= 0 {
		return nil
	}
	af := s.autoFaults(t, a)
	var out []run
	k := int64(now.Sub(a.Sched.First) / a.Sched.Interval)
	for guard := 0; k >= 0 && len(out) < n && guard < 100000; guard++ {
		at := a.runAt(k)
		// Suppressed by a pause, deactivation or missed-schedule window.
		if a.BaseStatus == 4 && !at.Before(a.Modified) {
			k = a.firstIndexAtOrAfter(a.Modified) - 1
			continue
		}
		if w := activeIn(slices.Concat(af.paused, af.inactive, af.missed), at); w != nil {
			k = a.firstIndexAtOrAfter(w.start) - 1
			continue
		}
		r := run{k: k, scheduled: at, start: at, failedAct: -1, slowAct: -1,
			instanceID: hashGUID(uint64(t.MID), hashString(a.ID), uint64(k))}
		if w := activeIn(af.stuck, at); w != nil {
			k0 := a.firstIndexAtOrAfter(w.start)
			if k != k0 {
				k = k0
				continue
			}
			r.status = "Running"
			if !w.end.IsZero() && !now.Before(w.end) {
				r.status, r.end = "Complete", w.end
			}
			out = append(out, r)
			k--
			continue
		}
		dur := time.Duration(float64(a.RunTime) * (0.8 + 0.4*unit(uint64(t.MID), uint64(a.idx), uint64(k), 7)))
		sf, stepFaulted := s.stepFaultAt(t, a, at)
		if stepFaulted && sf.message == "" {
			dur = max(dur, sf.slow+time.Minute)
		}
		if now.Before(at.Add(dur)) {
			r.status = "Running"
			out = append(out, r)
			k--
			continue
		}
		r.end = at.Add(dur).Truncate(time.Millisecond)
		r.status = "Complete"
		if w := activeIn(af.errs, at); w != nil {
			r.status = "Error"
			r.failedAct = faultActivity(a, w.f.param("message", ""))
			r.message = w.f.param("message", defaultRunMessage(a, r.failedAct, k))
			r.end = at.Add(dur / 2).Truncate(time.Millisecond)
		} else if stepFaulted {
			applyStepFault(&r, sf)
		} else if a.FlakyRate > 0 && unit(uint64(t.MID), uint64(a.idx), uint64(k), 11) < a.FlakyRate {
			r.status = "Error"
			r.failedAct = int(mix(uint64(k), uint64(a.idx)) % uint64(max(len(a.Activities), 1)))
			r.message = defaultRunMessage(a, r.failedAct, k)
		}
		out = append(out, r)
		k--
	}
	return out
}

// faultActivity is the step an automation_error fault breaks: the same one
// in every run of the window, as a persistent failure does in SFMC (the
// first query when the fault's message is a query error).
func faultActivity(a *automation, message string) int {
	if strings.HasPrefix(strings.ToLower(message), "query") {
		for i, act := range a.Activities {
			if act.ObjectTypeID == objQuery {
				return i
			}
		}
	}
	return int(mix(uint64(a.idx), 0x5eed) % uint64(max(len(a.Activities), 1)))
}

func defaultRunMessage(a *automation, act int, k int64) string {
	if len(a.Activities) == 0 {
		return "An error occurred while running the automation."
	}
	msgs := statusMessages[a.Activities[act].ObjectTypeID]
	return msgs[int(mix(uint64(k), 99)%uint64(len(msgs)))]
}

// autoView is an automation's state at a time.
type autoView struct {
	statusID       int
	scheduleStatus string // active, paused, none
	isActive       bool
	last           *run
	next           time.Time // next scheduled run (stale when missed)
	pausedAt       time.Time
	pausedBy       user
}

func (s *Sim) autoState(t *tenant, a *automation, now time.Time) autoView {
	v := autoView{statusID: a.BaseStatus, isActive: true, scheduleStatus: "none"}
	if a.Sched != nil {
		v.scheduleStatus = "active"
	}
	rs := s.runs(t, a, now, 1)
	if len(rs) > 0 {
		v.last = &rs[0]
		switch v.last.status {
		case "Running":
			v.statusID = 3
		case "Error":
			v.statusID = -1
		}
	}
	af := s.autoFaults(t, a)
	if a.Sched != nil {
		k := a.firstIndexAtOrAfter(now)
		if k < 0 {
			k = 0
		}
		v.next = a.runAt(k)
		if a.runAt(k).Equal(now) {
			v.next = a.runAt(k + 1)
		}
		if w := activeIn(af.missed, now); w != nil {
			v.next = a.runAt(a.firstIndexAtOrAfter(w.start))
		}
	}
	if a.BaseStatus == 4 {
		v.statusID, v.scheduleStatus = 4, "paused"
		v.pausedAt, v.pausedBy = a.Modified, a.ModifiedBy
	}
	if w := activeIn(af.paused, now); w != nil {
		v.statusID, v.scheduleStatus = 4, "paused"
		v.pausedAt, v.pausedBy = w.start, t.Users[int(hashString(w.f.ID)%uint64(len(t.Users)))]
	}
	if activeIn(af.inactive, now) != nil {
		v.isActive = false
		if a.Type == "triggered" {
			v.statusID = 8
		} else {
			v.statusID, v.scheduleStatus = 2, "none"
		}
	}
	return v
}

// ---------------------------------------------------------------- journeys

func (s *Sim) journeyWindows(t *tenant, j *journey) (stopped, paused, stalled []window) {
	ids := []string{j.Key, j.Name, j.ID}
	return s.faults.windows(FaultJourneyStopped, t.MID, ids...),
		s.faults.windows(FaultJourneyPaused, t.MID, ids...),
		s.faults.windows(FaultJourneyStalled, t.MID, ids...)
}

// journeyModified is the journey's ModifiedDate: stopping or pausing it
// (a fault window that has begun) is a change to the journey.
func (s *Sim) journeyModified(t *tenant, j *journey, now time.Time) time.Time {
	m := j.Modified
	stopped, paused, _ := s.journeyWindows(t, j)
	for _, ws := range [][]window{stopped, paused} {
		if w := activeIn(ws, now); w != nil && w.start.After(m) {
			m = w.start
		}
	}
	return m
}

func (s *Sim) journeyStatus(t *tenant, j *journey, now time.Time) string {
	stopped, paused, _ := s.journeyWindows(t, j)
	if activeIn(stopped, now) != nil {
		return "Stopped"
	}
	if activeIn(paused, now) != nil {
		return "Paused"
	}
	if j.BaseStatus == "Published" && now.Before(j.Published) {
		return "Draft"
	}
	return j.BaseStatus
}

// enrolled returns contacts that entered the journey up to time at.
func (s *Sim) enrolled(t *tenant, j *journey, at time.Time) int64 {
	if j.BaseStatus == "Draft" || at.Before(j.Published) {
		return 0
	}
	end := at
	if !j.StopAt.IsZero() && j.StopAt.Before(end) {
		end = j.StopAt
	}
	if !end.After(j.Published) {
		return j.BasePopulation
	}
	active := end.Sub(j.Published)
	stopped, paused, stalled := s.journeyWindows(t, j)
	for _, w := range slices.Concat(stopped, paused, stalled) {
		active -= w.overlap(j.Published, end)
	}
	if active < 0 {
		active = 0
	}
	return j.BasePopulation + int64(active.Hours()*j.RatePerHour) + s.entries.count(t.MID, j.Key, end)
}

type journeyStats struct {
	Current, Cumulative, MetGoal, MetExit int64
	GoalPerformance                       float64
}

func (s *Sim) journeyStats(t *tenant, j *journey, now time.Time) journeyStats {
	cum := s.enrolled(t, j, now)
	st := journeyStats{Cumulative: cum, MetGoal: cum * 12 / 100, MetExit: cum * 5 / 100}
	if s.journeyStatus(t, j, now) != "Stopped" && j.BaseStatus != "Stopped" {
		st.Current = cum - s.enrolled(t, j, now.Add(-72*time.Hour))
	}
	if cum > 0 {
		st.GoalPerformance = math.Round(float64(st.MetGoal)/float64(cum)*10000) / 100
	}
	return st
}

// ---------------------------------------------------------------- triggered sends

type tsCounters struct {
	Status                                                string
	Sent, NotSentErr, NotSentOptOut, NotSentUndeliverable int64
	Queued, Bounces, Opens, Clicks, UniqueOpens           int64
	UniqueClicks, OptOuts                                 int64
}

func (s *Sim) tsState(t *tenant, ts *triggeredSend, now time.Time) tsCounters {
	ids := []string{ts.Key, ts.Name, ts.ObjectID}
	inactive := s.faults.windows(FaultTriggeredSendInactive, t.MID, ids...)
	errs := s.faults.windows(FaultTriggeredSendErrors, t.MID, ids...)
	backlog := s.faults.windows(FaultTriggeredSendBacklog, t.MID, ids...)
	c := tsCounters{Status: ts.BaseStatus}
	end := now
	if ts.BaseStatus != "Active" && ts.Modified.Before(end) {
		end = ts.Modified
	}
	elapsed := end.Sub(ts.Created)
	if elapsed < 0 {
		elapsed = 0
	}
	attempted := elapsed.Hours() * ts.RatePerHour
	var queuedFor time.Duration
	if w := activeIn(inactive, now); w != nil {
		c.Status = "Inactive"
		queuedFor = now.Sub(w.start)
		c.Queued += int64(queuedFor.Hours() * ts.RatePerHour)
	}
	if w := activeIn(backlog, now); w != nil {
		d := now.Sub(w.start)
		if d > queuedFor {
			queuedFor = d
		}
		c.Queued += int64(d.Hours() * w.f.paramFloat("per_hour", max(ts.RatePerHour, 60)))
	}
	lost, moreBounces, moreUnsubs := s.tsSendFaults(t, ts, now)
	sent := attempted - queuedFor.Hours()*ts.RatePerHour - lost
	if sent < 0 {
		sent = 0
	}
	c.Sent = int64(sent)
	extra := 0.0
	for _, w := range errs {
		extra += w.overlap(ts.Created, now).Hours() * w.f.paramFloat("per_hour", 120)
	}
	c.NotSentErr = int64(sent*ts.ErrRate + extra)
	c.NotSentOptOut = c.Sent / 200
	c.NotSentUndeliverable = c.Sent / 300
	c.Bounces = c.Sent*15/1000 + int64(moreBounces)
	c.Opens = c.Sent * 35 / 100
	c.UniqueOpens = c.Sent * 28 / 100
	c.Clicks = c.Sent * 6 / 100
	c.UniqueClicks = c.Sent * 45 / 1000
	c.OptOuts = c.Sent/500 + int64(moreUnsubs)
	return c
}

// ---------------------------------------------------------------- transactional

type txQueue struct {
	Status     string
	Count, Age int64
}

func (s *Sim) txState(t *tenant, tx *txDefinition, now time.Time) txQueue {
	q := txQueue{Status: "Active"}
	ws := s.faults.windows(FaultTransactionalQueue, t.MID, tx.Key, tx.Name, tx.DefinitionID)
	if w := activeIn(ws, now); w != nil {
		d := now.Sub(w.start)
		q.Status = "Inactive"
		q.Count = int64(d.Hours() * w.f.paramFloat("per_hour", max(tx.RatePerHour, 60)))
		q.Age = int64(d.Seconds())
		return q
	}
	slot := now.Unix() / 60
	q.Count = int64(mix(uint64(slot), uint64(tx.idx)) % 4)
	if q.Count > 0 {
		q.Age = int64(mix(uint64(slot), uint64(tx.idx)+1) % 3)
	}
	return q
}

// notSentEvent is one transactional not-sent event.
type notSentEvent struct {
	ID         int64
	At         time.Time
	Def        *txDefinition
	StatusCode int
	Message    string
	MessageKey string
}

var notSentCodes = map[int]string{
	1: "Unsubscribed", 2: "Held", 5: "InvalidEmailAddress", 10: "MissingRequiredAttributes",
	16: "InvalidAttributeValue", 22: "DataExtensionInsertFailed", 24: "ListDetectiveExclusion",
	26: "BuildEmailError", 27: "SuppressionListExclusion", 111: "ScriptRaiseError",
	126: "MessageVolumeLimitExceeded", 139: "TimedoutInQueue",
}

var baselineNotSent = []int{24, 24, 1, 2, 5, 27}

const eventsPerSlot = 4096

// feedStart is where the not-sent feed begins (one day before start).
func (s *Sim) feedStart() time.Time {
	return s.clock.Start().Add(-24 * time.Hour).Truncate(time.Minute)
}

// notSentEvents returns events with ID > after, oldest first, at most limit.
func (s *Sim) notSentEvents(t *tenant, after int64, limit int, now time.Time) []notSentEvent {
	start := s.feedStart()
	slot := int64(0)
	if after > 0 {
		slot = (after - 1) / eventsPerSlot
	}
	last := int64(now.Sub(start) / time.Minute)
	windows := make([][]window, len(t.TxDefs))
	for i, tx := range t.TxDefs {
		windows[i] = s.faults.windows(FaultTransactionalNotSent, t.MID, tx.Key, tx.Name, tx.DefinitionID)
	}
	var out []notSentEvent
	for ; slot < last && len(out) < limit; slot++ {
		at := start.Add(time.Duration(slot) * time.Minute)
		seq := int64(0)
		for i, tx := range t.TxDefs {
			emit := func(code int, msg string) {
				if seq >= eventsPerSlot {
					return
				}
				id := slot*eventsPerSlot + seq + 1
				seq++
				if id <= after || len(out) >= limit {
					return
				}
				ts := at.Add(time.Duration(mix(uint64(id), 5)%59000) * time.Millisecond)
				if ts.After(now) {
					return
				}
				out = append(out, notSentEvent{ID: id, At: ts, Def: tx, StatusCode: code, Message: cmp.Or(msg, notSentCodes[code]),
					MessageKey: messageKey(uint64(t.MID), uint64(id))})
			}
			if unit(uint64(t.MID), uint64(i), uint64(slot), 3) < tx.NotSentRate/60 {
				emit(baselineNotSent[mix(uint64(slot), uint64(i))%uint64(len(baselineNotSent))], "")
			}
			if w := activeIn(windows[i], at); w != nil {
				per := w.f.paramFloat("per_hour", 120) / 60
				n := int(per)
				if unit(uint64(slot), uint64(i), 9) < per-float64(n) {
					n++
				}
				code := int(w.f.paramFloat("status_code", 111))
				msg := w.f.param("message", "")
				for range n {
					emit(code, msg)
				}
			}
		}
		// Messages integrations had accepted in this minute, swallowed.
		for _, m := range s.acceptedIn(t.MID, at, at.Add(time.Minute)) {
			w := activeIn(s.faults.windows(FaultTransactionalSwallowed, t.MID, m.def.Key, m.def.Name, m.def.DefinitionID), m.at)
			if w == nil || seq >= eventsPerSlot {
				continue
			}
			id := slot*eventsPerSlot + seq + 1
			seq++
			if id <= after || len(out) >= limit || m.at.After(now) {
				continue
			}
			code := int(w.f.paramFloat("status_code", 139))
			out = append(out, notSentEvent{ID: id, At: m.at, Def: m.def, StatusCode: code, Message: notSentCodes[code], MessageKey: m.key})
		}
	}
	for i := range out {
		if out[i].Message == "" {
			out[i].Message = "Error"
		}
	}
	return out
}

func messageKey(a, b uint64) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	h := mix(a, b)
	h2 := mix(h, 77)
	var sb strings.Builder
	for i := range 22 {
		x := h
		if i >= 10 {
			x = h2
		}
		sb.WriteByte(alpha[(x>>(uint(i%10)*6))&63])
	}
	return sb.String()
}

// ---------------------------------------------------------------- data extensions

func (s *Sim) deRows(t *tenant, de *dataExtension, now time.Time) int64 {
	ids := []string{de.Key, de.Name, de.ObjectID}
	if activeIn(s.faults.windows(FaultDEEmptied, t.MID, ids...), now) != nil {
		return 0
	}
	for _, im := range t.Imports {
		// An overwrite import that loaded an empty file left it empty.
		if im.Target == de && activeIn(s.faults.windows(FaultImportEmptyFile, t.MID, im.Key, im.Name, im.ID), now) != nil {
			return 0
		}
	}
	loads := func(from, to time.Time) int64 { // loads in [from, to]
		if to.Before(de.FirstLoad) || to.Before(from) {
			return 0
		}
		if from.Before(de.FirstLoad) {
			from = de.FirstLoad
		}
		first := int64(math.Ceil(float64(from.Sub(de.FirstLoad)) / float64(de.LoadEvery)))
		last := int64(to.Sub(de.FirstLoad) / de.LoadEvery)
		if last < first {
			return 0
		}
		return last - first + 1
	}
	n := loads(de.FirstLoad, now)
	for _, w := range s.faults.windows(FaultDERefreshStopped, t.MID, ids...) {
		end := now
		if !w.end.IsZero() && w.end.Before(end) {
			end = w.end.Add(-time.Nanosecond)
		}
		n -= loads(w.start, end)
	}
	rows := de.BaseRows + max(n, 0)*de.GrowthLoad
	if w := activeIn(s.faults.windows(FaultDERowDrop, t.MID, ids...), now); w != nil {
		rows = int64(float64(rows) * w.f.paramFloat("fraction", 0.3))
	}
	return s.retentionRows(t, de, now, rows)
}

// deFields returns the schema at now and the time it last changed.
func (s *Sim) deFields(t *tenant, de *dataExtension, now time.Time) ([]deField, time.Time) {
	w := activeIn(s.faults.windows(FaultDESchemaChange, t.MID, de.Key, de.Name, de.ObjectID), now)
	if w == nil {
		return de.Fields, de.Modified
	}
	fs := slices.Clone(de.Fields)
	last := &fs[len(fs)-1]
	switch last.Type {
	case "Text":
		last.Type, last.MaxLength = "Number", 0
	default:
		last.Type, last.MaxLength, last.Scale = "Text", 100, 0
	}
	fs = append(fs, deField{Name: w.f.param("field", "Consent_Status"), Type: "Text", MaxLength: 20,
		ObjectID: hashGUID(hashString(de.ObjectID), 42)})
	return fs, w.start.Truncate(time.Millisecond)
}

// ---------------------------------------------------------------- imports

type importRun struct {
	k                    int64
	start, end           time.Time
	status               string
	total, ok, dup, errs int64
	taskResultID         int64
}

func (s *Sim) importRuns(t *tenant, im *importDef, now time.Time, n int) []importRun {
	if now.Before(im.First) {
		return nil
	}
	ids := []string{im.Key, im.Name, im.ID}
	errsW := s.faults.windows(FaultImportErrors, t.MID, ids...)
	failW := s.faults.windows(FaultImportFailed, t.MID, ids...)
	emptyW := s.faults.windows(FaultImportEmptyFile, t.MID, ids...)
	var out []importRun
	for k := int64(now.Sub(im.First) / im.Every); k >= 0 && len(out) < n; k-- {
		at := im.First.Add(time.Duration(k) * im.Every)
		r := importRun{k: k, start: at, taskResultID: 20000000 + int64(im.idx)*100000 + k%100000}
		u := unit(uint64(t.MID), uint64(im.idx), uint64(k))
		r.total = int64(float64(im.RowsPerRun) * (0.7 + 0.6*u))
		dur := time.Duration(20+int64(r.total/500)) * time.Second
		if now.Before(at.Add(dur)) {
			r.status = "Processing"
			out = append(out, r)
			continue
		}
		r.end = at.Add(dur)
		r.dup = r.total / 100
		r.status = "Completed"
		switch {
		case activeIn(failW, at) != nil:
			r.status, r.ok, r.dup, r.errs = "Error", 0, 0, r.total
		case activeIn(emptyW, at) != nil:
			r.total, r.ok, r.dup, r.errs = 0, 0, 0, 0
		case activeIn(errsW, at) != nil:
			w := activeIn(errsW, at)
			r.errs = int64(float64(r.total) * w.f.paramFloat("error_rate", 0.4))
			r.ok = r.total - r.errs - r.dup
		default:
			if u < 0.03 {
				r.errs = 1 + int64(mix(uint64(k), 3)%20)
			}
			r.ok = r.total - r.errs - r.dup
		}
		out = append(out, r)
	}
	return out
}
