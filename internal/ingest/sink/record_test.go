package sink

import (
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
)

// Successful bodies are classified, never kept (they are where subscriber
// data lives), unless KeepSuccessBodies opts in; failure bodies are kept,
// masked, as evidence.
func TestSuccessBodiesNotKept(t *testing.T) {
	r := NewRecorder(nil)
	now := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	ok := event.Event{URL: "/data/v1/customobjectdata/key/Customers/rowset", Method: "GET", Status: 200,
		Body: []byte(`{"items":[{"keys":{"email":"jane@example.com"},"values":{"first":"Jane"}}]}`)}
	if rec := r.Record(ok, now); len(rec.Body) != 0 {
		t.Errorf("success body kept: %s", rec.Body)
	}
	fail := event.Event{URL: "/messaging/v1/email/messages/", Method: "POST", Status: 400,
		Body: []byte(`{"message":"bad request for jane@example.com","errorcode":10005}`)}
	rec := r.Record(fail, now)
	if len(rec.Body) == 0 || string(rec.Body) == string(fail.Body) {
		t.Errorf("failure body: %q, want kept and masked", rec.Body)
	}
	r.KeepSuccessBodies = true
	if rec := r.Record(ok, now); len(rec.Body) == 0 {
		t.Error("KeepSuccessBodies: success body dropped")
	}
}
