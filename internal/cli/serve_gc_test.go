package cli

import (
	"runtime/debug"
	"testing"
)

// TestServeGCDefault: serve lowers GOGC to serveGCPercent only when the
// GOGC environment variable is unset; a set GOGC (applied by the runtime
// at start) is left alone. Not parallel: the GC percent is process-wide.
func TestServeGCDefault(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	for _, tc := range []struct {
		env  string
		want int
	}{
		{"", serveGCPercent},
		{"100", 100},
		{"off", 100},
		{"200", 100},
	} {
		debug.SetGCPercent(100)
		setServeGC(tc.env)
		if got := debug.SetGCPercent(100); got != tc.want {
			t.Errorf("GOGC=%q: GC percent %d, want %d", tc.env, got, tc.want)
		}
	}
}
