package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/audit"
	"github.com/sfmcwatch/sfmcwatch/internal/health"
)

// WriteAuditText writes the audit as a terminal report: per tenant the
// score with its deductions, findings grouped by area with owner and the
// first fix, the API calls the audit spent, and what could not be read.
func WriteAuditText(w io.Writer, r *audit.Report) error {
	bw := bufio.NewWriter(w)
	for i, t := range r.Tenants {
		if i > 0 {
			fmt.Fprintln(bw)
		}
		fmt.Fprintf(bw, "Tenant %s — health %s; %d findings; audit spent %d API calls in %s\n",
			t.Name, scoreText(t), len(t.Findings), t.APICalls, t.Duration.Round(1e6))
		if t.ScoreNote != "" {
			fmt.Fprintln(bw, t.ScoreNote)
		}
		if len(t.Objects) > 0 {
			var parts []string
			for _, typ := range []string{"automation", "journey", "triggered_send", "transactional", "data_extension", "import"} {
				if n, ok := t.Objects[typ]; ok {
					parts = append(parts, fmt.Sprintf("%d %s", n, typ))
				}
			}
			fmt.Fprintf(bw, "Read: %s\n", strings.Join(parts, ", "))
		}
		if len(t.Deductions) > 0 {
			fmt.Fprintln(bw, "Score deductions:")
			for _, d := range t.Deductions {
				fmt.Fprintf(bw, "  −%-5g %s\n", d.Points, d.Reason)
			}
		}
		for _, area := range health.Areas {
			var fs []audit.Finding
			for _, f := range t.Findings {
				if f.Area == area {
					fs = append(fs, f)
				}
			}
			if len(fs) == 0 {
				continue
			}
			fmt.Fprintf(bw, "\n%s (%d)\n", strings.ToUpper(strings.ReplaceAll(string(area), "_", " ")), len(fs))
			for j, f := range fs {
				if j == 15 {
					fmt.Fprintf(bw, "  … and %d more (see --format json)\n", len(fs)-15)
					break
				}
				gap := ""
				if f.Gap {
					gap = " [coverage gap]"
				}
				fmt.Fprintf(bw, "  %-8s %s — %s%s\n", strings.ToUpper(string(f.Severity)), f.Rule, f.Title, gap)
				if f.Detail != "" {
					fmt.Fprintf(bw, "           %s\n", f.Detail)
				}
				fix := ""
				if len(f.Remediation) > 0 {
					fix = " — fix: " + f.Remediation[0]
				}
				fmt.Fprintf(bw, "           owner %s%s\n", f.Owner, fix)
			}
		}
		if rows := checkRows(t); len(rows) > 0 {
			fmt.Fprintln(bw, "\nWHAT WAS CHECKED")
			for _, r := range rows {
				line := fmt.Sprintf("  %-16s %-12s", r.Monitor, r.Status)
				if r.Status != "disabled" && r.Status != "not checked" {
					line += fmt.Sprintf(" %d objects", r.Objects)
				}
				if r.Why != "" {
					line += " — " + r.Why
				}
				fmt.Fprintln(bw, strings.TrimRight(line, " "))
			}
		}
		c := t.Coverage
		fmt.Fprintln(bw, "\nCOVERAGE")
		fmt.Fprintf(bw, "  automations with no error-notification address   %d of %d checked (%d automations)\n", c.AutomationsWithoutAlert, c.AutomationsChecked, c.AutomationsTotal)
		fmt.Fprintf(bw, "  critical journeys whose entry DE has no SLA      %d of %d critical journeys\n", c.CriticalJourneysNoSLA, c.CriticalJourneys)
		fmt.Fprintf(bw, "  triggered sends not Active                       %d\n", c.TriggeredSendsNotActive)
		missing := "none"
		if len(c.MissingScopes) > 0 {
			missing = strings.Join(c.MissingScopes, ", ")
		}
		fmt.Fprintf(bw, "  read scopes missing                              %s\n", missing)
		fmt.Fprintf(bw, "  API calls this audit spent                       %d (%s)\n", t.APICalls, budgetShare(c))
		for _, n := range c.Notes {
			fmt.Fprintf(bw, "  note: %s\n", n)
		}
		if len(t.Errors) > 0 {
			fmt.Fprintln(bw, "\nCould not read:")
			for _, e := range t.Errors {
				fmt.Fprintf(bw, "  %s\n", e)
			}
		}
	}
	return bw.Flush()
}
