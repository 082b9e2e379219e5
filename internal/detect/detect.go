// Package detect holds the detection rules: each turns what the store knows
// about a tenant (snapshots of its SFMC objects, events of API calls) into
// findings — the problems that hold right now. Rules are pure functions of
// their input and the clock they are given; opening, updating and resolving
// incidents from findings is internal/incident's job.
package detect

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Finding is one problem that holds at evaluation time.
type Finding struct {
	Rule         string           `json:"rule"`
	Severity     catalog.Severity `json:"severity"`
	Family       catalog.Family   `json:"family,omitempty"`
	Tenant       string           `json:"tenant"`
	ResourceType resource.Type    `json:"resource_type"`
	ResourceKey  string           `json:"resource_key"`
	ResourceName string           `json:"resource_name,omitempty"`
	// Title is one line naming what failed ("Automation 'Nightly CRM Sync'
	// errored 2 runs in a row").
	Title string `json:"title"`
	// Detail explains the evidence and why it matters, in a sentence or two.
	Detail      string        `json:"detail"`
	Owner       catalog.Owner `json:"owner"`
	Remediation []string      `json:"remediation"`
	// FirstSeen is the time of the first evidence of this problem (e.g. the
	// errored run's start, the snapshot where the drop was observed, the
	// first failing call), used for time-to-detection.
	FirstSeen time.Time `json:"first_seen"`
	// FailureStartedAt is when the failure began by SFMC's own timestamps
	// (the errored run's start or completion, a stopped journey's
	// modifiedDate, a failed import's end time); zero when SFMC gives no
	// such time. It may precede FirstSeen by a long way (a failure that
	// happened before sfmcwatch started); incidents keep the earliest.
	FailureStartedAt time.Time `json:"failure_started_at,omitzero"`
	// Evidence links the snapshots and events that show the problem.
	Evidence []store.Evidence `json:"evidence,omitempty"`
	// Discriminator distinguishes several findings of one rule on one
	// resource (e.g. the error code for api.errors); usually empty.
	Discriminator string `json:"discriminator,omitempty"`
}

// Fingerprint identifies the problem across evaluations: one incident per
// fingerprint.
func (f Finding) Fingerprint() string {
	parts := []string{f.Rule, f.Tenant, string(f.ResourceType), f.ResourceKey}
	if f.Discriminator != "" {
		parts = append(parts, f.Discriminator)
	}
	return strings.Join(parts, "|")
}

// Snapshots is the part of the store rules read snapshots through.
type Snapshots interface {
	LatestSnapshots(ctx context.Context, tenant, resourceType string) ([]store.Snapshot, error)
	SnapshotHistory(ctx context.Context, ref store.ResourceRef, from, to time.Time, limit int) ([]store.Snapshot, error)
}

// Events is the part of the store rules read events through.
type Events interface {
	QueryEvents(ctx context.Context, q store.EventQuery) ([]store.EventRecord, error)
	AggregateEvents(ctx context.Context, q store.AggregateQuery) ([]store.EventBucket, error)
}

// Usage is the part of the store rules read API usage through.
type Usage interface {
	Usage(ctx context.Context, q store.UsageQuery) ([]store.UsageRow, error)
}

// Input is what a rule evaluates: one tenant, one resource type, at Now.
type Input struct {
	Now    time.Time
	Tenant *config.Tenant
	Rules  *config.Rules
	// Type is the resource type just collected (resource.Tenant for
	// tenant-level and event rules).
	Type resource.Type
	// Current holds the latest snapshot of every object of Type in the
	// tenant (what the collector just stored).
	Current []store.Snapshot
	// Snapshots, Events and Usage give history. A one-shot audit passes
	// OneLook (the snapshots of its single look) and no Events or Usage.
	Snapshots Snapshots
	Events    Events
	Usage     Usage
	// OneShot marks a one-shot audit: rules that need history of events
	// or changes (NeedsHistory) are skipped. Every other rule judges the
	// single look exactly as serve judges its first cycle.
	OneShot bool
}

// Audit reports whether this is a one-shot evaluation without stored
// history (the audit, or a caller that passed no snapshot store).
func (in *Input) Audit() bool { return in.OneShot || in.Snapshots == nil }

// History returns up to limit snapshots of one object observed since from,
// oldest first (nil in an audit).
func (in *Input) History(ctx context.Context, key string, from time.Time, limit int) ([]store.Snapshot, error) {
	if in.Snapshots == nil {
		return nil, nil
	}
	return in.Snapshots.SnapshotHistory(ctx, resource.Ref(in.Tenant.Name, in.Type, key), from, time.Time{}, limit)
}

// Object returns the per-object config override.
func (in *Input) Object(key string) config.Object { return in.Tenant.Object(string(in.Type), key) }

// Critical reports whether an object is configured as critical.
func (in *Input) Critical(key string) bool { return in.Tenant.IsCritical(string(in.Type), key) }

// Rule is one detection rule.
type Rule interface {
	// ID is the stable dotted rule id (DESIGN.md), e.g. "automation.error".
	ID() string
	// Type is the resource type whose snapshots the rule reads; the engine
	// evaluates the rule after each collection of that type.
	Type() resource.Type
	// NeedsHistory is true for rules that cannot say anything from one
	// observation (the audit skips them).
	NeedsHistory() bool
	// Evaluate returns the findings that hold at in.Now. Objects without a
	// finding are healthy: the incident manager resolves their incidents.
	Evaluate(ctx context.Context, in *Input) ([]Finding, error)
}

// Registry is the set of rules, looked up by id and by resource type.
type Registry struct {
	rules []Rule
}

// NewRegistry returns a registry of rules; ids must be unique.
func NewRegistry(rules ...Rule) (*Registry, error) {
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.ID()] {
			return nil, fmt.Errorf("detect: duplicate rule id %q", r.ID())
		}
		seen[r.ID()] = true
	}
	rs := append([]Rule(nil), rules...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID() < rs[j].ID() })
	return &Registry{rules: rs}, nil
}

// Rules lists every rule, by id.
func (r *Registry) Rules() []Rule { return r.rules }

// ForType lists the rules evaluated after a collection of t.
func (r *Registry) ForType(t resource.Type) []Rule {
	var out []Rule
	for _, x := range r.rules {
		if x.Type() == t {
			out = append(out, x)
		}
	}
	return out
}

// Evaluate runs every enabled rule for in.Type (skipping rules that need
// history in an audit) and returns the findings per rule id — including an
// empty entry for every rule that ran, so callers know which incidents to
// resolve. Disabled rules get an empty entry (their incidents resolve),
// findings on ignored objects are dropped;
// each finding's severity defaults to the rule's configured severity.
func (r *Registry) Evaluate(ctx context.Context, in *Input) (map[string][]Finding, error) {
	out := map[string][]Finding{}
	var errs []string
	if in.Snapshots == nil {
		// No store: judge the given snapshots as a single look.
		cp := *in
		look := NewOneLook()
		look.Add(in.Type, in.Current)
		cp.Snapshots, cp.OneShot = look, true
		in = &cp
	}
	for _, rule := range r.ForType(in.Type) {
		base := in.Rules.Rule(rule.ID())
		if base != nil && !base.Enabled {
			// A disabled rule finds nothing: its open incidents resolve
			// (after flap damping) instead of staying open forever.
			out[rule.ID()] = nil
			continue
		}
		if in.Audit() && rule.NeedsHistory() {
			continue
		}
		fs, err := rule.Evaluate(ctx, in)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", rule.ID(), err))
			continue
		}
		kept := fs[:0]
		for _, f := range fs {
			if in.Tenant.Object(string(f.ResourceType), f.ResourceKey).Ignore {
				continue
			}
			if f.Severity == "" && base != nil {
				f.Severity = base.Severity
			}
			if f.Rule == "" {
				f.Rule = rule.ID()
			}
			if f.Family == "" {
				f.Family = defaultFamily(f.Rule)
			}
			if f.Tenant == "" {
				f.Tenant = in.Tenant.Name
			}
			kept = append(kept, f)
		}
		out[rule.ID()] = kept
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("detect: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

// defaultFamily is the family of a finding whose rule did not set one:
// every finding has one of the five operational families or none (a state,
// not a failed call), so routing and labels never see an empty family.
func defaultFamily(rule string) catalog.Family {
	switch rule {
	case "data_extension.schema_drift", "data_extension.row_drop", "data_extension.empty", "triggered_send.errors":
		return catalog.Client // the data or the content is wrong
	case "triggered_send.backlog":
		return catalog.Timeout // accepted messages wait in the queue
	}
	return catalog.None
}
