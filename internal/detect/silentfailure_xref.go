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

// The cross-reference part of triggered_send.silent_failure: the sends the
// customer's integrations made, as seen in the request path (recording
// proxy) or in their logs (ingest, tail), against what SFMC says happened
// (the definition's TriggeredSendSummary counters). SFMC answers a send
// with 202 and may then queue it forever (a paused definition) or drop it;
// only the two sides together show it.

// XrefSendEndpoints returns the endpoint templates of the triggered send
// calls the cross-reference counts (SOAP named as the proxy names it).
func XrefSendEndpoints() []string {
	return []string{
		"/messaging/v1/messageDefinitionSends/key:{key}/send",
		"/messaging/v1/messageDefinitionSends/{id}/send",
		"/Service.asmx Create TriggeredSend",
	}
}

// xrefGrace: sends accepted this shortly before the definition's latest
// poll may legitimately still be queued; they are not counted.
const xrefGrace = 5 * time.Minute

// xrefEvidence caps the event ids linked per finding.
const xrefEvidence = 20

// xref holds the send events of one evaluation, loaded once for every
// definition.
type xref struct {
	in     *Input
	loaded bool
	// byKey holds send events by lower-cased object key (definition key
	// or id), oldest first.
	byKey map[string][]store.EventRecord
}

func newXref(in *Input) *xref { return &xref{in: in} }

func (x *xref) load(ctx context.Context) error {
	if x.loaded {
		return nil
	}
	x.loaded = true
	x.byKey = map[string][]store.EventRecord{}
	w := x.in.Rules.TriggeredSendSilentFailure.XrefWindow.Std()
	if w <= 0 {
		w = 30 * time.Minute
	}
	// Snapshots may lag the clock: read two windows back.
	from := x.in.Now.Add(-2*w - xrefGrace)
	for _, ep := range XrefSendEndpoints() {
		q := store.EventQuery{From: from, To: x.in.Now.Add(time.Microsecond), Tenant: x.in.Tenant.Name, Endpoint: ep, Limit: 10000}
		for {
			evs, err := x.in.Events.QueryEvents(ctx, q)
			if err != nil {
				return fmt.Errorf("send events: %w", err)
			}
			for _, e := range evs {
				if e.Source == "client" || e.ObjectKey == "" {
					continue // the monitor never sends
				}
				k := strings.ToLower(e.ObjectKey)
				x.byKey[k] = append(x.byKey[k], e)
			}
			if len(evs) < q.Limit {
				break
			}
			last := evs[len(evs)-1]
			q.After = store.EventKey{TS: last.TS, ID: last.ID}
		}
	}
	return nil
}

// sends returns the send events addressed to a definition (by key or id).
func (x *xref) sends(key, id string) []store.EventRecord {
	out := x.byKey[strings.ToLower(key)]
	if id != "" && !strings.EqualFold(id, key) {
		if more := x.byKey[strings.ToLower(id)]; len(more) > 0 {
			out = append(append([]store.EventRecord(nil), out...), more...)
			sort.Slice(out, func(i, j int) bool { return out[i].TS.Before(out[j].TS) })
		}
	}
	return out
}

// crossReference judges one definition: over the span from the last
// snapshot at or before its latest observation − xref_window to that
// observation, sends accepted by SFMC (2xx, no error in the body; those in
// the last xrefGrace excluded) against the Sent delta. Sent also counts
// sends of callers sfmcwatch does not see, so the check only errs towards
// silence: it fires when accepted − ΔSent ≥ xref_not_sent_ratio × accepted
// with at least xref_min_accepted accepted sends.
func (r SilentFailureRule) crossReference(ctx context.Context, in *Input, x *xref, s store.Snapshot) (Finding, bool, error) {
	cfg := in.Rules.TriggeredSendSilentFailure
	if in.Events == nil || s.Status == resource.StatusDeleted || in.Tenant.Object(string(resource.TriggeredSend), s.ResourceKey).Ignore {
		return Finding{}, false, nil
	}
	if err := x.load(ctx); err != nil {
		return Finding{}, false, err
	}
	var st resource.TriggeredSendState
	if err := resource.Decode(s, &st); err != nil {
		return Finding{}, false, err
	}
	evs := x.sends(s.ResourceKey, st.ID)
	if len(evs) < max(cfg.XrefMinAccepted, 1) {
		return Finding{}, false, nil
	}
	w := cfg.XrefWindow.Std()
	end := s.ObservedAt
	hist, err := in.Snapshots.SnapshotHistory(ctx, s.ResourceRef, end.Add(-2*w), end.Add(time.Microsecond), tsHistoryLimit)
	if err != nil {
		return Finding{}, false, err
	}
	a, ok := msgAtOrBefore(hist, end.Add(-w))
	if !ok {
		return Finding{}, false, nil // less than a window of SFMC's side yet
	}
	s0, ok1 := a.Counters[resource.CounterSent]
	s1, ok2 := s.Counters[resource.CounterSent]
	if !ok1 || !ok2 || s1 < s0 {
		return Finding{}, false, nil // counters missing or reset (recreated definition)
	}
	dSent := s1 - s0
	dErr := s.Counters[resource.CounterNotSentDueToError] - a.Counters[resource.CounterNotSentDueToError]
	type side struct{ accepted, rejected int64 }
	per := map[string]*side{}
	var accepted int64
	var first time.Time
	var evidence []store.Evidence
	cutoff := end.Add(-xrefGrace)
	for _, e := range evs {
		if e.TS.Before(a.ObservedAt) || !e.TS.Before(cutoff) {
			continue
		}
		name := e.Integration
		if name == "" {
			name = "(unnamed integration)"
		}
		p := per[name]
		if p == nil {
			p = &side{}
			per[name] = p
		}
		if e.Status/100 != 2 || e.IsError {
			p.rejected++
			continue
		}
		p.accepted++
		accepted++
		if first.IsZero() {
			first = e.TS
		}
		if len(evidence) < xrefEvidence && e.ID != 0 {
			evidence = append(evidence, store.Evidence{Kind: store.EvidenceEvent, RefID: e.ID})
		}
	}
	notSent := accepted - dSent
	if accepted < int64(max(cfg.XrefMinAccepted, 1)) || notSent <= 0 || float64(notSent) < float64(cfg.XrefNotSentRatio)*float64(accepted) {
		return Finding{}, false, nil
	}
	names := make([]string, 0, len(per))
	for n, p := range per {
		if p.accepted > 0 {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if per[names[i]].accepted != per[names[j]].accepted {
			return per[names[i]].accepted > per[names[j]].accepted
		}
		return names[i] < names[j]
	})
	who := names[0]
	if len(names) > 1 {
		who += fmt.Sprintf(" and %d other integration(s)", len(names)-1)
	}
	parts := make([]string, 0, len(per))
	for _, n := range names {
		p := per[n]
		part := fmt.Sprintf("%s: %d accepted", n, p.accepted)
		if p.rejected > 0 {
			part += fmt.Sprintf(", %d rejected", p.rejected)
		}
		parts = append(parts, part)
	}
	span := end.Sub(a.ObservedAt).Round(time.Minute)
	name := msgName(st.Name, s.ResourceKey)
	f := Finding{ResourceType: resource.TriggeredSend, ResourceKey: s.ResourceKey, ResourceName: st.Name, Discriminator: "xref",
		Owner: catalog.MarketingOps, FirstSeen: first,
		Title: fmt.Sprintf("Triggered send '%s': %d sends accepted from %s, SFMC sent %d in %s", name, accepted, who, dSent, span),
		Detail: fmt.Sprintf("The integrations' calls (%s) were answered 2xx without errors between %s and %s; "+
			"over %s to %s SFMC's TriggeredSendSummary shows Sent +%d, NotSentDueToError +%d, Queued %d, status %s: "+
			"%d accepted sends (%.0f%%) were not sent.",
			strings.Join(parts, "; "), a.ObservedAt.UTC().Format(time.RFC3339), cutoff.UTC().Format(time.RFC3339),
			a.ObservedAt.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), dSent, dErr, s.Counters[resource.CounterQueued], s.Status,
			notSent, float64(notSent)/float64(accepted)*100),
		Evidence: append(evidence, msgEvidence(a, s)...),
		Remediation: []string{
			"Check the definition's status: a Paused (API Inactive) triggered send accepts sends with 202 and queues them without sending.",
			"Look at its Not Sent and Queued counts in Email Studio > Interactions > Triggered Emails, and Salesforce Trust for send delays on the stack.",
			"Tell the calling integration's owners which sends were not delivered: SFMC will not report them to the caller.",
		}}
	if s.Status != resource.StatusActive {
		f.Detail += " The definition is not Active, which explains why SFMC queues instead of sending."
	}
	if in.Tenant.IsCritical(string(resource.TriggeredSend), s.ResourceKey) {
		f.Severity = catalog.Critical
	}
	return f, true, nil
}
