package monitor

import (
	"context"
	"sync"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/record"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Integration is the integration name of the monitor's own calls in stored
// events (source "client").
const Integration = "sfmcwatch"

// maxBuffered bounds the events kept in memory when the store refuses them.
const maxBuffered = 20000

// eventBuffer collects the clients' metering events between flushes, so
// events and usage are written in batches (one transaction each) instead of
// one per call.
type eventBuffer struct {
	mu      sync.Mutex
	events  []store.EventRecord
	dropped int
}

// add converts and buffers one call event.
func (b *eventBuffer) add(ev sfmc.CallEvent) {
	rec := toRecord(ev)
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.events) >= maxBuffered {
		b.dropped++
		return
	}
	b.events = append(b.events, rec)
}

// take empties the buffer.
func (b *eventBuffer) take() ([]store.EventRecord, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out, d := b.events, b.dropped
	b.events, b.dropped = nil, 0
	return out, d
}

// putBack returns events a failed flush could not store (oldest first).
func (b *eventBuffer) putBack(recs []store.EventRecord) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := maxBuffered - len(b.events)
	if room <= 0 {
		b.dropped += len(recs)
		return
	}
	if len(recs) > room {
		b.dropped += len(recs) - room
		recs = recs[len(recs)-room:]
	}
	b.events = append(recs, b.events...)
}

// flush writes the buffered events and their usage deltas.
func (b *eventBuffer) flush(ctx context.Context, st store.Store) (int, error) {
	recs, _ := b.take()
	if len(recs) == 0 {
		return 0, nil
	}
	if _, err := st.InsertEvents(ctx, recs); err != nil {
		b.putBack(recs)
		return 0, err
	}
	if err := st.AddUsage(ctx, usageDeltas(recs)...); err != nil {
		// Events are stored; usage is best effort (the meter in memory
		// still enforces the budget).
		return len(recs), err
	}
	return len(recs), nil
}

func usageDeltas(recs []store.EventRecord) []store.UsageDelta {
	type key struct{ tenant, endpoint, day string }
	idx := map[key]int{}
	var out []store.UsageDelta
	for _, r := range recs {
		k := key{r.Tenant, r.Method + " " + r.Endpoint, r.TS.UTC().Format(time.DateOnly)}
		if i, ok := idx[k]; ok {
			out[i].Calls++
			continue
		}
		idx[k] = len(out)
		out = append(out, store.UsageDelta{Tenant: r.Tenant, Endpoint: k.endpoint, At: r.TS, Calls: 1})
	}
	return out
}

// ClientSource is the source of the events of the monitor's own calls.
const ClientSource = "client"

// toRecord turns one metered attempt into a stored event (source
// "client"): one attempt counts once; the client's verdict (ev.Kind)
// makes it an error when the classifier knew no error family (no
// response, a 2xx body error the catalog lacks).
func toRecord(ev sfmc.CallEvent) store.EventRecord {
	e := ev.Event
	e.Source = ClientSource
	if e.Integration == "" {
		e.Integration = Integration
	}
	o := record.Options{PerCall: true, OK: ev.Kind == ""}
	if ev.Kind != "" {
		o.Failed = kindFamily(ev.Kind)
		if e.Status == 0 {
			o.FailedCode = string(ev.Kind) // no response: transport, timeout
		}
	}
	return record.From(e, ev.Result, o)
}

// kindFamily maps the client's verdict to a family when the classifier had
// none (no response, or a 2xx body error the catalog does not know).
func kindFamily(k sfmc.Kind) catalog.Family {
	switch k {
	case sfmc.KindAuth, sfmc.KindForbidden:
		return catalog.Auth
	case sfmc.KindRateLimited, sfmc.KindBlocked:
		return catalog.RateLimit
	case sfmc.KindServer:
		return catalog.Server
	case sfmc.KindTimeout, sfmc.KindTransport:
		return catalog.Timeout
	}
	return catalog.Client
}
