package detect

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// APIErrorsIntegration is api.errors.integration: one integration's calls
// fail across its endpoints while no endpoint alone crosses api.errors'
// thresholds (an SDK that retrieves four SOAP object types and gets code 17
// on all 16 of its calls: 4 failures per endpoint, under consecutive 5 and
// min_calls 20). It judges each (integration, family) over the api.errors
// window with api.errors' own thresholds (config rules."api.errors"), but
// across endpoints:
//
//   - a run of ≥ consecutive failures of that family with no success of the
//     integration in between, on at least two endpoints; or
//   - ≥ error_ratio of the integration's calls in the window failed that
//     way, with ≥ min_calls calls, on at least two endpoints;
//
// and only when api.errors itself has no finding for that integration and
// family (then the per-endpoint incidents say it, and the correlation step
// folds them). One finding per (integration, family), on resource type
// tenant with resource key "integration:<name>", listing endpoints and
// counts. It runs after the tenant collection, like api.errors, and
// disables with it.
//
// The monitor's own calls (source "client") are left to api.errors and the
// tenant rules: a throttled or failing tenant already shows per endpoint
// there, and judging them again across endpoints only repeated it.
type APIErrorsIntegration struct {
	// Sources are the event sources judged (default: the integrations'
	// calls, "proxy", "ingest", "tail").
	Sources []string
}

// ID implements Rule.
func (APIErrorsIntegration) ID() string { return "api.errors.integration" }

// Type implements Rule.
func (APIErrorsIntegration) Type() resource.Type { return resource.Tenant }

// NeedsHistory implements Rule: it reads stored events.
func (APIErrorsIntegration) NeedsHistory() bool { return true }

type integrationFamily struct{ integration, family string }

type integrationFailures struct {
	run, maxRun    int64
	failures       int64
	first          time.Time
	byEndpoint     map[string]int64
	codes          map[string]int64
	evidence       []int64
	sample         store.EventRecord
	runEndpoints   map[string]bool
	maxRunEndpoint int
}

// Evaluate implements Rule.
func (r APIErrorsIntegration) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	if in.Events == nil {
		return nil, nil
	}
	if b := in.Rules.Rule("api.errors"); b != nil && !b.Enabled {
		return nil, nil
	}
	cfg := in.Rules.APIErrors
	window := cfg.Window.Std()
	if window <= 0 {
		window = 15 * time.Minute
	}
	// What api.errors finds itself is not repeated here.
	covered := map[integrationFamily]bool{}
	per, err := APIErrors{}.Evaluate(ctx, in)
	if err != nil {
		return nil, err
	}
	for _, f := range per {
		parts := strings.Split(f.Discriminator, "|")
		if len(parts) >= 2 {
			covered[integrationFamily{parts[0], parts[1]}] = true
		}
	}
	sources := r.Sources
	if len(sources) == 0 {
		sources = []string{"proxy", "ingest", "tail"}
	}
	var (
		calls  map[string]int64
		groups map[integrationFamily]*integrationFailures
	)
	if br, ok := in.Events.(store.BucketReader); ok {
		calls, groups, err = r.foldBuckets(ctx, in, br, sources, window)
	} else {
		calls, groups, err = r.foldScan(ctx, in, sources, window)
	}
	if err != nil {
		return nil, err
	}
	var out []Finding
	for k, g := range groups {
		if covered[k] || len(g.byEndpoint) < 2 {
			continue
		}
		n := calls[k.integration]
		run := cfg.Consecutive > 0 && g.maxRun >= int64(cfg.Consecutive) && g.maxRunEndpoint >= 2
		ratio := cfg.ErrorRatio > 0 && n >= int64(max(cfg.MinCalls, 1)) && float64(g.failures)/float64(n) >= float64(cfg.ErrorRatio)
		if !run && !ratio {
			continue
		}
		out = append(out, r.finding(in, k, g, n, window))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Fingerprint() < out[j].Fingerprint() })
	return out, nil
}

// foldScan folds every event of the window, source by source in (ts, id)
// order.
func (r APIErrorsIntegration) foldScan(ctx context.Context, in *Input, sources []string, window time.Duration) (map[string]int64, map[integrationFamily]*integrationFailures, error) {
	winStart := in.Now.Add(-window)
	calls := map[string]int64{}
	groups := map[integrationFamily]*integrationFailures{}
	for _, src := range sources {
		q := store.EventQuery{From: winStart, To: in.Now.Add(time.Microsecond), Tenant: in.Tenant.Name, Source: src, Limit: 10000}
		for {
			evs, err := in.Events.QueryEvents(ctx, q)
			if err != nil {
				return nil, nil, err
			}
			for i := range evs {
				e := &evs[i]
				calls[e.Integration]++
				fam := catalog.Family(e.Family)
				if !e.IsError || !fam.IsError() {
					// A success of the integration breaks its runs.
					for k, g := range groups {
						if k.integration == e.Integration {
							g.run = 0
							g.runEndpoints = nil
						}
					}
					continue
				}
				k := integrationFamily{e.Integration, e.Family}
				g := groups[k]
				if g == nil {
					g = &integrationFailures{byEndpoint: map[string]int64{}, codes: map[string]int64{}, first: e.TS}
					groups[k] = g
				}
				g.failures++
				g.byEndpoint[e.Endpoint]++
				g.codes[e.Surface+":"+e.Code]++
				g.sample = *e
				if len(g.evidence) < maxAPIEvidence {
					g.evidence = append(g.evidence, e.ID)
				}
				g.run++
				if g.runEndpoints == nil {
					g.runEndpoints = map[string]bool{}
				}
				g.runEndpoints[e.Endpoint] = true
				if g.run > g.maxRun {
					g.maxRun, g.maxRunEndpoint = g.run, len(g.runEndpoints)
				}
			}
			if len(evs) < q.Limit {
				break
			}
			last := evs[len(evs)-1]
			q.After = store.EventKey{TS: last.TS, ID: last.ID}
		}
	}
	return calls, groups, nil
}

func (r APIErrorsIntegration) finding(in *Input, k integrationFamily, g *integrationFailures, calls int64, window time.Duration) Finding {
	who := k.integration
	if who == "" {
		who = "(unnamed integration)"
	}
	eps := make([]string, 0, len(g.byEndpoint))
	for ep := range g.byEndpoint {
		eps = append(eps, ep)
	}
	slices.SortFunc(eps, func(a, b string) int {
		if c := g.byEndpoint[b] - g.byEndpoint[a]; c != 0 {
			return int(c)
		}
		return strings.Compare(a, b)
	})
	codes := make([]string, 0, len(g.codes))
	for c := range g.codes {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	top := codes[0]
	for _, c := range codes {
		if g.codes[c] > g.codes[top] {
			top = c
		}
	}
	surface, code, _ := strings.Cut(top, ":")
	e := catalog.Default().Resolve(catalog.Surface(surface), code, "", g.sample.Status)
	var parts []string
	for _, ep := range eps {
		parts = append(parts, fmt.Sprintf("%s %d", ep, g.byEndpoint[ep]))
	}
	title := fmt.Sprintf("%s calls fail across %d endpoints: %d of %d calls in %s (%s)", who, len(eps), g.failures, calls, window, strings.Join(codes, ", "))
	detail := fmt.Sprintf("No endpoint alone crosses the api.errors thresholds, but the integration's calls fail across endpoints: %s. Most common: %s %s.",
		strings.Join(parts, ", "), top, e.Title)
	ev := make([]store.Evidence, 0, len(g.evidence))
	for _, id := range g.evidence {
		if id != 0 {
			ev = append(ev, store.Evidence{Kind: store.EvidenceEvent, RefID: id})
		}
	}
	sev := catalog.Warning
	if b := in.Rules.Rule("api.errors"); b != nil && b.Severity != "" {
		sev = b.Severity
	}
	return Finding{
		Severity: sev, Family: catalog.Family(k.family), ResourceType: resource.Tenant, ResourceKey: "integration:" + k.integration,
		ResourceName: who, Discriminator: k.integration + "|" + k.family,
		Title: title, Detail: detail, Owner: e.Owner, Remediation: e.Remediation, FirstSeen: g.first, Evidence: ev,
	}
}
