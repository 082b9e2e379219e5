package sfmc

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/classify"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
)

// Priority says how much a call matters when the daily budget runs low.
type Priority int

const (
	// Required calls (statuses, counters) run until the daily cap.
	Required Priority = iota
	// Optional calls (row counts, deep dives) stop at OptionalShare of the cap.
	Optional
	// Essential calls (token requests) are never refused: without a token
	// nothing else works. They are still counted.
	Essential
)

func (p Priority) String() string {
	switch p {
	case Required:
		return "required"
	case Optional:
		return "optional"
	case Essential:
		return "essential"
	}
	return fmt.Sprintf("priority(%d)", int(p))
}

type priorityKey struct{}

// WithPriority marks the calls made with ctx as p (default Required).
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// Budget is a tenant's daily call allowance.
type Budget struct {
	Daily         int     // 0 = unlimited
	OptionalShare float64 // share of Daily optional calls may use
}

// CallEvent is one outbound HTTP attempt by the client, as metered.
type CallEvent struct {
	// Event carries tenant, method, URL (masked), endpoint template, status,
	// latency and, for failures, the masked body (at most 4 KiB).
	Event event.Event
	// Result is the classifier's verdict.
	Result classify.Result
	// Kind is the client's own verdict ("" on success).
	Kind     Kind
	Priority Priority
	Attempt  int
	// FreshToken is set when the attempt used a token fetched during this
	// call because an earlier attempt was rejected with 401 (a 401 with a
	// fresh token means the credentials or the package user are broken, not
	// that a cached token expired).
	FreshToken bool
	// Scope is the OAuth scope the endpoint needs ("" when none is known);
	// a 403 with Scope set names the scope the installed package lacks.
	Scope string
}

// EventSink receives metering events (the monitor's own calls feed detection).
type EventSink interface {
	Emit(CallEvent)
}

// EventSinkFunc adapts a function to EventSink.
type EventSinkFunc func(CallEvent)

// Emit calls f(ev).
func (f EventSinkFunc) Emit(ev CallEvent) { f(ev) }

// Meter counts calls and enforces daily budgets. Implementations must be
// safe for concurrent use.
type Meter interface {
	// Allow reserves one call for tenant on now's UTC day, or returns an
	// error wrapping ErrBudgetExhausted.
	Allow(tenant string, b Budget, p Priority, now time.Time) error
	// Record counts one attempt per endpoint and day and emits it.
	Record(ev CallEvent)
}

// MemMeter is an in-memory Meter: counts per tenant, endpoint template and
// UTC day, and forwards each event to a sink. Days older than a week are
// dropped.
type MemMeter struct {
	sink EventSink

	mu       sync.Mutex
	reserved map[dayKey]int            // calls allowed per tenant and day
	counts   map[dayKey]map[string]int // endpoint -> attempts
	refused  map[dayKey]int
}

type dayKey struct {
	tenant string
	day    string // 2006-01-02 UTC
}

// NewMemMeter returns a meter emitting to sink (nil: no events).
func NewMemMeter(sink EventSink) *MemMeter {
	return &MemMeter{sink: sink, reserved: map[dayKey]int{}, counts: map[dayKey]map[string]int{}, refused: map[dayKey]int{}}
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Allow implements Meter.
func (m *MemMeter) Allow(tenant string, b Budget, p Priority, now time.Time) error {
	k := dayKey{tenant, day(now)}
	m.mu.Lock()
	defer m.mu.Unlock()
	used := m.reserved[k]
	if b.Daily > 0 && p != Essential {
		limit := b.Daily
		if p == Optional {
			share := b.OptionalShare
			if share <= 0 || share > 1 {
				share = 0.8
			}
			limit = int(float64(b.Daily) * share)
		}
		if used >= limit {
			m.refused[k]++
			return fmt.Errorf("%s call %d of %d for tenant %q on %s: %w", p, used+1, limit, tenant, k.day, ErrBudgetExhausted)
		}
	}
	m.reserved[k] = used + 1
	m.gc(now)
	return nil
}

// Record implements Meter.
func (m *MemMeter) Record(ev CallEvent) {
	k := dayKey{ev.Event.Tenant, day(ev.Event.TS)}
	m.mu.Lock()
	c := m.counts[k]
	if c == nil {
		c = map[string]int{}
		m.counts[k] = c
	}
	c[ev.Event.Method+" "+ev.Event.Endpoint]++
	m.mu.Unlock()
	if m.sink != nil {
		m.sink.Emit(ev)
	}
}

// gc drops days older than a week (m.mu held).
func (m *MemMeter) gc(now time.Time) {
	if len(m.reserved) < 64 {
		return
	}
	cut := day(now.AddDate(0, 0, -7))
	for k := range m.reserved {
		if k.day < cut {
			delete(m.reserved, k)
			delete(m.counts, k)
			delete(m.refused, k)
		}
	}
}

// Seed raises the calls counted for tenant on at's UTC day to at least
// calls, e.g. from persisted usage after a restart, so the daily budget
// keeps counting what an earlier process already spent.
func (m *MemMeter) Seed(tenant string, at time.Time, calls int) {
	k := dayKey{tenant, day(at)}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.reserved[k] < calls {
		m.reserved[k] = calls
	}
}

// Used returns the calls allowed for tenant on t's UTC day.
func (m *MemMeter) Used(tenant string, t time.Time) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reserved[dayKey{tenant, day(t)}]
}

// Refused returns how many calls the budget refused for tenant on t's day.
func (m *MemMeter) Refused(tenant string, t time.Time) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refused[dayKey{tenant, day(t)}]
}

// Counts returns attempts per "METHOD endpoint" for tenant on t's day.
func (m *MemMeter) Counts(tenant string, t time.Time) map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for e, n := range m.counts[dayKey{tenant, day(t)}] {
		out[e] = n
	}
	return out
}

// Endpoints lists the endpoints counted for tenant on t's day, sorted.
func (m *MemMeter) Endpoints(tenant string, t time.Time) []string {
	c := m.Counts(tenant, t)
	out := make([]string, 0, len(c))
	for e := range c {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}

const maxEventBody = 4 << 10

// record meters one attempt.
func (c *Client) record(r *request, target string, resp *response, v verdict, dur time.Duration, attempt int, herr error) {
	ev := event.Event{
		TS:       c.now().UTC(),
		Tenant:   c.tenant.Name,
		Source:   "client",
		Method:   r.method,
		URL:      c.scrub(target),
		Endpoint: r.endpoint,
		Duration: dur,
	}
	var res classify.Result
	if resp != nil {
		ev.Status = resp.status
		res = resp.result
		if !v.ok {
			b := resp.body
			if len(b) > maxEventBody {
				b = b[:maxEventBody]
			}
			ev.Body = []byte(c.scrub(string(redact.Bytes(b))))
		}
	}
	kind := Kind("")
	if !v.ok {
		kind = v.kind
	}
	c.meter.Record(CallEvent{Event: ev, Result: res, Kind: kind, Priority: r.priority, Attempt: attempt,
		FreshToken: r.refreshed && r.base != baseAuth, Scope: r.scope})
	_ = herr
}
