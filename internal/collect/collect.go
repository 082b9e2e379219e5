// Package collect holds the collectors: one per SFMC resource type, each
// reading the tenant in bulk through the SFMC client (a list call or a SOAP
// Retrieve page covers many objects) and turning what it read into
// snapshots of observed state (internal/resource payloads). Collectors never
// decide whether something is wrong; detection rules read their snapshots.
package collect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Input is one collection of one resource type for one tenant.
type Input struct {
	// Now is the observation time stamped on snapshots.
	Now    time.Time
	Tenant *config.Tenant
	Client *sfmc.Client
	// Previous holds the latest stored snapshot of each object of this
	// type, by resource key (empty on the first poll and in an audit), so a
	// collector can carry history forward (recent runs, last load time,
	// schema hash) and spend budgeted calls where they matter most.
	Previous map[string]store.Snapshot
	// Cursors persist feed positions (e.g. the transactional not-sent
	// lastEventId); nil in an audit (read the recent window instead).
	Cursors store.Cursors
	// Health is the tenant's health tracker, fed by the client's metering
	// events (the tenant collector reads it; nil in an audit and where no
	// engine runs).
	Health *TenantHealth
}

// Output is what one collection observed.
type Output struct {
	// Snapshots to store: one per object observed.
	Snapshots []store.Snapshot
	// Events are outcomes worth storing as events (e.g. transactional
	// not-sent messages), already classified.
	Events []store.EventRecord
	// Cursors are feed positions to advance, by compare-and-set, in the
	// same transaction as Events and Snapshots (see Persist).
	Cursors []CursorAdvance
}

// CursorAdvance moves a named cursor from Old to Next.
type CursorAdvance struct {
	Name, Old, Next string
}

// Collector reads one resource type.
type Collector interface {
	Type() resource.Type
	Collect(ctx context.Context, in *Input) (*Output, error)
}

// Snapshot starts a snapshot of one object observed at in.Now.
func (in *Input) Snapshot(t resource.Type, key string) store.Snapshot {
	return store.Snapshot{ResourceRef: resource.Ref(in.Tenant.Name, t, key), ObservedAt: in.Now}
}

// Collectors returns every collector, one per resource type.
func Collectors() []Collector {
	return []Collector{
		// Each resource area adds its collector here.
		JourneyCollector{},
		TriggeredSendCollector{},
		TransactionalCollector{},
		DataExtensionCollector{},
		AutomationCollector{},
		ImportCollector{},
		TenantCollector{},
		SendCollector{},
		SecurityCollector{},
	}
}

// For returns the collector of a resource type.
func For(t resource.Type) (Collector, error) {
	for _, c := range Collectors() {
		if c.Type() == t {
			return c, nil
		}
	}
	return nil, fmt.Errorf("collect: no collector for %q", t)
}

// OutputStore is what Persist needs from the store.
type OutputStore interface {
	StoreCollection(ctx context.Context, b store.CollectionBatch) (store.InsertResult, error)
}

// ErrCursorMoved is returned by Persist when another replica advanced a
// feed cursor first: nothing of the output was stored (the other replica
// stored the same feed page).
var ErrCursorMoved = errors.New("feed cursor advanced concurrently")

// Persist stores a collector's output in one transaction: its events, its
// snapshots (whose counters may count those events) and its feed cursors
// move together, so a crash or a failed write loses nothing and counts
// nothing twice.
func Persist(ctx context.Context, st OutputStore, out *Output, now time.Time) error {
	if out == nil || (len(out.Events) == 0 && len(out.Snapshots) == 0 && len(out.Cursors) == 0) {
		return nil
	}
	b := store.CollectionBatch{Events: out.Events, Snapshots: out.Snapshots}
	for _, c := range out.Cursors {
		b.Cursors = append(b.Cursors, store.CursorMove{Name: c.Name, Old: c.Old, Next: c.Next, Now: now})
	}
	if _, err := st.StoreCollection(ctx, b); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("%w: %w", ErrCursorMoved, err)
		}
		return fmt.Errorf("storing the collection: %w", err)
	}
	return nil
}
