package detect

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// ensLookback: an automation or transactional definition counts as
// reported by ENS while its last ENS event is this recent (the ENS merge
// stamps AutomationState.ENSAt / TransactionalState.ENSAt). Objects ENS
// never reported — not subscribed, filtered out, or ENS not set up — are
// never judged.
const ensLookback = 7 * 24 * time.Hour

// ENSSilentRule is ens.silent: SFMC's Event Notification Service stopped
// delivering to sfmcwatch. ENS drops a batch after 3 failed retries,
// suspends a callback after repeated failures (dropping what happens
// meanwhile) and a subscription can be paused or deleted, all without
// telling anyone; polling keeps working, so every rule still fires, only
// minutes later. The rule compares the two inputs over the objects ENS
// reported on in the last 7 days:
//   - automation runs polling saw finish between window (default 1h) and
//     grace (default 10m) ago whose outcome ENS did not push;
//   - not-sent transactional messages the not-sent feed read in the same
//     span that ENS did not push (definitions with EmailNotSent events).
//
// It fires, once per tenant, when at least min_missed (default 2) of them
// were missed and ENS pushed none of the others of that span (a single
// dropped batch is reconciled by polling and is not a finding); it
// resolves once ENS reports again or nothing is missed. Tenant-level:
// evaluated with the tenant health every minute, from the latest
// automation and transactional snapshots (no API call); it needs stored
// snapshots, so the one-shot audit skips it.
type ENSSilentRule struct{}

// ID implements Rule.
func (ENSSilentRule) ID() string { return "ens.silent" }

// Type implements Rule.
func (ENSSilentRule) Type() resource.Type { return resource.Tenant }

// NeedsHistory implements Rule.
func (ENSSilentRule) NeedsHistory() bool { return true }

// ensMiss is one run or message polling saw and ENS did not report.
type ensMiss struct {
	what string
	at   time.Time
}

// Evaluate implements Rule.
func (r ENSSilentRule) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	if in.Snapshots == nil {
		return nil, nil
	}
	cfg := in.Rules.ENSSilent
	window, grace := cfg.Window.Std(), cfg.Grace.Std()
	if window <= 0 {
		window = time.Hour
	}
	minMissed := max(cfg.MinMissed, 1)
	from, to := in.Now.Add(-window), in.Now.Add(-grace)
	if !to.After(from) {
		return nil, nil
	}
	var missed []ensMiss
	reported := 0
	var lastENS time.Time
	var evidence []store.Evidence

	autos, err := in.Snapshots.LatestSnapshots(ctx, in.Tenant.Name, string(resource.Automation))
	if err != nil {
		return nil, err
	}
	for _, s := range autos {
		var st resource.AutomationState
		if resource.Decode(s, &st) != nil || st.ENSAt.IsZero() || in.Now.Sub(st.ENSAt) > ensLookback {
			continue
		}
		lastENS = ensLater(lastENS, st.ENSAt)
		hit := false
		for _, run := range st.Runs {
			if !ensFinished(run.Status) || run.CompletedAt.IsZero() || run.CompletedAt.Before(from) || run.CompletedAt.After(to) {
				continue
			}
			switch {
			case run.ENS != "" && run.ENS != "started":
				reported++
			case run.Polled:
				missed = append(missed, ensMiss{what: fmt.Sprintf("automation '%s' run finished %s (%s)",
					cmp.Or(st.Name, s.ResourceKey), run.CompletedAt.UTC().Format(time.RFC3339), run.Status), at: run.CompletedAt})
				hit = true
			}
		}
		if hit && s.ID != 0 {
			evidence = append(evidence, store.Evidence{Kind: store.EvidenceSnapshot, RefID: s.ID, AddedAt: in.Now})
		}
	}

	txs, err := in.Snapshots.LatestSnapshots(ctx, in.Tenant.Name, string(resource.Transactional))
	if err != nil {
		return nil, err
	}
	for _, s := range txs {
		var st resource.TransactionalState
		if resource.Decode(s, &st) != nil || st.ENSAt.IsZero() || in.Now.Sub(st.ENSAt) > ensLookback {
			continue
		}
		lastENS = ensLater(lastENS, st.ENSAt)
		n := 0
		var first time.Time
		for _, m := range st.NotSentSeen {
			if m.At.Before(from) || m.At.After(to) {
				continue
			}
			switch {
			case m.ENS:
				reported++
			case m.Polled:
				n++
				if first.IsZero() || m.At.Before(first) {
					first = m.At
				}
				missed = append(missed, ensMiss{at: m.At})
			}
		}
		if n > 0 {
			missed[len(missed)-1].what = fmt.Sprintf("%d not-sent message(s) of transactional definition '%s' since %s",
				n, cmp.Or(st.Name, s.ResourceKey), first.UTC().Format(time.RFC3339))
			if s.ID != 0 {
				evidence = append(evidence, store.Evidence{Kind: store.EvidenceSnapshot, RefID: s.ID, AddedAt: in.Now})
			}
		}
	}

	if len(missed) < minMissed || reported > 0 {
		return nil, nil
	}
	slices.SortFunc(missed, func(a, b ensMiss) int { return a.at.Compare(b.at) })
	var lines []string
	for _, m := range missed {
		if m.what != "" && len(lines) < 5 {
			lines = append(lines, m.what)
		}
	}
	f := Finding{ResourceType: resource.Tenant, ResourceKey: in.Tenant.Name, ResourceName: in.Tenant.Name,
		Family: catalog.None, Owner: catalog.Infrastructure, Evidence: evidence,
		// ENS should have reported the first missed outcome within grace.
		FirstSeen: missed[0].at.Add(grace),
		Title:     fmt.Sprintf("ENS stopped reporting for tenant %s: %d outcome(s) polling saw were never pushed", in.Tenant.Name, len(missed)),
		Detail: fmt.Sprintf("Between %s and %s polling saw %d automation run outcome(s) or not-sent message(s) that ENS had reported before but did not push this time, and ENS pushed none of the others (last ENS event %s). "+
			"Detection still works by polling, minutes later instead of seconds. Missed: %s.",
			from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), len(missed), lastENS.UTC().Format(time.RFC3339), strings.Join(lines, "; ")),
		Remediation: []string{
			"Check the callback and its subscriptions (GET /platform/v1/ens-callbacks and /platform/v1/ens-subscriptions-by-cb/{callbackId}): a subscription paused or deleted, or a callback suspended after failed deliveries, drops events.",
			"Check that sfmcwatch's /hooks/ens is reachable from SFMC over HTTPS and answers within 2 s (sfmcwatch_ens_requests_total, bad signatures after a key rotation).",
			"Re-create what is missing with `sfmcwatch ens setup`; events dropped meanwhile are not redelivered, polling covers them.",
		}}
	return []Finding{f}, nil
}

func ensFinished(status string) bool {
	switch status {
	case resource.StatusComplete, resource.StatusError, resource.StatusStopped:
		return true
	}
	return false
}

func ensLater(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
