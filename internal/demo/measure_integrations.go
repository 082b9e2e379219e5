package demo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/proxy/loadgen"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// The customer's own integrations of the measure. They call the simulated
// tenant through the recording proxy from the start of the warm-up, each
// with its own installed package (sim.AddPackage), so that only the
// injected faults break them:
//
//   - shop-backend sends a transactional message every 30 s, each with its
//     own messageKey, to one definition: transactional_swallowed on that
//     definition makes SFMC list them in its not-sent feed →
//     send.silent_failure (integration:shop-backend);
//   - member-app fires the entry event of one published journey every
//     second: journey_events_dropped on that journey keeps answering 201
//     while nobody enters → send.silent_failure (api-entry-events). The
//     rule compares the accepted events with the growth of every published
//     journey together, so the app sends more than the natural entries of
//     the measure tenant's published journeys (about 680 an hour). It runs
//     only around its case (memberLead of healthy traffic before the
//     fault, stopped after): a call a second over the whole measure would
//     be most of its work;
//   - order-sync reads a data extension every minute, caching its token.
//     The contention case starts two more apps on order-sync's client id →
//     credentials.contention.
type measureApps struct {
	txDef              string
	journey, eventKey  string
	orderSync          sim.Credentials
	dataExtension, acc string
	// extra are the integrations a case added (removed when it ends).
	extra []*loadgen.Integration
	// member is member-app's package and calls (started by its case).
	member      sim.Credentials
	memberCalls []loadgen.Call
}

// memberLead is how long member-app sends healthy events before its case's
// fault: longer than the rule's 30-minute window, so the fault has to
// outweigh a window of events that did enter.
const memberLead = 40 * time.Minute

// startMemberApp starts member-app, plays memberLead of its healthy
// traffic and returns how to stop it.
func startMemberApp(m *measurer) (func(), error) {
	a, r := m.apps, m.r
	g, err := a.integration(r, "member-app", a.member, a.memberCalls)
	if err != nil {
		return nil, err
	}
	r.integrations = append(r.integrations, g)
	stop := func() {
		r.integrations = slices.DeleteFunc(r.integrations, func(x *loadgen.Integration) bool { return x == g })
	}
	if err := r.play(m.ctx, r.sim.Now().Add(memberLead), 0, nil); err != nil {
		stop()
		return nil, fmt.Errorf("measure: member-app: %w", err)
	}
	return stop, nil
}

// entryEventEvery is member-app's pace.
const entryEventEvery = time.Second

// startApps picks the apps' objects (marked used so no object case breaks
// them) and adds the apps to the rig, starting now.
func (m *measurer) startApps(used map[string]bool) error {
	r := m.r
	creds := r.sim.Credentials()
	mid := creds.MIDs[0]
	txs := r.sim.ObjectKeys(mid, "transactional")
	des := r.sim.ObjectKeys(mid, "data_extension")
	var ev sim.EntryEvent
	for _, e := range r.sim.EntryEvents(mid) {
		if e.Status == "Published" {
			ev = e // the last published journey by key
		}
	}
	if len(txs) == 0 || len(des) == 0 || ev.JourneyKey == "" {
		return errors.New("measure: the simulated tenant has no transactional definition, data extension or published journey for the integrations")
	}
	a := &measureApps{txDef: txs[len(txs)-1], journey: ev.JourneyKey, eventKey: ev.EventDefinitionKey, dataExtension: des[len(des)-1],
		acc: strconv.FormatInt(mid, 10)}
	used[string(resource.Transactional)+":"+a.txDef] = true
	used[string(resource.Journey)+":"+a.journey] = true
	used[string(resource.DataExtension)+":"+a.dataExtension] = true
	specs := []struct {
		name  string
		calls []loadgen.Call
	}{
		{"shop-backend", []loadgen.Call{{Every: 30 * time.Second, Method: http.MethodPost,
			Path: "/messaging/v1/email/messages/order-confirmation-{seq}",
			Body: []byte(`{"definitionKey":` + strconv.Quote(a.txDef) + `,"recipient":{"contactKey":"shop-{seq}","to":"order-{seq}@example.com"}}`)}}},
		{"member-app", []loadgen.Call{{Every: entryEventEvery, Method: http.MethodPost, Path: "/interaction/v1/events",
			Body: []byte(`{"ContactKey":"member-{seq}","EventDefinitionKey":` + strconv.Quote(a.eventKey) + `,"Data":{"Tier":"gold"}}`)}}},
		{"order-sync", a.readCalls()},
	}
	for _, sp := range specs {
		c := r.sim.AddPackage(sp.name)
		switch sp.name {
		case "order-sync":
			a.orderSync = c
		case "member-app":
			a.member, a.memberCalls = c, sp.calls
			continue // started by its case
		}
		g, err := a.integration(r, sp.name, c, sp.calls)
		if err != nil {
			return err
		}
		r.integrations = append(r.integrations, g)
	}
	m.apps = a
	return nil
}

func (a *measureApps) readCalls() []loadgen.Call {
	return []loadgen.Call{{Every: time.Minute, Method: http.MethodGet,
		Path: "/data/v1/customobjectdata/key/" + url.PathEscape(a.dataExtension) + "/rowset?$pageSize=50"}}
}

func (a *measureApps) integration(r *rig, name string, c sim.Credentials, calls []loadgen.Call) (*loadgen.Integration, error) {
	g, err := loadgen.New(loadgen.Options{Name: name, BaseURL: r.proxyURL, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		AccountID: a.acc, Start: r.sim.Now(), Calls: calls})
	if err != nil {
		return nil, fmt.Errorf("measure: integration %s: %w", name, err)
	}
	return g, nil
}

// shareClientID is the contention case's fault: two more apps start on
// order-sync's client id (each caching its own token, as separate
// deployments do).
func shareClientID(m *measurer) (func(), error) {
	a := m.apps
	for _, name := range []string{"billing-export", "crm-sync-v2"} {
		g, err := a.integration(m.r, name, a.orderSync, a.readCalls())
		if err != nil {
			return nil, err
		}
		a.extra = append(a.extra, g)
		m.r.integrations = append(m.r.integrations, g)
	}
	return func() {
		m.r.integrations = slices.DeleteFunc(m.r.integrations, func(g *loadgen.Integration) bool { return slices.Contains(a.extra, g) })
		a.extra = nil
	}, nil
}

// injectFault returns a tenant case's inject function for a simulator fault
// on the target the apps chose.
func injectFault(k sim.Kind, target func(*measureApps) string, params map[string]string) func(*measurer) (func(), error) {
	return func(m *measurer) (func(), error) {
		id, err := m.r.sim.InjectErr(sim.Fault{Kind: k, Target: target(m.apps), Params: params})
		if err != nil {
			return nil, fmt.Errorf("measure: inject %s: %w", k, err)
		}
		return func() { m.r.sim.Clear(id) }, nil
	}
}

// openOn reports whether rule has an open incident on resource key (any
// key when key is empty).
func (m *measurer) openOn(rule, key string) bool {
	l, err := m.r.st.ListIncidents(m.ctx, store.IncidentFilter{Status: store.IncidentOpen, Rule: rule, ResourceKey: key, Limit: 1})
	return err == nil && len(l) > 0
}

// TrustNote is the measured Salesforce Trust note on an outage cause.
type TrustNote struct {
	Fault    string        `json:"fault"`
	Instance string        `json:"instance"`
	Detected bool          `json:"detected"`
	Latency  time.Duration `json:"latency_ns"`
	Title    string        `json:"title,omitempty"`
}

// trustInstance is the measure tenant's instance on (simulated) Trust.
const trustInstance = "S7"

// trustConfig enables the Trust status (the simulator serves it) for the
// measure tenant, appended to the rig's config.
func trustConfig(simURL string) string {
	return "    trust_instance: " + trustInstance + "\ntrust:\n  enabled: true\n  base_url: " + simURL + "\n"
}

// measureTrust injects an SFMC outage (REST and SOAP answer 503 50300 /
// Unplanned Outage) while Salesforce Trust reports an incident on the
// tenant's instance, and measures until an open incident's title carries
// the Trust note.
func (m *measurer) measureTrust(ctx context.Context, limit time.Duration) (*TrustNote, error) {
	r := m.r
	if err := r.play(ctx, r.sim.Now().Add(time.Hour), 0, func() bool { return !m.anyOpen("api.errors") }); err != nil {
		return nil, err
	}
	out := &TrustNote{Fault: string(sim.FaultUnavailable) + " + " + string(sim.FaultTrustIncident), Instance: trustInstance}
	at := r.sim.Now()
	ids := []string{r.sim.Inject(sim.Fault{Kind: sim.FaultTrustIncident, Target: trustInstance}), r.sim.Inject(sim.Fault{Kind: sim.FaultUnavailable})}
	want := "SFMC reports an incident on your instance " + trustInstance
	seen := func() bool {
		l, err := r.st.ListIncidents(m.ctx, store.IncidentFilter{Status: store.IncidentOpen, Limit: 100})
		if err != nil {
			return false
		}
		for _, in := range l {
			if strings.Contains(in.Title, want) {
				out.Detected, out.Latency, out.Title = true, r.sim.Now().Sub(at), in.Title
				return true
			}
		}
		return false
	}
	err := r.play(ctx, at.Add(limit), 0, seen)
	for _, id := range ids {
		r.sim.Clear(id)
	}
	return out, err
}
