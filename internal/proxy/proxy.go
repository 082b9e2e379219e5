// Package proxy is sfmcwatch's recording reverse proxy. Integrations point
// their SFMC auth, REST and SOAP base URLs at it; it forwards every request
// to the tenant unchanged (TLS on the upstream leg), streams both bodies
// through, and records each call as an event (source "proxy"): method,
// endpoint template, status, body-aware classification (2xx error bodies
// included), latency and the calling integration's name. Only the first
// bytes of a response that classification needs are read (capped); secrets
// and tokens are never stored, and request bodies are read only to find the
// SOAP action, a triggered send's key or a token request's client id.
//
// Recording never blocks a call: events go to a bounded in-memory queue
// (Recorder) drained to the store in batches; when the store is slow or
// down the queue fills and further events are dropped and counted.
//
// Routing needs no configuration per path: SFMC's auth paths (/v2/token,
// /v1/requestToken), the SOAP endpoint (/Service.asmx) and the REST paths
// are disjoint, so one listener serves all three base URLs. A listener
// serves HTTPS when it has a certificate (Server), else plain HTTP for
// loopback or private networks.
package proxy

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/classify"
	"github.com/sfmcwatch/sfmcwatch/internal/endpoint"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/record"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Source is the Event.Source of everything the proxy records.
const Source = "proxy"

// DefaultCapture is the default cap on response bytes read for
// classification (and on request bytes read for the SOAP action and keys).
const DefaultCapture = 16 << 10

// Sink receives recorded events; it must not block (Recorder never does).
type Sink interface {
	Record(rec store.EventRecord)
}

// Upstream is a tenant's three base URLs.
type Upstream struct {
	Auth, REST, SOAP string
}

// Options configure a Proxy. Zero values select the defaults noted.
type Options struct {
	// Tenant names the tenant stamped on events (required).
	Tenant string
	// BodyIdleTimeout bounds the wait for each read of a request body
	// (default 30 s); the whole body must arrive within 5 minutes.
	BodyIdleTimeout time.Duration
	// Upstream holds the tenant's base URLs (required; https in
	// production, http allowed for loopback tests and the simulator).
	Upstream Upstream
	// Integration names calls nothing else names (the listener's name).
	Integration string
	// IntegrationHeader is the request header naming the integration; it
	// is removed before forwarding. Empty disables it.
	IntegrationHeader string
	// ClientIntegrations maps installed package client ids to integration
	// names (read from token requests, then matched by token).
	ClientIntegrations map[string]string
	// Tokens is the token→integration memory; share one between the
	// listeners of a process (default: a new one).
	Tokens *TokenNames
	// Capture caps the bytes read for classification (default 16 KiB).
	Capture int
	// Sink receives events (required).
	Sink Sink
	// Transport forwards requests (default: NewTransport()).
	Transport http.RoundTripper
	// Clock stamps events (default time.Now). Latency is always measured
	// on the monotonic clock.
	Clock func() time.Time
	// Logger (default: discard).
	Logger *slog.Logger
	// Classifier (default: over catalog.Default()).
	Classifier *classify.Classifier
	// Stats, when set, receives request counts (share it with the
	// Recorder's metrics).
	Stats *Stats
	// RewriteInstanceURLs replaces rest_instance_url and soap_instance_url
	// in successful token responses by the proxy's own address, so
	// integrations whose SDK follows those URLs (most do) keep calling
	// through the proxy. Off by default: responses are then byte-identical.
	RewriteInstanceURLs bool
}

// Proxy is an http.Handler forwarding to one tenant and recording calls.
type Proxy struct {
	opt              Options
	auth, rest, soap *url.URL
	rp               *httputil.ReverseProxy
	cls              *classify.Classifier
	log              *slog.Logger
}

// NewTransport returns the default upstream transport: TLS 1.2+, HTTP/2
// when the upstream offers it, generous idle connection reuse, and no
// transparent compression (the integration's Accept-Encoding is forwarded
// as sent, so responses are byte-identical).
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

// New builds a proxy.
func New(o Options) (*Proxy, error) {
	if o.Tenant == "" || o.Sink == nil {
		return nil, errors.New("proxy: Tenant and Sink are required")
	}
	if o.Capture <= 0 {
		o.Capture = DefaultCapture
	}
	if o.Capture > classify.MaxBody {
		o.Capture = classify.MaxBody
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Classifier == nil {
		o.Classifier = classify.New(catalog.Default())
	}
	if o.Tokens == nil {
		o.Tokens = NewTokenNames(o.Clock)
	}
	if o.Transport == nil {
		o.Transport = NewTransport()
	}
	if o.Stats == nil {
		o.Stats = &Stats{}
	}
	p := &Proxy{opt: o, cls: o.Classifier, log: o.Logger}
	for _, u := range []struct {
		name, raw string
		dst       **url.URL
	}{{"auth", o.Upstream.Auth, &p.auth}, {"rest", o.Upstream.REST, &p.rest}, {"soap", o.Upstream.SOAP, &p.soap}} {
		parsed, err := url.Parse(u.raw)
		if err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" {
			return nil, fmt.Errorf("proxy: tenant %s: %s upstream %q: want an absolute http(s) URL", o.Tenant, u.name, redact.String(u.raw))
		}
		parsed.RawQuery, parsed.Fragment = "", ""
		parsed.Path = strings.TrimRight(parsed.Path, "/")
		if len(parsed.Path) >= len(endpoint.SOAP) && strings.EqualFold(parsed.Path[len(parsed.Path)-len(endpoint.SOAP):], endpoint.SOAP) {
			parsed.Path = parsed.Path[:len(parsed.Path)-len(endpoint.SOAP)]
		}
		parsed.RawPath = ""
		*u.dst = parsed
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      o.Transport,
		FlushInterval:  -1, // stream: flush every write
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
		ErrorLog:       slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	return p, nil
}

// route is which of the tenant's services a request goes to.
type route uint8

const (
	routeREST route = iota
	routeAuth
	routeSOAP
)

func routeOf(path string) route {
	switch {
	case strings.EqualFold(path, endpoint.SOAP):
		return routeSOAP
	case strings.HasPrefix(path, "/v2/token"), strings.EqualFold(path, "/v1/requestToken"):
		return routeAuth
	}
	return routeREST
}

// call is one proxied request's recording state.
type call struct {
	start       time.Time // event time (Options.Clock)
	mono        time.Time // latency (monotonic)
	route       route
	method      string
	url         string // target URL, masked
	path        string
	integration string // from the header or the listener
	bearerHash  tokenHash
	hasBearer   bool
	reqCapture  *capture // SOAP and token requests only
	resCapture  *capture
	status      int
	header      http.Header
	done        atomic.Bool
	// base is the proxy's own base URL as the integration called it.
	base string
}

type callKey struct{}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{start: p.opt.Clock(), mono: time.Now(), route: routeOf(r.URL.Path), method: r.Method, path: r.URL.Path}
	if p.opt.RewriteInstanceURLs {
		// https on a TLS listener (whatever a client's X-Forwarded-Proto
		// says), and behind a TLS-terminating load balancer too.
		scheme := "http"
		if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			scheme = "https"
		}
		c.base = scheme + "://" + r.Host + "/"
	}
	if h := p.opt.IntegrationHeader; h != "" {
		c.integration = cleanName(r.Header.Get(h))
	}
	if v := r.Header.Get("Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		c.bearerHash, c.hasBearer = hashToken(strings.TrimSpace(v[7:])), true
	}
	p.opt.Stats.Requests.Add(1)
	if r.Body != nil && r.Body != http.NoBody {
		// A body that trickles (or stalls) must not hold a connection and
		// an upstream request open forever: each read must make progress
		// within bodyIdleTimeout, and the whole body arrive within
		// bodyTimeout.
		idle := cmp.Or(p.opt.BodyIdleTimeout, bodyIdleTimeout)
		r.Body = &deadlineBody{rc: r.Body, ctl: http.NewResponseController(w), idle: idle, end: time.Now().Add(bodyTimeout)}
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callKey{}, c)))
}

// Request-body deadlines of the proxy.
const (
	bodyIdleTimeout = 30 * time.Second
	bodyTimeout     = 5 * time.Minute
)

// deadlineBody moves the connection's read deadline before every read:
// now + idle, but never past end.
type deadlineBody struct {
	rc   io.ReadCloser
	ctl  *http.ResponseController
	idle time.Duration
	end  time.Time
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	d := time.Now().Add(b.idle)
	if d.After(b.end) {
		d = b.end
	}
	_ = b.ctl.SetReadDeadline(d) // unsupported writers (tests) just keep no deadline
	n, err := b.rc.Read(p)
	if err == io.EOF {
		// The body is complete: lift the deadline, so the server's
		// background read while the upstream answers does not time out
		// and cancel the call. After a timeout it stays, so the server's
		// discard of the unread rest gives up too.
		_ = b.ctl.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.rc.Close() }

func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	c, _ := pr.In.Context().Value(callKey{}).(*call)
	target := p.rest
	switch c.route {
	case routeAuth:
		target = p.auth
	case routeSOAP:
		target = p.soap
	}
	pr.SetURL(target)
	// Rewrite mode drops forwarding headers; a direct call would have
	// carried them, so put back exactly what the integration sent.
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if v, ok := pr.In.Header[h]; ok {
			pr.Out.Header[h] = v
		}
	}
	if h := p.opt.IntegrationHeader; h != "" {
		pr.Out.Header.Del(h)
	}
	if c.base != "" && c.route == routeAuth {
		// The token response is rewritten: ask for it uncompressed.
		pr.Out.Header.Del("Accept-Encoding")
	}
	c.url = redact.String(pr.Out.URL.String())
	if pr.Out.Body != nil && (c.route == routeSOAP || c.route == routeAuth) {
		c.reqCapture = newCapture(p.opt.Capture)
		pr.Out.Body = &captureBody{rc: pr.Out.Body, cap: c.reqCapture}
	}
}

func (p *Proxy) modifyResponse(resp *http.Response) error {
	c, _ := resp.Request.Context().Value(callKey{}).(*call)
	if c == nil {
		return nil
	}
	if c.base != "" && c.route == routeAuth && resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Encoding") == "" {
		if err := rewriteInstanceURLs(resp, c.base); err != nil {
			return err
		}
	}
	c.status, c.header = resp.StatusCode, resp.Header.Clone()
	c.resCapture = newCapture(p.opt.Capture)
	resp.Body = &captureBody{rc: resp.Body, cap: c.resCapture, onClose: func() { p.finish(c, nil) }}
	return nil
}

func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	c, _ := r.Context().Value(callKey{}).(*call)
	if c != nil {
		p.finish(c, err)
	}
	p.opt.Stats.UpstreamErrors.Add(1)
	if r.Context().Err() != nil {
		return // the integration went away: nobody to answer
	}
	p.log.Warn("proxy: upstream unreachable", "method", r.Method, "path", redact.String(r.URL.Path), "error", redact.String(err.Error()))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = io.WriteString(w, "sfmcwatch proxy: the SFMC endpoint could not be reached\n")
}

// finish records a completed (or failed) call once.
func (p *Proxy) finish(c *call, upstreamErr error) {
	if !c.done.CompareAndSwap(false, true) {
		return
	}
	dur := time.Since(c.mono)
	ev := event.Event{TS: c.start.UTC(), Tenant: p.opt.Tenant, Source: Source, Method: c.method, URL: c.url,
		Status: c.status, Duration: dur}
	ev.Endpoint, ev.ObjectKey = endpoint.Template(c.path)
	var req soapRequest
	if c.reqCapture != nil {
		switch c.route {
		case routeSOAP:
			req = parseSOAPRequest(c.reqCapture.bytes())
			// Named like the monitor's own SOAP calls ("/Service.asmx
			// Retrieve TriggeredSendDefinition"), so each operation is its
			// own api.errors group.
			ev.Endpoint = endpoint.SOAP
			if req.Action != "" {
				ev.Endpoint += " " + req.Action
				if req.ObjectType != "" {
					ev.Endpoint += " " + req.ObjectType
				}
			}
			ev.ObjectKey = req.DefinitionKey
		case routeAuth:
			req.ClientID = tokenRequestClientID(c.reqCapture.bytes())
			// Token requests are counted per installed package
			// (credentials.contention) under a masked label.
			ev.ObjectKey = event.ClientRef(req.ClientID)
		}
	}
	ev.Integration = p.integration(c, req)
	if upstreamErr != nil || c.status == 0 {
		code := "transport"
		var ne net.Error
		if errors.Is(upstreamErr, context.DeadlineExceeded) || (errors.As(upstreamErr, &ne) && ne.Timeout()) {
			code = "timeout"
		} else if errors.Is(upstreamErr, context.Canceled) {
			code = "canceled" // the integration gave up before SFMC answered
		}
		p.opt.Sink.Record(record.From(ev, classify.Result{}, record.Options{Failed: catalog.Timeout, FailedCode: code}))
		return
	}
	body := c.resCapture.decoded(c.header.Get("Content-Encoding"))
	res := p.cls.Classify(classify.Input{URL: c.path, Method: c.method, Status: c.status, Header: c.header, Body: body, Now: c.start})
	// Failure bodies are kept (masked, capped) as evidence; successful
	// bodies are not, and token responses never are.
	ev.Body = body
	p.opt.Sink.Record(record.From(ev, res, record.Options{DropBody: c.route == routeAuth && c.status < 400}))
	if c.route == routeAuth && c.status/100 == 2 && req.ClientID != "" {
		if name := p.opt.ClientIntegrations[req.ClientID]; name != "" {
			if tok, ttl := tokenResponse(body); tok != "" {
				p.opt.Tokens.Remember(hashToken(tok), name, ttl)
			}
		}
	}
}

// integration names the caller: the header, then the client id map (for
// token calls) or the token memory, then the listener's name.
func (p *Proxy) integration(c *call, req soapRequest) string {
	if c.integration != "" {
		return c.integration
	}
	if req.ClientID != "" {
		if name := p.opt.ClientIntegrations[req.ClientID]; name != "" {
			return name
		}
	}
	if c.hasBearer {
		if name, ok := p.opt.Tokens.Lookup(c.bearerHash); ok {
			return name
		}
	}
	if req.Token != "" {
		if name, ok := p.opt.Tokens.Lookup(hashToken(req.Token)); ok {
			return name
		}
	}
	return p.opt.Integration
}

// cleanName keeps a header-supplied integration name printable and short.
func cleanName(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 128 {
		s = s[:128]
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return ""
		}
	}
	// A caller-supplied name is free text: no address or secret in it is
	// recorded.
	return redact.String(s)
}

// maxTokenResponse bounds the token response read for rewriting.
const maxTokenResponse = 64 << 10

// rewriteInstanceURLs points a token response's rest_instance_url and
// soap_instance_url at base, changing nothing else in the body.
func rewriteInstanceURLs(resp *http.Response, base string) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse+1))
	if err != nil {
		resp.Body.Close()
		return fmt.Errorf("proxy: reading the token response: %w", err)
	}
	if len(body) > maxTokenResponse {
		// Not a token response we know: pass it through untouched.
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return nil
	}
	resp.Body.Close()
	out := body
	var tok struct {
		REST string `json:"rest_instance_url"`
		SOAP string `json:"soap_instance_url"`
	}
	if json.Unmarshal(body, &tok) == nil {
		nb, _ := json.Marshal(base)
		for _, old := range []string{tok.REST, tok.SOAP} {
			if old == "" {
				continue
			}
			ob, _ := json.Marshal(old)
			out = bytes.ReplaceAll(out, ob, nb)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	return nil
}
