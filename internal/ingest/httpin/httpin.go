// Package httpin is the HTTP log ingest API, POST /api/v1/events: an
// integration (or its log shipper) pushes its SFMC calls as JSON lines, a
// JSON array or CSV — the canonical fields and the same aliases as
// `sfmcwatch scan` — gzip-compressed or not, with a per-source bearer
// token. Every line is classified and stored like the monitor's own calls.
//
// Contract:
//   - Authorization: Bearer <token>; the token's SHA-256 is compared in
//     constant time with every http source's (config: token or
//     token_sha256). Missing or unknown token: 401.
//   - Body limit (ingest.max_body_size) applies to the body as sent and to
//     its decompressed size: 413 beyond it, nothing kept.
//   - Content-Encoding gzip (or a gzip body, detected by magic bytes);
//     other encodings: 415. Undecodable body: 400.
//   - Bad lines are rejected with their line number and reason while the
//     good ones are kept: 200 with a per-line report when at least one line
//     was accepted (or the body had none), 422 with the same report when
//     every line was bad.
//   - The answer comes only after the accepted lines are committed to the
//     store (group commit: several requests share one transaction).
//   - Queue full: 429 with Retry-After, nothing kept. Store failing,
//     shutting down or slower than the commit wait: 503 with Retry-After;
//     a retry is safe.
//   - Idempotent on request_id: a line whose (source "ingest", request_id)
//     is already stored is skipped and counted in duplicates. Lines without
//     request_id get "<Idempotency-Key>#<line>" when the request carries an
//     Idempotency-Key header, so a retried body is never counted twice.
package httpin

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/sync/semaphore"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/sink"
	"github.com/sfmcwatch/sfmcwatch/internal/metriclabel"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Path is the route of the API.
const Path = "/api/v1/events"

// EventSource is the Event.Source of ingested lines.
const EventSource = "ingest"

// MaxReportedErrors caps the bad lines listed in a response.
const MaxReportedErrors = 100

// Source is one configured http input.
type Source struct {
	Name   string
	Tenant string
	// TokenSHA256 is the SHA-256 of the bearer token.
	TokenSHA256 [32]byte
	// Format is auto, jsonl (JSON lines or a JSON array) or csv.
	Format string
}

// SourcesFromConfig returns the http sources of an ingest config.
func SourcesFromConfig(in config.Ingest) []Source {
	var out []Source
	for _, s := range in.Sources {
		if s.Type != "http" {
			continue
		}
		src := Source{Name: s.Name, Tenant: s.Tenant, Format: s.Format}
		if s.Token.IsSet() {
			src.TokenSHA256 = sha256.Sum256([]byte(s.Token.Reveal()))
		} else if b, err := hex.DecodeString(s.TokenSHA256); err == nil && len(b) == 32 {
			copy(src.TokenSHA256[:], b)
		} else {
			continue // validation rejects this config; never accept any token
		}
		out = append(out, src)
	}
	return out
}

// Submitter queues records for a durable commit (sink.Writer).
type Submitter interface {
	Submit(recs []store.EventRecord) (*sink.Pending, error)
}

// Options configure a Handler.
type Options struct {
	Writer   Submitter      // required
	Recorder *sink.Recorder // default: sink.NewRecorder(nil)
	// Sources returns the current http sources (called per request, so a
	// config reload rotates tokens); required.
	Sources func() []Source
	// MaxBody is the body limit in bytes (default 10 MiB).
	MaxBody int64
	// CommitWait bounds the wait for the commit before answering 503
	// (default 30 s).
	CommitWait time.Duration
	// MaxInFlightBytes bounds the bodies being read and decoded at once
	// (default and minimum MaxBody; a body of unknown length counts as
	// MaxBody): a request waits for room before its body is
	// read (TCP holds the rest back), so memory stays bounded however many
	// clients post at once; one that waits longer than CommitWait gets 429.
	MaxInFlightBytes int64
	Clock            func() time.Time
	Logger           *slog.Logger
}

// Handler serves POST /api/v1/events.
type Handler struct {
	opt      Options
	requests *prometheus.CounterVec
	// sources caps the source label (configured sources; "-" for
	// unauthenticated requests).
	sources  *metriclabel.Limiter
	lines    *prometheus.CounterVec
	inFlight *semaphore.Weighted
}

// New returns a Handler.
func New(o Options) *Handler {
	if o.Recorder == nil {
		o.Recorder = sink.NewRecorder(nil)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 10 << 20
	}
	if o.CommitWait <= 0 {
		o.CommitWait = 30 * time.Second
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxInFlightBytes < o.MaxBody {
		o.MaxInFlightBytes = o.MaxBody
	}
	return &Handler{opt: o, inFlight: semaphore.NewWeighted(o.MaxInFlightBytes), sources: metriclabel.NewLimiter(100),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sfmcwatch_ingest_requests_total",
			Help: "POST /api/v1/events requests by source and HTTP status."}, []string{"source", "code"}),
		lines: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sfmcwatch_ingest_lines_total",
			Help: "Ingested lines by source and result (inserted, duplicate, rejected)."}, []string{"source", "result"}),
	}
}

// Collector returns the handler's request and line counters.
func (h *Handler) Collector() prometheus.Collector { return sink.Collectors{h.requests, h.lines} }

// LineReport is one rejected line.
type LineReport struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Report is the response body.
type Report struct {
	Source     string       `json:"source,omitempty"`
	Lines      int          `json:"lines"`
	Accepted   int          `json:"accepted"`
	Inserted   int          `json:"inserted"`
	Duplicates int          `json:"duplicates"`
	Rejected   int          `json:"rejected"`
	Errors     []LineReport `json:"errors,omitempty"`
	// ErrorsTruncated is set when more lines were rejected than listed.
	ErrorsTruncated bool   `json:"errors_truncated,omitempty"`
	Error           string `json:"error,omitempty"`
}

// httpError is a whole-request failure.
type httpError struct {
	status     int
	msg        string
	retryAfter int
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	src, ok := h.authenticate(r)
	if !ok {
		h.requests.WithLabelValues("-", "401").Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="sfmcwatch ingest"`)
		writeJSON(w, http.StatusUnauthorized, Report{Error: "missing or unknown bearer token"})
		return
	}
	status, rep := h.serve(w, r, src)
	h.requests.WithLabelValues(h.sources.Label(src.Name), strconv.Itoa(status)).Inc()
	rep.Source = src.Name
	writeJSON(w, status, rep)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, src Source) (int, Report) {
	fail := func(e *httpError) (int, Report) {
		if e.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
		}
		return e.status, Report{Error: e.msg}
	}
	if r.ContentLength > h.opt.MaxBody {
		return fail(tooLarge(h.opt.MaxBody, false))
	}
	weight := h.opt.MaxBody // unknown length: the most it may be
	if r.ContentLength > 0 {
		weight = r.ContentLength
	}
	actx, cancel := context.WithTimeout(r.Context(), h.opt.CommitWait)
	err := h.inFlight.Acquire(actx, weight)
	cancel()
	if err != nil {
		return fail(&httpError{status: http.StatusTooManyRequests, retryAfter: 1,
			msg: "too many ingest requests in flight: nothing was kept; retry after the Retry-After delay"})
	}
	defer h.inFlight.Release(weight)
	raw, err := readBody(http.MaxBytesReader(w, r.Body, h.opt.MaxBody), r.ContentLength)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return fail(tooLarge(h.opt.MaxBody, false))
		}
		return fail(&httpError{status: http.StatusBadRequest, msg: "reading body: " + err.Error()})
	}
	evs, rep, herr := Decode(raw, r.Header.Get("Content-Encoding"), src.Format, h.opt.MaxBody)
	if herr != nil {
		return fail(herr)
	}
	h.lines.WithLabelValues(h.sources.Label(src.Name), "rejected").Add(float64(rep.Rejected))
	if len(evs) == 0 {
		if rep.Rejected > 0 {
			return http.StatusUnprocessableEntity, rep
		}
		return http.StatusOK, rep
	}
	now := h.opt.Clock()
	idem := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	recs := make([]store.EventRecord, len(evs))
	for i := range evs {
		ev := &evs[i].Event
		ev.Source = EventSource
		if ev.Integration == "" {
			ev.Integration = src.Name
		}
		if ev.Tenant == "" {
			ev.Tenant = src.Tenant
		}
		if ev.RequestID == "" && idem != "" {
			ev.RequestID = idem + "#" + strconv.Itoa(evs[i].Line)
		}
		recs[i] = h.opt.Recorder.Record(*ev, now)
	}
	p, err := h.opt.Writer.Submit(recs)
	switch {
	case errors.Is(err, sink.ErrQueueFull):
		return fail(&httpError{status: http.StatusTooManyRequests, retryAfter: 1,
			msg: "ingest queue full: nothing was kept; retry after the Retry-After delay"})
	case err != nil:
		return fail(&httpError{status: http.StatusServiceUnavailable, retryAfter: 5, msg: "ingest unavailable: " + err.Error()})
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opt.CommitWait)
	defer cancel()
	res, err := p.Wait(ctx)
	if err != nil {
		h.opt.Logger.Warn("ingest request not committed", "source", src.Name, "events", len(recs), "error", err)
		return fail(&httpError{status: http.StatusServiceUnavailable, retryAfter: 5,
			msg: "events not confirmed stored; retry the same body (lines with request_id or an Idempotency-Key are not counted twice)"})
	}
	rep.Accepted = len(recs)
	rep.Inserted, rep.Duplicates = res.Inserted, res.Duplicates
	h.lines.WithLabelValues(h.sources.Label(src.Name), "inserted").Add(float64(res.Inserted))
	h.lines.WithLabelValues(h.sources.Label(src.Name), "duplicate").Add(float64(res.Duplicates))
	return http.StatusOK, rep
}

// readBody reads the whole body, sized up front when the length is known.
func readBody(r io.Reader, length int64) ([]byte, error) {
	if length <= 0 {
		return io.ReadAll(r)
	}
	var buf bytes.Buffer
	buf.Grow(int(length) + bytes.MinRead)
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

func tooLarge(limit int64, decompressed bool) *httpError {
	what := "body"
	if decompressed {
		what = "decompressed body"
	}
	return &httpError{status: http.StatusRequestEntityTooLarge,
		msg: fmt.Sprintf("%s larger than ingest.max_body_size (%d bytes): nothing was kept; split the batch", what, limit)}
}

// authenticate finds the source whose token hash matches, comparing with
// every source in constant time.
func (h *Handler) authenticate(r *http.Request) (Source, bool) {
	auth := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Source{}, false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return Source{}, false
	}
	sum := sha256.Sum256([]byte(tok))
	var found Source
	match := 0
	for _, s := range h.opt.Sources() {
		if subtle.ConstantTimeCompare(sum[:], s.TokenSHA256[:]) == 1 && match == 0 {
			found, match = s, 1
		}
	}
	return found, match == 1
}

// LineEvent is a decoded good line.
type LineEvent struct {
	Line  int
	Event event.Event
}

// Decode decompresses and parses a request body: the good lines' events
// and a report of the bad ones. Errors are whole-request failures.
func Decode(raw []byte, contentEncoding, format string, maxBody int64) ([]LineEvent, Report, *httpError) {
	var rep Report
	plain, herr := decompress(raw, contentEncoding, maxBody)
	if herr != nil {
		return nil, rep, herr
	}
	declared, err := ingest.ParseFormat(format)
	if err != nil {
		return nil, rep, &httpError{status: http.StatusInternalServerError, msg: "source: " + err.Error()}
	}
	// The source's declared format wins over detection: one bad first line
	// is reported and the other lines are kept.
	st, err := ingest.NewStream(bytes.NewReader(plain), ingest.Options{Source: EventSource, Format: declared})
	if err != nil {
		return nil, rep, &httpError{status: http.StatusBadRequest, msg: "body: " + redact.String(err.Error())}
	}
	p := st.Parser()
	var (
		out   []LineEvent
		lines []ingest.RawLine
	)
	for {
		lines, err = st.ReadBatch(lines[:0], 0)
		for _, l := range lines {
			rep.Lines++
			ev, perr := p.Parse(l)
			if perr != nil {
				rep.Rejected++
				if len(rep.Errors) < MaxReportedErrors {
					le := LineReport{Line: l.No, Reason: redact.String(perr.Error())}
					if x, ok := errors.AsType[*ingest.LineError](perr); ok {
						le = LineReport{Line: x.Line, Reason: redact.String(x.Reason)}
					}
					rep.Errors = append(rep.Errors, le)
				} else {
					rep.ErrorsTruncated = true
				}
				continue
			}
			out = append(out, LineEvent{Line: l.No, Event: ev})
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, Report{}, &httpError{status: http.StatusBadRequest, msg: "body: " + redact.String(err.Error())}
		}
	}
	return out, rep, nil
}

func decompress(raw []byte, enc string, maxBody int64) ([]byte, *httpError) {
	enc = strings.ToLower(strings.TrimSpace(enc))
	switch enc {
	case "", "identity", "gzip", "x-gzip":
	default:
		return nil, &httpError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("Content-Encoding %q not supported (use gzip or none)", enc)}
	}
	gz := len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b
	if enc == "gzip" || enc == "x-gzip" {
		if !gz {
			return nil, &httpError{status: http.StatusBadRequest, msg: "Content-Encoding is gzip but the body is not gzip data"}
		}
	}
	if !gz {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, &httpError{status: http.StatusBadRequest, msg: "gzip: " + err.Error()}
	}
	plain, err := io.ReadAll(io.LimitReader(zr, maxBody+1))
	if err != nil {
		return nil, &httpError{status: http.StatusBadRequest, msg: "gzip: " + err.Error()}
	}
	if int64(len(plain)) > maxBody {
		return nil, tooLarge(maxBody, true)
	}
	if len(plain) >= 2 && plain[0] == 0x1f && plain[1] == 0x8b {
		return nil, &httpError{status: http.StatusBadRequest, msg: "gzip inside gzip is not accepted"}
	}
	return plain, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
