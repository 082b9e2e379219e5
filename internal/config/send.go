package config

// SendVolumeDropRule: a send's volume against its own hour-of-week
// baseline (send.volume_drop).
type SendVolumeDropRule struct {
	RuleBase `yaml:",inline"`
	// DropRatio: volume below (1 − drop_ratio) × baseline fires.
	DropRatio     Ratio   `yaml:"drop_ratio" doc:"Fire when a send's volume is below (1 - drop_ratio) x its hour-of-week baseline (0.7: a send at 30% of its usual audience)."`
	MinBaseline   float64 `yaml:"min_baseline" doc:"Sends whose baseline is smaller (messages per job, or per hour for triggered sends) are not judged."`
	MinSamples    int     `yaml:"min_samples" doc:"Earlier jobs (or hours) at the same hour of week needed for a baseline; with fewer, the same hour of day on other days is used."`
	BaselineWeeks int     `yaml:"baseline_weeks" doc:"Weeks of history the baseline reads."`
}

// SendRateRule: a per-send rate (bounces, unsubscribes) against an
// absolute threshold and the send's own baseline.
type SendRateRule struct {
	RuleBase `yaml:",inline"`
	Ratio    Ratio `yaml:"ratio" doc:"Rate (of NumberSent / Sent) at or above which a send is judged."`
	// BaselineFactor: with a baseline, the rate must also be this
	// multiple of it.
	BaselineFactor float64  `yaml:"baseline_factor" doc:"With a baseline (median rate of the send's earlier jobs, or its lifetime rate for a triggered send), the rate must also reach this multiple of it; 0 judges the threshold alone."`
	MinSent        int64    `yaml:"min_sent" doc:"Jobs (or windows of a triggered send) with fewer sent messages are not judged."`
	Window         Duration `yaml:"window" doc:"Triggered sends: window over which counter deltas give the rate."`
}

// SendOverride overrides send health thresholds for one send group or
// triggered send (objects.<type>:<key>.send).
type SendOverride struct {
	DropRatio        Ratio `yaml:"drop_ratio,omitempty" doc:"send.volume_drop drop_ratio for this send."`
	BounceRatio      Ratio `yaml:"bounce_ratio,omitempty" doc:"send.bounce_spike ratio for this send."`
	UnsubscribeRatio Ratio `yaml:"unsubscribe_ratio,omitempty" doc:"send.complaint_spike ratio for this send."`
}

// SendSilentFailureRule: sends the API accepted that SFMC did not carry
// out (send.silent_failure).
type SendSilentFailureRule struct {
	RuleBase `yaml:",inline"`
	Window   Duration `yaml:"window" doc:"Accepted sends (and entry events) of this window are judged."`
	Grace    Duration `yaml:"grace" doc:"Sends accepted this recently are not judged yet (SFMC reports not-sent messages within minutes)."`
	// Transactional messages.
	MinNotSent   int   `yaml:"min_not_sent" doc:"Transactional: accepted messages of one integration found in SFMC's not-sent feed with a system cause that fire."`
	NotSentRatio Ratio `yaml:"not_sent_ratio" doc:"Transactional: and at least this share of the integration's accepted messages."`
	// Journey entry events.
	MinEntryEvents  int   `yaml:"min_entry_events" doc:"Journey entry events: accepted events in the window needed before judging."`
	NotEnteredRatio Ratio `yaml:"not_entered_ratio" doc:"Journey entry events: share of accepted events that no published journey's cumulative population accounts for that fires."`
}
