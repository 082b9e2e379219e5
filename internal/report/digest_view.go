package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/digest"
)

// human formats a duration for people: 42s, 5m20s, 1h13m, 2d3h.
func human(d time.Duration) string { return digest.Human(d) }

// statLine is "median 5m, p90 1h13m (n=7)" or "none".
func statLine(s digest.Stats) string {
	if s.N == 0 {
		return "none"
	}
	return fmt.Sprintf("median %s, p90 %s (n=%d)", human(s.Median), human(s.P90), s.N)
}

// failureStatLine is statLine for time to detection since the failure
// began, over the incidents (of all opened) whose start SFMC dates.
func failureStatLine(s digest.Stats, of int) string {
	if s.N == 0 {
		return "none dated by SFMC"
	}
	return fmt.Sprintf("median %s, p90 %s (n=%d of %d dated by SFMC)", human(s.Median), human(s.P90), s.N, of)
}

// sinceFailure is an incident's time to detection since its failure
// began, or "-" when SFMC dates no start.
func sinceFailure(in digest.Incident) string {
	if !in.FailureKnown() {
		return "-"
	}
	return human(in.TTDSinceFailure)
}

// trend compares this period's median with the previous one's.
func trend(cur, prev digest.Stats) string {
	switch {
	case cur.N == 0 || prev.N == 0:
		return ""
	case cur.Median < prev.Median:
		return "faster"
	case cur.Median > prev.Median:
		return "slower"
	}
	return "same"
}

type digestView struct {
	D        *digest.Digest
	loc      *time.Location
	Title    string
	Headline string
}

func newDigestView(d *digest.Digest) digestView {
	loc, err := time.LoadLocation(d.Location)
	if err != nil {
		loc = time.UTC
	}
	v := digestView{D: d, loc: loc}
	v.Title = fmt.Sprintf("sfmcwatch weekly digest %s – %s", d.From.In(loc).Format("2006-01-02 15:04"), d.To.In(loc).Format("2006-01-02 15:04 MST"))
	if d.Quiet() {
		v.Headline = fmt.Sprintf("No incidents between %s and %s.", v.when(d.From), v.when(d.To))
		if n := len(d.Carried); n > 0 {
			v.Headline += fmt.Sprintf(" %s from before still open.", plural(n, "incident"))
		}
		return v
	}
	tenants := 0
	for _, t := range d.Tenants {
		if t.Opened > 0 {
			tenants++
		}
	}
	v.Headline = fmt.Sprintf("%s (%d the period before) in %s; time to detection %s; time to resolve %s; %s caught that SFMC showed no error for.",
		plural(len(d.Incidents), "incident"), d.Previous, plural(tenants, "tenant"), statLine(d.TTD), statLine(d.TTR), plural(len(d.Silent), "silent failure"))
	return v
}

// When formats a time in the digest's zone.
func (v digestView) When(t time.Time) string { return v.when(t) }

func (v digestView) when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(v.loc).Format("Mon 01-02 15:04")
}

func (v digestView) resolved(in digest.Incident) string {
	if in.Open() {
		return "still open"
	}
	return human(in.TTR)
}

func firstFix(rem []string) string {
	if len(rem) == 0 {
		return ""
	}
	return rem[0]
}

func familyList(cs []digest.Count) string {
	var parts []string
	for _, c := range cs {
		if c.Count > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c.Name, c.Count))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func spendLine(s digest.Spend) string {
	line := fmt.Sprintf("%s calls over %d days (%s the period before)", num(s.Calls), s.Days, num(s.Previous))
	if s.Budget > 0 {
		line += fmt.Sprintf(", %s of the budget", pct(s.Calls, s.Budget))
	}
	return line
}

func catalogFamily(s string) catalog.Family { return catalog.Family(s) }
