package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/audit"
	"github.com/sfmcwatch/sfmcwatch/internal/health"
)

// WriteAuditMarkdown writes the audit as GitHub-flavoured Markdown: per
// tenant the score and its deductions, findings grouped by area with owner
// and fix, coverage, and the API calls the audit spent.
func WriteAuditMarkdown(w io.Writer, r *audit.Report) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# sfmcwatch audit\n\nGenerated %s. Read-only; secrets and e-mail addresses are masked.\n", r.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC"))
	for _, t := range r.Tenants {
		fmt.Fprintf(bw, "\n## Tenant %s — health %s\n\n", md(t.Name), scoreText(t))
		fmt.Fprintf(bw, "%d findings. Read %s. The audit spent %s API calls (%s).\n", len(t.Findings), objectsLine(t.Objects), num(int64(t.APICalls)), budgetShare(t.Coverage))
		if t.ScoreNote != "" {
			fmt.Fprintf(bw, "\n%s\n", md(t.ScoreNote))
		}
		if rows := checkRows(t); len(rows) > 0 {
			fmt.Fprintf(bw, "\n### What was checked\n\n| monitor | status | objects | why not (in full) |\n|---|---|---:|---|\n")
			for _, r := range rows {
				why := md(r.Why)
				if r.Detail != "" {
					why += "<br>" + md(r.Detail)
				}
				fmt.Fprintf(bw, "| %s | %s | %d | %s |\n", r.Monitor, r.Status, r.Objects, why)
			}
		}
		fmt.Fprintf(bw, "\n### Score deductions\n\n")
		switch {
		case !t.Scored:
			fmt.Fprintln(bw, "Not scored: nothing could be read, so no score is given.")
		case len(t.Deductions) == 0:
			fmt.Fprintln(bw, "Nothing deducted: no problem found.")
		default:
			fmt.Fprintf(bw, "| area | rule | problems | points | why |\n|---|---|---:|---:|---|\n")
			for _, d := range t.Deductions {
				fmt.Fprintf(bw, "| %s | `%s` | %d | −%g | %s |\n", md(strings.ReplaceAll(string(d.Area), "_", " ")), d.Rule, d.Count, d.Points, md(d.Reason))
			}
		}
		fmt.Fprintf(bw, "\n### Findings by area\n")
		for _, a := range auditAreas(t) {
			if len(a.Findings) == 0 {
				fmt.Fprintf(bw, "\n#### %s — no findings\n", a.Title)
				continue
			}
			fmt.Fprintf(bw, "\n#### %s — %d\n\n| severity | finding | object | owner | first step |\n|---|---|---|---|---|\n", a.Title, len(a.Findings))
			for _, f := range a.Findings {
				title := "**" + md(f.Title) + "**"
				if f.Gap {
					title += " *(coverage gap)*"
				}
				fix := ""
				if len(f.Remediation) > 0 {
					fix = f.Remediation[0]
				}
				fmt.Fprintf(bw, "| %s | %s<br>%s | %s `%s` | %s | %s |\n", strings.ToUpper(string(f.Severity)), title, md(f.Detail),
					md(strings.ReplaceAll(f.ResourceType, "_", " ")), mdCode(f.ResourceKey), f.Owner, md(fix))
			}
		}
		c := t.Coverage
		fmt.Fprintf(bw, "\n### Coverage\n\n| check | count | of |\n|---|---:|---|\n")
		fmt.Fprintf(bw, "| automations with no error-notification address | %d | %d checked (%d automations) |\n", c.AutomationsWithoutAlert, c.AutomationsChecked, c.AutomationsTotal)
		fmt.Fprintf(bw, "| critical journeys fed by a data extension with no freshness SLA | %d | %d critical journeys |\n", c.CriticalJourneysNoSLA, c.CriticalJourneys)
		fmt.Fprintf(bw, "| triggered sends not Active | %d | deleted and canceled excluded |\n", c.TriggeredSendsNotActive)
		missing := "none"
		if len(c.MissingScopes) > 0 {
			missing = "`" + strings.Join(c.MissingScopes, "`, `") + "`"
		}
		fmt.Fprintf(bw, "| read scopes missing | %d | %s |\n", len(c.MissingScopes), missing)
		for _, n := range c.Notes {
			fmt.Fprintf(bw, "\n%s\n", md(n))
		}
		fmt.Fprintf(bw, "\n### API calls this audit spent\n\n| endpoint | calls |\n|---|---:|\n")
		for _, e := range endpointRows(t.APICallsByEndpoint) {
			fmt.Fprintf(bw, "| `%s` | %d |\n", mdCode(e.Endpoint), e.Calls)
		}
		if len(t.Errors) > 0 {
			fmt.Fprintf(bw, "\n### Could not read\n\n")
			for _, e := range t.Errors {
				fmt.Fprintf(bw, "- %s\n", md(e))
			}
		}
	}
	fmt.Fprintf(bw, "\n## How the health score is computed\n\n")
	writeDefinitionMarkdown(bw)
	return bw.Flush()
}

// writeDefinitionMarkdown writes health.Definition as a Markdown table (the
// README's table is this output).
func writeDefinitionMarkdown(w io.Writer) {
	fmt.Fprintf(w, "| what | deducts | why |\n|---|---|---|\n")
	for _, d := range health.Definition() {
		fmt.Fprintf(w, "| %s | %s | %s |\n", md(d.What), md(d.Deducts), md(d.Why))
	}
}

// mdCode makes s safe inside a Markdown code span in a table cell.
func mdCode(s string) string { return strings.NewReplacer("`", "'", "|", "\\|", "\n", " ").Replace(s) }
