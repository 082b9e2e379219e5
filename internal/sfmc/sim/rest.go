package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const docURL = "https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/error-handling.htm"

// cst is the zone SFMC writes zone-less REST and SOAP timestamps in
// (Central Standard Time, no daylight saving).
var cst = time.FixedZone("CST", -6*3600)

const zeroDate = "0001-01-01T00:00:00"

// fmtREST formats like SFMC's REST APIs: CST, no offset.
func fmtREST(t time.Time) string {
	if t.IsZero() {
		return zeroDate
	}
	return t.In(cst).Format("2006-01-02T15:04:05.999")
}

// fmtLegacy formats like the legacy automation API: UTC with Z.
func fmtLegacy(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999Z") }

// fmtUS formats like some SOAP string dates ("5/9/2024 12:00:00 AM").
func fmtUS(t time.Time) string { return t.In(cst).Format("1/2/2006 3:04:05 PM") }

type tenantHandler func(w http.ResponseWriter, r *http.Request, t *tenant, now time.Time)

// statusWriter records the status code for the stats.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (sw *statusWriter) WriteHeader(code int) {
	if sw.status == 0 {
		sw.status = code
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	return sw.ResponseWriter.Write(b)
}

func (sw *statusWriter) Flush() {
	if f, ok := sw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// ctxKey carries the SOAP route name back to the stats wrapper.
type ctxKey struct{}

type routeName struct{ name string }

func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	counted := func(route string, h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			sw := &statusWriter{ResponseWriter: w}
			rn := &routeName{name: route}
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, rn))
			h(sw, r)
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			s.count(rn.name, sw.status)
			s.log.Debug("sim request", "route", rn.name, "status", sw.status, "path", r.URL.Path)
		}
	}
	rest := func(pattern, scope string, h tenantHandler) {
		mux.HandleFunc(pattern, counted(pattern, func(w http.ResponseWriter, r *http.Request) {
			s.serveREST(w, r, scope, h)
		}))
	}
	mux.HandleFunc("POST /v2/token", counted("POST /v2/token", func(w http.ResponseWriter, r *http.Request) {
		if s.applyRequestFaults(w, r, reqCtx{surface: "auth", path: r.URL.Path}) {
			return
		}
		s.handleToken(w, r)
	}))
	mux.HandleFunc("POST /Service.asmx", counted("SOAP", s.handleSOAP))
	mux.HandleFunc("POST /service.asmx", counted("SOAP", s.handleSOAP))

	rest("GET /automation/v1/automations", "automations_read", s.handleAutomations)
	rest("GET /automation/v1/automations/{id}", "automations_read", s.handleAutomation)
	rest("GET /legacy/v1/beta/bulk/automations/automation/definition/{$}", "automations_read", s.handleLegacyList)
	rest("GET /legacy/v1/beta/bulk/automations/automation/definition/{id}", "automations_read", s.handleLegacyOne)
	rest("GET /legacy/v1/beta/automations/notifications/{id}", "automations_read", s.handleLegacyNotifications)
	rest("GET /automation/v1/imports", "automations_read", s.handleImports)
	rest("GET /automation/v1/imports/{id}", "automations_read", s.handleImport)

	rest("GET /interaction/v1/interactions", "journeys_read", s.handleJourneys)
	rest("GET /interaction/v1/interactions/{id}", "journeys_read", s.handleJourney)
	rest("GET /interaction/v1/interactions/{id}/audit/{action}", "journeys_read", s.handleJourneyAudit)
	rest("GET /interaction/v1/eventDefinitions/{id}", "journeys_read", s.handleEventDefinition)
	rest("POST /interaction/v1/events", "journeys_execute", s.handleEntryEvent)
	rest("POST /interaction/v1/interactions/journeyhistory/download", "journeys_read", s.handleJourneyHistory)

	rest("GET /messaging/v1/email/definitions", "email_read", s.handleTxDefinitions)
	rest("GET /messaging/v1/email/definitions/{key}", "email_read", s.handleTxDefinition)
	rest("GET /messaging/v1/email/definitions/{key}/queue", "email_read", s.handleTxQueue)
	rest("GET /messaging/v1/email/messages", "email_read", s.handleNotSent)
	rest("GET /messaging/v1/email/messages/{$}", "email_read", s.handleNotSent)

	rest("GET /data/v1/customobjectdata/key/{key}/rowset", "data_extensions_read", s.handleRowset)
	rest("GET /data/v1/audit/auditEvents", "tracking_events_read", s.handleAuditEvents)
	rest("GET /data/v1/audit/securityEvents", "tracking_events_read", s.handleSecurityEvents)

	s.adminRoutes(mux)
	s.trustRoutes(mux, counted)

	mux.HandleFunc("/", counted("unknown", func(w http.ResponseWriter, r *http.Request) {
		restError(w, http.StatusNotFound, 404, "Not Found")
	}))
	return mux
}

// serveREST authenticates the bearer token, applies request faults and
// calls h with the token's tenant.
func (s *Sim) serveREST(w http.ResponseWriter, r *http.Request, scope string, h tenantHandler) {
	now := s.clock.Now()
	auth := r.Header.Get("Authorization")
	v, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		v, ok = strings.CutPrefix(auth, "bearer ")
	}
	if !ok || v == "" {
		notAuthorized(w)
		return
	}
	tok, valid := s.tokens.lookup(strings.TrimSpace(v), s.clock.RealNow())
	if !valid {
		notAuthorized(w)
		return
	}
	rc := reqCtx{surface: "rest", path: r.URL.Path, mid: tok.mid, scope: scope}
	if since, f := s.faults.tokenExpiredSince(now, rc); f != nil && !tok.issuedSim.After(since) {
		s.faults.use(f.ID)
		notAuthorized(w)
		return
	}
	if f := s.faults.take(now, rc, FaultScopeRemoved); f != nil || !hasScope(tok.scopes, scope) {
		restError(w, http.StatusForbidden, 20002, "Insufficient privileges")
		return
	}
	if s.applyRequestFaults(w, r, rc) {
		return
	}
	t := s.tenants[tok.mid]
	h(w, r, t, now)
}

func hasScope(scopes []string, want string) bool {
	if want == "" {
		return true
	}
	for _, s := range scopes {
		if s == want {
			return true
		}
	}
	return false
}

// applyRequestFaults answers the request when a request fault applies and
// reports whether it did. Slow faults delay and let the request continue.
func (s *Sim) applyRequestFaults(w http.ResponseWriter, r *http.Request, rc reqCtx) bool {
	now := s.clock.Now()
	if f := s.faults.take(now, rc, FaultTimeout); f != nil {
		t := time.NewTimer(f.paramDuration("hold", 2*time.Minute))
		defer t.Stop()
		select {
		case <-r.Context().Done():
		case <-t.C:
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusGatewayTimeout)
		_, _ = w.Write([]byte("<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n"))
		return true
	}
	if f := s.faults.take(now, rc, FaultSlow); f != nil {
		t := time.NewTimer(f.paramDuration("delay", 5*time.Second))
		select {
		case <-r.Context().Done():
			t.Stop()
			return true
		case <-t.C:
		}
	}
	soap := rc.surface == "soap"
	if f := s.faults.take(now, rc, FaultSOAPThrottle, FaultRESTBlocked, FaultRESTThrottle, FaultUnavailable, FaultServerError); f != nil {
		switch {
		case f.Kind == FaultSOAPThrottle || (soap && (f.Kind == FaultRESTThrottle || f.Kind == FaultRESTBlocked)):
			soapServerFault(w, s.baseURL(r), "Rate Limited", 17)
		case soap && f.Kind == FaultUnavailable:
			soapServerFault(w, s.baseURL(r), "Unplanned Outage", 2)
		case soap:
			soapServerFault(w, s.baseURL(r), "Exception occurred during [Retrieve] ErrorID: "+hashGUID(hashString(f.ID), uint64(now.UnixNano())), 2)
		case f.Kind == FaultRESTThrottle:
			ra := int(f.paramFloat("retry_after", 5))
			w.Header().Set("Retry-After", strconv.Itoa(ra))
			writeJSON(w, http.StatusTooManyRequests, struct {
				Message       string `json:"message"`
				ErrorCode     int    `json:"errorcode"`
				RetryAfter    int    `json:"retryAfter"`
				Documentation string `json:"documentation"`
			}{"Rate limit exceeded", 50100, ra, docURL})
		case f.Kind == FaultRESTBlocked:
			restError(w, http.StatusTooManyRequests, 50200, "Your requests are temporarily blocked.")
		case f.Kind == FaultUnavailable:
			w.Header().Set("Retry-After", strconv.Itoa(int(f.paramFloat("retry_after", 30))))
			restError(w, http.StatusServiceUnavailable, 50300, "Service Unavailable")
		default:
			restError(w, http.StatusInternalServerError, 0, "Internal Server Error")
		}
		return true
	}
	return false
}

func notAuthorized(w http.ResponseWriter) {
	restError(w, http.StatusUnauthorized, 0, "Not Authorized")
}

// restError writes SFMC's classic REST error body.
func restError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, struct {
		Message       string `json:"message"`
		ErrorCode     int    `json:"errorcode"`
		Documentation string `json:"documentation"`
	}{msg, code, docURL})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// queryInt reads the first of names (case-insensitive) from the query.
func queryInt(r *http.Request, def int, names ...string) int {
	q := r.URL.Query()
	for k, vs := range q {
		for _, n := range names {
			if strings.EqualFold(k, n) && len(vs) > 0 {
				if v, err := strconv.Atoi(vs[0]); err == nil {
					return v
				}
			}
		}
	}
	return def
}

func queryStr(r *http.Request, names ...string) string {
	q := r.URL.Query()
	for k, vs := range q {
		for _, n := range names {
			if strings.EqualFold(k, n) && len(vs) > 0 {
				return vs[0]
			}
		}
	}
	return ""
}

// pageBounds returns page (1-based), size and the slice bounds for n items.
func pageBounds(r *http.Request, n, def, maxSize int) (page, size, lo, hi int) {
	page = max(queryInt(r, 1, "$page", "page"), 1)
	size = queryInt(r, def, "$pageSize", "pageSize", "$pagesize")
	if size < 1 {
		size = def
	}
	if size > maxSize {
		size = maxSize
	}
	lo = min((page-1)*size, n)
	hi = min(lo+size, n)
	return page, size, lo, hi
}

type emptyObj struct{}

func strconvItoa(i int) string { return strconv.Itoa(i) }
