package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
}

// Server runs every configured proxy listener and their shared recorder.
type Server struct {
	o        ServerOptions
	rec      *Recorder
	stats    *Stats
	handlers []listenerHandler

	mu  sync.Mutex
	lns []net.Listener
}

type listenerHandler struct {
	cfg config.ProxyListener
	h   http.Handler
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
		s.handlers = append(s.handlers, listenerHandler{cfg: l, h: p})
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
			ErrorLog: slog.NewLogLogger(s.o.Logger.Handler(), slog.LevelWarn)}
		srvs = append(srvs, srv)
		ln := s.lns[i]
		go func() { errc <- srv.Serve(ln) }()
		s.o.Logger.Info("recording proxy listening", "addr", ln.Addr().String(), "tenant", h.cfg.Tenant, "integration", h.cfg.Integration)
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
