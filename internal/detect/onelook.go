package detect

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// OneLook is the snapshot history of a single look at a tenant: what a
// one-shot audit collected, served the way the store serves serve's first
// cycle (each object's history is its one snapshot). Rules given OneLook
// judge exactly what they would judge on serve's first cycle, so audit and
// serve cannot disagree about the same tenant.
type OneLook struct {
	byType map[string][]store.Snapshot
}

// NewOneLook returns an empty look.
func NewOneLook() *OneLook { return &OneLook{byType: map[string][]store.Snapshot{}} }

// Add records the snapshots of one resource type (replacing earlier ones).
func (l *OneLook) Add(t resource.Type, snaps []store.Snapshot) {
	l.byType[string(t)] = slices.Clone(snaps)
}

// LatestSnapshots implements Snapshots.
func (l *OneLook) LatestSnapshots(_ context.Context, tenant, resourceType string) ([]store.Snapshot, error) {
	var out []store.Snapshot
	for _, s := range l.byType[resourceType] {
		if s.Tenant == tenant {
			out = append(out, s)
		}
	}
	return out, nil
}

// SnapshotHistory implements Snapshots: the object's one snapshot when it
// was observed within [from, to) (to zero: open).
func (l *OneLook) SnapshotHistory(_ context.Context, ref store.ResourceRef, from, to time.Time, limit int) ([]store.Snapshot, error) {
	for _, s := range l.byType[ref.ResourceType] {
		if s.Tenant != ref.Tenant || !strings.EqualFold(s.ResourceKey, ref.ResourceKey) {
			continue
		}
		if s.ObservedAt.Before(from) || (!to.IsZero() && !s.ObservedAt.Before(to)) {
			return nil, nil
		}
		return []store.Snapshot{s}, nil
	}
	return nil, nil
}

// seenSince is when sfmcwatch first saw evidence of a failure SFMC's
// timestamps date at started, given when it first observed the object:
// started itself when that was while watching, else the first look.
func seenSince(started, observedSince time.Time) time.Time {
	if started.IsZero() || (!observedSince.IsZero() && started.Before(observedSince)) {
		return observedSince
	}
	return started
}
