package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sfmcwatch/sfmcwatch/internal/retry"
	"log/slog"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// claimBatch is how many notifications one claim leases.
const claimBatch = 16

// sendTimeout bounds one send (the channel's own timeout usually ends it
// sooner); the lease is renewed while it runs.
const sendTimeout = 60 * time.Second

// renewDuringSend renews the lease on message id every lease/3 until the
// returned stop is called.
func (d *Dispatcher) renewDuringSend(ctx context.Context, id int64, log *slog.Logger) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(max(d.leaseFor/3, time.Second))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := d.st.RenewNotification(ctx, id, d.instance, d.now().Add(d.leaseFor), d.now()); err != nil {
					log.Warn("notification lease not renewed during its send; another replica may send it too", "error", err)
					return
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// Deliver sends the due notifications of the outbox until none is left,
// and returns how many were delivered. Each row (one message to one
// channel of a receiver) is claimed under a lease, sent through that
// channel alone, then marked sent; a retryable failure is retried with
// exponential backoff (or the channel's Retry-After) until
// alerting.outbox.give_up_after, a permanent one is marked failed, each
// channel independently of the receiver's others. A row without a channel
// (queued before per-channel delivery) goes to every channel of the
// receiver. A crash between claim and mark leaves the row to be sent again
// when the lease expires: at least once.
func (d *Dispatcher) Deliver(ctx context.Context) (int, error) {
	c, err := d.compiled()
	if err != nil {
		return 0, err
	}
	sent := 0
	for ctx.Err() == nil {
		claimed, err := d.st.ClaimNotifications(ctx, d.instance, d.now(), d.leaseFor, claimBatch)
		if err != nil {
			return sent, fmt.Errorf("notify: claim: %w", err)
		}
		if len(claimed) == 0 {
			return sent, nil
		}
		for _, om := range claimed {
			ok, err := d.deliverOne(ctx, c, om)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
	}
	return sent, ctx.Err()
}

func (d *Dispatcher) deliverOne(ctx context.Context, c *compiled, om store.OutboxMessage) (bool, error) {
	log := d.log.With(slog.String("receiver", om.Receiver), slog.String("key", om.Key), slog.Int("attempt", om.Attempts))
	if om.Channel != "" {
		log = log.With(slog.String("channel", om.Channel))
	}
	var m Message
	if err := json.Unmarshal(om.Payload, &m); err != nil {
		return false, d.fail(ctx, om, fmt.Sprintf("unreadable payload: %v", err), log)
	}
	n, err := d.notifier(om.Receiver, om.Channel)
	if err != nil {
		return false, d.fail(ctx, om, err.Error(), log)
	}
	// The claim's lease may have run down while earlier rows of the batch
	// were sent: renew it now, and every lease/3 while the send runs, so a
	// slow channel never lets another replica send the same row (and a
	// dead replica's rows come back within one short lease).
	if err := d.st.RenewNotification(ctx, om.ID, d.instance, d.now().Add(d.leaseFor), d.now()); err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			log.Info("notification taken over by another replica before its send")
			return false, nil
		}
		return false, fmt.Errorf("notify: renew lease: %w", err)
	}
	stop := d.renewDuringSend(ctx, om.ID, log)
	sendCtx, cancel := context.WithTimeout(ctx, max(d.leaseFor/2, sendTimeout))
	err = n.Notify(sendCtx, &m)
	cancel()
	stop()
	now := d.now()
	if err == nil {
		if err := d.st.MarkNotificationSent(ctx, om.ID, d.instance, now); err != nil {
			if errors.Is(err, store.ErrConflict) {
				// The lease expired mid-send and another replica took it:
				// it will be sent again (at least once).
				log.Warn("notification lease lost during send; the receiver may get it twice")
				return true, nil
			}
			return true, fmt.Errorf("notify: mark sent: %w", err)
		}
		log.Info("notification sent", slog.String("kind", m.Kind))
		d.watch.delivered(ctx, om, now)
		return true, nil
	}
	if ctx.Err() != nil {
		// Shutting down: leave the lease to expire; the message is retried.
		return false, ctx.Err()
	}
	reason := redact.String(err.Error())
	giveUp := c.cfg.Alerting.Outbox.GiveUpAfter.Std()
	if !IsRetryable(err) || now.Sub(om.CreatedAt) >= giveUp {
		if IsRetryable(err) {
			reason = fmt.Sprintf("gave up after %s: %s", HumanDuration(now.Sub(om.CreatedAt)), reason)
		}
		return false, d.fail(ctx, om, reason, log)
	}
	delay := RetryAfterOf(err)
	if delay <= 0 {
		delay = backoff(c.cfg.Alerting.Outbox.RetryInitial.Std(), c.cfg.Alerting.Outbox.RetryMax.Std(), om.Attempts)
	}
	log.Warn("notification failed; will retry", slog.String("error", reason), slog.Duration("in", delay))
	d.watch.failed(ctx, om, reason, false, now)
	if err := d.st.RetryNotification(ctx, om.ID, d.instance, now.Add(delay), reason, now); err != nil && !errors.Is(err, store.ErrConflict) {
		return false, fmt.Errorf("notify: retry: %w", err)
	}
	return false, nil
}

func (d *Dispatcher) fail(ctx context.Context, om store.OutboxMessage, reason string, log *slog.Logger) error {
	log.Error("notification failed permanently", slog.String("error", reason))
	d.watch.failed(ctx, om, reason, true, d.now())
	if err := d.st.FailNotification(ctx, om.ID, d.instance, reason, d.now()); err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("notify: fail: %w", err)
	}
	return nil
}

// backoff is initial·2^(attempt-1), capped at maxDelay (internal/retry).
func backoff(initial, maxDelay time.Duration, attempt int) time.Duration {
	return retry.Exponential(attempt-1, initial, maxDelay)
}
