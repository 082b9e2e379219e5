package sfmc

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMeteringCountsAndEvents(t *testing.T) {
	env := newEnv(t, false, nil)
	env.f.setAPI(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "interactions") {
			writeJSON(w, 404, `{"message":"Not Found","errorcode":404}`)
			return
		}
		writeJSON(w, 200, legacyOne)
	})
	for range 3 {
		if _, err := env.c.Automations(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = env.c.Journeys(t.Context(), JourneyListOptions{})
	now := time.Now()
	counts := env.meter.Counts("acme", now)
	if counts["GET "+epLegacyList] != 3 || counts["POST /v2/token"] != 1 || counts["GET /interaction/v1/interactions"] != 1 {
		t.Fatalf("counts %v", counts)
	}
	if env.meter.Used("acme", now) != 5 {
		t.Fatalf("used %d", env.meter.Used("acme", now))
	}
	evs := env.events()
	if len(evs) != 5 {
		t.Fatalf("%d events", len(evs))
	}
	last := evs[len(evs)-1]
	if last.Event.Status != 404 || last.Kind != KindNotFound || last.Event.Endpoint != "/interaction/v1/interactions" ||
		last.Event.Source != "client" || last.Event.Tenant != "acme" || len(last.Result.Classifications) == 0 || last.Event.Body == nil {
		t.Fatalf("event %+v", last)
	}
	if evs[1].Kind != "" || evs[1].Event.Body != nil || evs[1].Event.Status != 200 {
		t.Fatalf("success event %+v", evs[1])
	}
}

func TestDailyBudget(t *testing.T) {
	env := newEnv(t, false, func(ten *Tenant, o *Options) { ten.DailyBudget = 10 })
	env.f.setAPI(status(200, `{"count": 3}`))
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = "de" + string(rune('a'+i))
	}
	// Optional: stops at 80% of 10 = 8 (the token counts too).
	rc, err := env.c.RowCounts(t.Context(), keys, 100)
	if !IsBudget(err) || rc.Calls != 8 || len(rc.Values) != 7 || env.f.calls.Load() != 7 {
		t.Fatalf("calls=%d values=%d http=%d err=%v", rc.Calls, len(rc.Values), env.f.calls.Load(), err)
	}
	if !strings.Contains(err.Error(), "budget") {
		t.Fatalf("%v", err)
	}
	// Required calls still run until the cap.
	for i := range 2 {
		if _, err := env.c.RowCount(WithPriority(t.Context(), Required), "x"); err != nil {
			t.Fatalf("required call %d refused: %v", i, err)
		}
	}
	if _, err := env.c.RowCount(WithPriority(t.Context(), Required), "x"); !IsBudget(err) {
		t.Fatalf("want budget refusal at the cap, got %v", err)
	}
	if env.meter.Refused("acme", time.Now()) != 2 {
		t.Fatalf("refused %d", env.meter.Refused("acme", time.Now()))
	}
}

func TestFilterXML(t *testing.T) {
	body, err := retrieveBody(RetrieveRequest{ObjectType: "DataExtensionField", Properties: []string{"Name"},
		Filter: Or(And(In("DataExtension.CustomerKey", "a", "b"), Equals("IsRequired", "true")), Equals("Name", "x"), After("ModifiedDate", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)))}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	s := string(body("TOKEN"))
	for _, want := range []string{
		`<fueloauth xmlns="http://exacttarget.com">TOKEN</fueloauth>`,
		`<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI">`,
		`<Filter xsi:type="ComplexFilterPart"><LeftOperand xsi:type="ComplexFilterPart"><LeftOperand xsi:type="SimpleFilterPart"><Property>DataExtension.CustomerKey</Property><SimpleOperator>IN</SimpleOperator><Value>a</Value><Value>b</Value>`,
		`<LogicalOperator>OR</LogicalOperator><RightOperand xsi:type="SimpleFilterPart"><Property>Name</Property><SimpleOperator>equals</SimpleOperator><Value>x</Value></RightOperand><AdditionalOperands><Operand xsi:type="SimpleFilterPart"><Property>ModifiedDate</Property><SimpleOperator>greaterThan</SimpleOperator><DateValue>2026-01-02T00:00:00Z</DateValue></Operand></AdditionalOperands>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("envelope lacks %s\n%s", want, s)
		}
	}
	cont, _ := retrieveBody(RetrieveRequest{ObjectType: "DataExtension"}, "req-1", 0)
	if s := string(cont("T")); !strings.Contains(s, "<ContinueRequest>req-1</ContinueRequest>") || strings.Contains(s, "<ObjectType>") {
		t.Errorf("continuation: %s", s)
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]string{
		"2024-11-07T22:15:19.057Z":      "2024-11-07T22:15:19.057Z",
		"2024-11-08T03:15:20.27":        "2024-11-08T09:15:20.27Z",
		"2019-11-07T11:26:19.142-06:00": "2019-11-07T17:26:19.142Z",
		"5/9/2024 12:00:00 AM":          "2024-05-09T06:00:00Z",
		"0001-01-01T00:00:00":           "0001-01-01T00:00:00Z",
	} {
		if got := parseTime(in).Format(time.RFC3339Nano); got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
}
