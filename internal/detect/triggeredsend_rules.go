package detect

import (
	"context"
	"fmt"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// tsErrorsMinAttempts: triggered_send.errors needs at least this many
// attempts (Sent + NotSentDueToError deltas) in its window, and at least
// tsErrorsMinErrors errors, so a single error on a quiet definition does
// not cross a 2% ratio.
const (
	tsErrorsMinAttempts = 20
	tsErrorsMinErrors   = 3
	// tsLifetimeManyErrors and tsLifetimeFloorRatio: on a high-volume
	// definition, thousands of lifetime NotSentDueToError are reported even
	// below ratio, as long as they are at least 0.5 % of its attempts.
	tsLifetimeManyErrors = 1000
	tsLifetimeFloorRatio = 0.005
)

// tsHistoryLimit bounds the snapshots one triggered send rule reads.
const tsHistoryLimit = 2000

// TriggeredSendInactiveRule is triggered_send.inactive: a triggered send
// definition sfmcwatch saw Active (or a critical one) is not Active for
// 1 + confirm_polls consecutive polls (a Paused — API Inactive — TSD still
// accepts sends and queues them silently). TTD ≤ (1 + confirm_polls) ×
// poll (default 2 polls, §4.1). On the first look (serve's first cycle and
// the audit alike) it reports critical TSDs that are not Active and any TSD
// that is not Active with a non-zero Queued.
type TriggeredSendInactiveRule struct{}

// ID implements Rule.
func (TriggeredSendInactiveRule) ID() string { return "triggered_send.inactive" }

// Type implements Rule.
func (TriggeredSendInactiveRule) Type() resource.Type { return resource.TriggeredSend }

// NeedsHistory implements Rule.
func (TriggeredSendInactiveRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (TriggeredSendInactiveRule) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	confirm := max(in.Rules.TriggeredSendInactive.ConfirmPolls, 0)
	var out []Finding
	for _, s := range in.Current {
		if s.Status == resource.StatusActive || s.Status == resource.StatusDeleted {
			continue
		}
		var st resource.TriggeredSendState
		if err := resource.Decode(s, &st); err != nil {
			return nil, err
		}
		crit := in.Critical(s.ResourceKey)
		queued := s.Counters[resource.CounterQueued]
		// Seen Active before (a change while watching, confirmed over
		// confirm_polls), critical, or found on the first look not Active
		// while holding queued messages (sends accepted and swallowed).
		firstLook := st.PreviousStatus == "" && !st.ActiveBefore
		switch {
		case crit:
		case firstLook:
			// Inactive (Paused in the UI) accepts sends and queues them; a
			// New, Canceled or Moved definition found so is not swallowing
			// anything callers think was sent.
			if queued <= 0 || s.Status != resource.StatusInactive {
				continue
			}
		case !st.ActiveBefore || st.StatusPolls < 1+confirm:
			continue
		}
		name := msgName(st.Name, s.ResourceKey)
		f := Finding{ResourceType: resource.TriggeredSend, ResourceKey: s.ResourceKey, ResourceName: st.Name,
			Title: fmt.Sprintf("Triggered send '%s' is %s", name, s.Status),
			Owner: catalog.MarketingOps, FirstSeen: msgFirst(st.StatusSince, s.ObservedAt), Evidence: msgEvidence(s),
			Remediation: []string{
				"Email Studio > Interactions > Triggered Emails: check who paused or changed the definition (ModifiedDate) and why.",
				"If it should send, publish/start it again: queued messages are released on restart (check that they are still wanted).",
				"If it was retired on purpose, make sure no integration still calls it, then mark it ignored.",
			}}
		switch s.Status {
		case resource.StatusInactive:
			f.Detail = "TriggeredSendStatus is Inactive (Paused in the UI): SFMC still accepts sends for it and queues them without sending; callers get no error."
		default:
			f.Detail = fmt.Sprintf("TriggeredSendStatus is %s: sends to it fail or are not processed.", s.Status)
		}
		if queued > 0 {
			f.Detail += fmt.Sprintf(" %d messages are queued.", queued)
		}
		switch {
		case firstLook && !st.ModifiedAt.IsZero():
			f.FailureStartedAt = st.ModifiedAt
			f.Detail += fmt.Sprintf(" Found so on sfmcwatch's first look; SFMC last modified it %s.", st.ModifiedAt.UTC().Format(time.RFC3339))
		case !firstLook && !st.StatusSince.IsZero():
			polls := fmt.Sprintf("%d polls", st.StatusPolls)
			if st.StatusPolls >= config.StatusPollsCap {
				polls = fmt.Sprintf("%d or more polls", config.StatusPollsCap) // collectors stop counting there
			}
			f.Detail += fmt.Sprintf(" Not active since %s (%s).", st.StatusSince.UTC().Format(time.RFC3339), polls)
		}
		if crit {
			f.Severity = catalog.Critical
		}
		out = append(out, f)
	}
	return out, nil
}

// TriggeredSendErrorsRule is triggered_send.errors: NotSentDueToError delta
// / (Sent delta + NotSentDueToError delta) over window ≥ ratio (defaults
// 2% over 1 h, warning), with at least 20 attempts and 3 errors in the
// window. TTD: the first poll at which the window's ratio crosses (1 poll
// for a burst well above the ratio); it resolves once the errors have left
// the window (≤ window + 1 poll after they stop).
//
// First look: SFMC's counters are lifetime totals, so a definition found
// with a lifetime NotSentDueToError share ≥ ratio (same floors) is
// reported at warning while the window holds too few attempts to judge
// (the first cycles, or no traffic since); it resolves once at least 20
// attempts in the window show the share below the ratio.
type TriggeredSendErrorsRule struct{}

// ID implements Rule.
func (TriggeredSendErrorsRule) ID() string { return "triggered_send.errors" }

// Type implements Rule.
func (TriggeredSendErrorsRule) Type() resource.Type { return resource.TriggeredSend }

// NeedsHistory implements Rule: the first look judges lifetime counters.
func (TriggeredSendErrorsRule) NeedsHistory() bool { return false }

func tsErrorsRemediation() []string {
	return []string{
		"Open the send's Tracking > Not Sent details (or the _Sent/_NotSent data views) for the error reasons.",
		"Typical causes: content errors (AMPscript RaiseError, missing attributes), a changed sender profile or send classification, a broken publication list.",
	}
}

// Evaluate implements Rule.
func (TriggeredSendErrorsRule) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.TriggeredSendErrors
	window := cfg.Window.Std()
	var out []Finding
	for _, s := range in.Current {
		var st resource.TriggeredSendState
		if err := resource.Decode(s, &st); err != nil {
			return nil, err
		}
		lifeSent, lifeErrs := s.Counters[resource.CounterSent], s.Counters[resource.CounterNotSentDueToError]
		// Lifetime totals judge only definitions that still send (a retired
		// one keeps its old errors forever): a share over the ratio, or
		// thousands of errors at a share over tsLifetimeFloorRatio.
		lifeRatio := 0.0
		if lifeSent+lifeErrs > 0 {
			lifeRatio = float64(lifeErrs) / float64(lifeSent+lifeErrs)
		}
		lifetimeBad := s.Status == resource.StatusActive && lifeErrs >= tsErrorsMinErrors && lifeSent+lifeErrs >= tsErrorsMinAttempts &&
			(lifeRatio >= float64(cfg.Ratio) || (lifeErrs >= tsLifetimeManyErrors && lifeRatio >= tsLifetimeFloorRatio))
		recentErr := !st.ErrorAt.IsZero() && in.Now.Sub(st.ErrorAt) <= window
		// Cheap pre-check: errors must have grown within the window, or the
		// lifetime share be over the ratio.
		if !recentErr && !lifetimeBad {
			continue
		}
		var hist []store.Snapshot
		if in.Snapshots != nil {
			var err error
			if hist, err = in.Snapshots.SnapshotHistory(ctx, s.ResourceRef, in.Now.Add(-window), time.Time{}, tsHistoryLimit); err != nil {
				return nil, err
			}
		}
		name := msgName(st.Name, s.ResourceKey)
		var windowAttempts int64
		if len(hist) >= 2 {
			a, cur := hist[0], hist[len(hist)-1]
			sent, errs, ok := tsDeltas(a, cur)
			if ok {
				windowAttempts = sent + errs
			}
			if ok && recentErr && errs >= tsErrorsMinErrors && sent+errs >= tsErrorsMinAttempts &&
				float64(errs)/float64(sent+errs) >= float64(cfg.Ratio) {
				ratio := float64(errs) / float64(sent+errs)
				first := cur.ObservedAt
				for i := 1; i < len(hist); i++ {
					if hist[i].Counters[resource.CounterNotSentDueToError] > hist[i-1].Counters[resource.CounterNotSentDueToError] {
						first = hist[i].ObservedAt
						break
					}
				}
				f := Finding{ResourceType: resource.TriggeredSend, ResourceKey: s.ResourceKey, ResourceName: st.Name,
					Title: fmt.Sprintf("Triggered send '%s': %.1f%% not sent due to error", name, ratio*100),
					Detail: fmt.Sprintf("%d of %d attempts in the last %s were NotSentDueToError (threshold %.1f%%).",
						errs, sent+errs, cur.ObservedAt.Sub(a.ObservedAt).Round(time.Minute), float64(cfg.Ratio)*100),
					Owner: catalog.MarketingOps, FirstSeen: first, Evidence: msgEvidence(a, cur), Remediation: tsErrorsRemediation()}
				if in.Critical(s.ResourceKey) {
					f.Severity = msgEscalate(cfg.Severity)
				}
				out = append(out, f)
				continue
			}
		}
		if !lifetimeBad || windowAttempts >= tsErrorsMinAttempts {
			continue // the window has enough recent attempts and they are healthy
		}
		ratio := float64(lifeErrs) / float64(lifeSent+lifeErrs)
		f := Finding{ResourceType: resource.TriggeredSend, ResourceKey: s.ResourceKey, ResourceName: st.Name,
			Title: fmt.Sprintf("Triggered send '%s': %.1f%% of its lifetime sends not sent due to error", name, ratio*100),
			Detail: fmt.Sprintf("SFMC's lifetime counters show %d NotSentDueToError against %d Sent (threshold %.1f%%); too few attempts in the last %s to tell whether it still fails, so this is reported from the totals and resolves once %d attempts in the window are below the threshold.",
				lifeErrs, lifeSent, float64(cfg.Ratio)*100, window, tsErrorsMinAttempts),
			Owner: catalog.MarketingOps, Severity: catalog.Warning, FirstSeen: s.ObservedAt, Evidence: msgEvidence(s),
			Remediation: tsErrorsRemediation()}
		if in.Critical(s.ResourceKey) {
			f.Severity = msgEscalate(cfg.Severity)
		}
		out = append(out, f)
	}
	return out, nil
}

// tsDeltas returns the Sent and NotSentDueToError deltas between two
// snapshots (ok false when a counter is missing or went backwards: a
// recreated definition).
func tsDeltas(a, b store.Snapshot) (sent, errs int64, ok bool) {
	s0, ok1 := a.Counters[resource.CounterSent]
	s1, ok2 := b.Counters[resource.CounterSent]
	e0, ok3 := a.Counters[resource.CounterNotSentDueToError]
	e1, ok4 := b.Counters[resource.CounterNotSentDueToError]
	if !ok1 || !ok2 || !ok3 || !ok4 || s1 < s0 || e1 < e0 {
		return 0, 0, false
	}
	return s1 - s0, e1 - e0, true
}

// tsBacklogFirstLookMin: the second-cycle backlog check needs at least
// this many queued messages on the first look.
const tsBacklogFirstLookMin = 20

// TriggeredSendBacklogRule is triggered_send.backlog: Queued stayed
// non-empty and did not shrink over the whole window while Sent stayed flat
// (default 15 min, error). It compares the current snapshot with the last
// one observed at or before now − window, so TTD ≤ window + 1 poll and it
// resolves on the first poll where Sent moves or the queue drains. While
// monitoring is younger than the window, it compares with the first look:
// a queue found non-empty that has not drained one poll later, with
// nothing sent, fires on the second cycle.
type TriggeredSendBacklogRule struct{}

// ID implements Rule.
func (TriggeredSendBacklogRule) ID() string { return "triggered_send.backlog" }

// Type implements Rule.
func (TriggeredSendBacklogRule) Type() resource.Type { return resource.TriggeredSend }

// NeedsHistory implements Rule.
func (TriggeredSendBacklogRule) NeedsHistory() bool { return true }

// Evaluate implements Rule.
func (TriggeredSendBacklogRule) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.TriggeredSendBacklog
	window := cfg.Window.Std()
	var out []Finding
	for _, s := range in.Current {
		q, ok := s.Counters[resource.CounterQueued]
		if !ok || q <= 0 || s.Status != resource.StatusActive {
			continue // a queue behind a definition that is not Active is triggered_send.inactive's
		}
		// The window's start: the last snapshot at or before now − window
		// (read from 2 windows back).
		hist, err := in.Snapshots.SnapshotHistory(ctx, s.ResourceRef, in.Now.Add(-2*window), time.Time{}, tsHistoryLimit)
		if err != nil {
			return nil, err
		}
		var st resource.TriggeredSendState
		if err := resource.Decode(s, &st); err != nil {
			return nil, err
		}
		ref, ok := msgAtOrBefore(hist, in.Now.Add(-window))
		if !ok || ref.ObservedAt.After(in.Now.Add(-window)) {
			// Monitoring began less than a window ago: a queue found
			// non-empty on the first look that has not drained by the next
			// poll, with nothing sent, is already stuck.
			if len(hist) < 2 || st.ObservedSince.Before(in.Now.Add(-window)) || !hist[0].ObservedAt.Before(s.ObservedAt) {
				continue
			}
			ref = hist[0]
			// Two looks a poll apart are thin evidence: a sizeable queue
			// and not a single send between them.
			if ref.Counters[resource.CounterQueued] < tsBacklogFirstLookMin || s.Counters[resource.CounterSent] != ref.Counters[resource.CounterSent] {
				continue
			}
		}
		q0, ok1 := ref.Counters[resource.CounterQueued]
		s0, ok2 := ref.Counters[resource.CounterSent]
		s1, ok3 := s.Counters[resource.CounterSent]
		// Not draining: the queue did not shrink. Flat: Sent moved by at
		// most 1 + 1% of the queue growth (SFMC counters are not perfectly
		// synchronous).
		if !ok1 || !ok2 || !ok3 || q < q0 || s1 < s0 || s1-s0 > 1+(q-q0)/100 {
			continue
		}
		name := msgName(st.Name, s.ResourceKey)
		f := Finding{ResourceType: resource.TriggeredSend, ResourceKey: s.ResourceKey, ResourceName: st.Name,
			Title: fmt.Sprintf("Triggered send '%s': %d messages queued, none sent for %s", name, q, s.ObservedAt.Sub(ref.ObservedAt).Round(time.Minute)),
			Detail: fmt.Sprintf("Queued grew from %d to %d while Sent stayed at %d (status %s): accepted messages are not going out.",
				q0, q, s0, s.Status),
			Owner: catalog.MarketingOps, FirstSeen: ref.ObservedAt, Evidence: msgEvidence(ref, s),
			Remediation: []string{
				"Check the definition's status (a Paused/Inactive TSD queues silently) and restart it if it should send.",
				"If it is Active, check Salesforce Trust for send delays on the stack and the account's send throttling settings.",
			}}
		if in.Critical(s.ResourceKey) {
			f.Severity = catalog.Critical
		}
		out = append(out, f)
	}
	return out, nil
}
