// Package web serves sfmcwatch over HTTP: the JSON API (api.go), health
// and readiness probes, and the config reload endpoint. The dashboard will
// grow here too; every route is registered on one net/http ServeMux with
// method patterns (routes in Server.Handler).
package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Options configure a Server.
type Options struct {
	// Store is read by the API (required).
	Store store.Store
	// Config and ConfigPath enable POST /-/reload (both required for it).
	Config     *config.Holder
	ConfigPath string
	// Logger (default: discard).
	Logger *slog.Logger
	// Clock (default time.Now).
	Clock func() time.Time
}

// Server holds the HTTP handlers.
type Server struct {
	opt Options
	st  store.Store
	log *slog.Logger
	now func() time.Time
}

// New returns a server.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return &Server{opt: o, st: o.Store, log: o.Logger, now: o.Clock}
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /api/v1/incidents", s.listIncidents)
	mux.HandleFunc("GET /api/v1/incidents/{id}", s.getIncident)
	if s.opt.Config != nil && s.opt.ConfigPath != "" {
		mux.Handle("POST /-/reload", http.NewCrossOriginProtection().Handler(http.HandlerFunc(s.reload)))
		mux.HandleFunc("/-/reload", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "use POST")
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// HTTPServer returns an *http.Server for addr with sensible timeouts.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
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
