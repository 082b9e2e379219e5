// Package retry is the one place sfmcwatch reads a Retry-After value and
// computes a retry delay: the SFMC client, the response classifier, the
// work scheduler and the notification outbox all use it, so a wait means
// the same everywhere.
package retry

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// After parses a Retry-After value — delay-seconds (fractions allowed) or
// an HTTP-date relative to now (zero: time.Now) — capped at limit (a year
// when limit ≤ 0). A date in the past is a zero wait; ok is false when v
// is neither form (or empty).
func After(v string, now time.Time, limit time.Duration) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if limit <= 0 {
		limit = ceiling
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 || f != f {
			return 0, false
		}
		if f > limit.Seconds() {
			return limit, true
		}
		return time.Duration(f * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if now.IsZero() {
		now = time.Now()
	}
	return min(max(t.Sub(now), 0), limit), true
}

// ceiling caps a wait when the caller gives no limit.
const ceiling = 365 * 24 * time.Hour

// Header is After on h's Retry-After header (0, false when absent or bad).
func Header(h http.Header, now time.Time, limit time.Duration) (time.Duration, bool) {
	if h == nil {
		return 0, false
	}
	return After(h.Get("Retry-After"), now, limit)
}

// Exponential is base·2^n, capped at maxDelay (n is 0 for the first retry).
func Exponential(n int, base, maxDelay time.Duration) time.Duration {
	d := base
	for i := 0; i < n && d < maxDelay; i++ {
		d *= 2
	}
	return min(d, maxDelay)
}

// Jitter spreads d with "equal jitter": half fixed, half random, so clients
// that failed together do not retry together, and never instantly.
func Jitter(d time.Duration) time.Duration {
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + time.Duration(rand.Int64N(int64(half)+1))
}
