package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// genPair returns a self-signed certificate and its key (PEM), valid until
// notAfter.
func genPair(t *testing.T, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "proxy"},
		NotBefore: notAfter.Add(-48 * time.Hour), NotAfter: notAfter, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// TestProxyListenerTLS: tls_cert_file and tls_key_file are set together,
// resolved against the config's directory, readable and a pair; problems
// name the key and the file, never the files' contents.
func TestProxyListenerTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := genPair(t, time.Now().Add(24*time.Hour))
	otherCert, otherKey := genPair(t, time.Now().Add(24*time.Hour))
	oldCert, oldKey := genPair(t, time.Now().Add(-time.Hour))
	files := map[string][]byte{
		"tls.crt": cert, "tls.key": key, "other.key": otherKey, "old.crt": oldCert, "old.key": oldKey,
		"garbage.pem": []byte("not PEM at all\n"),
		"bad-der.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	secrets := [][]byte{key[30:70], otherKey[30:70], cert[30:70], otherCert[30:70]}
	const tenant = "tenants:\n  - name: a\n    subdomain: abc\n    client_id: c\n    client_secret: s\nproxy:\n  enabled: true\n  listeners:\n    - listen: 127.0.0.1:9001\n"
	listener := func(cert, key string) string {
		s := "    - listen: 127.0.0.1:9002\n"
		if cert != "" {
			s += "      tls_cert_file: " + cert + "\n"
		}
		if key != "" {
			s += "      tls_key_file: " + key + "\n"
		}
		return s
	}
	for _, c := range []struct {
		name, cert, key string
		// path and want locate the one expected problem ("" = valid);
		// warn, a substring of the one expected warning.
		path, want, warn string
	}{
		{name: "relative pair", cert: "tls.crt", key: "tls.key"},
		{name: "absolute pair", cert: filepath.Join(dir, "tls.crt"), key: filepath.Join(dir, "tls.key")},
		{name: "certificate without key", cert: "tls.crt", path: "proxy.listeners[1].tls_cert_file", want: "set tls_key_file too"},
		{name: "key without certificate", key: "tls.key", path: "proxy.listeners[1].tls_key_file", want: "set tls_cert_file too"},
		{name: "missing certificate", cert: "nope.crt", key: "tls.key", path: "proxy.listeners[1].tls_cert_file", want: "cannot read the certificate: open " + filepath.Join(dir, "nope.crt")},
		{name: "missing key", cert: "tls.crt", key: "nope.key", path: "proxy.listeners[1].tls_key_file", want: "cannot read the private key: open " + filepath.Join(dir, "nope.key")},
		{name: "certificate not PEM", cert: "garbage.pem", key: "tls.key", path: "proxy.listeners[1].tls_cert_file", want: filepath.Join(dir, "garbage.pem") + `: no PEM "CERTIFICATE" block`},
		{name: "certificate not DER", cert: "bad-der.crt", key: "tls.key", path: "proxy.listeners[1].tls_cert_file", want: "not a valid certificate"},
		{name: "key given as certificate", cert: "tls.key", key: "tls.key", path: "proxy.listeners[1].tls_cert_file", want: `no PEM "CERTIFICATE" block`},
		{name: "key of another pair", cert: "tls.crt", key: "other.key", path: "proxy.listeners[1].tls_key_file", want: filepath.Join(dir, "other.key") + ": tls: private key does not match public key"},
		{name: "key not PEM", cert: "tls.crt", key: "garbage.pem", path: "proxy.listeners[1].tls_key_file", want: filepath.Join(dir, "garbage.pem") + ": tls:"},
		{name: "expired certificate warns", cert: "old.crt", key: "old.key", warn: "expired on"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "sfmcwatch.yaml")
			if err := os.WriteFile(path, []byte(tenant+listener(c.cert, c.key)), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path)
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				l := cfg.Proxy.Listeners[1]
				abs := func(name string) string {
					if filepath.IsAbs(name) {
						return name
					}
					return filepath.Join(dir, name)
				}
				if l.TLSCertFile != abs(c.cert) || l.TLSKeyFile != abs(c.key) {
					t.Fatalf("files %q, %q: want them resolved against %s", l.TLSCertFile, l.TLSKeyFile, dir)
				}
				if cfg.Proxy.Listeners[0].TLSCertFile != "" || cfg.Proxy.Listeners[0].TLSKeyFile != "" {
					t.Fatalf("the plain listener got files: %+v", cfg.Proxy.Listeners[0])
				}
				var got []string
				for _, w := range cfg.Warnings {
					got = append(got, w.Path+": "+w.Message)
				}
				if c.warn == "" && len(got) > 0 || c.warn != "" && (len(got) != 1 || !strings.Contains(got[0], "proxy.listeners[1].tls_cert_file: ") || !strings.Contains(got[0], c.warn)) {
					t.Fatalf("warnings %q, want %q", got, c.warn)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want *Error, got %v", err)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), string(s)) || strings.Contains(err.Error(), "BEGIN") {
					t.Fatalf("error shows file contents: %v", err)
				}
			}
			if len(ce.Problems) != 1 || ce.Problems[0].Path != c.path || !strings.Contains(ce.Problems[0].Message, c.want) {
				t.Fatalf("want the one problem %s: …%s…, got %v", c.path, c.want, err)
			}
		})
	}
}

// TestProxyTLSPairNotReadWhenDisabled: with the proxy not run by serve,
// loading the config (check-config, scan, a reload) does not need the
// key, which may be readable by the proxy's user alone; `sfmcwatch proxy`
// checks the pair when it builds its listeners.
func TestProxyTLSPairNotReadWhenDisabled(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sfmcwatch.yaml")
	yaml := "tenants:\n  - name: a\n    subdomain: abc\n    client_id: c\n    client_secret: s\nproxy:\n  listeners:\n    - listen: 127.0.0.1:9002\n      tls_cert_file: missing.crt\n      tls_key_file: missing.key\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("disabled proxy: %v", err)
	}
	if got := cfg.Proxy.Listeners[0].TLSKeyFile; got != filepath.Join(dir, "missing.key") {
		t.Fatalf("key path %q not resolved against %s", got, dir)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(yaml, "proxy:\n", "proxy:\n  enabled: true\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "proxy.listeners[0].tls_cert_file") {
		t.Fatalf("enabled proxy with missing files: %v", err)
	}
}
