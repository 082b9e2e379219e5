package audit

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// deny serves the simulator on 127.0.0.1 but answers every request whose
// path starts with prefix with status and body instead.
func deny(t *testing.T, s *sim.Sim, prefix string, status int, body string) string {
	t.Helper()
	h := s.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, prefix) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func simOnly(t *testing.T) *sim.Sim {
	t.Helper()
	s, err := sim.New(sim.Options{Seed: 7, Start: start, Now: func() time.Time { return start },
		Size: sim.Size{Automations: 20, Journeys: 8, DataExtensions: 30, TriggeredSends: 10, Transactional: 3, Imports: 5}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runFast is run with short retry back-off (unreachable hosts are retried).
func runFast(t *testing.T, yaml string) *Tenant {
	t.Helper()
	cfg, err := config.Parse("audit.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), cfg, Options{Now: func() time.Time { return start },
		ClientOptions: func(o *sfmc.Options) {
			o.RateLimit, o.Burst = rate.Inf, 100
			o.BackoffBase, o.BackoffMax = time.Millisecond, 5*time.Millisecond
		}})
	if err != nil {
		t.Fatal(err)
	}
	return &rep.Tenants[0]
}

func check(tn *Tenant, monitor string) Check {
	for _, c := range tn.Checks {
		if c.Monitor == monitor {
			return c
		}
	}
	return Check{}
}

func notes(tn *Tenant) string { return strings.Join(tn.Coverage.Notes, "\n") }

// A 404 on the notification endpoint is reported as not found, not blamed
// on the API budget; the automations the audit's cap left out are the only
// ones put down to the budget.
func TestAuditNotificationsNotFound(t *testing.T) {
	s := simOnly(t)
	url := deny(t, s, "/legacy/v1/beta/automations/notifications/", 404, `{"message":"Not Found","errorcode":404,"documentation":""}`)
	tn := runFast(t, tenantYAML(s, url, ""))

	c := check(tn, "automation")
	if c.Status != CheckPartial || c.Objects != 20 {
		t.Fatalf("automation check %+v, want partial with 20 objects", c)
	}
	fs := failuresOf(c.Failures, notificationsEndpoint)
	if len(fs) != 1 || fs[0].Cause != CauseNotFound || fs[0].HTTPStatus != 404 || fs[0].Requests != 13 {
		t.Errorf("notification failures %+v, want 13 × not_found 404", fs)
	}
	if u := tn.Coverage.AutomationsUnchecked; u["not_found"] != 13 || u["budget"] != 7 || tn.Coverage.AutomationsChecked != 0 {
		t.Errorf("unchecked by cause %v (checked %d), want 13 not_found + 7 budget (the audit's cap of 13)", u, tn.Coverage.AutomationsChecked)
	}
	n := notes(tn)
	for _, want := range []string{"read for 0 of 20", "13 not read: GET /legacy/v1/beta/automations/notifications/{id}: endpoint not found (404)", "7 not read: the audit reads at most 13"} {
		if !strings.Contains(n, want) {
			t.Errorf("notes %q lack %q", n, want)
		}
	}
	if !tn.Scored || tn.Grade == GradeUnknown {
		t.Errorf("a tenant read in full is scored: %v %s", tn.Scored, tn.Grade)
	}
}

// A 403 on one area names the scope as the cause of what was not read.
func TestAuditScopeDenied(t *testing.T) {
	s := simOnly(t)
	url := deny(t, s, "/interaction/v1/interactions", 403, `{"message":"Insufficient privileges to complete this action.","errorcode":20002,"documentation":""}`)
	tn := runFast(t, tenantYAML(s, url, ""))

	c := check(tn, "journey")
	if c.Status != CheckNotRead || c.Cause != CauseScope || !strings.Contains(c.Endpoint, "/interaction/v1/interactions") {
		t.Fatalf("journey check %+v, want not_checked / scope on the interactions endpoint", c)
	}
	if a := check(tn, "automation"); a.Status != CheckRead {
		t.Errorf("automation check %+v, want checked", a)
	}
	if !strings.Contains(strings.Join(tn.Errors, "\n"), "journey: not read (scope or permission denied (403))") {
		t.Errorf("errors %q", tn.Errors)
	}
	if !tn.Scored || !strings.Contains(tn.ScoreNote, "not read: journey (scope or permission denied (403))") {
		t.Errorf("scored %v, note %q", tn.Scored, tn.ScoreNote)
	}
	if strings.Contains(notes(tn), "budget") && !strings.Contains(notes(tn), "the audit reads at most") {
		t.Errorf("notes blame the budget: %q", notes(tn))
	}

	// 403 on the notification settings: put down to the scope, not the budget.
	s2 := simOnly(t)
	url2 := deny(t, s2, "/legacy/v1/beta/automations/notifications/", 403, `{"message":"Insufficient privileges","errorcode":20002}`)
	tn2 := runFast(t, tenantYAML(s2, url2, ""))
	if u := tn2.Coverage.AutomationsUnchecked; u["scope"] != 13 {
		t.Errorf("unchecked by cause %v, want 13 scope", u)
	}
	if !strings.Contains(notes(tn2), "scope or permission denied (403)") {
		t.Errorf("notes %q", notes(tn2))
	}
}

// An unreachable host is not scored: no "fair 75" from the blind finding.
func TestAuditUnreachableNotScored(t *testing.T) {
	s := simOnly(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more

	tn := runFast(t, tenantYAML(s, url, ""))
	if tn.Scored || tn.Grade != GradeUnknown || tn.Score != 0 || len(tn.Deductions) != 0 {
		t.Fatalf("unreachable tenant scored: scored %v score %d grade %s", tn.Scored, tn.Score, tn.Grade)
	}
	if !strings.Contains(tn.ScoreNote, "nothing could be read") || !strings.Contains(tn.ScoreNote, "host unreachable") {
		t.Errorf("score note %q", tn.ScoreNote)
	}
	for _, c := range tn.Checks {
		if c.Monitor == "security" && c.Status == CheckDisabled {
			continue // monitors.audit is off by default
		}
		if c.Status != CheckNotRead || c.Cause != CauseUnreachable {
			t.Errorf("check %+v, want not_checked / unreachable", c)
		}
	}
	if len(tn.Checks) != 8 {
		t.Errorf("%d checks, want one per monitor", len(tn.Checks))
	}
	if !strings.Contains(notes(tn), "Read scopes were not checked: host unreachable") {
		t.Errorf("notes %q", notes(tn))
	}
	b, err := json.Marshal(tn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"score":null`) || !strings.Contains(string(b), `"grade":"unknown"`) || !strings.Contains(string(b), `"scored":false`) {
		t.Errorf("JSON %s", b)
	}
}

// Rejected credentials: not scored, the cause is auth.
func TestAuditAuthRejectedNotScored(t *testing.T) {
	s := simOnly(t)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	yaml := strings.Replace(tenantYAML(s, srv.URL, ""), "client_secret: "+s.Credentials().ClientSecret, "client_secret: wrong-secret", 1)
	tn := runFast(t, yaml)
	if tn.Scored || tn.Grade != GradeUnknown {
		t.Errorf("scored %v grade %s", tn.Scored, tn.Grade)
	}
	if c := check(tn, "automation"); c.Cause != CauseAuth {
		t.Errorf("automation check %+v, want auth", c)
	}
}

// The daily budget refusing calls is reported as budget, per monitor. The
// budget (11 calls) runs out inside the automation monitor: its required
// reads exhaust it, its optional ones (notifications, step outcomes) are
// refused from 80 % of it.
func TestAuditDailyBudget(t *testing.T) {
	s, url := newSim(t)
	tn := runFast(t, tenantYAML(s, url, "    daily_api_budget: 11\n"))
	a := check(tn, "automation")
	if a.Status != CheckPartial || len(a.Failures) == 0 || a.Failures[len(a.Failures)-1].Cause != CauseBudget {
		t.Errorf("automation check %+v, want partial with budget refusals", a)
	}
	if j := check(tn, "journey"); j.Status != CheckNotRead || j.Cause != CauseBudget {
		t.Errorf("journey check %+v, want not_checked / budget", j)
	}
	if u := tn.Coverage.AutomationsUnchecked; u["budget"] != tn.Coverage.AutomationsTotal-tn.Coverage.AutomationsChecked || len(u) != 1 {
		t.Errorf("unchecked by cause %v", u)
	}
	if !strings.Contains(notes(tn), "the daily API budget refused the calls") {
		t.Errorf("notes %q", notes(tn))
	}
	if !tn.Scored || !strings.Contains(tn.ScoreNote, "journey (API call budget)") {
		t.Errorf("scored %v note %q", tn.Scored, tn.ScoreNote)
	}
}
