package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
	"github.com/sfmcwatch/sfmcwatch/internal/web"
)

// DNS rebinding: a page on another site whose name now resolves to
// 127.0.0.1 reaches the loopback listener with its own Host header. Open
// mode (no users yet) must not hand it the local admin identity.
func TestOpenModeRefusesForeignHost(t *testing.T) {
	f := newFixture(t, nil, nil)
	for host, wantLocal := range map[string]bool{
		strings.TrimPrefix(f.srv.URL, "http://"): true,
		"localhost:8080":                         true,
		"[::1]:8080":                             true,
		"attacker.example:8080":                  false,
		"127.0.0.1.attacker.example":             false,
	} {
		req, err := http.NewRequest("GET", f.srv.URL+"/api/v1/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if (resp.StatusCode == 200) != wantLocal {
			t.Errorf("Host %q: %d, want local access %v", host, resp.StatusCode, wantLocal)
		}
	}
}

// Failed logins lock out the address that made them, never the account:
// anyone could otherwise lock the admin out by failing with their name.
func TestLockoutIsPerAddress(t *testing.T) {
	f := newFixture(t, map[string]string{"ana": store.RoleAdmin}, nil)
	h := web.New(web.Options{Store: f.st, Clock: func() time.Time { return seedNow }}).Handler()
	post := func(addr, pw string) int {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"username": {"ana"}, "password": {pw}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = addr + ":40000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for range 6 {
		post("203.0.113.9", "guess")
	}
	if code := post("203.0.113.9", "password-ana"); code != http.StatusTooManyRequests {
		t.Fatalf("the guessing address: %d, want 429", code)
	}
	if code := post("198.51.100.7", "password-ana"); code != http.StatusSeeOther {
		t.Fatalf("ana from her own address: %d, want a successful sign-in (303)", code)
	}
}

// HSTS is sent when the dashboard is served over TLS (or behind a TLS
// proxy, SecureCookies), never on plain HTTP.
func TestHSTSUnderTLS(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "tls"}[secure], func(t *testing.T) {
			f := newFixture(t, nil, func(o *web.Options) { o.SecureCookies = secure })
			resp, _ := do(t, client(t), "GET", f.srv.URL+"/login", nil, nil)
			if got := resp.Header.Get("Strict-Transport-Security") != ""; got != secure {
				t.Errorf("SecureCookies %v: HSTS sent %v", secure, got)
			}
		})
	}
}
