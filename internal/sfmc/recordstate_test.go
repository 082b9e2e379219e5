package sfmc

import (
	"context"
	"net/http"
	"testing"
)

// TestReadOfFailedRecordIsNotFailedCall: GET of an automation whose business
// status is Error is a successful read (no error, metered as a success) with
// the record's state as evidence, not an api.errors failure of the endpoint.
func TestReadOfFailedRecordIsNotFailedCall(t *testing.T) {
	env := newEnv(t, true, nil)
	env.f.setAPI(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"a1","key":"nightly","name":"nightly","statusId":-1,"status":"Error","type":"scheduled"}`)
	})
	a, err := env.c.Automation(context.Background(), "a1")
	if err != nil {
		t.Fatalf("read of an automation in Error failed: %v", err)
	}
	if !a.Status.IsError() {
		t.Errorf("automation status = %v, want Error", a.Status)
	}
	var seen bool
	for _, ev := range env.events() {
		if ev.Event.Method != http.MethodGet || ev.Event.Endpoint != "/automation/v1/automations/{id}" {
			continue
		}
		seen = true
		if ev.Kind != "" || ev.Result.IsError {
			t.Errorf("metered as failed: kind %q, IsError %v", ev.Kind, ev.Result.IsError)
		}
		if !ev.Result.RecordFailed() {
			t.Errorf("record state missing: %+v", ev.Result.RecordStates)
		}
	}
	if !seen {
		t.Fatal("no metered GET of the automation")
	}
}
