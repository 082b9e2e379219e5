package sim

import (
	"strconv"
	"testing"
	"time"
)

type faultCase = struct {
	kind  Kind
	check func(t *testing.T, h *harness, p picks)
}

// sendGroup returns the first automation with an email send activity that
// ran in the last day, and the activity's name (its send definition key).
func sendGroup(t *testing.T, h *harness, p picks) (*automation, string) {
	t.Helper()
	now := h.sim.Now()
	for _, a := range p.t.Automations {
		if a.Sched == nil || a.Sched.Interval > 4*time.Hour || a.BaseStatus != 6 || a.FlakyRate > 0 {
			continue
		}
		for _, act := range a.Activities {
			if act.ObjectTypeID == objEmailSend && len(h.sim.runs(p.t, a, now, 1)) > 0 {
				return a, act.Name
			}
		}
	}
	t.Skip("no automation with an email send in this seed")
	return nil, ""
}

// lastJob retrieves the group's Send jobs (SendDate filter, as the
// collector reads them) and returns the newest complete one.
func lastJob(t *testing.T, h *harness, key string, since time.Time) genericEl {
	t.Helper()
	r := h.retrieve("Send", []string{"ID", "SendDate", "Status", "NumberSent", "HardBounces", "SoftBounces", "OtherBounces", "Unsubscribes", "EmailSendDefinition.CustomerKey"},
		`<Filter xsi:type="SimpleFilterPart"><Property>SendDate</Property><SimpleOperator>greaterThan</SimpleOperator><DateValue>`+
			since.UTC().Format(time.RFC3339)+`</DateValue></Filter>`)
	var last genericEl
	var lastAt string
	for _, x := range r.Results {
		var key2 string
		for _, k := range x.Kids {
			if k.XMLName.Local == "EmailSendDefinition" {
				key2 = k.child("CustomerKey")
			}
		}
		if key2 != key || x.child("Status") != "Complete" {
			continue
		}
		if at := x.child("SendDate"); at > lastAt {
			last, lastAt = x, at
		}
	}
	if lastAt == "" {
		t.Fatalf("no complete job of %s in %d results", key, len(r.Results))
	}
	return last
}

func num(t *testing.T, e genericEl, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.child(name), 64)
	if err != nil {
		t.Fatalf("%s: %v (%+v)", name, err, e)
	}
	return v
}

// sendFaultCases test the send health faults on send jobs and triggered
// sends.
func sendFaultCases() []faultCase {
	return []faultCase{
		{FaultTransactionalSwallowed, func(t *testing.T, h *harness, p picks) {
			h.sim.Inject(Fault{Kind: FaultTransactionalSwallowed, Target: p.tx.Key, Params: map[string]string{"status_code": "126"}})
			if !h.sim.AcceptTransactional(p.tx.Key, "order-4711") || h.sim.AcceptTransactional("no-such-definition", "x") {
				t.Fatal("AcceptTransactional")
			}
			h.sim.Clock().Advance(2 * time.Minute)
			after := 0.0
			for range 200 {
				page := h.mustJSON("/messaging/v1/email/messages/?type=notSent&$pagesize=500&lastEventId=" + strconv.FormatFloat(after, 'f', 0, 64))
				msgs, _ := page["messages"].([]any)
				for _, m := range msgs {
					mm := m.(map[string]any)
					if mm["info"].(map[string]any)["messageKey"] == "order-4711" {
						if mm["definitionKey"] != p.tx.Key || mm["statusCode"].(float64) != 126 {
							t.Fatalf("event %v", mm)
						}
						return
					}
				}
				if len(msgs) == 0 {
					break
				}
				after = page["lastEventID"].(float64)
			}
			t.Fatal("the accepted message is not in the not-sent feed")
		}},
		{FaultSendVolumeDrop, func(t *testing.T, h *harness, p picks) {
			a, key := sendGroup(t, h, p)
			before := num(t, lastJob(t, h, key, h.sim.Now().Add(-48*time.Hour)), "NumberSent")
			c0 := h.tss(p.ts.Key)
			h.sim.Inject(Fault{Kind: FaultSendVolumeDrop, Target: key, Params: map[string]string{"fraction": "0.1"}})
			h.sim.Inject(Fault{Kind: FaultSendVolumeDrop, Target: p.ts.Key})
			h.sim.Clock().Advance(a.Sched.Interval + 20*time.Minute)
			after := num(t, lastJob(t, h, key, h.sim.Now().Add(-48*time.Hour)), "NumberSent")
			if after > before*0.2 || before < 500 {
				t.Fatalf("NumberSent %v -> %v", before, after)
			}
			h.sim.Clock().Advance(10 * time.Hour)
			c1 := h.tss(p.ts.Key)
			if d, want := float64(c1["Sent"]-c0["Sent"]), 10*p.ts.RatePerHour; d > 0.2*want {
				t.Errorf("triggered send sent %v in 10 h, usual %v", d, want)
			}
		}},
		{FaultSendBounceSpike, func(t *testing.T, h *harness, p picks) {
			a, key := sendGroup(t, h, p)
			h.sim.Inject(Fault{Kind: FaultSendBounceSpike, Target: key})
			h.sim.Clock().Advance(a.Sched.Interval + 2*time.Hour)
			j := lastJob(t, h, key, h.sim.Now().Add(-48*time.Hour))
			if r := (num(t, j, "HardBounces") + num(t, j, "SoftBounces") + num(t, j, "OtherBounces")) / num(t, j, "NumberSent"); r < 0.15 {
				t.Fatalf("bounce rate %v", r)
			}
		}},
		{FaultSendUnsubscribeSpike, func(t *testing.T, h *harness, p picks) {
			a, key := sendGroup(t, h, p)
			c0 := h.tss(p.ts.Key)
			h.sim.Inject(Fault{Kind: FaultSendUnsubscribeSpike, Target: key})
			h.sim.Inject(Fault{Kind: FaultSendUnsubscribeSpike, Target: p.ts.Key})
			h.sim.Clock().Advance(a.Sched.Interval + 2*time.Hour)
			j := lastJob(t, h, key, h.sim.Now().Add(-48*time.Hour))
			if r := num(t, j, "Unsubscribes") / num(t, j, "NumberSent"); r < 0.02 {
				t.Fatalf("unsubscribe rate %v", r)
			}
			c1 := h.tss(p.ts.Key)
			if ds, do := c1["Sent"]-c0["Sent"], c1["OptOuts"]-c0["OptOuts"]; ds <= 0 || float64(do)/float64(ds) < 0.02 {
				t.Errorf("triggered send opt-outs %d of %d sent", do, ds)
			}
		}},
	}
}
