// Package fittest builds the largest realistic notification for the
// receiver-limit tests: a group of many incidents whose titles, families,
// owners and remediation come from the error catalog and whose evidence and
// notes carry the recorded SFMC error bodies of the shared fixtures
// (read in place through SFMCWATCH_SHARED, never copied here).
package fittest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/notify"
	"github.com/sfmcwatch/sfmcwatch/internal/sharedfixtures"
)

// Bodies returns the recorded SFMC error bodies (shared/fixtures/sfmc/errors),
// whitespace collapsed as an incident shows them; the test skips when the
// shared folder is absent.
func Bodies(tb testing.TB) []string {
	tb.Helper()
	dir := filepath.Join(sharedfixtures.Fixtures(tb), "errors")
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, strings.Join(strings.Fields(string(b)), " "))
	}
	if len(out) == 0 {
		tb.Fatalf("no SFMC error bodies in %s", dir)
	}
	return out
}

// Group returns a firing alert message of n incidents with real SFMC error
// text: catalog titles and remediation, the recorded error body as
// evidence (after the dispatcher's own evidence line) and a long note.
func Group(tb testing.TB, n int) *notify.Message {
	tb.Helper()
	bodies := Bodies(tb)
	entries := slices.DeleteFunc(slices.Clone(catalog.Default().Entries()), func(e catalog.Entry) bool {
		return !e.Family.IsError() || len(e.Remediation) == 0
	})
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	m := &notify.Message{
		Kind: notify.KindAlert, Key: "group|prod-eu|data_engineering|client|firing", Receiver: "data_engineering",
		GroupKey: "{}:{tenant=\"prod-eu\"}", GroupLabels: map[string]string{"tenant": "prod-eu-marketing-cloud-business-unit-7310042", "owner": "data_engineering", "family": "client"},
		Status: notify.StatusFiring, ExternalURL: "https://sfmcwatch.example.com", CreatedAt: now,
	}
	for i := range n {
		e := entries[i%len(entries)]
		body := bodies[i%len(bodies)]
		a := notify.Alert{
			IncidentID: int64(1000 + i), Fingerprint: fmt.Sprintf("api.errors|prod-eu|integration|crm-sync-%03d", i),
			Status: notify.StatusFiring, Rule: "api.errors",
			Title:    fmt.Sprintf("%s %s %s: %s (integration crm-sync-%03d, %s)", strings.ToUpper(string(e.Surface)), e.Code, e.Title, firstLine(body), i, "POST /data/v1/async/dataextensions/key:Newsletter_Subscribers_Master_EU/rows"),
			Severity: string(e.Severity), Family: string(e.Family), Owner: string(e.Owner), Tenant: "prod-eu",
			ResourceType: "integration", ResourceKey: fmt.Sprintf("crm-sync-%03d", i),
			StartsAt: now.Add(-3 * time.Hour), LastSeen: now, FailingFor: 3 * time.Hour, Occurrences: 412,
			WhyItMatters: "Subscribers are not being added to the master data extension: the nightly newsletter and the welcome journey will miss them until the integration is fixed.",
			Detail:       "412 calls failed in the last 15 minutes and none succeeded since 07:00 UTC; " + body,
			Remediation:  slices.Clone(e.Remediation),
			Evidence:     "412 detection(s) since 2026-03-02 07:00 UTC, last 10:00 UTC; detected 45s after the first evidence; last response: " + body,
			Link:         fmt.Sprintf("https://sfmcwatch.example.com/incidents/%d", 1000+i),
			Note:         "downgraded by maintenance window \"SFMC release (EU)\" (Sat 22:00 Europe/Paris, 6h)",
		}
		m.Alerts = append(m.Alerts, a)
	}
	return m
}

var jsonMessage = regexp.MustCompile(`"message"\s*:\s*"([^"]*)"`)

// firstLine is a readable excerpt of an error body for a title.
func firstLine(body string) string {
	for _, tag := range []string{"faultstring", "StatusMessage", "ErrorMessage"} {
		if _, rest, ok := strings.Cut(body, "<"+tag+">"); ok {
			if msg, _, ok := strings.Cut(rest, "</"); ok {
				return msg
			}
		}
	}
	if m := jsonMessage.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	if len(body) > 80 {
		return body[:80]
	}
	return body
}
