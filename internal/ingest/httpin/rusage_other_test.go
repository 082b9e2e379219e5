//go:build !unix

package httpin

import "time"

func processCPU() time.Duration { return 0 }
