package cli

import (
	"context"
	"fmt"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/proxy"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func proxyCommand() command {
	return command{name: "proxy", summary: "run the recording proxy between your integrations and SFMC", run: runProxy}
}

const proxyHelp = `
Run the recording proxy on every address in the config's proxy.listeners.
Integrations change only their auth, REST and SOAP base URLs to the
proxy's (https://HOST:PORT for a listener with tls_cert_file and
tls_key_file, else http://HOST:PORT; the same for all three); each call is
forwarded to the listener's tenant unchanged over TLS and recorded as an
event (source "proxy") in the configured store: method, endpoint template,
status, classification (2xx error bodies included), latency, integration.

A plain-HTTP listener carries the integrations' client secrets and tokens
in clear: keep it on loopback (a warning is logged for any other address)
or give it a certificate. Certificates renewed on disk are picked up
within seconds, without a restart.

The integration is named by the proxy.integration_header request header,
else by the client id of its token request (proxy.integrations), else by
the listener's integration. Secrets, tokens and request bodies are never
stored. If the store is slow or down the proxy keeps forwarding and drops
(and counts) events beyond proxy.queue_size.

Run it inside "sfmcwatch serve" (proxy.enabled: true) to have api.errors
evaluated within seconds of a failing call; standalone, the serve process
sharing the store judges the events on its tenant health tick.

Exit status: 0 after a clean shutdown, 1 when the store or a listener
cannot be opened, 2 for an invalid config or bad flags.`

func runProxy(ctx context.Context, args []string, s IO) int {
	fs := newFlagSet("proxy", "--config F", proxyHelp, s)
	path := fs.String("config", "sfmcwatch.yaml", "config file")
	rest, code, done := parseFlags(fs, args, s)
	if done {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintln(s.Err, "proxy: unexpected arguments (use --config F)")
		return ExitUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		printConfigError(s, "proxy", err)
		return ExitUsage
	}
	if len(cfg.Proxy.Listeners) == 0 {
		fmt.Fprintf(s.Err, "proxy: %s: proxy.listeners is empty: nothing to listen on\n", *path)
		return ExitUsage
	}
	logger, err := newLogger(cfg.Logging, s.Err)
	if err != nil {
		fmt.Fprintf(s.Err, "proxy: %s: logging: %v\n", *path, err)
		return ExitUsage
	}
	st, err := store.Open(ctx, store.Config{Driver: cfg.Storage.Driver, Path: cfg.Storage.Path, DSN: cfg.Storage.DSN.Reveal()}, logger)
	if err != nil {
		logger.Error("cannot open the store", "driver", cfg.Storage.Driver, "error", err)
		return ExitFindings
	}
	defer st.Close()
	srv, err := proxy.NewServer(proxy.ServerOptions{Config: cfg, Store: st, Logger: logger})
	if err != nil {
		logger.Error("cannot build the proxy", "error", err)
		return ExitUsage
	}
	addrs, err := srv.Listen()
	if err != nil {
		logger.Error("cannot listen", "error", err)
		return ExitFindings
	}
	for i, a := range addrs {
		l := cfg.Proxy.Listeners[i]
		scheme := "http"
		if l.TLSCertFile != "" {
			scheme = "https"
		}
		fmt.Fprintf(s.Out, "sfmcwatch proxy on %s://%s → tenant %s (set the integration's auth, REST and SOAP base URLs to it)\n", scheme, a, l.Tenant)
	}
	if err := srv.Run(ctx); err != nil {
		logger.Error("proxy failed", "error", err)
		return ExitFindings
	}
	return ExitOK
}
