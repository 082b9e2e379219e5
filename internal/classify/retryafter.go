package classify

import (
	"encoding/json"
	"github.com/sfmcwatch/sfmcwatch/internal/retry"
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
	if d, ok := retry.Header(h, now, maxRetryAfter); ok {
		return d
	}
	return fromBody
}

// bodyRetryAfter reads a retryAfter member (number or string of seconds).
func bodyRetryAfter(raw json.RawMessage) time.Duration {
	s := strings.TrimSpace(rawText(raw))
	if s == "" {
		return 0
	}
	// Seconds only: a body's retryAfter is never a date.
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return 0
	}
	d, _ := retry.After(s, time.Time{}, maxRetryAfter)
	return d
}
