package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

// scopePermission names, for each read scope, the permission to tick in
// Setup → Platform Tools → Apps → Installed Packages → (package) → API
// Integration → Edit (docs/CONNECT.md).
var scopePermission = map[string]string{
	sfmc.ScopeAutomations:    "Automation › Automations › Read",
	sfmc.ScopeJourneys:       "Automation › Journeys › Read",
	sfmc.ScopeEmail:          "Channels › Email › Read",
	sfmc.ScopeDataExtensions: "Data › Data Extensions › Read",
	sfmc.ScopeAuditTrail:     "Data › Tracking Events › Read",
}

// onlineProbe is one cheap call standing for a monitor: it needs the
// monitor's scope and reads at most one page that matches nothing or one
// object (a not-found answer proves the permission as well as data would).
type onlineProbe struct {
	monitor string
	scope   string
	call    string
	run     func(ctx context.Context, cl *sfmc.Client) error
}

const probeKey = "sfmcwatch-check-config-probe"

func onlineProbes() []onlineProbe {
	none := sfmc.SimpleFilter{Property: "CustomerKey", Operator: "equals", Values: []string{probeKey}}
	return []onlineProbe{
		{config.Automations, sfmc.ScopeAutomations, "GET /automation/v1/automations/{id}", func(ctx context.Context, cl *sfmc.Client) error {
			_, err := cl.Automation(ctx, "00000000-0000-0000-0000-000000000000")
			return err
		}},
		{config.Journeys, sfmc.ScopeJourneys, "GET /interaction/v1/interactions/key:{key}", func(ctx context.Context, cl *sfmc.Client) error {
			_, err := cl.Journey(ctx, probeKey)
			return err
		}},
		{config.TriggeredSends, sfmc.ScopeEmail, "SOAP Retrieve TriggeredSendDefinition", func(ctx context.Context, cl *sfmc.Client) error {
			_, err := cl.TriggeredSends(ctx, none)
			return err
		}},
		{config.Transactional, sfmc.ScopeEmail, "GET /messaging/v1/email/definitions/{key}", func(ctx context.Context, cl *sfmc.Client) error {
			_, err := cl.TransactionalDefinition(ctx, probeKey)
			return err
		}},
		{config.DataExtensions, sfmc.ScopeDataExtensions, "SOAP Retrieve DataExtension", func(ctx context.Context, cl *sfmc.Client) error {
			_, err := cl.DataExtensions(ctx, none)
			return err
		}},
		{config.Imports, sfmc.ScopeAutomations, "SOAP Retrieve ImportDefinition", func(ctx context.Context, cl *sfmc.Client) error {
			_, err := cl.RetrieveImportDefinitions(ctx, none)
			return err
		}},
		{config.Audit, sfmc.ScopeAuditTrail, "GET /data/v1/audit/auditEvents", func(ctx context.Context, cl *sfmc.Client) error {
			now := time.Now()
			_, err := cl.AuditEvents(ctx, now.Add(-time.Hour), now, 1)
			return err
		}},
	}
}

// onlineCheck verifies every tenant against SFMC: the token (reachability
// and credentials), the scopes it grants, and one cheap call per enabled
// monitor. It returns the number of problems found.
func onlineCheck(ctx context.Context, cfg *config.Config, hc *http.Client, out io.Writer) int {
	problems := 0
	for i := range cfg.Tenants {
		problems += onlineCheckTenant(ctx, &cfg.Tenants[i], hc, out)
	}
	return problems
}

func onlineCheckTenant(ctx context.Context, tc *config.Tenant, hc *http.Client, out io.Writer) int {
	ep := tc.Endpoints()
	fail := func(format string, a ...any) int {
		fmt.Fprintf(out, "  FAIL  "+format+"\n", a...)
		return 1
	}
	fmt.Fprintf(out, "tenant %s (MID %s, auth %s)\n", tc.Name, tc.AccountID, ep.Auth)
	cl, err := sfmc.New(sfmc.Tenant{Name: tc.Name, AuthURL: ep.Auth, RestURL: ep.REST, SOAPURL: ep.SOAP,
		ClientID: tc.ClientID, ClientSecret: tc.ClientSecret.Reveal(), AccountID: tc.AccountID},
		sfmc.Options{HTTPClient: hc, MaxRetries: 1})
	if err != nil {
		return fail("client: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	granted, err := cl.GrantedScopes(tctx)
	cancel()
	if err != nil {
		return fail("token: %s", explainOnlineError(err, tc, ep.Auth))
	}
	fmt.Fprintf(out, "  ok    reachable; token issued for client %s with %d scope(s): %s\n", tc.ClientID, len(granted), strings.Join(granted, " "))
	problems := 0
	for _, p := range onlineProbes() {
		m := tc.Monitors.Get(p.monitor)
		if m == nil || !m.Enabled {
			continue
		}
		if !slices.Contains(granted, p.scope) {
			problems += fail("%-15s missing scope %s — tick %q in the installed package's API integration (docs/CONNECT.md)",
				p.monitor, p.scope, scopePermission[p.scope])
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := p.run(pctx, cl)
		cancel()
		if err == nil || isAuthorizedAnswer(err) {
			fmt.Fprintf(out, "  ok    %-15s %s (%s)\n", p.monitor, p.call, p.scope)
			continue
		}
		problems += fail("%-15s %s: %s", p.monitor, p.call, explainOnlineError(err, tc, ""))
	}
	return problems
}

// isAuthorizedAnswer: a not-found or bad-request answer to the probe
// proves the call was allowed.
func isAuthorizedAnswer(err error) bool {
	var ae *sfmc.APIError
	return errors.As(err, &ae) && (ae.Kind == sfmc.KindNotFound || ae.Kind == sfmc.KindClient)
}

// explainOnlineError says in an operator's words what a failed call means.
func explainOnlineError(err error, tc *config.Tenant, authURL string) string {
	var ae *sfmc.APIError
	if !errors.As(err, &ae) {
		if errors.Is(err, context.DeadlineExceeded) {
			return "unreachable: no answer within 30 s (check the host, a firewall or an HTTPS proxy)"
		}
		return err.Error()
	}
	switch ae.Kind {
	case sfmc.KindTransport, sfmc.KindTimeout:
		host := authURL
		if host == "" {
			host = "SFMC"
		}
		return fmt.Sprintf("unreachable: %s did not answer (%v); check the subdomain or URLs, DNS and outbound HTTPS", host, ae.Err)
	case sfmc.KindAuth:
		return fmt.Sprintf("credentials refused (HTTP %d %s): check client_id/client_secret, that the package is installed and the API integration enabled for MID %s (%s)",
			ae.Status, ae.Code, tc.AccountID, ae.Message)
	case sfmc.KindForbidden:
		if ae.Scope != "" {
			return fmt.Sprintf("missing permission: scope %s — tick %q in the installed package's API integration (HTTP %d, code %s)",
				ae.Scope, scopePermission[ae.Scope], ae.Status, ae.Code)
		}
		return fmt.Sprintf("missing permission (HTTP %d, code %s: %s); the API user may lack the role, or the package the scope", ae.Status, ae.Code, ae.Message)
	case sfmc.KindBlocked, sfmc.KindRateLimited, sfmc.KindBudget:
		return fmt.Sprintf("throttled or out of budget (%s, HTTP %d, code %s): %s", ae.Kind, ae.Status, ae.Code, ae.Message)
	}
	return fmt.Sprintf("%s (HTTP %d, code %s): %s", ae.Kind, ae.Status, ae.Code, ae.Message)
}
