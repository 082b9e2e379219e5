package detect_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/classify"
	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// tenantEnv feeds a TenantHealth with synthetic call events, collects the
// tenant snapshot into a store and evaluates the tenant rules.
type tenantEnv struct {
	t      *testing.T
	st     store.Store
	h      *collect.TenantHealth
	tenant *config.Tenant
	rules  config.Rules
}

func newTenantEnv(t *testing.T) *tenantEnv {
	return &tenantEnv{t: t, st: newStore(t), h: collect.NewTenantHealth(15 * time.Minute),
		tenant: &config.Tenant{Name: "acme", DailyAPIBudget: 100}, rules: config.DefaultRules()}
}

func (e *tenantEnv) call(at time.Duration, endpoint string, status int, kind sfmc.Kind, fresh bool) {
	code := ""
	switch status {
	case 401:
		code = "invalid_client"
	case 429:
		code = "50200"
	}
	e.h.Observe(sfmc.CallEvent{Event: event.Event{TS: t0.Add(at), Tenant: "acme", Method: "GET", Endpoint: endpoint, Status: status},
		Result: classify.Result{Classifications: []classify.Classification{{Surface: "rest", Code: code, HTTPStatus: status}}},
		Kind:   kind, FreshToken: fresh})
}

// eval collects at t0+at and evaluates rule.
func (e *tenantEnv) eval(at time.Duration, rule detect.Rule) []detect.Finding {
	e.t.Helper()
	ctx := context.Background()
	now := t0.Add(at)
	out, err := collect.TenantCollector{}.Collect(ctx, &collect.Input{Now: now, Tenant: e.tenant, Health: e.h})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.InsertSnapshots(ctx, out.Snapshots); err != nil {
		e.t.Fatal(err)
	}
	cur, err := e.st.LatestSnapshots(ctx, "acme", string(resource.Tenant))
	if err != nil {
		e.t.Fatal(err)
	}
	reg, _ := detect.NewRegistry(rule)
	res, err := reg.Evaluate(ctx, &detect.Input{Now: now, Tenant: e.tenant, Rules: &e.rules, Type: resource.Tenant, Current: cur,
		Snapshots: e.st, Events: e.st, Usage: e.st})
	if err != nil {
		e.t.Fatal(err)
	}
	return res[rule.ID()]
}

func withDisc(fs []detect.Finding, d string) []detect.Finding {
	var out []detect.Finding
	for _, f := range fs {
		if f.Discriminator == d {
			out = append(out, f)
		}
	}
	return out
}

func TestTenantBlindTokenFailures(t *testing.T) {
	e := newTenantEnv(t)
	m := time.Minute
	e.call(0, sfmc.TokenEndpoint, 200, "", false)
	e.call(m, "/automation/v1/automations", 200, "", false)
	e.call(2*m, sfmc.TokenEndpoint, 401, sfmc.KindAuth, false)
	if fs := withDisc(e.eval(2*m, detect.TenantBlind{}), "token"); len(fs) != 0 {
		t.Fatalf("one token failure fired: %+v", fs)
	}
	e.call(3*m, sfmc.TokenEndpoint, 401, sfmc.KindAuth, false)
	fs := withDisc(e.eval(3*m, detect.TenantBlind{}), "token")
	if len(fs) != 1 || !fs[0].FirstSeen.Equal(t0.Add(2*m)) || fs[0].Severity != "critical" || fs[0].Family != "auth" || len(fs[0].Evidence) != 1 {
		t.Fatalf("two token failures: %+v", fs)
	}
	e.call(4*m, sfmc.TokenEndpoint, 200, "", false)
	if fs := withDisc(e.eval(4*m, detect.TenantBlind{}), "token"); len(fs) != 0 {
		t.Fatalf("still firing after a good token: %+v", fs)
	}
}

func TestTenantBlindFresh401(t *testing.T) {
	e := newTenantEnv(t)
	m := time.Minute
	// A 401 with a stale token (refresh fixes it) never counts.
	e.call(0, "/a", 401, sfmc.KindAuth, false)
	e.call(10*time.Second, "/a", 401, sfmc.KindAuth, true)
	e.call(20*time.Second, "/a", 401, sfmc.KindAuth, true)
	if fs := withDisc(e.eval(m, detect.TenantBlind{}), "api_401"); len(fs) != 0 {
		t.Fatalf("2 fresh 401s fired: %+v", fs)
	}
	e.call(2*m, "/b", 401, sfmc.KindAuth, true)
	if fs := withDisc(e.eval(2*m, detect.TenantBlind{}), "api_401"); len(fs) != 1 {
		t.Fatalf("3 fresh 401s within 5m did not fire: %+v", fs)
	}
	// Ten minutes later the window holds none.
	if fs := withDisc(e.eval(12*m, detect.TenantBlind{}), "api_401"); len(fs) != 0 {
		t.Fatalf("401s outside the window fired: %+v", fs)
	}
	// Nor in the quiet polls after: snapshots are stored on change, so
	// these add no rows and the window's history starts from the state
	// before it (the cumulative counter still at 3), not from zero.
	for at := 17 * m; at <= time.Hour; at += 5 * m {
		if fs := withDisc(e.eval(at, detect.TenantBlind{}), "api_401"); len(fs) != 0 {
			t.Fatalf("quiet poll at %v fired: %+v", at, fs)
		}
	}
	if h, err := e.st.SnapshotHistory(context.Background(), resource.Ref("acme", resource.Tenant, "acme"), time.Time{}, time.Time{}, 0); err != nil || len(h) > 10 {
		t.Errorf("quiet polls stored %d history points (%v), want them collapsed", len(h), err)
	}
}

func TestTenantBlindSecretExpiry(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		age  time.Duration
		want string
	}{{100 * day, ""}, {170 * day, "warning"}, {178 * day, "error"}} {
		e := newTenantEnv(t)
		e.tenant.ClientSecretRotated = t0.Add(-tc.age).Format(time.DateOnly)
		fs := withDisc(e.eval(0, detect.TenantBlind{}), "secret_expiry")
		if tc.want == "" {
			if len(fs) != 0 {
				t.Fatalf("age %v fired: %+v", tc.age, fs)
			}
			continue
		}
		if len(fs) != 1 || string(fs[0].Severity) != tc.want {
			t.Fatalf("age %v: %+v", tc.age, fs)
		}
	}
}

func TestTenantBlocked(t *testing.T) {
	e := newTenantEnv(t)
	m := time.Minute
	e.call(0, "/a", 200, "", false)
	e.call(m, "/a", 429, sfmc.KindBlocked, false)
	fs := e.eval(m, detect.TenantBlocked{})
	if len(fs) != 1 || !fs[0].FirstSeen.Equal(t0.Add(m)) || fs[0].Severity != "critical" || fs[0].Family != "rate_limit" {
		t.Fatalf("blocked: %+v", fs)
	}
	if until := e.h.BlockedUntil(); !until.Equal(t0.Add(16 * m)) {
		t.Fatalf("circuit until %v", until)
	}
	if fs := e.eval(15*m, detect.TenantBlocked{}); len(fs) != 1 {
		t.Fatalf("not firing during the circuit: %+v", fs)
	}
	if fs := e.eval(16*m, detect.TenantBlocked{}); len(fs) != 0 {
		t.Fatalf("firing after the circuit: %+v", fs)
	}
}

func TestTenantBudget(t *testing.T) {
	e := newTenantEnv(t)
	for i := range 79 {
		e.call(time.Duration(i)*time.Second, "/a", 200, "", false)
	}
	if fs := e.eval(2*time.Minute, detect.TenantBudget{}); len(fs) != 0 {
		t.Fatalf("79%% fired: %+v", fs)
	}
	e.call(3*time.Minute, "/a", 200, "", false)
	fs := e.eval(3*time.Minute, detect.TenantBudget{})
	if len(fs) != 1 || fs[0].Severity != "warning" {
		t.Fatalf("80%%: %+v", fs)
	}
	// A new UTC day starts from zero.
	if fs := e.eval(24*time.Hour, detect.TenantBudget{}); len(fs) != 0 {
		t.Fatalf("next day: %+v", fs)
	}
}

// TestTenantBlindTokenFailureKinds: who owns failing token requests
// depends on how they fail. Rejected credentials (401 invalid_client) are
// the installed package's; an auth endpoint sfmcwatch cannot reach, that
// times out or answers 5xx is the network's or SFMC's, and its fix must
// not send anyone to rotate a secret that works.
func TestTenantBlindTokenFailureKinds(t *testing.T) {
	for _, tc := range []struct {
		status int
		kind   sfmc.Kind
		family string
		owner  string
		fix    string
	}{
		{401, sfmc.KindAuth, "auth", "marketing_ops", "secret"},
		{0, sfmc.KindTransport, "timeout", "infrastructure", "egress firewall"},
		{504, sfmc.KindTimeout, "timeout", "salesforce_support", "Trust status"},
		{503, sfmc.KindServer, "server", "salesforce_support", "do not rotate"},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			e := newTenantEnv(t)
			m := time.Minute
			e.call(0, sfmc.TokenEndpoint, tc.status, tc.kind, false)
			e.call(m, sfmc.TokenEndpoint, tc.status, tc.kind, false)
			fs := withDisc(e.eval(m, detect.TenantBlind{}), "token")
			if len(fs) != 1 || string(fs[0].Family) != tc.family || string(fs[0].Owner) != tc.owner ||
				len(fs[0].Remediation) == 0 || !strings.Contains(strings.Join(fs[0].Remediation, " "), tc.fix) {
				t.Fatalf("token failures (%s): %+v", tc.kind, fs)
			}
		})
	}
}
