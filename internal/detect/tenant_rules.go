package detect

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// counterAPI401Fresh is the tenant snapshot counter written by the tenant
// collector (collect.CounterAPI401Fresh, same name).
const counterAPI401Fresh = "api_401_fresh"

// secretLifetime is how long an installed package's client secret lives.
const secretLifetime = 180 * 24 * time.Hour

// TenantBlind is tenant.blind: sfmcwatch cannot authenticate against the
// tenant — the token endpoint failed token_failures times in a row, or
// api_401_count API calls were rejected with 401 within api_401_window
// although the client had just fetched a fresh token — or the client
// secret is near its 180-day expiry (client_secret_rotated older than
// secret_warn_age: warning; older than secret_error_age: error). The three
// conditions are separate incidents (discriminators token, api_401,
// secret_expiry).
type TenantBlind struct{}

// ID implements Rule.
func (TenantBlind) ID() string { return "tenant.blind" }

// Type implements Rule.
func (TenantBlind) Type() resource.Type { return resource.Tenant }

// NeedsHistory implements Rule: the current tenant snapshot suffices (the
// 401 window uses history when there is some).
func (TenantBlind) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (r TenantBlind) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.TenantBlind
	var out []Finding
	if f, ok := r.secretFinding(in); ok {
		out = append(out, f)
	}
	snap, st, ok, err := tenantSnapshot(in)
	if err != nil || !ok {
		return out, err
	}
	auth, _ := catalog.Default().Lookup(catalog.OAuth, "invalid_client", "")
	first := st.FailingSince
	if first.IsZero() {
		first = snap.ObservedAt
	}
	if cfg.TokenFailures > 0 && st.TokenFailures >= cfg.TokenFailures {
		family, owner, fix := tokenFailureFix(st.LastKind, auth)
		out = append(out, Finding{
			ResourceType: resource.Tenant, ResourceKey: in.Tenant.Name, ResourceName: in.Tenant.Name,
			Discriminator: "token", Family: family, Owner: owner, Remediation: fix,
			Title: fmt.Sprintf("sfmcwatch cannot get an access token for tenant %q (%d failed token requests in a row)",
				in.Tenant.Name, st.TokenFailures),
			Detail: fmt.Sprintf("The token endpoint keeps failing (last: %s). Until it works, every check of this tenant is blind.",
				orDash(st.LastError)),
			FirstSeen: first, Evidence: snapEvidence(snap),
		})
	}
	if cfg.API401Count > 0 {
		n, err := fresh401InWindow(ctx, in, snap, cfg.API401Window.Std())
		if err != nil {
			return out, err
		}
		if n >= int64(cfg.API401Count) {
			out = append(out, Finding{
				ResourceType: resource.Tenant, ResourceKey: in.Tenant.Name, ResourceName: in.Tenant.Name,
				Discriminator: "api_401", Family: catalog.Auth, Owner: auth.Owner, Remediation: auth.Remediation,
				Title: fmt.Sprintf("SFMC rejects sfmcwatch's fresh tokens for tenant %q (%d API 401s in %s)",
					in.Tenant.Name, n, cfg.API401Window),
				Detail: fmt.Sprintf("Calls were rejected with 401 right after a new token was issued (last: %s): the installed package, its API user or the business unit access is broken.",
					orDash(st.LastError)),
				FirstSeen: first, Evidence: snapEvidence(snap),
			})
		}
	}
	return out, nil
}

// tokenFailureFix is the family, owner and fix of failing token requests
// by how the last one failed: credentials rejected are the installed
// package's to fix; a token endpoint that cannot be reached, answers 5xx
// or times out is a network or SFMC problem, and rotating secrets then
// would only add a second failure.
func tokenFailureFix(kind string, auth catalog.Entry) (catalog.Family, catalog.Owner, []string) {
	switch kind {
	case "transport":
		return catalog.Timeout, catalog.Infrastructure, []string{
			"sfmcwatch cannot connect to the tenant's auth endpoint (DNS, connection refused or reset, TLS): check the auth_base_url, DNS, the egress firewall or proxy, and TLS interception between sfmcwatch and *.auth.marketingcloudapis.com.",
			"If the network is fine from elsewhere, check the Salesforce Trust status of the tenant's instance.",
		}
	case "timeout":
		return catalog.Timeout, catalog.SalesforceSupport, []string{
			"The token endpoint does not answer in time: check the Salesforce Trust status of the tenant's instance and the network path; sfmcwatch retries with back-off.",
			"If it lasts and Trust shows nothing, open a case with Salesforce support with the times of the failed requests.",
		}
	case "server":
		return catalog.Server, catalog.SalesforceSupport, []string{
			"SFMC's token endpoint answers with server errors: check the Salesforce Trust status of the tenant's instance; the credentials are not the problem, do not rotate them.",
			"If it lasts and Trust shows nothing, open a case with Salesforce support with the times of the failed requests.",
		}
	case "rate_limited":
		return catalog.RateLimit, catalog.MarketingOps, []string{
			"SFMC throttles the token requests of this installed package: find what else requests tokens with the same client id (credentials.contention) and give each integration its own installed package; cache tokens for their lifetime.",
		}
	}
	return catalog.Auth, auth.Owner, auth.Remediation
}

func (TenantBlind) secretFinding(in *Input) (Finding, bool) {
	cfg := in.Rules.TenantBlind
	if in.Tenant.ClientSecretRotated == "" {
		return Finding{}, false
	}
	rotated, err := time.Parse(time.DateOnly, in.Tenant.ClientSecretRotated)
	if err != nil {
		return Finding{}, false // config validation reports the format
	}
	age := in.Now.Sub(rotated)
	var sev catalog.Severity
	switch {
	case cfg.SecretErrorAge > 0 && age >= cfg.SecretErrorAge.Std():
		sev = catalog.Error
	case cfg.SecretWarnAge > 0 && age >= cfg.SecretWarnAge.Std():
		sev = catalog.Warning
	default:
		return Finding{}, false
	}
	expires := rotated.Add(secretLifetime)
	days := int(math.Ceil(expires.Sub(in.Now).Hours() / 24))
	when := fmt.Sprintf("expires in %d day(s)", days)
	if days <= 0 {
		when = "has expired"
	}
	first := rotated.Add(cfg.SecretWarnAge.Std())
	if sev == catalog.Error && cfg.SecretWarnAge == 0 {
		first = rotated.Add(cfg.SecretErrorAge.Std())
	}
	return Finding{
		ResourceType: resource.Tenant, ResourceKey: in.Tenant.Name, ResourceName: in.Tenant.Name,
		Discriminator: "secret_expiry", Severity: sev, Family: catalog.Auth, Owner: catalog.MarketingOps,
		Title: fmt.Sprintf("Client secret of tenant %q %s (generated %s)", in.Tenant.Name, when, in.Tenant.ClientSecretRotated),
		Detail: fmt.Sprintf("Installed package secrets expire 180 days after generation (%s); sfmcwatch goes blind then.",
			expires.Format(time.DateOnly)),
		Remediation: []string{
			"In Setup > Apps > Installed Packages, generate a new client secret for the package (staged), update sfmcwatch's client_secret and client_secret_rotated, reload, then activate the new secret.",
		},
		FirstSeen: first,
	}, true
}

// fresh401InWindow counts API 401s with fresh tokens observed in the
// window ending at in.Now, from the cumulative counter in the tenant
// snapshots (a drop means the process restarted: the new value counts).
func fresh401InWindow(ctx context.Context, in *Input, cur store.Snapshot, window time.Duration) (int64, error) {
	now := cur.Counters[counterAPI401Fresh]
	if in.Snapshots == nil || window <= 0 {
		return now, nil
	}
	ref := resource.Ref(in.Tenant.Name, resource.Tenant, in.Tenant.Name)
	from := in.Now.Add(-window)
	before, err := in.Snapshots.SnapshotHistory(ctx, ref, from.Add(-3*window), from, 0)
	if err != nil {
		return 0, err
	}
	hist, err := in.Snapshots.SnapshotHistory(ctx, ref, from, time.Time{}, 0)
	if err != nil {
		return 0, err
	}
	if len(hist) == 0 || hist[len(hist)-1].ID != cur.ID {
		hist = append(hist, cur)
	}
	var prev int64
	if len(before) > 0 {
		prev = before[len(before)-1].Counters[counterAPI401Fresh]
	}
	var n int64
	for _, s := range hist {
		v := s.Counters[counterAPI401Fresh]
		if v >= prev {
			n += v - prev
		} else {
			n += v
		}
		prev = v
	}
	return n, nil
}

// TenantBlocked is tenant.blocked: SFMC answered REST 429 errorcode 50200
// ("Your requests are temporarily blocked"). It fires while the circuit the
// engine opened (circuit_open) lasts; the engine makes no calls to the
// tenant meanwhile.
type TenantBlocked struct{}

// ID implements Rule.
func (TenantBlocked) ID() string { return "tenant.blocked" }

// Type implements Rule.
func (TenantBlocked) Type() resource.Type { return resource.Tenant }

// NeedsHistory implements Rule.
func (TenantBlocked) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (TenantBlocked) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	snap, st, ok, err := tenantSnapshot(in)
	if err != nil || !ok {
		return nil, err
	}
	if st.BlockedUntil.IsZero() || !in.Now.Before(st.BlockedUntil) {
		return nil, nil
	}
	e, _ := catalog.Default().Lookup(catalog.REST, "50200", "")
	first := st.FailingSince
	if first.IsZero() {
		first = snap.ObservedAt
	}
	return []Finding{{
		ResourceType: resource.Tenant, ResourceKey: in.Tenant.Name, ResourceName: in.Tenant.Name,
		Family: catalog.RateLimit, Owner: ownerOr(e.Owner, catalog.SalesforceSupport), Remediation: e.Remediation,
		Title: fmt.Sprintf("SFMC blocks API requests of tenant %q (REST 50200); sfmcwatch stops calling it until %s",
			in.Tenant.Name, st.BlockedUntil.UTC().Format(time.RFC3339)),
		Detail: fmt.Sprintf("An account-level block is not transient: every integration of this tenant is affected. Last error: %s.",
			orDash(st.LastError)),
		FirstSeen: first, Evidence: snapEvidence(snap),
	}}, nil
}

// TenantBudget is tenant.budget: sfmcwatch's own calls today reached
// threshold × daily_api_budget (the client refuses optional calls from 80%
// of it and required calls at the cap).
type TenantBudget struct{}

// ID implements Rule.
func (TenantBudget) ID() string { return "tenant.budget" }

// Type implements Rule.
func (TenantBudget) Type() resource.Type { return resource.Tenant }

// NeedsHistory implements Rule.
func (TenantBudget) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (TenantBudget) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	snap, _, ok, err := tenantSnapshot(in)
	if err != nil || !ok {
		return nil, err
	}
	budget := snap.Counters[resource.CounterDailyBudget]
	if budget <= 0 {
		budget = in.Tenant.DailyAPIBudget
	}
	calls := snap.Counters[resource.CounterAPICallsToday]
	th := float64(in.Rules.TenantBudget.Threshold)
	if budget <= 0 || th <= 0 || float64(calls) < th*float64(budget) {
		return nil, nil
	}
	first := snap.ObservedAt
	if in.Snapshots != nil {
		day := in.Now.UTC().Truncate(24 * time.Hour)
		hist, err := in.Snapshots.SnapshotHistory(ctx, snap.ResourceRef, day, time.Time{}, 0)
		if err != nil {
			return nil, err
		}
		for _, s := range hist {
			if float64(s.Counters[resource.CounterAPICallsToday]) >= th*float64(budget) {
				first = s.ObservedAt
				break
			}
		}
	}
	return []Finding{{
		ResourceType: resource.Tenant, ResourceKey: in.Tenant.Name, ResourceName: in.Tenant.Name,
		Owner: catalog.Infrastructure,
		Title: fmt.Sprintf("sfmcwatch used %d of its %d daily API calls for tenant %q (%.0f%%)",
			calls, budget, in.Tenant.Name, 100*float64(calls)/float64(budget)),
		Detail: "Optional checks (row counts, notifications) are skipped from 80% of the budget and every check stops at the cap until midnight UTC.",
		Remediation: []string{
			"Lengthen monitor intervals or disable monitors you do not need (monitors.<type>.interval / enabled).",
			"Raise daily_api_budget if the tenant's yearly entitlement allows it.",
			"Enable ENS push for automations and transactional sends so fewer polls are needed.",
		},
		FirstSeen: first, Evidence: snapEvidence(snap),
	}}, nil
}

// tenantSnapshot returns the current tenant snapshot and its payload.
func tenantSnapshot(in *Input) (store.Snapshot, resource.TenantState, bool, error) {
	var st resource.TenantState
	for _, s := range in.Current {
		if s.ResourceKey == in.Tenant.Name {
			if err := resource.Decode(s, &st); err != nil {
				return s, st, false, err
			}
			return s, st, true, nil
		}
	}
	return store.Snapshot{}, st, false, nil
}

func snapEvidence(s store.Snapshot) []store.Evidence {
	if s.ID == 0 {
		return nil
	}
	return []store.Evidence{{Kind: store.EvidenceSnapshot, RefID: s.ID}}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ownerOr(o, def catalog.Owner) catalog.Owner {
	if o == "" {
		return def
	}
	return o
}
