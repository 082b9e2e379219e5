package scan

import (
	"fmt"
	"sort"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// Persistence values of a pattern.
const (
	Persistent   = "persistent"
	Intermittent = "intermittent"
)

// Report is the result of a scan: the JSON contract of `sfmcwatch scan
// --format json` plus what the renderers need (timeline, ratios, samples).
// Every string that came from the logs is masked with internal/redact.
type Report struct {
	Summary  Summary                         `json:"summary"`
	Settings Settings                        `json:"settings"`
	Families map[catalog.Family]*FamilyStats `json:"families"`
	Patterns []Pattern                       `json:"patterns"`
	BadLines []BadLine                       `json:"bad_lines"`
	Timeline Timeline                        `json:"timeline"`
}

// Summary counts what was read.
type Summary struct {
	Files []string `json:"files"`
	Bytes int64    `json:"bytes"`
	// Lines is every record read (good and bad).
	Lines int64 `json:"lines"`
	// Events is every record decoded into a call.
	Events int64 `json:"events"`
	// Errors is the calls with at least one error-family classification
	// (auth, client, rate_limit, server, timeout).
	Errors int64 `json:"errors"`
	// RecipientOutcomes is the calls that carried per-recipient outcomes
	// (family recipient) but no error.
	RecipientOutcomes int64 `json:"recipient_outcomes"`
	BadLines          int64 `json:"bad_lines"`
	// From and To are the earliest and latest event timestamps (nil when no
	// event had one).
	From *time.Time `json:"from"`
	To   *time.Time `json:"to"`
	// PersistentPatterns and IntermittentPatterns count error patterns.
	PersistentPatterns   int `json:"persistent_patterns"`
	IntermittentPatterns int `json:"intermittent_patterns"`
}

// Settings echoes the persistence thresholds used.
type Settings struct {
	Window      Duration `json:"window"`
	Consecutive int      `json:"consecutive"`
}

// Duration marshals as a Go duration string ("15m0s").
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// String returns the duration's text.
func (d Duration) String() string { return time.Duration(d).String() }

// FamilyStats is one family's total and its codes.
type FamilyStats struct {
	// Count is the number of (call, code) occurrences in the family.
	Count int64 `json:"count"`
	// Codes maps "surface:code" to its count.
	Codes map[string]int64 `json:"codes"`
}

// Pattern is one fingerprint: (integration, endpoint template, family,
// surface-qualified code).
type Pattern struct {
	Family      catalog.Family   `json:"family"`
	Code        string           `json:"code"`
	HTTPStatus  int              `json:"http_status"`
	Surface     catalog.Surface  `json:"surface"`
	Endpoint    string           `json:"endpoint"`
	Integration string           `json:"integration"`
	Count       int64            `json:"count"`
	FirstSeen   *time.Time       `json:"first_seen"`
	LastSeen    *time.Time       `json:"last_seen"`
	Persistence string           `json:"persistence"`
	Owner       catalog.Owner    `json:"owner"`
	Remediation []string         `json:"remediation"`
	Title       string           `json:"title"`
	Severity    catalog.Severity `json:"severity"`
	Transient   bool             `json:"transient"`
	Unknown     bool             `json:"unknown,omitempty"`
	// Calls is every call of the same (integration, endpoint); ErrorRatio
	// is Count / Calls.
	Calls      int64   `json:"calls"`
	ErrorRatio float64 `json:"error_ratio"`
	// LongestRun is the most failures in one run; LongestSpan the longest
	// time between a run's earliest and latest failure.
	LongestRun  int64    `json:"longest_run"`
	LongestSpan Duration `json:"longest_span"`
	// Samples (masked): one object key, message and URL seen with the code.
	SampleObjectKey string `json:"sample_object_key,omitempty"`
	SampleMessage   string `json:"sample_message,omitempty"`
	SampleURL       string `json:"sample_url,omitempty"`
}

// IsError reports whether the pattern is an integration failure (not a
// recipient outcome).
func (p Pattern) IsError() bool { return p.Family.IsError() }

// BadLine is a record that could not be decoded.
type BadLine struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Timeline holds per-family counts of calls per time bucket (for charts).
type Timeline struct {
	Start  *time.Time `json:"start"`
	Bucket Duration   `json:"bucket"`
	Series []Series   `json:"series"`
}

// Series is one family's counts, one per bucket from Timeline.Start.
type Series struct {
	Family catalog.Family `json:"family"`
	Counts []int64        `json:"counts"`
}

// Len is the number of buckets.
func (t Timeline) Len() int {
	if len(t.Series) == 0 {
		return 0
	}
	return len(t.Series[0].Counts)
}

// FamilyRow is one row of an ordered family table.
type FamilyRow struct {
	Family catalog.Family
	Count  int64
	Codes  []CodeCount
}

// CodeCount is one code and its count.
type CodeCount struct {
	Code  string
	Count int64
}

// FamilyRows returns the families in catalog display order with codes by
// descending count.
func (r *Report) FamilyRows() []FamilyRow {
	var rows []FamilyRow
	for _, f := range catalog.Families {
		st, ok := r.Families[f]
		if !ok || st.Count == 0 {
			continue
		}
		row := FamilyRow{Family: f, Count: st.Count}
		for c, n := range st.Codes {
			row.Codes = append(row.Codes, CodeCount{c, n})
		}
		sort.Slice(row.Codes, func(i, j int) bool {
			if row.Codes[i].Count != row.Codes[j].Count {
				return row.Codes[i].Count > row.Codes[j].Count
			}
			return row.Codes[i].Code < row.Codes[j].Code
		})
		rows = append(rows, row)
	}
	return rows
}

// ErrorPatterns returns the patterns of the five error families.
func (r *Report) ErrorPatterns() []Pattern {
	var out []Pattern
	for _, p := range r.Patterns {
		if p.IsError() {
			out = append(out, p)
		}
	}
	return out
}
