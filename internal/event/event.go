// Package event defines the normalised Event: one observed SFMC API call or
// outcome, whatever source saw it (log scan, HTTP ingest, recording proxy,
// the monitor's own client, ENS). Every later stage — classifier, store,
// detection — works on this one shape.
package event

import "time"

// Event is one observed call to SFMC and its outcome.
type Event struct {
	// TS is when the call happened (UTC).
	TS time.Time `json:"ts"`
	// Tenant names the SFMC tenant or business unit (free text, may be empty).
	Tenant string `json:"tenant,omitempty"`
	// Integration names the calling system (CRM sync, loader, ...).
	Integration string `json:"integration,omitempty"`
	// Source says which input saw the call: scan, ingest, proxy, client, ens, tail.
	Source string `json:"source,omitempty"`
	// Method is the HTTP method (upper case), or empty when unknown.
	Method string `json:"method,omitempty"`
	// URL is the full URL or path as logged, with secrets masked.
	URL string `json:"url,omitempty"`
	// Endpoint is the URL reduced to a template (ids replaced by placeholders).
	Endpoint string `json:"endpoint,omitempty"`
	// ObjectKey is the id or external key removed from the URL, if any.
	ObjectKey string `json:"object_key,omitempty"`
	// Status is the HTTP status; 0 when no response was received.
	Status int `json:"status"`
	// Body is the (possibly truncated) response body.
	Body []byte `json:"-"`
	// Duration is the call's latency, zero when unknown.
	Duration time.Duration `json:"duration_ns,omitempty"`
	// RequestID is the caller's idempotency / correlation id, if logged.
	RequestID string `json:"request_id,omitempty"`
}
