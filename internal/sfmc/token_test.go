package sfmc

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestTokenCachedAcrossCalls(t *testing.T) {
	env := newEnv(t, false, nil)
	env.f.setAPI(status(200, legacyOne))
	for range 50 {
		if _, err := env.c.Automations(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := env.f.tokens.Load(); n != 1 {
		t.Fatalf("token requests = %d, want 1", n)
	}
}

func TestTokenRefreshBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newEnv(t, false, nil)
		env.f.setAPI(status(200, legacyOne))
		call := func() {
			t.Helper()
			if _, err := env.c.Automations(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		call()
		time.Sleep(1060 * time.Second) // expires_in 1079 − 10 s margin = 1069 s
		call()
		if n := env.f.tokens.Load(); n != 1 {
			t.Fatalf("refreshed too early: %d", n)
		}
		time.Sleep(10 * time.Second)
		call()
		if n := env.f.tokens.Load(); n != 2 {
			t.Fatalf("not refreshed before expiry: %d", n)
		}
		// Steady state: a call a minute for three hours → about one token per 18 min.
		for range 180 {
			time.Sleep(time.Minute)
			call()
		}
		if n := env.f.tokens.Load(); n > 2+11 {
			t.Fatalf("%d tokens in 3 h", n)
		}
	})
}

func TestTokenSingleFlight(t *testing.T) {
	env := newEnv(t, false, nil)
	env.f.setAPI(status(200, legacyOne))
	release := make(chan struct{})
	inner := env.f.tokenFn
	_ = inner
	env.f.tokenFn = func(w http.ResponseWriter, r *http.Request) {
		<-release
		fmt.Fprintf(w, `{"access_token":"tok-sf-abcdefghijkl","token_type":"Bearer","expires_in":1079,"rest_instance_url":"%s/","soap_instance_url":"%s/"}`, env.f.base, env.f.base)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() {
			_, err := env.c.Automations(t.Context())
			errs <- err
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := env.f.tokens.Load(); n != 1 {
		t.Fatalf("token requests = %d, want 1", n)
	}
}

func TestTokenCachePerClientAndMID(t *testing.T) {
	shared := NewTokenCache()
	f := &fake{base: "http://sfmc.test"}
	f.setAPI(status(200, legacyOne))
	mk := func(mid string) *Client {
		c, err := New(Tenant{Name: mid, AuthURL: f.base, ClientID: "cid", ClientSecret: testSecret, AccountID: mid},
			Options{HTTPClient: &http.Client{Transport: handlerTransport{f}}, Tokens: shared})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, c := range []*Client{mk("1"), mk("1"), mk("2")} {
		if _, err := c.Automations(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.tokens.Load(); n != 2 {
		t.Fatalf("token requests = %d, want 2 (one per MID)", n)
	}
}

func TestInstanceURLNormalised(t *testing.T) {
	env := newEnv(t, false, nil)
	env.f.tokenFn = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"access_token":"tok-x-abcdefghijkl","token_type":"Bearer","expires_in":1079,"rest_instance_url":"mc123.rest.example.test/","soap_instance_url":"https://mc123.soap.example.test//"}`)
	}
	var rest, soap string
	env.f.setAPI(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("SOAPAction") != "" {
			soap = r.URL.String()
			writeXML(w, 200, soapOK("DataExtension", ""))
			return
		}
		rest = r.URL.String()
		writeJSON(w, 200, legacyOne)
	})
	if _, err := env.c.Automations(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := env.c.DataExtensions(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if want := "https://mc123.rest.example.test" + epLegacyList + "?itemsPerPage=200&startIndex=0"; rest != want {
		t.Errorf("rest url %s, want %s", rest, want)
	}
	if soap != "https://mc123.soap.example.test/Service.asmx" {
		t.Errorf("soap url %s", soap)
	}
}

func TestNormaliseBase(t *testing.T) {
	for in, want := range map[string]string{
		"x.rest.marketingcloudapis.com/":         "https://x.rest.marketingcloudapis.com",
		"https://x.soap.marketingcloudapis.com/": "https://x.soap.marketingcloudapis.com",
		"http://127.0.0.1:8080":                  "http://127.0.0.1:8080",
		"":                                       "",
	} {
		if got := normaliseBase(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

func TestTokenCacheRotatedSecretFetchesANewToken(t *testing.T) {
	// After a client-secret rotation (config reload), the token the old
	// secret bought must not be reused: the cache is keyed by a digest of
	// the secret (never the secret itself).
	shared := NewTokenCache()
	f := &fake{base: "http://sfmc.test"}
	f.setAPI(status(200, legacyOne))
	mk := func(secret string) *Client {
		c, err := New(Tenant{Name: "t", AuthURL: f.base, ClientID: "cid", ClientSecret: secret, AccountID: "1"},
			Options{HTTPClient: &http.Client{Transport: handlerTransport{f}}, Tokens: shared})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, c := range []*Client{mk(testSecret), mk(testSecret)} {
		if _, err := c.Automations(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.tokens.Load(); n != 1 {
		t.Fatalf("token requests = %d, want 1 (one secret)", n)
	}
	// The fake accepts only testSecret: a client with another secret must
	// ask for its own token (and be refused), not reuse the cached one.
	if _, err := mk(testSecret + "-other").Automations(t.Context()); !IsAuth(err) {
		t.Fatalf("another secret reused the cached token: err = %v", err)
	}
	for k := range shared.entries {
		if strings.Contains(k.String(), testSecret) {
			t.Fatal("the token cache key holds the secret itself")
		}
	}
}
