package ens

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestEventTypeLabelsBounded: the event type comes from the payload, so
// whoever holds a source's key picks it; 10,000 distinct types (one an
// address) make at most maxTypeSeries series of sfmcwatch_ens_events_total.
func TestEventTypeLabelsBounded(t *testing.T) {
	e := newEnv(t, nil, 0)
	const n = 10000
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		typ := fmt.Sprintf("TransactionalSendEvents.Made%05d", i)
		if i == 0 {
			typ = "jane.doe@example.com"
		}
		fmt.Fprintf(&b, `{"eventCategoryType":%q,"timestampUTC":1583849944000,"compositeId":"c-%d","definitionKey":"k","mid":1,"eid":1,"info":{"messageKey":"m-%d"}}`, typ, i, i)
	}
	b.WriteByte(']')
	body := []byte(b.String())
	if code, rep := e.post(t, Path, body, Sign([]byte(key), body)); code != 200 || rep.Received != n {
		t.Fatalf("%d %+v", code, rep)
	}
	if got := testutil.CollectAndCount(e.r.events); got > maxTypeSeries {
		t.Fatalf("%d series of sfmcwatch_ens_events_total, cap %d", got, maxTypeSeries)
	}
	if v := testutil.ToFloat64(e.r.events.WithLabelValues("ens-prod", "other")); v < n-maxTypeSeries {
		t.Fatalf("other counted %v events", v)
	}
}
