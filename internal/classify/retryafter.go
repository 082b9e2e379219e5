package classify

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter caps absurd server-requested waits.
const maxRetryAfter = 24 * time.Hour

// retryAfter reads the Retry-After header (delay-seconds or HTTP-date,
// relative to now) and falls back to the wait read from the body.
func retryAfter(h http.Header, now time.Time, fromBody time.Duration) time.Duration {
	if h != nil {
		if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
			if d, ok := parseRetryAfter(v, now); ok {
				return d
			}
		}
	}
	return fromBody
}

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if d, ok := parseSeconds(v); ok {
		return d, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if now.IsZero() {
		now = time.Now()
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return min(d, maxRetryAfter), true
}

// parseSeconds parses a non-negative number of seconds (fractions allowed).
func parseSeconds(v string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f != f {
		return 0, false
	}
	if f > maxRetryAfter.Seconds() {
		return maxRetryAfter, true
	}
	return time.Duration(f * float64(time.Second)), true
}

// bodyRetryAfter reads a retryAfter member (number or string of seconds).
func bodyRetryAfter(raw json.RawMessage) time.Duration {
	s := strings.TrimSpace(rawText(raw))
	if s == "" {
		return 0
	}
	d, _ := parseSeconds(s)
	return d
}
