package collect_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// TestNotSentMessagesMasked: a transactional not-sent event's
// statusMessage can name the recipient; the event stored for it holds the
// message masked (found by TestPrivacyEverySourceAndSink: the address was
// stored as SFMC sent it).
func TestNotSentMessagesMasked(t *testing.T) {
	ctx := context.Background()
	e := msgEnv(t, nil)
	key := txWarm(t, ctx, e, 1)
	e.Inject(sim.Fault{Kind: sim.FaultTransactionalNotSent, Target: key,
		Params: map[string]string{"per_hour": "240", "status_code": "126", "message": "Invalid subscriber address jörg.müller@bücher.de, +44 20 7946 0958"}})
	for range 2 {
		e.Advance(msgPollEvery)
		e.Collect(ctx, resource.TriggeredSend)
		e.Collect(ctx, resource.Transactional)
	}
	evs, err := e.Store.QueryEvents(ctx, store.EventQuery{Tenant: e.Tenant.Name, Source: "sfmc", Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if !bytes.Contains(ev.Body, []byte("Invalid subscriber address")) {
			continue
		}
		n++
		if bytes.Contains(ev.Body, []byte("jörg")) || bytes.Contains(ev.Body, []byte("7946")) {
			t.Fatalf("stored unmasked: %s", ev.Body)
		}
	}
	if n == 0 {
		t.Fatal("no not-sent event stored with the message")
	}
}
