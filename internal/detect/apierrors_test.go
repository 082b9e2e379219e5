package detect_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

var t0 = time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)

func newStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "d.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// call is one client call to an endpoint at t0+at: status 200 is a success,
// others fail with a rest code.
type call struct {
	at       time.Duration
	endpoint string
	status   int
	code     string
}

func rec(c call, i int) store.EventRecord {
	ep := c.endpoint
	if ep == "" {
		ep = "/automation/v1/automations"
	}
	r := store.EventRecord{Event: event.Event{TS: t0.Add(c.at), Tenant: "acme", Integration: "sfmcwatch", Source: "client",
		Method: "GET", Endpoint: ep, Status: c.status, RequestID: fmt.Sprint(i)}, Family: "none", Count: 1}
	if c.status != 200 {
		r.IsError, r.Surface, r.Code = true, "rest", c.code
		switch {
		case c.status == 429:
			r.Family = "rate_limit"
		case c.status >= 500:
			r.Family = "server"
		default:
			r.Family = "client"
		}
	}
	return r
}

func evalAPIErrors(t *testing.T, now time.Duration, calls []call, edit func(*config.APIErrorsRule)) []detect.Finding {
	t.Helper()
	st := newStore(t)
	recs := make([]store.EventRecord, len(calls))
	for i, c := range calls {
		recs[i] = rec(c, i)
	}
	if _, err := st.InsertEvents(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	rules := config.DefaultRules()
	if edit != nil {
		edit(&rules.APIErrors)
	}
	reg, err := detect.NewRegistry(detect.APIErrors{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := reg.Evaluate(context.Background(), &detect.Input{Now: t0.Add(now), Tenant: &config.Tenant{Name: "acme"}, Rules: &rules,
		Type: resource.Tenant, Snapshots: st, Events: st, Usage: st})
	if err != nil {
		t.Fatal(err)
	}
	fs, ok := res["api.errors"]
	if !ok {
		t.Fatal("api.errors did not run")
	}
	return fs
}

func TestAPIErrorsPersistence(t *testing.T) {
	s, m := time.Second, time.Minute
	fail := func(at time.Duration) call { return call{at: at, status: 500, code: "2"} }
	ok := func(at time.Duration) call { return call{at: at, status: 200} }
	cases := []struct {
		name  string
		now   time.Duration
		calls []call
		want  int
	}{
		{"exactly window", 15 * m, []call{fail(0), fail(15 * m)}, 1},
		{"one second below window", 15 * m, []call{fail(0), fail(15*m - s)}, 0},
		{"success in between breaks the run", 15 * m, []call{fail(0), ok(7 * m), fail(15 * m)}, 0},
		{"other code does not break the run", 15 * m, []call{fail(0), {at: 7 * m, status: 429, code: "50100"}, fail(15 * m)}, 1},
		{"success of another endpoint does not break", 15 * m, []call{fail(0), {at: 7 * m, status: 200, endpoint: "/other"}, fail(15 * m)}, 1},
		{"N-1 consecutive", m, []call{fail(0), fail(s), fail(2 * s), fail(3 * s), ok(4 * s)}, 0},
		{"N consecutive", m, []call{fail(0), fail(s), fail(2 * s), fail(3 * s), fail(4 * s)}, 1},
		{"N consecutive then success: cleared", m, []call{fail(0), fail(s), fail(2 * s), fail(3 * s), fail(4 * s), ok(5 * s)}, 0},
		{"N with success in the middle", m, []call{fail(0), fail(s), fail(2 * s), ok(3 * s), fail(4 * s), fail(5 * s)}, 0},
		{"persistent run aged out of the window", 40 * m, []call{fail(0), fail(s), fail(2 * s), fail(3 * s), fail(4 * s)}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := evalAPIErrors(t, tc.now, tc.calls, func(r *config.APIErrorsRule) { r.MinCalls = 1000 })
			var persistent []detect.Finding
			for _, f := range fs {
				if f.Discriminator == "sfmcwatch|server|rest:2" {
					persistent = append(persistent, f)
				}
			}
			if len(persistent) != tc.want {
				t.Fatalf("got %d findings, want %d: %+v", len(persistent), tc.want, fs)
			}
			if tc.want == 1 && !persistent[0].FirstSeen.Equal(t0) {
				t.Fatalf("first seen %v, want the run's first failure %v", persistent[0].FirstSeen, t0)
			}
		})
	}
}

func TestAPIErrorsRatio(t *testing.T) {
	// 20 calls in the window, alternating success and failure: never a run
	// of 2, but a 50% error ratio.
	var calls []call
	for i := range 20 {
		st := 200
		if i%2 == 1 {
			st = 503
		}
		calls = append(calls, call{at: time.Duration(i) * 30 * time.Second, status: st, code: "50300"})
	}
	now := 10 * time.Minute
	if fs := evalAPIErrors(t, now, calls, nil); len(fs) != 1 || fs[0].Family != "server" || !fs[0].FirstSeen.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("ratio with enough calls: %+v", fs)
	}
	if fs := evalAPIErrors(t, now, calls, func(r *config.APIErrorsRule) { r.MinCalls = 21 }); len(fs) != 0 {
		t.Fatalf("ratio below min_calls fired: %+v", fs)
	}
	if fs := evalAPIErrors(t, now, calls, func(r *config.APIErrorsRule) { r.ErrorRatio = 0.6 }); len(fs) != 0 {
		t.Fatalf("ratio below error_ratio fired: %+v", fs)
	}
}

func TestAPIErrorsFindingFields(t *testing.T) {
	var calls []call
	for i := range 6 {
		calls = append(calls, call{at: time.Duration(i) * time.Second, status: 429, code: "50100"})
	}
	fs := evalAPIErrors(t, 40*time.Minute-time.Second, append(calls, call{at: 35 * time.Minute, status: 429, code: "50100"}), nil)
	if len(fs) != 1 {
		t.Fatalf("%+v", fs)
	}
	f := fs[0]
	if f.Family != "rate_limit" || f.Owner == "" || len(f.Remediation) == 0 || f.ResourceKey != "/automation/v1/automations" ||
		f.ResourceType != resource.Tenant || len(f.Evidence) != 7 {
		t.Fatalf("fields: %+v", f)
	}
	// The run started 40 minutes ago, more than escalate_after (30m): one
	// severity up from the rule's warning.
	if f.Severity != "error" {
		t.Fatalf("severity %s, want escalated to error", f.Severity)
	}
}
