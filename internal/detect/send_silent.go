package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// send.silent_failure extends the triggered-send cross-reference
// (triggered_send.silent_failure) to the two other ways an integration
// sends through SFMC and gets a yes that does not mean sent.
//
// Transactional messages. A single-recipient send,
// POST /messaging/v1/email/messages/{messageKey}, is answered 202 before
// SFMC builds the message; what happens next is only in the message's
// status or in the not-sent feed (GET /messaging/v1/email/messages/
// ?type=notSent, which names definitionKey and info.messageKey). The
// request body (which names the definition) is not kept by the proxy or
// in the integrations' logs, so the join is by messageKey: the accepted
// sends of each integration (their URL carries the key) against the
// not-sent events the transactional collector stored from the feed. The
// finding is per integration (resource key integration:<name>) and names
// the definitions the feed attributes the messages to. Batch sends
// (POST /messaging/v1/email/messages with recipients[]) get their keys in
// the response body, which is not kept: they are not judged. Only
// system-caused not-sent codes count (auth, throttling, server, timeout,
// and build/send failures ≥ 100: collect.SystemCausedNotSent);
// unsubscribed or held recipients are SFMC working as designed.
//
// Journey entry events. POST /interaction/v1/events answers 201 with an
// eventInstanceId whether or not the contact then enters; the event
// definition is in the request body, which is not kept, and SFMC exposes
// no read of an event instance. The documented approximation: the events
// the integrations had accepted in the window against the growth of the
// cumulative population of every published journey over the same span.
// Journeys also admit contacts from other entry sources, so the check
// only errs towards silence: it fires when accepted − Σ Δpopulation ≥
// not_entered_ratio × accepted with at least min_entry_events accepted.

// SendSilentFailureRule is send.silent_failure.
type SendSilentFailureRule struct{}

// ID implements Rule.
func (SendSilentFailureRule) ID() string { return "send.silent_failure" }

// Type implements Rule: evaluated after each transactional poll (which
// reads the not-sent feed).
func (SendSilentFailureRule) Type() resource.Type { return resource.Transactional }

// NeedsHistory implements Rule: it joins the integrations' events with
// SFMC's, which a one-shot audit does not have.
func (SendSilentFailureRule) NeedsHistory() bool { return true }

// Endpoint templates the rule reads.
const (
	txSendEndpoint    = "/messaging/v1/email/messages/{messageKey}"
	txNotSentEndpoint = "/messaging/v1/email/messages"
	entryEndpoint     = "/interaction/v1/events"
)

// Evaluate implements Rule.
func (r SendSilentFailureRule) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	if in.Events == nil {
		return nil, nil
	}
	out, err := r.transactional(ctx, in)
	if err != nil {
		return nil, err
	}
	f, ok, err := r.entryEvents(ctx, in)
	if err != nil {
		return nil, err
	}
	if ok {
		out = append(out, f)
	}
	return out, nil
}

// queryAll pages through the events of one endpoint (and source, when
// given) in [from, to).
func queryAll(ctx context.Context, ev Events, q store.EventQuery, each func(store.EventRecord)) error {
	q.Limit = 10000
	for {
		evs, err := ev.QueryEvents(ctx, q)
		if err != nil {
			return fmt.Errorf("events %s: %w", q.Endpoint, err)
		}
		for _, e := range evs {
			each(e)
		}
		if len(evs) < q.Limit {
			return nil
		}
		last := evs[len(evs)-1]
		q.After = store.EventKey{TS: last.TS, ID: last.ID}
	}
}

// integrationCall reports whether an event is an integration's own call
// (not sfmcwatch's, not SFMC's feed).
func integrationCall(e store.EventRecord) bool {
	return e.Source != "client" && e.Source != "sfmc"
}

// systemNotSent reports whether a not-sent status code is a system or
// integration fault rather than list hygiene (the rule of
// collect.SystemCausedNotSent: auth, rate_limit, server, timeout, or a
// client code ≥ 100, SFMC's build and send failures).
func systemNotSent(family, code string) bool {
	switch catalog.Family(family) {
	case catalog.Auth, catalog.RateLimit, catalog.Server, catalog.Timeout:
		return true
	case catalog.Client:
		n, err := strconv.Atoi(code)
		return err == nil && n >= 100
	}
	return false
}

type txNotSent struct {
	definition, code string
	system           bool
	id               int64
}

func (r SendSilentFailureRule) transactional(ctx context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.SendSilentFailure
	w, grace := cfg.Window.Std(), cfg.Grace.Std()
	from, cutoff := in.Now.Add(-w-grace), in.Now.Add(-grace)
	type acc struct {
		key string
		at  time.Time
		id  int64
	}
	byIntegration := map[string][]acc{}
	err := queryAll(ctx, in.Events, store.EventQuery{From: from, To: cutoff, Tenant: in.Tenant.Name, Endpoint: txSendEndpoint}, func(e store.EventRecord) {
		if !integrationCall(e) || e.Method != "POST" || e.ObjectKey == "" || e.Status/100 != 2 || e.IsError {
			return
		}
		n := e.Integration
		if n == "" {
			n = "(unnamed integration)"
		}
		byIntegration[n] = append(byIntegration[n], acc{key: e.ObjectKey, at: e.TS, id: e.ID})
	})
	if err != nil || len(byIntegration) == 0 {
		return nil, err
	}
	// SFMC's side: the not-sent feed from the first accepted send on.
	notSent := map[string]txNotSent{}
	err = queryAll(ctx, in.Events, store.EventQuery{From: from, To: in.Now.Add(time.Microsecond), Tenant: in.Tenant.Name,
		Endpoint: txNotSentEndpoint, Source: "sfmc"}, func(e store.EventRecord) {
		var b struct {
			DefinitionKey string `json:"definitionKey"`
			Info          struct {
				MessageKey string `json:"messageKey"`
			} `json:"info"`
		}
		if e.Source != "sfmc" || json.Unmarshal(e.Body, &b) != nil || b.Info.MessageKey == "" {
			return
		}
		def := b.DefinitionKey
		if def == "" {
			def = e.ObjectKey
		}
		notSent[b.Info.MessageKey] = txNotSent{definition: def, code: e.Code, system: systemNotSent(e.Family, e.Code), id: e.ID}
	})
	if err != nil {
		return nil, err
	}
	var out []Finding
	names := make([]string, 0, len(byIntegration))
	for n := range byIntegration {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		sends := byIntegration[name]
		var failed []txNotSent
		var first time.Time
		defs, codes := map[string]int{}, map[string]int{}
		var evidence []store.Evidence
		for _, a := range sends {
			ns, ok := notSent[a.key]
			if !ok || !ns.system {
				continue
			}
			failed = append(failed, ns)
			defs[ns.definition]++
			codes[ns.code]++
			if first.IsZero() || a.at.Before(first) {
				first = a.at
			}
			if len(evidence) < xrefEvidence {
				evidence = append(evidence, store.Evidence{Kind: store.EvidenceEvent, RefID: a.id})
				if ns.id != 0 && len(evidence) < xrefEvidence {
					evidence = append(evidence, store.Evidence{Kind: store.EvidenceEvent, RefID: ns.id})
				}
			}
		}
		n, total := len(failed), len(sends)
		if n < max(cfg.MinNotSent, 1) || float64(n) < float64(cfg.NotSentRatio)*float64(total) {
			continue
		}
		f := Finding{ResourceType: resource.Transactional, ResourceKey: "integration:" + name, ResourceName: name,
			Owner: catalog.MarketingOps, Family: catalog.None, FirstSeen: first, Evidence: evidence,
			Title: fmt.Sprintf("Transactional sends from %s: %d of %d accepted (202) were not sent by SFMC", name, n, total),
			Detail: fmt.Sprintf("Between %s and %s %s's single-recipient sends were answered 2xx without errors; SFMC's not-sent feed lists %d of their message keys with a system cause (%s), definitions %s. SFMC does not tell the caller.",
				from.UTC().Format(time.RFC3339), cutoff.UTC().Format(time.RFC3339), name, n, countList(codes, "code "), countList(defs, "")),
			Remediation: []string{
				"Look up the codes in the transactional send status codes: build errors (AMPscript RaiseError, missing attributes), MessageVolumeLimitExceeded, a paused definition or a changed send classification.",
				"Tell the integration's owners which messages were not sent (the message keys are in the evidence): a 202 from /messaging/v1/email/messages is not a delivery.",
				"Subscribe to ENS EmailNotSent events (or poll the message status) in the integration so it learns of these itself.",
			}}
		for d := range defs {
			if in.Tenant.IsCritical(string(resource.Transactional), d) {
				f.Severity = catalog.Critical
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// countList renders "a (3), b (1)" by count, then name.
func countList(m map[string]int, prefix string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s%s (%d)", prefix, k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// entryEventsKey is the resource key of the journey entry event finding.
const entryEventsKey = "api-entry-events"

func (r SendSilentFailureRule) entryEvents(ctx context.Context, in *Input) (Finding, bool, error) {
	cfg := in.Rules.SendSilentFailure
	if in.Snapshots == nil {
		return Finding{}, false, nil
	}
	w, grace := cfg.Window.Std(), cfg.Grace.Std()
	journeys, err := in.Snapshots.LatestSnapshots(ctx, in.Tenant.Name, string(resource.Journey))
	if err != nil {
		return Finding{}, false, err
	}
	// SFMC's side: growth of every published journey's cumulative
	// population from its last snapshot at or before now − window.
	var entered int64
	var start, end time.Time
	var evidence []store.Evidence
	for _, j := range journeys {
		if j.Status != resource.StatusPublished {
			continue
		}
		hist, err := in.Snapshots.SnapshotHistory(ctx, j.ResourceRef, j.ObservedAt.Add(-2*w), j.ObservedAt.Add(time.Microsecond), tsHistoryLimit)
		if err != nil {
			return Finding{}, false, err
		}
		a, ok := msgAtOrBefore(hist, j.ObservedAt.Add(-w))
		if !ok || a.ObservedAt.After(j.ObservedAt.Add(-w)) {
			continue // not a window of history yet
		}
		c0, ok1 := a.Counters[resource.CounterCumulativePopulation]
		c1, ok2 := j.Counters[resource.CounterCumulativePopulation]
		if !ok1 || !ok2 || c1 < c0 {
			continue
		}
		entered += c1 - c0
		if start.IsZero() || a.ObservedAt.After(start) {
			start = a.ObservedAt // the latest start: every journey's span covers it
		}
		if end.IsZero() || j.ObservedAt.Before(end) {
			end = j.ObservedAt
		}
		if c1 > c0 && len(evidence) < xrefEvidence {
			evidence = append(evidence, msgEvidence(a, j)...)
		}
	}
	if start.IsZero() {
		return Finding{}, false, nil
	}
	per := map[string]int{}
	var accepted int
	var first time.Time
	err = queryAll(ctx, in.Events, store.EventQuery{From: start, To: end.Add(-grace), Tenant: in.Tenant.Name, Endpoint: entryEndpoint}, func(e store.EventRecord) {
		if !integrationCall(e) || e.Method != "POST" || e.Status/100 != 2 || e.IsError {
			return
		}
		n := e.Integration
		if n == "" {
			n = "(unnamed integration)"
		}
		per[n]++
		accepted++
		if first.IsZero() {
			first = e.TS
		}
		if len(evidence) < 2*xrefEvidence && e.ID != 0 {
			evidence = append(evidence, store.Evidence{Kind: store.EvidenceEvent, RefID: e.ID})
		}
	})
	if err != nil {
		return Finding{}, false, err
	}
	missing := int64(accepted) - entered
	if accepted < max(cfg.MinEntryEvents, 1) || missing <= 0 || float64(missing) < float64(cfg.NotEnteredRatio)*float64(accepted) {
		return Finding{}, false, nil
	}
	f := Finding{ResourceType: resource.Journey, ResourceKey: entryEventsKey, ResourceName: "API entry events",
		Owner: catalog.MarketingOps, Family: catalog.None, FirstSeen: first, Evidence: evidence,
		Title: fmt.Sprintf("Journey entry events: %d accepted from %s, published journeys admitted %d", accepted, countList(per, ""), entered),
		Detail: fmt.Sprintf("POST /interaction/v1/events was answered 2xx %d times between %s and %s; over the same span the cumulative population of every published journey grew by %d in total, so at least %d accepted events (%.0f%%) entered no journey. The events' definitions are in the request bodies, which are not kept: check which journeys the integrations address.",
			accepted, start.UTC().Format(time.RFC3339), end.Add(-grace).UTC().Format(time.RFC3339), entered, missing, float64(missing)/float64(accepted)*100),
		Remediation: []string{
			"Check that the journey each integration addresses (its EventDefinitionKey) is published and not paused or stopped (journey.stopped).",
			"Check the journey's entry criteria and re-entry settings: contacts that do not qualify, or may not re-enter, are dropped without an error to the caller.",
			"Check the entry event's data extension: an event whose data cannot be written (schema change, required field) does not enter.",
		}}
	return f, true, nil
}
