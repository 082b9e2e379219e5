package sfmc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/classify"
)

type baseKind int

const (
	baseAuth baseKind = iota
	baseREST
	baseSOAP
)

// request describes one logical call; do turns it into one or more HTTP
// attempts.
type request struct {
	method      string
	endpoint    string // template for metering and errors
	surface     catalog.Surface
	base        baseKind
	path        string // path + query relative to the base (REST/auth)
	body        func(token string) []byte
	contentType string
	soapAction  string
	priority    Priority
	// scope is the OAuth scope the endpoint needs (named on 403).
	scope string
	// feed marks reads whose 2xx body reports other calls' outcomes (not-sent
	// feed, delivery records, publish status): the classifier's verdict on
	// the body is recorded but does not fail this call.
	feed bool
	// refreshed is set once a 401 made the call fetch a new token.
	refreshed bool
	// header holds extra request headers (e.g. the journey history
	// download's x-direct-pipe).
	header map[string]string
}

type response struct {
	status int
	header http.Header
	body   []byte
	result classify.Result
	// soapStatus is OverallStatus for SOAP method responses.
	attempts int
}

// verdict is what one attempt's response means for the call.
type verdict struct {
	ok         bool
	kind       Kind
	code       string
	message    string
	retryAfter time.Duration
	retry      bool // transient: back off and try again
	refresh    bool // token rejected: refresh once and try again
	throttled  bool // slow the limiter down
}

// do runs r with budget check, token, limiter, per-attempt deadline,
// classification, metering, refresh-once on 401 and bounded retries.
func (c *Client) do(ctx context.Context, r *request) (*response, error) {
	if p, ok := ctx.Value(priorityKey{}).(Priority); ok && r.priority != Essential {
		r.priority = p
	}
	attempts, retries := 0, 0
	refreshed := false
	for {
		if err := ctx.Err(); err != nil {
			return nil, c.apiErr(r, nil, verdict{kind: ctxKind(err), message: "call abandoned"}, attempts, err)
		}
		if err := c.meter.Allow(c.tenant.Name, c.budget, r.priority, c.now()); err != nil {
			return nil, c.apiErr(r, nil, verdict{kind: KindBudget, message: "call refused before the tenant's daily cap"}, attempts, err)
		}
		var tok Token
		if r.base != baseAuth {
			var err error
			if tok, err = c.token(ctx); err != nil {
				return nil, err
			}
		}
		target, err := c.target(r, tok)
		if err != nil {
			return nil, err
		}
		var payload []byte
		if r.body != nil {
			payload = r.body(tok.access)
		}
		release, err := c.limiter.acquire(ctx, r.base != baseAuth)
		if err != nil {
			return nil, c.apiErr(r, nil, verdict{kind: ctxKind(err), message: "waiting for the rate limiter"}, attempts, err)
		}
		attempts++
		bumpCounter(ctx)
		resp, dur, herr := c.attempt(ctx, r, target, payload, tok)
		release()
		v := c.judge(r, resp, herr, ctx)
		c.record(r, target, resp, v, dur, attempts, herr)
		switch {
		case v.ok:
			c.limiter.success()
		case v.throttled:
			c.limiter.throttle()
		}
		if v.ok {
			resp.attempts = attempts
			return resp, nil
		}
		if v.refresh && r.base != baseAuth && !refreshed {
			refreshed = true
			r.refreshed = true
			c.tokens.invalidate(c.tokenKey(), tok.access)
			c.log.Info("sfmc token rejected; refreshing once", "endpoint", r.endpoint, "status", statusOf(resp))
			continue
		}
		if v.refresh {
			v.kind = KindAuth
		}
		if v.retry && retries < c.opt.MaxRetries && ctx.Err() == nil {
			wait := v.retryAfter
			if wait <= 0 {
				wait = c.backoff(retries)
			}
			if v.retryAfter > c.opt.MaxRetryAfter || !fitsDeadline(ctx, c.now(), wait) {
				c.log.Warn("sfmc call throttled beyond what this call can wait", "endpoint", r.endpoint,
					"status", statusOf(resp), "retry_after", v.retryAfter)
				return nil, c.apiErr(r, resp, v, attempts, herr)
			}
			c.log.Warn("sfmc call failed; retrying", "endpoint", r.endpoint, "status", statusOf(resp),
				"kind", string(v.kind), "code", v.code, "wait", wait, "attempt", attempts)
			if err := c.opt.Sleep(ctx, wait); err != nil {
				return nil, c.apiErr(r, resp, v, attempts, err)
			}
			retries++
			continue
		}
		return nil, c.apiErr(r, resp, v, attempts, herr)
	}
}

func statusOf(r *response) int {
	if r == nil {
		return 0
	}
	return r.status
}

func ctxKind(err error) Kind {
	if errors.Is(err, context.DeadlineExceeded) {
		return KindTimeout
	}
	return KindTransport
}

func fitsDeadline(ctx context.Context, now time.Time, wait time.Duration) bool {
	dl, ok := ctx.Deadline()
	if !ok {
		return true
	}
	_ = now
	return time.Until(dl) > wait
}

func (c *Client) target(r *request, tok Token) (string, error) {
	switch r.base {
	case baseAuth:
		return c.authURL + r.path, nil
	case baseREST:
		b := c.restBase(tok)
		if b == "" {
			return "", &APIError{Tenant: c.tenant.Name, Method: r.method, Endpoint: r.endpoint, Kind: KindDecode,
				Message: "no REST base URL (token response had no rest_instance_url and none is configured)"}
		}
		return b + r.path, nil
	default:
		u := c.soapURL(tok)
		if u == "" {
			return "", &APIError{Tenant: c.tenant.Name, Method: r.method, Endpoint: r.endpoint, Kind: KindDecode,
				Message: "no SOAP URL (token response had no soap_instance_url and none is configured)"}
		}
		return u, nil
	}
}

// attempt sends one HTTP request under its own deadline and reads a capped body.
func (c *Client) attempt(ctx context.Context, r *request, target string, payload []byte, tok Token) (*response, time.Duration, error) {
	actx, cancel := context.WithTimeout(ctx, c.opt.CallTimeout)
	defer cancel()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, r.method, target, rd)
	if err != nil {
		return nil, 0, errors.New(c.scrub(err.Error()))
	}
	req.Header.Set("Accept", "application/json")
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	switch r.base {
	case baseREST:
		req.Header.Set("Authorization", "Bearer "+tok.access)
	case baseSOAP:
		req.Header.Set("Accept", "text/xml")
		req.Header.Set("SOAPAction", r.soapAction)
	}
	start := time.Now()
	hr, err := c.hc.Do(req)
	if err != nil {
		return nil, time.Since(start), c.scrubErr(err)
	}
	defer hr.Body.Close()
	body, err := io.ReadAll(io.LimitReader(hr.Body, c.opt.MaxBody+1))
	dur := time.Since(start)
	resp := &response{status: hr.StatusCode, header: hr.Header, body: body}
	if err != nil {
		return resp, dur, c.scrubErr(fmt.Errorf("read body: %w", err))
	}
	if int64(len(body)) > c.opt.MaxBody {
		resp.body = body[:c.opt.MaxBody]
		return resp, dur, errBodyTooLarge
	}
	return resp, dur, nil
}

var errBodyTooLarge = errors.New("response body exceeds the size cap")

// restError is the classic REST error body plus the OAuth shape.
type restError struct {
	Message          string          `json:"message"`
	ErrorCode        json.RawMessage `json:"errorcode"`
	RetryAfter       json.RawMessage `json:"retryAfter"`
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
	ResultMessages   []struct {
		ResultClass string `json:"resultClass"`
		ResultCode  string `json:"resultCode"`
		Message     string `json:"message"`
	} `json:"resultMessages"`
	HasErrors bool `json:"hasErrors"`
}

func rawCode(b json.RawMessage) string {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "null" {
		return ""
	}
	return s
}

// judge decides what a response (or transport error) means.
func (c *Client) judge(r *request, resp *response, herr error, ctx context.Context) verdict {
	if resp == nil || (herr != nil && !errors.Is(herr, errBodyTooLarge)) {
		var v verdict
		switch {
		case ctx.Err() != nil:
			v = verdict{kind: ctxKind(ctx.Err()), message: "call abandoned"}
		case isTimeout(herr):
			v = verdict{kind: KindTimeout, message: "no response before the per-call deadline", retry: true}
		default:
			v = verdict{kind: KindTransport, message: "connection failed", retry: true}
		}
		if resp != nil {
			resp.result = c.classify(r, resp)
		}
		return v
	}
	resp.result = c.classify(r, resp)
	if errors.Is(herr, errBodyTooLarge) {
		return verdict{kind: KindDecode, message: fmt.Sprintf("response body exceeds %d bytes", c.opt.MaxBody)}
	}
	ra := retryAfter(resp.header, c.now())
	if resp.result.RetryAfter > ra {
		ra = resp.result.RetryAfter
	}
	if r.surface == catalog.SOAP {
		return c.judgeSOAP(r, resp, ra)
	}
	var re restError
	_ = json.Unmarshal(resp.body, &re)
	code := rawCode(re.ErrorCode)
	msg := re.Message
	if re.Error != "" {
		code, msg = re.Error, re.ErrorDescription
	}
	if ra == 0 {
		if n, err := strconv.Atoi(rawCode(re.RetryAfter)); err == nil && n > 0 {
			ra = time.Duration(n) * time.Second
		}
	}
	v := verdict{code: code, message: c.scrub(shorten(msg, 300)), retryAfter: ra}
	st := resp.status
	switch {
	case st >= 200 && st < 300:
		if code != "" && code != "0" {
			v.kind = KindBody
			return v
		}
		for _, m := range re.ResultMessages {
			if strings.EqualFold(m.ResultClass, "Error") {
				v.kind, v.code, v.message = KindBody, m.ResultCode, c.scrub(shorten(m.Message, 300))
				return v
			}
		}
		if re.HasErrors {
			v.kind = KindBody
			return v
		}
		if !r.feed && resp.result.IsError && resp.result.Primary().Family.IsError() {
			p := resp.result.Primary()
			v.kind, v.code, v.message = KindBody, p.Code, c.scrub(shorten(p.Message, 300))
			return v
		}
		v.ok = true
	case st == http.StatusUnauthorized:
		v.kind = KindAuth
		v.refresh = r.base != baseAuth
	case st == http.StatusForbidden:
		v.kind = KindForbidden
	case st == http.StatusTooManyRequests:
		if code == "50200" {
			v.kind = KindBlocked
			v.throttled = true
			return v
		}
		v.kind, v.retry, v.throttled = KindRateLimited, true, true
	case st == http.StatusNotFound:
		v.kind = KindNotFound
	case st == http.StatusRequestTimeout || st == http.StatusGatewayTimeout:
		v.kind, v.retry = KindTimeout, true
	case st == http.StatusServiceUnavailable:
		v.kind, v.retry, v.throttled = KindServer, true, ra > 0 || code == "50300"
	case st >= 500:
		v.kind, v.retry = KindServer, true
	default:
		v.kind = KindClient
	}
	return v
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (c *Client) classify(r *request, resp *response) classify.Result {
	u := r.endpoint
	res := c.cls.Classify(classify.Input{Surface: r.surface, URL: u, Method: r.method, Status: resp.status, Header: resp.header,
		Body: resp.body, Now: c.now()})
	for i := range res.Classifications {
		res.Classifications[i].Message = c.scrub(res.Classifications[i].Message)
	}
	for i := range res.RecordStates {
		res.RecordStates[i].Message = c.scrub(res.RecordStates[i].Message)
	}
	return res
}

// apiErr builds the error for a failed call.
func (c *Client) apiErr(r *request, resp *response, v verdict, attempts int, cause error) error {
	e := &APIError{Tenant: c.tenant.Name, Method: r.method, Endpoint: r.endpoint, Kind: v.kind, Code: v.code,
		Message: v.message, RetryAfter: v.retryAfter, Attempts: attempts}
	if resp != nil {
		e.Status = resp.status
		e.Result = resp.result
	}
	if cause != nil {
		if errors.Is(cause, ErrBudgetExhausted) {
			e.Err = cause
		} else {
			e.Err = c.scrubErr(cause)
		}
	}
	if e.Kind == KindForbidden {
		e.Scope = r.scope
		if t, ok := c.tokens.get(c.tokenKey(), c.now()); ok && r.scope != "" && len(t.Scopes) > 0 && !t.HasScope(r.scope) {
			e.Message = strings.TrimSpace(e.Message + " (token was not granted " + r.scope + ")")
		}
	}
	return e
}

// getJSON performs a REST GET and decodes the JSON body into out.
func (c *Client) getJSON(ctx context.Context, endpoint, scope, path string, q url.Values, out any) (*response, error) {
	return c.getJSONOpt(ctx, endpoint, scope, path, q, out, false)
}

// getFeed is getJSON for feeds of other calls' outcomes (see request.feed).
func (c *Client) getFeed(ctx context.Context, endpoint, scope, path string, q url.Values, out any) (*response, error) {
	return c.getJSONOpt(ctx, endpoint, scope, path, q, out, true)
}

func (c *Client) getJSONOpt(ctx context.Context, endpoint, scope, path string, q url.Values, out any, feed bool) (*response, error) {
	if len(q) > 0 {
		path += "?" + encodeQuery(q)
	}
	resp, err := c.do(ctx, &request{method: http.MethodGet, endpoint: endpoint, surface: catalog.REST, base: baseREST,
		path: path, scope: scope, feed: feed})
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return resp, &APIError{Tenant: c.tenant.Name, Method: http.MethodGet, Endpoint: endpoint, Status: resp.status,
				Kind: KindDecode, Message: "unexpected JSON shape", Result: resp.result, Attempts: resp.attempts,
				Err: errors.New(c.scrub(err.Error()))}
		}
	}
	return resp, nil
}

// encodeQuery is url.Values.Encode but leaves '$' readable ($page, $pageSize).
func encodeQuery(q url.Values) string {
	return strings.ReplaceAll(q.Encode(), "%24", "$")
}

// pathEscape escapes one path segment (keys may contain spaces or slashes).
func pathEscape(s string) string { return url.PathEscape(s) }
