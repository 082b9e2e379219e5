package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/app"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/digest"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/inputs"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/notify/channels"
	"github.com/sfmcwatch/sfmcwatch/internal/proxy"
	"github.com/sfmcwatch/sfmcwatch/internal/selfcheck"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
	"github.com/sfmcwatch/sfmcwatch/internal/web"
)

// serveGCPercent is serve's default GOGC. The daemon's live heap is a few
// MB and a poll cycle allocates briefly, so at Go's default 100 the heap
// sits about twice the live size; 50 keeps it 1.5 times. Measured with the
// example config on the default-size simulated tenant (2 runs each, same
// build): first-cycle peak RSS 63-66 MB instead of 70-71 MB, idle 44-45 MB
// instead of 45-46 MB, and 0.3-0.6 s more CPU over the first 3 minutes.
const serveGCPercent = 50

// setServeGC applies serveGCPercent unless GOGC (the value of the
// environment variable) is set, which the Go runtime has applied already.
func setServeGC(gogc string) {
	if gogc == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}

func serveCommand() command {
	return command{name: "serve", summary: "run the monitor: poll tenants, detect, open incidents, serve the API", run: runServe}
}

const serveHelp = `
Run sfmcwatch as a daemon: poll every configured tenant on schedule, store
what it observes, detect problems, open and resolve incidents, and serve
the JSON API (/api/v1/incidents), /healthz, /readyz and POST /-/reload on
server.listen.

SIGHUP or POST /-/reload re-reads the config file: a valid file replaces
the running config (new tenants and intervals apply without losing state),
an invalid one is reported and the running config kept. SIGINT/SIGTERM
shut down gracefully.

The Go garbage collector runs at GOGC=50 unless the GOGC environment
variable is set (a lower peak while a poll cycle allocates, for about twice
as many, still rare, collections).

Exit status: 0 after a clean shutdown, 1 when the store or the listener
cannot be opened, 2 for an invalid config or bad flags.`

func runServe(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("serve", "--config F [--listen ADDR] [--workers N]", serveHelp, s)
	path := fs.String("config", "sfmcwatch.yaml", "config file")
	listen := fs.String("listen", "", "override server.listen (host:port; port 0 picks a free one)")
	workers := fs.Int("workers", 0, "collection workers; 0 sizes the pool from the work (2 × Σ poll duration/interval + 2, at most 128)")
	rest, code, done := parseFlags(fs, args, s)
	if done {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintln(s.Err, "serve: unexpected arguments (use --config F)")
		return ExitUsage
	}
	if *workers < 0 {
		fmt.Fprintln(s.Err, "serve: --workers must be ≥ 0 (0: sized from the work)")
		return ExitUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		printConfigError(s, "serve", err)
		return ExitUsage
	}
	logger, err := newLogger(cfg.Logging, s.Err)
	if err != nil {
		fmt.Fprintf(s.Err, "serve: %s: logging: %v\n", *path, err)
		return ExitUsage
	}
	for _, w := range cfg.Warnings {
		logger.Warn("config warning", "problem", w.String())
	}
	setServeGC(os.Getenv("GOGC"))
	st, err := store.Open(ctx, store.Config{Driver: cfg.Storage.Driver, Path: cfg.Storage.Path, DSN: cfg.Storage.DSN.Reveal()}, logger)
	if err != nil {
		logger.Error("cannot open the store", "driver", cfg.Storage.Driver, "error", err)
		return ExitFindings
	}
	defer st.Close()

	holder := config.NewHolder(cfg, config.Loader{})
	// The engine, its event trigger and alerting (routes incident changes
	// to receivers through the durable outbox), wired as in every mode.
	core, err := app.New(app.Options{Store: st, Config: holder, Logger: logger,
		Alerts: &channels.Options{Stdout: s.Out, Stderr: s.Err},
		Engine: func(o *monitor.Options) { o.Workers = *workers }})
	if err != nil {
		logger.Error("cannot start", "error", err)
		return ExitFindings
	}
	addr := cfg.Server.Listen
	if *listen != "" {
		addr = *listen
	}
	if users, err := st.ListUsers(ctx); err == nil && len(users) == 0 {
		if loop := web.LoopbackOnly(addr); loop != addr {
			fmt.Fprintf(s.Err, "serve: no dashboard users exist, so the dashboard and API are open to anyone who can reach them: listening on %s instead of %s. Add a user with 'sfmcwatch user add --role admin NAME' to listen on %s.\n", loop, addr, addr)
			logger.Warn("no users: listening on loopback only", "configured", addr, "listen", loop)
			addr = loop
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Error("cannot listen", "addr", addr, "error", err)
		core.Close()
		return ExitFindings
	}
	// proxy: the recording proxy runs in-process when enabled; the events
	// it, ingest and the tail store trigger api.errors within seconds.
	var psrv *proxy.Server
	if cfg.Proxy.Enabled {
		psrv, err = proxy.NewServer(proxy.ServerOptions{Config: cfg, Store: st, Logger: logger,
			OnStored: core.EventsStored})
		if err == nil {
			_, err = psrv.Listen()
		}
		if err != nil {
			logger.Error("cannot start the recording proxy", "error", err)
			ln.Close()
			core.Close()
			return ExitFindings
		}
	}
	ins, err := inputs.New(inputs.Options{Store: st, Config: holder.Current, Logger: logger,
		OnStored: core.EventsStored, OnENS: core.Trigger.ENSArrived})
	if err != nil {
		logger.Error("cannot start the ingest inputs", "error", err)
		core.Close()
		ln.Close()
		return ExitFindings
	}
	extra := ins.Routes()
	extra["/selfcheck"] = selfcheck.Handler(logger)
	collectors := append(ins.Collectors(), core.Collectors()...)
	if psrv != nil {
		collectors = append(collectors, psrv.Collector())
	}
	srv := web.New(web.Options{Store: st, Config: holder, ConfigPath: *path, Logger: logger,
		Extra: extra, Collectors: collectors}).HTTPServer(addr)
	// The inputs outlive the HTTP server: requests still in flight at
	// shutdown get their commit.
	insCtx, insCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer insCancel()
	insDone := make(chan error, 1)
	go func() { insDone <- ins.Run(insCtx) }()
	scheme := "http"
	if cfg.Server.TLSCertFile != "" {
		scheme = "https"
	}
	fmt.Fprintf(s.Out, "sfmcwatch serving on %s://%s\n", scheme, ln.Addr())
	logger.Info("sfmcwatch serving", "addr", ln.Addr().String(), "tenants", len(cfg.Tenants), "store", st.Driver())

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go config.WatchSIGHUP(runCtx, holder, *path, logger)
	coreDone := make(chan error, 1)
	go func() { coreDone <- core.Run(runCtx) }()
	// The weekly digest on digest.schedule, once across replicas (store
	// cursor claim). Receivers need the notifier dispatcher (nil: files only).
	go (&digest.Scheduler{Store: st, Config: holder.Current, Logger: logger,
		Deliver: digestDeliverer(holder.Current, core.Dispatcher, logger)}).Run(runCtx)
	proxyDone := make(chan struct{})
	go func() {
		defer close(proxyDone)
		if psrv == nil {
			return
		}
		if err := psrv.Run(runCtx); err != nil {
			logger.Error("recording proxy failed", "error", err)
		}
	}()
	srvDone := make(chan error, 1)
	go func() {
		var err error
		if cfg.Server.TLSCertFile != "" {
			err = srv.ServeTLS(ln, cfg.Server.TLSCertFile, cfg.Server.TLSKeyFile)
		} else {
			err = srv.Serve(ln)
		}
		srvDone <- err
	}()

	exit := ExitOK
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err := <-srvDone:
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("HTTP server failed", "error", err)
			exit = ExitFindings
		}
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("HTTP shutdown", "error", err)
	}
	insCancel()
	<-insDone
	<-coreDone
	<-proxyDone
	logger.Info("sfmcwatch stopped")
	return exit
}

// newLogger builds the process logger from the logging config.
func newLogger(l config.Logging, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	switch strings.ToLower(l.Level) {
	case "", "info":
		level = slog.LevelInfo
	case "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, fmt.Errorf("unknown level %q", l.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(l.Format) {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("unknown format %q", l.Format)
}
