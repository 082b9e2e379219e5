package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// TestProxyTLSRouteForRealSDKs runs the route docs/CONNECT.md gives for SDKs
// that insist on https://<subdomain>.auth.marketingcloudapis.com/: the proxy
// listens with TLS and a certificate for the tenant's three names, the
// client resolves those names to the proxy (a hosts entry) and trusts the
// proxy's private CA (NODE_EXTRA_CA_CERTS and friends) — and nothing else.
// A token request and a REST call go through to the simulator and are
// recorded.
func TestProxyTLSRouteForRealSDKs(t *testing.T) {
	dir := t.TempDir()
	const sub = "mc563885gzs27c5t9-63k636ttgm"
	names := []string{sub + ".auth.marketingcloudapis.com", sub + ".rest.marketingcloudapis.com", sub + ".soap.marketingcloudapis.com"}
	caPEM, certFile, keyFile := writeProxyCerts(t, dir, names)

	start := time.Now().UTC().Truncate(time.Minute)
	s, err := sim.New(sim.Options{Seed: 7, Start: start,
		Size: sim.Size{Automations: 3, Journeys: 2, DataExtensions: 3, TriggeredSends: 2, Transactional: 2, Imports: 2}})
	if err != nil {
		t.Fatal(err)
	}
	upstream := httptest.NewServer(s.Handler())
	defer upstream.Close()
	c := s.Credentials()

	cfg := filepath.Join(dir, "proxy.yaml")
	db := filepath.Join(dir, "proxy.db")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`storage: {driver: sqlite, path: %[5]s}
tenants:
  - name: acme
    auth_url: %[1]s
    rest_url: %[1]s
    soap_url: %[1]s
    client_id: %[2]s
    client_secret: %[3]s
    account_id: "%[4]d"
proxy:
  listeners:
    - listen: 127.0.0.1:0
      tenant: acme
      integration: node-app
      tls_cert_file: %[6]s
      tls_key_file: %[7]s
  rewrite_instance_urls: false
`, upstream.URL, c.ClientID, c.ClientSecret, c.MIDs[0], db, certFile, keyFile)), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuf{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"proxy", "--config", cfg}, IO{In: strings.NewReader(""), Out: out, Err: io.Discard})
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("proxy did not stop")
		}
	}()
	re := regexp.MustCompile(`https://(127\.0\.0\.1:\d+)`)
	var proxyAddr string
	for deadline := time.Now().Add(15 * time.Second); proxyAddr == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			proxyAddr = m[1]
		}
	}
	if proxyAddr == "" {
		t.Fatalf("proxy did not start: %s", out.String())
	}

	// The integration's machine: *.marketingcloudapis.com → the proxy (the
	// hosts entry), and only the proxy's CA trusted.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, _ := net.SplitHostPort(addr)
			if strings.HasSuffix(host, ".marketingcloudapis.com") && port == "443" {
				addr = proxyAddr
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}}

	body := fmt.Sprintf(`{"grant_type":"client_credentials","client_id":%q,"client_secret":%q,"account_id":"%d"}`, c.ClientID, c.ClientSecret, c.MIDs[0])
	resp, err := client.Post("https://"+names[0]+"/v2/token", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("token through the TLS proxy: %v", err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("token: HTTP %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://"+names[1]+"/automation/v1/automations?$page=1&$pageSize=2", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatalf("REST through the TLS proxy: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("REST: HTTP %d", resp.StatusCode)
	}
	// A client that does not trust the proxy's CA is refused: the route
	// depends on that trust, as documented.
	if _, err := (&http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: client.Transport.(*http.Transport).DialContext}}).Get("https://" + names[1] + "/"); err == nil {
		t.Error("a client without the proxy CA connected")
	}

	// Both calls were recorded as the integration's.
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: db}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var evs []store.EventRecord
	for deadline := time.Now().Add(10 * time.Second); len(evs) < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		evs, _ = st.QueryEvents(context.Background(), store.EventQuery{From: start.Add(-48 * time.Hour), To: time.Now().Add(48 * time.Hour), Source: "proxy"})
	}
	if len(evs) < 2 {
		t.Fatalf("proxy recorded %d events, want the token call and the REST call", len(evs))
	}
	for _, e := range evs {
		if e.Integration != "node-app" {
			t.Errorf("event %s %s: integration %q", e.Method, e.URL, e.Integration)
		}
	}
}

// writeProxyCerts makes a private CA and a leaf certificate for names; it
// returns the CA's PEM and the leaf's certificate and key files.
func writeProxyCerts(t *testing.T, dir string, names []string) (caPEM []byte, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sfmcwatch proxy CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(leafKey)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), certFile, keyFile
}
