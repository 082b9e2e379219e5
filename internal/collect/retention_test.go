package collect

import (
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

// Retention settings as SOAP DataExtension reports them (shared fixture
// dataextension/soap-de-retrieve.xml: DataRetentionPeriodLength 6,
// DataRetentionPeriodUnitOfMeasure 5, RowBasedRetention false,
// ResetRetentionPeriodOnImport false, DeleteAtEndOfRetentionPeriod true,
// RetainUntil 5/9/2024). DataRetentionPeriodUnitOfMeasure is a
// RecurrenceTypeEnum, deprecated for DataRetentionPeriod (Days, Weeks,
// Months, Years; WSDL DateTimeUnitOfMeasure).
func TestRetentionOf(t *testing.T) {
	until := time.Date(2024, 5, 9, 5, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		de       sfmc.DataExtension
		none     bool
		period   time.Duration
		text     string
		rowBased bool
	}{
		{name: "fixture: 6 months, all records", de: sfmc.DataExtension{RetentionPeriodLength: 6, RetentionPeriodUnit: 5, DeleteAtEndOfRetention: true, RetainUntil: until},
			period: 180 * 24 * time.Hour, text: "6 Months"},
		{name: "row-based 3 days", de: sfmc.DataExtension{RetentionPeriodLength: 3, RetentionPeriodUnit: 3, RowBasedRetention: true},
			period: 72 * time.Hour, text: "3 Days", rowBased: true},
		{name: "DataRetentionPeriod names the unit", de: sfmc.DataExtension{RetentionPeriodLength: 2, RetentionPeriod: "Weeks", RowBasedRetention: true},
			period: 14 * 24 * time.Hour, text: "2 Weeks", rowBased: true},
		{name: "RetainUntil alone", de: sfmc.DataExtension{RetainUntil: until}},
		{name: "no retention", de: sfmc.DataExtension{}, none: true},
		{name: "unknown unit without a date", de: sfmc.DataExtension{RetentionPeriodLength: 2, RetentionPeriodUnit: 9}, none: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := retentionOf(c.de)
			if c.none {
				if r != nil {
					t.Fatalf("retention %+v, want none", r)
				}
				return
			}
			if r == nil || r.Period != c.period || r.PeriodText != c.text || r.RowBased != c.rowBased || !r.RetainUntil.Equal(c.de.RetainUntil) {
				t.Fatalf("retention %+v", r)
			}
		})
	}
}
