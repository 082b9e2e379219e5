package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Proxy configures the recording proxy: integrations point their auth,
// REST and SOAP base URLs at a listener and the proxy forwards every call
// to the tenant unchanged while recording it as an event (source "proxy").
type Proxy struct {
	Enabled             bool              `yaml:"enabled" doc:"Run the proxy inside sfmcwatch serve (sfmcwatch proxy runs it whatever this says)."`
	Listeners           []ProxyListener   `yaml:"listeners" doc:"Addresses the proxy listens on, each forwarding to one tenant."`
	IntegrationHeader   string            `yaml:"integration_header" doc:"Request header naming the calling integration (removed before forwarding); empty disables it."`
	Integrations        map[string]string `yaml:"integrations,omitempty" doc:"Installed package client id to integration name, read from v2/token requests; later calls are matched by their token (kept hashed in memory)."`
	QueueSize           int               `yaml:"queue_size" doc:"Events buffered in memory while the store is slow or down; beyond it events are dropped and counted (the proxy never blocks a call)."`
	RewriteInstanceURLs bool              `yaml:"rewrite_instance_urls" doc:"Point rest_instance_url and soap_instance_url of token responses at the proxy, so SDKs that follow them keep calling through it (the only change the proxy then makes to a response)."`
	BodyCapture         Size              `yaml:"body_capture" doc:"Most response bytes read for classification per call; the rest streams through unread."`
}

// ProxyListener is one listen address of the proxy.
type ProxyListener struct {
	Listen      string `yaml:"listen" doc:"host:port to listen on. Without tls_cert_file it is plain HTTP and the integrations' client secrets and tokens cross the network in clear (a warning is logged unless it is a loopback address); the upstream leg always uses the tenant's https URLs."`
	Tenant      string `yaml:"tenant,omitempty" doc:"Tenant whose auth, REST and SOAP URLs are the upstream; default: the only configured tenant."`
	Integration string `yaml:"integration,omitempty" doc:"Integration name of calls on this listener that neither the header nor the client id map names."`
	TLSCertFile string `yaml:"tls_cert_file,omitempty" config:"path" doc:"Serve HTTPS (TLS 1.2+) with this certificate chain (PEM, leaf first); set together with tls_key_file. Both files are re-read within seconds of changing on disk (certificate renewals need no restart)."`
	TLSKeyFile  string `yaml:"tls_key_file,omitempty" config:"path" doc:"Private key (PEM) of tls_cert_file."`
}

// DefaultProxy is the proxy block's default: disabled, no listeners.
func DefaultProxy() Proxy {
	return Proxy{IntegrationHeader: "X-Sfmcwatch-Integration", QueueSize: 10000, BodyCapture: 16 << 10}
}

// Limits of the proxy block.
const (
	minProxyQueue   = 100
	maxProxyQueue   = 10_000_000
	minProxyCapture = Size(1 << 10)
	maxProxyCapture = Size(1 << 20)
)

func (d *decoder) validateProxy(c *Config) {
	d.validateSilentFailureXref(&c.Rules.TriggeredSendSilentFailure)
	p := &c.Proxy
	if p.Enabled && len(p.Listeners) == 0 {
		d.errorf(nil, "proxy.listeners", "proxy.enabled needs at least one listener")
	}
	if p.QueueSize < minProxyQueue || p.QueueSize > maxProxyQueue {
		d.errorf(nil, "proxy.queue_size", "must be between %d and %d, got %d", minProxyQueue, maxProxyQueue, p.QueueSize)
	}
	if p.BodyCapture < minProxyCapture || p.BodyCapture > maxProxyCapture {
		d.errorf(nil, "proxy.body_capture", "must be between %s and %s, got %s", minProxyCapture, maxProxyCapture, p.BodyCapture)
	}
	if h := p.IntegrationHeader; h != "" && !validHeaderName(h) {
		d.errorf(nil, "proxy.integration_header", "invalid header name %q", h)
	}
	ids := make([]string, 0, len(p.Integrations))
	for id := range p.Integrations {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if strings.TrimSpace(id) == "" {
			d.errorf(nil, "proxy.integrations", "empty client id")
		}
		if name := p.Integrations[id]; strings.TrimSpace(name) == "" || len(name) > 128 {
			d.errorf(nil, "proxy.integrations."+id, "integration name must be 1 to 128 characters")
		}
	}
	tenants := make([]string, len(c.Tenants))
	for i, t := range c.Tenants {
		tenants[i] = t.Name
	}
	seen := map[string]int{}
	for i := range p.Listeners {
		l := &p.Listeners[i]
		lp := fmt.Sprintf("proxy.listeners[%d]", i)
		host, port, err := net.SplitHostPort(l.Listen)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 || strings.ContainsAny(host, "/ ") {
			d.errorf(nil, lp+".listen", "invalid address %q: want host:port, e.g. 127.0.0.1:8443", l.Listen)
		} else if j, dup := seen[l.Listen]; dup && port != "0" {
			d.errorf(nil, lp+".listen", "duplicate address %q (also proxy.listeners[%d])", l.Listen, j)
		} else if host == c.Server.ListenHost() && port == c.Server.ListenPort() && port != "0" {
			d.errorf(nil, lp+".listen", "address %q is also server.listen", l.Listen)
		} else {
			seen[l.Listen] = i
		}
		switch {
		case l.Tenant == "" && len(tenants) == 1:
			l.Tenant = tenants[0]
		case l.Tenant == "":
			d.errorf(nil, lp+".tenant", "tenant is required when %d tenants are configured", len(tenants))
		case !slices.Contains(tenants, l.Tenant):
			msg := fmt.Sprintf("no tenant named %q", l.Tenant)
			if sug := suggest(l.Tenant, tenants); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			d.errorf(nil, lp+".tenant", "%s", msg)
		}
		if len(l.Integration) > 128 {
			d.errorf(nil, lp+".integration", "at most 128 characters")
		}
		switch {
		case l.TLSCertFile != "" && l.TLSKeyFile == "":
			d.errorf(nil, lp+".tls_cert_file", "set tls_key_file too (or neither)")
		case l.TLSCertFile == "" && l.TLSKeyFile != "":
			d.errorf(nil, lp+".tls_key_file", "set tls_cert_file too (or neither)")
		case l.TLSCertFile != "":
			l.TLSCertFile, l.TLSKeyFile = d.resolve(l.TLSCertFile), d.resolve(l.TLSKeyFile)
			// The pair is read only when serve runs the proxy: other
			// commands (and serve without it) must not need the key, which
			// may be readable by the proxy's user alone. `sfmcwatch proxy`
			// checks it when it builds the listeners.
			if p.Enabled {
				d.validateKeyPair(lp, l.TLSCertFile, l.TLSKeyFile)
			}
		}
	}
}

// validateKeyPair checks that a listener's certificate and key files are
// readable and form a pair. Problems name the file and the reason, never
// the files' contents.
func (d *decoder) validateKeyPair(lp, certFile, keyFile string) {
	certPEM, cerr := d.readFile(certFile)
	if cerr != nil {
		d.errorf(nil, lp+".tls_cert_file", "cannot read the certificate: %v", cerr)
	}
	keyPEM, kerr := d.readFile(keyFile)
	if kerr != nil {
		d.errorf(nil, lp+".tls_key_file", "cannot read the private key: %v", kerr)
	}
	if cerr != nil || kerr != nil {
		return
	}
	leaf, err := parseLeafPEM(certPEM)
	if err != nil {
		d.errorf(nil, lp+".tls_cert_file", "%s: %v", certFile, err)
		return
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		d.errorf(nil, lp+".tls_key_file", "%s: %v (the key must be the PEM private key of %s)", keyFile, err, certFile)
		return
	}
	if now := time.Now(); now.After(leaf.NotAfter) {
		d.warnf(lp+".tls_cert_file", "certificate %s expired on %s: clients will refuse it", certFile, leaf.NotAfter.UTC().Format(time.DateOnly))
	}
}

// parseLeafPEM parses the first certificate of a PEM chain.
func parseLeafPEM(data []byte) (*x509.Certificate, error) {
	for len(data) > 0 {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("not a valid certificate: %w", err)
			}
			return c, nil
		}
	}
	return nil, errors.New(`no PEM "CERTIFICATE" block`)
}

// ListenHost and ListenPort split Listen ("" when it does not parse).
func (s Server) ListenHost() string { h, _, _ := net.SplitHostPort(s.Listen); return h }

// ListenPort is the port part of Listen.
func (s Server) ListenPort() string { _, p, _ := net.SplitHostPort(s.Listen); return p }

// validHeaderName reports whether s is an HTTP header field name (RFC 9110
// token).
func validHeaderName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validateSilentFailureXref checks the cross-reference settings of
// triggered_send.silent_failure (sends seen by the proxy, ingest or ENS
// against SFMC's counters).
func (d *decoder) validateSilentFailureXref(r *SilentFailureRule) {
	const p = "rules.triggered_send.silent_failure."
	if r.XrefWindow < Duration(5*time.Minute) {
		d.errorf(nil, p+"xref_window", "must be at least 5m (triggered sends take minutes to show in Sent), got %s", r.XrefWindow)
	}
	if r.XrefMinAccepted < 1 {
		d.errorf(nil, p+"xref_min_accepted", "must be at least 1, got %d", r.XrefMinAccepted)
	}
	if r.XrefNotSentRatio <= 0 || r.XrefNotSentRatio > 1 {
		d.errorf(nil, p+"xref_not_sent_ratio", "must be above 0%% and at most 100%%")
	}
}
