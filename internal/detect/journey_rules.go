package detect

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// journeyAuditRecent: in an audit (no history), a stopped or paused journey
// is reported when it was modified this recently (or is critical).
const journeyAuditRecent = 7 * 24 * time.Hour

// journeyMinExpected: the low-volume check needs at least this many
// expected entries in its window (research/detection.md §3.5 volume floor).
const journeyMinExpected = 5

// journeyMinBaselineSpan: a baseline needs at least this much history.
const journeyMinBaselineSpan = 2 * time.Hour

// JourneyStoppedRule is journey.stopped: a journey sfmcwatch saw published
// (or a critical one) is now stopped, paused or unpublished. It fires on
// the first poll that observes the change (TTD ≤ 1 poll; §4.1 allows
// 2 × poll), keeps firing for keep_firing_for after a republish (no flapping
// incidents when someone stops and republishes), and says when a pause
// expires if SFMC reports it (warning pause_warning ahead, raising the
// severity). On the first look (serve's first cycle and the audit alike) it
// reports every paused journey, stopped journeys SFMC modified or published
// in the last 7 days (one stopped longer ago is a finished campaign: a
// tenant has many), and every critical journey that is not published.
type JourneyStoppedRule struct{}

// ID implements Rule.
func (JourneyStoppedRule) ID() string { return "journey.stopped" }

// Type implements Rule.
func (JourneyStoppedRule) Type() resource.Type { return resource.Journey }

// NeedsHistory implements Rule.
func (JourneyStoppedRule) NeedsHistory() bool { return false }

func journeyBadStatus(s string) bool {
	return s == resource.StatusStopped || s == resource.StatusPaused || s == resource.StatusUnpublished
}

// Evaluate implements Rule.
func (r JourneyStoppedRule) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.JourneyStopped
	var out []Finding
	for _, s := range in.Current {
		var st resource.JourneyState
		if err := resource.Decode(s, &st); err != nil {
			return nil, err
		}
		crit := in.Critical(s.ResourceKey)
		name := msgName(st.Name, s.ResourceKey)
		switch {
		case journeyBadStatus(s.Status):
			// Seen published before (a change while watching), critical, or
			// found so on the first look with SFMC's modifiedDate recent: a
			// journey paused, or stopped within the last 7 days, is current;
			// one stopped or unpublished long ago is a finished campaign.
			firstLook := st.PreviousStatus == "" && !st.PublishedBefore
			last := st.ModifiedAt
			if st.LastPublishedAt.After(last) {
				last = st.LastPublishedAt
			}
			recent := !last.IsZero() && in.Now.Sub(last) <= journeyAuditRecent
			fire := st.PublishedBefore || crit || (firstLook && (s.Status == resource.StatusPaused || (s.Status == resource.StatusStopped && recent)))
			if !fire {
				continue
			}
			f := Finding{ResourceType: resource.Journey, ResourceKey: s.ResourceKey, ResourceName: st.Name,
				Title:     fmt.Sprintf("Journey '%s' is %s", name, s.Status),
				Owner:     catalog.MarketingOps,
				FirstSeen: msgFirst(st.StatusSince, s.ObservedAt), Evidence: msgEvidence(s)}
			since := ""
			switch {
			case firstLook && !st.ModifiedAt.IsZero():
				// SFMC dates no stop or pause: modifiedDate is the last edit.
				since = fmt.Sprintf(" (found so on sfmcwatch's first look; SFMC's modifiedDate is %s)", st.ModifiedAt.UTC().Format(time.RFC3339))
			case !firstLook && !st.StatusSince.IsZero():
				since = fmt.Sprintf(" since %s", st.StatusSince.UTC().Format(time.RFC3339))
			}
			switch s.Status {
			case resource.StatusStopped:
				f.Detail = fmt.Sprintf("Version %d is Stopped%s: contacts in it were ejected and no new contacts enter.", st.Version, since)
			case resource.StatusPaused:
				f.Detail = fmt.Sprintf("Version %d is Paused%s: contacts wait and entries during the pause may be dropped unless queueing was chosen; at the end of the pause (at most 14 days) it resumes or stops as configured.", st.Version, since)
			default:
				f.Detail = fmt.Sprintf("Version %d is Unpublished%s: contacts already in it drain, no new contacts enter.", st.Version, since)
			}
			if crit {
				f.Severity = catalog.Critical
			}
			if s.Status == resource.StatusPaused && !st.PauseEndsAt.IsZero() {
				left := st.PauseEndsAt.Sub(in.Now)
				f.Detail += fmt.Sprintf(" The pause ends at %s.", st.PauseEndsAt.UTC().Format(time.RFC3339))
				if left <= cfg.PauseWarning.Std() && f.Severity == "" {
					f.Severity = msgEscalate(in.Rules.JourneyStopped.Severity)
					f.Title += fmt.Sprintf(": pause ends in %s", left.Round(time.Minute))
				}
			}
			f.Remediation = []string{
				"Check the journey's audit log (Journey Builder > Activity, or GET /interaction/v1/interactions/{id}/audit/all) for who changed it and why.",
				"If the change was not intended, republish the journey (a new version) or resume it; check the entry source so missed entries can be re-injected.",
				"If it was intended, mark the journey ignored (objects: journey:<key>: {ignore: true}) to close this incident.",
			}
			out = append(out, f)
		case s.Status == resource.StatusPublished && journeyBadStatus(st.PreviousStatus) && st.PublishedBefore && !in.Audit() &&
			in.Now.Sub(st.StatusSince) < cfg.KeepFiringFor.Std():
			f := Finding{ResourceType: resource.Journey, ResourceKey: s.ResourceKey, ResourceName: st.Name,
				Title: fmt.Sprintf("Journey '%s' was %s (republished %s)", name, st.PreviousStatus, st.StatusSince.UTC().Format(time.RFC3339)),
				Detail: fmt.Sprintf("The journey is published again; this finding stays for keep_firing_for (%s) after the republish so a stop/republish cycle stays one incident.",
					cfg.KeepFiringFor.Std()),
				Owner: catalog.MarketingOps, FirstSeen: st.StatusSince, Evidence: msgEvidence(s),
				Remediation: []string{"Confirm the republished version is the intended one and re-inject contacts that missed entry while it was not running."}}
			if crit {
				f.Severity = catalog.Critical
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// JourneyEnrollmentDropRule is journey.enrollment_drop: a published journey
// stops receiving entries. Baseline = average entries/hour over the
// training window (up to 28 days) before the current silence or window
// (research/detection.md §2 #7; no hour-of-week seasonality yet).
//   - Journeys with baseline ≥ min_baseline_per_hour: cumulative_population
//     has not grown for max(silence_min, silence_factor × median
//     inter-arrival) — TTD ≤ that threshold + 1 poll (defaults: 30 min or
//     3 × median gap).
//   - Lower-volume journeys (expecting at least 5 entries per window):
//     entries over window below drop_ratio × baseline × window — TTD ≤
//     (1 − drop_ratio) × window + 1 poll (default 4.8 h + poll); it
//     resolves once entries over the window are back above the ratio.
//
// It needs history (the audit skips it).
type JourneyEnrollmentDropRule struct{}

// ID implements Rule.
func (JourneyEnrollmentDropRule) ID() string { return "journey.enrollment_drop" }

// Type implements Rule.
func (JourneyEnrollmentDropRule) Type() resource.Type { return resource.Journey }

// NeedsHistory implements Rule.
func (JourneyEnrollmentDropRule) NeedsHistory() bool { return true }

// Evaluate implements Rule.
func (r JourneyEnrollmentDropRule) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.JourneyEnrollmentDrop
	var out []Finding
	for _, s := range in.Current {
		if s.Status != resource.StatusPublished {
			continue
		}
		cum, ok := s.Counters[resource.CounterCumulativePopulation]
		if !ok {
			continue
		}
		var st resource.JourneyState
		if err := resource.Decode(s, &st); err != nil {
			return nil, err
		}
		f, err := r.check(ctx, in, s, st, cum, cfg.MinBaselinePerHour, cfg.SilenceMin.Std(), cfg.SilenceFactor, float64(cfg.DropRatio), cfg.Window.Std(), cfg.TrainingWindow.Std())
		if err != nil {
			return nil, err
		}
		if f != nil {
			if in.Critical(s.ResourceKey) {
				f.Severity = catalog.Critical
			}
			out = append(out, *f)
		}
	}
	return out, nil
}

func (r JourneyEnrollmentDropRule) check(ctx context.Context, in *Input, s store.Snapshot, st resource.JourneyState, cum int64,
	minBaseline float64, silenceMin time.Duration, factor, dropRatio float64, window, training time.Duration) (*Finding, error) {
	// The journey must have been published (and observed) long enough.
	since := st.StatusSince
	if since.IsZero() || in.Now.Sub(since) < journeyMinBaselineSpan {
		return nil, nil
	}
	from := in.Now.Add(-training)
	if from.Before(since) {
		from = since // entries before the current publish do not count
	}
	anchor, ok, err := msgFirstAt(ctx, in.Snapshots, s.ResourceRef, from)
	if err != nil || !ok {
		return nil, err
	}
	aCum, ok := anchor.Counters[resource.CounterCumulativePopulation]
	if !ok {
		return nil, nil
	}
	name := msgName(st.Name, s.ResourceKey)
	base := Finding{ResourceType: resource.Journey, ResourceKey: s.ResourceKey, ResourceName: st.Name,
		Owner: catalog.MarketingOps, Evidence: msgEvidence(anchor, s),
		Remediation: []string{
			"Check the entry source: is the entry data extension refreshed (data_extension.stale), did the automation that injects the audience run (automation.error / missed_run), are API entry events still fired?",
			"Check the journey's entry settings (schedule, re-entry, entry filter) and its Journey Builder entry history for rejected contacts.",
			"Once fixed, re-inject the contacts that missed entry.",
		}}

	// High-volume: silence.
	entryAt := st.EntryAt
	if entryAt.IsZero() || entryAt.Before(since) {
		entryAt = since
	}
	if span := entryAt.Sub(anchor.ObservedAt); span >= journeyMinBaselineSpan {
		rate := float64(cum-aCum) / span.Hours()
		if rate >= minBaseline {
			thr := silenceMin
			if g := msgMedian(st.EntryGaps); g > 0 {
				thr = max(thr, time.Duration(factor*float64(g))*time.Second)
			}
			if silent := in.Now.Sub(entryAt); silent >= thr {
				f := base
				f.Title = fmt.Sprintf("Journey '%s' received no entries for %s", name, silent.Round(time.Minute))
				f.Detail = fmt.Sprintf("Published, but cumulative population has stayed at %d since %s; it averaged %.1f entries/hour before (silence threshold %s).",
					cum, entryAt.UTC().Format(time.RFC3339), rate, thr.Round(time.Second))
				f.FirstSeen = entryAt
				return &f, nil
			}
			return nil, nil
		}
	}

	// Low-volume: entries over the window against the baseline.
	ws := in.Now.Add(-window)
	if ws.Before(since) {
		return nil, nil
	}
	wa, ok, err := msgFirstAt(ctx, in.Snapshots, s.ResourceRef, ws)
	if err != nil || !ok {
		return nil, err
	}
	wCum, ok := wa.Counters[resource.CounterCumulativePopulation]
	if !ok {
		return nil, nil
	}
	bspan := wa.ObservedAt.Sub(anchor.ObservedAt)
	if bspan < window {
		return nil, nil // baseline shorter than one window
	}
	rate := float64(wCum-aCum) / bspan.Hours()
	wspan := in.Now.Sub(wa.ObservedAt)
	expected := rate * wspan.Hours()
	if expected < journeyMinExpected || wspan < window*3/4 {
		return nil, nil
	}
	got := cum - wCum
	if float64(got) >= dropRatio*expected {
		return nil, nil
	}
	f := base
	f.Title = fmt.Sprintf("Journey '%s' received %d entries in %s (expected ~%.0f)", name, got, wspan.Round(time.Minute), expected)
	f.Detail = fmt.Sprintf("Entries over the last %s are below %.0f%% of the baseline of %.2f entries/hour.", wspan.Round(time.Minute), dropRatio*100, rate)
	f.FirstSeen = wa.ObservedAt
	f.Evidence = msgEvidence(anchor, wa, s)
	return &f, nil
}

// ---- helpers shared by the journey, triggered send and transactional rules

// msgFirstAt returns the first snapshot of ref observed at or after t.
func msgFirstAt(ctx context.Context, snaps Snapshots, ref store.ResourceRef, t time.Time) (store.Snapshot, bool, error) {
	if snaps == nil {
		return store.Snapshot{}, false, nil
	}
	h, err := snaps.SnapshotHistory(ctx, ref, t, time.Time{}, 1)
	if err != nil || len(h) == 0 {
		return store.Snapshot{}, false, err
	}
	return h[0], true, nil
}

// msgAtOrBefore returns the last snapshot of hist (oldest first) observed
// at or before t, else the oldest (ok false when hist is empty).
func msgAtOrBefore(hist []store.Snapshot, t time.Time) (store.Snapshot, bool) {
	if len(hist) == 0 {
		return store.Snapshot{}, false
	}
	i, _ := slices.BinarySearchFunc(hist, t, func(s store.Snapshot, t time.Time) int {
		if s.ObservedAt.After(t) {
			return 1
		}
		return -1
	})
	if i == 0 {
		return hist[0], true
	}
	return hist[i-1], true
}

func msgMedian(xs []int64) int64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func msgEvidence(snaps ...store.Snapshot) []store.Evidence {
	var out []store.Evidence
	for _, s := range snaps {
		if s.ID != 0 && !slices.ContainsFunc(out, func(e store.Evidence) bool { return e.RefID == s.ID }) {
			out = append(out, store.Evidence{Kind: store.EvidenceSnapshot, RefID: s.ID})
		}
	}
	return out
}

func msgName(name, key string) string {
	if name != "" {
		return name
	}
	return key
}

func msgFirst(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

func msgEscalate(s catalog.Severity) catalog.Severity {
	switch s {
	case catalog.Info:
		return catalog.Warning
	case catalog.Warning:
		return catalog.Error
	}
	return catalog.Critical
}
