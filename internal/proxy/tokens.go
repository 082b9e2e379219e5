package proxy

import (
	"crypto/sha256"
	"sync"
	"time"
)

// tokenHash is the SHA-256 of an access token: the only form in which the
// proxy keeps a token.
type tokenHash [32]byte

func hashToken(tok string) tokenHash { return sha256.Sum256([]byte(tok)) }

// maxTokens bounds the token memory.
const maxTokens = 50000

// TokenNames remembers which integration obtained which access token (by
// hash, until the token expires), so REST and SOAP calls carrying it are
// named after the client id of the token request. Safe for concurrent use.
type TokenNames struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[tokenHash]tokenEntry
}

type tokenEntry struct {
	name    string
	expires time.Time
}

// NewTokenNames returns an empty memory on the given clock (nil: time.Now).
func NewTokenNames(now func() time.Time) *TokenNames {
	if now == nil {
		now = time.Now
	}
	return &TokenNames{now: now, m: map[tokenHash]tokenEntry{}}
}

// Remember maps a token hash to an integration for ttl.
func (t *TokenNames) Remember(h tokenHash, name string, ttl time.Duration) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= maxTokens {
		for k, e := range t.m {
			if !now.Before(e.expires) {
				delete(t.m, k)
			}
		}
		for k := range t.m { // still full: forget arbitrary entries
			if len(t.m) < maxTokens {
				break
			}
			delete(t.m, k)
		}
	}
	t.m[h] = tokenEntry{name: name, expires: now.Add(ttl)}
}

// Lookup returns the integration of a live token.
func (t *TokenNames) Lookup(h tokenHash) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[h]
	if !ok {
		return "", false
	}
	if !t.now().Before(e.expires) {
		delete(t.m, h)
		return "", false
	}
	return e.name, true
}

// Len is the number of remembered tokens.
func (t *TokenNames) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
