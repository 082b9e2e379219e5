package detect

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// CredentialsContention is credentials.contention: several integrations
// or replicas share one installed package's client id. SFMC allows about
// one token request per 20 minutes per client machine and hands out
// tokens that last ~18 minutes; integrations that share a client id each
// request their own, get throttled on the token endpoint, and (when one
// caches a token another's request replaced) see 401s on tokens that
// should still be valid. The recording proxy labels each token request
// with its client id (masked: event.ClientRef, in the event's object key);
// per label, over window (default 1 h):
//
//   - token requests ≥ max_token_requests (default 9, three processes'
//     worth), or
//   - any token request throttled (HTTP 429 or the rate_limit family), or
//   - ≥ min_integrations (default 2) distinct integrations request tokens
//     of it and one of them had an auth failure (401/403, auth family) on
//     an API call less than 18 minutes after its last successful token:
//     a token that stopped working early.
//
// Those fire at the rule's severity; ≥ min_integrations sharing the id
// without any symptom fires at info (the cause is in place, nothing broke
// yet). One finding per client label on resource type tenant, key
// "client:<label>", naming the integrations, counts and the fix (one
// installed package per integration, one cached token per package).
type CredentialsContention struct {
	// Sources are the event sources judged (default "proxy": only the
	// proxy sees the client id of a token request).
	Sources []string
}

// ID implements Rule.
func (CredentialsContention) ID() string { return "credentials.contention" }

// Type implements Rule.
func (CredentialsContention) Type() resource.Type { return resource.Tenant }

// NeedsHistory implements Rule: it reads stored events.
func (CredentialsContention) NeedsHistory() bool { return true }

// tokenLife is how long a v2 token lasts (expires_in 1079-1080 s).
const tokenLife = 18 * time.Minute

// isTokenEndpoint reports whether an endpoint template is SFMC's token
// request (v2/token, or the legacy v1/requestToken).
func isTokenEndpoint(ep string) bool {
	return strings.HasPrefix(ep, "/v2/token") || strings.EqualFold(ep, "/v1/requestToken")
}

type clientUse struct {
	requests, throttled, early int64
	integrations               []string
	first                      time.Time
	evidence                   []int64
}

// Evaluate implements Rule.
func (r CredentialsContention) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	if in.Events == nil {
		return nil, nil
	}
	cfg := in.Rules.CredentialsContention
	window := cfg.Window.Std()
	if window <= 0 {
		window = time.Hour
	}
	sources := r.Sources
	if len(sources) == 0 {
		sources = []string{"proxy"}
	}
	clients := map[string]*clientUse{}
	clientOf := map[string]string{}          // integration → client label of its last token
	lastToken := map[string]time.Time{}      // integration → last successful token
	authFailures := map[string][]time.Time{} // integration → API auth failures
	for _, src := range sources {
		q := store.EventQuery{From: in.Now.Add(-window), To: in.Now.Add(time.Microsecond), Tenant: in.Tenant.Name, Source: src, Limit: 10000}
		for {
			evs, err := in.Events.QueryEvents(ctx, q)
			if err != nil {
				return nil, err
			}
			for i := range evs {
				e := &evs[i]
				if !isTokenEndpoint(e.Endpoint) {
					if e.IsError && (catalog.Family(e.Family) == catalog.Auth || e.Status == 401) {
						// A failure of a token the integration got
						// recently: judged below against its last token.
						if t, ok := lastToken[e.Integration]; ok && e.TS.Sub(t) < tokenLife {
							if c := clients[clientOf[e.Integration]]; c != nil {
								c.early++
								if len(c.evidence) < maxAPIEvidence {
									c.evidence = append(c.evidence, e.ID)
								}
							}
						}
						authFailures[e.Integration] = append(authFailures[e.Integration], e.TS)
					}
					continue
				}
				if e.ObjectKey == "" {
					continue // no client id seen (not through the proxy)
				}
				c := clients[e.ObjectKey]
				if c == nil {
					c = &clientUse{first: e.TS}
					clients[e.ObjectKey] = c
				}
				c.requests++
				if e.Integration != "" && !slices.Contains(c.integrations, e.Integration) {
					c.integrations = append(c.integrations, e.Integration)
				}
				if e.Status == 429 || catalog.Family(e.Family) == catalog.RateLimit {
					c.throttled++
					if len(c.evidence) < maxAPIEvidence {
						c.evidence = append(c.evidence, e.ID)
					}
				}
				if e.Status/100 == 2 && e.Integration != "" {
					lastToken[e.Integration], clientOf[e.Integration] = e.TS, e.ObjectKey
				}
			}
			if len(evs) < q.Limit {
				break
			}
			last := evs[len(evs)-1]
			q.After = store.EventKey{TS: last.TS, ID: last.ID}
		}
	}
	minInt := max(cfg.MinIntegrations, 2)
	var out []Finding
	keys := make([]string, 0, len(clients))
	for k := range clients {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c := clients[k]
		shared := len(c.integrations) >= minInt
		many := cfg.MaxTokenRequests > 0 && c.requests >= int64(cfg.MaxTokenRequests)
		early := shared && c.early > 0
		if !many && c.throttled == 0 && !early && !shared {
			continue
		}
		slices.Sort(c.integrations)
		var why []string
		if many {
			why = append(why, fmt.Sprintf("%d token requests in %s (one process caching its token needs about 3 an hour)", c.requests, config.Duration(window)))
		}
		if c.throttled > 0 {
			why = append(why, fmt.Sprintf("%d token request(s) throttled", c.throttled))
		}
		if early {
			why = append(why, fmt.Sprintf("%d API call(s) refused (401/403) less than %s after the caller's last token: tokens stopped working early", c.early, config.Duration(tokenLife)))
		}
		who := "one integration name (replicas or processes behind one name)"
		switch {
		case len(c.integrations) == 1:
			who = fmt.Sprintf("one integration name, %s (replicas or processes behind one name)", c.integrations[0])
		case len(c.integrations) > 1:
			who = fmt.Sprintf("%d integrations: %s", len(c.integrations), strings.Join(c.integrations, ", "))
		}
		f := Finding{Rule: r.ID(), Tenant: in.Tenant.Name, ResourceType: resource.Tenant, ResourceKey: "client:" + k,
			ResourceName: "client id " + k, Family: catalog.RateLimit, Owner: catalog.Infrastructure, FirstSeen: c.first,
			Title: fmt.Sprintf("Client id %s is shared by %s", k, who),
			Remediation: []string{
				"Give each integration its own installed package (Setup > Apps > Installed Packages) with only the scopes it needs, and point it at its own client id and secret.",
				"Within one integration, request a token once and share it across replicas until it expires (~18 minutes), refreshing about a minute early; never request a token per call.",
			}}
		for _, id := range c.evidence {
			f.Evidence = append(f.Evidence, store.Evidence{Kind: store.EvidenceEvent, RefID: id, AddedAt: in.Now})
		}
		if len(why) == 0 {
			f.Severity = catalog.Info
			f.Detail = fmt.Sprintf("%d token requests in %s came from %s through one client id. Nothing failed yet, but SFMC counts token requests per client and integrations sharing one throttle each other's.", c.requests, config.Duration(window), who)
		} else {
			f.Detail = fmt.Sprintf("Token requests of client id %s (label: first 4 characters and a hash) in the last %s: %s. Integrations: %s.", k, config.Duration(window), strings.Join(why, "; "), who)
		}
		out = append(out, f)
	}
	return out, nil
}
