package resource

import "time"

// SplitBucket is the length of one JourneySplit count bucket.
const SplitBucket = 6 * time.Hour

// MaxSplitBuckets bounds JourneySplit.Buckets (8 days of 6-hour buckets:
// a day's window and a week's baseline).
const MaxSplitBuckets = 32

// JourneySplit is one decision split of a journey (an activity of type
// MULTICRITERIADECISION, RANDOMSPLIT, ENGAGEMENTDECISION, …, from GET
// /interaction/v1/interactions/key:{key}?extras=activities) with the
// contacts counted on each of its paths from SFMC's journey history. Only
// counts are kept: no contact key is ever read.
type JourneySplit struct {
	// ActivityID and ActivityKey identify the split activity.
	ActivityID  string      `json:"activity_id"`
	ActivityKey string      `json:"activity_key"`
	Name        string      `json:"name,omitempty"`
	Type        string      `json:"type"`
	Paths       []SplitPath `json:"paths"`
	// Buckets are the counts by SplitBucket (UTC-aligned), oldest first,
	// at most MaxSplitBuckets.
	Buckets []SplitCounts `json:"buckets,omitempty"`
	// Through is where the history was counted up to (exclusive); the
	// next read starts there. Zero: never read.
	Through time.Time `json:"through,omitzero"`
	// ReadAt is when the history was last read; ReadError the last
	// read's failure (empty when it succeeded).
	ReadAt    time.Time `json:"read_at,omitzero"`
	ReadError string    `json:"read_error,omitempty"`
	// Suspect: the last read's new counts sent a path a far smaller share
	// than the counts before them did; the history is read again sooner
	// (callplan.JourneySplitSuspectRefresh) until the rule can judge.
	Suspect bool `json:"suspect,omitempty"`
	// Since is where the counting began (the first read's start).
	Since time.Time `json:"since,omitzero"`
}

// SplitPath is one outcome of a split.
type SplitPath struct {
	// Key is the outcome's key (e.g. default_path_1, remainder_path).
	Key   string `json:"key"`
	Label string `json:"label,omitempty"`
	// Next is the key of the outcome's next activity; NextID its id
	// (empty when the path ends the journey).
	Next   string `json:"next,omitempty"`
	NextID string `json:"next_id,omitempty"`
	// Percentage is a random split's declared share (0: none declared).
	Percentage int `json:"percentage,omitempty"`
	// Remainder marks a decision's remainder path (no criteria of its own).
	Remainder bool `json:"remainder,omitempty"`
	// Derived: the path's contacts are not counted at its next activity
	// (none, or one other paths also lead to) but derived as the split's
	// count minus the other paths'.
	Derived bool `json:"derived,omitempty"`
}

// SplitCounts are the contacts counted in one bucket: Split at the split
// activity itself, Paths per path (in JourneySplit.Paths order).
type SplitCounts struct {
	Start time.Time `json:"start"`
	Split int64     `json:"split"`
	Paths []int64   `json:"paths"`
}
