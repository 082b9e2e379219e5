package sim

import "time"

// Data retention. A generated data extension with Retention keeps its
// data 6 months, all records at once (DataRetentionPeriodLength 6,
// DataRetentionPeriodUnitOfMeasure 5 — Months in RecurrenceTypeEnum — as
// in the shared fixture dataextension/soap-de-retrieve.xml). The
// de_retention fault sets row-based retention of param days (default 1,
// unit 3: Days) and, as such a policy would, removes param fraction of
// the rows (default 0.5) while it lasts.

type deRetentionView struct {
	on                    bool
	length, unit          int64
	rowBased, deleteAtEnd bool
	retainUntil           time.Time
}

func (s *Sim) deRetention(t *tenant, de *dataExtension, now time.Time) deRetentionView {
	if w := activeIn(s.faults.windows(FaultDERetention, t.MID, de.Key, de.Name, de.ObjectID), now); w != nil {
		return deRetentionView{on: true, length: int64(w.f.paramFloat("days", 1)), unit: 3, rowBased: true}
	}
	if de.Retention {
		return deRetentionView{on: true, length: 6, unit: 5, deleteAtEnd: true, retainUntil: de.Created.AddDate(2, 0, 0).Truncate(24 * time.Hour)}
	}
	return deRetentionView{}
}

// retentionRows applies the de_retention fault to a row count.
func (s *Sim) retentionRows(t *tenant, de *dataExtension, now time.Time, rows int64) int64 {
	if w := activeIn(s.faults.windows(FaultDERetention, t.MID, de.Key, de.Name, de.ObjectID), now); w != nil {
		return int64(float64(rows) * w.f.paramFloat("fraction", 0.5))
	}
	return rows
}

// soapRetention renders the retention properties of a DataExtension.
func soapRetention(v deRetentionView) []xnode {
	if !v.on {
		return []xnode{elBool("RowBasedRetention", false), elBool("ResetRetentionPeriodOnImport", false),
			elBool("DeleteAtEndOfRetentionPeriod", false), el("RetainUntil", "")}
	}
	until := ""
	if !v.retainUntil.IsZero() {
		until = fmtUS(v.retainUntil)
	}
	return []xnode{elInt("DataRetentionPeriodLength", v.length), elInt("DataRetentionPeriodUnitOfMeasure", v.unit),
		elBool("RowBasedRetention", v.rowBased), elBool("ResetRetentionPeriodOnImport", false),
		elBool("DeleteAtEndOfRetentionPeriod", v.deleteAtEnd), el("RetainUntil", until)}
}
