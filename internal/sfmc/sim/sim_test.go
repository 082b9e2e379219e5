package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestDeterministic(t *testing.T) {
	a := newHarness(t, Options{Seed: 7})
	b := newHarness(t, Options{Seed: 7})
	c := newHarness(t, Options{Seed: 8})
	paths := []string{"/automation/v1/automations?$pageSize=500", "/interaction/v1/interactions?extras=stats",
		"/messaging/v1/email/messages/?type=notSent&$pagesize=100", "/automation/v1/imports", "/data/v1/audit/auditEvents"}
	for _, p := range paths {
		_, x := a.get(p)
		_, y := b.get(p)
		_, z := c.get(p)
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs for the same seed", p)
		}
		if bytes.Equal(x, z) {
			t.Errorf("%s identical for different seeds", p)
		}
	}
	for _, typ := range []string{"DataExtension", "TriggeredSendSummary", "ImportResultsSummary"} {
		ra, rb := a.retrieve(typ, nil, ""), b.retrieve(typ, nil, "")
		if len(ra.Results) != len(rb.Results) {
			t.Fatalf("%s: %d vs %d", typ, len(ra.Results), len(rb.Results))
		}
		for i := range ra.Results {
			if ra.Results[i].child("CustomerKey")+ra.Results[i].child("ImportDefinitionCustomerKey") !=
				rb.Results[i].child("CustomerKey")+rb.Results[i].child("ImportDefinitionCustomerKey") {
				t.Fatalf("%s result %d differs", typ, i)
			}
		}
	}
	if a.sim.Credentials().ClientSecret != b.sim.Credentials().ClientSecret {
		t.Error("credentials differ for the same seed")
	}
}

func TestDefaultSizeAndNames(t *testing.T) {
	s, err := New(Options{Seed: 1, Start: testStart})
	if err != nil {
		t.Fatal(err)
	}
	st := s.State()
	if st.Tenants[0].Size != DefaultSize() {
		t.Fatalf("size %+v", st.Tenants[0].Size)
	}
	tn := s.tenants[s.mids[0]]
	seen := map[string]bool{}
	for _, d := range tn.DEs {
		if seen[d.Key] {
			t.Fatalf("duplicate DE key %s", d.Key)
		}
		seen[d.Key] = true
		if !strings.HasPrefix(d.Name, "DE_") {
			t.Errorf("DE name %s", d.Name)
		}
	}
	for _, a := range tn.Automations {
		if seen[a.Key] {
			t.Fatalf("duplicate automation key %s", a.Key)
		}
		seen[a.Key] = true
	}
}

func TestClockSpeed(t *testing.T) {
	fn := &fakeNow{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := NewClock(testStart, 60, fn.Now)
	fn.Add(10 * time.Second)
	if got := c.Now().Sub(testStart); got != 10*time.Minute {
		t.Fatalf("elapsed %s, want 10m", got)
	}
	c.Advance(time.Hour)
	if got := c.Now().Sub(testStart); got != 70*time.Minute {
		t.Fatalf("after advance %s", got)
	}
	// With synctest the real clock is the bubble's fake clock.
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Options{Seed: 3, Speed: 3600, Start: testStart, Size: smallSize()})
		if err != nil {
			t.Fatal(err)
		}
		tn := s.tenants[s.mids[0]]
		var ts *triggeredSend
		for _, x := range tn.TSDs {
			if x.BaseStatus == "Active" && x.RatePerHour > 1 {
				ts = x
				break
			}
		}
		c0 := s.tsState(tn, ts, s.Now()).Sent
		time.Sleep(2 * time.Second) // two simulated hours
		if d := s.Now().Sub(testStart); d != 2*time.Hour {
			t.Fatalf("sim elapsed %s", d)
		}
		c1 := s.tsState(tn, ts, s.Now()).Sent
		if c1 <= c0 {
			t.Fatalf("Sent did not move: %d -> %d", c0, c1)
		}
	})
}

func TestTokenValidation(t *testing.T) {
	h := newHarness(t, Options{MIDs: []int64{100, 200}})
	cases := []struct {
		name, body string
		status     int
		err        string
	}{
		{"wrong secret", `{"grant_type":"client_credentials","client_id":"%ID%","client_secret":"x"}`, 401, "invalid_client"},
		{"wrong id", `{"grant_type":"client_credentials","client_id":"x","client_secret":"%SECRET%"}`, 401, "invalid_client"},
		{"unknown MID", `{"grant_type":"client_credentials","client_id":"%ID%","client_secret":"%SECRET%","account_id":999}`, 401, "invalid_client"},
		{"grant type", `{"grant_type":"password","client_id":"%ID%","client_secret":"%SECRET%"}`, 400, "unsupported_grant_type"},
		{"bad json", `{`, 400, "invalid_request"},
		{"ok string MID", `{"grant_type":"client_credentials","client_id":"%ID%","client_secret":"%SECRET%","account_id":"200"}`, 200, ""},
	}
	c := h.sim.Credentials()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.NewReplacer("%ID%", c.ClientID, "%SECRET%", c.ClientSecret).Replace(tc.body)
			resp, out := h.post("/v2/token", "application/json", body, nil)
			if resp.StatusCode != tc.status || !strings.Contains(out, tc.err) {
				t.Fatalf("%d %s", resp.StatusCode, out)
			}
			if tc.status == 200 && (!strings.Contains(out, `"expires_in":1079`) || !strings.Contains(out, `"rest_instance_url":"`+h.srv.URL+`/"`)) {
				t.Errorf("token body %s", out)
			}
		})
	}
	// Tokens are per MID: MID 200's data differs from MID 100's.
	_, a := h.getWith(h.token(100), "/automation/v1/automations?$pageSize=1")
	_, b := h.getWith(h.token(200), "/automation/v1/automations?$pageSize=1")
	if bytes.Equal(a, b) {
		t.Error("two MIDs serve the same tenant")
	}
	// Expired (real time) token.
	h.now.Add(21 * time.Minute)
	if resp, body := h.get("/automation/v1/automations"); resp.StatusCode != 401 || !strings.Contains(string(body), `"errorcode":0`) {
		t.Errorf("expired token: %d %s", resp.StatusCode, body)
	}
	if code, body := h.soapRetrieve(h.tok, "DataExtension", nil, "", ""); code != 500 || !strings.Contains(body, "Token Expired") {
		t.Errorf("expired SOAP: %d", code)
	}
	if code, body := h.soapRetrieve("garbage", "DataExtension", nil, "", ""); code != 500 || !strings.Contains(body, "q0:Security") {
		t.Errorf("bad SOAP token: %d %s", code, body)
	}
}

func TestSOAPPaging(t *testing.T) {
	h := newHarness(t, Options{SOAPPageSize: 25})
	code, body := h.soapRetrieve(h.tok, "DataExtensionField", []string{"CustomerKey", "Name"}, "", "")
	if code != 200 {
		t.Fatal(code)
	}
	p := parseRetrieve(t, body)
	tn := h.sim.tenants[h.sim.mids[0]]
	total := 0
	for _, d := range tn.DEs {
		total += len(d.Fields)
	}
	seen := map[string]bool{}
	pages := 0
	for {
		pages++
		if len(p.Results) > 25 {
			t.Fatalf("page of %d", len(p.Results))
		}
		for _, r := range p.Results {
			k := r.child("CustomerKey")
			if seen[k] {
				t.Fatalf("duplicate %s", k)
			}
			seen[k] = true
			if r.child("FieldType") != "" {
				t.Fatal("Properties not honoured")
			}
		}
		if p.OverallStatus != "MoreDataAvailable" {
			break
		}
		code, body = h.soapRetrieve(h.tok, "", nil, "", p.RequestID)
		if code != 200 {
			t.Fatal(code)
		}
		p = parseRetrieve(t, body)
	}
	if p.OverallStatus != "OK" || len(seen) != total || pages != (total+24)/25 {
		t.Fatalf("status %s, %d of %d objects in %d pages", p.OverallStatus, len(seen), total, pages)
	}
	// A used continuation id is gone.
	if _, body := h.soapRetrieve(h.tok, "", nil, "", "bogus"); !strings.Contains(body, "<OverallStatus>Error") {
		t.Error("bogus ContinueRequest accepted")
	}
	if st := h.sim.Stats(); st.ByRoute["SOAP Retrieve (continue)"] != int64(pages) {
		t.Errorf("stats %v", st.ByRoute)
	}
}

func TestSOAPFilters(t *testing.T) {
	h := newHarness(t, Options{})
	tn := h.sim.tenants[h.sim.mids[0]]
	k1, k2 := tn.DEs[0].Key, tn.DEs[1].Key
	if r := h.retrieve("DataExtension", nil, simpleFilter("CustomerKey", "equals", k1)); len(r.Results) != 1 {
		t.Errorf("equals: %d", len(r.Results))
	}
	if r := h.retrieve("DataExtension", nil, simpleFilter("CustomerKey", "IN", k1, k2)); len(r.Results) != 2 {
		t.Errorf("IN: %d", len(r.Results))
	}
	complexF := `<Filter xsi:type="ComplexFilterPart"><LeftOperand xsi:type="SimpleFilterPart"><Property>CustomerKey</Property><SimpleOperator>equals</SimpleOperator><Value>` + k1 +
		`</Value></LeftOperand><LogicalOperator>OR</LogicalOperator><RightOperand xsi:type="SimpleFilterPart"><Property>Name</Property><SimpleOperator>equals</SimpleOperator><Value>` + k2 +
		`</Value></RightOperand></Filter>`
	if r := h.retrieve("DataExtension", nil, complexF); len(r.Results) != 2 {
		t.Errorf("complex OR: %d", len(r.Results))
	}
	andF := strings.Replace(complexF, ">OR<", ">AND<", 1)
	if r := h.retrieve("DataExtension", nil, andF); len(r.Results) != 0 {
		t.Errorf("complex AND: %d", len(r.Results))
	}
	if r := h.retrieve("DataExtension", nil, simpleFilter("Bogus", "equals", "x")); !strings.HasPrefix(r.OverallStatus, "Error") {
		t.Errorf("unknown property: %s", r.OverallStatus)
	}
	if r := h.retrieve("Nope", nil, ""); !strings.HasPrefix(r.OverallStatus, "Error: Unable to find a handler") {
		t.Errorf("unknown type: %s", r.OverallStatus)
	}
}

func TestRESTPaging(t *testing.T) {
	h := newHarness(t, Options{})
	seen := map[string]bool{}
	for page := 1; page <= 4; page++ {
		m := h.mustJSON("/automation/v1/automations?$page=" + itoa(page) + "&$pageSize=8")
		for _, it := range m["items"].([]any) {
			id := it.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("duplicate %s", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != 30 {
		t.Fatalf("%d automations over 4 pages", len(seen))
	}
	m := h.mustJSON("/interaction/v1/interactions?$pageSize=500")
	if m["pageSize"].(float64) != 50 {
		t.Errorf("journey page size not capped: %v", m["pageSize"])
	}
}

func TestScenarioParse(t *testing.T) {
	good := `# demo
- at: 2m
  for: 5m
  fault: rest_throttle
  target: rest
  params: {retry_after: 10}
- at: 1h
  fault: journey_stopped
  target: "Welcome*"
`
	sc, err := ParseScenario(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Entries) != 2 || sc.Entries[1].Line != 7 || sc.Entries[0].Params["retry_after"] != 10 {
		t.Fatalf("%+v", sc.Entries)
	}
	bad := []struct{ src, want string }{
		{"- at: 2m\n  fault: rest_throttle\n  forr: 5m\n", "line 3"},
		{"- at: 2m\n  fault: rest_throttle\n  forr: 5m\n", "forr"},
		{"- at: 2m\n  fault: slow\n- at: 3m\n  fault: nope\n", "line 4: key \"fault\": unknown fault kind \"nope\""},
		{"- at: soon\n  fault: slow\n", "line 1: key \"at\""},
		{"- fault: slow\n  for: -5m\n", "line 2: key \"for\""},
		{"- at: 1m\n", "line 1: missing key \"fault\""},
		{"fault: slow\n", "expected a list"},
		{"- fault: slow\n  params: {a: [1]}\n", "params.a"},
	}
	for _, b := range bad {
		_, err := ParseScenario(strings.NewReader(b.src))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: error %v, want %q", b.src, err, b.want)
		}
	}
}

func TestScenarioApply(t *testing.T) {
	h := newHarness(t, Options{})
	sc, err := ParseScenario(strings.NewReader("- at: 10m\n  for: 5m\n  fault: rest_blocked\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.sim.Apply(sc); err != nil {
		t.Fatal(err)
	}
	if r, _ := h.get("/automation/v1/automations"); r.StatusCode != 200 {
		t.Fatalf("before: %d", r.StatusCode)
	}
	h.sim.Clock().Advance(11 * time.Minute)
	if r, _ := h.get("/automation/v1/automations"); r.StatusCode != 429 {
		t.Fatalf("during: %d", r.StatusCode)
	}
	h.sim.Clock().Advance(5 * time.Minute)
	if r, _ := h.get("/automation/v1/automations"); r.StatusCode != 200 {
		t.Fatalf("after: %d", r.StatusCode)
	}
}

// The example scenarios in the repository must parse and apply.
func TestExampleScenarios(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "examples", "scenarios")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		t.Skip("no example scenarios")
	}
	for _, f := range files {
		sc, err := LoadScenario(f)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := New(Options{Seed: 1, Start: testStart, Size: smallSize()})
		if _, err := s.Apply(sc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(s.Faults()) < 5 {
			t.Errorf("%s: only %d faults", f, len(s.Faults()))
		}
	}
	_ = os.Getenv
}
