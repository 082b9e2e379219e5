package detect

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/scan"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// APIErrors is api.errors: API calls to the tenant keep failing, judged
// over stored events per fingerprint (integration, endpoint template,
// family, surface:code) — the same fingerprint and the same persistence
// definition as `sfmcwatch scan` (scan.IsPersistent):
//
//   - persistent: the fingerprint's current run — its failures with no
//     success of the same (integration, endpoint) in between; failures of
//     other codes do not break it — has ≥ consecutive failures or spans
//     ≥ window, and its latest failure is within window (a run that stopped
//     failing because the endpoint is no longer called ages out);
//   - or bursty: its failures are ≥ error_ratio of the group's calls in the
//     last window, with ≥ min_calls calls.
//
// FirstSeen is the first failure of the run (or of the window for a ratio
// finding). A finding that has held for escalate_after escalates one
// severity. Runs are followed back at most lookback = max(4 × window,
// escalate_after + window); an older run start is clipped to it.
//
// The rule runs after the tenant collection (Type resource.Tenant); its
// findings are on resource type tenant with the endpoint as resource key.
type APIErrors struct {
	// Sources are the event sources judged (default: the monitor's own
	// calls, "client", and the integrations' calls seen by the recording
	// proxy, HTTP ingest and file tail: "proxy", "ingest", "tail").
	Sources []string
}

// ID implements Rule.
func (APIErrors) ID() string { return "api.errors" }

// Type implements Rule.
func (APIErrors) Type() resource.Type { return resource.Tenant }

// NeedsHistory implements Rule: it reads stored events.
func (APIErrors) NeedsHistory() bool { return true }

type apiGroup struct{ integration, endpoint string }

type apiFP struct {
	group         apiGroup
	family        string
	surface, code string
}

// apiRun is a run of failures of one fingerprint.
type apiRun struct {
	count       int64
	first, last time.Time
	evidence    []int64
	sample      store.EventRecord
}

type apiFPState struct {
	run apiRun
	// inWindow counts the fingerprint's failures in the ratio window.
	inWindow      int64
	firstInWindow time.Time
	windowEv      []int64
	sample        store.EventRecord
	// refs, when set, name the run's and the window's samples that are
	// only known by id (the aggregate path): resolveSamples fills them
	// in for the fingerprints that find.
	refs *[2]sampleRef
}

const maxAPIEvidence = 20

// apiParams are one pass's window, lookback and sources.
type apiParams struct {
	window         time.Duration
	from, winStart time.Time
	sources        []string
}

// apiWindows is the rule's window and how far back it follows a run.
func apiWindows(cfg config.APIErrorsRule) (window, lookback time.Duration) {
	window = cfg.Window.Std()
	if window <= 0 {
		window = 15 * time.Minute
	}
	return window, max(4*window, cfg.EscalateAfter.Std()+window)
}

// APIErrorsLookback is how far back api.errors reads events: retention
// keeps the detail of the calls it reads at least this long.
func APIErrorsLookback(cfg config.APIErrorsRule) time.Duration {
	_, lookback := apiWindows(cfg)
	return lookback
}

func (r APIErrors) params(in *Input) apiParams {
	window, lookback := apiWindows(in.Rules.APIErrors)
	sources := r.Sources
	if len(sources) == 0 {
		sources = []string{"client", "proxy", "ingest", "tail"}
	}
	return apiParams{window: window, from: in.Now.Add(-lookback), winStart: in.Now.Add(-window), sources: sources}
}

// Evaluate implements Rule. With a store that keeps running aggregates
// (store.BucketReader) it reads those (evaluateBuckets); otherwise every
// event of the lookback (evaluateScan). Both find the same.
func (r APIErrors) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	if in.Events == nil {
		return nil, nil
	}
	p := r.params(in)
	var (
		fps   map[apiFP]*apiFPState
		calls map[apiGroup]int64
		err   error
	)
	if br, ok := in.Events.(store.BucketReader); ok {
		fps, calls, err = r.foldBuckets(ctx, in, p, br)
	} else {
		fps, calls, err = r.foldScan(ctx, in, p)
	}
	if err != nil {
		return nil, err
	}
	return r.judge(ctx, in, p, fps, calls)
}

// foldScan folds every event of the lookback, source by source in (ts, id)
// order, into the state of every fingerprint and the calls of every group.
func (r APIErrors) foldScan(ctx context.Context, in *Input, p apiParams) (map[apiFP]*apiFPState, map[apiGroup]int64, error) {
	from, winStart, sources := p.from, p.winStart, p.sources
	fps := map[apiFP]*apiFPState{}
	calls := map[apiGroup]int64{}
	open := map[apiGroup][]apiFP{} // fingerprints with an open run, per group
	for _, src := range sources {
		q := store.EventQuery{From: from, To: in.Now.Add(time.Microsecond), Tenant: in.Tenant.Name, Source: src, Limit: 10000}
		for {
			evs, err := in.Events.QueryEvents(ctx, q)
			if err != nil {
				return nil, nil, err
			}
			for i := range evs {
				e := &evs[i]
				g := apiGroup{e.Integration, e.Endpoint}
				if !e.TS.Before(winStart) {
					calls[g]++
				}
				fam := catalog.Family(e.Family)
				if !e.IsError || !fam.IsError() {
					// A success of the group breaks every open run in it.
					for _, k := range open[g] {
						fps[k].run = apiRun{}
					}
					open[g] = open[g][:0]
					continue
				}
				k := apiFP{group: g, family: e.Family, surface: e.Surface, code: e.Code}
				st := fps[k]
				if st == nil {
					st = &apiFPState{}
					fps[k] = st
				}
				if st.run.count == 0 {
					open[g] = append(open[g], k)
					st.run.first = e.TS
				}
				st.run.count++
				st.run.last = e.TS
				st.run.sample = *e
				if len(st.run.evidence) < maxAPIEvidence {
					st.run.evidence = append(st.run.evidence, e.ID)
				}
				if !e.TS.Before(winStart) {
					if st.inWindow == 0 {
						st.firstInWindow = e.TS
					}
					st.inWindow++
					st.sample = *e
					if len(st.windowEv) < maxAPIEvidence {
						st.windowEv = append(st.windowEv, e.ID)
					}
				}
			}
			if len(evs) < q.Limit {
				break
			}
			last := evs[len(evs)-1]
			q.After = store.EventKey{TS: last.TS, ID: last.ID}
		}
	}
	return fps, calls, nil
}

// judge turns the folded state of every fingerprint into findings.
func (r APIErrors) judge(ctx context.Context, in *Input, p apiParams, fps map[apiFP]*apiFPState, calls map[apiGroup]int64) ([]Finding, error) {
	cfg := in.Rules.APIErrors
	window, winStart := p.window, p.winStart
	base := in.Rules.Rule(r.ID())
	type firing struct {
		k          apiFP
		st         *apiFPState
		persistent bool
	}
	var fire []firing
	var pending []*apiFPState
	for k, st := range fps {
		run := st.run
		persistent := run.count > 0 && !run.last.Before(winStart) &&
			scan.IsPersistent(run.count, run.last.Sub(run.first), window, cfg.Consecutive)
		n := calls[k.group]
		ratio := 0.0
		if n > 0 {
			ratio = float64(st.inWindow) / float64(n)
		}
		bursty := st.inWindow > 0 && n >= int64(max(cfg.MinCalls, 1)) && cfg.ErrorRatio > 0 && ratio >= float64(cfg.ErrorRatio)
		if !persistent && !bursty {
			continue
		}
		fire = append(fire, firing{k, st, persistent})
		if st.refs != nil {
			pending = append(pending, st)
		}
	}
	if len(pending) > 0 {
		br, _ := in.Events.(store.BucketReader)
		if err := resolveAPISamples(ctx, br, in.Tenant.Name, pending); err != nil {
			return nil, err
		}
	}
	var out []Finding
	for _, f := range fire {
		k, st, persistent, run, n := f.k, f.st, f.persistent, f.st.run, calls[f.k.group]
		first, evidence, sample := st.firstInWindow, st.windowEv, st.sample
		if persistent {
			first, evidence, sample = run.first, run.evidence, run.sample
		}
		out = append(out, r.finding(in, k, base, first, evidence, sample, persistent, run.count, st.inWindow, n, window))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Fingerprint() < out[j].Fingerprint() })
	return out, nil
}

func (r APIErrors) finding(in *Input, k apiFP, base *config.RuleBase, first time.Time, evidence []int64,
	sample store.EventRecord, persistent bool, runCount, failures, calls int64, window time.Duration) Finding {
	cfg := in.Rules.APIErrors
	e := catalog.Default().Resolve(catalog.Surface(k.surface), k.code, "", sample.Status)
	fam := catalog.Family(k.family)
	sev := catalog.Warning
	if base != nil && base.Severity != "" {
		sev = base.Severity
	}
	if esc := cfg.EscalateAfter.Std(); esc > 0 && in.Now.Sub(first) >= esc {
		sev = escalate(sev)
	}
	who := k.group.integration
	if who == "" {
		who = "(unnamed integration)"
	}
	code := k.surface + ":" + k.code
	if k.code == "" {
		code = fmt.Sprintf("HTTP %d", sample.Status)
	}
	what := fmt.Sprintf("%d of %d calls in %s", failures, calls, window)
	if persistent {
		what = fmt.Sprintf("%d failures in a row since %s", runCount, first.UTC().Format(time.RFC3339))
	}
	kind := "fail repeatedly"
	if persistent {
		kind = "fail persistently"
	}
	title := fmt.Sprintf("%s calls to %s %s: %s %s (%s)", who, k.group.endpoint, kind, code, e.Title, what)
	ev := make([]store.Evidence, 0, len(evidence))
	for _, id := range evidence {
		if id != 0 {
			ev = append(ev, store.Evidence{Kind: store.EvidenceEvent, RefID: id})
		}
	}
	detail := fmt.Sprintf("%s %s answered %s", sample.Method, k.group.endpoint, code)
	if sample.Status != 0 {
		detail += fmt.Sprintf(" (HTTP %d)", sample.Status)
	}
	detail += fmt.Sprintf("; %d of the %d calls of this endpoint in the last %s failed this way.", failures, calls, window)
	if e.Transient {
		detail += " The code is transient: the client retries, but it keeps coming back."
	}
	return Finding{
		Severity: sev, Family: fam, ResourceType: resource.Tenant, ResourceKey: k.group.endpoint,
		ResourceName:  who + " " + k.group.endpoint,
		Discriminator: k.group.integration + "|" + k.family + "|" + k.surface + ":" + k.code,
		Title:         title, Detail: detail, Owner: e.Owner, Remediation: e.Remediation,
		FirstSeen: first, Evidence: ev,
	}
}

// escalate raises a severity one step (critical stays critical).
func escalate(s catalog.Severity) catalog.Severity {
	switch s {
	case catalog.Info:
		return catalog.Warning
	case catalog.Warning:
		return catalog.Error
	}
	return catalog.Critical
}
