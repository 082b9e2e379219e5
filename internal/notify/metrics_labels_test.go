package notify

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestChannelFailureSeriesBounded: receivers and channels come from the
// configuration, but a generated one with 10,000 receivers (one channel
// each) still makes at most maxReceiverSeries series of
// sfmcwatch_notify_channel_failures_total, the rest counted as other.
func TestChannelFailureSeriesBounded(t *testing.T) {
	w := newWatchdog(nil, nil)
	for i := range 10000 {
		w.failures[fmt.Sprintf("receiver-%05d/webhook", i)] = uint64(i%7 + 1)
	}
	d := &Dispatcher{watch: w, beat: &heartbeat{}}
	n := testutil.CollectAndCount(d.Collector(), "sfmcwatch_notify_channel_failures_total")
	if n == 0 || n > maxReceiverSeries {
		t.Fatalf("%d series, want 1..%d", n, maxReceiverSeries)
	}
}
