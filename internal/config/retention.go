package config

// RetentionRiskRule: data retention that can delete rows something relies
// on (data_extension.retention_risk).
type RetentionRiskRule struct {
	RuleBase     `yaml:",inline"`
	Horizon      Duration `yaml:"horizon" doc:"A RetainUntil date (SFMC deletes the data) this close, or passed this recently, is reported."`
	MinRowPeriod Duration `yaml:"min_row_period" doc:"Row-based retention shorter than this on a data extension a journey, automation or import relies on is reported."`
}
