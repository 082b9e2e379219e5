package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/audit"
	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/health"
)

// auditArea is one area's findings in report order.
type auditArea struct {
	Area     health.Area
	Title    string
	Findings []audit.Finding
	// Worst is the most severe finding's severity.
	Worst catalog.Severity
	Gaps  int
}

func areaTitle(a health.Area) string {
	switch a {
	case health.DataExtensions:
		return "Data extensions"
	case health.Sends:
		return "Sends (triggered and transactional)"
	}
	s := string(a)
	return strings.ToUpper(s[:1]) + strings.ReplaceAll(s[1:], "_", " ")
}

// auditAreas groups a tenant's findings by area (every area of the audit
// is listed, empty ones too, so "no findings" is visible).
func auditAreas(t audit.Tenant) []auditArea {
	var out []auditArea
	for _, a := range health.Areas {
		aa := auditArea{Area: a, Title: areaTitle(a)}
		for _, f := range t.Findings {
			if f.Area != a {
				continue
			}
			aa.Findings = append(aa.Findings, f)
			if f.Severity.Rank() > aa.Worst.Rank() {
				aa.Worst = f.Severity
			}
			if f.Gap {
				aa.Gaps++
			}
		}
		if a == health.Integrations && len(aa.Findings) == 0 {
			continue // the audit reads no integration logs
		}
		out = append(out, aa)
	}
	return out
}

type endpointCalls struct {
	Endpoint string
	Calls    int
}

func endpointRows(m map[string]int) []endpointCalls {
	out := make([]endpointCalls, 0, len(m))
	for e, n := range m {
		out = append(out, endpointCalls{e, n})
	}
	slices.SortFunc(out, func(a, b endpointCalls) int {
		return cmp.Or(cmp.Compare(b.Calls, a.Calls), cmp.Compare(a.Endpoint, b.Endpoint))
	})
	return out
}

func gradeClass(grade string) string { return strings.ReplaceAll(grade, " ", "-") }

func gradeColour(grade string) string {
	switch grade {
	case "healthy":
		return "#1B7F3B"
	case "fair":
		return "#6B7F00"
	case "at risk":
		return "#B07800"
	case audit.GradeUnknown:
		return "#666666"
	}
	return "#B00020"
}

// gauge is the score drawn as an arc (inline SVG).
type gauge struct {
	Score       int
	Text        string // the number drawn ("?" when not scored)
	Grade       string
	Colour      string
	Arc         string // SVG path of the filled part
	Track       string
	Description string
}

func scoreGauge(score int, grade string) gauge {
	const cx, cy, r = 80.0, 80.0, 64.0
	pt := func(frac float64) (float64, float64) {
		a := math.Pi * (1 - frac) // 180° (left) … 0° (right)
		return cx + r*math.Cos(a), cy - r*math.Sin(a)
	}
	x0, y0 := pt(0)
	x1, y1 := pt(1)
	track := fmt.Sprintf("M%.1f %.1f A%.0f %.0f 0 0 1 %.1f %.1f", x0, y0, r, r, x1, y1)
	frac := float64(max(0, min(100, score))) / 100
	arc := ""
	if frac > 0 {
		xe, ye := pt(frac)
		arc = fmt.Sprintf("M%.1f %.1f A%.0f %.0f 0 0 1 %.1f %.1f", x0, y0, r, r, xe, ye)
	}
	return gauge{Score: score, Text: strconv.Itoa(score), Grade: grade, Colour: gradeColour(grade), Arc: arc, Track: track,
		Description: fmt.Sprintf("Health score %d of 100 (%s)", score, grade)}
}

// tenantGauge is the gauge of a tenant: an empty track with "?" when the
// tenant was not scored (nothing could be read).
func tenantGauge(t audit.Tenant) gauge {
	if t.Scored {
		return scoreGauge(t.Score, t.Grade)
	}
	g := scoreGauge(0, audit.GradeUnknown)
	g.Text, g.Arc = "?", ""
	g.Description = "Health not scored (unknown): nothing could be read"
	return g
}

// scoreText is the tenant's score for headings: "79/100 (fair)" or "not
// scored (unknown)".
func scoreText(t audit.Tenant) string {
	if !t.Scored {
		return "not scored (" + audit.GradeUnknown + ")"
	}
	return fmt.Sprintf("%d/100 (%s)", t.Score, t.Grade)
}

// checkRow is one monitor of "What was checked".
type checkRow struct {
	Monitor, Status, Why, Detail string
	Objects                      int
	Problem                      bool
}

func checkRows(t audit.Tenant) []checkRow {
	out := make([]checkRow, 0, len(t.Checks))
	for _, c := range t.Checks {
		r := checkRow{Monitor: strings.ReplaceAll(c.Monitor, "_", " "), Status: strings.ReplaceAll(c.Status, "_", " "), Objects: c.Objects}
		switch c.Status {
		case audit.CheckDisabled:
			r.Why = "monitor disabled in the config"
		case audit.CheckNotRead:
			r.Why, r.Detail, r.Problem = c.Cause.Describe(), c.Detail, true
			if c.Endpoint != "" {
				r.Why += " on " + c.Endpoint
			}
		case audit.CheckPartial:
			parts := make([]string, 0, len(c.Failures))
			for _, f := range c.Failures {
				parts = append(parts, f.String())
			}
			r.Why, r.Problem = "some calls failed: "+strings.Join(parts, "; "), true
		}
		out = append(out, r)
	}
	return out
}

// bars is a horizontal bar chart of deductions (inline SVG).
type bars struct {
	W, H, LabelW int
	Rows         []bar
	Description  string
}

type bar struct {
	Y, W        float64
	Label, Text string
	Colour      string
}

func severityColour(s catalog.Severity) string {
	switch s {
	case catalog.Critical:
		return "#B00020"
	case catalog.Error:
		return "#D55E00"
	case catalog.Warning:
		return "#B07800"
	}
	return "#0072B2"
}

func deductionBars(ds []health.Deduction) *bars {
	if len(ds) == 0 {
		return nil
	}
	const labelW, plotW, rowH = 300, 360, 22
	maxPts := 1.0
	for _, d := range ds {
		maxPts = max(maxPts, d.Points)
	}
	b := &bars{W: labelW + plotW + 70, H: rowH*len(ds) + 8, LabelW: labelW}
	var parts []string
	for i, d := range ds {
		label := fmt.Sprintf("%s ×%d", d.Rule, d.Count)
		b.Rows = append(b.Rows, bar{Y: float64(4 + i*rowH), W: math.Max(1, d.Points/maxPts*plotW), Label: label,
			Text: fmt.Sprintf("−%g", d.Points), Colour: severityColour(d.Severity)})
		parts = append(parts, fmt.Sprintf("%s −%g", label, d.Points))
	}
	b.Description = "Score deductions: " + strings.Join(parts, "; ")
	return b
}

func budgetShare(c audit.Coverage) string {
	if c.DailyAPIBudget <= 0 {
		return "no daily budget set"
	}
	return fmt.Sprintf("%.1f%% of the daily budget of %s", c.BudgetShare*100, num(c.DailyAPIBudget))
}

func objectsLine(objects map[string]int) string {
	var parts []string
	for _, typ := range []string{"automation", "journey", "triggered_send", "transactional", "data_extension", "import"} {
		if n, ok := objects[typ]; ok {
			parts = append(parts, plural(n, strings.ReplaceAll(typ, "_", " ")))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

func findingName(f audit.Finding) string { return cmp.Or(f.ResourceName, f.ResourceKey) }
