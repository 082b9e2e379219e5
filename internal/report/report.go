// Package report renders a scan.Report as text (a terminal summary), JSON
// (the `sfmcwatch scan` contract), Markdown, or one self-contained HTML file
// with an inline SVG chart. The report's strings are already masked by
// internal/scan; HTML output is escaped by html/template.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/scan"
)

// Format is an output format.
type Format string

// Formats.
const (
	Text     Format = "text"
	JSON     Format = "json"
	Markdown Format = "markdown"
	HTML     Format = "html"
)

// Formats lists the formats in help order.
var Formats = []Format{Text, JSON, Markdown, HTML}

// ParseFormat parses a format name ("md" is accepted for markdown).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "text", "txt", "":
		return Text, nil
	case "json":
		return JSON, nil
	case "markdown", "md":
		return Markdown, nil
	case "html":
		return HTML, nil
	}
	return "", fmt.Errorf("unknown format %q (want text, json, markdown or html)", s)
}

// Write renders r in format f.
func Write(w io.Writer, f Format, r *scan.Report) error {
	switch f {
	case Text:
		return WriteText(w, r)
	case JSON:
		return WriteJSON(w, r)
	case Markdown:
		return WriteMarkdown(w, r)
	case HTML:
		return WriteHTML(w, r)
	}
	return fmt.Errorf("unknown format %q", f)
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *scan.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return nil
}

// verdict is the one-line headline.
func verdict(r *scan.Report) (level, text string) {
	s := r.Summary
	switch {
	case s.Events == 0:
		return "EMPTY", fmt.Sprintf("no calls found (%d lines, %d bad)", s.Lines, s.BadLines)
	case s.PersistentPatterns > 0:
		return "ACTION NEEDED", fmt.Sprintf("%s persistent, %s intermittent; %s of %s calls failed (%s)",
			plural(s.PersistentPatterns, "failure pattern"), plural(s.IntermittentPatterns, "pattern"), num(s.Errors), num(s.Events), pct(s.Errors, s.Events))
	case s.IntermittentPatterns > 0:
		return "WATCH", fmt.Sprintf("%s, none persistent; %s of %s calls failed (%s)",
			plural(s.IntermittentPatterns, "intermittent failure pattern"), num(s.Errors), num(s.Events), pct(s.Errors, s.Events))
	}
	return "OK", fmt.Sprintf("no failed calls in %s calls", num(s.Events))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func num(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func pct(a, b int64) string {
	if b == 0 {
		return "0%"
	}
	p := 100 * float64(a) / float64(b)
	switch {
	case p == 0:
		return "0%"
	case p < 0.1:
		return "<0.1%"
	case p < 10:
		return fmt.Sprintf("%.1f%%", p)
	}
	return fmt.Sprintf("%.0f%%", p)
}

func ratio(f float64) string {
	if f <= 0 {
		return "-"
	}
	return pct(int64(f*100000+0.5), 100000)
}

func tm(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func firstStep(p scan.Pattern) string {
	if len(p.Remediation) == 0 {
		return ""
	}
	return p.Remediation[0]
}

func code(p scan.Pattern) string { return string(p.Surface) + ":" + p.Code }

func codesLine(row scan.FamilyRow, n int) string {
	var parts []string
	for i, c := range row.Codes {
		if i == n {
			parts = append(parts, fmt.Sprintf("+%d more", len(row.Codes)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", c.Code, num(c.Count)))
	}
	return strings.Join(parts, ", ")
}

func period(r *scan.Report) string {
	if r.Summary.From == nil {
		return "no timestamps"
	}
	return tm(r.Summary.From) + " → " + tm(r.Summary.To)
}

// familyLabel is the family name shown to people.
func familyLabel(f catalog.Family) string { return string(f) }

// topN is how many patterns the text and Markdown summaries list.
const topN = 10
