package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/scan"
)

// WriteMarkdown writes the report as GitHub-flavoured Markdown.
func WriteMarkdown(w io.Writer, r *scan.Report) error {
	bw := bufio.NewWriter(w)
	s := r.Summary
	level, text := verdict(r)
	fmt.Fprintf(bw, "# sfmcwatch scan\n\n**%s:** %s\n\n", level, md(text))
	fmt.Fprintf(bw, "| files | lines | calls | failed calls | recipient outcomes | bad lines | from | to |\n|---|---:|---:|---:|---:|---:|---|---|\n")
	fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s | %s |\n\n", md(strings.Join(s.Files, ", ")), num(s.Lines), num(s.Events), num(s.Errors), num(s.RecipientOutcomes), num(s.BadLines), tm(s.From), tm(s.To))
	fmt.Fprintf(bw, "A pattern is *persistent* when a run of its failures (no success of the same integration and endpoint in between) lasts at least %s or has at least %d failures.\n", r.Settings.Window, r.Settings.Consecutive)

	if rows := r.FamilyRows(); len(rows) > 0 {
		fmt.Fprintf(bw, "\n## Families\n\n| family | count | codes |\n|---|---:|---|\n")
		for _, row := range rows {
			fmt.Fprintf(bw, "| %s | %s | %s |\n", row.Family, num(row.Count), md(codesLine(row, 6)))
		}
	}
	if len(r.Patterns) > 0 {
		fmt.Fprintf(bw, "\n## Patterns\n\n| # | persistence | family | code | HTTP | integration | endpoint | count | ratio | first seen | last seen | owner | first step |\n|---:|---|---|---|---:|---|---|---:|---:|---|---|---|---|\n")
		for i, p := range r.Patterns {
			pers := p.Persistence
			if pers == scan.Persistent {
				pers = "**persistent**"
			}
			fmt.Fprintf(bw, "| %d | %s | %s | `%s` | %d | %s | `%s` | %s | %s | %s | %s | %s | %s |\n", i+1, pers, p.Family, md(code(p)), p.HTTPStatus,
				md(p.Integration), md(p.Endpoint), num(p.Count), ratio(p.ErrorRatio), tm(p.FirstSeen), tm(p.LastSeen), p.Owner, md(firstStep(p)))
		}
		fmt.Fprintf(bw, "\n### Details\n")
		for i, p := range r.Patterns {
			fmt.Fprintf(bw, "\n%d. **%s** — %s `%s` on `%s` (%s): %s\n", i+1, md(p.Title), p.Family, md(code(p)), md(p.Endpoint), md(p.Integration), p.Persistence)
			if p.SampleMessage != "" {
				fmt.Fprintf(bw, "   - message: %s\n", md(oneLine(p.SampleMessage, 300)))
			}
			if p.SampleObjectKey != "" {
				fmt.Fprintf(bw, "   - object key: `%s`\n", md(p.SampleObjectKey))
			}
			fmt.Fprintf(bw, "   - longest run: %d failures over %s\n", p.LongestRun, p.LongestSpan)
			for _, step := range p.Remediation {
				fmt.Fprintf(bw, "   - fix: %s\n", md(step))
			}
		}
	}
	if s.BadLines > 0 {
		fmt.Fprintf(bw, "\n## Bad lines\n\n%s bad lines; the first %d:\n\n| file | line | reason |\n|---|---:|---|\n", num(s.BadLines), len(r.BadLines))
		for _, b := range r.BadLines {
			fmt.Fprintf(bw, "| %s | %d | %s |\n", md(b.File), b.Line, md(oneLine(b.Reason, 200)))
		}
	}
	return bw.Flush()
}

var mdEscaper = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "`", "'")

// md makes s safe inside a Markdown table cell or code span without HTML
// entities (Markdown read as text, in chat messages or in code spans shows
// "&gt;" literally): a "<" that could open an HTML tag is backslash-escaped,
// and a ">" only where it would start a block quote.
func md(s string) string {
	s = mdEscaper.Replace(s)
	if !strings.Contains(s, "<") && !strings.HasPrefix(s, ">") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '<' && i+1 < len(s) && (isASCIILetter(s[i+1]) || strings.IndexByte("/!?", s[i+1]) >= 0) {
			b.WriteByte('\\')
		}
		if c == '>' && i == 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
