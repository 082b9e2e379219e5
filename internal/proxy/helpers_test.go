package proxy_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/proxy"
	"github.com/sfmcwatch/sfmcwatch/internal/sharedfixtures"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// seen is one request as the upstream received it.
type seen struct {
	Method, RequestURI string
	Header             http.Header
	Body               []byte
	TLS                bool
}

// answer is what the upstream replies.
type answer struct {
	status  int
	header  map[string]string
	body    []byte
	chunked bool // stream the body in pieces without Content-Length
}

// upstream is a scripted SFMC stand-in on loopback that records requests.
type upstream struct {
	mu     sync.Mutex
	seen   []seen
	answer func(r *http.Request) answer
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h := r.Header.Clone()
	u.mu.Lock()
	u.seen = append(u.seen, seen{Method: r.Method, RequestURI: r.RequestURI, Header: h, Body: body, TLS: r.TLS != nil})
	u.mu.Unlock()
	a := answer{status: 200, body: []byte(`{"ok":true}`), header: map[string]string{"Content-Type": "application/json"}}
	if u.answer != nil {
		a = u.answer(r)
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	if !a.chunked {
		w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
		return
	}
	w.WriteHeader(a.status)
	for i := 0; i < len(a.body); i += 1000 {
		_, _ = w.Write(a.body[i:min(i+1000, len(a.body))])
		w.(http.Flusher).Flush()
	}
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

func (u *upstream) last() seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.seen[len(u.seen)-1]
}

// memSink collects recorded events.
type memSink struct {
	mu  sync.Mutex
	evs []store.EventRecord
}

func (m *memSink) Record(r store.EventRecord) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.evs = append(m.evs, r)
}

func (m *memSink) all() []store.EventRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]store.EventRecord(nil), m.evs...)
}

// waitEvents waits (real time, bounded) for n events: a call's event is
// recorded when the proxy closes the upstream body, just after the client
// has the last byte.
func (m *memSink) waitEvents(t *testing.T, n int) []store.EventRecord {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs := m.all()
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d events, want %d", len(evs), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// rig is an upstream, a proxy in front of it and a client for both.
type rig struct {
	up       *upstream
	upSrv    *httptest.Server
	proxySrv *httptest.Server
	sink     *memSink
	client   *http.Client
}

func newRig(t *testing.T, o proxy.Options, tlsUpstream bool) *rig {
	t.Helper()
	r := newUpstreamRig(t, tlsUpstream, nil)
	if tlsUpstream {
		o.Transport = r.upstreamTransport()
	}
	if o.Tenant == "" {
		o.Tenant = "acme"
	}
	o.Upstream = proxy.Upstream{Auth: r.upSrv.URL, REST: r.upSrv.URL + "/", SOAP: r.upSrv.URL + "/Service.asmx"}
	if o.Sink == nil {
		o.Sink = r.sink
	}
	p, err := proxy.New(o)
	if err != nil {
		t.Fatal(err)
	}
	r.proxySrv = httptest.NewServer(p)
	t.Cleanup(r.proxySrv.Close)
	return r
}

// newUpstreamRig starts the upstream and the client (no proxy). The
// client trusts a TLS upstream's certificate and the certificates in
// trust (a TLS proxy listener's).
func newUpstreamRig(t *testing.T, tlsUpstream bool, trust *x509.CertPool) *rig {
	t.Helper()
	r := &rig{up: &upstream{}, sink: &memSink{}}
	if tlsUpstream {
		r.upSrv = httptest.NewTLSServer(r.up)
	} else {
		r.upSrv = httptest.NewServer(r.up)
	}
	t.Cleanup(r.upSrv.Close)
	// The same client for direct and proxied calls.
	tr := &http.Transport{DisableCompression: true}
	if tlsUpstream || trust != nil {
		roots := x509.NewCertPool()
		if trust != nil {
			roots = trust.Clone()
		}
		if tlsUpstream {
			roots.AddCert(r.upSrv.Certificate())
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	}
	r.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return r
}

// upstreamTransport is a proxy transport that trusts the TLS upstream.
func (r *rig) upstreamTransport() *http.Transport {
	tr := r.upSrv.Client().Transport.(*http.Transport).Clone()
	tr.DisableCompression = true
	return tr
}

func (r *rig) do(t *testing.T, base, method, path string, hdr map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body = nil
		req.ContentLength = 0
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// fixture reads a shared SFMC fixture (skips when the folder is absent).
func fixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedfixtures.Fixtures(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
