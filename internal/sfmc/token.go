package sfmc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// Token is a cached access token with the instance URLs SFMC returned.
type Token struct {
	access  string
	Expiry  time.Time // when to stop using it (expires_in minus the early-refresh margin)
	RestURL string    // normalised, no trailing slash
	SOAPURL string    // normalised, no trailing slash
	Scopes  []string
}

// HasScope reports whether the token was granted scope s.
func (t Token) HasScope(s string) bool {
	for _, x := range t.Scopes {
		if x == s {
			return true
		}
	}
	return false
}

// tokenKey names one cached token. secret is a digest of the client
// secret (never the secret itself), so a rotated secret fetches a new token
// instead of reusing the one the old secret bought.
type tokenKey struct{ authURL, clientID, mid, secret string }

func (k tokenKey) String() string {
	return k.authURL + "\x00" + k.clientID + "\x00" + k.mid + "\x00" + k.secret
}

// secretDigest is a short SHA-256 digest of a client secret, for cache keys.
func secretDigest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:12])
}

type tokenEntry struct {
	tok  Token
	ok   bool
	seen []string // tokens this entry has held (for scrubbing), newest last, bounded
}

// TokenCache holds one token per (auth URL, client id, MID, client secret
// digest) and makes sure
// concurrent callers share a single token request. Share one cache between
// clients of the same package to keep to SFMC's "one token per ~20 minutes
// per client" guidance.
type TokenCache struct {
	mu      sync.Mutex
	entries map[tokenKey]*tokenEntry
	sf      singleflight.Group
}

// NewTokenCache returns an empty cache.
func NewTokenCache() *TokenCache { return &TokenCache{entries: map[tokenKey]*tokenEntry{}} }

func (tc *TokenCache) get(k tokenKey, now time.Time) (Token, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	e := tc.entries[k]
	if e == nil || !e.ok || !now.Before(e.tok.Expiry) {
		return Token{}, false
	}
	return e.tok, true
}

func (tc *TokenCache) put(k tokenKey, t Token) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	e := tc.entries[k]
	if e == nil {
		e = &tokenEntry{}
		tc.entries[k] = e
	}
	e.tok, e.ok = t, true
	e.seen = append(e.seen, t.access)
	if len(e.seen) > 8 {
		e.seen = e.seen[len(e.seen)-8:]
	}
}

// invalidate drops the cached token if it is still access (so a burst of
// 401s for the same token triggers one refresh, not one each).
func (tc *TokenCache) invalidate(k tokenKey, access string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if e := tc.entries[k]; e != nil && e.tok.access == access {
		e.ok = false
	}
}

func (tc *TokenCache) known(k tokenKey) []string {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if e := tc.entries[k]; e != nil {
		return append([]string(nil), e.seen...)
	}
	return nil
}

func (c *Client) tokenKey() tokenKey {
	return tokenKey{authURL: c.authURL, clientID: c.tenant.ClientID, mid: c.tenant.AccountID, secret: c.secretDigest}
}

// token returns a valid token, fetching one (single-flight) when the cache
// has none or it is about to expire.
func (c *Client) token(ctx context.Context) (Token, error) {
	k := c.tokenKey()
	if t, ok := c.tokens.get(k, c.now()); ok {
		return t, nil
	}
	ch := c.tokens.sf.DoChan(k.String(), func() (any, error) {
		// Another flight may have just finished.
		if t, ok := c.tokens.get(k, c.now()); ok {
			return t, nil
		}
		// Detach from the first caller's cancellation: the result is shared.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opt.CallTimeout*2) // keeps ctx values (call counter)
		defer cancel()
		t, err := c.fetchToken(fctx)
		if err != nil {
			return Token{}, err
		}
		c.tokens.put(k, t)
		return t, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Token{}, r.Err
		}
		return r.Val.(Token), nil
	case <-ctx.Done():
		return Token{}, &APIError{Tenant: c.tenant.Name, Method: http.MethodPost, Endpoint: tokenEndpoint,
			Kind: KindTimeout, Message: "waiting for a token", Err: ctx.Err()}
	}
}

const tokenEndpoint = "/v2/token"

// TokenEndpoint is the endpoint template of token requests in metering
// events (CallEvent.Event.Endpoint).
const TokenEndpoint = tokenEndpoint

type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	AccountID    string `json:"account_id,omitempty"`
}

type tokenResponse struct {
	AccessToken     string `json:"access_token"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	Scope           string `json:"scope"`
	SOAPInstanceURL string `json:"soap_instance_url"`
	RestInstanceURL string `json:"rest_instance_url"`
}

func (c *Client) fetchToken(ctx context.Context) (Token, error) {
	body, err := json.Marshal(tokenRequest{GrantType: "client_credentials", ClientID: c.tenant.ClientID,
		ClientSecret: c.tenant.ClientSecret, AccountID: c.tenant.AccountID})
	if err != nil {
		return Token{}, fmt.Errorf("sfmc: encode token request: %w", err)
	}
	resp, err := c.do(ctx, &request{
		method: http.MethodPost, endpoint: tokenEndpoint, surface: catalog.OAuth, base: baseAuth,
		path: tokenEndpoint, body: func(string) []byte { return body }, contentType: "application/json",
		priority: Essential,
	})
	if err != nil {
		return Token{}, err
	}
	var tr tokenResponse
	if err := json.Unmarshal(resp.body, &tr); err != nil || tr.AccessToken == "" {
		e := &APIError{Tenant: c.tenant.Name, Method: http.MethodPost, Endpoint: tokenEndpoint, Status: resp.status,
			Kind: KindDecode, Message: "token response has no access_token", Result: resp.result}
		if err != nil {
			e.Err = errors.New(c.scrub(err.Error()))
		}
		return Token{}, e
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "bearer") {
		return Token{}, &APIError{Tenant: c.tenant.Name, Method: http.MethodPost, Endpoint: tokenEndpoint,
			Status: resp.status, Kind: KindDecode, Message: fmt.Sprintf("unexpected token_type %q", shorten(tr.TokenType, 20))}
	}
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = 18 * time.Minute
	}
	early := c.opt.TokenEarlyRefresh
	if early > life/2 {
		early = life / 2
	}
	t := Token{
		access:  tr.AccessToken,
		Expiry:  c.now().Add(life - early),
		RestURL: normaliseBase(tr.RestInstanceURL),
		SOAPURL: normaliseBase(tr.SOAPInstanceURL),
		Scopes:  strings.Fields(tr.Scope),
	}
	c.log.Debug("sfmc token acquired", "expires_in_s", tr.ExpiresIn, "scopes", len(t.Scopes))
	return t, nil
}

// restBase is the REST base URL: configured override, then the token's
// rest_instance_url, then one built from the subdomain.
func (c *Client) restBase(t Token) string {
	if b := normaliseBase(c.tenant.RestURL); b != "" {
		return b
	}
	if t.RestURL != "" {
		return t.RestURL
	}
	if c.tenant.Subdomain != "" {
		return "https://" + c.tenant.Subdomain + ".rest.marketingcloudapis.com"
	}
	return ""
}

func (c *Client) soapURL(t Token) string {
	if b := normaliseBase(c.tenant.SOAPURL); b != "" {
		return soapEndpoint(b)
	}
	if t.SOAPURL != "" {
		return soapEndpoint(t.SOAPURL)
	}
	if c.tenant.Subdomain != "" {
		return soapEndpoint("https://" + c.tenant.Subdomain + ".soap.marketingcloudapis.com")
	}
	return ""
}
