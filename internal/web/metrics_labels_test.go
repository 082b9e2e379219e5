package web

import (
	"fmt"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Codes are qualified by surface (code="2" alone is ambiguous) and the
// label set stays bounded: unknown codes and surfaces fall in "other".
func TestMetricCodeLabelsBounded(t *testing.T) {
	c := &storeCollector{s: &Server{cat: catalog.Default()}}
	for _, tc := range []struct{ surface, code, want string }{
		{"soap", "2", "soap:2"},
		{"rest", "50100", "rest:50100"},
		{"http", "503", "http:503"},
		{"http", "999", "http:other"},
		{"soap", "user supplied text 12345", "soap:other"},
		{"soap", "987654321", "soap:other"},
		{"made-up", "2", "other:other"},
		{"rest", "", ""},
	} {
		if got := c.codeLabel(tc.surface, tc.code); got != tc.want {
			t.Errorf("codeLabel(%q, %q) = %q, want %q", tc.surface, tc.code, got, tc.want)
		}
	}
	if got := familyLabel(""); got != "none" {
		t.Errorf("familyLabel(\"\") = %q", got)
	}
}

func TestMetricTenantLabelsBounded(t *testing.T) {
	var rows []store.EventBucket
	for i := range 3 * maxTenantSeries {
		rows = append(rows, store.EventBucket{Tenant: fmt.Sprintf("t%03d", i), Events: int64(i)})
	}
	label := boundedTenants(rows)
	seen := map[string]bool{}
	for _, r := range rows {
		seen[label(r.Tenant)] = true
	}
	if len(seen) != maxTenantSeries || !seen["other"] || !seen[fmt.Sprintf("t%03d", 3*maxTenantSeries-1)] {
		t.Errorf("%d tenant labels (other %v)", len(seen), seen["other"])
	}
	if label := boundedTenants(rows[:5]); label("t001") != "t001" {
		t.Error("few tenants renamed")
	}
}
