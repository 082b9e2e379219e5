package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/audit"
	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/health"
)

type auditTenantView struct {
	T         audit.Tenant
	Gauge     gauge
	Score     string // "79/100 (fair)" or "not scored (unknown)"
	Checks    []checkRow
	Bars      *bars
	Areas     []auditArea
	Endpoints []endpointCalls
	Budget    string
	Objects   string
}

type auditHTMLView struct {
	R          *audit.Report
	Tenants    []auditTenantView
	Definition []health.Term
	Generated  string
}

// collapseAfter is how many findings of an area show before the rest fold
// into a <details> element (no script needed).
const collapseAfter = 8

var auditFuncs = template.FuncMap{
	"num":     func(n int) string { return num(int64(n)) },
	"sevcol":  func(s catalog.Severity) string { return severityColour(s) },
	"upper":   func(s catalog.Severity) string { return strings.ToUpper(string(s)) },
	"name":    findingName,
	"head":    func(fs []audit.Finding) []audit.Finding { return fs[:min(len(fs), collapseAfter)] },
	"tail":    func(fs []audit.Finding) []audit.Finding { return fs[min(len(fs), collapseAfter):] },
	"grade":   gradeClass,
	"dur":     func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"label":   func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"halfW":   func(b *bars) int { return b.LabelW - 8 },
	"barText": func(b *bars, r bar) float64 { return float64(b.LabelW) + r.W + 6 },
	"plus":    func(a, b float64) float64 { return a + b },
}

var auditHTMLTemplate = template.Must(template.New("audit").Funcs(auditFuncs).Parse(auditHTMLSource))

// WriteAuditHTML writes the audit as one self-contained HTML page (inline
// CSS and SVG, no scripts, no external assets).
func WriteAuditHTML(w io.Writer, r *audit.Report) error {
	v := auditHTMLView{R: r, Definition: health.Definition(), Generated: r.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC")}
	for _, t := range r.Tenants {
		v.Tenants = append(v.Tenants, auditTenantView{T: t, Gauge: tenantGauge(t), Score: scoreText(t), Checks: checkRows(t), Bars: deductionBars(t.Deductions),
			Areas: auditAreas(t), Endpoints: endpointRows(t.APICallsByEndpoint), Budget: budgetShare(t.Coverage), Objects: objectsLine(t.Objects)})
	}
	if err := auditHTMLTemplate.Execute(w, v); err != nil {
		return fmt.Errorf("render audit html: %w", err)
	}
	return nil
}

const reportCSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fff;margin:0;padding:24px;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:2px solid #333;padding-bottom:4px}
h3{font-size:16px;margin:22px 0 6px;border-bottom:1px solid #ddd;padding-bottom:3px}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border:1px solid #ddd;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f6f6f6;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font:12px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f3f3;padding:1px 3px;border-radius:3px;word-break:break-all}
.sev{display:inline-block;font-size:11px;font-weight:700;padding:1px 6px;border-radius:3px;color:#fff;white-space:nowrap}
.gap{display:inline-block;font-size:11px;font-weight:700;padding:0 5px;border-radius:3px;border:1px solid #0072B2;color:#0072B2;margin-left:4px}
.muted{color:#555}ol.fix{margin:0;padding-left:18px}
.summary{display:flex;gap:24px;align-items:center;flex-wrap:wrap}
.summary table{width:auto;min-width:420px}
.verdict{font-size:16px;padding:10px 14px;border-left:6px solid #777;background:#f4f4f4;margin:8px 0 16px}
.verdict.healthy,.verdict.ok{border-color:#1B7F3B;background:#e9f7ee}.verdict.fair{border-color:#6B7F00;background:#f5f8e4}
.verdict.at-risk,.verdict.watch{border-color:#B07800;background:#fff6e0}.verdict.critical,.verdict.action-needed{border-color:#B00020;background:#fdecee}
svg text{font:12px system-ui,sans-serif;fill:#333}
details summary{cursor:pointer;color:#0b5394;margin:4px 0}
.area-ok{color:#1B7F3B}
`

const auditHTMLSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sfmcwatch audit{{range .Tenants}} — {{.T.Name}} {{if .T.Scored}}{{.T.Score}}/100{{else}}not scored{{end}}{{end}}</title>
<style>` + reportCSS + `</style>
</head>
<body>
<h1>sfmcwatch audit</h1>
<p class="muted">Generated {{.Generated}} · read-only · secrets and e-mail addresses are masked</p>
{{range .Tenants}}{{$t := .T}}
<section class="tenant" id="tenant-{{$t.Name}}">
<h2>Tenant {{$t.Name}}</h2>
<div class="summary">
<svg class="gauge" xmlns="http://www.w3.org/2000/svg" width="160" height="104" viewBox="0 0 160 104" role="img" aria-label="{{.Gauge.Description}}">
<title>{{.Gauge.Description}}</title>
<path d="{{.Gauge.Track}}" fill="none" stroke="#e3e3e3" stroke-width="14" stroke-linecap="round"/>
{{if .Gauge.Arc}}<path d="{{.Gauge.Arc}}" fill="none" stroke="{{.Gauge.Colour}}" stroke-width="14" stroke-linecap="round"/>{{end}}
<text x="80" y="74" text-anchor="middle" style="font-size:30px;font-weight:700;fill:{{.Gauge.Colour}}">{{.Gauge.Text}}</text>
<text x="80" y="96" text-anchor="middle" style="font-size:13px">{{.Gauge.Grade}}</text>
</svg>
<table>
<tr><th>Health score</th><td><b>{{.Score}}</b>{{with $t.ScoreNote}}<div class="muted">{{.}}</div>{{end}}</td></tr>
<tr><th>Findings</th><td>{{len $t.Findings}}</td></tr>
<tr><th>Read</th><td>{{.Objects}}</td></tr>
<tr><th>API calls this audit spent</th><td>{{num $t.APICalls}} ({{.Budget}}) in {{dur $t.Duration}}</td></tr>
</table>
</div>

{{with .Checks}}
<h3>What was checked</h3>
<table class="checks">
<tr><th>Monitor</th><th>Status</th><th>Objects</th><th>Why not (in full)</th></tr>
{{range .}}<tr><td>{{.Monitor}}</td><td>{{if .Problem}}<b>{{.Status}}</b>{{else}}{{.Status}}{{end}}</td><td class="n">{{.Objects}}</td><td>{{.Why}}{{with .Detail}}<div class="muted">{{.}}</div>{{end}}</td></tr>
{{end}}</table>
{{end}}

<h3>Score deductions</h3>
{{if $t.Deductions}}
{{with .Bars}}<svg class="deductions" xmlns="http://www.w3.org/2000/svg" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="{{.Description}}">
<title>{{.Description}}</title>
{{$b := .}}{{range .Rows}}<text x="{{halfW $b}}" y="{{plus .Y 14}}" text-anchor="end">{{.Label}}</text>
<rect x="{{$b.LabelW}}" y="{{.Y}}" width="{{.W}}" height="16" fill="{{.Colour}}"/>
<text x="{{barText $b .}}" y="{{plus .Y 13}}">{{.Text}}</text>
{{end}}</svg>{{end}}
<table>
<tr><th>Area</th><th>Rule</th><th>Problems</th><th>Points</th><th>Why</th></tr>
{{range $t.Deductions}}<tr><td>{{label (print .Area)}}</td><td><code>{{.Rule}}</code></td><td class="n">{{.Count}}</td><td class="n">−{{.Points}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>
{{else if $t.Scored}}<p>Nothing deducted: no problem found.</p>{{else}}<p>Not scored: nothing could be read, so no score is given.</p>{{end}}

<h3>Findings by area</h3>
{{range .Areas}}
<h4 id="{{$t.Name}}-{{.Area}}">{{.Title}} — {{if .Findings}}{{len .Findings}} finding{{if gt (len .Findings) 1}}s{{end}}{{if .Gaps}} ({{.Gaps}} coverage gap{{if gt .Gaps 1}}s{{end}}){{end}}{{else}}<span class="area-ok">no findings</span>{{end}}</h4>
{{if .Findings}}
<table class="findings">
<tr><th>Severity</th><th>Finding</th><th>Object</th><th>Owner</th><th>Fix</th></tr>
{{range head .Findings}}{{template "finding" .}}{{end}}
</table>
{{with tail .Findings}}<details><summary>{{len .}} more</summary><table class="findings">
{{range .}}{{template "finding" .}}{{end}}</table></details>{{end}}
{{end}}
{{end}}

<h3>Coverage</h3>
<table class="coverage">
<tr><th>Automations with no error-notification address</th><td class="n">{{$t.Coverage.AutomationsWithoutAlert}}</td><td>of {{$t.Coverage.AutomationsChecked}} checked ({{$t.Coverage.AutomationsTotal}} automations)</td></tr>
<tr><th>Critical journeys fed by a data extension with no freshness SLA</th><td class="n">{{$t.Coverage.CriticalJourneysNoSLA}}</td><td>of {{$t.Coverage.CriticalJourneys}} critical journeys</td></tr>
<tr><th>Triggered sends not Active</th><td class="n">{{$t.Coverage.TriggeredSendsNotActive}}</td><td>deleted and canceled ones excluded</td></tr>
<tr><th>Read scopes missing</th><td class="n">{{len $t.Coverage.MissingScopes}}</td><td>{{range $i, $s := $t.Coverage.MissingScopes}}{{if $i}}, {{end}}<code>{{$s}}</code>{{else}}none{{end}}</td></tr>
</table>
{{range $t.Coverage.Notes}}<p class="muted">{{.}}</p>{{end}}

<h3>API calls this audit spent</h3>
<p>{{num $t.APICalls}} calls, {{.Budget}}.</p>
<table class="spend"><tr><th>Endpoint</th><th>Calls</th></tr>
{{range .Endpoints}}<tr><td><code>{{.Endpoint}}</code></td><td class="n">{{num .Calls}}</td></tr>
{{end}}</table>
{{if $t.Errors}}
<h3>Could not read</h3>
<ul>{{range $t.Errors}}<li>{{.}}</li>{{end}}</ul>
{{end}}
</section>
{{end}}

<h2>How the health score is computed</h2>
<table class="definition"><tr><th>What</th><th>Deducts</th><th>Why</th></tr>
{{range .Definition}}<tr><td>{{.What}}</td><td>{{.Deducts}}</td><td>{{.Why}}</td></tr>
{{end}}</table>
<p class="muted">The same definition scores the dashboard and the weekly digest (open incidents instead of audit findings).</p>
</body>
</html>
{{define "finding"}}<tr>
<td><span class="sev" style="background:{{sevcol .Severity}}">{{upper .Severity}}</span></td>
<td><b>{{.Title}}</b>{{if .Gap}}<span class="gap">coverage gap</span>{{end}}<div class="muted">{{.Detail}}</div><div class="muted"><code>{{.Rule}}</code>{{with .Family}} · family {{.}}{{end}}</div></td>
<td>{{label .ResourceType}}<br><code>{{.ResourceKey}}</code></td>
<td>{{.Owner}}</td>
<td><ol class="fix">{{range .Remediation}}<li>{{.}}</li>{{end}}</ol></td>
</tr>
{{end}}`
