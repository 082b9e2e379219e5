package resource

import "time"

// Retention is a data extension's data retention policy as SFMC reports
// it (SOAP DataExtension: DataRetentionPeriodLength, DataRetentionPeriod or
// the deprecated DataRetentionPeriodUnitOfMeasure, RowBasedRetention,
// ResetRetentionPeriodOnImport, DeleteAtEndOfRetentionPeriod, RetainUntil).
type Retention struct {
	// Period is the retention period (length × unit; 0 when none).
	Period time.Duration `json:"period_ns,omitempty"`
	// PeriodText is SFMC's length and unit as set ("6 Months").
	PeriodText string `json:"period_text,omitempty"`
	// RowBased: each row is deleted Period after it was added
	// (RowBasedRetention); otherwise the data extension's rows go together.
	RowBased bool `json:"row_based,omitempty"`
	// ResetOnImport: an import restarts the period (ResetRetentionPeriodOnImport).
	ResetOnImport bool `json:"reset_on_import,omitempty"`
	// DeleteAtEnd is DeleteAtEndOfRetentionPeriod.
	DeleteAtEnd bool `json:"delete_at_end,omitempty"`
	// RetainUntil is the date SFMC deletes the data (zero: none).
	RetainUntil time.Time `json:"retain_until,omitzero"`
}

// Deletes reports whether the policy deletes anything.
func (r *Retention) Deletes() bool {
	return r != nil && (r.Period > 0 || !r.RetainUntil.IsZero())
}
