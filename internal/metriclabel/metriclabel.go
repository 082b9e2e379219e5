// Package metriclabel keeps Prometheus label values in bounded sets: each
// label has a cap, values past it (and values that are not label-like)
// become "other", so no input — a tenant name, a source, an ENS event type
// sent by whoever holds a key — can grow the number of series without end.
package metriclabel

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Other is the bucket for values past the cap or not label-like.
const Other = "other"

// maxLen is the longest value kept as it is.
const maxLen = 64

// labelLike reports whether v may be a label value: non-empty, short, valid UTF-8,
// no control characters, and not the kind of text personal data hides in
// (an '@' or white space beyond single spaces).
func labelLike(v string) bool {
	if v == "" || len(v) > maxLen || !utf8.ValidString(v) || strings.ContainsAny(v, "@\n\r\t\"") || strings.Contains(v, "  ") || strings.Contains(strings.ToLower(v), "%40") {
		return false
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Limiter hands out label values for counters incremented as things
// happen: the first max-1 distinct label-like values keep their name,
// every later one is Other. Safe for concurrent use.
type Limiter struct {
	max  int
	mu   sync.Mutex
	seen map[string]struct{}
}

// NewLimiter returns a Limiter allowing at most max series (Other
// included); max < 2 is 2.
func NewLimiter(n int) *Limiter {
	return &Limiter{max: max(n, 2), seen: map[string]struct{}{}}
}

// Label returns v, or Other when v is not label-like or the cap is reached.
// The empty value stays empty (one series, counted in the cap).
func (l *Limiter) Label(v string) string {
	if v != "" && (!labelLike(v) || v == Other) {
		return Other
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[v]; ok {
		return v
	}
	if len(l.seen) >= l.max-1 {
		return Other
	}
	l.seen[v] = struct{}{}
	return v
}

// Top is for collectors that build their series at scrape time from
// counts: the max-1 values with the largest counts (ties by name) keep
// their name, the others are Other. Values that are not label-like are
// Other whatever their count.
func Top(counts map[string]int64, n int) func(string) string {
	n = max(n, 2)
	names := make([]string, 0, len(counts))
	for v := range counts {
		if (v == "" || labelLike(v)) && v != Other {
			names = append(names, v)
		}
	}
	if len(names) > n-1 {
		slices.SortFunc(names, func(a, b string) int {
			if c := cmp.Compare(counts[b], counts[a]); c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
		names = names[:n-1]
	}
	keep := make(map[string]bool, len(names))
	for _, v := range names {
		keep[v] = true
	}
	return func(v string) string {
		if keep[v] {
			return v
		}
		return Other
	}
}

// OneOf returns v when it is one of allowed, else Other: for labels whose
// values the code knows (families, severities, results).
func OneOf[S ~string](v S, allowed ...S) string {
	if slices.Contains(allowed, v) {
		return string(v)
	}
	return Other
}
