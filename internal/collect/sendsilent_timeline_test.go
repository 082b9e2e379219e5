package collect_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect/collecttest"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/endpoint"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// An integration sends transactional messages (POST
// /messaging/v1/email/messages/{messageKey}, 202 each, recorded the way
// the proxy records them); the definition swallows them: SFMC lists them
// in its not-sent feed, which the transactional poll reads.
func TestSendSilentFailureTimeline(t *testing.T) {
	ctx := context.Background()
	e := collecttest.New(t, collecttest.Options{Seed: 3, Size: sim.Size{Automations: 5, Transactional: 4}})
	rule := detect.SendSilentFailureRule{}
	e.Poll(ctx, resource.Transactional, rule)
	def := e.Keys("transactional")[0]
	seq := 0
	send := func() {
		for range 2 { // two messages a minute
			seq++
			key := fmt.Sprintf("order-%d", seq)
			if !e.Sim.AcceptTransactional(def, key) {
				t.Fatalf("definition %s unknown", def)
			}
			url := "https://sim.rest.marketingcloudapis.com/messaging/v1/email/messages/" + key
			ev := event.Event{TS: e.Now(), Tenant: e.Tenant.Name, Integration: "shop-backend", Source: "proxy", Method: "POST",
				URL: url, Status: 202}
			ev.Endpoint, ev.ObjectKey = endpoint.Template(ev.URL)
			if _, err := e.Store.InsertEvents(ctx, []store.EventRecord{{Event: ev, Family: "none", Count: 1}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	find := func() []detect.Finding {
		res := e.Poll(ctx, resource.Transactional, rule)
		return res[rule.ID()]
	}
	// Healthy: sent messages are not in the feed.
	for m := 1; m <= 15; m++ {
		send()
		e.Advance(time.Minute)
		if m%5 == 0 {
			if fs := find(); len(fs) != 0 {
				t.Fatalf("healthy sends: %+v", fs)
			}
		}
	}
	e.Inject(sim.Fault{Kind: sim.FaultTransactionalSwallowed, Target: def, Params: map[string]string{"status_code": "126"}})
	var got []detect.Finding
	var ttd time.Duration
	for m := 1; m <= 30 && len(got) == 0; m++ {
		send()
		e.Advance(time.Minute)
		if m%5 == 0 {
			got, ttd = find(), time.Duration(m)*time.Minute
		}
	}
	// min_not_sent 5 (≥ 10% of the accepted) after the 5-minute grace: the
	// second or third transactional poll.
	if len(got) != 1 || got[0].ResourceKey != "integration:shop-backend" || ttd > 15*time.Minute {
		t.Fatalf("after %s: %+v", ttd, got)
	}
	t.Logf("found %s after the fault: %s", ttd, got[0].Title)
}
