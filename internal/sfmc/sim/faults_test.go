package sim

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fixtures for fault tests: objects in a normal state.
type picks struct {
	t       *tenant
	auto    *automation
	journey *journey
	ts      *triggeredSend
	tx      *txDefinition
	de      *dataExtension
	imp     *importDef
}

func pick(t *testing.T, h *harness) picks {
	t.Helper()
	tn := h.sim.tenants[h.sim.mids[0]]
	p := picks{t: tn, tx: tn.TxDefs[0]}
	now := h.sim.Now()
	for _, a := range tn.Automations {
		if a.Type == "scheduled" && a.BaseStatus == 6 && a.FlakyRate == 0 && a.Sched.Interval <= 24*time.Hour && len(h.sim.runs(tn, a, now, 1)) > 0 {
			p.auto = a
			break
		}
	}
	for _, j := range tn.Journeys {
		if j.BaseStatus == "Published" && j.RatePerHour >= 2 && j.StopAt.IsZero() {
			p.journey = j
			break
		}
	}
	for _, x := range tn.TSDs {
		if x.BaseStatus == "Active" && x.RatePerHour >= 2 {
			p.ts = x
			break
		}
	}
	for _, d := range tn.DEs {
		if d.GrowthLoad > 10 && d.LoadEvery <= 4*time.Hour && d.BaseRows > 100 {
			p.de = d
			break
		}
	}
	for _, im := range tn.Imports {
		if im.Every <= 24*time.Hour {
			p.imp = im
			break
		}
	}
	if p.auto == nil || p.journey == nil || p.ts == nil || p.de == nil || p.imp == nil {
		t.Fatalf("seed has no suitable objects: %+v", p)
	}
	return p
}

func (h *harness) field(path, key string) any {
	h.t.Helper()
	return h.mustJSON(path)[key]
}

func (h *harness) tss(key string) map[string]int64 {
	h.t.Helper()
	r := h.retrieve("TriggeredSendSummary", nil, simpleFilter("CustomerKey", "equals", key))
	if len(r.Results) != 1 {
		h.t.Fatalf("TSS %s: %d results (%s)", key, len(r.Results), r.OverallStatus)
	}
	out := map[string]int64{}
	for _, k := range r.Results[0].Kids {
		if n, err := strconv.ParseInt(strings.TrimSpace(k.Content), 10, 64); err == nil {
			out[k.XMLName.Local] = n
		}
	}
	return out
}

func (h *harness) rows(key string) float64 {
	h.t.Helper()
	return h.field("/data/v1/customobjectdata/key/"+key+"/rowset?$page=1&$pageSize=1", "count").(float64)
}

func (h *harness) journeyJSON(id string) map[string]any {
	return h.mustJSON("/interaction/v1/interactions/" + id)
}

func TestFaultKinds(t *testing.T) {
	ago := func(h *harness, d time.Duration) time.Time { return h.sim.Now().Add(-d) }
	cases := []struct {
		kind  Kind
		check func(t *testing.T, h *harness, p picks)
	}{
		{FaultCredentialsRotated, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultCredentialsRotated})
			resp, m := h.tokenResp("", 0)
			if resp.StatusCode != 401 || m["error"] != "invalid_client" {
				t.Fatalf("%d %v", resp.StatusCode, m)
			}
		}},
		{FaultScopeRemoved, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultScopeRemoved, Target: "data_extensions_read"})
			code, v := h.getJSON("/data/v1/customobjectdata/key/" + p.de.Key + "/rowset")
			if code != 403 || v.(map[string]any)["errorcode"] != 20002.0 {
				t.Fatalf("%d %v", code, v)
			}
			if code, _ := h.getJSON("/interaction/v1/interactions"); code != 200 {
				t.Errorf("journeys: %d", code)
			}
			_, m := h.tokenResp("", 0)
			if strings.Contains(m["scope"].(string), "data_extensions_read") {
				t.Error("token still lists the removed scope")
			}
			if r := h.retrieve("DataExtension", nil, ""); !strings.HasPrefix(r.OverallStatus, "Error") {
				t.Errorf("SOAP OverallStatus %q", r.OverallStatus)
			}
		}},
		{FaultRESTThrottle, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultRESTThrottle, Params: map[string]string{"retry_after": "7"}})
			resp, b := h.get("/automation/v1/automations")
			if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" || !strings.Contains(string(b), `"errorcode":50100`) || !strings.Contains(string(b), `"retryAfter":7`) {
				t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
			}
			if _, body := h.soapRetrieve(h.tok, "DataExtension", nil, "", ""); !strings.Contains(body, "<OverallStatus>OK") {
				t.Error("REST throttle must not hit SOAP")
			}
		}},
		{FaultRESTBlocked, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultRESTBlocked})
			resp, b := h.get("/automation/v1/automations")
			if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" || !strings.Contains(string(b), `"errorcode":50200`) {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
		}},
		{FaultSOAPThrottle, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultSOAPThrottle})
			code, body := h.soapRetrieve(h.tok, "Automation", nil, "", "")
			if code != 500 || !strings.Contains(body, "<Code>17</Code>") {
				t.Fatalf("%d %s", code, body)
			}
		}},
		{FaultServerError, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultServerError, Count: 1})
			if resp, _ := h.get("/automation/v1/automations"); resp.StatusCode != 500 {
				t.Fatal(resp.StatusCode)
			}
			if resp, _ := h.get("/automation/v1/automations"); resp.StatusCode != 200 {
				t.Fatalf("count 1: second call %d", resp.StatusCode)
			}
		}},
		{FaultUnavailable, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultUnavailable})
			resp, b := h.get("/automation/v1/automations")
			if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "50300") {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			if code, body := h.soapRetrieve(h.tok, "Automation", nil, "", ""); code != 500 || !strings.Contains(body, "Unplanned Outage") {
				t.Fatalf("SOAP %d", code)
			}
		}},
		{FaultSlow, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultSlow, Params: map[string]string{"delay": "60ms"}})
			start := time.Now()
			if resp, _ := h.get("/automation/v1/automations"); resp.StatusCode != 200 {
				t.Fatal(resp.StatusCode)
			}
			if d := time.Since(start); d < 60*time.Millisecond {
				t.Fatalf("answered in %s", d)
			}
		}},
		{FaultTimeout, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultTimeout, Params: map[string]string{"hold": "30ms"}})
			if resp, _ := h.get("/automation/v1/automations"); resp.StatusCode != 504 {
				t.Fatal(resp.StatusCode)
			}
		}},
		{FaultTokenExpired, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultTokenExpired})
			resp, b := h.get("/automation/v1/automations")
			if resp.StatusCode != 401 || !strings.Contains(string(b), "Not Authorized") {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			h.sim.Clock().Advance(time.Second)
			fresh := h.token(0)
			if resp, _ := h.getWith(fresh, "/automation/v1/automations"); resp.StatusCode != 200 {
				t.Fatalf("fresh token: %d", resp.StatusCode)
			}
		}},
		{FaultAutomationError, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultAutomationError, Target: p.auto.Key, Start: ago(h, 3*p.auto.Sched.Interval), Params: map[string]string{"message": "Query failed: boom"}})
			a := h.mustJSON("/automation/v1/automations/" + p.auto.ID)
			if a["status"] != "Error" || a["statusId"] != -1.0 {
				t.Fatalf("status %v %v", a["status"], a["statusId"])
			}
			r := h.retrieve("AutomationActivityInstance", nil, simpleFilter("AutomationID", "equals", p.auto.ID))
			found := false
			for _, x := range r.Results {
				found = found || x.child("StatusMessage") == "Query failed: boom"
			}
			if !found {
				t.Error("no activity instance with the StatusMessage")
			}
			r = h.retrieve("AutomationInstance", nil, simpleFilter("AutomationID", "equals", p.auto.ID))
			if len(r.Results) == 0 || r.Results[0].child("StatusMessage") != "Query failed: boom" || r.Results[0].child("Status") != "-1" {
				t.Errorf("instance %+v", r.Results)
			}
		}},
		{FaultAutomationStuck, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultAutomationStuck, Target: p.auto.Name, Start: ago(h, 2*p.auto.Sched.Interval)})
			a := h.mustJSON("/automation/v1/automations/" + p.auto.ID)
			if a["status"] != "Running" {
				t.Fatalf("status %v", a["status"])
			}
			r := h.retrieve("AutomationInstance", nil, simpleFilter("AutomationID", "equals", p.auto.ID))
			st, _ := parseTimeValue(r.Results[0].child("StartTime"))
			if h.sim.Now().Sub(st) < p.auto.Sched.Interval || r.Results[0].child("CompletedTime") != "" {
				t.Errorf("stuck run started %s", st)
			}
		}},
		{FaultAutomationMissed, func(t *testing.T, h *harness, p picks) {
			before := h.mustJSON("/automation/v1/automations/" + p.auto.ID)["lastRunTime"]
			h.sim.Inject(Fault{Kind: FaultAutomationMissed, Target: p.auto.Key})
			h.sim.Clock().Advance(3 * p.auto.Sched.Interval)
			a := h.mustJSON("/automation/v1/automations/" + p.auto.ID)
			if a["lastRunTime"] != before || a["status"] != "Scheduled" {
				t.Fatalf("lastRunTime %v -> %v, status %v", before, a["lastRunTime"], a["status"])
			}
			next, _ := parseTimeValue(a["schedule"].(map[string]any)["scheduledTime"].(string))
			if !next.Before(h.sim.Now()) {
				t.Errorf("scheduledTime %s should be in the past", next)
			}
		}},
		{FaultAutomationPaused, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultAutomationPaused, Target: p.auto.Key})
			a := h.mustJSON("/automation/v1/automations/" + p.auto.ID)
			if a["statusId"] != 4.0 || a["schedule"].(map[string]any)["scheduleStatus"] != "paused" {
				t.Fatalf("%v", a)
			}
			l := h.mustJSON("/legacy/v1/beta/bulk/automations/automation/definition/" + p.auto.LegacyID)
			if l["lastPausedDate"] == nil || l["status"] != "PausedSchedule" {
				t.Errorf("legacy %v %v", l["status"], l["lastPausedDate"])
			}
		}},
		{FaultAutomationInactive, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultAutomationInactive, Target: p.auto.Key})
			r := h.retrieve("Automation", []string{"IsActive", "Status"}, simpleFilter("CustomerKey", "equals", p.auto.Key))
			if len(r.Results) != 1 || r.Results[0].child("IsActive") != "false" {
				t.Fatalf("%+v", r)
			}
		}},
		{FaultJourneyStopped, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultJourneyStopped, Target: p.journey.Key})
			if j := h.journeyJSON(p.journey.ID); j["status"] != "Stopped" {
				t.Fatal(j["status"])
			}
			items := h.mustJSON("/interaction/v1/interactions/" + p.journey.ID + "/audit/all")["items"].([]any)
			if items[0].(map[string]any)["action"] != "Stop" {
				t.Errorf("audit %v", items[0])
			}
			l := h.mustJSON("/interaction/v1/interactions?status=Stopped")
			found := false
			for _, it := range l["items"].([]any) {
				found = found || it.(map[string]any)["id"] == p.journey.ID
			}
			if !found {
				t.Error("status=Stopped filter misses the journey")
			}
		}},
		{FaultJourneyPaused, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultJourneyPaused, Target: p.journey.ID})
			if j := h.journeyJSON(p.journey.ID); j["status"] != "Paused" {
				t.Fatal(j["status"])
			}
		}},
		{FaultJourneyStalled, func(t *testing.T, h *harness, p picks) {
			cum := func() float64 {
				return h.journeyJSON(p.journey.ID)["stats"].(map[string]any)["cumulativePopulation"].(float64)
			}
			c0 := cum()
			h.sim.Clock().Advance(2 * time.Hour)
			c1 := cum()
			if c1 <= c0 {
				t.Fatalf("baseline enrollment does not grow: %v -> %v", c0, c1)
			}
			h.sim.Inject(Fault{Kind: FaultJourneyStalled, Target: p.journey.Key})
			h.sim.Clock().Advance(2 * time.Hour)
			if c2 := cum(); c2 != c1 {
				t.Fatalf("stalled journey grew %v -> %v", c1, c2)
			}
			if s := h.journeyJSON(p.journey.ID)["status"]; s != "Published" {
				t.Errorf("status %v", s)
			}
		}},
		{FaultTriggeredSendInactive, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultTriggeredSendInactive, Target: p.ts.Key})
			h.sim.Clock().Advance(2 * time.Hour)
			r := h.retrieve("TriggeredSendDefinition", nil, simpleFilter("CustomerKey", "IN", p.ts.Key, "nope"))
			if len(r.Results) != 1 || r.Results[0].child("TriggeredSendStatus") != "Inactive" {
				t.Fatalf("%+v", r.Results)
			}
			if c := h.tss(p.ts.Key); c["Queued"] == 0 {
				t.Errorf("no queue: %v", c)
			}
		}},
		{FaultTriggeredSendErrors, func(t *testing.T, h *harness, p picks) {
			c0 := h.tss(p.ts.Key)
			h.sim.Inject(Fault{Kind: FaultTriggeredSendErrors, Target: p.ts.Key, Params: map[string]string{"per_hour": "100"}})
			h.sim.Clock().Advance(time.Hour)
			c1 := h.tss(p.ts.Key)
			if d := c1["NotSentDueToError"] - c0["NotSentDueToError"]; d < 100 {
				t.Fatalf("NotSentDueToError rose by %d", d)
			}
		}},
		{FaultTriggeredSendBacklog, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultTriggeredSendBacklog, Target: p.ts.Key})
			c0 := h.tss(p.ts.Key)
			h.sim.Clock().Advance(time.Hour)
			c1 := h.tss(p.ts.Key)
			if c1["Queued"] <= c0["Queued"] || c1["Sent"] != c0["Sent"] {
				t.Fatalf("queued %d->%d sent %d->%d", c0["Queued"], c1["Queued"], c0["Sent"], c1["Sent"])
			}
		}},
		{FaultTransactionalNotSent, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultTransactionalNotSent, Target: p.tx.Key, Params: map[string]string{"status_code": "126"}})
			h.sim.Clock().Advance(10 * time.Minute)
			feed := h.mustJSON("/messaging/v1/email/messages/?type=notSent&$pagesize=500")
			n := 0
			for {
				msgs := feed["messages"].([]any)
				for _, m := range msgs {
					mm := m.(map[string]any)
					if mm["definitionKey"] == p.tx.Key && mm["statusCode"] == 126.0 && mm["statusMessage"] == "MessageVolumeLimitExceeded" {
						n++
					}
				}
				if len(msgs) == 0 {
					break
				}
				feed = h.mustJSON("/messaging/v1/email/messages/?type=notSent&$pagesize=500&lastEventId=" + strconv.FormatInt(int64(feed["lastEventID"].(float64)), 10))
			}
			if n < 10 {
				t.Fatalf("%d not-sent events", n)
			}
		}},
		{FaultTransactionalQueue, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultTransactionalQueue, Target: p.tx.Key})
			h.sim.Clock().Advance(time.Hour)
			q := h.mustJSON("/messaging/v1/email/definitions/" + p.tx.Key + "/queue")
			if q["count"].(float64) < 50 || q["ageSeconds"].(float64) < 3600 {
				t.Fatalf("%v", q)
			}
			if s := h.field("/messaging/v1/email/definitions/"+p.tx.Key, "status"); s != "Inactive" {
				t.Errorf("status %v", s)
			}
		}},
		{FaultDERowDrop, func(t *testing.T, h *harness, p picks) {
			r0 := h.rows(p.de.Key)
			h.sim.Inject(Fault{Kind: FaultDERowDrop, Target: p.de.Key, Params: map[string]string{"fraction": "0.1"}})
			if r1 := h.rows(p.de.Key); r1 > r0*0.11 || r1 == 0 {
				t.Fatalf("%v -> %v", r0, r1)
			}
		}},
		{FaultDEEmptied, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultDEEmptied, Target: p.de.Name})
			if r := h.rows(p.de.Key); r != 0 {
				t.Fatal(r)
			}
		}},
		{FaultDESchemaChange, func(t *testing.T, h *harness, p picks) {
			f := simpleFilter("DataExtension.CustomerKey", "equals", p.de.Key)
			n0 := len(h.retrieve("DataExtensionField", nil, f).Results)
			h.sim.Inject(Fault{Kind: FaultDESchemaChange, Target: p.de.Key})
			if n1 := len(h.retrieve("DataExtensionField", nil, f).Results); n1 != n0+1 {
				t.Fatalf("fields %d -> %d", n0, n1)
			}
		}},
		{FaultDERefreshStopped, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultDERefreshStopped, Target: p.de.Key})
			r0 := h.rows(p.de.Key)
			h.sim.Clock().Advance(3 * p.de.LoadEvery)
			if r1 := h.rows(p.de.Key); r1 != r0 {
				t.Fatalf("%v -> %v", r0, r1)
			}
		}},
		{FaultImportErrors, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultImportErrors, Target: p.imp.Key, Start: ago(h, 2*p.imp.Every)})
			r := h.retrieve("ImportResultsSummary", nil, simpleFilter("ImportDefinitionCustomerKey", "equals", p.imp.Key))
			var done *genericEl
			for i := range r.Results {
				if r.Results[i].child("ImportStatus") == "Completed" {
					done = &r.Results[i]
					break
				}
			}
			if done == nil || done.child("NumberErrors") == "0" {
				t.Fatalf("%+v", r.Results)
			}
		}},
		{FaultImportFailed, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultImportFailed, Target: p.imp.Key, Start: ago(h, 2*p.imp.Every)})
			r := h.retrieve("ImportResultsSummary", nil, simpleFilter("ImportDefinitionCustomerKey", "equals", p.imp.Key))
			found := false
			for _, x := range r.Results {
				found = found || x.child("ImportStatus") == "Error"
			}
			if !found {
				t.Fatalf("%+v", r.Results)
			}
		}},
		{FaultImportEmptyFile, func(t *testing.T, h *harness, p picks) {
			if p.imp.Target == nil {
				t.Skip("picked import has no destination data extension")
			}
			h.sim.Inject(Fault{Kind: FaultImportEmptyFile, Target: p.imp.Key, Start: ago(h, 2*p.imp.Every)})
			r := h.retrieve("ImportResultsSummary", nil, simpleFilter("ImportDefinitionCustomerKey", "equals", p.imp.Key))
			var done *genericEl
			for i := range r.Results {
				if r.Results[i].child("ImportStatus") == "Completed" {
					done = &r.Results[i]
					break
				}
			}
			if done == nil || done.child("NumberSuccessful") != "0" || done.child("NumberErrors") != "0" {
				t.Fatalf("want a Completed run with 0 rows and no errors: %+v", r.Results)
			}
			if rows := h.rows(p.imp.Target.Key); rows != 0 {
				t.Fatalf("destination holds %v rows, want 0", rows)
			}
		}},
		{FaultSecurityNewIntegration, func(t *testing.T, h *harness, _ picks) {
			h.sim.Inject(Fault{Kind: FaultSecurityNewIntegration, Target: "Acme Sync", Start: ago(h, time.Hour)})
			wantAuditItem(t, h, "InstalledPackage", "Create", SecurityObjectID("Acme Sync"))
		}},
		{FaultSecurityScopeChange, func(t *testing.T, h *harness, _ picks) {
			h.sim.Inject(Fault{Kind: FaultSecurityScopeChange, Target: "Acme Sync", Start: ago(h, time.Hour)})
			wantAuditItem(t, h, "InstalledPackage", "Update", SecurityObjectID("Acme Sync"))
		}},
		{FaultSecurityRoleChange, func(t *testing.T, h *harness, _ picks) {
			h.sim.Inject(Fault{Kind: FaultSecurityRoleChange, Start: ago(h, time.Hour)})
			wantAuditItem(t, h, "SecuritySettings", "Update", "")
		}},
		{FaultSecurityLoginFailures, func(t *testing.T, h *harness, _ picks) {
			h.sim.Inject(Fault{Kind: FaultSecurityLoginFailures, Target: "mallory", Start: ago(h, time.Hour)})
			if n := loginItems(t, h, "mallory", "Failed"); n < 12 {
				t.Fatalf("%d failed logins of mallory in the last hour, want 12", n)
			}
		}},
		{FaultTrustIncident, func(t *testing.T, h *harness, _ picks) {
			if st := h.mustJSON("/v1/instances/s7/status")["status"]; st != "OK" {
				t.Fatalf("healthy status %v", st)
			}
			h.sim.Inject(Fault{Kind: FaultTrustIncident, Target: "S7"})
			got := h.mustJSON("/v1/instances/S7/status")
			if got["status"] != "MAJOR_INCIDENT_CORE" || len(got["Incidents"].([]any)) != 1 || got["key"] != "S7" {
				t.Fatalf("incident: %v", got)
			}
			if other := h.mustJSON("/v1/instances/S9/status"); other["status"] != "OK" {
				t.Fatalf("another instance: %v", other)
			}
		}},
		{FaultJourneyEventsDropped, func(t *testing.T, h *harness, _ picks) { checkEntryEvents(t, h) }},
		{FaultSecurityIPBlocked, func(t *testing.T, h *harness, _ picks) {
			h.sim.Inject(Fault{Kind: FaultSecurityIPBlocked, Target: "mallory", Start: ago(h, time.Hour)})
			if n := loginItems(t, h, "mallory", "Invalid IP"); n < 6 {
				t.Fatalf("%d IP-refused logins of mallory in the last hour, want 6", n)
			}
		}},
	}
	for _, c := range stepFaultCases() {
		cases = append(cases, struct {
			kind  Kind
			check func(t *testing.T, h *harness, p picks)
		}{c.kind, c.check})
	}
	cases = append(cases, sendFaultCases()...)
	cases = append(cases, retentionFaultCases()...)
	cases = append(cases, splitFaultCases()...)
	seen := map[Kind]bool{}
	for _, tc := range cases {
		seen[tc.kind] = true
		t.Run(string(tc.kind), func(t *testing.T) {
			h := newHarness(t, Options{})
			tc.check(t, h, pick(t, h))
		})
	}
	for _, k := range Kinds() {
		if !seen[k] {
			t.Errorf("fault kind %s has no test", k)
		}
	}
}

func TestClearKeepsHistory(t *testing.T) {
	h := newHarness(t, Options{})
	p := pick(t, h)
	id := h.sim.Inject(Fault{Kind: FaultTriggeredSendErrors, Target: p.ts.Key, Params: map[string]string{"per_hour": "600"}})
	h.sim.Clock().Advance(time.Hour)
	c1 := h.tss(p.ts.Key)["NotSentDueToError"]
	if !h.sim.Clear(id) {
		t.Fatal("clear failed")
	}
	h.sim.Clock().Advance(time.Hour)
	if c2 := h.tss(p.ts.Key)["NotSentDueToError"]; c2 < c1 {
		t.Fatalf("cumulative counter went back: %d -> %d", c1, c2)
	}
	if h.sim.Clear("nope") {
		t.Error("unknown id cleared")
	}
}

func TestAdminAPI(t *testing.T) {
	h := newHarness(t, Options{})
	resp, body := h.post("/_sim/faults", "application/json", `{"fault":"rest_blocked","for":"10m","target":"rest"}`, nil)
	if resp.StatusCode != 201 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var created struct{ ID string }
	_ = json.Unmarshal([]byte(body), &created)
	if r, _ := h.get("/automation/v1/automations"); r.StatusCode != 429 {
		t.Fatalf("fault not active: %d", r.StatusCode)
	}
	if resp, body := h.post("/_sim/faults", "application/json", `{"fault":"nope"}`, nil); resp.StatusCode != 400 || !strings.Contains(body, "unknown fault kind") {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
	if resp, body := h.post("/_sim/faults", "application/json", `{"fault":"slow","bogus":1}`, nil); resp.StatusCode != 400 {
		t.Errorf("unknown field accepted: %d %s", resp.StatusCode, body)
	}
	if _, b := h.get("/_sim/faults"); !strings.Contains(string(b), created.ID) {
		t.Errorf("list: %s", b)
	}
	req, _ := newReq("DELETE", h.srv.URL+"/_sim/faults/"+created.ID)
	dr, err := h.srv.Client().Do(req)
	if err != nil || dr.StatusCode != 204 {
		t.Fatalf("delete: %v %v", err, dr)
	}
	dr.Body.Close()
	if r, _ := h.get("/automation/v1/automations"); r.StatusCode != 200 {
		t.Fatalf("fault still active: %d", r.StatusCode)
	}
	before := h.sim.Now()
	resp, body = h.post("/_sim/clock/advance", "application/json", `{"by":"2h"}`, nil)
	if resp.StatusCode != 200 || h.sim.Now().Sub(before) != 2*time.Hour {
		t.Fatalf("advance: %d %s", resp.StatusCode, body)
	}
	_, b := h.get("/_sim/state")
	var st State
	if err := json.Unmarshal(b, &st); err != nil || len(st.Tenants) != 1 || st.Stats.Total == 0 {
		t.Fatalf("state: %v %s", err, b)
	}
	if st.Stats.ByRoute["GET /automation/v1/automations"] != 2 || st.Stats.ByRoute["POST /v2/token"] != 1 {
		t.Errorf("stats %v", st.Stats.ByRoute)
	}
}

// wantAuditItem finds an audit entry in the last two hours (ascending, the
// documented default order) with the object type, operation and object id.
func wantAuditItem(t *testing.T, h *harness, objectType, op, objectID string) {
	t.Helper()
	items := h.mustJSON("/data/v1/audit/auditEvents?$pagesize=1000&startdate=" + h.sim.Now().Add(-2*time.Hour).UTC().Format(time.RFC3339))["items"].([]any)
	for _, x := range items {
		it := x.(map[string]any)
		obj := it["object"].(map[string]any)
		if it["objectType"].(map[string]any)["name"] == objectType && it["operation"].(map[string]any)["name"] == op &&
			(objectID == "" || obj["id"] == objectID) {
			return
		}
	}
	t.Fatalf("no %s %s entry for %q in %v", objectType, op, objectID, items)
}

// loginItems counts the user's login entries with the status in the last
// two hours.
func loginItems(t *testing.T, h *harness, user, status string) int {
	t.Helper()
	items := h.mustJSON("/data/v1/audit/securityEvents?$pagesize=1000&startdate=" + h.sim.Now().Add(-2*time.Hour).UTC().Format(time.RFC3339))["items"].([]any)
	n := 0
	var last string
	for _, x := range items {
		it := x.(map[string]any)
		if c := it["createdDate"].(string); c < last {
			t.Fatalf("security events not ascending: %s after %s", c, last)
		} else {
			last = c
		}
		if it["employee"].(map[string]any)["userName"] == user && it["loginStatus"].(map[string]any)["name"] == status {
			n++
		}
	}
	return n
}
