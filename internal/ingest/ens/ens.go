// Package ens receives SFMC Event Notification Service callbacks
// (POST /hooks/ens) and sets them up (Setup, `sfmcwatch ens setup`).
//
// Receiving:
//   - Callback verification: ENS posts {"callbackId","verificationKey"}
//     unsigned when a callback is created. It is accepted (200) only while
//     `sfmcwatch ens setup` has a set-up window open (cursor
//     "ens/setup-until"); the key is kept in cursor
//     "ens/verification/<callbackId>" for Setup to confirm with
//     POST /platform/v1/ens-verify. Outside a window: 403.
//   - Notifications must carry x-sfmc-ens-signature: base64 of
//     HMAC-SHA256 over the raw body, keyed with the callback's signature key
//     as UTF-8 bytes (the key is not base64-decoded). The body is checked
//     before it is parsed; a bad or missing signature is 401 and counted.
//     On /hooks/ens every ens source's key is tried (the match names the
//     source); /hooks/ens/{source} tries that source's only.
//   - Reply within ENS's 2 s budget: the events are queued for the group
//     commit and the reply waits for the commit up to AckWait (1.5 s). In
//     the normal case (a commit takes milliseconds) the batch is durable
//     before the 200. Trade-off: when the store is slower than AckWait the
//     reply is 200 anyway — answering late would make ENS retry and, after
//     two failures in five minutes, suspend the callback and drop events —
//     and the commit finishes in the background (retried up to three times
//     if it fails); only a crash in that window loses the batch, and such
//     replies are counted (sfmcwatch_ens_acked_before_commit_total). A full
//     queue or a stopped writer answers 503 so ENS retries.
//   - At-least-once delivery is de-duplicated by the store: every event
//     gets request id "ens:" + a hash of its type and identity
//     (automationInstanceID, or compositeId/messageKey for sends; the raw
//     event otherwise), unique per (source "ens", request_id).
//
// What is stored (one event per notification, Source "ens", Method "ENS",
// Tenant = the source's tenant, Integration = the source name, Status 0,
// TS = timestampUTC, Endpoint "ens/<eventCategoryType>"):
//   - Automation Studio instance events (AutomationInstanceStarted,
//     Completed, Errored, Stopped, Skipped, with or without the
//     "SendEvents." prefix): Surface "ens", Code
//     "SendEvents.AutomationInstance<State>", ObjectKey =
//     automationCustomerKey (the key the automation collector and rules
//     use); family and severity from the catalog (Errored: client/error;
//     Stopped, Skipped: none/warning; Started, Completed: none/info). Body:
//     the event JSON (automationName, automationInstanceID,
//     automationInstanceStatus, automationType, any error detail).
//   - Transactional send events (TransactionalSendEvents.EmailSent,
//     EmailNotSent, EmailBounced, …): classified from the event body
//     (EmailNotSent by info.statusCode), Surface "transactional", ObjectKey
//     = definitionKey (the send definition).
//   - Anything else subscribed is stored classified the same way.
//   - Bodies are masked: subscriber e-mail addresses (info.to, e-mail
//     subscriber keys) keep only their domain; they are never stored.
//
// Feeding the rules: after a batch is committed, Options.OnNotices gets a
// Notice for every automation instance event and every EmailNotSent event
// of the batch (duplicates included: the consumer merges them
// idempotently, keyed by automationInstanceID or messageKey). `serve` hands
// them to the monitor's trigger, which merges them into the automation's
// or the transactional definition's latest snapshot and evaluates that
// type's rules at once (internal/collect/ens.go, internal/monitor).
package ens

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/classify"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/sink"
	"github.com/sfmcwatch/sfmcwatch/internal/metriclabel"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Routes of the receiver.
const (
	Path       = "/hooks/ens"
	SourcePath = "/hooks/ens/{source}"
)

// EventSource is the Event.Source of ENS events.
const EventSource = "ens"

// SignatureHeader carries the notification's HMAC.
const SignatureHeader = "x-sfmc-ens-signature"

// Cursor names shared with Setup.
const (
	CursorSetupUntil   = "ens/setup-until"
	CursorVerification = "ens/verification/" // + callbackId
)

// Source is one configured ens input.
type Source struct {
	Name   string
	Tenant string
	// Key is the callback's signature key as configured (used as UTF-8
	// bytes).
	Key []byte
}

// SourcesFromConfig returns the ens sources of an ingest config.
func SourcesFromConfig(in config.Ingest) []Source {
	var out []Source
	for _, s := range in.Sources {
		if s.Type == "ens" && s.SignatureKey.IsSet() {
			out = append(out, Source{Name: s.Name, Tenant: s.Tenant, Key: []byte(s.SignatureKey.Reveal())})
		}
	}
	return out
}

// Sign returns the x-sfmc-ens-signature value of body under key.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Submitter queues records for a durable commit (sink.Writer).
type Submitter interface {
	Submit(recs []store.EventRecord) (*sink.Pending, error)
}

// Cursors are the store methods the receiver uses for verification.
type Cursors interface {
	GetCursor(ctx context.Context, name string) (string, error)
	SetCursor(ctx context.Context, name, value string, now time.Time) error
}

// Options configure a Receiver.
type Options struct {
	Writer  Submitter // required
	Cursors Cursors   // required
	// Sources returns the current ens sources (per request: reloads apply).
	Sources func() []Source
	// Classifier (default: the default catalog).
	Classifier *classify.Classifier
	// MaxBody in bytes (default 10 MiB).
	MaxBody int64
	// AckWait is how long the reply waits for the commit (default 1.5 s).
	AckWait time.Duration
	Clock   func() time.Time
	Logger  *slog.Logger
	// OnNotices, when set, is called after a batch's commit with the
	// batch's automation instance and EmailNotSent notices. It must not
	// block (queue and return).
	OnNotices func([]Notice)
}

// Notice is what the rules need from one ENS event, parsed before the body
// is masked and cut for storage.
type Notice struct {
	Tenant string
	// Source is the ens input's name.
	Source string
	// Type is the eventCategoryType as received.
	Type string
	// At is the event's timestampUTC (the time received when absent), and
	// Received when sfmcwatch received it.
	At, Received time.Time
	// Automation instance events: Automation is automationCustomerKey,
	// Name automationName, InstanceID automationInstanceID, State one of
	// Started, Completed, Errored, Stopped, Skipped, Message any error
	// text the event carried (masked).
	Automation, Name, InstanceID, State, Message string
	// EmailNotSent events: Definition is definitionKey, MessageKey
	// info.messageKey (else compositeId), StatusCode and StatusMessage
	// info.statusCode and info.statusMessage.
	Definition, MessageKey, StatusCode, StatusMessage string
}

// IsAutomation reports whether n is an Automation Studio instance event.
func (n Notice) IsAutomation() bool { return n.State != "" }

// Receiver serves the ENS callback.
type Receiver struct {
	opt      Options
	requests *prometheus.CounterVec
	events   *prometheus.CounterVec
	early    prometheus.Counter
	lost     prometheus.Counter
	// Label caps: event types come from the payload (whoever holds a
	// source's key chooses them), sources from the configuration.
	types, sources *metriclabel.Limiter
}

// Caps on the series of sfmcwatch_ens_events_total. SFMC documents a few
// dozen event types; a source is one configured callback.
const (
	maxTypeSeries   = 64
	maxSourceSeries = 100
)

// New returns a Receiver.
func New(o Options) *Receiver {
	if o.Classifier == nil {
		o.Classifier = classify.New(catalog.Default())
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 10 << 20
	}
	if o.AckWait <= 0 {
		o.AckWait = 1500 * time.Millisecond
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Receiver{opt: o, types: metriclabel.NewLimiter(maxTypeSeries), sources: metriclabel.NewLimiter(maxSourceSeries),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sfmcwatch_ens_requests_total",
			Help: "ENS callback requests by result (ok, bad_signature, verification, verification_refused, bad_payload, too_large, unavailable)."}, []string{"result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sfmcwatch_ens_events_total",
			Help: "ENS events received by source and event type."}, []string{"source", "type"}),
		early: prometheus.NewCounter(prometheus.CounterOpts{Name: "sfmcwatch_ens_acked_before_commit_total",
			Help: "ENS batches answered 200 before their commit finished (store slower than the ack wait)."}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{Name: "sfmcwatch_ens_lost_events_total",
			Help: "ENS events answered 200 whose background commit failed for good."}),
	}
}

// Collector returns the receiver's metrics.
func (r *Receiver) Collector() prometheus.Collector {
	return sink.Collectors{r.requests, r.events, r.early, r.lost}
}

type reply struct {
	Received   int    `json:"received,omitempty"`
	Inserted   int    `json:"inserted,omitempty"`
	Duplicates int    `json:"duplicates,omitempty"`
	Pending    bool   `json:"pending,omitempty"`
	Error      string `json:"error,omitempty"`
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	result, status, rep := r.serve(w, req)
	r.requests.WithLabelValues(result).Inc()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(rep)
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) (string, int, reply) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.opt.MaxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return "too_large", http.StatusRequestEntityTooLarge, reply{Error: fmt.Sprintf("body larger than %d bytes", r.opt.MaxBody)}
		}
		return "bad_payload", http.StatusBadRequest, reply{Error: "reading body: " + err.Error()}
	}
	sig := strings.TrimSpace(req.Header.Get(SignatureHeader))
	if sig == "" {
		if v, ok := parseVerification(body); ok {
			return r.verification(req.Context(), v)
		}
		r.opt.Logger.Warn("ENS request without signature rejected", "remote", req.RemoteAddr)
		return "bad_signature", http.StatusUnauthorized, reply{Error: "missing " + SignatureHeader}
	}
	src, ok := r.authenticate(req.PathValue("source"), sig, body)
	if !ok {
		r.opt.Logger.Warn("ENS request with a bad signature rejected", "remote", req.RemoteAddr, "source", req.PathValue("source"))
		return "bad_signature", http.StatusUnauthorized, reply{Error: "bad " + SignatureHeader}
	}
	recs, notices, err := r.parse(src, body)
	if err != nil {
		r.opt.Logger.Warn("ENS payload rejected", "source", src.Name, "error", err)
		return "bad_payload", http.StatusBadRequest, reply{Error: err.Error()}
	}
	if len(recs) == 0 {
		return "ok", http.StatusOK, reply{}
	}
	p, err := r.opt.Writer.Submit(recs)
	if err != nil {
		w.Header().Set("Retry-After", "5")
		r.opt.Logger.Warn("ENS batch refused; ENS will retry", "source", src.Name, "events", len(recs), "error", err)
		return "unavailable", http.StatusServiceUnavailable, reply{Error: "queue full or shutting down; retry"}
	}
	timer := time.NewTimer(r.opt.AckWait)
	defer timer.Stop()
	select {
	case <-p.Done():
		res, err := p.Result()
		if err != nil {
			w.Header().Set("Retry-After", "5")
			return "unavailable", http.StatusServiceUnavailable, reply{Error: "store unavailable; retry"}
		}
		r.notify(notices)
		return "ok", http.StatusOK, reply{Received: len(recs), Inserted: res.Inserted, Duplicates: res.Duplicates}
	case <-timer.C:
	case <-req.Context().Done():
	}
	r.early.Inc()
	go r.finish(src.Name, recs, notices, p)
	return "ok", http.StatusOK, reply{Received: len(recs), Pending: true}
}

// finish waits for a commit the reply did not wait for, resubmitting up to
// three times when it fails.
func (r *Receiver) finish(source string, recs []store.EventRecord, notices []Notice, p *sink.Pending) {
	wait := time.Second
	for attempt := 0; ; attempt++ {
		<-p.Done()
		_, err := p.Result()
		if err == nil {
			r.notify(notices)
			return
		}
		if attempt == 3 {
			r.lost.Add(float64(len(recs)))
			r.opt.Logger.Error("ENS events lost: commit failed after the reply", "source", source, "events", len(recs), "error", err)
			return
		}
		time.Sleep(wait)
		wait *= 2
		if p, err = r.opt.Writer.Submit(recs); err != nil {
			r.lost.Add(float64(len(recs)))
			r.opt.Logger.Error("ENS events lost: resubmit refused", "source", source, "events", len(recs), "error", err)
			return
		}
	}
}

// authenticate checks the signature against the candidate sources' keys.
func (r *Receiver) authenticate(name, sig string, body []byte) (Source, bool) {
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return Source{}, false
	}
	var found Source
	ok := false
	for _, s := range r.opt.Sources() {
		if name != "" && s.Name != name {
			continue
		}
		m := hmac.New(sha256.New, s.Key)
		m.Write(body)
		if hmac.Equal(m.Sum(nil), got) && !ok {
			found, ok = s, true
		}
	}
	return found, ok
}

type verification struct {
	CallbackID      string `json:"callbackId"`
	VerificationKey string `json:"verificationKey"`
}

func parseVerification(body []byte) (verification, bool) {
	var v verification
	if len(body) > 4<<10 || json.Unmarshal(body, &v) != nil {
		return v, false
	}
	ok := v.CallbackID != "" && v.VerificationKey != "" && len(v.CallbackID) <= 64 && len(v.VerificationKey) <= 256 &&
		!strings.ContainsAny(v.CallbackID, "/ \t\r\n")
	return v, ok
}

func (r *Receiver) verification(ctx context.Context, v verification) (string, int, reply) {
	now := r.opt.Clock()
	until, err := r.opt.Cursors.GetCursor(ctx, CursorSetupUntil)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "unavailable", http.StatusServiceUnavailable, reply{Error: "store unavailable"}
	}
	t, perr := time.Parse(time.RFC3339, until)
	if err != nil || perr != nil || !now.Before(t) {
		r.opt.Logger.Warn("ENS callback verification refused: no `sfmcwatch ens setup` in progress", "callback_id", v.CallbackID)
		return "verification_refused", http.StatusForbidden, reply{Error: "no ens setup in progress"}
	}
	if err := r.opt.Cursors.SetCursor(ctx, CursorVerification+v.CallbackID, v.VerificationKey, now); err != nil {
		return "unavailable", http.StatusServiceUnavailable, reply{Error: "store unavailable"}
	}
	r.opt.Logger.Info("ENS callback verification received", "callback_id", v.CallbackID)
	return "verification", http.StatusOK, reply{}
}

// notify hands committed notices to OnNotices.
func (r *Receiver) notify(ns []Notice) {
	if len(ns) > 0 && r.opt.OnNotices != nil {
		r.opt.OnNotices(ns)
	}
}

// Records parses a signed notification body (a JSON array of events, or
// one event) into store records. Events that are not JSON objects make the
// whole body bad (ENS sends arrays of objects only).
func (r *Receiver) Records(src Source, body []byte) ([]store.EventRecord, error) {
	recs, _, err := r.parse(src, body)
	return recs, err
}

// Notices parses a notification body like Records and returns its
// automation instance and EmailNotSent notices.
func (r *Receiver) Notices(src Source, body []byte) ([]Notice, error) {
	_, ns, err := r.parse(src, body)
	return ns, err
}

func (r *Receiver) parse(src Source, body []byte) ([]store.EventRecord, []Notice, error) {
	body = bytes.TrimSpace(body)
	var raws []json.RawMessage
	switch {
	case len(body) == 0:
		return nil, nil, nil
	case body[0] == '[':
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, nil, fmt.Errorf("payload is not a JSON array of events: %w", err)
		}
	case body[0] == '{':
		raws = []json.RawMessage{body}
	default:
		return nil, nil, errors.New("payload is not JSON (want an array of events)")
	}
	now := r.opt.Clock()
	out := make([]store.EventRecord, 0, len(raws))
	var notices []Notice
	for i, raw := range raws {
		rec, n, err := r.record(src, raw, now)
		if err != nil {
			return nil, nil, fmt.Errorf("event %d: %w", i, err)
		}
		r.events.WithLabelValues(r.sources.Label(src.Name), r.types.Label(typeLabel(rec.Endpoint))).Inc()
		out = append(out, rec)
		if n != nil {
			notices = append(notices, *n)
		}
	}
	return out, notices, nil
}

// notification holds the fields the mapping reads. Automation attributes
// are read at the top level and inside info.
type notification struct {
	EventCategoryType string          `json:"eventCategoryType"`
	TimestampUTC      json.Number     `json:"timestampUTC"`
	CompositeID       string          `json:"compositeId"`
	DefinitionKey     string          `json:"definitionKey"`
	Info              *automationInfo `json:"info"`
	automationInfo
}

type automationInfo struct {
	AutomationCustomerKey string `json:"automationCustomerKey"`
	AutomationName        string `json:"automationName"`
	AutomationInstanceID  string `json:"automationInstanceID"`
	AutomationInstanceId  string `json:"automationInstanceId"` //nolint:revive // both spellings seen
	AutomationStatus      string `json:"automationInstanceStatus"`
	MessageKey            string `json:"messageKey"`
	// Error detail (field names unverified: the documented payload lists
	// none; these are read when present).
	ErrorMessage  string `json:"errorMessage"`
	StatusMessage string `json:"statusMessage"`
	// EmailNotSent.
	StatusCode flexString `json:"statusCode"`
}

// flexString reads a JSON string or number (or anything else, as its raw
// text) without failing the event.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*f = flexString(s)
		return nil
	}
	if string(b) != "null" {
		*f = flexString(b)
	}
	return nil
}

func (r *Receiver) record(src Source, raw json.RawMessage, now time.Time) (store.EventRecord, *Notice, error) {
	var n notification
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return store.EventRecord{}, nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if n.EventCategoryType == "" {
		return store.EventRecord{}, nil, errors.New("no eventCategoryType")
	}
	a := n.automationInfo
	if n.Info != nil {
		a = merge(a, *n.Info)
	}
	instanceID := a.AutomationInstanceID
	if instanceID == "" {
		instanceID = a.AutomationInstanceId
	}
	ts := now
	if ms, err := strconv.ParseInt(n.TimestampUTC.String(), 10, 64); err == nil && ms > 0 {
		ts = time.UnixMilli(ms).UTC()
	}
	ev := event.Event{TS: ts, Tenant: src.Tenant, Integration: src.Name, Source: EventSource, Method: "ENS",
		Endpoint: "ens/" + n.EventCategoryType, Body: raw}
	var identity string
	if state, ok := automationState(n.EventCategoryType); ok {
		code := "SendEvents.AutomationInstance" + state
		ev.Endpoint = "ens/" + code
		ev.ObjectKey = a.AutomationCustomerKey
		identity = code + "|" + instanceID
		if instanceID == "" {
			identity = code + "|" + string(raw)
		}
		ev.RequestID = requestID(identity)
		var notice *Notice
		if a.AutomationCustomerKey != "" && instanceID != "" {
			notice = &Notice{Tenant: src.Tenant, Source: src.Name, Type: n.EventCategoryType, At: ts, Received: now,
				Automation: a.AutomationCustomerKey, Name: a.AutomationName, InstanceID: instanceID, State: state,
				Message: redact.String(strings.TrimSpace(firstNonEmpty(a.ErrorMessage, a.StatusMessage)))}
		}
		c := classify.Classification{Surface: catalog.ENS, Code: code, Count: 1, Family: catalog.None, Severity: catalog.Severity("info")}
		if e, ok := r.opt.Classifier.Catalog().Lookup(catalog.ENS, code, ""); ok {
			c.Family, c.Title, c.Owner, c.Severity, c.Remediation, c.IsError = e.Family, e.Title, e.Owner, e.Severity, e.Remediation, e.Family.IsError()
		}
		return sink.RecordResult(ev, classify.Result{Surface: catalog.ENS, Classifications: []classify.Classification{c}}), notice, nil
	}
	ev.ObjectKey = n.DefinitionKey
	switch id := firstNonEmpty(n.CompositeID, a.MessageKey); id {
	case "":
		identity = n.EventCategoryType + "|" + string(raw)
	default:
		identity = n.EventCategoryType + "|" + id
	}
	ev.RequestID = requestID(identity)
	// Classified as a delivered report (200): the outcome is in the body.
	res := r.opt.Classifier.Classify(classify.Input{Surface: catalog.Transactional, Status: http.StatusOK, Body: raw, Now: ts})
	var notice *Notice
	if strings.HasSuffix(n.EventCategoryType, ".EmailNotSent") && n.DefinitionKey != "" {
		if mk := firstNonEmpty(a.MessageKey, n.CompositeID); mk != "" {
			notice = &Notice{Tenant: src.Tenant, Source: src.Name, Type: n.EventCategoryType, At: ts, Received: now,
				Definition: n.DefinitionKey, MessageKey: mk, StatusCode: string(a.StatusCode),
				StatusMessage: redact.String(strings.TrimSpace(firstNonEmpty(a.StatusMessage, a.ErrorMessage)))}
		}
	}
	return sink.RecordResult(ev, res), notice, nil
}

func merge(top, info automationInfo) automationInfo {
	set := func(a *string, b string) {
		if *a == "" {
			*a = b
		}
	}
	set(&top.AutomationCustomerKey, info.AutomationCustomerKey)
	set(&top.AutomationInstanceID, info.AutomationInstanceID)
	set(&top.AutomationInstanceId, info.AutomationInstanceId)
	set(&top.AutomationStatus, info.AutomationStatus)
	set(&top.AutomationName, info.AutomationName)
	set(&top.MessageKey, info.MessageKey)
	set(&top.ErrorMessage, info.ErrorMessage)
	set(&top.StatusMessage, info.StatusMessage)
	if top.StatusCode == "" {
		top.StatusCode = info.StatusCode
	}
	return top
}

// automationState returns Started, Completed, Errored, Stopped or Skipped
// for an Automation Studio instance event type.
func automationState(t string) (string, bool) {
	name := t[strings.LastIndexByte(t, '.')+1:]
	state, ok := strings.CutPrefix(name, "AutomationInstance")
	switch state {
	case "Started", "Completed", "Errored", "Stopped", "Skipped":
		return state, ok
	}
	return "", false
}

func requestID(identity string) string {
	h := sha256.Sum256([]byte(identity))
	return "ens:" + hex.EncodeToString(h[:16])
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// typeLabel bounds the metric label to the event type.
func typeLabel(endpoint string) string {
	t := strings.TrimPrefix(endpoint, "ens/")
	if len(t) > 64 {
		t = t[:64]
	}
	return t
}
