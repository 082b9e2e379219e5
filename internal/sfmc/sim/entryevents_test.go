package sim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
)

// POST /interaction/v1/events as SFMC documents it (Journey Builder REST
// reference, "POST /interaction/v1/events": "If there are no errors, the
// API returns an HTTP 201 response that includes the eventInstanceId. If
// the event definition key isn't found, the API returns an HTTP 400
// response."; request fields ContactKey, EventDefinitionKey, Data). An
// accepted event adds the contact to the journey's cumulative population,
// unless journey_events_dropped covers the journey: then it is the same
// 201 and nobody enters.
func TestEntryEvents(t *testing.T) { checkEntryEvents(t, newHarness(t, Options{})) }

// checkEntryEvents is TestEntryEvents, also the journey_events_dropped case
// of TestFaultKinds.
func checkEntryEvents(t *testing.T, h *harness) {
	mid := h.sim.MIDs()[0]
	ten := h.sim.tenants[mid]
	var j *journey
	for _, x := range ten.Journeys {
		if h.sim.journeyStatus(ten, x, h.sim.Now()) == "Published" && x.EventDefKey != "" {
			j = x
			break
		}
	}
	if j == nil {
		t.Fatal("no published journey in the small tenant")
	}
	found := false
	for _, e := range h.sim.EntryEvents(mid) {
		found = found || (e.JourneyKey == j.Key && e.EventDefinitionKey == j.EventDefKey && e.Status == "Published")
	}
	if !found {
		t.Fatalf("EntryEvents does not list %s", j.Key)
	}
	fire := func(tok, key, contact string) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"ContactKey": contact, "EventDefinitionKey": key, "Data": map[string]any{"email": "x@example.com"}})
		resp, body := h.post("/interaction/v1/events", "application/json", string(b), map[string]string{"Authorization": "Bearer " + tok})
		var m map[string]any
		_ = json.Unmarshal([]byte(body), &m)
		return resp.StatusCode, m
	}
	// The monitor's read-only package may not fire events.
	if code, m := fire(h.tok, j.EventDefKey, "c-0"); code != 403 {
		t.Fatalf("read-only package: %d %v", code, m)
	}
	// An integration's own package may.
	c := h.sim.AddPackage("member-app")
	if c.ClientID == h.sim.Credentials().ClientID || h.sim.AddPackage("member-app").ClientSecret != c.ClientSecret {
		t.Fatalf("package credentials %+v", c)
	}
	b, _ := json.Marshal(map[string]any{"grant_type": "client_credentials", "client_id": c.ClientID, "client_secret": c.ClientSecret})
	resp, body := h.post("/v2/token", "application/json", string(b), nil)
	var tr struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	if err := json.Unmarshal([]byte(body), &tr); err != nil || resp.StatusCode != 200 || !regexp.MustCompile(`\bjourneys_execute\b`).MatchString(tr.Scope) {
		t.Fatalf("integration token: %d %s", resp.StatusCode, body)
	}
	b, _ = json.Marshal(map[string]any{"grant_type": "client_credentials", "client_id": c.ClientID, "client_secret": "wrong"})
	if resp, _ := h.post("/v2/token", "application/json", string(b), nil); resp.StatusCode != 401 {
		t.Fatalf("wrong secret of the integration's package: %d", resp.StatusCode)
	}
	pop := func() int64 { return h.sim.journeyStats(ten, j, h.sim.Now()).Cumulative }
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	before := pop()
	for i := range 5 {
		code, m := fire(tr.AccessToken, j.EventDefKey, fmt.Sprintf("c-%d", i))
		if id, _ := m["eventInstanceId"].(string); code != 201 || !guid.MatchString(id) {
			t.Fatalf("event %d: %d %v", i, code, m)
		}
	}
	if got := pop() - before; got != 5 {
		t.Fatalf("5 accepted events entered %d contacts", got)
	}
	if code, m := fire(tr.AccessToken, "APIEvent-nope", "c-9"); code != 400 {
		t.Errorf("unknown event definition key: %d %v", code, m)
	}
	if code, m := fire(tr.AccessToken, j.EventDefKey, ""); code != 400 {
		t.Errorf("no ContactKey: %d %v", code, m)
	}
	// Dropped: the same 201, nobody enters.
	id := h.sim.Inject(Fault{Kind: FaultJourneyEventsDropped, Target: j.Key})
	before = pop()
	for i := range 5 {
		if code, m := fire(tr.AccessToken, j.EventDefKey, fmt.Sprintf("d-%d", i)); code != 201 || m["eventInstanceId"] == nil {
			t.Fatalf("dropped event %d: %d %v", i, code, m)
		}
	}
	if got := pop() - before; got != 0 {
		t.Fatalf("events dropped by the fault entered %d contacts", got)
	}
	h.sim.Clear(id)
	if code, _ := fire(tr.AccessToken, j.EventDefKey, "e-1"); code != 201 || pop()-before != 1 {
		t.Fatalf("after the fault: %d, population +%d", code, pop()-before)
	}
}
