package monitor

import (
	"context"
	"errors"
	"fmt"
	"github.com/sfmcwatch/sfmcwatch/internal/retry"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// runItem runs one claimed work item and completes or defers it.
func (e *Engine) runItem(ctx context.Context, it store.WorkItem) {
	typ := resource.Type(it.Key)
	log := e.log.With("tenant", it.Tenant, "type", it.Key)
	t, cfg := e.tenantConfig(it.Tenant)
	if it.Kind != WorkKind || t == nil || e.interval(t, typ) == 0 || e.collectors[typ] == nil {
		// Tenant removed, monitor disabled or unknown item: drop it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := e.st.RemoveWork(rctx, it.Tenant, it.Kind, it.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
			log.Error("removing obsolete work item failed", "error", err)
		}
		log.Info("work item dropped: tenant or monitor no longer configured")
		return
	}
	rt, err := e.runtime(ctx, t, cfg)
	if err != nil {
		log.Error("tenant client unavailable", "error", err)
		e.release(ctx, it, e.now().Add(e.backoff(it.Attempts)), err.Error())
		return
	}
	jctx, cancel := context.WithTimeout(ctx, e.opt.JobTimeout)
	defer cancel()
	lost, stop := e.keepLease(jctx, cancel, it, log)
	defer stop()
	now := e.now()
	interval := e.interval(t, typ)
	lag, late, back := e.metrics.started(it.ID, it.Key, it.NextDueAt, now, interval)
	if late {
		// The episode (sustained lag over all polls) is logged once as a
		// warning by reportLag; single late items only at debug.
		log.Debug("poll running late", "lag", lag.Round(time.Second).String(), "interval", interval.String(), "workers", e.pool.want())
	} else if back {
		log.Debug("poll back on schedule", "lag", lag.Round(time.Second).String())
	}
	if e.opt.OnPoll != nil {
		e.opt.OnPoll(it.Tenant, it.Key, lag)
	}
	if st := e.behind.observe(it.Tenant, now, lag); st.closed {
		// Off the job: a round of monitor.lagging incidents must not hold
		// a worker (Run waits for it at shutdown).
		e.bg.Go(func() { e.reportLag(ctx, st, now) })
	}
	if typ != resource.Tenant {
		if until := rt.health.BlockedUntil(); now.Before(until) {
			e.release(ctx, it, until, "tenant blocked by SFMC (REST 50200): circuit open")
			log.Debug("circuit open: not calling the tenant", "until", until)
			return
		}
	}
	_, err = e.collectAndEvaluate(jctx, rt, t, cfg, typ, now)
	e.pool.observe(itemKey{it.Tenant, it.Key}, e.now().Sub(now))
	e.metrics.finished(it.Key, err)
	stop()
	if lost() {
		// Another replica holds the item now: its run counts, not ours.
		return
	}
	if err == nil {
		next := now.Add(e.interval(t, typ))
		if cerr := e.st.Complete(context.WithoutCancel(ctx), it.ID, e.owner, next, e.now()); cerr != nil {
			log.Warn("completing work item failed (lease lost?)", "error", cerr)
		}
		if typ != resource.Tenant && rt.reported.CompareAndSwap(true, false) {
			e.log.Info("tenant reachable again", "tenant", it.Tenant)
		}
		return
	}
	until, reason := e.failure(jctx, rt, t, cfg, it, err)
	e.release(ctx, it, until, reason)
}

// keepLease renews the lease on it every Lease/3 until stop is called (stop
// waits for a renewal in flight and may be called twice). When the lease
// is lost — another owner claimed the item, it was removed, or renewals
// kept failing until it ran out — it cancels the job (cancel) and lost
// reports true: results stored after that would race the new holder.
func (e *Engine) keepLease(ctx context.Context, cancel context.CancelFunc, it store.WorkItem, log *slog.Logger) (lost func() bool, stop func()) {
	var gone atomic.Bool
	done := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Go(func() {
		every := e.opt.Lease / 3
		tick := time.NewTicker(every)
		defer tick.Stop()
		until := it.LeaseUntil
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now := e.now()
			rctx, rcancel := context.WithTimeout(ctx, every)
			err := e.st.RenewWork(rctx, it.ID, e.owner, now.Add(e.opt.Lease), now)
			rcancel()
			switch {
			case err == nil:
				until = now.Add(e.opt.Lease)
				continue
			case errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound):
				log.Warn("work item lease lost; abandoning the job", "error", err)
			case ctx.Err() != nil:
				return
			case e.now().Add(every + every/2).Before(until):
				// The next attempt still comes well before the lease
				// runs out.
				log.Warn("renewing work item lease failed; retrying", "error", err, "lease_until", until)
				continue
			default:
				log.Warn("work item lease could not be renewed before it ran out; abandoning the job", "error", err)
			}
			gone.Store(true)
			cancel()
			return
		}
	})
	return gone.Load, func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

// collectAndEvaluate runs one collection and the rules of its type.
func (e *Engine) collectAndEvaluate(ctx context.Context, rt *tenantRuntime, t *config.Tenant, cfg *config.Config,
	typ resource.Type, now time.Time) (incident.Changes, error) {
	if mu := rt.evalLock(typ); mu != nil {
		mu.Lock()
		defer mu.Unlock()
	}
	c := e.collectors[typ]
	prev := map[string]store.Snapshot{}
	latest, err := e.st.LatestSnapshots(ctx, t.Name, string(typ))
	if err != nil {
		return incident.Changes{}, fmt.Errorf("previous snapshots: %w", err)
	}
	for _, s := range latest {
		prev[s.ResourceKey] = s
	}
	out, cerr := c.Collect(ctx, &collect.Input{Now: now, Tenant: t, Client: rt.client, Previous: prev, Cursors: e.st, Health: rt.health})
	// The client's call events are stored whatever the outcome: they are
	// what api.errors and the audit trail read.
	if _, err := e.buf.flush(context.WithoutCancel(ctx), e.st); err != nil {
		e.log.Error("storing call events failed", "tenant", t.Name, "error", err)
	}
	if cerr != nil {
		return incident.Changes{}, cerr
	}
	if typ == resource.Automation || typ == resource.Transactional {
		// What ENS merged since prev was read (on another replica: this
		// one holds the type's lock) is carried into this poll's state.
		if cur, err := e.st.LatestSnapshots(ctx, t.Name, string(typ)); err == nil {
			latest := make(map[string]store.Snapshot, len(cur))
			for _, s := range cur {
				latest[s.ResourceKey] = s
			}
			collect.ReapplyENS(typ, out, prev, latest)
		}
	}
	if err := collect.Persist(ctx, e.st, out, now); err != nil {
		if errors.Is(err, collect.ErrCursorMoved) {
			e.log.Warn("another replica read the same feed page; dropping this collection", "tenant", t.Name, "type", typ, "error", err)
			return incident.Changes{}, nil
		}
		return incident.Changes{}, err
	}
	return e.evaluate(ctx, t, cfg, typ, now)
}

// evaluate runs the rules of typ over the stored state and applies the
// findings to incidents.
func (e *Engine) evaluate(ctx context.Context, t *config.Tenant, cfg *config.Config, typ resource.Type, now time.Time) (incident.Changes, error) {
	if len(e.reg.ForType(typ)) == 0 {
		return incident.Changes{}, nil
	}
	cur, err := e.st.LatestSnapshots(ctx, t.Name, string(typ))
	if err != nil {
		return incident.Changes{}, fmt.Errorf("current snapshots: %w", err)
	}
	res, everr := e.reg.Evaluate(ctx, &detect.Input{Now: now, Tenant: t, Rules: &cfg.Rules, Type: typ, Current: cur,
		Snapshots: e.st, Events: e.st, Usage: e.st})
	if everr != nil {
		// Rules that failed have no entry: their incidents are left alone.
		e.log.Error("detection rules failed", "tenant", t.Name, "type", typ, "error", everr)
	}
	ch, err := e.incidents.Apply(ctx, now, t.Name, typ, res)
	e.applied(ctx, t.Name, typ, &ch)
	if err != nil {
		return ch, fmt.Errorf("incidents: %w", err)
	}
	return ch, nil
}

// evaluateTenant runs the tenant health collection now (after a
// tenant-level failure), outside the schedule.
func (e *Engine) evaluateTenant(ctx context.Context, rt *tenantRuntime, t *config.Tenant, cfg *config.Config) {
	if e.collectors[resource.Tenant] == nil {
		return
	}
	if _, err := e.collectAndEvaluate(ctx, rt, t, cfg, resource.Tenant, e.now()); err != nil {
		e.log.Error("tenant health evaluation failed", "tenant", t.Name, "error", err)
	}
}

// failure decides when a failed item is due again, records the failure and
// reports it.
func (e *Engine) failure(ctx context.Context, rt *tenantRuntime, t *config.Tenant, cfg *config.Config,
	it store.WorkItem, err error) (time.Time, string) {
	now := e.now()
	rt.health.RecordFailure(now, err)
	reason := err.Error()
	if len(reason) > 500 {
		reason = reason[:500] + "…"
	}
	ae, isAPI := errors.AsType[*sfmc.APIError](err)
	tenantLevel := isAPI && isTenantLevel(ae.Kind)
	var until time.Time
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// Shutdown: give the item back as it was.
		return now, "interrupted by shutdown"
	case sfmc.IsBlocked(err):
		until = rt.health.BlockedUntil()
		if !until.After(now) {
			until = now.Add(cfg.Rules.TenantBlocked.CircuitOpen.Std())
		}
	case sfmc.IsBudget(err):
		until = now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	case isAPI && ae.RetryAfter > 0:
		until = now.Add(ae.RetryAfter)
	case sfmc.IsAuth(err) && cfg.Rules.TenantBlind.TokenRetry > 0:
		until = now.Add(cfg.Rules.TenantBlind.TokenRetry.Std())
	default:
		until = now.Add(e.backoff(it.Attempts))
	}
	if next := now.Add(e.interval(t, resource.Type(it.Key))); !sfmc.IsBlocked(err) && !sfmc.IsBudget(err) && until.After(next) && !tenantLevel {
		// An object-level failure never delays the next regular poll.
		until = next
	}
	if tenantLevel {
		if rt.reported.CompareAndSwap(false, true) {
			e.log.Warn("tenant unreachable or refusing sfmcwatch; retrying with backoff (reported once until it recovers)",
				"tenant", t.Name, "type", it.Key, "error", err, "retry_at", until)
		} else {
			e.log.Debug("tenant still failing", "tenant", t.Name, "type", it.Key, "error", err, "retry_at", until)
		}
		e.evaluateTenant(context.WithoutCancel(ctx), rt, t, cfg)
	} else {
		e.log.Warn("collection failed", "tenant", t.Name, "type", it.Key, "error", err, "retry_at", until)
	}
	return until, reason
}

func isTenantLevel(k sfmc.Kind) bool {
	switch k {
	case sfmc.KindAuth, sfmc.KindForbidden, sfmc.KindBlocked, sfmc.KindRateLimited,
		sfmc.KindServer, sfmc.KindTimeout, sfmc.KindTransport, sfmc.KindBudget:
		return true
	}
	return false
}

// backoff is the delay after the given number of attempts (the claim that
// failed included): BackoffBase doubling, capped at BackoffMax.
func (e *Engine) backoff(attempts int) time.Duration {
	return retry.Exponential(attempts-1, e.opt.BackoffBase, e.opt.BackoffMax)
}
