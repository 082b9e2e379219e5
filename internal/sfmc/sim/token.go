package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tokenLifetime is how long (real time) an access token is accepted; the
// token response says expires_in 1079 like SFMC, which shortens the 20
// minutes on purpose.
const (
	tokenLifetime = 20 * time.Minute
	expiresIn     = 1079
)

// packageScopes are the scopes of the demo installed package.
var packageScopes = []string{
	"automations_read", "journeys_read", "email_read", "data_extensions_read",
	"file_locations_read", "tracking_events_read", "list_and_subscribers_read",
	"audiences_read", "saved_content_read", "accounts_read", "users_read",
}

type token struct {
	value      string
	mid        int64
	issuedReal time.Time
	issuedSim  time.Time
	scopes     []string
}

type tokenStore struct {
	mu     sync.Mutex
	seed   int64
	n      uint64
	tokens map[string]*token
}

func (ts *tokenStore) init(seed int64) {
	ts.seed = seed
	ts.tokens = map[string]*token{}
}

func (ts *tokenStore) issue(mid int64, scopes []string, real, simNow time.Time) *token {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.n++
	// Prune expired tokens.
	for k, t := range ts.tokens {
		if real.Sub(t.issuedReal) > tokenLifetime {
			delete(ts.tokens, k)
		}
	}
	var b []byte
	for i := range 6 {
		b = fmt.Appendf(b, "%016x", mix(uint64(ts.seed)^uint64(mid), ts.n*8+uint64(i)))
	}
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"4","ver":"1","typ":"JWT"}`))
	body := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"access_token":"%s","client_type":"ServerToServer","eid":%d,"stack_key":"SIM"}`, b[:24], mid))
	t := &token{value: hdr + "." + body + "." + string(b[24:]), mid: mid, issuedReal: real, issuedSim: simNow, scopes: scopes}
	ts.tokens[t.value] = t
	return t
}

func (ts *tokenStore) lookup(v string, real time.Time) (*token, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t, ok := ts.tokens[v]
	if !ok {
		return nil, false
	}
	if real.Sub(t.issuedReal) > tokenLifetime {
		return t, false
	}
	return t, true
}

type tokenRequest struct {
	GrantType    string          `json:"grant_type"`
	ClientID     string          `json:"client_id"`
	ClientSecret string          `json:"client_secret"`
	Scope        *string         `json:"scope"`
	AccountID    json.RawMessage `json:"account_id"`
}

const (
	invalidClientDesc = "Client authentication failed. Make sure that the client ID and client secret are valid and that the package is installed and enabled."
	unknownClientDesc = "Invalid client ID. Use the client ID in Marketing Cloud Installed Packages."
)

func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body := http.MaxBytesReader(w, r.Body, 1<<20)
	switch mt {
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "The request body could not be parsed.")
			return
		}
		req.GrantType, req.ClientID, req.ClientSecret = r.PostForm.Get("grant_type"), r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		if r.PostForm.Has("scope") {
			sc := r.PostForm.Get("scope")
			req.Scope = &sc
		}
		if a := r.PostForm.Get("account_id"); a != "" {
			req.AccountID = json.RawMessage(a)
		}
	default:
		if err := json.NewDecoder(body).Decode(&req); err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "The request body could not be parsed as JSON.")
			return
		}
	}
	if req.GrantType != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", `Use "authorization_code" or "refresh_token" or "client_credentials" or "urn:ietf:params:oauth:grant-type:jwt-bearer" as the grant type.`)
		return
	}
	now := s.clock.Now()
	secret, granted := s.creds.ClientSecret, packageScopes
	if req.ClientID != s.creds.ClientID {
		p, ok := s.packages.lookup(req.ClientID)
		if !ok {
			oauthError(w, http.StatusUnauthorized, "invalid_client", unknownClientDesc)
			return
		}
		secret, granted = p.secret, p.scopes
	}
	mid := s.creds.AccountID
	if len(req.AccountID) > 0 && string(req.AccountID) != "null" {
		raw := strings.Trim(string(req.AccountID), `"`)
		m, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "The account_id is not valid.")
			return
		}
		mid = m
	}
	if f := s.faults.take(now, reqCtx{surface: "auth", path: r.URL.Path, mid: mid}, FaultCredentialsRotated); f != nil || req.ClientSecret != secret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", invalidClientDesc)
		return
	}
	if _, ok := s.tenants[mid]; !ok {
		// The package is not enabled for that business unit.
		oauthError(w, http.StatusUnauthorized, "invalid_client", invalidClientDesc)
		return
	}
	scopes := slices.Clone(granted)
	if req.Scope != nil {
		var want []string
		for _, sc := range strings.Fields(*req.Scope) {
			if slices.Contains(granted, sc) {
				want = append(want, sc)
			} else {
				oauthError(w, http.StatusBadRequest, "invalid_scope", "The requested scope is invalid, unknown, malformed, or exceeds the scope granted to the package.")
				return
			}
		}
		scopes = want
	}
	all, removed := s.faults.removedScopes(now, mid)
	if all {
		scopes = nil
	}
	scopes = slices.DeleteFunc(scopes, func(sc string) bool { return slices.Contains(removed, sc) })
	tok := s.tokens.issue(mid, scopes, s.clock.RealNow(), now)
	base := s.baseURL(r)
	writeJSON(w, http.StatusOK, struct {
		AccessToken     string `json:"access_token"`
		TokenType       string `json:"token_type"`
		ExpiresIn       int    `json:"expires_in"`
		Scope           string `json:"scope"`
		SOAPInstanceURL string `json:"soap_instance_url"`
		RESTInstanceURL string `json:"rest_instance_url"`
	}{tok.value, "Bearer", expiresIn, strings.Join(scopes, " "), base, base})
}

func (s *Sim) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return strings.TrimSuffix(s.opts.BaseURL, "/") + "/"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: "/"}
	return u.String()
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
	}{code, desc, "https://developer.salesforce.com/docs"})
}
