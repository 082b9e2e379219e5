// Package digesttest seeds a store with a known fortnight of incidents and
// API usage, for digest and report tests.
package digesttest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// End is the end of the seeded week: Monday 2026-11-09 08:00 UTC.
var End = time.Date(2026, 11, 9, 8, 0, 0, 0, time.UTC)

// Spec is one seeded incident: opened at End+Opened (negative), first
// evidence TTD earlier, resolved TTR after opening (0: still open); the
// failure began by SFMC's timestamps Failure before the first evidence
// (0: SFMC dates no start).
type Spec struct {
	Rule, Severity, Family, Tenant, Type, Key, Title, Owner string
	Remediation                                             []string
	Opened, TTD, TTR                                        time.Duration
	Failure                                                 time.Duration
}

const day = 24 * time.Hour

// Week is the seeded fortnight: the current week (last 7 days before End)
// and the week before it.
var Week = []Spec{
	// The week before.
	{"automation.error", "error", "client", "prod", "automation", "ERP_EXPORT", "Automation 'Hourly ERP Export' errored 2 runs in a row", "data_engineering",
		[]string{"Fix the query's column name."}, -10 * day, 70 * time.Minute, 3 * time.Hour, 20 * time.Minute},
	{"api.errors", "warning", "rate_limit", "prod", "tenant", "prod", "REST calls throttled (429 50100)", "infrastructure",
		[]string{"Honour Retry-After."}, -9 * day, time.Minute, 20 * time.Minute, 0},
	// This week.
	{"automation.error", "error", "client", "prod", "automation", "ERP_EXPORT", "Automation 'Hourly ERP Export' errored 2 runs in a row", "data_engineering",
		[]string{"Fix the query's column name.", "Watch the next run."}, -6 * day, 73 * time.Minute, 3 * time.Hour, 12 * time.Minute},
	{"automation.error", "error", "client", "prod", "automation", "ERP_EXPORT", "Automation 'Hourly ERP Export' errored 2 runs in a row", "data_engineering",
		[]string{"Fix the query's column name.", "Watch the next run."}, -2 * day, 65 * time.Minute, 90 * time.Minute, 15 * time.Minute},
	{"tenant.blind", "critical", "auth", "prod", "tenant", "prod", "sfmcwatch cannot authenticate to prod (invalid_client)", "marketing_ops",
		[]string{"Update client_secret with the rotated secret."}, -5 * day, time.Second, 20 * time.Minute, 0},
	{"data_extension.row_drop", "error", "", "prod", "data_extension", "DE_Orders_Sendable", "DE_Orders_Sendable dropped 95% of its rows", "data_engineering",
		[]string{"Check the query that loads DE_Orders_Sendable."}, -4 * day, 0, 100 * time.Minute, 0},
	{"triggered_send.silent_failure", "error", "", "eu", "triggered_send", "TS_Order_Confirmation", "Order confirmations accepted but not sent", "marketing_ops",
		[]string{"Open the send's error log in Email Studio."}, -3 * day, time.Hour, 2 * time.Hour, 0},
	{"journey.stopped", "warning", "", "eu", "journey", "Browse_Abandon", "Journey 'Browse Abandonment - US' was stopped", "marketing_ops",
		[]string{"Ask who stopped it; republish."}, -36 * time.Hour, 0, 90 * time.Minute, 3 * time.Hour},
	{"import.partial", "warning", "client", "prod", "import", "Orders_Import", "Import 'Orders' rejected 33% of its rows", "data_engineering",
		[]string{"Read the import's error file."}, -20 * time.Hour, 5 * time.Minute, 0, 10 * time.Minute}, // still open
}

// Usage seeded per day: prod 400 calls/day, eu 100/day, over 16 days.
func usage() []store.UsageDelta {
	var out []store.UsageDelta
	for i := range 16 {
		at := End.Add(-time.Duration(i)*day - time.Hour)
		out = append(out,
			store.UsageDelta{Tenant: "prod", Endpoint: "POST /Service.asmx Retrieve DataExtension", At: at, Calls: 300},
			store.UsageDelta{Tenant: "prod", Endpoint: "POST /v2/token", At: at, Calls: 100},
			store.UsageDelta{Tenant: "eu", Endpoint: "GET /automation/v1/automations", At: at, Calls: 100})
	}
	return out
}

func failureStart(first time.Time, before time.Duration) time.Time {
	if before <= 0 {
		return time.Time{}
	}
	return first.Add(-before)
}

// Open returns a SQLite store in a temp dir, closed with the test.
func Open(t testing.TB) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "d.db")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Seed stores specs (and the usage when withUsage) in st.
func Seed(t testing.TB, st store.Store, specs []Spec, withUsage bool) {
	t.Helper()
	ctx := context.Background()
	for _, s := range specs {
		opened := End.Add(s.Opened)
		fp := s.Rule + "|" + s.Tenant + "|" + s.Type + "|" + s.Key
		in, _, err := st.OpenOrUpdateIncident(ctx, store.IncidentUpsert{Fingerprint: fp, Rule: s.Rule, Severity: s.Severity, Family: s.Family,
			Tenant: s.Tenant, ResourceType: s.Type, ResourceKey: s.Key, Title: s.Title, Owner: s.Owner, Remediation: s.Remediation,
			FirstSeen: opened.Add(-s.TTD), FailureStartedAt: failureStart(opened.Add(-s.TTD), s.Failure), Now: opened})
		if err != nil {
			t.Fatal(err)
		}
		if s.TTR > 0 {
			if _, err := st.ResolveIncident(ctx, in.ID, opened.Add(s.TTR)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if withUsage {
		if err := st.AddUsage(ctx, usage()...); err != nil {
			t.Fatal(err)
		}
	}
}
