package ens

import (
	"bytes"
	"testing"
	"time"
)

// FuzzRecords: no signed payload crashes the mapping; every record has a
// timestamp, an ens endpoint and a request id, and e-mail addresses in the
// payload never reach the stored body.
func FuzzRecords(f *testing.F) {
	f.Add([]byte(automationEvent("Errored", "i1", 1772442000000)))
	f.Add([]byte(`[{"eventCategoryType":"TransactionalSendEvents.EmailNotSent","compositeId":"c","info":{"to":"a.b@example.com","statusCode":"9"}}]`))
	f.Add([]byte(`[{"eventCategoryType":"AutomationInstanceSkipped","timestampUTC":"x","info":{"automationInstanceId":"z"}}]`))
	f.Add([]byte(`[]`))
	r := New(Options{Writer: nil, Cursors: nil, Sources: func() []Source { return nil }, Clock: func() time.Time { return t0 }})
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, err := r.Records(Source{Name: "s", Tenant: "t"}, body)
		if err != nil {
			return
		}
		for _, rec := range recs {
			if rec.TS.IsZero() || !bytes.HasPrefix([]byte(rec.Endpoint), []byte("ens/")) || len(rec.RequestID) != 36 {
				t.Fatalf("record %+v", rec)
			}
			if bytes.Contains(rec.Body, []byte("a.b@example.com")) {
				t.Fatalf("e-mail stored: %s", rec.Body)
			}
		}
	})
}
