package sfmc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testSecret = "s3cr3t-Very-Known-Secret-42"

// fake is a scripted SFMC: a token endpoint that counts requests and an API
// handler the test sets.
type fake struct {
	tokens   atomic.Int64
	calls    atomic.Int64
	mu       sync.Mutex
	api      http.HandlerFunc
	tokenFn  http.HandlerFunc // optional override of the token endpoint
	base     string           // URL returned as rest/soap instance URL
	lastAuth atomic.Value     // last Authorization header / fueloauth seen
	expires  int
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2/token" {
		f.tokens.Add(1)
		f.mu.Lock()
		fn := f.tokenFn
		f.mu.Unlock()
		if fn != nil {
			fn(w, r)
			return
		}
		var req map[string]string
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req["client_secret"] != testSecret || req["grant_type"] != "client_credentials" {
			w.WriteHeader(401)
			io.WriteString(w, `{"error":"invalid_client","error_description":"Client authentication failed.","error_uri":"https://developer.salesforce.com/docs"}`)
			return
		}
		exp := f.expires
		if exp == 0 {
			exp = 1079
		}
		n := f.tokens.Load()
		fmt.Fprintf(w, `{"access_token":"tok-%d-abcdefghijkl","token_type":"Bearer","expires_in":%d,"scope":"automations_read journeys_read email_read","rest_instance_url":"%s/","soap_instance_url":"%s/"}`,
			n, exp, f.base, f.base)
		return
	}
	f.calls.Add(1)
	if a := r.Header.Get("Authorization"); a != "" {
		f.lastAuth.Store(a)
	}
	f.mu.Lock()
	h := f.api
	f.mu.Unlock()
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h(w, r)
}

func (f *fake) setAPI(h http.HandlerFunc) { f.mu.Lock(); f.api = h; f.mu.Unlock() }

// handlerTransport calls a handler in-process (usable inside synctest bubbles).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { defer close(done); t.h.ServeHTTP(rec, r) }()
	select {
	case <-done:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return rec.Result(), nil
}

type testEnv struct {
	c     *Client
	f     *fake
	meter *MemMeter
	logs  *bytes.Buffer
	mu    sync.Mutex
	evs   []CallEvent
}

func (e *testEnv) events() []CallEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]CallEvent(nil), e.evs...)
}

// newEnv builds a client over a fake. network=true uses a real httptest
// server on 127.0.0.1; false an in-process transport (for synctest).
func newEnv(t testing.TB, network bool, mod func(*Tenant, *Options)) *testEnv {
	t.Helper()
	f := &fake{}
	env := &testEnv{f: f, logs: &bytes.Buffer{}}
	var hc *http.Client
	if network {
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		f.base = srv.URL
		hc = srv.Client()
	} else {
		f.base = "http://sfmc.test"
		hc = &http.Client{Transport: handlerTransport{f}}
	}
	env.meter = NewMemMeter(EventSinkFunc(func(ev CallEvent) {
		env.mu.Lock()
		env.evs = append(env.evs, ev)
		env.mu.Unlock()
	}))
	ten := Tenant{Name: "acme", AuthURL: f.base, ClientID: "client-abc", ClientSecret: testSecret, AccountID: "510000001"}
	opt := Options{HTTPClient: hc, Meter: env.meter, Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: env.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond, RateLimit: 1000, Burst: 100}
	if mod != nil {
		mod(&ten, &opt)
	}
	c, err := New(ten, opt)
	if err != nil {
		t.Fatal(err)
	}
	env.c = c
	return env
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func writeXML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

const soapFault17 = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>Rate Limited</faultstring><detail><apifault xmlns="urn:fault.partner.exacttarget.com"><Code>17</Code><Message>Rate Limited</Message></apifault></detail></soap:Fault></soap:Body></soap:Envelope>`

func soapOK(objType, results string) string {
	return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body><RetrieveResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><OverallStatus>OK</OverallStatus><RequestID>r1</RequestID>` +
		strings.ReplaceAll(results, "<Results>", `<Results xsi:type="`+objType+`">`) + `</RetrieveResponseMsg></soap:Body></soap:Envelope>`
}
