package sfmc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/classify"
)

// Kind says what went wrong with a call, in the terms an operator acts on.
type Kind string

// Kinds of failure.
const (
	// KindAuth: credentials or token rejected (after one refresh).
	KindAuth Kind = "auth"
	// KindForbidden: the token is valid but lacks a scope or permission
	// (REST 403 20000-20002, SOAP apifault 11).
	KindForbidden Kind = "forbidden"
	// KindRateLimited: throttled (REST 429 50100, SOAP Code 17) and the
	// retries (or the context) ran out.
	KindRateLimited Kind = "rate_limited"
	// KindBlocked: REST 429 errorcode 50200 — the tenant is blocked until
	// traffic stops. Never retried; escalate.
	KindBlocked Kind = "blocked"
	// KindServer: 5xx or SOAP server fault after bounded retries.
	KindServer Kind = "server"
	// KindTimeout: no response in time.
	KindTimeout Kind = "timeout"
	// KindNotFound: 404 / object not found.
	KindNotFound Kind = "not_found"
	// KindClient: the request was wrong (400, 409, 415 …); retrying will not help.
	KindClient Kind = "client"
	// KindBody: HTTP 2xx whose body reports an error (SOAP OverallStatus
	// Error, REST errorcode/resultMessages).
	KindBody Kind = "body_error"
	// KindDecode: the response could not be parsed or exceeded the size cap.
	KindDecode Kind = "decode"
	// KindBudget: the tenant's daily call budget refused the call.
	KindBudget Kind = "budget"
	// KindTransport: the connection failed (DNS, refused, reset).
	KindTransport Kind = "transport"
)

// ErrBudgetExhausted is wrapped by errors for calls refused by the daily
// budget.
var ErrBudgetExhausted = errors.New("daily API call budget exhausted")

// APIError is a failed SFMC call. Its text never contains secrets or tokens:
// messages are masked with internal/redact and scrubbed of the tenant's
// client secret and access tokens before the error is built.
type APIError struct {
	Tenant   string
	Method   string
	Endpoint string // endpoint template, e.g. /automation/v1/automations/{id}
	Status   int    // HTTP status, 0 when no response
	Kind     Kind
	// Code is SFMC's own code: REST errorcode, SOAP apifault Code or
	// faultcode, OAuth error, or a resultCode.
	Code    string
	Message string // SFMC's message, masked and shortened
	// Scope names the scope most likely missing on a 403.
	Scope string
	// RetryAfter is what the server asked us to wait (0 if nothing).
	RetryAfter time.Duration
	// Attempts is how many HTTP attempts were made.
	Attempts int
	// Result is the classifier's verdict on the last response.
	Result classify.Result
	// Err is the underlying cause (transport error, context error,
	// ErrBudgetExhausted), if any.
	Err error
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("sfmc")
	if e.Tenant != "" {
		b.WriteString(" ")
		b.WriteString(e.Tenant)
	}
	b.WriteString(": ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteString(" ")
	}
	b.WriteString(e.Endpoint)
	b.WriteString(": ")
	b.WriteString(string(e.Kind))
	if e.Status != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.Status))
		if e.Code != "" {
			b.WriteString(", code ")
			b.WriteString(e.Code)
		}
		b.WriteString(")")
	} else if e.Code != "" {
		b.WriteString(" (code ")
		b.WriteString(e.Code)
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	switch e.Kind {
	case KindForbidden:
		if e.Scope != "" {
			fmt.Fprintf(&b, "; the installed package probably lacks the %q scope (or the user/BU permission) for this endpoint", e.Scope)
		}
	case KindBlocked:
		b.WriteString("; SFMC blocked this tenant's API traffic: stop calling and contact Salesforce support")
	case KindAuth:
		b.WriteString("; check the installed package's client id/secret, that it is enabled for this MID, and its account_id")
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *APIError) Unwrap() error { return e.Err }

// Family returns the operational family of the failure.
func (e *APIError) Family() catalog.Family {
	switch e.Kind {
	case KindAuth, KindForbidden:
		return catalog.Auth
	case KindRateLimited, KindBlocked:
		return catalog.RateLimit
	case KindServer:
		return catalog.Server
	case KindTimeout, KindTransport:
		return catalog.Timeout
	case KindBudget:
		return catalog.None
	}
	if f := e.Result.Primary().Family; f.IsError() {
		return f
	}
	return catalog.Client
}

// Transient reports whether a later attempt may succeed without a change
// on the customer's side.
func (e *APIError) Transient() bool {
	switch e.Kind {
	case KindRateLimited, KindServer, KindTimeout, KindTransport:
		return true
	}
	return false
}

func kindOf(err error) Kind {
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.Kind
	}
	return ""
}

// IsAuth reports whether err is an authentication failure (bad credentials,
// or a token rejected again after one refresh).
func IsAuth(err error) bool { return kindOf(err) == KindAuth }

// IsForbidden reports whether err is a permission/scope failure (403).
func IsForbidden(err error) bool { return kindOf(err) == KindForbidden }

// IsBlocked reports whether SFMC blocked the tenant (REST 429 errorcode 50200).
func IsBlocked(err error) bool { return kindOf(err) == KindBlocked }

// IsRateLimited reports whether err is throttling that outlasted the retries.
func IsRateLimited(err error) bool { return kindOf(err) == KindRateLimited }

// IsNotFound reports whether the object does not exist.
func IsNotFound(err error) bool { return kindOf(err) == KindNotFound }

// IsBudget reports whether the call was refused by the daily budget.
func IsBudget(err error) bool { return errors.Is(err, ErrBudgetExhausted) }

// IsTransient reports whether retrying later may help.
func IsTransient(err error) bool {
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.Transient()
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// shorten trims s to n runes with an ellipsis.
func shorten(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
