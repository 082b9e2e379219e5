package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/digest"
)

// WriteDigestMarkdown writes the weekly digest as GitHub-flavoured Markdown.
func WriteDigestMarkdown(w io.Writer, d *digest.Digest) error {
	v := newDigestView(d)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# %s\n\n%s\n", md(v.Title), md(v.Headline))
	if !d.Quiet() || len(d.Carried) > 0 {
		if len(d.FixFirst) > 0 {
			fmt.Fprintf(bw, "\n## Fix these first\n\nRanked by business impact: severity, critical objects (×2), recurrence and time open.\n\n")
			for i, p := range d.FixFirst {
				fmt.Fprintf(bw, "%d. **%s** — %s (%s, `%s`). Owner %s. First step: %s\n", i+1, md(p.Title), md(p.Why), md(p.Tenant), p.Rule, p.Owner, md(firstFix(p.Remediation)))
			}
		}
	}
	if !d.Quiet() {
		fmt.Fprintf(bw, "\n## Incidents by tenant and family\n\n| tenant | incidents | period before | families | health now | health before |\n|---|---:|---:|---|---:|---:|\n")
		for _, t := range d.Tenants {
			fmt.Fprintf(bw, "| %s | %d | %d | %s | %d (%s) | %d |\n", md(t.Name), t.Opened, t.Previous, md(familyList(t.Families)), t.Score.Value, t.Score.Grade, t.PreviousScore)
		}
		fmt.Fprintf(bw, "\n| family | incidents | period before |\n|---|---:|---:|\n")
		for _, f := range d.Families {
			fmt.Fprintf(bw, "| %s | %d | %d |\n", md(f.Name), f.Count, f.Previous)
		}
		fmt.Fprintf(bw, "\n## Time to detection and time to resolve\n\n| | this period | period before | |\n|---|---|---|---|\n")
		fmt.Fprintf(bw, "| time to detection (first evidence → incident) | %s | %s | %s |\n", statLine(d.TTD), statLine(d.PrevTTD), trend(d.TTD, d.PrevTTD))
		fmt.Fprintf(bw, "| time to detection since the failure began (SFMC's timestamps → incident) | %s | %s | %s |\n",
			failureStatLine(d.TTDSinceFailure, len(d.Incidents)), failureStatLine(d.PrevTTDSinceFailure, d.Previous), trend(d.TTDSinceFailure, d.PrevTTDSinceFailure))
		fmt.Fprintf(bw, "| time to resolve (incident → resolved) | %s | %s | %s |\n", statLine(d.TTR), statLine(d.PrevTTR), trend(d.TTR, d.PrevTTR))
		if len(d.Recurring) > 0 {
			fmt.Fprintf(bw, "\n## Recurring patterns\n\nThe same problem on the same object, several times: fix the cause.\n\n| pattern | this period | period before | owner | fix |\n|---|---:|---:|---|---|\n")
			for _, p := range d.Recurring {
				fmt.Fprintf(bw, "| %s<br>`%s` | %d | %d | %s | %s |\n", md(p.Title), mdCode(p.Fingerprint), p.Count, p.Previous, p.Owner, md(strings.Join(p.Remediation, " ")))
			}
		}
		fmt.Fprintf(bw, "\n## Silent failures caught\n\n")
		if len(d.Silent) == 0 {
			fmt.Fprintln(bw, "None this period.")
		} else {
			fmt.Fprintf(bw, "Problems SFMC itself showed no error for.\n\n| opened | tenant | problem | why SFMC was silent | detected after |\n|---|---|---|---|---|\n")
			for _, in := range d.Silent {
				fmt.Fprintf(bw, "| %s | %s | %s | %s | %s |\n", v.when(in.OpenedAt), md(in.Tenant), md(in.Title), md(digest.SilentReason(in.Rule)), human(in.TTD))
			}
		}
	}
	fmt.Fprintf(bw, "\n## API budget spent\n\n| tenant | calls | days | period before | share of budget | top endpoint |\n|---|---:|---:|---:|---:|---|\n")
	for _, s := range d.Spend {
		share, top := "no budget set", "-"
		if s.Budget > 0 {
			share = pct(s.Calls, s.Budget)
		}
		if len(s.Top) > 0 {
			top = fmt.Sprintf("`%s` (%s)", mdCode(s.Top[0].Endpoint), num(s.Top[0].Calls))
		}
		fmt.Fprintf(bw, "| %s | %s | %d | %s | %s | %s |\n", md(s.Tenant), num(s.Calls), s.Days, num(s.Previous), share, top)
	}
	if !d.Quiet() {
		fmt.Fprintf(bw, "\n## All incidents of the period\n\n| # | opened | tenant | severity | rule | incident | detected after | since the failure began | resolved after | owner |\n|---:|---|---|---|---|---|---|---|---|---|\n")
		for _, in := range d.Incidents {
			fmt.Fprintf(bw, "| %d | %s | %s | %s | `%s` | %s | %s | %s | %s | %s |\n", in.ID, v.when(in.OpenedAt), md(in.Tenant), in.Severity, in.Rule, md(in.Title+in.CauseNote()), human(in.TTD), sinceFailure(in), v.resolved(in), in.Owner)
		}
	}
	if len(d.Carried) > 0 {
		fmt.Fprintf(bw, "\n## Carried over (opened before the period)\n\n| # | opened | tenant | rule | incident | status |\n|---:|---|---|---|---|---|\n")
		for _, in := range d.Carried {
			fmt.Fprintf(bw, "| %d | %s | %s | `%s` | %s | %s |\n", in.ID, v.when(in.OpenedAt), md(in.Tenant), in.Rule, md(in.Title), v.resolved(in))
		}
	}
	fmt.Fprintf(bw, "\nTimes in %s. Time to detection is the time from the first evidence sfmcwatch saw to the incident, and, where SFMC's own records date the failure (a run's start, a journey's stop, an import's end), from the failure's start; time to resolve from the incident to its resolution (resolution waits for two clean evaluations and 10 minutes). Percentiles are nearest-rank. Health uses the shared score definition over the incidents open at the period's end.\n", d.Location)
	return bw.Flush()
}
