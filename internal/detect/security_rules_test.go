package detect

import (
	"context"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func secSnapshot(key string, st resource.SecurityState, at time.Time) store.Snapshot {
	s := store.Snapshot{ResourceRef: resource.Ref("t", resource.Security, key), ObservedAt: at}
	s.Payload = resource.Encode(st)
	return s
}

// Burst rules count one user's events within window (threshold of them),
// the burst's last event within hold; change rules hold each change for
// hold after SFMC dated it. Thresholds and holds come from config.
func TestSecurityRulesWindows(t *testing.T) {
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	fails := func(offsets ...time.Duration) resource.SecurityState {
		st := resource.SecurityState{Kind: resource.SecurityLogins, Name: "logins of user u-1", ObservedSince: now.Add(-48 * time.Hour)}
		for i, o := range offsets {
			st.Changes = append(st.Changes, resource.SecurityChange{ID: int64(i + 1), At: now.Add(-o), Kind: resource.ChangeLoginFailed, Actor: "u-1"})
		}
		return st
	}
	m := time.Minute
	cases := []struct {
		name  string
		st    resource.SecurityState
		tweak func(*config.Rules)
		want  int // findings of security.login_failures
	}{
		{"5 within the hour", fails(10*m, 20*m, 30*m, 40*m, 50*m), nil, 1},
		{"4 within the hour", fails(10*m, 20*m, 30*m, 40*m), nil, 0},
		{"5 spread over 3 hours", fails(10*m, 50*m, 90*m, 130*m, 170*m), nil, 0},
		{"5 within an hour, 23 h ago", fails(23*time.Hour, 23*time.Hour+m, 23*time.Hour+2*m, 23*time.Hour+3*m, 23*time.Hour+4*m), nil, 1},
		{"5 within an hour, 25 h ago (hold passed)", fails(25*time.Hour, 25*time.Hour+m, 25*time.Hour+2*m, 25*time.Hour+3*m, 25*time.Hour+4*m), nil, 0},
		{"threshold 3 from config", fails(10*m, 20*m, 30*m), func(r *config.Rules) { r.SecurityLoginFailures.Threshold = 3 }, 1},
		{"disabled", fails(10*m, 20*m, 30*m, 40*m, 50*m), func(r *config.Rules) { r.SecurityLoginFailures.Enabled = false }, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rules := config.DefaultRules()
			if c.tweak != nil {
				c.tweak(&rules)
			}
			reg, _ := NewRegistry(SecurityLoginFailuresRule{}, SecurityNewIntegrationRule{})
			in := &Input{Now: now, Tenant: &config.Tenant{Name: "t"}, Rules: &rules, Type: resource.Security,
				Current: []store.Snapshot{secSnapshot("logins:u-1", c.st, now)}}
			res, err := reg.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(res["security.login_failures"]); n != c.want {
				t.Fatalf("%d findings, want %d: %+v", n, c.want, res)
			}
			if c.want == 1 {
				f := res["security.login_failures"][0]
				if f.Severity != "warning" || f.Owner != "security" || f.Family != "auth" || f.FailureStartedAt.IsZero() {
					t.Errorf("finding %+v", f)
				}
			}
			if len(res["security.new_integration"]) != 0 {
				t.Errorf("new_integration fired on logins")
			}
		})
	}

	// Change rules: a package created 23 h ago holds, 25 h ago does not.
	for _, c := range []struct {
		ago  time.Duration
		want int
	}{{time.Hour, 1}, {23 * time.Hour, 1}, {25 * time.Hour, 0}} {
		st := resource.SecurityState{Kind: resource.SecurityIntegration, Name: "Shadow Export", ObservedSince: now.Add(-time.Hour),
			Changes: []resource.SecurityChange{{ID: 9, At: now.Add(-c.ago), Kind: resource.ChangeNewIntegration, ObjectType: "InstalledPackage", Operation: "Create", Actor: "42"}}}
		rules := config.DefaultRules()
		reg, _ := NewRegistry(SecurityNewIntegrationRule{}, SecurityScopeChangeRule{})
		res, _ := reg.Evaluate(context.Background(), &Input{Now: now, Tenant: &config.Tenant{Name: "t"}, Rules: &rules, Type: resource.Security,
			Current: []store.Snapshot{secSnapshot("integration:abc", st, now)}})
		if n := len(res["security.new_integration"]); n != c.want || len(res["security.scope_change"]) != 0 {
			t.Errorf("created %s ago: %d findings, want %d (%+v)", c.ago, n, c.want, res)
		}
		if c.want == 1 {
			f := res["security.new_integration"][0]
			// Changed before sfmcwatch first looked: first seen at the first look.
			if c.ago > time.Hour && !f.FirstSeen.Equal(st.ObservedSince) {
				t.Errorf("first seen %s, want the first look %s", f.FirstSeen, st.ObservedSince)
			}
		}
	}
}
