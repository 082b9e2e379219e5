package web

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/report"
	"github.com/sfmcwatch/sfmcwatch/internal/scan"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// apiFail answers an error: input errors with 400 and their message,
// missing rows with 404, the rest with 500 and a generic message (the
// detail is logged).
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, what string, err error) {
	var br badRequest
	switch {
	case errors.As(err, &br):
		writeError(w, http.StatusBadRequest, br.msg)
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, what+": not found")
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, what+": "+conflictText(err))
	case errors.Is(err, errNoSilences):
		writeError(w, http.StatusNotImplemented, err.Error())
	default:
		s.log.Error("api: "+what, "path", r.URL.Path, "error", err)
		writeError(w, http.StatusInternalServerError, "could not "+what)
	}
}

func conflictText(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": store: conflict"); i > 0 {
		msg = msg[:i]
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return "conflict"
}

// MeJSON is GET /api/v1/me.
type MeJSON struct {
	Name string `json:"name"`
	Role string `json:"role"`
	Via  string `json:"via"`
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	id := whoami(r)
	writeJSON(w, http.StatusOK, MeJSON(id))
}

func (s *Server) apiOverview(w http.ResponseWriter, r *http.Request) {
	ov, err := s.buildOverview(r.Context())
	if err != nil {
		s.apiFail(w, r, "build the overview", err)
		return
	}
	writeJSON(w, http.StatusOK, ov)
}

func parseID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, badf("id must be a positive integer, got %q", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) apiAcknowledge(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r)
	if err != nil {
		s.apiFail(w, r, "acknowledge", err)
		return
	}
	inc, err := s.st.AcknowledgeIncident(r.Context(), id, whoami(r).Name, s.now())
	if err != nil {
		s.apiFail(w, r, "acknowledge incident "+strconv.FormatInt(id, 10), err)
		return
	}
	s.log.Info("incident acknowledged", "id", id, "by", whoami(r).Name)
	writeJSON(w, http.StatusOK, toJSON(inc))
}

func (s *Server) apiResolve(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r)
	if err != nil {
		s.apiFail(w, r, "resolve", err)
		return
	}
	inc, err := s.st.ResolveIncident(r.Context(), id, s.now())
	if err != nil {
		s.apiFail(w, r, "resolve incident "+strconv.FormatInt(id, 10), err)
		return
	}
	s.log.Info("incident resolved by hand", "id", id, "by", whoami(r).Name)
	writeJSON(w, http.StatusOK, toJSON(inc))
}

// parseTime accepts RFC 3339 or a duration back from now ("24h", "7d").
func (s *Server) parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := parseRange(v); err == nil {
		return s.now().Add(-d), nil
	}
	return time.Time{}, badf("%s %q: want RFC 3339 (2026-03-02T10:00:00Z) or a duration back from now (24h, 7d)", name, v)
}

// parseRange parses "90m", "24h", "7d", "30d".
func parseRange(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d < 1 || d > 400 {
			return 0, badf("range %q: want 1d..400d", v)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, badf("range %q: want a positive duration like 6h or 7d", v)
	}
	return d, nil
}

// EventsJSON is GET /api/v1/events.
type EventsJSON struct {
	Events []EventJSON `json:"events"`
	Count  int         `json:"count"`
}

// eventQuery reads the event filters shared by the events API and page.
func (s *Server) eventQuery(r *http.Request) (store.EventQuery, error) {
	q := r.URL.Query()
	eq := store.EventQuery{Tenant: q.Get("tenant"), Integration: q.Get("integration"), Endpoint: q.Get("endpoint"),
		Family: q.Get("family"), Source: q.Get("source"), Newest: true, Limit: 100}
	var err error
	if eq.From, err = s.parseTime("from", q.Get("from")); err != nil {
		return eq, err
	}
	if eq.To, err = s.parseTime("to", q.Get("to")); err != nil {
		return eq, err
	}
	if eq.Family != "" && !catalog.Family(eq.Family).Valid() {
		return eq, badf("unknown family %q", eq.Family)
	}
	switch q.Get("errors_only") {
	case "", "0", "false":
	case "1", "true":
		eq.ErrorsOnly = true
	default:
		return eq, badf("errors_only must be true or false")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return eq, badf("limit must be 1..1000")
		}
		eq.Limit = n
	}
	return eq, nil
}

func maskEvent(rec store.EventRecord) EventJSON {
	rec.URL = redact.String(rec.URL)
	body := redact.String(string(rec.Body))
	rec.Body = nil
	return EventJSON{EventRecord: rec, BodySample: body}
}

func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	q, err := s.eventQuery(r)
	if err != nil {
		s.apiFail(w, r, "list events", err)
		return
	}
	recs, err := s.st.QueryEvents(r.Context(), q)
	if err != nil {
		s.apiFail(w, r, "list events", err)
		return
	}
	out := EventsJSON{Events: make([]EventJSON, len(recs)), Count: len(recs)}
	for i, rec := range recs {
		out.Events[i] = maskEvent(rec)
	}
	writeJSON(w, http.StatusOK, out)
}

// AggregateJSON is GET /api/v1/events/aggregate.
type AggregateJSON struct {
	From          time.Time           `json:"from"`
	To            time.Time           `json:"to"`
	BucketSeconds int64               `json:"bucket_seconds"`
	By            []string            `json:"by"`
	Buckets       []store.EventBucket `json:"buckets"`
}

func (s *Server) apiAggregate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.now().UTC()
	aq := store.AggregateQuery{Tenant: q.Get("tenant"), Integration: q.Get("integration"), Endpoint: q.Get("endpoint"),
		Family: q.Get("family"), From: now.Add(-24 * time.Hour), To: now, By: []store.Dimension{store.DimFamily, store.DimCode}}
	fail := func(err error) { s.apiFail(w, r, "aggregate events", err) }
	if v := q.Get("from"); v != "" {
		t, err := s.parseTime("from", v)
		if err != nil {
			fail(err)
			return
		}
		aq.From = t
	}
	if v := q.Get("to"); v != "" {
		t, err := s.parseTime("to", v)
		if err != nil {
			fail(err)
			return
		}
		aq.To = t
	}
	if !aq.From.Before(aq.To) {
		fail(badf("from must be before to"))
		return
	}
	if aq.Family != "" && !catalog.Family(aq.Family).Valid() {
		fail(badf("unknown family %q", aq.Family))
		return
	}
	if v := q.Get("bucket"); v != "" {
		d, err := parseRange(v)
		if err != nil || d < time.Minute {
			fail(badf("bucket %q: want a duration of at least 1m, e.g. 1h", v))
			return
		}
		if aq.To.Sub(aq.From)/d > 5000 {
			fail(badf("bucket %q gives more than 5000 buckets for this range", v))
			return
		}
		aq.Bucket = d
	}
	if v := q.Get("by"); v != "" {
		aq.By = []store.Dimension{}
		for _, d := range strings.Split(v, ",") {
			switch dim := store.Dimension(strings.TrimSpace(d)); dim {
			case store.DimTenant, store.DimIntegration, store.DimSource, store.DimEndpoint, store.DimFamily, store.DimCode, store.DimSurface, store.DimStatus:
				aq.By = append(aq.By, dim)
			default:
				fail(badf("by: unknown dimension %q (want tenant, integration, source, endpoint, family, code, surface, status)", d))
				return
			}
		}
	}
	switch q.Get("errors_only") {
	case "", "1", "true":
		aq.ErrorsOnly = true
	case "0", "false":
	default:
		fail(badf("errors_only must be true or false"))
		return
	}
	rows, err := s.st.AggregateEvents(r.Context(), aq)
	if err != nil {
		fail(err)
		return
	}
	out := AggregateJSON{From: aq.From, To: aq.To, BucketSeconds: int64(aq.Bucket / time.Second), By: []string{}, Buckets: rows}
	if out.Buckets == nil {
		out.Buckets = []store.EventBucket{}
	}
	for _, d := range aq.By {
		out.By = append(out.By, string(d))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiObjects(w http.ResponseWriter, r *http.Request) {
	v, err := s.buildObjects(r.Context(), r.URL.Query().Get("type"), r.URL.Query().Get("tenant"))
	if err != nil {
		s.apiFail(w, r, "list objects", err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// UsageJSON is GET /api/v1/usage.
type UsageJSON struct {
	Rows  []store.UsageRow `json:"rows"`
	Total int64            `json:"total"`
}

func (s *Server) apiUsage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.now().UTC()
	uq := store.UsageQuery{Tenant: q.Get("tenant"), From: now.Truncate(24 * time.Hour), To: now}
	for _, p := range []struct {
		key string
		dst *time.Time
	}{{"from", &uq.From}, {"to", &uq.To}} {
		if v := q.Get(p.key); v != "" {
			t, err := time.Parse("2006-01-02", v)
			if err != nil {
				s.apiFail(w, r, "read usage", badf("%s %q: want a UTC date YYYY-MM-DD", p.key, v))
				return
			}
			*p.dst = t
		}
	}
	rows, err := s.st.Usage(r.Context(), uq)
	if err != nil {
		s.apiFail(w, r, "read usage", err)
		return
	}
	out := UsageJSON{Rows: rows}
	if out.Rows == nil {
		out.Rows = []store.UsageRow{}
	}
	for _, u := range rows {
		out.Total += u.Calls
	}
	writeJSON(w, http.StatusOK, out)
}

// readBody reads a request body up to limit bytes; larger bodies fail.
func readBody(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, badf("cannot read the %s: %v", what, err)
	}
	if int64(len(b)) > limit {
		return nil, badf("the %s is larger than %d bytes", what, limit)
	}
	return b, nil
}

func (s *Server) apiExplain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status, err := parseStatus(q.Get("status"))
	if err != nil {
		s.apiFail(w, r, "explain", err)
		return
	}
	var ex *Explanation
	if r.Method == http.MethodPost {
		body, err := readBody(r.Body, maxExplainBody, "response body")
		if err == nil {
			ex, err = s.explainBody(body, q.Get("surface"), status)
		}
		if err != nil {
			s.apiFail(w, r, "explain", err)
			return
		}
	} else {
		ex, err = s.explainQuery(q.Get("q"), q.Get("surface"), status)
		if err != nil {
			s.apiFail(w, r, "explain", err)
			return
		}
	}
	writeJSON(w, http.StatusOK, ex)
}

// scanSettings reads window and consecutive from the query or form.
func scanSettings(get func(string) string) (time.Duration, int, error) {
	window, consecutive := scan.DefaultWindow, 0
	if v := get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return 0, 0, badf("window %q: want a duration like 15m", v)
		}
		window = d
	}
	if v := get("consecutive"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return 0, 0, badf("consecutive %q: want 1..1000", v)
		}
		consecutive = n
	}
	return window, consecutive, nil
}

// apiScan is POST /api/v1/scan: the request body is a log (JSON lines, a
// JSON array or CSV, gzip or not); the answer is the `scan --format json`
// report. Nothing is stored.
func (s *Server) apiScan(w http.ResponseWriter, r *http.Request) {
	window, consecutive, err := scanSettings(r.URL.Query().Get)
	if err != nil {
		s.apiFail(w, r, "scan", err)
		return
	}
	name := "upload"
	if ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && strings.HasPrefix(ct, "multipart/") {
		_ = params
		writeError(w, http.StatusUnsupportedMediaType, "send the log as the request body (application/x-ndjson, text/csv or application/gzip), not as a multipart form")
		return
	}
	data, err := readBody(r.Body, s.opt.MaxUpload, "log")
	if err != nil {
		s.apiFail(w, r, "scan", err)
		return
	}
	rep, err := s.runScan(r.Context(), name, data, window, consecutive)
	if err != nil {
		s.apiFail(w, r, "scan", err)
		return
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, rep); err != nil {
		s.apiFail(w, r, "render the scan report", err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
