package web

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/report"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/scan"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// ---- login ----

type loginData struct{ Next, Name string }

// safeNext keeps redirects on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if whoami(r).Name != "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", pageData{Title: "Sign in", Data: loginData{Next: next}})
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "Cannot sign in", "The form could not be read.")
		return
	}
	name, pw, next := strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("password"), safeNext(r.PostForm.Get("next"))
	cookie, wait, err := s.login(r, name, pw)
	if err != nil {
		status, msg := http.StatusUnauthorized, "Wrong user name or password."
		if wait > 0 {
			status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
			msg = fmt.Sprintf("Too many failed sign-ins; try again in %s.", human(wait))
		} else if !errors.Is(err, errWrongLogin) {
			s.log.Error("login failed", "error", err)
			status, msg = http.StatusInternalServerError, "Sign-in is not possible right now; the error was logged."
		}
		// Refusals are not logged one by one (a guessing client would
		// flood the log); a lockout is logged once when it starts.
		s.log.Debug("login refused", "addr", clientAddr(r), "reason", err.Error())
		s.render(w, r, status, "login", pageData{Title: "Sign in", User: identity{}, Error: msg, Data: loginData{Next: next, Name: name}})
		return
	}
	http.SetCookie(w, cookie)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.st.DeleteSession(r.Context(), TokenHash(c.Value)); err != nil {
			s.log.Warn("logout: cannot delete the session", "error", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || s.opt.SecureCookies})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// ---- overview ----

func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request) {
	ov, err := s.buildOverview(r.Context())
	if err != nil {
		s.pageFail(w, r, "build the overview", err)
		return
	}
	s.render(w, r, http.StatusOK, "overview", pageData{Title: "Overview", Nav: "overview", Chart: true, Data: ov})
}

// ---- incidents ----

type incidentFilterForm struct {
	Status, Severity, Family, Tenant, Rule, ResourceKey string
}

type incidentsData struct {
	F         incidentFilterForm
	Tenants   []string
	Incidents []IncidentJSON
	Limit     int
}

func (s *Server) incidentsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := incidentFilterForm{Status: q.Get("status"), Severity: q.Get("severity"), Family: q.Get("family"),
		Tenant: q.Get("tenant"), Rule: strings.TrimSpace(q.Get("rule")), ResourceKey: q.Get("resource_key")}
	switch f.Status {
	case "", "open", "resolved":
	default:
		s.pageFail(w, r, "list incidents", badf("status must be open or resolved"))
		return
	}
	if f.Family != "" && !catalog.Family(f.Family).Valid() {
		s.pageFail(w, r, "list incidents", badf("unknown family %q", f.Family))
		return
	}
	if f.Severity != "" {
		if _, err := catalog.ParseSeverity(f.Severity); err != nil {
			s.pageFail(w, r, "list incidents", badf("unknown severity %q", f.Severity))
			return
		}
	}
	const limit = 200
	list, err := s.st.ListIncidents(r.Context(), store.IncidentFilter{Status: store.IncidentStatus(f.Status), Severity: f.Severity,
		Family: f.Family, Tenant: f.Tenant, Rule: f.Rule, ResourceKey: f.ResourceKey, Limit: limit})
	if err != nil {
		s.pageFail(w, r, "list incidents", err)
		return
	}
	tenants, err := s.tenantNames(r.Context())
	if err != nil {
		s.pageFail(w, r, "list incidents", err)
		return
	}
	d := incidentsData{F: f, Tenants: tenants, Limit: limit, Incidents: make([]IncidentJSON, len(list))}
	for i, in := range list {
		d.Incidents[i] = toJSON(in)
	}
	s.render(w, r, http.StatusOK, "incidents", pageData{Title: "Incidents", Nav: "incidents", Data: d})
}

// TimelineStep is one step of an incident's life.
type TimelineStep struct {
	What string    `json:"what"`
	At   time.Time `json:"at"`
	Note string    `json:"note,omitempty"`
}

// Diff is what changed between two snapshots of the incident's object.
type Diff struct {
	Title         string     `json:"title"`
	Before, After time.Time  `json:"-"`
	Lines         []DiffLine `json:"lines"`
}

// DiffLine is one changed property.
type DiffLine struct {
	Kind   string `json:"kind"` // added, removed, changed
	What   string `json:"what"`
	Before string `json:"before"`
	After  string `json:"after"`
}

type incidentData struct {
	Incident      IncidentJSON
	Timeline      []TimelineStep
	Events        []EventJSON
	Snapshots     []store.Snapshot
	Diffs         []Diff
	EvidenceTotal int
	Missing       int
	// Children are the incidents this one explains (their caused_by).
	Children []IncidentJSON
}

// notifiedAt finds the first delivered notification that mentions the
// incident (its fingerprint in the payload); zero when none.
func (s *Server) notifiedAt(r *http.Request, inc store.Incident) (time.Time, string) {
	ob, ok := s.st.(outboxLister)
	if !ok {
		return time.Time{}, "no notifier configured"
	}
	msgs, err := ob.ListNotifications(r.Context(), store.OutboxFilter{Status: store.OutboxSent, Limit: 500})
	if err != nil {
		s.log.Warn("incident page: outbox", "error", err)
		return time.Time{}, "outbox unreadable"
	}
	var first time.Time
	var recv string
	for _, m := range msgs {
		if bytes.Contains(m.Payload, []byte(inc.Fingerprint)) && !m.SentAt.IsZero() && (first.IsZero() || m.SentAt.Before(first)) {
			first, recv = m.SentAt, m.Receiver
		}
	}
	if first.IsZero() {
		return first, "no notification sent (yet)"
	}
	return first, "to " + recv
}

func (s *Server) incidentPage(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r)
	if err != nil {
		s.pageFail(w, r, "show the incident", err)
		return
	}
	inc, err := s.st.GetIncident(r.Context(), id)
	if err != nil {
		s.pageFail(w, r, "show incident "+strconv.FormatInt(id, 10), err)
		return
	}
	d := incidentData{Incident: toJSON(inc), EvidenceTotal: len(inc.Evidence)}
	if kids, err := s.st.ListIncidents(r.Context(), store.IncidentFilter{CausedBy: inc.ID, Limit: 1000}); err == nil {
		for _, k := range kids {
			d.Children = append(d.Children, toJSON(k))
		}
	}
	notified, note := s.notifiedAt(r, inc)
	failed := TimelineStep{What: "Failure began", At: inc.FailureStartedAt, Note: "by SFMC's own timestamps"}
	opened := "detected " + human(inc.TTD) + " after the first evidence"
	if inc.FailureKnown() {
		opened += ", " + human(inc.TTDSinceFailure) + " after the failure began"
	} else {
		failed.Note = "unknown: SFMC's records give no start time"
	}
	d.Timeline = []TimelineStep{
		failed,
		{What: "First evidence", At: inc.FirstSeen, Note: "first seen by sfmcwatch"},
		{What: "Opened", At: inc.OpenedAt, Note: opened},
		{What: "Notified", At: notified, Note: note},
		{What: "Acknowledged", At: inc.AcknowledgedAt},
		{What: "Resolved", At: inc.ResolvedAt},
	}
	ack, resolved := &d.Timeline[4], &d.Timeline[5]
	if !inc.AcknowledgedAt.IsZero() {
		ack.Note = "by " + inc.AcknowledgedBy
	}
	if !inc.ResolvedAt.IsZero() {
		resolved.Note = "open for " + human(inc.ResolvedAt.Sub(inc.OpenedAt))
	}
	if inc.Status == store.IncidentOpen {
		resolved.Note = "still open; last seen " + ago(s.now(), inc.LastSeen)
	}
	ev := inc.Evidence
	if len(ev) > maxInlineEvidence {
		ev = ev[len(ev)-maxInlineEvidence:]
	}
	events, snaps := s.lookupEvidence(r, inc, ev)
	for _, e := range ev {
		switch e.Kind {
		case store.EvidenceEvent:
			if rec, ok := events[e.RefID]; ok {
				d.Events = append(d.Events, maskEvent(rec))
				continue
			}
		case store.EvidenceSnapshot:
			if sn, ok := snaps[e.RefID]; ok {
				d.Snapshots = append(d.Snapshots, sn)
				continue
			}
		}
		d.Missing++
	}
	slices.SortFunc(d.Events, func(a, b EventJSON) int { return b.TS.Compare(a.TS) })
	slices.SortFunc(d.Snapshots, func(a, b store.Snapshot) int { return b.ObservedAt.Compare(a.ObservedAt) })
	d.Diffs = s.snapshotDiffs(r, inc, d.Snapshots)
	s.render(w, r, http.StatusOK, "incident", pageData{Title: "Incident #" + strconv.FormatInt(id, 10), Nav: "incidents", Data: d})
}

// maxDiffs bounds the snapshot comparisons on one page.
const maxDiffs = 3

// snapshotDiffs compares the newest evidence snapshots with the snapshot
// before each: status, row count, counters, and for data extensions the
// schema (fields added, removed or retyped).
func (s *Server) snapshotDiffs(r *http.Request, inc store.Incident, snaps []store.Snapshot) []Diff {
	var out []Diff
	for _, sn := range snaps {
		if len(out) == maxDiffs {
			break
		}
		prev, ok := s.previousSnapshot(r, sn)
		if !ok {
			continue
		}
		d := Diff{Title: typeLabel(sn.ResourceType) + " " + sn.ResourceKey, Before: prev.ObservedAt, After: sn.ObservedAt}
		if prev.Status != sn.Status {
			d.Lines = append(d.Lines, DiffLine{Kind: "changed", What: "status", Before: prev.Status, After: sn.Status})
		}
		if pr, cr := rowText(prev.RowCount), rowText(sn.RowCount); pr != cr {
			d.Lines = append(d.Lines, DiffLine{Kind: "changed", What: "row count", Before: pr, After: cr})
		}
		keys := map[string]bool{}
		for k := range prev.Counters {
			keys[k] = true
		}
		for k := range sn.Counters {
			keys[k] = true
		}
		for _, k := range sortedKeys(keys) {
			pv, pok := prev.Counters[k]
			cv, cok := sn.Counters[k]
			if pok != cok || pv != cv {
				d.Lines = append(d.Lines, DiffLine{Kind: "changed", What: "counter " + k, Before: thousands(pv), After: thousands(cv)})
			}
		}
		d.Lines = append(d.Lines, s.schemaDiff(r, sn)...)
		if len(d.Lines) > 0 {
			out = append(out, d)
		}
	}
	return out
}

// previousSnapshot returns the snapshot observed just before sn.
func (s *Server) previousSnapshot(r *http.Request, sn store.Snapshot) (store.Snapshot, bool) {
	// The history is oldest first: look back in growing windows so a
	// resource polled every few minutes costs one small query.
	for _, back := range []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} {
		hist, err := s.st.SnapshotHistory(r.Context(), sn.ResourceRef, sn.ObservedAt.Add(-back), sn.ObservedAt, 10000)
		if err != nil {
			return store.Snapshot{}, false
		}
		for i := len(hist) - 1; i >= 0; i-- {
			if hist[i].ID != sn.ID && hist[i].ObservedAt.Before(sn.ObservedAt) {
				return hist[i], true
			}
		}
	}
	return store.Snapshot{}, false
}

// schemaDiff lists field changes of a data extension whose schema changed
// at this snapshot, comparing with the fields read before the change.
func (s *Server) schemaDiff(r *http.Request, sn store.Snapshot) []DiffLine {
	if sn.ResourceType != string(resource.DataExtension) {
		return nil
	}
	var cur resource.DataExtensionState
	if err := resource.Decode(sn, &cur); err != nil || cur.PreviousFieldsAt.IsZero() || cur.Fields == nil {
		return nil
	}
	hist, err := s.st.SnapshotHistory(r.Context(), sn.ResourceRef, cur.PreviousFieldsAt, cur.PreviousFieldsAt.Add(time.Microsecond), 1)
	if err != nil || len(hist) == 0 {
		return nil
	}
	var old resource.DataExtensionState
	if err := resource.Decode(hist[0], &old); err != nil || old.Fields == nil {
		return nil
	}
	return fieldDiff(old.Fields, cur.Fields)
}

func fieldText(f resource.Field) string {
	s := f.Type
	if f.MaxLength > 0 {
		s += "(" + strconv.Itoa(f.MaxLength) + ")"
	}
	if f.PrimaryKey {
		s += " primary key"
	} else if f.Required {
		s += " required"
	}
	return s
}

func fieldDiff(before, after []resource.Field) []DiffLine {
	old := map[string]resource.Field{}
	for _, f := range before {
		old[strings.ToLower(f.Name)] = f
	}
	var out []DiffLine
	seen := map[string]bool{}
	for _, f := range after {
		k := strings.ToLower(f.Name)
		seen[k] = true
		o, ok := old[k]
		switch {
		case !ok:
			out = append(out, DiffLine{Kind: "added", What: "field " + f.Name, Before: "—", After: fieldText(f)})
		case fieldText(o) != fieldText(f):
			out = append(out, DiffLine{Kind: "changed", What: "field " + f.Name, Before: fieldText(o), After: fieldText(f)})
		}
	}
	for _, f := range before {
		if !seen[strings.ToLower(f.Name)] {
			out = append(out, DiffLine{Kind: "removed", What: "field " + f.Name, Before: fieldText(f), After: "—"})
		}
	}
	return out
}

func rowText(p *int64) string {
	if p == nil {
		return "—"
	}
	return thousands(*p)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (s *Server) ackSubmit(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r)
	if err != nil {
		s.pageFail(w, r, "acknowledge", err)
		return
	}
	if _, err := s.st.AcknowledgeIncident(r.Context(), id, whoami(r).Name, s.now()); err != nil {
		s.pageFail(w, r, "acknowledge incident "+strconv.FormatInt(id, 10), err)
		return
	}
	s.log.Info("incident acknowledged", "id", id, "by", whoami(r).Name)
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(id, 10)+"?done=ack", http.StatusSeeOther)
}

func (s *Server) resolveSubmit(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r)
	if err != nil {
		s.pageFail(w, r, "resolve", err)
		return
	}
	if _, err := s.st.ResolveIncident(r.Context(), id, s.now()); err != nil {
		s.pageFail(w, r, "resolve incident "+strconv.FormatInt(id, 10), err)
		return
	}
	s.log.Info("incident resolved by hand", "id", id, "by", whoami(r).Name)
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(id, 10)+"?done=resolved", http.StatusSeeOther)
}

func (s *Server) silenceSimilarSubmit(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r)
	if err == nil {
		err = parseSmallForm(w, r)
	}
	if err != nil {
		s.pageFail(w, r, "silence", err)
		return
	}
	inc, err := s.st.GetIncident(r.Context(), id)
	if err != nil {
		s.pageFail(w, r, "silence incident "+strconv.FormatInt(id, 10), err)
		return
	}
	ms := []store.SilenceMatcher{{Label: "rule", Op: store.MatchEqual, Value: inc.Rule}, {Label: "tenant", Op: store.MatchEqual, Value: inc.Tenant}}
	switch r.PostForm.Get("scope") {
	case "", "object":
		ms = append(ms, store.SilenceMatcher{Label: "resource_key", Op: store.MatchEqual, Value: inc.ResourceKey})
	case "rule":
	default:
		s.pageFail(w, r, "silence", badf("scope must be object or rule"))
		return
	}
	sil, err := s.createSilence(r.Context(), SilenceRequest{Matchers: ms, Duration: cmp.Or(r.PostForm.Get("duration"), "4h"),
		Comment: r.PostForm.Get("comment")}, whoami(r).Name)
	if err != nil {
		s.pageFail(w, r, "create the silence", err)
		return
	}
	http.Redirect(w, r, "/silences?done=silenced#silence-"+strconv.FormatInt(sil.ID, 10), http.StatusSeeOther)
}

func parseSmallForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return badf("the form could not be read: %v", err)
	}
	return nil
}

// ---- API errors ----

type rangeForm struct{ Range, Tenant, Integration, Family string }

type codeRow struct {
	Family, Surface, Code, Title, Owner string
	Events                              int64
	Href                                string
}

type endpointRow struct {
	Integration, Endpoint, Family string
	Events                        int64
	Href                          string
}

type errorsData struct {
	F           rangeForm
	Tenants     []string
	Total       int64
	Timeline    Timeline
	BucketLabel string
	Codes       []codeRow
	Endpoints   []endpointRow
}

func (s *Server) readRangeForm(r *http.Request) (rangeForm, time.Duration, error) {
	q := r.URL.Query()
	f := rangeForm{Range: cmp.Or(q.Get("range"), "24h"), Tenant: q.Get("tenant"), Integration: strings.TrimSpace(q.Get("integration")), Family: q.Get("family")}
	d, err := parseRange(f.Range)
	if err != nil {
		return f, 0, err
	}
	if d > 90*24*time.Hour {
		return f, 0, badf("range %q: at most 90d", f.Range)
	}
	if f.Family != "" && !catalog.Family(f.Family).Valid() {
		return f, 0, badf("unknown family %q", f.Family)
	}
	return f, d, nil
}

func eventsHref(v url.Values) string { return "/errors/events?" + v.Encode() }

func (s *Server) errorsPage(w http.ResponseWriter, r *http.Request) {
	f, span, err := s.readRangeForm(r)
	if err != nil {
		s.pageFail(w, r, "show API errors", err)
		return
	}
	ctx := r.Context()
	now := s.now().UTC()
	from := now.Add(-span)
	bucket := time.Hour
	switch {
	case span <= 24*time.Hour:
		bucket = 15 * time.Minute
	case span > 7*24*time.Hour:
		bucket = 6 * time.Hour
	}
	// One scan of the period's error events, grouped finely; the
	// timeline, the code table and the endpoint table are sums of it.
	q := store.AggregateQuery{From: from, To: now, Tenant: f.Tenant, Integration: f.Integration, Family: f.Family, ErrorsOnly: true,
		Bucket: bucket, By: []store.Dimension{store.DimFamily, store.DimSurface, store.DimCode, store.DimIntegration, store.DimEndpoint}}
	d := errorsData{F: f, BucketLabel: human(bucket)}
	if d.Tenants, err = s.tenantNames(ctx); err != nil {
		s.pageFail(w, r, "show API errors", err)
		return
	}
	rows, err := s.st.AggregateEvents(ctx, q)
	if err != nil {
		s.pageFail(w, r, "show API errors", err)
		return
	}
	d.Timeline = denseTimeline(rows, from, now, bucket, func(b store.EventBucket) string { return b.Family }, familyOrder)
	link := func(extra map[string]string) string {
		v := url.Values{"range": {f.Range}}
		for k, val := range map[string]string{"tenant": f.Tenant, "integration": f.Integration, "family": f.Family} {
			if val != "" {
				v.Set(k, val)
			}
		}
		for k, val := range extra {
			if val != "" {
				v.Set(k, val)
			}
		}
		return eventsHref(v)
	}
	type codeKey struct{ family, surface, code string }
	type epKey struct{ integration, endpoint, family string }
	codes, eps := map[codeKey]int64{}, map[epKey]int64{}
	for _, row := range rows {
		d.Total += row.Events
		codes[codeKey{row.Family, row.Surface, row.Code}] += row.Events
		eps[epKey{row.Integration, row.Endpoint, row.Family}] += row.Events
	}
	for k, n := range codes {
		e := s.cat.Resolve(catalog.Surface(k.surface), k.code, "", 0)
		d.Codes = append(d.Codes, codeRow{Family: k.family, Surface: k.surface, Code: k.code, Title: e.Title, Owner: string(e.Owner),
			Events: n, Href: link(map[string]string{"family": k.family, "code": k.code})})
	}
	slices.SortFunc(d.Codes, func(a, b codeRow) int {
		return cmp.Or(cmp.Compare(b.Events, a.Events), cmp.Compare(a.Surface+":"+a.Code, b.Surface+":"+b.Code))
	})
	for k, n := range eps {
		d.Endpoints = append(d.Endpoints, endpointRow{Integration: k.integration, Endpoint: k.endpoint, Family: k.family, Events: n,
			Href: link(map[string]string{"integration": k.integration, "endpoint": k.endpoint, "family": k.family})})
	}
	slices.SortFunc(d.Endpoints, func(a, b endpointRow) int {
		return cmp.Or(cmp.Compare(b.Events, a.Events), cmp.Compare(a.Integration+a.Endpoint+a.Family, b.Integration+b.Endpoint+b.Family))
	})
	if len(d.Endpoints) > 50 {
		d.Endpoints = d.Endpoints[:50]
	}
	s.render(w, r, http.StatusOK, "errors", pageData{Title: "API errors", Nav: "errors", Chart: true, Data: d})
}

type eventsData struct {
	Describe string
	Events   []EventJSON
}

func (s *Server) eventsPage(w http.ResponseWriter, r *http.Request) {
	f, span, err := s.readRangeForm(r)
	if err != nil {
		s.pageFail(w, r, "list events", err)
		return
	}
	q := r.URL.Query()
	code := q.Get("code")
	eq := store.EventQuery{From: s.now().Add(-span), Tenant: f.Tenant, Integration: f.Integration, Family: f.Family,
		Endpoint: q.Get("endpoint"), ErrorsOnly: true, Newest: true, Limit: 100}
	if code != "" {
		eq.Limit = 2000 // the store filters no codes: take more, keep matches
	}
	recs, err := s.st.QueryEvents(r.Context(), eq)
	if err != nil {
		s.pageFail(w, r, "list events", err)
		return
	}
	d := eventsData{}
	for _, rec := range recs {
		if code != "" && rec.Code != code {
			continue
		}
		d.Events = append(d.Events, maskEvent(rec))
		if len(d.Events) == 100 {
			break
		}
	}
	var parts []string
	for _, p := range [][2]string{{"family", f.Family}, {"code", code}, {"integration", f.Integration}, {"endpoint", eq.Endpoint}, {"tenant", f.Tenant}} {
		if p[1] != "" {
			parts = append(parts, p[0]+" "+p[1])
		}
	}
	d.Describe = "Failed calls in the last " + f.Range
	if len(parts) > 0 {
		d.Describe += " with " + strings.Join(parts, ", ")
	}
	d.Describe += "."
	s.render(w, r, http.StatusOK, "events", pageData{Title: "Events", Nav: "errors", Data: d})
}

// ---- objects ----

func (s *Server) objectsPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.buildObjects(r.Context(), r.URL.Query().Get("type"), r.URL.Query().Get("tenant"))
	if err != nil {
		s.pageFail(w, r, "list objects", err)
		return
	}
	s.render(w, r, http.StatusOK, "objects", pageData{Title: "Monitored objects", Nav: "objects", Data: v})
}

// ---- decoder ----

type decoderData struct {
	Q, Body, Status, Surface string
	Result                   *Explanation
}

func (s *Server) decoderPage(w http.ResponseWriter, r *http.Request) {
	d := decoderData{}
	var err error
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxExplainBody+64<<10)
		if perr := r.ParseForm(); perr != nil {
			err = badf("the form could not be read (a body may be at most %d bytes)", maxExplainBody)
		} else {
			d.Body, d.Status, d.Surface = r.PostForm.Get("body"), strings.TrimSpace(r.PostForm.Get("status")), r.PostForm.Get("surface")
			var st int
			if st, err = parseStatus(d.Status); err == nil {
				d.Result, err = s.explainBody([]byte(d.Body), d.Surface, st)
			}
		}
	} else if d.Q = r.URL.Query().Get("q"); strings.TrimSpace(d.Q) != "" {
		d.Result, err = s.explainQuery(d.Q, "", 0)
	}
	pd := pageData{Title: "Error decoder", Nav: "decoder", Data: d}
	status := http.StatusOK
	if err != nil {
		var br badRequest
		if !errors.As(err, &br) {
			s.pageFail(w, r, "decode", err)
			return
		}
		pd.Error, status = br.msg, http.StatusBadRequest
	}
	s.render(w, r, status, "decoder", pd)
}

// ---- scan ----

type scanData struct {
	Name     string
	Report   *scan.Report
	HTML     string
	Download template.URL
}

func (s *Server) scanPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "scan", pageData{Title: "Log scan", Nav: "scan", Data: scanData{}})
}

func (s *Server) scanSubmit(w http.ResponseWriter, r *http.Request) {
	fail := func(err error) {
		var br badRequest
		if errors.As(err, &br) {
			s.render(w, r, http.StatusBadRequest, "scan", pageData{Title: "Log scan", Nav: "scan", Error: br.msg, Data: scanData{}})
			return
		}
		s.pageFail(w, r, "scan the log", err)
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opt.MaxUpload+1<<20)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		fail(badf("the upload could not be read (at most %d MiB): %v", s.opt.MaxUpload>>20, err))
		return
	}
	defer r.MultipartForm.RemoveAll()
	window, consecutive, err := scanSettings(r.PostForm.Get)
	if err != nil {
		fail(err)
		return
	}
	name := "pasted lines"
	var data []byte
	if f, fh, ferr := r.FormFile("file"); ferr == nil {
		defer f.Close()
		if fh.Size > 0 {
			name = fh.Filename
			if data, err = readBody(f, s.opt.MaxUpload, "log"); err != nil {
				fail(err)
				return
			}
		}
	} else if !errors.Is(ferr, http.ErrMissingFile) {
		fail(badf("the uploaded file could not be read: %v", ferr))
		return
	}
	if len(data) == 0 {
		data = []byte(r.PostForm.Get("lines"))
	}
	rep, err := s.runScan(r.Context(), name, data, window, consecutive)
	if err != nil {
		fail(err)
		return
	}
	var buf bytes.Buffer
	if err := report.WriteHTML(&buf, rep); err != nil {
		fail(err)
		return
	}
	d := scanData{Name: name, Report: rep, HTML: buf.String(),
		// The HTML is our own renderer's output, every log string escaped.
		Download: template.URL("data:text/html;charset=utf-8;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))}
	s.log.Info("log scanned in the browser", "by", whoami(r).Name, "bytes", len(data), "events", rep.Summary.Events)
	s.render(w, r, http.StatusOK, "scan", pageData{Title: "Log scan", Nav: "scan", Data: d})
}

// ---- silences ----

type matcherRow struct{ Label, Op, Value string }

type silencesData struct {
	Unavailable string
	Labels      []string
	Rows        []matcherRow
	Duration    string
	Comment     string
	Silences    []SilenceJSON
}

func (s *Server) silencesPage(w http.ResponseWriter, r *http.Request) {
	s.renderSilences(w, r, http.StatusOK, "", nil)
}

func (s *Server) renderSilences(w http.ResponseWriter, r *http.Request, status int, errMsg string, form *silencesData) {
	d := silencesData{Labels: store.SilenceLabels(), Duration: "2h",
		Rows: []matcherRow{{Label: "rule", Op: "="}, {Op: "="}, {Op: "="}}}
	if form != nil {
		d.Rows, d.Duration, d.Comment = form.Rows, form.Duration, form.Comment
	}
	list, err := s.listSilences(r.Context(), false)
	if errors.Is(err, errNoSilences) {
		d.Unavailable = "Silences need the alerting tables of the store, which this build does not have."
	} else if err != nil {
		s.pageFail(w, r, "list silences", err)
		return
	}
	d.Silences = list
	s.render(w, r, status, "silences", pageData{Title: "Silences", Nav: "silences", Error: errMsg, Data: d})
}

func (s *Server) silenceCreateSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseSmallForm(w, r); err != nil {
		s.pageFail(w, r, "create the silence", err)
		return
	}
	labels, ops, values := r.PostForm["label"], r.PostForm["op"], r.PostForm["value"]
	form := &silencesData{Duration: r.PostForm.Get("duration"), Comment: r.PostForm.Get("comment")}
	var req SilenceRequest
	for i := range labels {
		row := matcherRow{Label: labels[i]}
		if i < len(ops) {
			row.Op = ops[i]
		}
		if i < len(values) {
			row.Value = strings.TrimSpace(values[i])
		}
		form.Rows = append(form.Rows, row)
		if row.Label == "" && row.Value == "" {
			continue
		}
		req.Matchers = append(req.Matchers, store.SilenceMatcher(row))
	}
	req.Duration, req.Comment = form.Duration, form.Comment
	_, err := s.createSilence(r.Context(), req, whoami(r).Name)
	if err != nil {
		var br badRequest
		if errors.As(err, &br) {
			s.renderSilences(w, r, http.StatusBadRequest, br.msg, form)
			return
		}
		s.pageFail(w, r, "create the silence", err)
		return
	}
	http.Redirect(w, r, "/silences?done=silenced", http.StatusSeeOther)
}

func (s *Server) silenceExpireSubmit(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r)
	if err != nil {
		s.pageFail(w, r, "expire the silence", err)
		return
	}
	ss, err := s.silences()
	if err == nil {
		_, err = ss.ExpireSilence(r.Context(), id, s.now())
	}
	if err != nil {
		s.pageFail(w, r, "expire silence "+strconv.FormatInt(id, 10), err)
		return
	}
	s.log.Info("silence expired", "id", id, "by", whoami(r).Name)
	http.Redirect(w, r, "/silences?done=expired", http.StatusSeeOther)
}

// ---- configuration ----

type configData struct{ File, YAML string }

func (s *Server) configPage(w http.ResponseWriter, r *http.Request) {
	d := configData{}
	if cfg := s.config(); cfg != nil {
		var buf bytes.Buffer
		if err := config.Dump(&buf, cfg); err != nil {
			s.pageFail(w, r, "show the configuration", err)
			return
		}
		d.File, d.YAML = cfg.File, buf.String()
	}
	s.render(w, r, http.StatusOK, "config", pageData{Title: "Configuration", Nav: "config", Data: d})
}
