package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

// Cause is why the audit could not read something, in the terms an
// operator acts on.
type Cause string

// Causes of a read the audit could not make.
const (
	// CauseUnreachable: no connection to the host (DNS, refused, reset).
	CauseUnreachable Cause = "unreachable"
	// CauseTimeout: the host did not answer in time.
	CauseTimeout Cause = "timeout"
	// CauseAuth: credentials or token rejected (401, OAuth invalid_client).
	CauseAuth Cause = "auth"
	// CauseScope: the token lacks a scope or permission (403).
	CauseScope Cause = "scope"
	// CauseNotFound: the endpoint (or object) does not exist (404).
	CauseNotFound Cause = "not_found"
	// CauseBudget: the tenant's daily API budget refused the call, or the
	// audit's own per-check cap left it out.
	CauseBudget Cause = "budget"
	// CauseRateLimit: SFMC throttled the calls (429, SOAP code 17).
	CauseRateLimit Cause = "rate_limit"
	// CauseBlocked: SFMC blocked the tenant's API traffic (429 50200).
	CauseBlocked Cause = "blocked"
	// CauseServer: SFMC answered 5xx.
	CauseServer Cause = "server"
	// CauseError: any other failure (bad request, unreadable body…).
	CauseError Cause = "error"
)

// Describe is the cause in words.
func (c Cause) Describe() string {
	switch c {
	case CauseUnreachable:
		return "host unreachable"
	case CauseTimeout:
		return "no answer in time"
	case CauseAuth:
		return "authentication rejected (401)"
	case CauseScope:
		return "scope or permission denied (403)"
	case CauseNotFound:
		return "endpoint not found (404)"
	case CauseBudget:
		return "API call budget"
	case CauseRateLimit:
		return "rate limited (429)"
	case CauseBlocked:
		return "tenant blocked by SFMC (429 50200)"
	case CauseServer:
		return "SFMC server error (5xx)"
	}
	return "request failed"
}

// Check statuses.
const (
	CheckRead     = "checked"     // read in full
	CheckPartial  = "partial"     // read, but some of its calls failed
	CheckNotRead  = "not_checked" // could not be read
	CheckDisabled = "disabled"    // monitor disabled in the config
)

// Check says what the audit read for one monitor and what it could not.
type Check struct {
	// Monitor is the resource type (automation, journey…).
	Monitor string `json:"monitor"`
	// Status is checked, partial, not_checked or disabled.
	Status string `json:"status"`
	// Objects is how many objects were read.
	Objects int `json:"objects"`
	// Cause is why a not_checked monitor could not be read; Endpoint the
	// call that failed and Detail the error.
	Cause    Cause  `json:"cause,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	Detail   string `json:"detail,omitempty"`
	// Failures are the calls that failed while reading, per endpoint and
	// cause (a partial read: e.g. the notification settings returned 404).
	Failures []EndpointFailure `json:"failures,omitempty"`
}

// EndpointFailure counts the requests to one endpoint that failed with
// one cause (retries of the same request count once).
type EndpointFailure struct {
	Endpoint   string `json:"endpoint"` // "GET /legacy/v1/beta/automations/notifications/{id}"
	Cause      Cause  `json:"cause"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Requests   int    `json:"requests"`
}

// String is the failure in words.
func (f EndpointFailure) String() string {
	s := fmt.Sprintf("%s: %s", f.Endpoint, f.Cause.Describe())
	if f.HTTPStatus != 0 && !strings.Contains(s, fmt.Sprintf("(%d)", f.HTTPStatus)) {
		s += fmt.Sprintf(" (HTTP %d)", f.HTTPStatus)
	}
	return s + fmt.Sprintf(" × %d", f.Requests)
}

// causeOfKind maps the SFMC client's verdict to a cause.
func causeOfKind(k sfmc.Kind, status int) Cause {
	switch k {
	case sfmc.KindTransport:
		return CauseUnreachable
	case sfmc.KindTimeout:
		if status == 0 {
			return CauseTimeout
		}
		return CauseServer // 504/408 from the host: it is reachable
	case sfmc.KindAuth:
		return CauseAuth
	case sfmc.KindForbidden:
		return CauseScope
	case sfmc.KindNotFound:
		return CauseNotFound
	case sfmc.KindBudget:
		return CauseBudget
	case sfmc.KindRateLimited:
		return CauseRateLimit
	case sfmc.KindBlocked:
		return CauseBlocked
	case sfmc.KindServer:
		return CauseServer
	}
	return CauseError
}

// causeOf classifies a collection error.
func causeOf(err error) (Cause, string) {
	if sfmc.IsBudget(err) {
		ep := ""
		if ae, ok := errors.AsType[*sfmc.APIError](err); ok {
			ep = ae.Method + " " + ae.Endpoint
		}
		return CauseBudget, strings.TrimSpace(ep)
	}
	if ae, ok := errors.AsType[*sfmc.APIError](err); ok {
		return causeOfKind(ae.Kind, ae.Status), strings.TrimSpace(ae.Method + " " + ae.Endpoint)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return CauseTimeout, ""
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return CauseTimeout, ""
		}
		return CauseUnreachable, ""
	}
	return CauseError, ""
}

// callLog keeps the outcome of every request the audit made (the last
// attempt of each URL), so that failures the collectors tolerate (a
// notification read that answered 404) are still reported with their cause.
type callLog struct {
	mu   sync.Mutex
	seq  int
	last map[string]map[string]outcome // "METHOD endpoint" → URL → last outcome
}

type outcome struct {
	cause  Cause // "" on success
	status int
	seq    int
}

func newCallLog() *callLog { return &callLog{last: map[string]map[string]outcome{}} }

func (l *callLog) observe(ev sfmc.CallEvent) {
	ep := ev.Event.Method + " " + ev.Event.Endpoint
	o := outcome{status: ev.Event.Status}
	if ev.Kind != "" {
		o.cause = causeOfKind(ev.Kind, ev.Event.Status)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	o.seq = l.seq
	m := l.last[ep]
	if m == nil {
		m = map[string]outcome{}
		l.last[ep] = m
	}
	m[ev.Event.URL] = o
}

// mark returns the current position in the log.
func (l *callLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq
}

// failuresSince returns the requests made after mark m whose last attempt
// failed (a request retried and then successful is not counted), grouped
// by endpoint, cause and status.
func (l *callLog) failuresSince(m int) []EndpointFailure {
	type key struct {
		ep     string
		cause  Cause
		status int
	}
	counts := map[key]int{}
	l.mu.Lock()
	for ep, urls := range l.last {
		for _, o := range urls {
			if o.cause != "" && o.seq > m {
				counts[key{ep, o.cause, o.status}]++
			}
		}
	}
	l.mu.Unlock()
	out := make([]EndpointFailure, 0, len(counts))
	for k, n := range counts {
		out = append(out, EndpointFailure{Endpoint: k.ep, Cause: k.cause, HTTPStatus: k.status, Requests: n})
	}
	slices.SortFunc(out, func(a, b EndpointFailure) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Endpoint, b.Endpoint), cmp.Compare(a.Cause, b.Cause))
	})
	return out
}

// failuresOf returns the failures of one endpoint among fs.
func failuresOf(fs []EndpointFailure, endpoint string) []EndpointFailure {
	var out []EndpointFailure
	for _, f := range fs {
		if f.Endpoint == endpoint {
			out = append(out, f)
		}
	}
	return out
}
