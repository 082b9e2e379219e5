package record_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/classify"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/record"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func TestFrom(t *testing.T) {
	cls := classify.New(catalog.Default())
	classified := func(status int, body string) classify.Result {
		return cls.Classify(classify.Input{URL: "/messaging/v1/messageDefinitionSends/key:TS/send", Method: "POST", Status: status, Body: []byte(body)})
	}
	errBody := `{"message":"Unable to send to jane.doe@example.com","errorcode":10006,"documentation":""}`
	okBody := `{"requestId":"r1","responses":[{"recipientSendId":"x","hasErrors":false,"messages":["Queued"],"to":"jane.doe@example.com"}]}`
	tests := []struct {
		name      string
		ev        event.Event
		res       classify.Result
		o         record.Options
		wantFam   catalog.Family
		wantError bool
		wantBody  bool
		wantCode  string
		wantCount int
	}{
		{name: "failure keeps its masked body", ev: event.Event{Status: 400, Body: []byte(errBody), Integration: "ops jane.doe@example.com"},
			res: classified(400, errBody), wantFam: catalog.Client, wantError: true, wantBody: true, wantCount: 1},
		{name: "success drops its body", ev: event.Event{Status: 202, Body: []byte(okBody)},
			res: classified(202, okBody), wantFam: catalog.None, wantCount: 1},
		{name: "success body kept on request, masked", ev: event.Event{Status: 202, Body: []byte(okBody)},
			res: classified(202, okBody), o: record.Options{KeepSuccessBodies: true}, wantFam: catalog.None, wantBody: true, wantCount: 1},
		{name: "token response never kept", ev: event.Event{Status: 400, Body: []byte(errBody)},
			res: classified(400, errBody), o: record.Options{DropBody: true}, wantFam: catalog.Client, wantError: true, wantCount: 1},
		{name: "no response: the source's verdict", ev: event.Event{},
			res: classify.Result{}, o: record.Options{Failed: catalog.Timeout, FailedCode: "timeout"}, wantFam: catalog.Timeout, wantError: true, wantCode: "timeout", wantCount: 1},
		{name: "the source judged it a success", ev: event.Event{Status: 400, Body: []byte(errBody)},
			res: classified(400, errBody), o: record.Options{OK: true}, wantFam: catalog.None, wantCount: 1},
		{name: "feed entry", ev: event.Event{Status: 202},
			res: record.Single(catalog.Transactional, "126", catalog.Default().Resolve(catalog.Transactional, "126", "", 202)),
			// 126: send volume limit, a rate_limit error (catalog).
			wantFam: catalog.RateLimit, wantError: true, wantBody: false, wantCode: "126", wantCount: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := record.From(tc.ev, tc.res, tc.o)
			if catalog.Family(rec.Family) != tc.wantFam || rec.IsError != tc.wantError || rec.Count != tc.wantCount {
				t.Fatalf("record = family %q error %v count %d, want %q %v %d", rec.Family, rec.IsError, rec.Count, tc.wantFam, tc.wantError, tc.wantCount)
			}
			if tc.wantCode != "" && rec.Code != tc.wantCode {
				t.Errorf("code = %q, want %q", rec.Code, tc.wantCode)
			}
			if (len(rec.Body) > 0) != tc.wantBody {
				t.Errorf("body kept = %v, want %v (%s)", len(rec.Body) > 0, tc.wantBody, rec.Body)
			}
			for _, s := range []string{string(rec.Body), rec.Integration} {
				if strings.Contains(s, "jane.doe@example.com") {
					t.Errorf("address kept: %q", s)
				}
			}
			if rec.IsError && (rec.Surface == "" || rec.Severity == "") {
				t.Errorf("error without surface or severity: %+v", rec)
			}
		})
	}
}

// TestFromCopiesAndCaps: the kept body is a bounded copy, so a source
// reusing its capture buffer cannot change what was stored.
func TestFromCopiesAndCaps(t *testing.T) {
	body := bytes.Repeat([]byte("x"), store.MaxBodySample*2)
	rec := record.From(event.Event{Status: 500, Body: body}, classify.New(catalog.Default()).Classify(classify.Input{Status: 500, Body: body}), record.Options{})
	if len(rec.Body) != store.MaxBodySample {
		t.Fatalf("body %d bytes, want %d", len(rec.Body), store.MaxBodySample)
	}
	body[0] = 'y'
	if rec.Body[0] != 'x' {
		t.Fatal("record shares the source's buffer")
	}
}
