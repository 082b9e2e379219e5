package collect

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

// soapFake answers SOAP Retrieves of AutomationInstance and
// AutomationActivityInstance in the WSDL's shape (partnerAPI
// RetrieveResponseMsg, Results xsi:type=<object>; properties as named in
// the SOAP docs "AutomationInstance" and "AutomationActivityInstance":
// Status an int, StatusMessage the step's error text, StartTime,
// CompletedTime, ActivityID, AutomationInstance/ObjectID). It counts
// Retrieves per object type.
type soapFake struct {
	mu        sync.Mutex
	retrieves map[string]int
	instances []string // <Results> bodies per type
	acts      []string
}

var objectTypeRe = regexp.MustCompile(`<ObjectType>([^<]+)</ObjectType>`)

func (f *soapFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2/token" {
		fmt.Fprint(w, `{"access_token":"tok-abcdefghijkl","token_type":"Bearer","expires_in":1079,"scope":"automations_read"}`)
		return
	}
	b, _ := io.ReadAll(r.Body)
	m := objectTypeRe.FindSubmatch(b)
	if m == nil {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	typ := string(m[1])
	f.mu.Lock()
	f.retrieves[typ]++
	var results []string
	switch typ {
	case "AutomationInstance":
		results = f.instances
	case "AutomationActivityInstance":
		results = f.acts
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body><RetrieveResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><OverallStatus>OK</OverallStatus><RequestID>10d3e7eb-0a84-4a88-9ee3-20618b93a2f1</RequestID>%s</RetrieveResponseMsg></soap:Body></soap:Envelope>`,
		strings.Join(results, ""))
}

func (f *soapFake) count(typ string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.retrieves[typ]
}

// cst formats t as SFMC's SOAP API does: US Central Standard Time wall
// clock, no offset.
func cst(t time.Time) string {
	return t.In(time.FixedZone("CST", -6*3600)).Format("2006-01-02T15:04:05.000")
}

func soapInstance(id, key string, status int, msg string, start, end time.Time) string {
	return fmt.Sprintf(`<Results xsi:type="AutomationInstance"><PartnerKey xsi:nil="true"/><ObjectID>%s</ObjectID><CustomerKey>%s</CustomerKey><Name>Nightly Orders</Name><Status>%d</Status><StatusMessage>%s</StatusMessage><StartTime>%s</StartTime><CompletedTime>%s</CompletedTime></Results>`,
		id, key, status, msg, cst(start), cst(end))
}

func soapActivity(instanceID, activityID, name string, seq, status int, msg string, start, end time.Time) string {
	return fmt.Sprintf(`<Results xsi:type="AutomationActivityInstance"><PartnerKey xsi:nil="true"/><ObjectID>%s-%d</ObjectID><ActivityID>%s</ActivityID><Name>%s</Name><SequenceID>%d</SequenceID><Status>%d</Status><StatusMessage>%s</StatusMessage><StartTime>%s</StartTime><CompletedTime>%s</CompletedTime><AutomationInstance><ObjectID>%s</ObjectID></AutomationInstance></Results>`,
		instanceID, seq, activityID, name, seq, status, msg, cst(start), cst(end), instanceID)
}

func fakeClient(t *testing.T, h http.Handler) *sfmc.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cl, err := sfmc.New(sfmc.Tenant{Name: "t", AuthURL: srv.URL, RestURL: srv.URL, SOAPURL: srv.URL, ClientID: "id", ClientSecret: "s3cr3t-Very-Known-Secret-42"},
		sfmc.Options{RateLimit: 1000, Burst: 1000, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond, CallTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestActivityRuns: one AutomationInstance and one
// AutomationActivityInstance Retrieve cover every automation whose newest
// run finished since the last read: the errored run gets the failing
// step's text, the query steps their outcome and duration; activities
// that are not queries, imports or file transfers are not kept; a second
// poll with nothing new spends no call.
func TestActivityRuns(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	errStart, okStart := t0.Add(-time.Hour), t0.Add(-2*time.Hour)
	f := &soapFake{retrieves: map[string]int{},
		instances: []string{
			soapInstance("inst-err", "Orders_Nightly", -1, "Error", errStart, errStart.Add(5*time.Minute)),
			soapInstance("inst-old", "Orders_Nightly", 2, "Complete", errStart.Add(-24*time.Hour), errStart.Add(-23*time.Hour)),
			soapInstance("inst-ok", "Audience_Build", 2, "Complete", okStart, okStart.Add(30*time.Minute)),
		},
		acts: []string{
			soapActivity("inst-err", "q-1", "SQL_Orders", 0, -1, "Violation of PRIMARY KEY constraint 'PK_Orders'. Cannot insert duplicate key in object.", errStart, errStart.Add(4*time.Minute)),
			soapActivity("inst-ok", "q-2", "SQL_Audience", 0, 2, "Complete", okStart, okStart.Add(26*time.Minute)),
			soapActivity("inst-ok", "s-1", "ESD_Audience", 1, 2, "Complete", okStart.Add(26*time.Minute), okStart.Add(30*time.Minute)),
		},
	}
	cl := fakeClient(t, f)
	errW := &autoWork{key: "Orders_Nightly", a: sfmc.Automation{Key: "Orders_Nightly"}, st: resource.AutomationState{
		Runs: []resource.Run{{StartedAt: errStart, CompletedAt: errStart.Add(5 * time.Minute), Status: resource.StatusError, Rows: -1, Polled: true}}}}
	okW := &autoWork{key: "Audience_Build", a: sfmc.Automation{Key: "Audience_Build"}, st: resource.AutomationState{
		Activities: automationActivities(sfmc.Automation{Steps: []sfmc.AutomationStep{{Step: 1, Activities: []sfmc.AutomationActivity{
			{Name: "SQL_Audience", ActivityObjectID: "q-2", ObjectTypeID: 300, TargetDataExtensions: []sfmc.TargetDE{{Key: "Audience"}}},
			{Name: "ESD_Audience", ActivityObjectID: "s-1", ObjectTypeID: 42}}}}}),
		Runs: []resource.Run{{StartedAt: okStart, CompletedAt: okStart.Add(30 * time.Minute), Status: resource.StatusComplete, Rows: -1, Polled: true}}}}
	// Completed, but nothing followed in its definition: not read.
	plainW := &autoWork{key: "Send_Only", a: sfmc.Automation{Key: "Send_Only"}, st: resource.AutomationState{Activities: []resource.Activity{},
		Runs: []resource.Run{{StartedAt: okStart, CompletedAt: okStart.Add(time.Minute), Status: resource.StatusComplete, Rows: -1, Polled: true}}}}
	works := []*autoWork{errW, okW, plainW}
	AutomationCollector{}.activityRuns(t.Context(), cl, works)

	if a, b := f.count("AutomationInstance"), f.count("AutomationActivityInstance"); a != 1 || b != 1 {
		t.Fatalf("retrieves: %d AutomationInstance, %d AutomationActivityInstance; want one each", a, b)
	}
	if got := errW.st.Runs[0].Message; got != "SQL_Orders: Violation of PRIMARY KEY constraint 'PK_Orders'. Cannot insert duplicate key in object." {
		t.Errorf("errored run message %q", got)
	}
	if n := len(errW.st.ActivityRuns); n != 1 {
		t.Fatalf("errored automation step outcomes: %+v", errW.st.ActivityRuns)
	}
	// The definition is not known yet: the error text says it was a query.
	if ar := errW.st.ActivityRuns[0]; ar.Type != resource.ActivityQuery || ar.Status != resource.StatusError || !ar.RunStartedAt.Equal(errStart) {
		t.Errorf("errored step %+v", ar)
	}
	if len(okW.st.ActivityRuns) != 1 {
		t.Fatalf("completed automation step outcomes (the send step is not followed): %+v", okW.st.ActivityRuns)
	}
	if ar := okW.st.ActivityRuns[0]; ar.Name != "SQL_Audience" || ar.Status != resource.StatusComplete || ar.Duration() != 26*time.Minute {
		t.Errorf("query step %+v (duration %s)", ar, ar.Duration())
	}
	if okW.st.Activities[0].Targets[0] != "Audience" || len(okW.st.Activities) != 1 {
		t.Errorf("followed activities %+v", okW.st.Activities)
	}
	if !errW.st.ActivitiesReadAt.Equal(errStart) || !okW.st.ActivitiesReadAt.Equal(okStart) || !plainW.st.ActivitiesReadAt.IsZero() {
		t.Errorf("read marks: %s %s %s", errW.st.ActivitiesReadAt, okW.st.ActivitiesReadAt, plainW.st.ActivitiesReadAt)
	}

	// Next poll, no new run: no call.
	AutomationCollector{}.activityRuns(t.Context(), cl, works)
	if a, b := f.count("AutomationInstance"), f.count("AutomationActivityInstance"); a != 1 || b != 1 {
		t.Errorf("a poll without new runs spent calls: %d, %d", a, b)
	}
	// A run known only from ENS (not polled yet) waits for its poll.
	ensW := &autoWork{key: "Orders_Nightly", a: sfmc.Automation{Key: "Orders_Nightly"}, st: resource.AutomationState{
		Runs: []resource.Run{{StartedAt: t0, CompletedAt: t0.Add(time.Minute), Status: resource.StatusError, Rows: -1, ENS: "error"}}}}
	AutomationCollector{}.activityRuns(t.Context(), cl, []*autoWork{ensW})
	if a := f.count("AutomationInstance"); a != 1 {
		t.Errorf("an ENS-only run was read before its poll (%d calls)", a-1)
	}
	// A budget below zero turns the reads off.
	okW.st.Runs = append(okW.st.Runs, resource.Run{StartedAt: t0, CompletedAt: t0.Add(time.Minute), Status: resource.StatusComplete, Rows: -1, Polled: true})
	AutomationCollector{ActivityBudget: -1}.activityRuns(t.Context(), cl, works)
	if a := f.count("AutomationInstance"); a != 1 {
		t.Errorf("ActivityBudget -1 spent %d calls", a-1)
	}
}

// TestActivityRunsOptionalPriority: reads for completed runs only are
// Optional for the daily budget, so they stop first when it runs low;
// reads that include an errored run stay Required.
func TestActivityRunsOptionalPriority(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	f := &soapFake{retrieves: map[string]int{}}
	var mu sync.Mutex
	var prios []sfmc.Priority
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cl, err := sfmc.New(sfmc.Tenant{Name: "t", AuthURL: srv.URL, RestURL: srv.URL, SOAPURL: srv.URL, ClientID: "id", ClientSecret: "s3cr3t-Very-Known-Secret-42"},
		sfmc.Options{RateLimit: 1000, Burst: 1000, CallTimeout: 5 * time.Second,
			Meter: sfmc.NewMemMeter(sfmc.EventSinkFunc(func(ev sfmc.CallEvent) {
				if strings.Contains(ev.Event.Endpoint, "Retrieve") {
					mu.Lock()
					prios = append(prios, ev.Priority)
					mu.Unlock()
				}
			}))})
	if err != nil {
		t.Fatal(err)
	}
	work := func(status string) *autoWork {
		return &autoWork{key: "A", a: sfmc.Automation{Key: "A"}, st: resource.AutomationState{
			Activities: []resource.Activity{{Name: "SQL_A", Type: resource.ActivityQuery}},
			Runs:       []resource.Run{{StartedAt: t0, CompletedAt: t0.Add(time.Minute), Status: status, Rows: -1, Polled: true}}}}
	}
	AutomationCollector{}.activityRuns(t.Context(), cl, []*autoWork{work(resource.StatusComplete)})
	AutomationCollector{}.activityRuns(t.Context(), cl, []*autoWork{work(resource.StatusError)})
	mu.Lock()
	defer mu.Unlock()
	if len(prios) != 2 || prios[0] != sfmc.Optional || prios[1] != sfmc.Required {
		t.Fatalf("priorities %v, want [optional required] (one AutomationInstance Retrieve each; no instance matched, so no activity read)", prios)
	}
}

// FuzzActivityTypeFromMessage: any error text maps to a followed activity
// type or nothing.
func FuzzActivityTypeFromMessage(f *testing.F) {
	for _, s := range []string{"Query failed: Invalid column name 'X'.", "File transfer failed: could not connect to the remote host.", "File not found", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		switch ActivityTypeFromMessage(msg) {
		case "", resource.ActivityQuery, resource.ActivityImport, resource.ActivityFileTransfer:
		default:
			t.Fatalf("ActivityTypeFromMessage(%q) out of set", msg)
		}
	})
}

// TestActivityRunsBudgetCut: a budget that runs out before the activity
// read spends exactly the budget and leaves the run to be read next poll.
func TestActivityRunsBudgetCut(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	f := &soapFake{retrieves: map[string]int{},
		instances: []string{soapInstance("inst-1", "A", -1, "Error", t0, t0.Add(time.Minute))},
		acts:      []string{soapActivity("inst-1", "q-1", "SQL_A", 0, -1, "Query failed: Invalid column name 'X'.", t0, t0.Add(time.Minute))}}
	cl := fakeClient(t, f)
	w := &autoWork{key: "A", a: sfmc.Automation{Key: "A"}, st: resource.AutomationState{
		Runs: []resource.Run{{StartedAt: t0, CompletedAt: t0.Add(time.Minute), Status: resource.StatusError, Rows: -1, Polled: true}}}}
	AutomationCollector{ActivityBudget: 1}.activityRuns(t.Context(), cl, []*autoWork{w})
	if a, b := f.count("AutomationInstance"), f.count("AutomationActivityInstance"); a != 1 || b != 0 {
		t.Fatalf("budget 1 spent %d + %d calls", a, b)
	}
	if !w.st.ActivitiesReadAt.IsZero() || len(w.st.ActivityRuns) != 0 {
		t.Fatalf("a cut read was marked done: %+v", w.st)
	}
	AutomationCollector{}.activityRuns(t.Context(), cl, []*autoWork{w})
	if len(w.st.ActivityRuns) != 1 || !w.st.ActivitiesReadAt.Equal(t0) {
		t.Fatalf("next poll did not read it: %+v", w.st)
	}
}
