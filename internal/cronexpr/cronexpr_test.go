package cronexpr

import (
	"strings"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s not available: %v", name, err)
	}
	return l
}

func TestNext(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		expr  string
		after string
		loc   *time.Location
		want  string
	}{
		{"0 8 * * 1", "2026-11-04T10:00:00Z", time.UTC, "2026-11-09T08:00:00Z"},       // Wednesday → next Monday
		{"0 8 * * 1", "2026-11-09T07:59:59Z", time.UTC, "2026-11-09T08:00:00Z"},       // same day, before
		{"0 8 * * 1", "2026-11-09T08:00:00Z", time.UTC, "2026-11-16T08:00:00Z"},       // strictly after
		{"0 8 * * mon", "2026-11-09T06:00:00Z", berlin, "2026-11-09T07:00:00Z"},       // 08:00 CET = 07:00 UTC
		{"0 8 * * 1", "2026-07-01T00:00:00Z", berlin, "2026-07-06T06:00:00Z"},         // CEST
		{"*/15 * * * *", "2026-01-01T10:07:30Z", time.UTC, "2026-01-01T10:15:00Z"},    // step
		{"5/20 9-10 * * *", "2026-01-01T09:46:00Z", time.UTC, "2026-01-01T10:05:00Z"}, // offset step
		{"0 0 1,15 * *", "2026-01-02T00:00:00Z", time.UTC, "2026-01-15T00:00:00Z"},    // list
		{"0 0 31 * *", "2026-02-01T00:00:00Z", time.UTC, "2026-03-31T00:00:00Z"},      // skips February
		{"0 0 29 2 *", "2026-01-01T00:00:00Z", time.UTC, "2028-02-29T00:00:00Z"},      // leap day
		{"0 0 13 * 5", "2026-02-01T00:00:00Z", time.UTC, "2026-02-06T00:00:00Z"},      // dom OR dow: Friday 6th first
		{"0 0 * * 7", "2026-11-04T00:00:00Z", time.UTC, "2026-11-08T00:00:00Z"},       // 7 = Sunday
		{"30 2 * * *", "2026-03-29T00:00:00Z", berlin, "2026-03-30T00:30:00Z"},        // 02:30 does not exist on 29 March: skipped
		{"30 1 * * *", "2026-11-01T04:00:00Z", ny, "2026-11-01T05:30:00Z"},            // ambiguous 01:30: first (EDT)
		{"@weekly", "2026-11-04T00:00:00Z", time.UTC, "2026-11-08T00:00:00Z"},
		{"@monthly", "2026-11-04T00:00:00Z", time.UTC, "2026-12-01T00:00:00Z"},
		{"0 9 * jan-mar/2 *", "2026-04-01T00:00:00Z", time.UTC, "2027-01-01T09:00:00Z"}, // months 1,3
	}
	for _, tc := range tests {
		t.Run(tc.expr+"@"+tc.after, func(t *testing.T) {
			s, err := Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			after, _ := time.Parse(time.RFC3339, tc.after)
			got := s.Next(after, tc.loc)
			want, _ := time.Parse(time.RFC3339, tc.want)
			if !got.Equal(want) {
				t.Errorf("Next(%s) = %s, want %s", tc.after, got.UTC().Format(time.RFC3339), tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"", "empty expression"},
		{"0 8 * *", "has 4 fields, want 5"},
		{"60 8 * * 1", "minute field \"60\": 60 is out of range 0-59"},
		{"0 24 * * 1", "hour field"},
		{"0 8 0 * *", "day-of-month field"},
		{"0 8 * 13 *", "month field"},
		{"0 8 * * 8", "day-of-week field"},
		{"0 8 * * mo", "\"mo\" is not a number"},
		{"*/0 * * * *", "step \"0\""},
		{"0 10-8 * * *", "runs backwards"},
		{"0 8 1,,2 * *", "empty list item"},
		{"0 0 30 2 *", "never fires"},
		{"@fortnightly", "unknown descriptor"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", tc.expr, err, tc.want)
		}
	}
}

// FuzzParse: any input either fails to parse or yields a schedule whose
// next firing time is after the reference time and matches the expression.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"0 8 * * 1", "*/15 * * * *", "0 0 29 2 *", "5/20 9-10 1,15 jan-mar sun", "@weekly", "0 0 13 * 5"} {
		f.Add(s)
	}
	ref := time.Date(2026, 11, 4, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := Parse(expr)
		if err != nil {
			return
		}
		n := s.Next(ref, time.UTC)
		if n.IsZero() {
			t.Fatalf("%q parses but never fires", expr)
		}
		if !n.After(ref) || n.Second() != 0 {
			t.Fatalf("%q: Next = %s", expr, n)
		}
		if s.minute&(1<<n.Minute()) == 0 || s.hour&(1<<n.Hour()) == 0 || s.month&(1<<int(n.Month())) == 0 || !s.dayMatches(n) {
			t.Fatalf("%q: Next = %s does not match", expr, n)
		}
		if m := s.Next(n.Add(-time.Minute), time.UTC); !m.Equal(n) {
			t.Fatalf("%q: Next not stable: %s vs %s", expr, m, n)
		}
	})
}
