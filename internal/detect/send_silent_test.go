package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// send.silent_failure tests. Shapes: a single-recipient transactional
// send is POST /messaging/v1/email/messages/{messageKey} ("The message key
// that you provide must be unique among all of the keys used in your
// business unit over the last 2 days", sendMessageSingleRecipient); SFMC's
// not-sent feed, GET /messaging/v1/email/messages/?type=notSent, lists
// {statusCode, statusMessage, eventCategoryType, timestamp, definitionKey,
// eventID, info.messageKey} (shared fixture
// triggeredsend/transactional-messages-notsent-list.json), which the
// transactional collector stores as events with that body; journey entry
// events are POST /interaction/v1/events.

func txSend(ts time.Time, integration, key string, status int) store.EventRecord {
	return store.EventRecord{Event: event.Event{TS: ts, Tenant: "t", Integration: integration, Source: "proxy", Method: "POST",
		Endpoint: txSendEndpoint, ObjectKey: key, Status: status}, Family: "none", Count: 1, IsError: status/100 != 2}
}

func txNotSentEvent(ts time.Time, def, key string, code int, family string) store.EventRecord {
	body, _ := json.Marshal(map[string]any{"eventCategoryType": "TransactionalSendEvents.EmailNotSent", "definitionKey": def,
		"statusCode": code, "info": map[string]string{"messageKey": key}})
	return store.EventRecord{Event: event.Event{TS: ts, Tenant: "t", Source: "sfmc", Method: "GET", Endpoint: txNotSentEndpoint,
		ObjectKey: def, Status: 202, Body: body}, Family: family, Code: fmt.Sprint(code), IsError: true, Count: 1}
}

func TestSendSilentFailureTransactional(t *testing.T) {
	now := msgT0.Add(2 * time.Hour)
	cases := []struct {
		name     string
		accepted int
		notSent  int // of those, in the feed with code
		code     int
		family   string
		late     bool // the sends are in the grace period
		want     bool
	}{
		{name: "12 of 40 accepted sends not sent: build error 111", accepted: 40, notSent: 12, code: 111, family: "client", want: true},
		{name: "126 MessageVolumeLimitExceeded", accepted: 20, notSent: 20, code: 126, family: "client", want: true},
		{name: "unsubscribed recipients (code 1) are not a failure", accepted: 40, notSent: 12, code: 1, family: "client"},
		{name: "3 not sent is under min_not_sent 5", accepted: 40, notSent: 3, code: 111, family: "client"},
		{name: "6 of 100 is under 10%", accepted: 100, notSent: 6, code: 111, family: "client"},
		{name: "sends in the grace period are not judged", accepted: 40, notSent: 12, code: 111, family: "client", late: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := &xrefFakeEvents{}
			for i := range c.accepted {
				at := now.Add(-30*time.Minute + time.Duration(i)*20*time.Second)
				if c.late {
					at = now.Add(-4 * time.Minute)
				}
				key := fmt.Sprintf("order-%d", i)
				ev.add(txSend(at, "shop-backend", key, 202))
				if i < c.notSent {
					ev.add(txNotSentEvent(at.Add(time.Minute), "order_confirmation", key, c.code, c.family))
				}
			}
			// Another integration's rejected calls and a not-sent message
			// nobody here sent change nothing.
			ev.add(txSend(now.Add(-20*time.Minute), "crm", "x", 400))
			ev.add(txNotSentEvent(now.Add(-10*time.Minute), "order_confirmation", "someone-else", 111, "client"))
			in := msgInput(resource.Transactional, now, &msgFakeSnaps{})
			in.Events = ev
			got, err := SendSilentFailureRule{}.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", got, c.want)
			}
			if !c.want {
				return
			}
			f := got[0]
			if f.ResourceKey != "integration:shop-backend" || !strings.Contains(f.Detail, "order_confirmation") ||
				!strings.Contains(f.Title, fmt.Sprintf("%d of %d", c.notSent, c.accepted)) || len(f.Evidence) == 0 {
				t.Errorf("finding %+v", f)
			}
		})
	}
}

func TestSendSilentFailureEntryEvents(t *testing.T) {
	now := msgT0.Add(2 * time.Hour)
	cases := []struct {
		name     string
		accepted int
		entered  int64
		want     bool
	}{
		{name: "60 events accepted, journeys admitted 5", accepted: 60, entered: 5, want: true},
		{name: "60 accepted, 50 entered", accepted: 60, entered: 50},
		{name: "under min_entry_events", accepted: 10, entered: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			snaps := &msgFakeSnaps{}
			st := resource.JourneyState{Name: "Welcome"}
			snaps.add(msgSnap(resource.Journey, "welcome", now.Add(-35*time.Minute), resource.StatusPublished, st,
				map[string]int64{resource.CounterCumulativePopulation: 1000}))
			snaps.add(msgSnap(resource.Journey, "welcome", now, resource.StatusPublished, st,
				map[string]int64{resource.CounterCumulativePopulation: 1000 + c.entered}))
			ev := &xrefFakeEvents{}
			for i := range c.accepted {
				ev.add(store.EventRecord{Event: event.Event{TS: now.Add(-30*time.Minute + time.Duration(i)*20*time.Second), Tenant: "t",
					Integration: "signup-form", Source: "ingest", Method: "POST", Endpoint: entryEndpoint, Status: 201}, Family: "none", Count: 1})
			}
			in := msgInput(resource.Transactional, now, snaps)
			in.Events = ev
			got, err := SendSilentFailureRule{}.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", got, c.want)
			}
			if c.want && (got[0].ResourceType != resource.Journey || got[0].ResourceKey != entryEventsKey || !strings.Contains(got[0].Title, "signup-form")) {
				t.Errorf("finding %+v", got[0])
			}
		})
	}
}
