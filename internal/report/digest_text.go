package report

import (
	"bufio"
	"fmt"
	"io"

	"github.com/sfmcwatch/sfmcwatch/internal/digest"
)

// WriteDigestText writes the weekly digest as plain text (the e-mail's text
// part and the terminal view).
func WriteDigestText(w io.Writer, d *digest.Digest) error {
	v := newDigestView(d)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s\n\n%s\n", v.Title, v.Headline)
	if len(d.FixFirst) > 0 {
		fmt.Fprintf(bw, "\nFIX THESE FIRST (severity, critical objects, recurrence, time open)\n")
		for i, p := range d.FixFirst {
			fmt.Fprintf(bw, "%d. %s [%s, %s]\n   %s\n   owner %s; first step: %s\n", i+1, p.Title, p.Tenant, p.Rule, p.Why, p.Owner, firstFix(p.Remediation))
		}
	}
	if !d.Quiet() {
		fmt.Fprintf(bw, "\nINCIDENTS BY TENANT\n")
		for _, t := range d.Tenants {
			fmt.Fprintf(bw, "  %-16s %3d (before %d)  health %d %s (before %d)  %s\n", t.Name, t.Opened, t.Previous, t.Score.Value, t.Score.Grade, t.PreviousScore, familyList(t.Families))
		}
		fmt.Fprintf(bw, "\nTIME TO DETECTION  %s; before: %s\n", statLine(d.TTD), statLine(d.PrevTTD))
		fmt.Fprintf(bw, "  since failure    %s; before: %s\n", failureStatLine(d.TTDSinceFailure, len(d.Incidents)), failureStatLine(d.PrevTTDSinceFailure, d.Previous))
		fmt.Fprintf(bw, "TIME TO RESOLVE    %s; before: %s\n", statLine(d.TTR), statLine(d.PrevTTR))
		fmt.Fprintf(bw, "(detection counts from the first evidence sfmcwatch saw; \"since failure\" from when SFMC's own records say the failure began)\n")
		if len(d.Recurring) > 0 {
			fmt.Fprintf(bw, "\nRECURRING\n")
			for _, p := range d.Recurring {
				fmt.Fprintf(bw, "  %dx (%d before) %s — fix: %s\n", p.Count, p.Previous, p.Title, firstFix(p.Remediation))
			}
		}
		fmt.Fprintf(bw, "\nSILENT FAILURES CAUGHT: %d\n", len(d.Silent))
		for _, in := range d.Silent {
			fmt.Fprintf(bw, "  %s  %s (%s; detected after %s)\n", v.when(in.OpenedAt), in.Title, digest.SilentReason(in.Rule), human(in.TTD))
		}
	}
	fmt.Fprintf(bw, "\nAPI BUDGET\n")
	for _, s := range d.Spend {
		fmt.Fprintf(bw, "  %-16s %s\n", s.Tenant, spendLine(s))
	}
	if !d.Quiet() {
		fmt.Fprintf(bw, "\nALL INCIDENTS (%d)\n", len(d.Incidents))
		for _, in := range d.Incidents {
			res := "resolved after " + v.resolved(in)
			if in.Open() {
				res = "still open"
			}
			since := ""
			if in.FailureKnown() {
				since = " (" + human(in.TTDSinceFailure) + " after the failure began)"
			}
			fmt.Fprintf(bw, "  #%-4d %s  %-8s %-30s %s — detected after %s%s, %s\n", in.ID, v.when(in.OpenedAt), in.Severity, in.Rule, in.Title+in.CauseNote(), human(in.TTD), since, res)
		}
	}
	if len(d.Carried) > 0 {
		fmt.Fprintf(bw, "\nCARRIED OVER (%d)\n", len(d.Carried))
		for _, in := range d.Carried {
			fmt.Fprintf(bw, "  #%-4d %s  %s — %s\n", in.ID, v.when(in.OpenedAt), in.Title, v.resolved(in))
		}
	}
	fmt.Fprintf(bw, "\nTimes in %s.\n", d.Location)
	return bw.Flush()
}
