package sfmc

import (
	"context"
	"slices"
)

// Read scopes per monitored area, as SFMC names them in the token
// response's space-separated "scope" field.
const (
	ScopeAutomations    = scopeAutomations // automations, imports (REST and SOAP)
	ScopeJourneys       = scopeJourneys
	ScopeEmail          = scopeEmail // triggered and transactional sends
	ScopeDataExtensions = scopeDE
	ScopeAuditTrail     = scopeAudit // Audit Trail API
)

// GrantedScopes returns the scopes of the client's current token (fetching
// one when none is cached: one metered token call). SFMC grants every scope
// of the installed package when the token request names none, so this is
// what the package allows in this business unit.
func (c *Client) GrantedScopes(ctx context.Context) ([]string, error) {
	t, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Clone(t.Scopes), nil
}
