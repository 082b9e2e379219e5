package correlate_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/correlate"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/incident"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// TestResolvedCauseSettles: an outage's children judged over a window
// outlive the outage. While the cause settles (promote_after) they stay
// under it and are not announced; one that resolves in that time never
// is; one still open when the cause has been resolved that long is
// promoted, on time, by a pass without any incident change (Due).
func TestResolvedCauseSettles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		defer st.Close()
		e := newEnv(t, st)
		e.step = correlate.New(st, nil, correlate.WithPromoteAfter(time.Now, func() time.Duration { return 30 * time.Minute }))
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": nil})
		time.Sleep(5 * time.Minute)
		cause := api("sfmcwatch", "/automation/v1/imports", "server", "rest:50300")
		tail := api("crm-sync", "/data/v1/customobjectdata/key/{key}/rowset", "server", "rest:50300")
		stuck := api("order-loader", "/data/v1/customobjectdata/key/{key}/rowset", "server", "rest:50300")
		stuck.Discriminator = "order-loader|server|rest:50300"
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": {cause, tail, stuck}})
		top := e.topLevelOpen()
		if len(top) != 1 || top[0].Cause != correlate.CauseOutage {
			t.Fatalf("top-level during the outage = %+v", top)
		}
		causeID := top[0].ID
		// The outage ends for sfmcwatch; the integrations' windows still
		// hold failures.
		for range 2 {
			time.Sleep(2 * time.Minute)
			e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": {tail, stuck}})
		}
		if c, _ := st.GetIncident(context.Background(), causeID); c.Status != store.IncidentResolved {
			t.Fatalf("cause still %s", c.Status)
		}
		if top := e.topLevelOpen(); len(top) != 0 {
			t.Fatalf("children promoted while the cause settles: %+v", top)
		}
		if e.step.Due(tenant) {
			t.Fatal("Due right after the cause resolved")
		}
		// The crm-sync tail clears within the settling time: never promoted.
		time.Sleep(5 * time.Minute)
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": {stuck}})
		time.Sleep(2 * time.Minute)
		e.eval(resource.Tenant, map[string][]detect.Finding{"api.errors": {stuck}})
		if in := e.byKeyDisc(tail); in.Status != store.IncidentResolved || in.CausedBy != causeID {
			t.Fatalf("tail = %s caused_by #%d, want resolved under #%d", in.Status, in.CausedBy, causeID)
		}
		// Half an hour after the cause resolved, a pass with no change
		// promotes what is still open.
		time.Sleep(30 * time.Minute)
		if !e.step.Due(tenant) {
			t.Fatal("not Due after promote_after")
		}
		var ch incident.Changes
		res, err := e.step.Apply(context.Background(), tenant, &ch)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Promoted) != 1 || len(ch.Updated) != 1 || ch.Updated[0].CausedBy != 0 {
			t.Fatalf("promoted = %+v, changes = %+v", res.Promoted, ch.Updated)
		}
		if got := e.byKeyDisc(stuck); got.Status != store.IncidentOpen || got.CausedBy != 0 {
			t.Fatalf("stuck = %+v, want open top-level", got)
		}
		if e.step.Due(tenant) {
			t.Fatal("still Due after promoting")
		}
	})
}

func (e *env) byKeyDisc(f detect.Finding) store.Incident {
	e.t.Helper()
	l, err := e.st.ListIncidents(context.Background(), store.IncidentFilter{Tenant: tenant, Rule: f.Rule, ResourceKey: f.ResourceKey})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, in := range l {
		if in.Title == f.Title {
			return in
		}
	}
	e.t.Fatalf("no incident for %s %s", f.ResourceKey, f.Discriminator)
	return store.Incident{}
}

// TestSecondFailingStepJoinsTheFirst: a fault that makes another query of
// the same automation fail while the first step's incident is open is one
// failure: the second step's incident is a child of the first.
func TestSecondFailingStepJoinsTheFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		defer st.Close()
		e := newEnv(t, st)
		q1 := obj("query.failed", resource.Automation, "Hourly_ERP_Export", "Query 'SQL_11' in automation 'Hourly ERP Export' failed")
		q1.Discriminator = "SQL_11"
		q2 := obj("query.failed", resource.Automation, "Hourly_ERP_Export", "Query 'SQL_31' in automation 'Hourly ERP Export' failed")
		q2.Discriminator = "SQL_31"
		other := obj("query.failed", resource.Automation, "Nightly_Audience", "Query 'SQL_2' in automation 'Nightly Audience' failed")
		autoErr := obj("automation.error", resource.Automation, "Hourly_ERP_Export", "Critical automation 'Hourly ERP Export' errored")
		e.eval(resource.Automation, map[string][]detect.Finding{"query.failed": {q1}, "automation.error": {autoErr}})
		if in := e.byKeyDisc(autoErr); in.CausedBy != e.byKeyDisc(q1).ID {
			t.Fatalf("automation.error caused_by #%d, want the failing step", in.CausedBy)
		}
		time.Sleep(time.Hour)
		e.eval(resource.Automation, map[string][]detect.Finding{"query.failed": {q1, q2, other}, "automation.error": {autoErr}})
		first, second, third := e.byKeyDisc(q1), e.byKeyDisc(q2), e.byKeyDisc(other)
		if second.CausedBy != first.ID || first.CausedBy != 0 {
			t.Fatalf("second step caused_by #%d, want #%d (first caused_by #%d)", second.CausedBy, first.ID, first.CausedBy)
		}
		if third.CausedBy != 0 {
			t.Fatalf("another automation's step joined: caused_by #%d", third.CausedBy)
		}
	})
}
