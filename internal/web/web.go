// Package web serves sfmcwatch over HTTP: the server-rendered dashboard
// (html/template, embedded assets, vendored htmx and uPlot, usable without
// JavaScript for the core views), the JSON API under /api/v1 with its
// OpenAPI document, Prometheus /metrics, health and readiness probes, the
// config reload endpoint, and authentication (local users with roles,
// session cookies, API tokens, login throttling, cross-origin protection).
//
// Every route is registered on one net/http ServeMux with method patterns
// (Server.Handler); handlers other components add through Options.Extra are
// mounted as they are.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/classify"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Options configure a Server.
type Options struct {
	// Store is read by the API and the dashboard, and keeps users,
	// sessions and API tokens (required).
	Store store.Store
	// Config and ConfigPath enable POST /-/reload (both required for it);
	// Config alone feeds the configuration page, tenant budgets and SLAs.
	Config     *config.Holder
	ConfigPath string
	// Logger (default: discard).
	Logger *slog.Logger
	// Clock (default time.Now).
	Clock func() time.Time
	// Registry receives the /metrics collectors (default: a new registry
	// with the Go and process collectors).
	Registry *prometheus.Registry
	// Collectors are registered on the /metrics registry next to the
	// store collector (e.g. the ingest queue depth).
	Collectors []prometheus.Collector
	// Extra handlers are mounted as-is on the mux, keyed by ServeMux
	// pattern ("POST /api/v1/events", "/hooks/ens", "GET /selfcheck").
	// They do their own authentication; the dashboard's session and token
	// checks and its cross-origin protection do not apply to them.
	Extra map[string]http.Handler
	// SecureCookies marks the session cookie Secure even on plain HTTP
	// requests (set it behind a TLS-terminating proxy). Requests served
	// over TLS always get Secure cookies.
	SecureCookies bool
	// SessionTTL is how long a login lasts (default 12h).
	SessionTTL time.Duration
	// MaxUpload caps the log accepted by the scan page and API (default
	// 32 MiB).
	MaxUpload int64
}

// Server holds the HTTP handlers.
type Server struct {
	opt    Options
	st     store.Store
	log    *slog.Logger
	now    func() time.Time
	reg    *prometheus.Registry
	cat    *catalog.Catalog
	cls    *classify.Classifier
	pages  *template.Template
	assets *assetSet
	limit  *throttle

	// users caches whether any user exists (open mode is allowed only on
	// loopback while none does).
	usersMu      sync.Mutex
	usersChecked time.Time
	usersExist   bool

	regErr error
}

// New returns a server. Collectors that cannot be registered (duplicate
// metrics) are logged and reported by /metrics as an error.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.MaxUpload <= 0 {
		o.MaxUpload = 32 << 20
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	cat := catalog.Default()
	s := &Server{
		opt: o, st: o.Store, log: o.Logger, now: o.Clock, reg: reg,
		cat: cat, cls: classify.New(cat),
		assets: mustLoadAssets(),
		limit:  newThrottle(),
	}
	pages, err := s.parsePages()
	if err != nil {
		panic(err) // embedded templates; TestPagesRender parses them
	}
	s.pages = pages
	cols := append([]prometheus.Collector{newStoreCollector(s)}, o.Collectors...)
	for _, c := range cols {
		if err := reg.Register(c); err != nil {
			s.log.Error("metrics: cannot register collector", "error", err)
			s.regErr = errors.Join(s.regErr, err)
		}
	}
	return s
}

// access says who may use a route.
type access int

const (
	// public routes need no login (probes, login page, assets).
	public access = iota
	// viewer routes need any logged-in user.
	viewer
	// admin routes change state.
	admin
)

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	cop := http.NewCrossOriginProtection()
	page := func(pattern string, a access, h http.HandlerFunc) {
		mux.Handle(pattern, s.secure(cop.Handler(s.authPage(a, h))))
	}
	api := func(pattern string, a access, h http.HandlerFunc) {
		mux.Handle(pattern, s.secure(cop.Handler(s.authAPI(a, h))))
	}

	// Probes and assets.
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /assets/", s.secure(http.HandlerFunc(s.serveAsset)))

	// Login.
	page("GET /login", public, s.loginPage)
	page("POST /login", public, s.loginSubmit)
	page("POST /logout", public, s.logout)

	// Dashboard pages.
	page("GET /{$}", viewer, s.overviewPage)
	page("GET /incidents", viewer, s.incidentsPage)
	page("GET /incidents/{id}", viewer, s.incidentPage)
	page("POST /incidents/{id}/acknowledge", admin, s.ackSubmit)
	page("POST /incidents/{id}/resolve", admin, s.resolveSubmit)
	page("POST /incidents/{id}/silence", admin, s.silenceSimilarSubmit)
	page("GET /errors", viewer, s.errorsPage)
	page("GET /errors/events", viewer, s.eventsPage)
	page("GET /objects", viewer, s.objectsPage)
	page("GET /decoder", viewer, s.decoderPage)
	page("POST /decoder", viewer, s.decoderPage)
	page("GET /scan", viewer, s.scanPage)
	page("POST /scan", viewer, s.scanSubmit)
	page("GET /silences", viewer, s.silencesPage)
	page("POST /silences", admin, s.silenceCreateSubmit)
	page("POST /silences/{id}/expire", admin, s.silenceExpireSubmit)
	page("GET /config", viewer, s.configPage)

	// JSON API.
	api("GET /api/v1/openapi.json", public, s.openAPI)
	api("GET /api/v1/me", viewer, s.apiMe)
	api("GET /api/v1/overview", viewer, s.apiOverview)
	api("GET /api/v1/incidents", viewer, s.listIncidents)
	api("GET /api/v1/incidents/{id}", viewer, s.getIncident)
	api("POST /api/v1/incidents/{id}/acknowledge", admin, s.apiAcknowledge)
	api("POST /api/v1/incidents/{id}/resolve", admin, s.apiResolve)
	api("GET /api/v1/events", viewer, s.apiEvents)
	api("GET /api/v1/events/aggregate", viewer, s.apiAggregate)
	api("GET /api/v1/objects", viewer, s.apiObjects)
	api("GET /api/v1/usage", viewer, s.apiUsage)
	api("GET /api/v1/silences", viewer, s.apiSilences)
	api("POST /api/v1/silences", admin, s.apiCreateSilence)
	api("POST /api/v1/silences/{id}/expire", admin, s.apiExpireSilence)
	api("GET /api/v1/explain", viewer, s.apiExplain)
	api("POST /api/v1/explain", viewer, s.apiExplain)
	api("POST /api/v1/scan", viewer, s.apiScan)
	api("GET /metrics", viewer, s.metrics)

	if s.opt.Config != nil && s.opt.ConfigPath != "" {
		api("POST /-/reload", admin, s.reload)
		mux.HandleFunc("/-/reload", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "use POST")
		})
	}
	for pattern, h := range s.opt.Extra {
		mux.Handle(pattern, h)
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	mux.Handle("/", s.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wantsHTML(r) {
			s.renderError(w, r, http.StatusNotFound, "Page not found", "There is no page at "+r.URL.Path+".")
			return
		}
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})))
	return mux
}

// secure sets the response headers every dashboard answer carries.
func (s *Server) secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		if r.TLS != nil || s.opt.SecureCookies {
			// Served over TLS (directly or behind a TLS proxy): browsers
			// must not fall back to plain HTTP for this host.
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		// The scan report is shown in a sandboxed srcdoc frame and uses
		// inline CSS, hence style-src 'unsafe-inline'; scripts come only
		// from /assets.
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
		h.ServeHTTP(w, r)
	})
}

// HTTPServer returns an *http.Server for addr with sensible timeouts.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// healthz answers 200 while the process serves: {"status":"ok"}, or
// {"status":"degraded","problems":[…]} while a notification channel fails
// (open notify.channel_failed incidents: alerts may not reach anyone).
// Degraded is still 200: restarting sfmcwatch does not fix a webhook.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	failing, err := s.st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Rule: "notify.channel_failed", Limit: 20})
	if err != nil || len(failing) == 0 {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	problems := make([]string, 0, len(failing))
	for _, in := range failing {
		problems = append(problems, fmt.Sprintf("notifications to %s are not delivered (incident #%d)", in.ResourceKey, in.ID))
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "degraded", "problems": problems})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.st.ListIncidents(ctx, store.IncidentFilter{Limit: 1}); err != nil {
		s.log.Warn("readiness: store unreachable", "error", err)
		writeError(w, http.StatusServiceUnavailable, "store unreachable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "store": s.st.Driver()})
}

// reloadResponse is the body of POST /-/reload.
type reloadResponse struct {
	Status   string   `json:"status"`
	File     string   `json:"file"`
	Tenants  int      `json:"tenants,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Error    string   `json:"error,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

func (s *Server) reload(w http.ResponseWriter, _ *http.Request) {
	path := s.opt.ConfigPath
	if err := s.opt.Config.Reload(path); err != nil {
		resp := reloadResponse{Status: "error", File: path, Error: "config reload failed; keeping the running config"}
		if ce, ok := errors.AsType[*config.Error](err); ok {
			for _, p := range ce.Problems {
				resp.Problems = append(resp.Problems, p.String())
			}
		} else {
			resp.Problems = []string{err.Error()}
		}
		s.log.Error("config reload failed; keeping the running config", "file", path, "trigger", "http", "problems", resp.Problems)
		writeJSON(w, http.StatusBadRequest, resp)
		return
	}
	cfg := s.opt.Config.Current()
	resp := reloadResponse{Status: "ok", File: path, Tenants: len(cfg.Tenants)}
	for _, p := range cfg.Warnings {
		resp.Warnings = append(resp.Warnings, p.String())
	}
	s.log.Info("config reloaded", "file", path, "trigger", "http", "tenants", resp.Tenants, "warnings", len(resp.Warnings))
	writeJSON(w, http.StatusOK, resp)
}

// config returns the running config, nil when none was given.
func (s *Server) config() *config.Config {
	if s.opt.Config == nil {
		return nil
	}
	return s.opt.Config.Current()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}

// badRequest is an input error whose message is safe to show.
type badRequest struct{ msg string }

func (e badRequest) Error() string { return e.msg }

func badf(format string, a ...any) error { return badRequest{fmt.Sprintf(format, a...)} }
