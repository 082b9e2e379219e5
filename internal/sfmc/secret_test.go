package sfmc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

type errTransport struct{}

func (errTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("dial tcp: proxy refused request carrying %s and Bearer tok-9-abcdefghijkl", testSecret)
}

// TestSecretsNeverLeak feeds a known secret (and tokens) through every error
// path and searches errors, logs and metering events.
func TestSecretsNeverLeak(t *testing.T) {
	echo := fmt.Sprintf(`{"message":"bad client_secret %s for token tok-1-abcdefghijkl","errorcode":%%d,"access_token":"tok-1-abcdefghijkl"}`, testSecret)
	soapEcho := fmt.Sprintf(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>boom %s tok-1-abcdefghijkl</faultstring><detail><apifault><Code>2</Code><Message>outage %s</Message></apifault></detail></soap:Fault></soap:Body></soap:Envelope>`, testSecret, testSecret)
	paths := []struct {
		name  string
		setup func(*testEnv)
		call  func(*testEnv) error
	}{
		{"bad token response", func(e *testEnv) {
			e.f.tokenFn = status(400, fmt.Sprintf(`{"error":"invalid_request","error_description":"client_secret %s is malformed"}`, testSecret))
		}, func(e *testEnv) error { _, err := e.c.Automations(t.Context()); return err }},
		{"token not json", func(e *testEnv) {
			e.f.tokenFn = status(200, "plain text "+testSecret)
		}, func(e *testEnv) error { _, err := e.c.Automations(t.Context()); return err }},
		{"401 twice", func(e *testEnv) { e.f.setAPI(status(401, fmt.Sprintf(echo, 0))) },
			func(e *testEnv) error { _, err := e.c.Automations(t.Context()); return err }},
		{"403", func(e *testEnv) { e.f.setAPI(status(403, fmt.Sprintf(echo, 20002))) },
			func(e *testEnv) error { _, err := e.c.Journeys(t.Context(), JourneyListOptions{}); return err }},
		{"500", func(e *testEnv) { e.f.setAPI(status(500, fmt.Sprintf(echo, 0))) },
			func(e *testEnv) error { _, err := e.c.Automation(t.Context(), "a"); return err }},
		{"2xx body error", func(e *testEnv) { e.f.setAPI(status(202, fmt.Sprintf(echo, 109001))) },
			func(e *testEnv) error { _, err := e.c.TransactionalQueue(t.Context(), "k"); return err }},
		{"soap fault", func(e *testEnv) { e.f.setAPI(status(500, soapEcho)) },
			func(e *testEnv) error { _, err := e.c.DataExtensions(t.Context(), nil); return err }},
		{"bad json", func(e *testEnv) { e.f.setAPI(status(200, `{"count": "`+testSecret)) },
			func(e *testEnv) error { _, err := e.c.RowCount(t.Context(), "k"); return err }},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			env := newEnv(t, false, func(_ *Tenant, o *Options) { o.MaxRetries = 1 })
			p.setup(env)
			err := p.call(env)
			if err == nil {
				t.Fatal("want an error")
			}
			assertNoSecret(t, env, err)
		})
	}
	t.Run("transport error", func(t *testing.T) {
		env := newEnv(t, false, func(_ *Tenant, o *Options) { o.HTTPClient = &http.Client{Transport: errTransport{}}; o.MaxRetries = 1 })
		_, err := env.c.Automations(t.Context())
		var ae *APIError
		if !errors.As(err, &ae) || ae.Kind != KindTransport {
			t.Fatalf("err=%v", err)
		}
		assertNoSecret(t, env, err)
	})
}

func assertNoSecret(t *testing.T, env *testEnv, err error) {
	t.Helper()
	var texts []string
	texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", errors.Unwrap(err)))
	if ae, ok := err.(*APIError); ok {
		b, _ := json.Marshal(ae.Result)
		texts = append(texts, string(b), ae.Message)
	}
	env.mu.Lock()
	for _, ev := range env.evs {
		b, _ := json.Marshal(ev)
		texts = append(texts, string(b), string(ev.Event.Body), ev.Event.URL)
	}
	env.mu.Unlock()
	texts = append(texts, env.logs.String())
	for _, s := range texts {
		for _, secret := range []string{testSecret, "abcdefghijkl"} {
			if strings.Contains(s, secret) {
				t.Fatalf("secret %q leaked in: %s", secret, s)
			}
		}
	}
}
