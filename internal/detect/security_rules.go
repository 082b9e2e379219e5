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

// Security rules read the security collector's snapshots (one per audit
// trail subject, SecurityState with recent changes dated by SFMC). A
// change holds as a finding for the rule's hold after SFMC dated it, so
// the first look (the last day of the audit trail) reports what changed
// before sfmcwatch started, and the incident resolves by itself once the
// change is older than the hold: these are findings for the SFMC
// administrators to confirm, not failures to fix.

type securitySnap struct {
	snap  store.Snapshot
	state resource.SecurityState
}

func securitySnaps(in *Input) []securitySnap {
	out := make([]securitySnap, 0, len(in.Current))
	for _, s := range in.Current {
		var st resource.SecurityState
		if resource.Decode(s, &st) == nil {
			out = append(out, securitySnap{snap: s, state: st})
		}
	}
	return out
}

// recentChanges are the subject's changes of kind dated within hold of
// now, oldest first.
func recentChanges(st resource.SecurityState, kind string, now time.Time, hold time.Duration) []resource.SecurityChange {
	var out []resource.SecurityChange
	for _, c := range st.Changes {
		if c.Kind == kind && !c.At.Before(now.Add(-hold)) {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b resource.SecurityChange) int { return a.At.Compare(b.At) })
	return out
}

func actorsOf(cs []resource.SecurityChange) string {
	var as []string
	for _, c := range cs {
		if c.Actor != "" && !slices.Contains(as, c.Actor) {
			as = append(as, c.Actor)
		}
	}
	if len(as) == 0 {
		return "an unnamed user"
	}
	if len(as) > 3 {
		return fmt.Sprintf("users %s and %d more", strings.Join(as[:3], ", "), len(as)-3)
	}
	return "user " + strings.Join(as, ", ")
}

func opsOf(cs []resource.SecurityChange) string {
	var ops []string
	for _, c := range cs {
		o := strings.TrimSpace(c.ObjectType + " " + c.Operation)
		if o != "" && !slices.Contains(ops, o) {
			ops = append(ops, o)
		}
	}
	return strings.Join(ops, ", ")
}

// securityChangeRule is one of the change rules (new_integration,
// scope_change, role_change).
type securityChangeRule struct {
	id, kind string
	cfg      func(*config.Rules) config.SecurityChangeRule
	title    func(name string) string
	detail   string
	fix      []string
}

func (r securityChangeRule) evaluate(in *Input) []Finding {
	hold := r.cfg(in.Rules).Hold.Std()
	if hold <= 0 {
		hold = 24 * time.Hour
	}
	var out []Finding
	for _, s := range securitySnaps(in) {
		cs := recentChanges(s.state, r.kind, in.Now, hold)
		if len(cs) == 0 {
			continue
		}
		first, last := cs[0], cs[len(cs)-1]
		name := s.state.Name
		if name == "" {
			name = s.snap.ResourceKey
		}
		detail := fmt.Sprintf("%s %d audit-trail entr%s (%s) by %s, the last at %s UTC. %s", strings.TrimSpace(r.detail), len(cs),
			plural(len(cs), "y", "ies"), opsOf(cs), actorsOf(cs), last.At.UTC().Format("2006-01-02 15:04"),
			fmt.Sprintf("The finding clears %s after the last change.", config.Duration(hold)))
		out = append(out, Finding{Rule: r.id, Tenant: in.Tenant.Name, ResourceType: resource.Security,
			ResourceKey: s.snap.ResourceKey, ResourceName: name, Title: r.title(name), Detail: detail,
			Owner: catalog.Security, Family: catalog.None, Remediation: r.fix,
			FirstSeen: seenSince(first.At, s.state.ObservedSince), FailureStartedAt: first.At,
			Evidence: autoEvidence(s.snap, in.Now)})
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ---------------------------------------------------------------- security.new_integration

// SecurityNewIntegrationRule fires when the audit trail shows an installed
// package or API integration component created or licensed within hold
// (default 24 h): a new client id can read or change the tenant.
type SecurityNewIntegrationRule struct{}

var newIntegration = securityChangeRule{
	id: "security.new_integration", kind: resource.ChangeNewIntegration,
	cfg:    func(r *config.Rules) config.SecurityChangeRule { return r.SecurityNewIntegration },
	title:  func(n string) string { return fmt.Sprintf("New installed package or API integration '%s'", n) },
	detail: "SFMC's audit trail shows an installed package or API integration created or licensed:",
	fix: []string{
		"Confirm with its owner that this integration is expected; if not, delete the installed package in Setup > Apps > Installed Packages (its client id stops working).",
		"Check its scopes: give each integration its own package with the fewest scopes it needs.",
	},
}

// ID implements Rule.
func (SecurityNewIntegrationRule) ID() string { return newIntegration.id }

// Type implements Rule.
func (SecurityNewIntegrationRule) Type() resource.Type { return resource.Security }

// NeedsHistory implements Rule.
func (SecurityNewIntegrationRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (SecurityNewIntegrationRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	return newIntegration.evaluate(in), nil
}

// ---------------------------------------------------------------- security.scope_change

// SecurityScopeChangeRule fires when the audit trail shows an installed
// package or its API integration component modified within hold (SFMC
// logs the component change, not which scopes changed).
type SecurityScopeChangeRule struct{}

var scopeChange = securityChangeRule{
	id: "security.scope_change", kind: resource.ChangeScope,
	cfg: func(r *config.Rules) config.SecurityChangeRule { return r.SecurityScopeChange },
	title: func(n string) string {
		return fmt.Sprintf("Installed package '%s' was modified (scopes may have changed)", n)
	},
	detail: "SFMC's audit trail shows an installed package or its API integration component modified (SFMC does not log which scopes):",
	fix: []string{
		"Open the package in Setup > Apps > Installed Packages and compare its API integration scopes with what the integration needs.",
		"A removed scope makes that integration's calls fail with 403 (errorcode 20002); an added write scope widens what its client id can change.",
	},
}

// ID implements Rule.
func (SecurityScopeChangeRule) ID() string { return scopeChange.id }

// Type implements Rule.
func (SecurityScopeChangeRule) Type() resource.Type { return resource.Security }

// NeedsHistory implements Rule.
func (SecurityScopeChangeRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (SecurityScopeChangeRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	return scopeChange.evaluate(in), nil
}

// ---------------------------------------------------------------- security.role_change

// SecurityRoleChangeRule fires when the audit trail shows a role, user
// permissions, a user or the security settings changed within hold.
type SecurityRoleChangeRule struct{}

var roleChange = securityChangeRule{
	id: "security.role_change", kind: resource.ChangeRole,
	cfg:    func(r *config.Rules) config.SecurityChangeRule { return r.SecurityRoleChange },
	title:  func(n string) string { return fmt.Sprintf("Access changed: %s", n) },
	detail: "SFMC's audit trail shows roles, user permissions, a user or the security settings changed:",
	fix: []string{
		"Confirm the change with the SFMC administrators (Setup > Users, Roles, Security Settings).",
		"Unexpected role grants or security-setting changes (IP allowlist, session, password policy) should be reverted and the acting user reviewed.",
	},
}

// ID implements Rule.
func (SecurityRoleChangeRule) ID() string { return roleChange.id }

// Type implements Rule.
func (SecurityRoleChangeRule) Type() resource.Type { return resource.Security }

// NeedsHistory implements Rule.
func (SecurityRoleChangeRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (SecurityRoleChangeRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	return roleChange.evaluate(in), nil
}

// ---------------------------------------------------------------- bursts

// burst returns the largest set of changes of kind within window of each
// other whose last is within hold of now (nil when below threshold).
func burst(st resource.SecurityState, kind string, now time.Time, cfg config.SecurityBurstRule) []resource.SecurityChange {
	threshold, window, hold := max(cfg.Threshold, 1), cfg.Window.Std(), cfg.Hold.Std()
	if window <= 0 {
		window = time.Hour
	}
	if hold <= 0 {
		hold = 24 * time.Hour
	}
	cs := recentChanges(st, kind, now, hold+window)
	var best []resource.SecurityChange
	lo := 0
	for hi := range cs {
		for cs[hi].At.Sub(cs[lo].At) > window {
			lo++
		}
		if n := hi - lo + 1; n >= threshold && n >= len(best) && !cs[hi].At.Before(now.Add(-hold)) {
			best = cs[lo : hi+1]
		}
	}
	return best
}

type securityBurstRule struct {
	id, kind string
	cfg      func(*config.Rules) config.SecurityBurstRule
	what     string
	fix      []string
}

func (r securityBurstRule) evaluate(in *Input) []Finding {
	cfg := r.cfg(in.Rules)
	var out []Finding
	for _, s := range securitySnaps(in) {
		b := burst(s.state, r.kind, in.Now, cfg)
		if len(b) == 0 {
			continue
		}
		first, last := b[0], b[len(b)-1]
		user := strings.TrimPrefix(s.snap.ResourceKey, "logins:")
		out = append(out, Finding{Rule: r.id, Tenant: in.Tenant.Name, ResourceType: resource.Security,
			ResourceKey: s.snap.ResourceKey, ResourceName: s.state.Name,
			Title: fmt.Sprintf("%d %s for user %s", len(b), r.what, user),
			Detail: fmt.Sprintf("SFMC's audit trail (security events) shows %d %s for user %s between %s and %s UTC (threshold %d within %s). The user is named by SFMC's id or a hash of the user name; look the user up in the Audit Trail Access Log.",
				len(b), r.what, user, first.At.UTC().Format("2006-01-02 15:04"), last.At.UTC().Format("15:04"), max(cfg.Threshold, 1), cfg.Window),
			Owner: catalog.Security, Family: catalog.Auth, Remediation: r.fix,
			FirstSeen: seenSince(first.At, s.state.ObservedSince), FailureStartedAt: first.At,
			Evidence: autoEvidence(s.snap, in.Now)})
	}
	return out
}

// ---------------------------------------------------------------- security.login_failures

// SecurityLoginFailuresRule fires when one user has at least threshold
// (default 5) failed logins within window (default 1 h), the last within
// hold (default 24 h).
type SecurityLoginFailuresRule struct{}

var loginFailures = securityBurstRule{
	id: "security.login_failures", kind: resource.ChangeLoginFailed,
	cfg:  func(r *config.Rules) config.SecurityBurstRule { return r.SecurityLoginFailures },
	what: "failed logins",
	fix: []string{
		"Ask the user whether these were theirs (a forgotten password, an old saved password in a tool).",
		"If not, lock the user in Setup > Users, reset the password and check the IP allowlist.",
	},
}

// ID implements Rule.
func (SecurityLoginFailuresRule) ID() string { return loginFailures.id }

// Type implements Rule.
func (SecurityLoginFailuresRule) Type() resource.Type { return resource.Security }

// NeedsHistory implements Rule.
func (SecurityLoginFailuresRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (SecurityLoginFailuresRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	return loginFailures.evaluate(in), nil
}

// ---------------------------------------------------------------- security.ip_blocked

// SecurityIPBlockedRule fires when one user has at least threshold
// (default 3) logins refused by the IP allowlist within window (default
// 1 h), the last within hold (default 24 h).
type SecurityIPBlockedRule struct{}

var ipBlocked = securityBurstRule{
	id: "security.ip_blocked", kind: resource.ChangeIPBlocked,
	cfg:  func(r *config.Rules) config.SecurityBurstRule { return r.SecurityIPBlocked },
	what: "logins refused by the IP allowlist",
	fix: []string{
		"If the user works from a new network (office move, VPN change), add its range to the allowlist in Setup > Security Settings.",
		"If not, someone outside the allowed networks holds this user's credentials: reset the password.",
	},
}

// ID implements Rule.
func (SecurityIPBlockedRule) ID() string { return ipBlocked.id }

// Type implements Rule.
func (SecurityIPBlockedRule) Type() resource.Type { return resource.Security }

// NeedsHistory implements Rule.
func (SecurityIPBlockedRule) NeedsHistory() bool { return false }

// Evaluate implements Rule.
func (SecurityIPBlockedRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	return ipBlocked.evaluate(in), nil
}
