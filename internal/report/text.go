package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sfmcwatch/sfmcwatch/internal/scan"
)

// WriteText writes a terminal summary: headline verdict, families, top
// patterns with persistence, owner and first remediation step, bad lines.
func WriteText(w io.Writer, r *scan.Report) error {
	bw := bufio.NewWriter(w)
	s := r.Summary
	level, text := verdict(r)
	fmt.Fprintf(bw, "%s: %s\n", level, text)
	fmt.Fprintf(bw, "Scanned %s (%s lines, %s calls, %s bad lines), %s\n", strings.Join(s.Files, ", "), num(s.Lines), num(s.Events), num(s.BadLines), period(r))
	fmt.Fprintf(bw, "Persistent = a run of failures (no success of the same integration+endpoint between) lasting >= %s or >= %d calls.\n", r.Settings.Window, r.Settings.Consecutive)

	if rows := r.FamilyRows(); len(rows) > 0 {
		fmt.Fprintln(bw, "\nFamilies")
		tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  FAMILY\tCOUNT\tCODES")
		for _, row := range rows {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", familyLabel(row.Family), num(row.Count), codesLine(row, 4))
		}
		tw.Flush()
	}

	if len(r.Patterns) > 0 {
		fmt.Fprintln(bw, "\nTop patterns")
		for i, p := range r.Patterns {
			if i == topN {
				fmt.Fprintf(bw, "  … and %d more patterns (see --format json or html)\n", len(r.Patterns)-topN)
				break
			}
			mark := strings.ToUpper(p.Persistence)
			if !p.IsError() {
				mark = "RECIPIENT"
			}
			fmt.Fprintf(bw, "%2d. %-12s %s %s (HTTP %d) ×%s — %s %s, %s of its calls\n", i+1, mark, p.Family, code(p), p.HTTPStatus, num(p.Count), p.Integration, p.Endpoint, ratio(p.ErrorRatio))
			fmt.Fprintf(bw, "    %s; %s → %s; longest run %d over %s\n", p.Title, tm(p.FirstSeen), tm(p.LastSeen), p.LongestRun, p.LongestSpan)
			if p.SampleMessage != "" {
				fmt.Fprintf(bw, "    message: %s\n", oneLine(p.SampleMessage, 160))
			}
			fmt.Fprintf(bw, "    owner: %s — fix: %s\n", p.Owner, firstStep(p))
		}
	}

	if s.BadLines > 0 {
		fmt.Fprintf(bw, "\nBad lines: %s (first %d shown)\n", num(s.BadLines), len(r.BadLines))
		for _, b := range r.BadLines {
			fmt.Fprintf(bw, "  %s:%d: %s\n", b.File, b.Line, oneLine(b.Reason, 160))
		}
	}
	return bw.Flush()
}

// oneLine collapses whitespace and shortens s to at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
