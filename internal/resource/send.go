package resource

import "time"

// Send is an email send job group: the send jobs (SOAP Send objects) of one
// EmailSendDefinition (user-initiated send or an automation's send
// activity), or of one email when the jobs have no definition.
const Send Type = "send"

// CounterOptOuts is a triggered send's TriggeredSendSummary OptOuts
// (unsubscribes caused by it; cumulative).
const CounterOptOuts = "opt_outs"

// MaxSendJobs bounds SendState.Jobs.
const MaxSendJobs = 40

// SendJob is one send job's counters as SFMC reported them last.
type SendJob struct {
	ID       int64     `json:"id"`
	SendDate time.Time `json:"send_date"`
	SentDate time.Time `json:"sent_date,omitzero"`
	Status   string    `json:"status,omitempty"`
	Targeted int64     `json:"targeted,omitempty"`
	Sent     int64     `json:"sent"`
	// Delivered is NumberDelivered.
	Delivered int64 `json:"delivered,omitempty"`
	Errored   int64 `json:"errored,omitempty"`
	// Bounces is HardBounces + SoftBounces + OtherBounces; HardBounces
	// is kept apart.
	Bounces      int64 `json:"bounces,omitempty"`
	HardBounces  int64 `json:"hard_bounces,omitempty"`
	Unsubscribes int64 `json:"unsubscribes,omitempty"`
}

// Complete reports whether SFMC reports the job finished.
func (j SendJob) Complete() bool { return j.Status == "Complete" || j.Status == "complete" }

// SendState is the payload of a send snapshot.
type SendState struct {
	// Name is the email name of the latest job.
	Name string `json:"name"`
	// EmailID is the email's id (when the group is one definition, of its
	// latest job).
	EmailID string `json:"email_id,omitempty"`
	// Jobs are the known send jobs, oldest first, at most MaxSendJobs
	// (the collector merges the jobs it read with those carried forward).
	Jobs []SendJob `json:"jobs,omitempty"`
	// ObservedSince is sfmcwatch's first observation (carried).
	ObservedSince time.Time `json:"observed_since"`
	// RecheckedAt is when the whole re-check window (a week of jobs) was
	// last read; polls in between read only the recent days.
	RecheckedAt time.Time `json:"rechecked_at,omitzero"`
}
