package detect

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Floors of triggered_send.silent_failure.
const (
	// silentMinAttempts: a burn rate needs at least
	// max(silentMinAttempts, min_baseline_per_hour × long window) attempts
	// in the long window (§3.6: burn rates only where traffic is ≥ ~100
	// events per window; below that triggered_send.errors applies).
	silentMinAttempts = 100
	// silentMinSystemNotSent: transactional definitions have no send count
	// a read-only poll can see, so their burn rate uses an absolute floor:
	// at least this many system-caused NotSent in the long window (and at
	// least one in the short window).
	silentMinSystemNotSent = 5
	// silentAbsenceFactor: absence fires after max(absence_after,
	// silentAbsenceFactor / baseline rate) without a send.
	silentAbsenceFactor = 3
	// silentBaselineWindow and silentMinBaselineSpan: the send baseline is
	// the average over up to 7 days of history, needing at least 2 hours.
	silentBaselineWindow  = 7 * 24 * time.Hour
	silentMinBaselineSpan = 2 * time.Hour
)

// SilentFailureRule is triggered_send.silent_failure: sends are accepted but
// not sent. One rule id covering both send APIs, evaluated after the
// transactional collection (Type transactional) and reading the latest
// triggered send snapshots through Input.Snapshots; its findings name the
// object's own resource type. Checks:
//   - burn rate (both APIs): system-caused NotSent against the error budget
//     1 − slo, over long_window and short_window, both ≥ burn_rate
//     (defaults 99.5%, 14.4× over 1 h and 5 min). Triggered sends: ratio of
//     NotSentDueToError to Sent + NotSentDueToError deltas, with at least
//     max(100, min_baseline_per_hour × long_window) attempts. Transactional:
//     not_sent_system deltas (auth/rate_limit/server/timeout, and client
//     build/send codes ≥ 100; recipient codes such as ListDetectiveExclusion
//     never count); the send count is not visible to a read-only poll, so
//     the floor is ≥ 10 such events in the long window and ≥ 1 in the short
//     one. TTD ≤ 1 poll once the floor is met (the 5-min short window
//     bounds it, §4.1); resolves ≤ short_window + 1 poll after the errors
//     stop.
//   - absence (Active triggered sends with baseline ≥ min_baseline_per_hour
//     sends/hour over up to 7 days): Sent has not grown for
//     max(absence_after, 3 / baseline) — TTD ≤ that + 1 poll (default
//     15 min + poll for ≥ 12 sends/hour).
//   - cross-reference (every triggered send definition, when the proxy,
//     ingest or ENS saw the integrations' send calls): sends accepted (2xx
//     without errors) over xref_window, against the definition's Sent
//     delta over the same span (silentfailure_xref.go).
//   - transactional queue (every definition): queue_count > 0, not
//     shrinking since the previous reading, and queue_age_seconds ≥
//     absence_after — TTD ≤ absence_after + 1 poll for a definition whose
//     queue is read every poll (not Active or backlogged definitions are
//     read first); resolves on the next reading.
//
// On the first look (serve's first cycle and the audit alike) the queue and
// burn-rate checks judge what they are given; absence and cross-reference
// need history and events.
type SilentFailureRule struct{}

// ID implements Rule.
func (SilentFailureRule) ID() string { return "triggered_send.silent_failure" }

// Type implements Rule.
func (SilentFailureRule) Type() resource.Type { return resource.Transactional }

// NeedsHistory implements Rule.
func (SilentFailureRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (r SilentFailureRule) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	var out []Finding
	for _, s := range in.Current {
		fs, err := r.transactional(ctx, in, s)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	tsds, err := in.Snapshots.LatestSnapshots(ctx, in.Tenant.Name, string(resource.TriggeredSend))
	if err != nil {
		return nil, err
	}
	xr := newXref(in)
	for _, s := range tsds {
		fs, err := r.triggeredSend(ctx, in, s)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
		f, ok, err := r.crossReference(ctx, in, xr, s)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, f)
		}
	}
	return out, nil
}

func (r SilentFailureRule) budget(in *Input) float64 {
	b := 1 - float64(in.Rules.TriggeredSendSilentFailure.SLO)
	if b <= 0 {
		b = 0.005
	}
	return b
}

func (r SilentFailureRule) transactional(ctx context.Context, in *Input, s store.Snapshot) ([]Finding, error) {
	cfg := in.Rules.TriggeredSendSilentFailure
	var st resource.TransactionalState
	if err := resource.Decode(s, &st); err != nil {
		return nil, err
	}
	crit := in.Tenant.IsCritical(string(resource.Transactional), s.ResourceKey)
	name := msgName(st.Name, s.ResourceKey)
	var out []Finding

	// Queue stuck.
	qc, qa := s.Counters[resource.CounterQueueCount], s.Counters[resource.CounterQueueAgeSeconds]
	if qc > 0 && time.Duration(qa)*time.Second >= cfg.AbsenceAfter.Std() && (st.PreviousQueueCount < 0 || qc >= st.PreviousQueueCount) {
		f := Finding{ResourceType: resource.Transactional, ResourceKey: s.ResourceKey, ResourceName: st.Name, Discriminator: "queue",
			Title: fmt.Sprintf("Transactional definition '%s': %d messages queued, oldest %s", name, qc, (time.Duration(qa) * time.Second).Round(time.Second)),
			Detail: fmt.Sprintf("Messages were accepted (202) but have waited in the queue for %s and the queue is not draining (status %s, read %s).",
				(time.Duration(qa) * time.Second).Round(time.Second), s.Status, st.QueueReadAt.UTC().Format(time.RFC3339)),
			Family: catalog.Timeout, Owner: catalog.MarketingOps, Evidence: msgEvidence(s),
			FailureStartedAt: st.QueueReadAt.Add(-time.Duration(qa) * time.Second),
			FirstSeen:        seenSince(st.QueueReadAt.Add(-time.Duration(qa)*time.Second), st.ObservedSince),
			Remediation: []string{
				"Check the definition's status (GET /messaging/v1/email/definitions/{key}): an Inactive definition accepts and queues sends without sending them.",
				"Reactivate it if it should send; otherwise stop the integration calling it. Check Salesforce Trust for send delays.",
			}}
		if crit {
			f.Severity = catalog.Critical
		}
		out = append(out, f)
	}

	// Burn rate on system-caused not-sent.
	long, short := cfg.LongWindow.Std(), cfg.ShortWindow.Std()
	if st.SystemNotSentAt.IsZero() || in.Now.Sub(st.SystemNotSentAt) > short {
		return out, nil // nothing system-caused within the short window
	}
	hist, err := in.Snapshots.SnapshotHistory(ctx, s.ResourceRef, in.Now.Add(-long-short), time.Time{}, tsHistoryLimit)
	if err != nil {
		return nil, err
	}
	if len(hist) == 0 {
		hist = []store.Snapshot{s}
	}
	cur := hist[len(hist)-1]
	la, _ := msgAtOrBefore(hist, in.Now.Add(-long))
	sa, _ := msgAtOrBefore(hist[:len(hist)-1], in.Now.Add(-short))
	nLong := cur.Counters[resource.CounterNotSentSystem] - la.Counters[resource.CounterNotSentSystem]
	nShort := cur.Counters[resource.CounterNotSentSystem] - sa.Counters[resource.CounterNotSentSystem]
	if la.ObservedAt.After(in.Now.Add(-long)) && la.ObservedAt.Equal(st.ObservedSince) {
		// Monitoring is younger than the long window: the first look's
		// count (the feed's events of the hour before it, by SFMC's
		// timestamps) belongs to the window too, so the first cycle judges
		// the not-sent list as it found it.
		nLong = cur.Counters[resource.CounterNotSentSystem]
	}
	span := cur.ObservedAt.Sub(la.ObservedAt)
	if span < time.Hour && la.ObservedAt.Equal(st.ObservedSince) {
		span += time.Hour // the first look counted the hour before it
	}
	if nLong < silentMinSystemNotSent || nShort < 1 {
		return out, nil
	}
	codes := make([]string, 0, len(st.NotSentByCode))
	for c, n := range st.NotSentByCode {
		codes = append(codes, fmt.Sprintf("%s×%d", c, n))
	}
	sort.Strings(codes)
	f := Finding{ResourceType: resource.Transactional, ResourceKey: s.ResourceKey, ResourceName: st.Name, Discriminator: "burn",
		Title: fmt.Sprintf("Transactional definition '%s': %d system-caused NotSent in %s", name, nLong, span.Round(time.Minute)),
		Detail: fmt.Sprintf("Sends were accepted (202) but not sent: %d system-caused NotSent over the long window, %d over the short one (error budget %.2f%%; the send count is not visible by polling, so at least %d events fire). Latest codes: %s.",
			nLong, nShort, r.budget(in)*100, silentMinSystemNotSent, strings.Join(codes, ", ")),
		Owner: catalog.MarketingOps, FirstSeen: la.ObservedAt, Evidence: msgEvidence(la, cur),
		Remediation: []string{
			"Look up the statusCodes (sfmcwatch explain transactional:<code>) and the definition's content, sender profile and send classification.",
			"Code 126 (MessageVolumeLimitExceeded) needs the account team; build errors need the content fixed; the messages are not retried by SFMC.",
		}}
	if crit {
		f.Severity = catalog.Critical
	}
	return append(out, f), nil
}

func (r SilentFailureRule) triggeredSend(ctx context.Context, in *Input, s store.Snapshot) ([]Finding, error) {
	cfg := in.Rules.TriggeredSendSilentFailure
	if s.Status != resource.StatusActive || in.Tenant.Object(string(resource.TriggeredSend), s.ResourceKey).Ignore {
		return nil, nil
	}
	var st resource.TriggeredSendState
	if err := resource.Decode(s, &st); err != nil {
		return nil, err
	}
	crit := in.Tenant.IsCritical(string(resource.TriggeredSend), s.ResourceKey)
	name := msgName(st.Name, s.ResourceKey)
	long, short := cfg.LongWindow.Std(), cfg.ShortWindow.Std()
	var out []Finding
	base := Finding{ResourceType: resource.TriggeredSend, ResourceKey: s.ResourceKey, ResourceName: st.Name, Owner: catalog.MarketingOps}
	if crit {
		base.Severity = catalog.Critical
	}

	// Burn rate.
	if !st.ErrorAt.IsZero() && in.Now.Sub(st.ErrorAt) <= short {
		hist, err := in.Snapshots.SnapshotHistory(ctx, s.ResourceRef, in.Now.Add(-long-short), time.Time{}, tsHistoryLimit)
		if err != nil {
			return nil, err
		}
		if len(hist) >= 2 {
			cur := hist[len(hist)-1]
			la, _ := msgAtOrBefore(hist, in.Now.Add(-long))
			sa, _ := msgAtOrBefore(hist[:len(hist)-1], in.Now.Add(-short))
			ls, le, ok1 := tsDeltas(la, cur)
			ss, se, ok2 := tsDeltas(sa, cur)
			minAttempts := max(float64(silentMinAttempts), cfg.MinBaselinePerHour*long.Hours())
			if ok1 && ok2 && float64(ls+le) >= minAttempts && ss+se > 0 {
				bl := float64(le) / float64(ls+le) / r.budget(in)
				bs := float64(se) / float64(ss+se) / r.budget(in)
				if bl >= cfg.BurnRate && bs >= cfg.BurnRate {
					f := base
					f.Discriminator = "burn"
					f.Title = fmt.Sprintf("Triggered send '%s' burns its error budget %.0f× (%.1f%% not sent due to error)", name, bl, float64(le)/float64(ls+le)*100)
					f.Detail = fmt.Sprintf("NotSentDueToError: %d of %d attempts over %s (burn %.1f×) and %d of %d over %s (burn %.1f×); threshold %.1f× of a %.2f%% budget.",
						le, ls+le, cur.ObservedAt.Sub(la.ObservedAt).Round(time.Minute), bl, se, ss+se, cur.ObservedAt.Sub(sa.ObservedAt).Round(time.Minute), bs,
						cfg.BurnRate, r.budget(in)*100)
					f.FirstSeen, f.Evidence = la.ObservedAt, msgEvidence(la, sa, cur)
					f.Remediation = []string{
						"Open the send's Not Sent details (or the _NotSent data view) for the reasons: content (AMPscript RaiseError, missing attributes), sender profile, send classification.",
						"The integration got 202s for these messages: tell its owners which sends were lost so they can resend after the fix.",
					}
					out = append(out, f)
				}
			}
		}
	}

	// Absence of sends.
	sentAt := st.SentAt
	if sentAt.IsZero() || sentAt.Before(st.StatusSince) {
		sentAt = st.StatusSince
	}
	// Silence runs to the snapshot's observation, not to in.Now: the time
	// since the last triggered send poll is time the monitor could not see
	// (a platform outage, a backed-off poll) and no evidence of absence.
	// Sent is cumulative, so a flat counter between two observations is.
	silent := s.ObservedAt.Sub(sentAt)
	if sentAt.IsZero() || silent < cfg.AbsenceAfter.Std() {
		return out, nil
	}
	from := in.Now.Add(-silentBaselineWindow)
	if from.Before(st.StatusSince) {
		from = st.StatusSince
	}
	anchor, ok, err := msgFirstAt(ctx, in.Snapshots, s.ResourceRef, from)
	if err != nil || !ok {
		return out, err
	}
	span := sentAt.Sub(anchor.ObservedAt)
	a0, ok1 := anchor.Counters[resource.CounterSent]
	a1, ok2 := s.Counters[resource.CounterSent]
	if !ok1 || !ok2 || span < silentMinBaselineSpan || a1 < a0 {
		return out, nil
	}
	rate := float64(a1-a0) / span.Hours()
	if rate < cfg.MinBaselinePerHour || rate <= 0 {
		return out, nil
	}
	thr := max(cfg.AbsenceAfter.Std(), time.Duration(silentAbsenceFactor/rate*float64(time.Hour)))
	if silent < thr {
		return out, nil
	}
	f := base
	f.Discriminator = "absence"
	f.Title = fmt.Sprintf("Triggered send '%s' sent nothing for %s", name, silent.Round(time.Minute))
	f.Detail = fmt.Sprintf("Active, but Sent has stayed at %d since %s; it averaged %.1f sends/hour before (threshold %s).",
		a1, sentAt.UTC().Format(time.RFC3339), rate, thr.Round(time.Second))
	if q := s.Counters[resource.CounterQueued]; q > 0 {
		f.Detail += fmt.Sprintf(" %d messages are queued.", q)
	}
	f.FirstSeen, f.Evidence = sentAt, msgEvidence(anchor, s)
	f.Remediation = []string{
		"Check the calling integration: is it still calling the triggered send (its own logs, 4xx/5xx in api.errors)?",
		"Check the definition's queue (triggered_send.backlog) and Salesforce Trust for send delays.",
	}
	return append(out, f), nil
}
