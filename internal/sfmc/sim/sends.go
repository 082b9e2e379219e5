package sim

import (
	"slices"
	"strings"
	"time"
)

// Send jobs (SOAP Send): every run of an automation with an email send
// activity sends that activity's email to its audience, one job per run.
// send_volume_drop, send_bounce_spike and send_unsubscribe_spike change the
// jobs that start inside their window (and, for triggered sends, the
// counters accrued in it).

// sendLookback bounds the jobs the simulator keeps (SFMC keeps all; the
// collector reads at most five weeks).
const sendLookback = 40 * 24 * time.Hour

// sendJobTime is how long a job takes to send.
const sendJobTime = 10 * time.Minute

type sendJob struct {
	id                                    int64
	a                                     *automation
	act                                   activity
	at                                    time.Time
	status                                string
	targeted, sent, excluded, bounces     int64
	hard, soft, other, unsubs, uniqOpens  int64
	uniqClicks, existingUnsubs, delivered int64
}

// sendFaultIDs are the names a send fault's target matches: the
// automation's key, name and id, and the send activity's name.
func sendFaultIDs(a *automation, act activity) []string {
	return []string{a.Key, a.Name, a.ID, act.Name, act.ObjectID}
}

// sendJobs returns the send jobs of the tenant started after since, up to
// now.
func (s *Sim) sendJobs(t *tenant, since, now time.Time) []sendJob {
	if since.Before(now.Add(-sendLookback)) {
		since = now.Add(-sendLookback)
	}
	var out []sendJob
	for _, a := range t.Automations {
		if a.Sched == nil {
			continue
		}
		for k, act := range a.Activities {
			// One send definition per automation: its first send activity.
			if act.ObjectTypeID != objEmailSend || slices.ContainsFunc(a.Activities[:k], func(x activity) bool { return x.ObjectTypeID == objEmailSend }) {
				continue
			}
			ids := sendFaultIDs(a, act)
			drop := s.faults.windows(FaultSendVolumeDrop, t.MID, ids...)
			bounce := s.faults.windows(FaultSendBounceSpike, t.MID, ids...)
			unsub := s.faults.windows(FaultSendUnsubscribeSpike, t.MID, ids...)
			n := int(now.Sub(since)/a.Sched.Interval) + 2
			audience := 800 + int64(mix(hashString(a.ID), 17)%20000)
			for _, r := range s.runs(t, a, now, n) {
				at := r.start.Add(time.Minute).Truncate(time.Second)
				if !at.After(since) || at.After(now) || r.status == "Error" && r.failedAct >= 0 && a.Activities[r.failedAct].ID == act.ID {
					continue
				}
				u := unit(uint64(t.MID), hashString(act.ID), uint64(r.k))
				j := sendJob{id: 40000000 + int64(mix(hashString(act.ID), uint64(r.k))%50000000), a: a, act: act, at: at, status: "Complete"}
				j.targeted = int64(float64(audience) * (0.95 + 0.1*u))
				if w := activeIn(drop, at); w != nil {
					j.targeted = int64(float64(j.targeted) * w.f.paramFloat("fraction", 0.1))
				}
				j.excluded = j.targeted / 100
				j.sent = j.targeted - j.excluded
				bRate, uRate := 0.008+0.006*u, 0.001+0.001*u
				if w := activeIn(bounce, at); w != nil {
					bRate = w.f.paramFloat("rate", 0.2)
				}
				if w := activeIn(unsub, at); w != nil {
					uRate = w.f.paramFloat("rate", 0.03)
				}
				if now.Before(at.Add(sendJobTime)) {
					// Still sending: counters grow with the elapsed share.
					share := float64(now.Sub(at)) / float64(sendJobTime)
					j.status, j.sent = "Sending", int64(float64(j.sent)*share)
				}
				// Bounces and unsubscribes arrive over the hour after the send.
				settle := min(1, float64(now.Sub(at))/float64(time.Hour))
				j.bounces = int64(float64(j.sent) * bRate * settle)
				j.hard = j.bounces * 6 / 10
				j.soft = j.bounces * 3 / 10
				j.other = j.bounces - j.hard - j.soft
				j.unsubs = int64(float64(j.sent) * uRate * settle)
				j.delivered = j.sent - j.bounces
				j.uniqOpens = j.delivered * 25 / 100
				j.uniqClicks = j.delivered * 3 / 100
				j.existingUnsubs = j.targeted / 250
				out = append(out, j)
			}
		}
	}
	return out
}

func soapSendJob(j sendJob) soapObj {
	f := []xnode{
		elNil("PartnerKey"), elInt("ID", j.id), elNil("ObjectID"),
		elKids("Email", elNil("PartnerKey"), elInt("ID", 100000+int64(mix(hashString(j.act.ID), 3)%900000)), elNil("ObjectID")),
		elTime("SendDate", j.at), el("FromAddress", "news@mail.example.com"), el("FromName", "Your Shop"),
		elInt("Duplicates", 0), elInt("InvalidAddresses", 0), elInt("ExistingUndeliverables", 0),
		elInt("ExistingUnsubscribes", j.existingUnsubs), elInt("HardBounces", j.hard), elInt("SoftBounces", j.soft),
		elInt("OtherBounces", j.other), elInt("ForwardedEmails", 0), elInt("UniqueClicks", j.uniqClicks),
		elInt("UniqueOpens", j.uniqOpens), elInt("NumberSent", j.sent), elInt("NumberDelivered", j.delivered),
		elInt("Unsubscribes", j.unsubs), elInt("MissingAddresses", 0), el("Subject", j.act.Name),
	}
	if j.status == "Complete" {
		f = append(f, elTime("SentDate", j.at.Add(sendJobTime)))
	}
	f = append(f, el("EmailName", j.act.Name+"_Email"), el("Status", j.status),
		elInt("NumberTargeted", j.targeted), elInt("NumberErrored", 0), elInt("NumberExcluded", j.excluded),
		elKids("EmailSendDefinition", elNil("PartnerKey"), el("ObjectID", j.act.ObjectID), el("CustomerKey", j.act.Name)))
	return soapObj{typ: "Send", fields: f}
}

// tsSendFaults returns what the send health faults change in a triggered
// send's counters up to now: sends lost to a volume drop, and bounces and
// unsubscribes added by a spike (at the spike's rate of what it sent in
// the window).
func (s *Sim) tsSendFaults(t *tenant, ts *triggeredSend, now time.Time) (lost, bounces, unsubs float64) {
	ids := []string{ts.Key, ts.Name, ts.ObjectID}
	for _, w := range s.faults.windows(FaultSendVolumeDrop, t.MID, ids...) {
		lost += w.overlap(ts.Created, now).Hours() * ts.RatePerHour * (1 - w.f.paramFloat("fraction", 0.1))
	}
	for _, w := range s.faults.windows(FaultSendBounceSpike, t.MID, ids...) {
		bounces += w.overlap(ts.Created, now).Hours() * ts.RatePerHour * w.f.paramFloat("rate", 0.2)
	}
	for _, w := range s.faults.windows(FaultSendUnsubscribeSpike, t.MID, ids...) {
		unsubs += w.overlap(ts.Created, now).Hours() * ts.RatePerHour * w.f.paramFloat("rate", 0.03)
	}
	return lost, bounces, unsubs
}

// soapSends returns the Send objects a Retrieve asks for, building only
// the jobs after the filter's SendDate lower bound when it has one (the
// filter itself is still applied by the caller).
func (s *Sim) soapSends(t *tenant, f *xFilter, now time.Time) []soapObj {
	since := now.Add(-sendLookback)
	if b, ok := sendDateFloor(f); ok && b.After(since) {
		since = b
	}
	var out []soapObj
	for _, j := range s.sendJobs(t, since.Add(-time.Second), now) {
		out = append(out, soapSendJob(j))
	}
	return out
}

// sendDateFloor finds a SendDate greaterThan (or ≥) bound in a simple
// filter or an AND of filters.
func sendDateFloor(f *xFilter) (time.Time, bool) {
	if f == nil {
		return time.Time{}, false
	}
	if f.LeftOperand != nil || f.RightOperand != nil {
		if !strings.EqualFold(strings.TrimSpace(f.LogicalOperator), "AND") {
			return time.Time{}, false
		}
		var best time.Time
		for _, op := range append([]*xFilter{f.LeftOperand, f.RightOperand}, ptrs(f.AdditionalOperands)...) {
			if b, ok := sendDateFloor(op); ok && b.After(best) {
				best = b
			}
		}
		return best, !best.IsZero()
	}
	op := strings.ToLower(strings.TrimSpace(f.SimpleOperator))
	if !strings.EqualFold(strings.TrimSpace(f.Property), "SendDate") || (op != "greaterthan" && op != "greaterthanorequal") {
		return time.Time{}, false
	}
	vals := slices.Concat(f.Value, f.DateValue)
	if len(vals) == 0 {
		return time.Time{}, false
	}
	return parseTimeValue(strings.TrimSpace(vals[0]))
}

func ptrs(fs []xFilter) []*xFilter {
	out := make([]*xFilter, len(fs))
	for i := range fs {
		out[i] = &fs[i]
	}
	return out
}
