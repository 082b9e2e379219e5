// Package webtest seeds a store with a realistic history for dashboard
// tests, browser tests and benchmarks: the objects of a default-size
// business unit with snapshots over a period, the API calls of the monitor
// and two integrations with their failures, the incidents the rules would
// have opened (with evidence, acknowledgements and resolutions), and API
// usage. Everything derives from a seed, so runs are repeatable.
package webtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Options size the seeded history.
type Options struct {
	// Now is the end of the history (default 2026-03-02 12:00 UTC).
	Now time.Time
	// Days of history (default 2).
	Days int
	// SnapshotEvery is the interval between snapshots of each object
	// (default 1h).
	SnapshotEvery time.Duration
	// EventsPerHour is the number of API calls recorded per hour (default
	// 120); about 6% fail.
	EventsPerHour int
	// Tenants are the business units (default "acme-bu").
	Tenants []string
	// Size is the number of objects per type (default: 60 automations, 20
	// journeys, 120 data extensions, 30 triggered sends, 8 transactional
	// definitions, 20 imports).
	Size Size
	// Seed of the generator (default 1).
	Seed uint64
}

// Size counts objects per type.
type Size struct{ Automations, Journeys, DataExtensions, TriggeredSends, Transactional, Imports int }

// DefaultSize is a mid-size business unit.
var DefaultSize = Size{Automations: 60, Journeys: 20, DataExtensions: 120, TriggeredSends: 30, Transactional: 8, Imports: 20}

// Result names what was seeded.
type Result struct {
	Snapshots, Events, Incidents int
	// Open lists the ids of the open incidents, newest first.
	Open []int64
	// SchemaDrift is the id of an open data_extension.schema_drift
	// incident whose evidence shows a field change.
	SchemaDrift int64
}

// Seed writes the history into st.
func Seed(ctx context.Context, st store.Store, o Options) (*Result, error) {
	if o.Now.IsZero() {
		o.Now = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	}
	if o.Days <= 0 {
		o.Days = 2
	}
	if o.SnapshotEvery <= 0 {
		o.SnapshotEvery = time.Hour
	}
	if o.EventsPerHour <= 0 {
		o.EventsPerHour = 120
	}
	if len(o.Tenants) == 0 {
		o.Tenants = []string{"acme-bu"}
	}
	if o.Size == (Size{}) {
		o.Size = DefaultSize
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	rng := rand.New(rand.NewPCG(o.Seed, 7))
	res := &Result{}
	start := o.Now.Add(-time.Duration(o.Days) * 24 * time.Hour).Truncate(time.Hour)
	for _, tenant := range o.Tenants {
		if err := seedSnapshots(ctx, st, o, tenant, start, rng, res); err != nil {
			return nil, err
		}
		evIDs, err := seedEvents(ctx, st, o, tenant, start, rng, res)
		if err != nil {
			return nil, err
		}
		if err := seedIncidents(ctx, st, o, tenant, start, rng, evIDs, res); err != nil {
			return nil, err
		}
		if err := seedUsage(ctx, st, o, tenant, start); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func key(prefix string, i int) string { return fmt.Sprintf("%s_%03d", prefix, i) }

func seedSnapshots(ctx context.Context, st store.Store, o Options, tenant string, start time.Time, rng *rand.Rand, res *Result) error {
	var batch []store.Snapshot
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := st.InsertSnapshots(ctx, batch); err != nil {
			return fmt.Errorf("webtest: snapshots: %w", err)
		}
		res.Snapshots += len(batch)
		batch = batch[:0]
		return nil
	}
	add := func(sn store.Snapshot) error {
		batch = append(batch, sn)
		if len(batch) >= 2000 {
			return flush()
		}
		return nil
	}
	steps := int(o.Now.Sub(start) / o.SnapshotEvery)
	fieldsV1 := []resource.Field{{Name: "Email", Type: "EmailAddress", MaxLength: 254, Required: true}, {Name: "OrderId", Type: "Text", MaxLength: 36, PrimaryKey: true}, {Name: "Total", Type: "Decimal"}}
	fieldsV2 := []resource.Field{{Name: "Email", Type: "EmailAddress", MaxLength: 254, Required: true}, {Name: "OrderId", Type: "Number", PrimaryKey: true}, {Name: "Currency", Type: "Text", MaxLength: 3}}
	for step := 0; step <= steps; step++ {
		at := start.Add(time.Duration(step) * o.SnapshotEvery)
		last := step == steps
		for i := range o.Size.Automations {
			status := resource.StatusScheduled
			if i == 3 && last {
				status = resource.StatusError
			}
			var runs []resource.Run
			for r := 5; r >= 0; r-- {
				rs := at.Add(-time.Duration(r) * 4 * time.Hour)
				runStatus := resource.StatusComplete
				if i == 3 && r == 0 && last {
					runStatus = resource.StatusError
				}
				runs = append(runs, resource.Run{Status: runStatus, StartedAt: rs, CompletedAt: rs.Add(time.Duration(5+i%20) * time.Minute), Rows: int64(1000 + i*37 + rng.IntN(200))})
			}
			if err := add(store.Snapshot{ResourceRef: resource.Ref(tenant, resource.Automation, key("auto", i)), ObservedAt: at, Status: status,
				LastRunAt: runs[len(runs)-1].StartedAt, Payload: resource.Encode(resource.AutomationState{Name: fmt.Sprintf("Nightly load %d", i), Runs: runs, ScheduleStatus: "active"})}); err != nil {
				return err
			}
		}
		for i := range o.Size.Journeys {
			status := resource.StatusPublished
			if i == 2 && last {
				status = resource.StatusStopped
			}
			cum := int64(10000 + i*100 + step*(20+i))
			if err := add(store.Snapshot{ResourceRef: resource.Ref(tenant, resource.Journey, key("journey", i)), ObservedAt: at, Status: status,
				Counters: map[string]int64{resource.CounterCumulativePopulation: cum, resource.CounterCurrentPopulation: int64(200 + rng.IntN(50))},
				Payload:  resource.Encode(resource.JourneyState{Name: fmt.Sprintf("Welcome journey %d", i), Version: 3})}); err != nil {
				return err
			}
		}
		for i := range o.Size.DataExtensions {
			rows := int64(50000 + i*1000 + (step/24)*500)
			if i == 7 && last {
				rows = 1200 // truncated
			}
			var loads []resource.RowSample
			for l := 9; l >= 0; l-- {
				loads = append(loads, resource.RowSample{At: at.Add(-time.Duration(l) * 24 * time.Hour), Rows: rows - int64(l*500)})
			}
			lastLoad := loads[len(loads)-1].At.Add(-time.Duration(i%30) * time.Hour)
			if i%40 == 9 { // a feed that stopped: late, then stale
				lastLoad = at.Add(-time.Duration(40+i/4) * time.Hour)
			}
			ds := resource.DataExtensionState{Name: fmt.Sprintf("Orders_%03d", i), Loads: loads, LastLoadAt: lastLoad, ObservedSince: start}
			if i == 1 { // schema drift at the last step
				if last {
					ds.Fields, ds.FieldsAt, ds.SchemaChangedAt = fieldsV2, at, at
					ds.PreviousFieldsAt, ds.PreviousSchemaHash = at.Add(-o.SnapshotEvery), "v1"
				} else if step == steps-1 {
					ds.Fields, ds.FieldsAt = fieldsV1, at
				}
			}
			hash := "v1"
			if i == 1 && last {
				hash = "v2"
			}
			r := rows
			if err := add(store.Snapshot{ResourceRef: resource.Ref(tenant, resource.DataExtension, key("de", i)), ObservedAt: at, RowCount: &r, SchemaHash: hash,
				Payload: resource.Encode(ds)}); err != nil {
				return err
			}
		}
		for i := range o.Size.TriggeredSends {
			status := resource.StatusActive
			if i == 4 && last {
				status = resource.StatusInactive
			}
			if err := add(store.Snapshot{ResourceRef: resource.Ref(tenant, resource.TriggeredSend, key("tsd", i)), ObservedAt: at, Status: status,
				Counters: map[string]int64{resource.CounterSent: int64(5000 + step*(10+i)), resource.CounterQueued: int64(rng.IntN(5)), resource.CounterNotSentDueToError: int64(step / 10)},
				Payload:  resource.Encode(resource.TriggeredSendState{Name: fmt.Sprintf("Order confirmation %d", i)})}); err != nil {
				return err
			}
		}
		for i := range o.Size.Transactional {
			if err := add(store.Snapshot{ResourceRef: resource.Ref(tenant, resource.Transactional, key("tx", i)), ObservedAt: at, Status: resource.StatusActive,
				Counters: map[string]int64{resource.CounterQueueCount: int64(rng.IntN(30)), resource.CounterNotSent: int64(step / 20)},
				Payload:  resource.Encode(resource.TransactionalState{Name: fmt.Sprintf("Password reset %d", i)})}); err != nil {
				return err
			}
		}
		for i := range o.Size.Imports {
			status := resource.StatusComplete
			rowsOK, errored := int64(20000+i*10), int64(0)
			if i == 5 && last {
				errored = 8000
			}
			run := resource.Run{Status: status, StartedAt: at.Add(-30 * time.Minute), CompletedAt: at.Add(-20 * time.Minute), Rows: rowsOK, Errored: errored, Total: rowsOK + errored}
			if err := add(store.Snapshot{ResourceRef: resource.Ref(tenant, resource.Import, key("import", i)), ObservedAt: at, Status: status, LastRunAt: run.StartedAt,
				Counters: map[string]int64{resource.CounterRowsImported: rowsOK, resource.CounterRowsErrored: errored},
				Payload:  resource.Encode(resource.ImportState{Name: fmt.Sprintf("CRM contacts import %d", i), Runs: []resource.Run{run}})}); err != nil {
				return err
			}
		}
		if err := add(store.Snapshot{ResourceRef: resource.Ref(tenant, resource.Tenant, tenant), ObservedAt: at, Status: resource.StatusOK,
			Counters: map[string]int64{resource.CounterDailyBudget: 27400, resource.CounterAPICallsToday: int64(step%24) * 90}}); err != nil {
			return err
		}
	}
	return flush()
}

// failure is one kind of failed call the seed produces.
type failure struct {
	integration, method, url, endpoint, family, code, surface, severity string
	status                                                              int
	body                                                                string
}

var failures = []failure{
	{"crm-sync", "POST", "https://mc.rest.marketingcloudapis.com/hub/v1/dataevents/key:Orders/rowset", "/hub/v1/dataevents/key:{key}/rowset", "auth", "401", "http", "error", 401,
		`{"message":"Not Authorized","errorcode":0,"documentation":"","access_token":"eyJhbGciOiJIUzI1NiJ9.secret"}`},
	{"loader", "POST", "https://mc.rest.marketingcloudapis.com/data/v1/async/dataextensions/key:Orders/rows", "/data/v1/async/dataextensions/key:{key}/rows", "rate_limit", "50100", "rest", "warning", 429,
		`{"message":"Too many requests","errorcode":50100}`},
	{"sfmcwatch", "POST", "https://mc.soap.marketingcloudapis.com/Service.asmx", "/Service.asmx", "server", "500", "http", "error", 500,
		`<soap:Fault><faultstring>Server was unable to process request for jane.doe@example.com</faultstring></soap:Fault>`},
	{"crm-sync", "POST", "https://mc.rest.marketingcloudapis.com/messaging/v1/email/messages/abc", "/messaging/v1/email/messages/{id}", "client", "109110", "transactional", "warning", 400,
		`{"message":"Subscriber not found: john@example.org","errorcode":109110}`},
	{"loader", "GET", "https://mc.rest.marketingcloudapis.com/automation/v1/automations", "/automation/v1/automations", "timeout", "504", "http", "warning", 504, ``},
}

func seedEvents(ctx context.Context, st store.Store, o Options, tenant string, start time.Time, rng *rand.Rand, res *Result) ([]int64, error) {
	var batch []store.EventRecord
	hours := int(o.Now.Sub(start) / time.Hour)
	for h := 0; h < hours; h++ {
		for n := range o.EventsPerHour {
			ts := start.Add(time.Duration(h)*time.Hour + time.Duration(n)*time.Hour/time.Duration(o.EventsPerHour))
			rec := store.EventRecord{Event: event.Event{TS: ts, Tenant: tenant, Integration: "sfmcwatch", Source: "client", Method: "GET",
				URL: "https://mc.rest.marketingcloudapis.com/automation/v1/automations", Endpoint: "/automation/v1/automations", Status: 200,
				RequestID: tenant + "-" + strconv.Itoa(h) + "-" + strconv.Itoa(n), Duration: 120 * time.Millisecond}, Family: "none", Count: 1}
			// Failures come in bursts: a family is "bad" for some hours.
			if f := failures[(h/5)%len(failures)]; rng.IntN(100) < 6 || (h%11 == 0 && rng.IntN(3) == 0) {
				rec.Integration, rec.Method, rec.URL, rec.Endpoint, rec.Status = f.integration, f.method, f.url, f.endpoint, f.status
				rec.Family, rec.Code, rec.Surface, rec.Severity, rec.IsError, rec.Body = f.family, f.code, f.surface, f.severity, true, []byte(f.body)
				rec.Source = "ingest"
			}
			batch = append(batch, rec)
		}
		if len(batch) >= 5000 || h == hours-1 {
			r, err := st.InsertEvents(ctx, batch)
			if err != nil {
				return nil, fmt.Errorf("webtest: events: %w", err)
			}
			res.Events += r.Inserted
			batch = batch[:0]
		}
	}
	recent, err := st.QueryEvents(ctx, store.EventQuery{Tenant: tenant, ErrorsOnly: true, Newest: true, Limit: 50})
	if err != nil {
		return nil, fmt.Errorf("webtest: events: %w", err)
	}
	ids := make([]int64, len(recent))
	for i, r := range recent {
		ids[i] = r.ID
	}
	return ids, nil
}

// incidentKinds are the problems seeded as incidents.
var incidentKinds = []struct {
	rule, severity, family, rtype, key, title, owner string
	remediation                                      []string
}{
	{"automation.error", "error", "", "automation", "auto_003", "Automation Nightly load 3 failed", "marketing_ops", []string{"Open the automation's activity history and read the failed step's message.", "Fix the query or file, then run the automation once by hand."}},
	{"api.errors", "error", "auth", "tenant", "", "crm-sync gets 401 Not Authorized on /hub/v1/dataevents", "data_engineering", []string{"Check the installed package's client secret: was it rotated?", "Update the secret in the integration and request a new token."}},
	{"journey.stopped", "critical", "", "journey", "journey_002", "Journey Welcome journey 2 was stopped", "marketing_ops", []string{"Ask who stopped it (audit trail).", "Republish a new version if it must keep running."}},
	{"data_extension.row_drop", "error", "", "data_extension", "de_007", "Orders_007 dropped from 57,000 to 1,200 rows", "data_engineering", []string{"Check the last import or query that wrote it.", "Restore from the source and re-run the load."}},
	{"triggered_send.inactive", "warning", "", "triggered_send", "tsd_004", "Triggered send Order confirmation 4 is not active", "marketing_ops", []string{"Start the triggered send definition again; queued sends go out then."}},
	{"import.partial", "warning", "client", "import", "import_005", "CRM contacts import 5 rejected 8,000 of 28,050 rows", "data_engineering", []string{"Download the import's error file.", "Fix the rows (field lengths, types) upstream."}},
	{"api.errors", "warning", "rate_limit", "tenant", "", "loader is throttled (REST 50100) on async rows", "data_engineering", []string{"Honour Retry-After and batch rows (up to 5,000 per call)."}},
}

func seedIncidents(ctx context.Context, st store.Store, o Options, tenant string, start time.Time, rng *rand.Rand, evIDs []int64, res *Result) error {
	span := o.Now.Sub(start)
	// History: resolved incidents spread over the period (about 10 a day).
	total := o.Days * 10
	for n := range total {
		k := incidentKinds[n%len(incidentKinds)]
		opened := start.Add(time.Duration(float64(span) * float64(n) / float64(total+1)))
		first := opened.Add(-time.Duration(2+rng.IntN(20)) * time.Minute)
		fp := fmt.Sprintf("%s|%s|%s|%s|h%d", k.rule, tenant, k.rtype, k.key, n)
		inc, _, err := st.OpenOrUpdateIncident(ctx, store.IncidentUpsert{Fingerprint: fp, Rule: k.rule, Severity: k.severity, Family: k.family,
			Tenant: tenant, ResourceType: k.rtype, ResourceKey: orTenant(k.key, tenant), Title: k.title, Owner: k.owner, Remediation: k.remediation,
			FirstSeen: first, FailureStartedAt: failureStart(k.rule, first, n), Now: opened})
		if err != nil {
			return fmt.Errorf("webtest: incidents: %w", err)
		}
		res.Incidents++
		if n%3 == 0 {
			if _, err := st.AcknowledgeIncident(ctx, inc.ID, "ana", opened.Add(10*time.Minute)); err != nil {
				return fmt.Errorf("webtest: incidents: %w", err)
			}
		}
		if _, err := st.ResolveIncident(ctx, inc.ID, opened.Add(time.Duration(20+rng.IntN(240))*time.Minute)); err != nil {
			return fmt.Errorf("webtest: incidents: %w", err)
		}
	}
	// Open now: one per kind, plus the schema drift with its snapshots.
	for n, k := range incidentKinds {
		opened := o.Now.Add(-time.Duration(len(incidentKinds)-n) * 7 * time.Minute)
		up := store.IncidentUpsert{Fingerprint: fmt.Sprintf("%s|%s|%s|%s", k.rule, tenant, k.rtype, orTenant(k.key, tenant)+"|"+k.family), Rule: k.rule, Severity: k.severity,
			Family: k.family, Tenant: tenant, ResourceType: k.rtype, ResourceKey: orTenant(k.key, tenant), Title: k.title, Owner: k.owner,
			Remediation: k.remediation, FirstSeen: opened.Add(-4 * time.Minute), FailureStartedAt: failureStart(k.rule, opened.Add(-4*time.Minute), n), Now: opened}
		if k.rule == "api.errors" {
			for _, id := range evIDs[:min(len(evIDs), 5)] {
				up.Evidence = append(up.Evidence, store.Evidence{Kind: store.EvidenceEvent, RefID: id})
			}
		} else if sn, err := st.LatestSnapshot(ctx, store.ResourceRef{Tenant: tenant, ResourceType: k.rtype, ResourceKey: k.key}); err == nil {
			up.Evidence = append(up.Evidence, store.Evidence{Kind: store.EvidenceSnapshot, RefID: sn.ID})
		}
		inc, _, err := st.OpenOrUpdateIncident(ctx, up)
		if err != nil {
			return fmt.Errorf("webtest: incidents: %w", err)
		}
		res.Incidents++
		res.Open = append([]int64{inc.ID}, res.Open...)
	}
	ref := store.ResourceRef{Tenant: tenant, ResourceType: string(resource.DataExtension), ResourceKey: "de_001"}
	if sn, err := st.LatestSnapshot(ctx, ref); err == nil {
		inc, _, err := st.OpenOrUpdateIncident(ctx, store.IncidentUpsert{Fingerprint: "data_extension.schema_drift|" + tenant + "|data_extension|de_001",
			Rule: "data_extension.schema_drift", Severity: "error", Family: "client", Tenant: tenant, ResourceType: ref.ResourceType, ResourceKey: ref.ResourceKey,
			Title: "Orders_001 schema changed: OrderId retyped, Total removed, Currency added", Owner: "data_engineering",
			Remediation: []string{"Ask who changed the data extension (audit trail).", "Update the imports and queries that write it, or revert the change."},
			FirstSeen:   sn.ObservedAt, Now: sn.ObservedAt.Add(2 * time.Minute), Evidence: []store.Evidence{{Kind: store.EvidenceSnapshot, RefID: sn.ID}}})
		if err != nil {
			return fmt.Errorf("webtest: incidents: %w", err)
		}
		res.Incidents++
		res.SchemaDrift = inc.ID
		res.Open = append([]int64{inc.ID}, res.Open...)
	}
	return nil
}

// failureStart is when a seeded incident's failure began by SFMC's own
// timestamps: for the rules whose records carry one (a run's start, a
// journey's modifiedDate, an import's end), 15 to 85 minutes before the
// first evidence; zero (unknown) for the others.
func failureStart(rule string, first time.Time, n int) time.Time {
	switch rule {
	case "automation.error", "journey.stopped", "import.partial":
		return first.Add(-time.Duration(15+n%8*10) * time.Minute)
	}
	return time.Time{}
}

func orTenant(k, tenant string) string {
	if k == "" {
		return tenant
	}
	return k
}

func seedUsage(ctx context.Context, st store.Store, o Options, tenant string, start time.Time) error {
	var deltas []store.UsageDelta
	for d := start; !d.After(o.Now); d = d.Add(24 * time.Hour) {
		for i, ep := range []string{"/automation/v1/automations", "/interaction/v1/interactions", "/Service.asmx", "/data/v1/customobjectdata/key/{key}/rowset", "/v2/token"} {
			deltas = append(deltas, store.UsageDelta{Tenant: tenant, Endpoint: ep, At: d, Calls: int64(300 - i*40)})
		}
	}
	if err := st.AddUsage(ctx, deltas...); err != nil {
		return fmt.Errorf("webtest: usage: %w", err)
	}
	return nil
}
