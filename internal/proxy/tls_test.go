package proxy_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/proxy"
)

// testCert is a self-signed certificate for 127.0.0.1, generated per test.
type testCert struct {
	certPEM, keyPEM []byte
	cert            *x509.Certificate
}

func newTestCert(t *testing.T, cn string) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		cert:    cert,
	}
}

// writeFile writes data and stamps it with mod (explicit, so a change is
// seen whatever the file system's time granularity).
func writeFile(t *testing.T, name string, data []byte, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(name, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serverSetup is a proxy.Server in front of a rig's upstream.
type serverSetup struct {
	listeners   []config.ProxyListener
	rewrite     bool
	tlsUpstream bool
	interval    time.Duration
	// lns, when set, replace the configured addresses (UseListeners).
	lns []net.Listener
	// ctx, when set, is already canceled: Run starts, logs and stops
	// before startServer returns (default: the server runs until the test
	// ends).
	ctx context.Context
	// store receives the events (default: a new one).
	store *flakyStore
}

// startServer builds and runs the server; it returns the base URLs of the
// listeners (empty with lns) and the server's log.
func startServer(t *testing.T, r *rig, s serverSetup) ([]string, *syncBuffer) {
	t.Helper()
	cfg := &config.Config{
		Tenants: []config.Tenant{{Name: "acme", AuthURL: r.upSrv.URL, RestURL: r.upSrv.URL + "/", SoapURL: r.upSrv.URL + "/Service.asmx"}},
		Proxy:   config.DefaultProxy(),
	}
	cfg.Proxy.Listeners, cfg.Proxy.RewriteInstanceURLs = s.listeners, s.rewrite
	logs := &syncBuffer{}
	if s.store == nil {
		s.store = &flakyStore{}
	}
	o := proxy.ServerOptions{Config: cfg, Store: s.store, CertCheckInterval: s.interval,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if s.tlsUpstream {
		o.Transport = r.upstreamTransport()
	}
	srv, err := proxy.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	if s.lns != nil {
		srv.UseListeners(s.lns)
	} else {
		addrs, err := srv.Listen()
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range addrs {
			scheme := "http"
			if s.listeners[i].TLSCertFile != "" {
				scheme = "https"
			}
			urls = append(urls, scheme+"://"+a)
		}
	}
	if s.ctx != nil {
		if err := srv.Run(s.ctx); err != nil {
			t.Fatalf("Run: %v", err)
		}
		return urls, logs
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return urls, logs
}

// tlsListener writes c into dir and returns a loopback listener serving it.
func tlsListener(t *testing.T, dir string, c testCert) config.ProxyListener {
	t.Helper()
	l := config.ProxyListener{Listen: "127.0.0.1:0", Tenant: "acme",
		TLSCertFile: filepath.Join(dir, "tls.crt"), TLSKeyFile: filepath.Join(dir, "tls.key")}
	mod := time.Now().Add(-time.Hour)
	writeFile(t, l.TLSCertFile, c.certPEM, mod)
	writeFile(t, l.TLSKeyFile, c.keyPEM, mod)
	return l
}

// TestTLSListenerByteIdentical: an HTTPS listener forwards every call
// byte-identically (to a plain and a TLS upstream), at TLS 1.2 or above,
// and records it; plain HTTP and TLS 1.1 are refused on it.
func TestTLSListenerByteIdentical(t *testing.T) {
	for _, tlsUp := range []bool{false, true} {
		cert := newTestCert(t, "proxy")
		trust := x509.NewCertPool()
		trust.AddCert(cert.cert)
		r := newUpstreamRig(t, tlsUp, trust)
		st := &flakyStore{}
		urls, _ := startServer(t, r, serverSetup{listeners: []config.ProxyListener{tlsListener(t, t.TempDir(), cert)}, tlsUpstream: tlsUp, store: st})
		base := urls[0]
		suffix := ""
		if tlsUp {
			suffix = " (TLS upstream)"
		}
		for _, c := range byteCases() {
			t.Run(c.name+suffix, func(t *testing.T) {
				resp := checkByteIdentical(t, r, base, c, tlsUp)
				if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 || resp.TLS.PeerCertificates[0].SerialNumber.Cmp(cert.cert.SerialNumber) != 0 {
					t.Fatalf("proxied call not over TLS 1.2+ with the listener's certificate: %+v", resp.TLS)
				}
			})
		}
		// Every proxied call is recorded.
		deadline := time.Now().Add(5 * time.Second)
		for n, _ := st.count(); n != len(byteCases()); n, _ = st.count() {
			if time.Now().After(deadline) {
				t.Fatalf("%d events stored, want %d", n, len(byteCases()))
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Run("plain HTTP refused"+suffix, func(t *testing.T) {
			n := r.up.count()
			resp, _ := r.do(t, "http://"+strings.TrimPrefix(base, "https://"), "GET", "/asset/v1/content/assets", nil, nil)
			if resp.StatusCode != http.StatusBadRequest || r.up.count() != n {
				t.Fatalf("plain HTTP on the TLS listener: status %d, forwarded %d", resp.StatusCode, r.up.count()-n)
			}
		})
		t.Run("TLS 1.1 refused"+suffix, func(t *testing.T) {
			conn, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{RootCAs: trust, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
			if err == nil {
				conn.Close()
				t.Fatal("TLS 1.1 handshake accepted")
			}
		})
	}
}

// servedSerial dials addr and returns the serial of the certificate served.
func servedSerial(t *testing.T, addr string, trust *x509.CertPool) *big.Int {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: trust})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber
}

// TestTLSCertificateReload: a certificate replaced on disk is served on
// new connections without a restart; a broken replacement keeps the
// previous certificate in service and is warned about once.
func TestTLSCertificateReload(t *testing.T) {
	a, b, c := newTestCert(t, "a"), newTestCert(t, "b"), newTestCert(t, "c")
	trust := x509.NewCertPool()
	for _, tc := range []testCert{a, b, c} {
		trust.AddCert(tc.cert)
	}
	r := newUpstreamRig(t, false, trust)
	l := tlsListener(t, t.TempDir(), a)
	const interval = 20 * time.Millisecond
	urls, logs := startServer(t, r, serverSetup{listeners: []config.ProxyListener{l}, interval: interval})
	addr := strings.TrimPrefix(urls[0], "https://")
	waitServed := func(want testCert) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for servedSerial(t, addr, trust).Cmp(want.cert.SerialNumber) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("certificate %s not served after 5s; log:\n%s", want.cert.Subject.CommonName, logs.String())
			}
			time.Sleep(interval)
		}
	}
	waitServed(a)
	mod := time.Now()
	step := func(cert, key []byte) {
		mod = mod.Add(time.Minute)
		writeFile(t, l.TLSCertFile, cert, mod)
		writeFile(t, l.TLSKeyFile, key, mod)
	}

	step(b.certPEM, b.keyPEM)
	waitServed(b)
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Errorf("reload not logged:\n%s", logs.String())
	}

	// A broken pair (b's certificate, c's key): b stays in service.
	step(b.certPEM, c.keyPEM)
	for range 10 {
		time.Sleep(2 * interval)
		if got := servedSerial(t, addr, trust); got.Cmp(b.cert.SerialNumber) != 0 {
			t.Fatalf("served serial %v while the files were broken, want b's", got)
		}
	}
	if n := strings.Count(logs.String(), "TLS certificate reload failed"); n != 1 {
		t.Fatalf("%d reload warnings for one broken change, want 1:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "PRIVATE KEY") {
		t.Fatal("the log carries key material")
	}

	step(c.certPEM, c.keyPEM)
	waitServed(c)
}

// TestRewriteInstanceURLsScheme: rewritten instance URLs use https on a
// TLS listener (whatever the client's X-Forwarded-Proto says) and http on
// a plain one unless a TLS-terminating balancer says https.
func TestRewriteInstanceURLsScheme(t *testing.T) {
	cert := newTestCert(t, "proxy")
	trust := x509.NewCertPool()
	trust.AddCert(cert.cert)
	r := newUpstreamRig(t, false, trust)
	r.up.answer = func(*http.Request) answer {
		return answer{status: 200, body: []byte(tokenBody), header: map[string]string{"Content-Type": "application/json"}}
	}
	urls, _ := startServer(t, r, serverSetup{rewrite: true, listeners: []config.ProxyListener{
		tlsListener(t, t.TempDir(), cert),
		{Listen: "127.0.0.1:0", Tenant: "acme"},
	}})
	for _, c := range []struct {
		name, base, forwardedProto, want string
	}{
		{name: "TLS listener", base: urls[0], want: urls[0] + "/"},
		{name: "TLS listener, client claims http", base: urls[0], forwardedProto: "http", want: urls[0] + "/"},
		{name: "plain listener", base: urls[1], want: urls[1] + "/"},
		{name: "plain listener behind a TLS balancer", base: urls[1], forwardedProto: "https", want: "https://" + strings.TrimPrefix(urls[1], "http://") + "/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{"Content-Type": "application/json"}
			if c.forwardedProto != "" {
				hdr["X-Forwarded-Proto"] = c.forwardedProto
			}
			resp, body := r.do(t, c.base, "POST", "/v2/token", hdr, []byte(`{"grant_type":"client_credentials","client_id":"abc","client_secret":"s3cr3t"}`))
			var tok map[string]any
			if err := json.Unmarshal(body, &tok); err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %d, body %s: %v", resp.StatusCode, body, err)
			}
			if tok["rest_instance_url"] != c.want || tok["soap_instance_url"] != c.want {
				t.Fatalf("instance URLs %v / %v, want %s", tok["rest_instance_url"], tok["soap_instance_url"], c.want)
			}
		})
	}
}

// addrListener is a loopback listener reporting another address, so the
// startup warning can be checked for addresses a test must not bind.
type addrListener struct {
	net.Listener
	addr net.Addr
}

func (l addrListener) Addr() net.Addr { return l.addr }

// TestPlainListenerWarning: a plain-HTTP listener on a non-loopback
// address logs a warning at startup; loopback and TLS listeners do not.
func TestPlainListenerWarning(t *testing.T) {
	const warning = "cross the network unencrypted"
	cert := newTestCert(t, "proxy")
	for _, c := range []struct {
		name string
		addr string // reported address; "" binds 127.0.0.1:0 for real
		tls  bool
		want bool
	}{
		{name: "loopback bound", addr: ""},
		{name: "IPv4 loopback", addr: "127.0.0.1:8443"},
		{name: "IPv6 loopback", addr: "[::1]:8443"},
		{name: "private address", addr: "10.1.2.3:8443", want: true},
		{name: "all interfaces", addr: "[::]:8443", want: true},
		{name: "all IPv4 interfaces", addr: "0.0.0.0:8443", want: true},
		{name: "private address with TLS", addr: "10.1.2.3:8443", tls: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newUpstreamRig(t, false, nil)
			l := config.ProxyListener{Listen: "127.0.0.1:0", Tenant: "acme"}
			if c.tls {
				l = tlsListener(t, t.TempDir(), cert)
			}
			s := serverSetup{listeners: []config.ProxyListener{l}}
			if c.addr != "" {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				ta, err := net.ResolveTCPAddr("tcp", c.addr)
				if err != nil {
					t.Fatal(err)
				}
				s.lns = []net.Listener{addrListener{ln, ta}}
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // Run starts, logs, and stops
			s.ctx = ctx
			_, logs := startServer(t, r, s)
			out := logs.String()
			if !strings.Contains(out, "recording proxy listening") {
				t.Fatalf("the listener did not start:\n%s", out)
			}
			if got := strings.Contains(out, warning); got != c.want {
				t.Fatalf("warning logged = %v, want %v:\n%s", got, c.want, out)
			}
			if c.want && !strings.Contains(out, "proxy.listeners[0]") {
				t.Fatalf("the warning does not name the listener:\n%s", out)
			}
		})
	}
}

// TestNewServerBadCertificate: a pair that does not load fails NewServer
// naming the listener and the file, never showing key material.
func TestNewServerBadCertificate(t *testing.T) {
	a, b := newTestCert(t, "a"), newTestCert(t, "b")
	dir := t.TempDir()
	mod := time.Now()
	writeFile(t, filepath.Join(dir, "a.crt"), a.certPEM, mod)
	writeFile(t, filepath.Join(dir, "a.key"), a.keyPEM, mod)
	writeFile(t, filepath.Join(dir, "b.key"), b.keyPEM, mod)
	for _, c := range []struct {
		name, cert, key, want string
	}{
		{name: "missing key", cert: "a.crt", key: "nope.key", want: "nope.key"},
		{name: "mismatched key", cert: "a.crt", key: "b.key", want: "does not match"},
		{name: "key as certificate", cert: "a.key", key: "a.key", want: "a.key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := &config.Config{Tenants: []config.Tenant{{Name: "acme", AuthURL: "https://a.example", RestURL: "https://r.example", SoapURL: "https://s.example"}},
				Proxy: config.DefaultProxy()}
			cfg.Proxy.Listeners = []config.ProxyListener{{Listen: "127.0.0.1:0", Tenant: "acme", TLSCertFile: filepath.Join(dir, c.cert), TLSKeyFile: filepath.Join(dir, c.key)}}
			_, err := proxy.NewServer(proxy.ServerOptions{Config: cfg, Store: &flakyStore{}})
			if err == nil {
				t.Fatal("NewServer accepted the pair")
			}
			msg := err.Error()
			if !strings.Contains(msg, "listeners[0]") || !strings.Contains(msg, c.want) {
				t.Fatalf("error %q, want listeners[0] and %q", msg, c.want)
			}
			if strings.Contains(msg, "PRIVATE KEY") || strings.Contains(msg, string(a.keyPEM[30:60])) {
				t.Fatalf("error shows key material: %q", msg)
			}
		})
	}
}

// TestServerErrorLogLevels: failed TLS handshakes (scanners, plain HTTP on
// the TLS port) are debug noise; other server errors stay warnings.
func TestServerErrorLogLevels(t *testing.T) {
	var buf bytes.Buffer
	l := proxy.ServerErrorLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Print("http: TLS handshake error from 10.0.0.9:5123: EOF")
	l.Print("http: Accept error: too many open files; retrying in 5ms")
	out := buf.String()
	if !strings.Contains(out, `level=DEBUG msg="http: TLS handshake error`) {
		t.Errorf("handshake error not at debug:\n%s", out)
	}
	if !strings.Contains(out, `level=WARN msg="http: Accept error`) {
		t.Errorf("accept error not a warning:\n%s", out)
	}
}
