package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Password hashing: argon2id with the RFC 9106 "second recommended" memory
// setting scaled down for a small server (19 MiB, 2 passes, 1 lane — the
// OWASP minimum), stored as a PHC string.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
	// MinPasswordLen is the shortest password HashPassword accepts.
	MinPasswordLen = 10
)

// HashPassword returns the argon2id PHC string of password.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLen {
		return "", fmt.Errorf("password too short: at least %d characters", MinPasswordLen)
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches an argon2id PHC hash. A
// malformed hash never matches.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<21 || t == 0 || t > 16 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked when a login names an unknown user, so that the
// answer takes as long as for a known one.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c2ZtY3dhdGNoLWR1bW15$0H4zV0pH3m0b8O6P9fN8kUyq1ZxM2bq0Y1r8s6v3w9A"

// NewToken returns a random token (URL-safe, 256 bits) and its stored hash.
func NewToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, TokenHash(token), nil
}

// TokenHash is the stored form of a session or API token (SHA-256, hex).
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// APITokenPrefix starts every API token, so leaked tokens are recognisable.
const APITokenPrefix = "sfmcw_"

// CreateAPIToken creates an API token for a user and returns the token
// (shown once; only its hash is stored).
func CreateAPIToken(ctx context.Context, st store.AuthStore, user, name string, ttl time.Duration, now time.Time) (string, store.APIToken, error) {
	u, err := st.GetUser(ctx, user)
	if err != nil {
		return "", store.APIToken{}, err
	}
	tok, _, err := NewToken()
	if err != nil {
		return "", store.APIToken{}, err
	}
	tok = APITokenPrefix + tok
	t := store.APIToken{Name: name, UserID: u.ID, TokenHash: TokenHash(tok)}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	t, err = st.CreateAPIToken(ctx, t, now)
	if err != nil {
		return "", store.APIToken{}, err
	}
	return tok, t, nil
}

// sessionCookie is the name of the login cookie.
const sessionCookie = "sfmcwatch_session"

// identity is who makes a request.
type identity struct {
	Name string
	Role string
	// Via is "session", "token" or "local" (no users exist, loopback).
	Via string
}

func (id identity) isAdmin() bool { return id.Role == store.RoleAdmin }

type identityKey struct{}

func withIdentity(ctx context.Context, id identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// whoami returns the request's identity (zero when anonymous).
func whoami(r *http.Request) identity {
	id, _ := r.Context().Value(identityKey{}).(identity)
	return id
}

// errNoAuth: the request carries no credentials.
var errNoAuth = errors.New("not logged in")

// authenticate resolves the request's identity from a bearer token or the
// session cookie; with no users at all, requests that reached a loopback
// address are the local admin.
func (s *Server) authenticate(r *http.Request) (identity, error) {
	ctx := r.Context()
	now := s.now()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return identity{}, errors.New("malformed Authorization header: want Bearer <token>")
		}
		_, u, err := s.st.GetAPIToken(ctx, TokenHash(strings.TrimSpace(tok)), now)
		if errors.Is(err, store.ErrNotFound) {
			return identity{}, errors.New("invalid or expired API token")
		}
		if err != nil {
			return identity{}, fmt.Errorf("check API token: %w", err)
		}
		return identity{Name: u.Name, Role: u.Role, Via: "token"}, nil
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		_, u, err := s.st.GetSession(ctx, TokenHash(c.Value), now)
		if err == nil {
			return identity{Name: u.Name, Role: u.Role, Via: "session"}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return identity{}, fmt.Errorf("check session: %w", err)
		}
	}
	// Open mode (no users yet): only on a loopback connection addressed by
	// a loopback name. A page on another site whose name was rebound to
	// 127.0.0.1 (DNS rebinding) sends its own Host and gets nothing.
	if !s.hasUsers(ctx) && isLoopbackRequest(r) && loopbackHost(r.Host) {
		return identity{Name: "local", Role: store.RoleAdmin, Via: "local"}, nil
	}
	return identity{}, errNoAuth
}

// hasUsers reports whether any user exists, re-checked every 5 seconds
// (`sfmcwatch user add` on a running server takes effect that fast).
func (s *Server) hasUsers(ctx context.Context) bool {
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	now := time.Now()
	if s.usersExist || now.Sub(s.usersChecked) < 5*time.Second && !s.usersChecked.IsZero() {
		return s.usersExist
	}
	users, err := s.st.ListUsers(ctx)
	if err != nil {
		s.log.Warn("auth: cannot list users; refusing open access", "error", err)
		return true
	}
	s.usersExist, s.usersChecked = len(users) > 0, now
	return s.usersExist
}

// loopbackHost reports whether a Host header names this machine's
// loopback interface: localhost (or a name under .localhost), 127.0.0.0/8
// or ::1, with or without a port.
func loopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// isLoopbackRequest reports whether the connection was accepted on a
// loopback address.
func isLoopbackRequest(r *http.Request) bool {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// authPage guards a dashboard page: anonymous visitors are sent to the
// login page, viewers get 403 on admin actions.
func (s *Server) authPage(a access, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := s.authenticate(r)
		if a == public {
			if err == nil {
				r = r.WithContext(withIdentity(r.Context(), id))
			}
			h(w, r)
			return
		}
		if err != nil {
			if !errors.Is(err, errNoAuth) {
				s.log.Warn("auth: page request rejected", "path", r.URL.Path, "error", err)
			}
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				next = "/"
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		if a == admin && !id.isAdmin() {
			s.renderError(w, r, http.StatusForbidden, "Not allowed", "Your role ("+id.Role+") may only read; ask an admin.")
			return
		}
		h(w, r.WithContext(withIdentity(r.Context(), id)))
	})
}

// authAPI guards a JSON endpoint: 401 without valid credentials, 403 for
// viewers on admin endpoints.
func (s *Server) authAPI(a access, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a == public {
			h(w, r)
			return
		}
		id, err := s.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sfmcwatch"`)
			msg := "authentication required: send Authorization: Bearer <API token> (sfmcwatch user token) or log in"
			if !errors.Is(err, errNoAuth) {
				msg = err.Error()
			}
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
		if a == admin && !id.isAdmin() {
			writeError(w, http.StatusForbidden, "this endpoint needs the admin role; "+id.Name+" is "+id.Role)
			return
		}
		h(w, r.WithContext(withIdentity(r.Context(), id)))
	})
}

// ---- login throttling ----

// throttle limits failed logins per client address (never per account:
// anyone could lock the admin out by failing with their name): after
// maxFails failures within failWindow, further attempts from that address
// are refused for a lockout that doubles with each further failure (at
// most maxLock).
type throttle struct {
	mu      sync.Mutex
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	fails       int
	first       time.Time
	lockedUntil time.Time
}

const (
	maxFails   = 5
	failWindow = 15 * time.Minute
	baseLock   = 30 * time.Second
	maxLock    = 15 * time.Minute
	maxEntries = 10000
)

func newThrottle() *throttle { return &throttle{entries: map[string]*throttleEntry{}} }

// blocked returns how long the keys are still locked out (0: not locked).
func (t *throttle) blocked(now time.Time, keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		if e, ok := t.entries[k]; ok && now.Before(e.lockedUntil) {
			wait = max(wait, e.lockedUntil.Sub(now))
		}
	}
	return wait
}

// fail records a failed attempt for every key; locked reports whether a
// lockout started or grew with it.
func (t *throttle) fail(now time.Time, keys ...string) (locked bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.entries) >= maxEntries {
		for k, e := range t.entries { // drop stale entries
			if now.Sub(e.first) > failWindow && now.After(e.lockedUntil) {
				delete(t.entries, k)
			}
		}
	}
	for _, k := range keys {
		e, ok := t.entries[k]
		if !ok || (now.Sub(e.first) > failWindow && now.After(e.lockedUntil)) {
			e = &throttleEntry{first: now}
			t.entries[k] = e
		}
		e.fails++
		if e.fails >= maxFails {
			lock := baseLock << min(e.fails-maxFails, 10)
			e.lockedUntil = now.Add(min(lock, maxLock))
			locked = true
		}
	}
	return locked
}

// succeed forgets the failures of the keys.
func (t *throttle) succeed(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.entries, k)
	}
}

// Login refusals the handler tells apart from failures of the server.
var (
	errWrongLogin    = errors.New("wrong user name or password")
	errTooManyLogins = errors.New("too many failed logins")
)

// clientAddr is the remote IP (the proxy's when behind one: X-Forwarded-For
// is not trusted for throttling).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// login checks credentials and starts a session; it returns the cookie.
func (s *Server) login(r *http.Request, name, password string) (*http.Cookie, time.Duration, error) {
	now := s.now()
	keys := []string{"addr:" + clientAddr(r)}
	if wait := s.limit.blocked(now, keys...); wait > 0 {
		return nil, wait, errTooManyLogins
	}
	failed := func() (*http.Cookie, time.Duration, error) {
		if s.limit.fail(now, keys...) {
			// One line when an address gets locked out, not one per try.
			s.log.Warn("login: address locked out after repeated failures", "addr", clientAddr(r), "for", s.limit.blocked(now, keys...).String())
		}
		return nil, 0, errWrongLogin
	}
	u, err := s.st.GetUser(r.Context(), name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		CheckPassword(dummyHash, password) // same work as a known user
		return failed()
	case err != nil:
		return nil, 0, fmt.Errorf("login: %w", err)
	}
	if !CheckPassword(u.PasswordHash, password) {
		return failed()
	}
	s.limit.succeed(keys...)
	tok, hash, err := NewToken()
	if err != nil {
		return nil, 0, err
	}
	exp := now.Add(s.opt.SessionTTL)
	if err := s.st.CreateSession(r.Context(), store.Session{TokenHash: hash, UserID: u.ID, CreatedAt: now, ExpiresAt: exp}); err != nil {
		return nil, 0, err
	}
	s.log.Info("login", "user", u.Name, "role", u.Role, "addr", clientAddr(r))
	return &http.Cookie{
		Name: sessionCookie, Value: tok, Path: "/", Expires: exp, MaxAge: int(s.opt.SessionTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || s.opt.SecureCookies,
	}, 0, nil
}

// EnsureDemoUser creates the user "demo" (role admin) with a generated
// password when it does not exist yet, or gives it a new generated
// password, and returns the login for the demo to print.
func EnsureDemoUser(ctx context.Context, st store.AuthStore, now time.Time) (user, password string, err error) {
	const name = "demo"
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("demo user: %w", err)
	}
	password = base64.RawURLEncoding.EncodeToString(b)
	hash, err := HashPassword(password)
	if err != nil {
		return "", "", fmt.Errorf("demo user: %w", err)
	}
	_, err = st.CreateUser(ctx, store.User{Name: name, Role: store.RoleAdmin, PasswordHash: hash}, now)
	if errors.Is(err, store.ErrConflict) {
		err = st.SetPassword(ctx, name, hash, now)
	}
	if err != nil {
		return "", "", fmt.Errorf("demo user: %w", err)
	}
	return name, password, nil
}

// LoopbackOnly returns addr restricted to the loopback interface: a host
// that is empty, a wildcard or not a loopback address becomes 127.0.0.1
// (the port is kept). serve uses it while no user exists.
func LoopbackOnly(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "localhost" {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}
