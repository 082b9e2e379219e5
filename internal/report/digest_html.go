package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/digest"
)

// familyChart is incidents per family, this period against the one before,
// as grouped horizontal bars (inline SVG).
type familyChart struct {
	W, H        int
	Rows        []familyBar
	Description string
}

type familyBar struct {
	Name              string
	Y                 int
	Cur, Prev         float64 // bar widths
	CurN, PrevN       int
	Colour            string
	CurTextX, PrevTxX float64
}

func buildFamilyChart(cs []digest.Count) *familyChart {
	if len(cs) == 0 {
		return nil
	}
	const labelW, plotW, rowH = 110, 360, 34
	maxN := 1
	for _, c := range cs {
		maxN = max(maxN, c.Count, c.Previous)
	}
	fc := &familyChart{W: labelW + plotW + 120, H: rowH*len(cs) + 8} // room for "N this period"
	var parts []string
	for i, c := range cs {
		st, ok := familyStyles[catalogFamily(c.Name)]
		colour := st.colour
		if !ok {
			colour = "#777777"
		}
		cur := float64(c.Count) / float64(maxN) * plotW
		prev := float64(c.Previous) / float64(maxN) * plotW
		fc.Rows = append(fc.Rows, familyBar{Name: c.Name, Y: 4 + i*rowH, Cur: cur, Prev: prev, CurN: c.Count, PrevN: c.Previous, Colour: colour,
			CurTextX: labelW + cur + 6, PrevTxX: labelW + prev + 6})
		parts = append(parts, fmt.Sprintf("%s %d (before %d)", c.Name, c.Count, c.Previous))
	}
	fc.Description = "Incidents per family, this period against the period before: " + strings.Join(parts, "; ")
	return fc
}

type digestHTMLView struct {
	digestView
	Chart *familyChart
}

var digestFuncs = template.FuncMap{
	"first":    firstFix,
	"inc":      func(i int) int { return i + 1 },
	"reason":   digest.SilentReason,
	"stat":     statLine,
	"failstat": failureStatLine,
	"since":    sinceFailure,
	"trend":    trend,
	"fams":     familyList,
	"spend":    spendLine,
	"dur":      human,
	"pct":      pct,
	"num":      num,
}

var digestHTMLTemplate = template.Must(template.New("digest").Funcs(digestFuncs).Parse(digestHTMLSource))

// WriteDigestHTML writes the weekly digest as one self-contained HTML page
// (inline CSS and SVG, no scripts or external assets), usable as the HTML
// part of an e-mail.
func WriteDigestHTML(w io.Writer, d *digest.Digest) error {
	v := digestHTMLView{digestView: newDigestView(d), Chart: buildFamilyChart(d.Families)}
	if err := digestHTMLTemplate.Execute(w, v); err != nil {
		return fmt.Errorf("render digest html: %w", err)
	}
	return nil
}

// DigestEmail is the digest as an e-mail: subject, text part and HTML part.
type DigestEmail struct {
	Subject string
	Text    string
	HTML    string
}

// NewDigestEmail renders d for e-mail.
func NewDigestEmail(d *digest.Digest) (DigestEmail, error) {
	var t, h bytes.Buffer
	if err := WriteDigestText(&t, d); err != nil {
		return DigestEmail{}, err
	}
	if err := WriteDigestHTML(&h, d); err != nil {
		return DigestEmail{}, err
	}
	subject := fmt.Sprintf("sfmcwatch weekly digest: %s", plural(len(d.Incidents), "incident"))
	if d.Quiet() {
		subject = "sfmcwatch weekly digest: no incidents"
	} else if len(d.FixFirst) > 0 {
		subject += "; fix first: " + oneLine(d.FixFirst[0].Title, 80)
	}
	return DigestEmail{Subject: subject, Text: t.String(), HTML: h.String()}, nil
}

const digestHTMLSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>` + reportCSS + `
.fix li{margin:0 0 10px}.why{color:#555}
.open{color:#B00020;font-weight:600}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="verdict {{if .D.Quiet}}ok{{else if .D.FixFirst}}watch{{end}}" id="headline">{{.Headline}}</p>
{{if .D.FixFirst}}
<h2 id="fix-first">Fix these first</h2>
<p class="muted">Ranked by business impact: severity weight × 2 for critical objects × recurrence × time open.</p>
<ol class="fix fixfirst">{{range .D.FixFirst}}
<li><b>{{.Title}}</b> <span class="muted">({{.Tenant}}, <code>{{.Rule}}</code>)</span><div class="why">{{.Why}} · impact {{.Impact}}</div>
<div>Owner <b>{{.Owner}}</b>. First step: {{first .Remediation}}</div></li>{{end}}
</ol>
{{end}}
{{if not .D.Quiet}}
<h2 id="by-tenant">Incidents by tenant and family</h2>
<table><tr><th>Tenant</th><th>Incidents</th><th>Period before</th><th>Families</th><th>Health now</th><th>Health before</th></tr>
{{range .D.Tenants}}<tr><td>{{.Name}}</td><td class="n">{{.Opened}}</td><td class="n">{{.Previous}}</td><td>{{fams .Families}}</td><td class="n">{{.Score.Value}} ({{.Score.Grade}})</td><td class="n">{{.PreviousScore}}</td></tr>
{{end}}</table>
{{with .Chart}}<svg class="families" xmlns="http://www.w3.org/2000/svg" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="{{.Description}}">
<title>{{.Description}}</title>
{{range .Rows}}<text x="102" y="{{.Y}}" dy="17" text-anchor="end">{{.Name}}</text>
<rect x="110" y="{{.Y}}" width="{{.Cur}}" height="14" fill="{{.Colour}}"/><text x="{{.CurTextX}}" y="{{.Y}}" dy="12">{{.CurN}} this period</text>
<rect x="110" y="{{.Y}}" transform="translate(0,16)" width="{{.Prev}}" height="10" fill="#bbbbbb"/><text x="{{.PrevTxX}}" y="{{.Y}}" dy="26" style="fill:#666">{{.PrevN}} before</text>
{{end}}</svg>{{end}}

<h2 id="timing">Time to detection and time to resolve</h2>
<table><tr><th></th><th>This period</th><th>Period before</th><th></th></tr>
<tr><th>Time to detection<div class="muted">first evidence → incident</div></th><td>{{stat .D.TTD}}</td><td>{{stat .D.PrevTTD}}</td><td>{{trend .D.TTD .D.PrevTTD}}</td></tr>
<tr><th>Since the failure began<div class="muted">SFMC's timestamps → incident</div></th><td>{{failstat .D.TTDSinceFailure (len .D.Incidents)}}</td><td>{{failstat .D.PrevTTDSinceFailure .D.Previous}}</td><td>{{trend .D.TTDSinceFailure .D.PrevTTDSinceFailure}}</td></tr>
<tr><th>Time to resolve<div class="muted">incident → resolved</div></th><td>{{stat .D.TTR}}</td><td>{{stat .D.PrevTTR}}</td><td>{{trend .D.TTR .D.PrevTTR}}</td></tr>
</table>

{{if .D.Recurring}}
<h2 id="recurring">Recurring patterns</h2>
<p class="muted">The same problem on the same object, several times: fix the cause, not the symptom.</p>
<table><tr><th>Pattern</th><th>This period</th><th>Before</th><th>Owner</th><th>Fix</th></tr>
{{range .D.Recurring}}<tr><td><b>{{.Title}}</b><div class="muted"><code>{{.Fingerprint}}</code></div></td><td class="n">{{.Count}}</td><td class="n">{{.Previous}}</td><td>{{.Owner}}</td><td><ol class="fix">{{range .Remediation}}<li>{{.}}</li>{{end}}</ol></td></tr>
{{end}}</table>
{{end}}

<h2 id="silent">Silent failures caught</h2>
{{if .D.Silent}}<p class="muted">Problems SFMC itself showed no error for.</p>
<table><tr><th>Opened</th><th>Tenant</th><th>Problem</th><th>Why SFMC was silent</th><th>Detected after</th></tr>
{{range .D.Silent}}<tr><td>{{$.When .OpenedAt}}</td><td>{{.Tenant}}</td><td>{{.Title}}</td><td>{{reason .Rule}}</td><td class="n">{{dur .TTD}}</td></tr>
{{end}}</table>{{else}}<p>None this period.</p>{{end}}
{{end}}

<h2 id="api">API budget spent</h2>
<table><tr><th>Tenant</th><th>Calls</th><th>Days</th><th>Period before</th><th>Share of budget</th><th>Top endpoint</th></tr>
{{range .D.Spend}}<tr><td>{{.Tenant}}</td><td class="n">{{num .Calls}}</td><td class="n">{{.Days}}</td><td class="n">{{num .Previous}}</td><td class="n">{{if .Budget}}{{pct .Calls .Budget}}{{else}}no budget set{{end}}</td><td>{{with .Top}}{{with index . 0}}<code>{{.Endpoint}}</code> ({{num .Calls}}){{end}}{{end}}</td></tr>
{{end}}</table>

{{if not .D.Quiet}}
<h2 id="incidents">All incidents of the period</h2>
<table class="incidents"><tr><th>#</th><th>Opened</th><th>Tenant</th><th>Severity</th><th>Incident</th><th>Detected after</th><th>Since the failure began</th><th>Resolved after</th><th>Owner</th></tr>
{{range .D.Incidents}}<tr><td class="n">{{.ID}}</td><td>{{$.When .OpenedAt}}</td><td>{{.Tenant}}</td><td>{{.Severity}}</td><td>{{.Title}}<div class="muted"><code>{{.Rule}}</code>{{with .CausedBy}} · caused by #{{.}}{{end}}</div></td><td class="n">{{dur .TTD}}</td><td class="n">{{since .}}</td><td class="n">{{if .Open}}<span class="open">still open</span>{{else}}{{dur .TTR}}{{end}}</td><td>{{.Owner}}</td></tr>
{{end}}</table>
{{end}}
{{if .D.Carried}}
<h2 id="carried">Carried over (opened before the period)</h2>
<table><tr><th>#</th><th>Opened</th><th>Tenant</th><th>Incident</th><th>Status</th></tr>
{{range .D.Carried}}<tr><td class="n">{{.ID}}</td><td>{{$.When .OpenedAt}}</td><td>{{.Tenant}}</td><td>{{.Title}}</td><td>{{if .Open}}<span class="open">still open</span>{{else}}resolved after {{dur .TTR}}{{end}}</td></tr>
{{end}}</table>
{{end}}
<p class="muted">Times in {{.D.Location}}. Time to detection: first evidence sfmcwatch saw → incident, and since the failure began: SFMC's own start time (a run's start, a journey's stop, an import's end) → incident, where SFMC dates it; time to resolve: incident → resolution (which waits for two clean evaluations and 10 minutes). Percentiles are nearest-rank. Health: the shared score over incidents open at the period's end. Generated by sfmcwatch; secrets and e-mail addresses are masked.</p>
</body>
</html>
`
