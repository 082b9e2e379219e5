package detect

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Retention tests. The settings are SOAP DataExtension's
// (DataRetentionPeriodLength, DataRetentionPeriodUnitOfMeasure,
// RowBasedRetention, ResetRetentionPeriodOnImport,
// DeleteAtEndOfRetentionPeriod, RetainUntil: shared fixture
// dataextension/soap-de-retrieve.xml), as the collector records them.

// retentionUsers serves the latest journey, automation and import
// snapshots that name data extensions.
type retentionUsers struct {
	fakeHistory
	byType map[string][]store.Snapshot
}

func (r retentionUsers) LatestSnapshots(_ context.Context, _ string, typ string) ([]store.Snapshot, error) {
	return r.byType[typ], nil
}

func TestDERetentionRisk(t *testing.T) {
	day := 24 * time.Hour
	users := retentionUsers{byType: map[string][]store.Snapshot{
		string(resource.Automation): {{ResourceRef: resource.Ref("t", resource.Automation, "a1"), Status: resource.StatusScheduled,
			Payload: resource.Encode(resource.AutomationState{Name: "Nightly Audience Build", TargetDataExtensions: []string{"Audience"}})}},
		string(resource.Journey): {{ResourceRef: resource.Ref("t", resource.Journey, "j1"), Status: resource.StatusPublished,
			Payload: resource.Encode(resource.JourneyState{Name: "Welcome", EntryDataExtension: "Welcome_Entry"})}},
		string(resource.Import): {{ResourceRef: resource.Ref("t", resource.Import, "i1"),
			Payload: resource.Encode(resource.ImportState{Name: "Orders Feed", DestinationKey: "Orders"})}},
	}}
	cases := []struct {
		name string
		key  string
		ret  *resource.Retention
		crit bool
		want bool
		part string
	}{
		{name: "journey entry DE with 1-day row-based retention", key: "Welcome_Entry", ret: &resource.Retention{Period: day, PeriodText: "1 Days", RowBased: true},
			want: true, part: "journey 'Welcome' (entry source)"},
		{name: "automation target, all records every 3 days", key: "Audience", ret: &resource.Retention{Period: 3 * day, PeriodText: "3 Days", DeleteAtEnd: true},
			want: true, part: "all its rows are deleted"},
		{name: "all records and the DE itself", key: "Audience", ret: &resource.Retention{Period: 5 * day, PeriodText: "5 Days"},
			want: true, part: "and the data extension itself"},
		{name: "all records every 6 months, RetainUntil far: housekeeping", key: "Audience",
			ret: &resource.Retention{Period: 180 * day, PeriodText: "6 Months", DeleteAtEnd: true, RetainUntil: deT0.Add(400 * day)}},
		{name: "import destination, RetainUntil in 3 days", key: "Orders", ret: &resource.Retention{RetainUntil: deT0.Add(3 * day)},
			want: true, part: "RetainUntil"},
		{name: "RetainUntil in a year", key: "Orders", ret: &resource.Retention{RetainUntil: deT0.Add(365 * day)}},
		{name: "row-based 30 days is housekeeping", key: "Welcome_Entry", ret: &resource.Retention{Period: 30 * day, PeriodText: "30 Days", RowBased: true}},
		{name: "nothing relies on it", key: "Scratch", ret: &resource.Retention{Period: day, PeriodText: "1 Days", RowBased: true}},
		{name: "critical DE nothing else relies on", key: "Scratch", ret: &resource.Retention{Period: day, PeriodText: "1 Days", RowBased: true}, crit: true, want: true},
		{name: "no retention", key: "Welcome_Entry"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var crit []string
			if c.crit {
				crit = []string{c.key}
			}
			snap := deSnap(c.key, n64(1000), resource.DataExtensionState{Retention: c.ret})
			rules := config.DefaultRules()
			in := &Input{Now: deT0, Tenant: deTenant(nil, crit...), Rules: &rules, Type: resource.DataExtension, Current: []store.Snapshot{snap}, Snapshots: users}
			got, err := DERetentionRisk{}.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", got, c.want)
			}
			if c.want && c.part != "" && !strings.Contains(got[0].Title+" "+got[0].Detail, c.part) {
				t.Errorf("finding does not say %q: %s / %s", c.part, got[0].Title, got[0].Detail)
			}
			if c.want && c.crit && got[0].Severity != catalog.Error {
				t.Errorf("critical: severity %s", got[0].Severity)
			}
		})
	}
}

func TestDERowDropExplainedByRetention(t *testing.T) {
	// A drop on a DE whose retention deletes rows is labelled, at info
	// (never pages), not reported as a failed load.
	measured := func(ret *resource.Retention) store.Snapshot {
		l := loads(1000, 400)
		return deSnap("D", n64(400), resource.DataExtensionState{RowCountAt: deT0, Loads: l, ObservedSince: l[0].At, Retention: ret})
	}
	cases := []struct {
		name  string
		ret   *resource.Retention
		want  catalog.Severity
		label bool
	}{
		{name: "no retention: a failure", want: catalog.Error},
		{name: "row-based retention", ret: &resource.Retention{Period: 24 * time.Hour, PeriodText: "1 Days", RowBased: true}, want: catalog.Info, label: true},
		{name: "RetainUntil passed yesterday", ret: &resource.Retention{RetainUntil: deT0.Add(-24 * time.Hour)}, want: catalog.Info, label: true},
		{name: "RetainUntil next month explains nothing", ret: &resource.Retention{RetainUntil: deT0.Add(30 * 24 * time.Hour)}, want: catalog.Error},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := runDE(t, DERowDrop{}, deTenant(nil), fakeHistory{}, measured(c.ret))
			if len(got) != 1 || got[0].Severity != c.want {
				t.Fatalf("findings %+v, want severity %s", got, c.want)
			}
			if c.label != strings.Contains(got[0].Title, "(data retention)") {
				t.Errorf("title %q", got[0].Title)
			}
		})
	}
}
