// Package classify turns an SFMC response — surface if known, HTTP status,
// headers and body — into classifications from the error catalog: which
// codes it carries, how often, their family, owner and fix, and whether the
// call failed at all. HTTP status alone misleads (SOAP throttling is a 500,
// a transactional send with per-recipient failures is a 202), so every body
// is inspected.
package classify

import (
	"net/http"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// MaxBody is the most body bytes the classifier reads; longer bodies are
// truncated and flagged.
const MaxBody = 1 << 20

// Input is one response to classify.
type Input struct {
	// Surface, when known, narrows how codes are looked up; empty means
	// detect from the URL/body shape.
	Surface catalog.Surface
	// URL (or path) of the request, optional; helps detect the surface
	// and whether the call read a resource's state (see readsState).
	URL string
	// Method is the request's HTTP method (any case), optional. With URL it
	// tells a read of a resource (GET) from the caller's own operation
	// (POST, PUT, PATCH, DELETE): a failed state in a read's body is the
	// record's state, reported in Result.RecordStates, not a call failure.
	Method string
	// Status is the HTTP status; 0 when no response was received.
	Status int
	// Header holds response headers (Retry-After, Content-Type), optional.
	Header http.Header
	// Body is the response body (only the first MaxBody bytes are read).
	Body []byte
	// Now is used to turn an HTTP-date Retry-After into a duration; zero
	// means time.Now.
	Now time.Time
}

// Classification is one distinct code found in a response.
type Classification struct {
	Surface     catalog.Surface  `json:"surface"`
	HTTPStatus  int              `json:"http_status"`
	Code        string           `json:"code"`
	Message     string           `json:"message,omitempty"` // as SFMC said it, secrets masked, shortened
	Count       int              `json:"count"`             // how many times this code occurs in the body (≥1)
	Family      catalog.Family   `json:"family"`
	Title       string           `json:"title"`
	Owner       catalog.Owner    `json:"owner"`
	Transient   bool             `json:"transient"`
	Severity    catalog.Severity `json:"severity"`
	Remediation []string         `json:"remediation"`
	DocURL      string           `json:"documentation,omitempty"`
	Unknown     bool             `json:"unknown,omitempty"`
	IsError     bool             `json:"is_error"`
}

// Result is everything the classifier concluded about one response.
type Result struct {
	// IsError is true when the call (or part of it) failed.
	IsError bool `json:"is_error"`
	// Surface is the surface used (given or detected).
	Surface    catalog.Surface `json:"surface"`
	HTTPStatus int             `json:"http_status"`
	// RetryAfter is the server's requested wait (header or body), zero if none.
	RetryAfter time.Duration `json:"retry_after_ns,omitempty"`
	// Truncated is set when the body exceeded MaxBody or ended mid-document.
	Truncated bool `json:"truncated,omitempty"`
	// Classifications holds one entry per distinct code, most severe first.
	// A successful call has exactly one classification of family none.
	Classifications []Classification `json:"classifications"`
	// RecordStates holds what the records returned by a successful read
	// say about themselves ("status": "Error" on an automation, a journey
	// or a definition; items[].status; the transactional not-sent feed's
	// statusCodes; ImportStatus in a SOAP Retrieve). They are evidence for
	// the resource's own rule and never make the call an error: IsError
	// and Classifications describe the call only.
	RecordStates []RecordState `json:"record_states,omitempty"`
}

// RecordState is one state a record returned by a successful read reports
// about itself, resolved against the catalog like a classification.
type RecordState struct {
	// Field is where the state was read: "status", "items[].status",
	// "messages[].statusCode", "ImportStatus"…
	Field string `json:"field"`
	// Value is the state as the record gives it ("Error", "Failed", a
	// status code).
	Value string `json:"value,omitempty"`
	// Failed is set when the state is a failure of the record (the record
	// says Error or Failed, or its code is in one of the five error
	// families); recipient outcomes and notes are not.
	Failed      bool             `json:"failed"`
	Surface     catalog.Surface  `json:"surface"`
	Code        string           `json:"code"`
	Message     string           `json:"message,omitempty"`
	Count       int              `json:"count"`
	Family      catalog.Family   `json:"family"`
	Title       string           `json:"title"`
	Owner       catalog.Owner    `json:"owner"`
	Severity    catalog.Severity `json:"severity"`
	Remediation []string         `json:"remediation,omitempty"`
	DocURL      string           `json:"documentation,omitempty"`
	Unknown     bool             `json:"unknown,omitempty"`
}

// RecordFailed reports whether a record returned by the read is in a
// failed state (the read itself may well have succeeded).
func (r Result) RecordFailed() bool {
	for _, s := range r.RecordStates {
		if s.Failed {
			return true
		}
	}
	return false
}

// Primary returns the most significant classification.
func (r Result) Primary() Classification {
	if len(r.Classifications) == 0 {
		return Classification{Family: catalog.None, HTTPStatus: r.HTTPStatus, Surface: r.Surface}
	}
	return r.Classifications[0]
}

// Classifier classifies responses against a catalog. It is safe for
// concurrent use.
type Classifier struct {
	cat *catalog.Catalog
	// ok holds the precomputed classifications of HTTP 200-204 without a
	// message (the scanner's common case); read-only after New.
	ok [5]Classification
}

// New returns a classifier over cat.
func New(cat *catalog.Catalog) *Classifier {
	c := &Classifier{cat: cat}
	for i := range c.ok {
		c.ok[i] = c.statusClassification(200+i, "")
	}
	return c
}

// Catalog returns the catalog the classifier uses.
func (c *Classifier) Catalog() *catalog.Catalog { return c.cat }
