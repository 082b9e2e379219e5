package config

// RetentionRiskRule: data retention that can delete rows something relies
// on (data_extension.retention_risk).
type RetentionRiskRule struct {
	RuleBase  `yaml:",inline"`
	Horizon   Duration `yaml:"horizon" doc:"A RetainUntil date (SFMC deletes the data) this close, or passed this recently, is reported."`
	MinPeriod Duration `yaml:"min_period" doc:"A retention period shorter than this (row-based or of all records) on a data extension a journey, automation or import relies on is reported."`
}
