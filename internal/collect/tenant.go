package collect

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// CounterAPI401Fresh is the tenant snapshot counter of API calls rejected
// with 401 although the client had just fetched a new token (cumulative
// since the process started; rules take deltas and treat a drop as a
// restart). detect's tenant.blind reads it under the same name.
const CounterAPI401Fresh = "api_401_fresh"

// CounterTokenFailures is the tenant snapshot gauge of consecutive failed
// token requests (also in the payload's TokenFailures).
const CounterTokenFailures = "token_failures"

// scopeMemory is how long a 403 naming a scope keeps that scope listed as
// missing when no later successful call needing it clears it.
const scopeMemory = 24 * time.Hour

// TenantHealth tracks one tenant's recent call outcomes from the SFMC
// client's metering events (every outbound attempt, token requests
// included), so the tenant collector can report authentication, blocking
// and budget state without spending a single API call. The engine feeds it
// with Observe (wired into the client's EventSink) and RecordFailure
// (collection errors that never reached the wire, e.g. a refused budget).
// It is safe for concurrent use.
type TenantHealth struct {
	mu sync.Mutex

	circuitOpen time.Duration

	tokenSeen     bool
	tokenOK       bool
	tokenFailures int

	lastError    string
	lastCode     string
	lastKind     string
	failingSince time.Time

	blockedSince time.Time
	blockedUntil time.Time

	scopes   map[string]time.Time // missing scope -> last 403 naming it
	fresh401 int64

	day   string // UTC day of calls
	calls int64
}

// NewTenantHealth returns a tracker; circuitOpen is how long a REST 50200
// block keeps the tenant's circuit open (tenant.blocked circuit_open).
func NewTenantHealth(circuitOpen time.Duration) *TenantHealth {
	return &TenantHealth{circuitOpen: circuitOpen, scopes: map[string]time.Time{}}
}

// SetCircuitOpen changes the circuit-open duration (config reload); it
// applies to blocks seen from now on.
func (h *TenantHealth) SetCircuitOpen(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.circuitOpen = d
}

// SeedCalls raises the calls counted on at's UTC day to at least n (usage
// persisted by an earlier process).
func (h *TenantHealth) SeedCalls(at time.Time, n int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := at.UTC().Format(time.DateOnly)
	if h.day != d {
		h.day, h.calls = d, 0
	}
	h.calls = max(h.calls, n)
}

// tenantLevel reports whether a failure kind concerns the whole tenant
// (rather than one object or request).
func tenantLevel(k sfmc.Kind) bool {
	switch k {
	case sfmc.KindAuth, sfmc.KindForbidden, sfmc.KindBlocked, sfmc.KindRateLimited,
		sfmc.KindServer, sfmc.KindTimeout, sfmc.KindTransport, sfmc.KindBudget:
		return true
	}
	return false
}

// Observe folds one metered call attempt into the tracker.
func (h *TenantHealth) Observe(ev sfmc.CallEvent) {
	ts := ev.Event.TS.UTC()
	h.mu.Lock()
	defer h.mu.Unlock()
	if d := ts.Format(time.DateOnly); d != h.day {
		if d > h.day {
			h.day, h.calls = d, 0
		}
	}
	if ts.Format(time.DateOnly) == h.day {
		h.calls++
	}
	ok := ev.Kind == ""
	token := ev.Event.Endpoint == sfmc.TokenEndpoint
	if token {
		h.tokenSeen = true
		if ok {
			h.tokenOK, h.tokenFailures = true, 0
		} else {
			h.tokenOK = false
			h.tokenFailures++
		}
	}
	switch {
	case ok:
		if !token {
			h.failingSince = time.Time{}
		}
		if ev.Scope != "" {
			delete(h.scopes, ev.Scope)
		}
	case tenantLevel(ev.Kind) || token:
		if h.failingSince.IsZero() {
			h.failingSince = ts
		}
		p := ev.Result.Primary()
		h.lastCode = string(p.Surface) + ":" + p.Code
		if p.Code == "" {
			h.lastCode = fmt.Sprintf("http:%d", ev.Event.Status)
		}
		h.lastError = describeCall(ev)
		h.lastKind = string(ev.Kind)
	}
	switch ev.Kind {
	case sfmc.KindBlocked:
		if !ts.Before(h.blockedUntil) || h.blockedSince.IsZero() {
			h.blockedSince = ts
		}
		h.blockedUntil = ts.Add(h.circuitOpen)
	case sfmc.KindForbidden:
		if ev.Scope != "" {
			h.scopes[ev.Scope] = ts
		}
	case sfmc.KindAuth:
		if ev.FreshToken && !token {
			h.fresh401++
		}
	}
}

func describeCall(ev sfmc.CallEvent) string {
	p := ev.Result.Primary()
	s := fmt.Sprintf("%s %s: %s", ev.Event.Method, ev.Event.Endpoint, ev.Kind)
	if ev.Event.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d", ev.Event.Status)
		if p.Code != "" {
			s += ", " + string(p.Surface) + ":" + p.Code
		}
		s += ")"
	}
	if p.Title != "" {
		s += ": " + p.Title
	}
	return s
}

// RecordFailure notes a collection failure that produced no call event
// (a refused budget, a failure before the request was sent). Only
// tenant-level failures change the state.
func (h *TenantHealth) RecordFailure(now time.Time, err error) {
	ae, ok := errors.AsType[*sfmc.APIError](err)
	if !ok || !tenantLevel(ae.Kind) || ae.Status != 0 {
		return // object-level, or already observed as a call event
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failingSince.IsZero() {
		h.failingSince = now.UTC()
	}
	h.lastError = fmt.Sprintf("%s %s: %s", ae.Method, ae.Endpoint, ae.Kind)
	h.lastCode = string(ae.Kind)
	h.lastKind = string(ae.Kind)
}

// BlockedUntil is the end of the circuit opened by the last REST 50200
// (zero when the tenant was never blocked).
func (h *TenantHealth) BlockedUntil() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.blockedUntil
}

// HealthState is what the tracker knows at one moment.
type HealthState struct {
	State      resource.TenantState
	Status     string
	CallsToday int64
	Fresh401   int64
}

// State returns the tenant state at now.
func (h *TenantHealth) State(now time.Time) HealthState {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := resource.TenantState{
		TokenOK:       !h.tokenSeen || h.tokenOK,
		TokenFailures: h.tokenFailures,
		LastError:     h.lastError,
		LastCode:      h.lastCode,
		LastKind:      h.lastKind,
		FailingSince:  h.failingSince,
	}
	if now.Before(h.blockedUntil) {
		st.BlockedUntil = h.blockedUntil
		if !h.blockedSince.IsZero() && (st.FailingSince.IsZero() || h.blockedSince.Before(st.FailingSince)) {
			st.FailingSince = h.blockedSince
		}
	}
	for s, at := range h.scopes {
		if now.Sub(at) <= scopeMemory {
			st.MissingScopes = append(st.MissingScopes, s)
		}
	}
	sort.Strings(st.MissingScopes)
	out := HealthState{State: st, Status: resource.StatusOK, Fresh401: h.fresh401}
	if h.day == now.UTC().Format(time.DateOnly) {
		out.CallsToday = h.calls
	}
	switch {
	case !st.BlockedUntil.IsZero():
		out.Status = resource.StatusBlocked
	case !st.TokenOK:
		out.Status = resource.StatusBlind
	}
	return out
}

// TenantCollector builds the tenant's health snapshot (resource.Tenant,
// key = tenant name) from the TenantHealth tracker. It makes no API call.
type TenantCollector struct{}

// Type implements Collector.
func (TenantCollector) Type() resource.Type { return resource.Tenant }

// Collect implements Collector: one snapshot with the TenantState payload
// and the counters api_calls_today, daily_budget, token_failures and
// api_401_fresh. Without a tracker (audit) the state is empty and calls
// today are unknown (0).
func (TenantCollector) Collect(_ context.Context, in *Input) (*Output, error) {
	var hs HealthState
	if in.Health != nil {
		hs = in.Health.State(in.Now)
	} else {
		hs = HealthState{State: resource.TenantState{TokenOK: true}, Status: resource.StatusOK}
	}
	snap := in.Snapshot(resource.Tenant, in.Tenant.Name)
	snap.Status = hs.Status
	snap.Counters = map[string]int64{
		resource.CounterAPICallsToday: hs.CallsToday,
		resource.CounterDailyBudget:   in.Tenant.DailyAPIBudget,
		CounterTokenFailures:          int64(hs.State.TokenFailures),
		CounterAPI401Fresh:            hs.Fresh401,
	}
	snap.Payload = resource.Encode(hs.State)
	return &Output{Snapshots: []store.Snapshot{snap}}, nil
}
