package sfmc

import (
	"context"
	"sync/atomic"
	"time"
)

type counterKey struct{}

// countCalls attaches an attempt counter to ctx (every HTTP attempt made
// with the returned ctx, token requests included, increments it).
func countCalls(ctx context.Context) (context.Context, *atomic.Int64) {
	n := &atomic.Int64{}
	return context.WithValue(ctx, counterKey{}, n), n
}

func bumpCounter(ctx context.Context) {
	if n, ok := ctx.Value(counterKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}

// StatusReadOptions tune ReadStatuses.
type StatusReadOptions struct {
	// NotSentCursor is the last transactional not-sent event id seen.
	NotSentCursor int64
	// ImportsSince narrows ImportResultsSummary to runs started after it
	// (zero: all retained runs).
	ImportsSince time.Time
	// QueueBudget caps queue-metric calls; inactive definitions are read
	// first (default 3).
	QueueBudget int
}

// StatusRead is one bulk read of a tenant's statuses and counters.
type StatusRead struct {
	Automations      []Automation
	FailedRuns       []AutomationInstance
	FailedActivities []ActivityInstance
	Journeys         []Journey
	TriggeredSends   []TriggeredSend
	SendSummaries    []TriggeredSendSummary
	Transactional    []TransactionalDefinition
	Queues           Budgeted[QueueMetrics]
	NotSent          NotSentPage
	Imports          []ImportDefinition
	ImportResults    []ImportResult
	// Calls counts HTTP attempts per resource type (token requests under "token").
	Calls map[string]int
	// Errors holds the failure of each resource type that could not be read.
	Errors map[string]error
}

// ReadStatuses reads statuses and counters of every automation, journey,
// triggered send, transactional definition and import with bulk calls: list
// pages and SOAP Retrieve pages covering many objects, plus targeted reads
// only for what looks wrong (failed automation runs, inactive transactional
// queues). A resource that fails is recorded in Errors and the read goes on,
// except for tenant-level failures (auth, blocked, budget) which stop it.
func (c *Client) ReadStatuses(ctx context.Context, o StatusReadOptions) (*StatusRead, error) {
	if o.QueueBudget <= 0 {
		o.QueueBudget = 3
	}
	sr := &StatusRead{Calls: map[string]int{}, Errors: map[string]error{}}
	// Token first, so its cost is not charged to a resource.
	tctx, tn := countCalls(ctx)
	if _, err := c.token(tctx); err != nil {
		return sr, err
	}
	sr.Calls["token"] = int(tn.Load())
	steps := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"automations", func(ctx context.Context) error {
			as, err := c.Automations(ctx)
			sr.Automations = as
			if err != nil {
				return err
			}
			var keys []string
			for _, a := range as {
				if a.LastRunStatus == "Error" || a.Status.IsError() {
					keys = append(keys, a.Key)
				}
			}
			if len(keys) == 0 {
				return nil
			}
			runs, err := c.AutomationInstances(ctx, In("CustomerKey", keys...))
			if err != nil {
				return err
			}
			latest := map[string]AutomationInstance{}
			for _, r := range runs {
				if cur, ok := latest[r.Key]; !ok || r.StartTime.After(cur.StartTime) {
					latest[r.Key] = r
				}
			}
			var ids []string
			for _, r := range latest {
				sr.FailedRuns = append(sr.FailedRuns, r)
				ids = append(ids, r.ID)
			}
			if len(ids) > 0 {
				acts, err := c.ActivityInstances(ctx, In("AutomationInstanceID", ids...))
				for _, a := range acts {
					if a.Status.IsError() || a.StatusMessage != "" {
						sr.FailedActivities = append(sr.FailedActivities, a)
					}
				}
				return err
			}
			return nil
		}},
		{"journeys", func(ctx context.Context) error {
			js, err := c.Journeys(ctx, JourneyListOptions{})
			sr.Journeys = js
			return err
		}},
		{"triggered_sends", func(ctx context.Context) error {
			ts, err := c.TriggeredSends(ctx, nil)
			sr.TriggeredSends = ts
			if err != nil {
				return err
			}
			sum, err := c.TriggeredSendSummaries(ctx)
			sr.SendSummaries = sum
			return err
		}},
		{"transactional", func(ctx context.Context) error {
			ds, err := c.TransactionalDefinitions(ctx)
			sr.Transactional = ds
			if err != nil {
				return err
			}
			var risky []string
			for _, d := range ds {
				if d.Status != "Active" {
					risky = append(risky, d.Key)
				}
			}
			q, err := c.TransactionalQueues(ctx, risky, o.QueueBudget)
			sr.Queues = q
			if err != nil {
				return err
			}
			ns, err := c.TransactionalNotSent(ctx, o.NotSentCursor, 500, 4)
			sr.NotSent = ns
			return err
		}},
		{"imports", func(ctx context.Context) error {
			ims, err := c.ImportDefinitions(ctx)
			sr.Imports = ims
			if err != nil {
				return err
			}
			var extra Filter
			if !o.ImportsSince.IsZero() {
				extra = After("StartDate", o.ImportsSince)
			}
			res, err := c.ImportResults(ctx, nil, extra)
			sr.ImportResults = res
			return err
		}},
	}
	for _, s := range steps {
		sctx, n := countCalls(ctx)
		err := s.run(sctx)
		sr.Calls[s.name] = int(n.Load())
		if err != nil {
			sr.Errors[s.name] = err
			if stopsRound(err) && !IsRateLimited(err) && kindOf(err) != KindTimeout {
				return sr, err
			}
		}
	}
	return sr, nil
}

// TotalCalls sums Calls.
func (sr *StatusRead) TotalCalls() int {
	n := 0
	for _, v := range sr.Calls {
		n += v
	}
	return n
}
