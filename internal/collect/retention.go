package collect

import (
	"fmt"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
)

// retentionUnits maps DataRetentionPeriodUnitOfMeasure, a
// RecurrenceTypeEnum ("Deprecated. Use DataRetentionPeriodLength and
// DataRetentionPeriod instead", DataExtension object reference), to a
// unit: 3 Days, 4 Weeks, 5 Months, 6 Years (as the open-source SFMC
// tooling maps it; the shared fixture dataextension/soap-de-retrieve.xml
// has length 6, unit 5). Months and years are counted as 30 and 365 days.
var retentionUnits = map[int]struct {
	name string
	d    time.Duration
}{
	3: {"Days", 24 * time.Hour},
	4: {"Weeks", 7 * 24 * time.Hour},
	5: {"Months", 30 * 24 * time.Hour},
	6: {"Years", 365 * 24 * time.Hour},
}

// retentionOf returns a data extension's retention policy (nil when it
// has none).
func retentionOf(d sfmc.DataExtension) *resource.Retention {
	r := &resource.Retention{RowBased: d.RowBasedRetention, ResetOnImport: d.ResetRetentionOnImport,
		DeleteAtEnd: d.DeleteAtEndOfRetention, RetainUntil: d.RetainUntil}
	unit, ok := retentionUnits[d.RetentionPeriodUnit]
	if !ok {
		for _, u := range retentionUnits {
			if strings.EqualFold(u.name, strings.TrimSpace(d.RetentionPeriod)) {
				unit, ok = u, true
			}
		}
	}
	if ok && d.RetentionPeriodLength > 0 {
		r.Period = time.Duration(d.RetentionPeriodLength) * unit.d
		r.PeriodText = fmt.Sprintf("%d %s", d.RetentionPeriodLength, unit.name)
	}
	if !r.Deletes() {
		return nil
	}
	return r
}
