package e2e

import (
	"context"
	"testing"
	"time"
)

// newDashboardBrowser is newBrowser with a 1280×900 window and a longer
// overall deadline: the dashboard walk has many steps, and under -race on
// a shared 2-core machine seeding and page loads are slower.
func newDashboardBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	return startBrowser(t, 1280, 900, timeout)
}
