package collect_test

import (
	"context"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

func TestTenantHealthTracker(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 23, 50, 0, 0, time.UTC)
	h := collect.NewTenantHealth(15 * time.Minute)
	h.SeedCalls(t0, 40)
	obs := func(at time.Duration, ep string, kind sfmc.Kind, scope string, fresh bool) {
		h.Observe(sfmc.CallEvent{Event: event.Event{TS: t0.Add(at), Endpoint: ep, Method: "GET", Status: 200}, Kind: kind, Scope: scope, FreshToken: fresh})
	}
	obs(0, sfmc.TokenEndpoint, "", "", false)
	obs(time.Second, "/a", sfmc.KindForbidden, "automations_read", false)
	obs(2*time.Second, "/b", sfmc.KindAuth, "", true)
	obs(3*time.Second, sfmc.TokenEndpoint, sfmc.KindAuth, "", false)
	st := h.State(t0.Add(time.Minute))
	if st.State.TokenOK || st.State.TokenFailures != 1 || st.Status != resource.StatusBlind || st.Fresh401 != 1 ||
		len(st.State.MissingScopes) != 1 || st.CallsToday != 44 || !st.State.FailingSince.Equal(t0.Add(time.Second)) {
		t.Fatalf("state: %+v", st)
	}
	obs(4*time.Second, "/a", "", "automations_read", false)
	obs(5*time.Second, sfmc.TokenEndpoint, "", "", false)
	// A new UTC day restarts the call count.
	obs(11*time.Minute, "/c", "", "", false)
	st = h.State(t0.Add(12 * time.Minute))
	if !st.State.TokenOK || len(st.State.MissingScopes) != 0 || st.CallsToday != 1 || !st.State.FailingSince.IsZero() || st.Status != resource.StatusOK {
		t.Fatalf("recovered state: %+v", st)
	}
	ten := &config.Tenant{Name: "acme", DailyAPIBudget: 500}
	out, err := collect.TenantCollector{}.Collect(context.Background(), &collect.Input{Now: t0.Add(12 * time.Minute), Tenant: ten, Health: h})
	if err != nil || len(out.Snapshots) != 1 {
		t.Fatal(err)
	}
	s := out.Snapshots[0]
	if s.ResourceKey != "acme" || s.Counters[resource.CounterDailyBudget] != 500 || s.Counters[resource.CounterAPICallsToday] != 1 {
		t.Fatalf("snapshot: %+v", s)
	}
}
