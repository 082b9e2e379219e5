package sfmc

import (
	"context"
	"github.com/sfmcwatch/sfmcwatch/internal/retry"
	"net/http"
	"time"
)

// backoff returns the wait before retry number n (0-based): exponential from
// BackoffBase, capped at BackoffMax, with equal jitter (internal/retry).
func (c *Client) backoff(n int) time.Duration {
	return retry.Jitter(retry.Exponential(n, c.opt.BackoffBase, c.opt.BackoffMax))
}

// retryAfter reads a Retry-After header: delta seconds or an HTTP date
// (internal/retry); 0 when absent or unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	d, _ := retry.Header(h, now, 0)
	return d
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
