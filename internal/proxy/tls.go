package proxy

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// DefaultCertCheckInterval is how often, at most, a TLS listener looks at
// its certificate files for a change.
const DefaultCertCheckInterval = 5 * time.Second

// certReloader serves a listener's certificate pair from disk and re-reads
// it when either file changes (a cert-manager or ACME renewal), looking at
// the files at most once per interval, on a handshake. A pair that fails
// to load keeps the previous one in service and is warned about once per
// change of the files.
type certReloader struct {
	certFile, keyFile string
	interval          time.Duration
	log               *slog.Logger

	mu     sync.Mutex
	cert   *tls.Certificate
	loaded pairStamp // the files as they were when cert was read
	failed pairStamp // the files as they were when a reload last failed
	// hasFailed: failed is set (the files changed since the pair in
	// service was read, and did not load).
	hasFailed bool
	checked   time.Time // monotonic
}

// fileStamp identifies one version of a file.
type fileStamp struct {
	mod  time.Time
	size int64
}

type pairStamp struct{ cert, key fileStamp }

func newCertReloader(certFile, keyFile string, interval time.Duration, log *slog.Logger) (*certReloader, error) {
	if interval <= 0 {
		interval = DefaultCertCheckInterval
	}
	r := &certReloader{certFile: certFile, keyFile: keyFile, interval: interval, log: log}
	st, err := r.stat()
	if err != nil {
		return nil, err
	}
	cert, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cert, r.loaded, r.checked = cert, st, time.Now()
	if leaf := cert.Leaf; leaf != nil && time.Now().After(leaf.NotAfter) {
		log.Warn("proxy TLS certificate has expired: clients will refuse it", "cert_file", certFile,
			"not_after", leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	return r, nil
}

// stat reads the files' modification times and sizes (os.Stat follows the
// symlinks Kubernetes secret volumes swap on update).
func (r *certReloader) stat() (pairStamp, error) {
	var ps pairStamp
	for _, f := range []struct {
		name string
		dst  *fileStamp
	}{{r.certFile, &ps.cert}, {r.keyFile, &ps.key}} {
		fi, err := os.Stat(f.name)
		if err != nil {
			return ps, fmt.Errorf("proxy: TLS: %w", err)
		}
		*f.dst = fileStamp{mod: fi.ModTime(), size: fi.Size()}
	}
	return ps, nil
}

// load reads and parses the pair. Errors name the files, never their
// contents.
func (r *certReloader) load() (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(r.certFile)
	if err != nil {
		return nil, fmt.Errorf("proxy: TLS certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(r.keyFile)
	if err != nil {
		return nil, fmt.Errorf("proxy: TLS private key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("proxy: TLS key pair %s, %s: %w", r.certFile, r.keyFile, err)
	}
	return &cert, nil
}

// getCertificate is the listener's tls.Config.GetCertificate.
func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) >= r.interval {
		r.checked = now
		r.reload()
	}
	return r.cert, nil
}

// reload re-reads the pair if the files changed since it was last read
// or last failed to load. Called with mu held.
func (r *certReloader) reload() {
	st, err := r.stat()
	if err == nil && st == r.loaded {
		return
	}
	if r.hasFailed && st == r.failed {
		return // the same broken files: warned already
	}
	var cert *tls.Certificate
	if err == nil {
		cert, err = r.load()
	}
	if err != nil {
		r.failed, r.hasFailed = st, true
		r.log.Warn("proxy: TLS certificate reload failed; still serving the previous certificate",
			"cert_file", r.certFile, "key_file", r.keyFile, "error", err)
		return
	}
	r.cert, r.loaded, r.hasFailed = cert, st, false
	attrs := []any{"cert_file", r.certFile}
	if cert.Leaf != nil {
		attrs = append(attrs, "not_after", cert.Leaf.NotAfter.UTC())
	}
	r.log.Info("proxy: TLS certificate reloaded", attrs...)
}

// isLoopback reports whether a bound address only accepts connections
// from this host.
func isLoopback(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case nil:
		return false
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
