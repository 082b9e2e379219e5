package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
)

// ServerOptions configure a Server built from the config's proxy block.
type ServerOptions struct {
	// Config is the loaded config (its proxy block and tenants; required).
	Config *config.Config
	// Store receives the events (required).
	Store EventWriter
	// Logger (default: discard).
	Logger *slog.Logger
	// OnStored is called with the tenants of every stored batch (wire it to
	// monitor.Trigger.EventsArrived for detection within seconds).
	OnStored func(tenants []string)
	// Transport forwards to SFMC (default NewTransport()).
	Transport http.RoundTripper
	// Clock stamps events (default time.Now).
	Clock func() time.Time
	// CertCheckInterval is how often, at most, a TLS listener looks for a
	// renewed certificate on disk (default DefaultCertCheckInterval).
	CertCheckInterval time.Duration
}

// Server runs every configured proxy listener and their shared recorder.
// A listener with tls_cert_file and tls_key_file serves HTTPS (TLS 1.2+),
// picking up a renewed certificate from disk without a restart; a plain
// one on a non-loopback address is warned about at startup, since the
// integrations' secrets and tokens then cross the network in clear.
type Server struct {
	o        ServerOptions
	rec      *Recorder
	stats    *Stats
	handlers []listenerHandler

	mu  sync.Mutex
	lns []net.Listener
}

type listenerHandler struct {
	cfg   config.ProxyListener
	h     http.Handler
	certs *certReloader // nil: plain HTTP
}

// NewServer builds the proxies of cfg.Proxy.Listeners.
func NewServer(o ServerOptions) (*Server, error) {
	if o.Config == nil || o.Store == nil {
		return nil, errors.New("proxy: Config and Store are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Transport == nil {
		o.Transport = NewTransport()
	}
	pc := o.Config.Proxy
	if len(pc.Listeners) == 0 {
		return nil, errors.New("proxy: no listeners configured (proxy.listeners)")
	}
	stats := &Stats{}
	rec, err := NewRecorder(RecorderOptions{Store: o.Store, QueueSize: pc.QueueSize, Stats: stats, Logger: o.Logger, OnStored: o.OnStored})
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, rec: rec, stats: stats}
	tokens := NewTokenNames(o.Clock)
	for i, l := range pc.Listeners {
		var tenant *config.Tenant
		for j := range o.Config.Tenants {
			if o.Config.Tenants[j].Name == l.Tenant {
				tenant = &o.Config.Tenants[j]
			}
		}
		if tenant == nil {
			return nil, fmt.Errorf("proxy: listeners[%d]: no tenant named %q", i, l.Tenant)
		}
		ep := tenant.Endpoints()
		p, err := New(Options{Tenant: tenant.Name, Upstream: Upstream{Auth: ep.Auth, REST: ep.REST, SOAP: ep.SOAP},
			Integration: l.Integration, IntegrationHeader: pc.IntegrationHeader, ClientIntegrations: pc.Integrations,
			Tokens: tokens, Capture: int(pc.BodyCapture), Sink: rec, RewriteInstanceURLs: pc.RewriteInstanceURLs, Transport: o.Transport, Clock: o.Clock,
			Logger: o.Logger.With("proxy", l.Listen, "tenant", tenant.Name), Stats: stats})
		if err != nil {
			return nil, err
		}
		lh := listenerHandler{cfg: l, h: p}
		if l.TLSCertFile != "" || l.TLSKeyFile != "" {
			lh.certs, err = newCertReloader(l.TLSCertFile, l.TLSKeyFile, o.CertCheckInterval, o.Logger.With("proxy", l.Listen))
			if err != nil {
				return nil, fmt.Errorf("proxy: listeners[%d] (%s): %w", i, l.Listen, err)
			}
		}
		s.handlers = append(s.handlers, lh)
	}
	return s, nil
}

// Recorder is the server's event queue.
func (s *Server) Recorder() *Recorder { return s.rec }

// Collector exposes the proxy metrics (register it on /metrics).
func (s *Server) Collector() prometheus.Collector { return Collector(s.stats, s.rec.Len) }

// Listen binds every listener (port 0 picks a free one) and returns the
// bound addresses, in config order.
func (s *Server) Listen() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var addrs []string
	for _, h := range s.handlers {
		ln, err := net.Listen("tcp", h.cfg.Listen)
		if err != nil {
			for _, l := range s.lns {
				l.Close()
			}
			s.lns = nil
			return nil, fmt.Errorf("proxy: listen %s: %w", h.cfg.Listen, err)
		}
		s.lns = append(s.lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// Run serves until ctx ends (calling Listen first if needed), then shuts
// the listeners down gracefully and stores what is queued.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	bound := len(s.lns) > 0
	s.mu.Unlock()
	if !bound {
		if _, err := s.Listen(); err != nil {
			return err
		}
	}
	recCtx, stopRec := context.WithCancel(context.WithoutCancel(ctx))
	recDone := make(chan struct{})
	go func() { _ = s.rec.Run(recCtx); close(recDone) }()
	errc := make(chan error, len(s.handlers))
	var srvs []*http.Server
	for i, h := range s.handlers {
		srv := &http.Server{Handler: h.h, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
			ErrorLog: serverErrorLog(s.o.Logger)}
		srvs = append(srvs, srv)
		ln := s.lns[i]
		scheme := "http"
		if h.certs != nil {
			scheme = "https"
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: h.certs.getCertificate}
			go func() { errc <- srv.ServeTLS(ln, "", "") }()
		} else {
			go func() { errc <- srv.Serve(ln) }()
		}
		s.o.Logger.Info("recording proxy listening", "addr", ln.Addr().String(), "scheme", scheme, "tenant", h.cfg.Tenant, "integration", h.cfg.Integration)
		if h.certs == nil && !isLoopback(ln.Addr()) {
			s.o.Logger.Warn("recording proxy listener is plain HTTP on a non-loopback address: the integrations' client secrets and bearer tokens cross the network unencrypted; set tls_cert_file and tls_key_file on it, or listen on loopback",
				"addr", ln.Addr().String(), "key", fmt.Sprintf("proxy.listeners[%d]", i))
		}
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, srv := range srvs {
		_ = srv.Shutdown(sctx)
	}
	stopRec()
	<-recDone
	return err
}

// serverErrorLog is the listeners' http.Server error log: warnings, except
// failed TLS handshakes (scanners, health probes speaking plain HTTP),
// which are routine on a TLS port and go to debug.
func serverErrorLog(l *slog.Logger) *log.Logger {
	return log.New(errorLogWriter{l}, "", 0)
}

type errorLogWriter struct{ l *slog.Logger }

func (w errorLogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		level = slog.LevelDebug
	}
	w.l.Log(context.Background(), level, msg)
	return len(p), nil
}
