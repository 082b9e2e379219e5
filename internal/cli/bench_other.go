//go:build !unix

package cli

import (
	"runtime"
	"time"
)

// benchCPU is unknown on this platform.
func benchCPU() time.Duration { return 0 }

// benchRSSPeak approximates the peak resident set with the memory the Go
// runtime obtained from the system.
func benchRSSPeak() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.Sys)
}
