package detect_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// sdkCall is a SOAP Retrieve through the proxy by an SDK: ok, or SOAP
// code 17 (rate limited, HTTP 500).
func sdkCall(i int, at time.Duration, object string, ok bool) store.EventRecord {
	r := store.EventRecord{Event: event.Event{TS: t0.Add(at), Tenant: "acme", Integration: "sfmc-sdk", Source: "proxy",
		Method: "POST", Endpoint: "/Service.asmx Retrieve " + object, Status: 200, RequestID: fmt.Sprint("sdk-", i)}, Family: "none", Count: 1}
	if !ok {
		r.Status, r.IsError, r.Surface, r.Code, r.Family = 500, true, "soap", "17", "rate_limit"
	}
	return r
}

func evalBoth(t *testing.T, now time.Duration, recs []store.EventRecord) (perEndpoint, perIntegration []detect.Finding) {
	t.Helper()
	st := newStore(t)
	if _, err := st.InsertEvents(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	rules := config.DefaultRules()
	reg, err := detect.NewRegistry(detect.APIErrors{}, detect.APIErrorsIntegration{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := reg.Evaluate(context.Background(), &detect.Input{Now: t0.Add(now), Tenant: &config.Tenant{Name: "acme"}, Rules: &rules,
		Type: resource.Tenant, Snapshots: st, Events: st, Usage: st})
	if err != nil {
		t.Fatal(err)
	}
	return res["api.errors"], res["api.errors.integration"]
}

// TestAPIErrorsIntegrationSDK: 16 calls, all SOAP code 17, over 4 object
// types (4 a type, under consecutive 5 and min_calls 20): api.errors finds
// nothing per endpoint; the integration-wide judgement opens one finding
// listing the endpoints.
func TestAPIErrorsIntegrationSDK(t *testing.T) {
	objects := []string{"DataExtension", "Automation", "Query", "TriggeredSendDefinition"}
	var recs []store.EventRecord
	for i := range 16 {
		recs = append(recs, sdkCall(i, time.Duration(i)*10*time.Second, objects[i%4], false))
	}
	per, integ := evalBoth(t, 3*time.Minute, recs)
	if len(per) != 0 {
		t.Fatalf("api.errors per endpoint found %d (the case assumes each endpoint stays under)", len(per))
	}
	if len(integ) != 1 {
		t.Fatalf("api.errors.integration = %+v", integ)
	}
	f := integ[0]
	if f.ResourceKey != "integration:sfmc-sdk" || f.Family != "rate_limit" || !strings.Contains(f.Title, "4 endpoints") ||
		!strings.Contains(f.Title, "16 of 16 calls") || !strings.Contains(f.Title, "soap:17") || len([]rune(f.Title)) >= 120 {
		t.Errorf("finding = %+v", f)
	}
	if !strings.Contains(f.Detail, "/Service.asmx Retrieve DataExtension 4") {
		t.Errorf("detail does not list endpoints and counts: %s", f.Detail)
	}
	t.Logf("%s — %s", f.Title, f.Detail)
}

// TestAPIErrorsIntegrationQuiet: successes of the integration between
// failures, a single endpoint, or an endpoint api.errors already flags:
// no integration-wide finding.
func TestAPIErrorsIntegrationQuiet(t *testing.T) {
	objects := []string{"DataExtension", "Automation"}
	var mixed []store.EventRecord
	for i := range 16 {
		mixed = append(mixed, sdkCall(i, time.Duration(i)*10*time.Second, objects[i%2], i%3 == 0))
	}
	if _, integ := evalBoth(t, 3*time.Minute, mixed); len(integ) != 0 {
		t.Errorf("interleaved successes: %+v", integ)
	}
	var covered []store.EventRecord
	for i := range 12 {
		obj := "DataExtension"
		if i >= 6 {
			obj = objects[1]
		}
		covered = append(covered, sdkCall(i, time.Duration(i)*10*time.Second, obj, false))
	}
	per, integ := evalBoth(t, 3*time.Minute, covered)
	if len(per) == 0 || len(integ) != 0 {
		t.Errorf("covered by api.errors: per endpoint %d, integration %+v", len(per), integ)
	}
}
