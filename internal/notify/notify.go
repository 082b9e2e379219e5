// Package notify turns incident changes into notifications that reach the
// team that owns the fix. Each evaluation is a pipeline of small stages
// (pipeline.go): correlate (children of an open cause are evidence, not
// pages), silences and maintenance windows, inhibition (only what the
// cause explains; resolutions are never suppressed), a routing tree on
// incident labels and grouping, throttle/repeat (group_wait,
// group_interval, repeat_interval, and a refresh of Alertmanager channels
// before endsAt), escalation of unacknowledged critical incidents, and a
// durable outbox: every notification is written to the store before it is sent,
// one row per channel of its receiver under an idempotency key per (group
// or incident, state, receiver) and the channel, then delivered at least
// once with retries and backoff by whichever replica claims it. Channels
// are retried independently: a receiver's channel that succeeded is not
// sent the message again because another of its channels failed.
//
// The state lives in the store, not in memory: the dispatcher re-derives
// the groups from open incidents, acknowledgements, silences and the
// notification log (store.NotifyState, compare-and-set per receiver and
// group) on every evaluation, so a restart or a second replica neither
// repeats nor loses a notification.
//
// Delivery is watched: a channel that keeps failing opens a
// notify.channel_failed incident routed to alerting.fallback_receiver, and
// alerting.heartbeat pings an outside dead man's switch while Run runs.
//
// Channels live in notify/<channel> packages behind the small [Notifier]
// interface; their errors say whether a retry can help ([Error]).
package notify

import (
	"context"
	"errors"
	"fmt"
	"github.com/sfmcwatch/sfmcwatch/internal/retry"
	"net/http"
	"time"
)

// Notifier delivers one message to one channel. It must be safe for
// concurrent use. A failed delivery returns an error; wrap it in *Error
// (see [Permanent], [Retryable], [HTTPStatusError]) to say whether retrying
// can help: errors that are not *Error are treated as retryable (network
// failures). Errors never contain secrets (webhook URLs, keys, passwords).
type Notifier interface {
	Notify(ctx context.Context, m *Message) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, m *Message) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, m *Message) error { return f(ctx, m) }

// Error is a delivery failure with its retry verdict.
type Error struct {
	// Channel names the channel ("slack", "pagerduty", …).
	Channel string
	// Status is the HTTP status (or SMTP reply code) when there was one.
	Status int
	// Retry says whether sending again can succeed.
	Retry bool
	// RetryAfter is the receiver's requested delay (0 = use backoff).
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.Retry {
		kind = "retryable"
	}
	if e.Status != 0 {
		return fmt.Sprintf("%s: %s failure (status %d): %v", e.Channel, kind, e.Status, e.Err)
	}
	return fmt.Sprintf("%s: %s failure: %v", e.Channel, kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(channel string, err error) error {
	return &Error{Channel: channel, Err: err}
}

// Retryable marks err as transient.
func Retryable(channel string, err error) error {
	return &Error{Channel: channel, Retry: true, Err: err}
}

// IsRetryable reports whether a delivery error may succeed when retried:
// *Error says so itself; context cancellation is not a delivery verdict
// (retryable); any other error (network) is retryable.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Retry
	}
	return true
}

// RetryAfterOf returns the receiver's requested delay, if any.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// RetryableStatus reports whether an HTTP status is worth retrying: 408,
// 425, 429 and every 5xx except 501 (not implemented) and 505.
func RetryableStatus(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusTooManyRequests:
		return true
	case status == http.StatusNotImplemented, status == http.StatusHTTPVersionNotSupported:
		return false
	case status >= 500 && status <= 599:
		return true
	}
	return false
}

// HTTPStatusError classifies a non-2xx response; detail is a short,
// already secret-free excerpt of the body (may be empty).
func HTTPStatusError(channel string, resp *http.Response, detail string) error {
	e := &Error{Channel: channel, Status: resp.StatusCode, Retry: RetryableStatus(resp.StatusCode)}
	if e.Retry {
		e.RetryAfter, _ = retry.Header(resp.Header, time.Now(), time.Hour)
	}
	msg := http.StatusText(resp.StatusCode)
	if detail != "" {
		msg += ": " + detail
	}
	e.Err = errors.New(msg)
	return e
}
