package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/scan"
)

// style is how a family is drawn: a colour-blind-safe colour plus a dash
// pattern, and always a text label, so colour is never the only signal.
type style struct{ colour, dash string }

var familyStyles = map[catalog.Family]style{
	catalog.Auth:      {"#D55E00", ""},
	catalog.Client:    {"#0072B2", "8 4"},
	catalog.RateLimit: {"#B07800", "2 3"},
	catalog.Server:    {"#CC79A7", "10 3 2 3"},
	catalog.Timeout:   {"#009E73", "14 5"},
	catalog.Recipient: {"#56B4E9", "1 5"},
	catalog.None:      {"#777777", "4 4"},
}

// chart geometry.
const (
	chartW, chartH           = 760, 280
	padL, padR, padT, padB   = 56, 120, 16, 48
	plotW, plotH             = chartW - padL - padR, chartH - padT - padB
	maxMarkers               = 60
	xLabelCount              = 4
	yTickCount               = 4
	chartLabelMinGapPixels   = 14
	chartTitleBucketFallback = "bucket"
)

type chartLine struct {
	Family       string
	Colour, Dash string
	Points       string
	Markers      []point
	Total        int64
	LabelX       float64
	LabelY       float64
}

type point struct{ X, Y float64 }

type tick struct {
	X, Y  float64
	Label string
}

type chartView struct {
	W, H, PadL, PadT, PlotW, PlotH, Right, Bottom int
	Lines                                         []chartLine
	XTicks, YTicks                                []tick
	YTitle                                        string
	Summary                                       string
}

func buildChart(tl scan.Timeline) *chartView {
	n := tl.Len()
	if n == 0 || tl.Start == nil {
		return nil
	}
	var ymax int64 = 1
	for _, s := range tl.Series {
		for _, c := range s.Counts {
			ymax = max(ymax, c)
		}
	}
	ymax = niceCeil(ymax)
	xAt := func(i int) float64 {
		if n == 1 {
			return padL + plotW/2
		}
		return padL + float64(i)*plotW/float64(n-1)
	}
	yAt := func(c int64) float64 { return padT + plotH - float64(c)*plotH/float64(ymax) }
	bucket := time.Duration(tl.Bucket)
	cv := &chartView{W: chartW, H: chartH, PadL: padL, PadT: padT, PlotW: plotW, PlotH: plotH, Right: padL + plotW, Bottom: padT + plotH,
		YTitle: "calls per " + shortDur(bucket)}
	var parts []string
	for _, s := range tl.Series {
		st := familyStyles[s.Family]
		l := chartLine{Family: string(s.Family), Colour: st.colour, Dash: st.dash}
		var b strings.Builder
		peak := 0
		for i, c := range s.Counts {
			x, y := xAt(i), yAt(c)
			fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
			if n <= maxMarkers && c > 0 {
				l.Markers = append(l.Markers, point{x, y})
			}
			l.Total += c
			if c > s.Counts[peak] {
				peak = i
			}
		}
		l.Points = strings.TrimSpace(b.String())
		l.LabelX, l.LabelY = padL+plotW+8, yAt(s.Counts[n-1])+4
		parts = append(parts, fmt.Sprintf("%s %s (peak %d at %s)", s.Family, num(l.Total), s.Counts[peak], tl.Start.Add(time.Duration(peak)*bucket).UTC().Format("2006-01-02 15:04")))
		cv.Lines = append(cv.Lines, l)
	}
	// Spread end labels so they never overlap.
	for i := 1; i < len(cv.Lines); i++ {
		for j := 0; j < i; j++ {
			if d := cv.Lines[i].LabelY - cv.Lines[j].LabelY; d > -chartLabelMinGapPixels && d < chartLabelMinGapPixels {
				cv.Lines[i].LabelY = cv.Lines[j].LabelY + chartLabelMinGapPixels
			}
		}
	}
	cv.Summary = "Calls per family over time: " + strings.Join(parts, "; ")
	for k := 0; k <= yTickCount; k++ {
		v := ymax * int64(k) / yTickCount
		cv.YTicks = append(cv.YTicks, tick{X: padL - 6, Y: yAt(v) + 4, Label: num(v)})
	}
	layout := "15:04"
	if end := tl.Start.Add(time.Duration(n-1) * bucket); end.Sub(*tl.Start) >= 24*time.Hour || bucket >= time.Hour {
		layout = "01-02 15:04"
	}
	seen := map[int]bool{}
	for k := 0; k < xLabelCount; k++ {
		i := 0
		if n > 1 {
			i = k * (n - 1) / (xLabelCount - 1)
		}
		if seen[i] {
			continue
		}
		seen[i] = true
		cv.XTicks = append(cv.XTicks, tick{X: xAt(i), Y: padT + plotH + 18, Label: tl.Start.Add(time.Duration(i) * bucket).UTC().Format(layout)})
	}
	return cv
}

// niceCeil returns the chart's y maximum: yTickCount × a round step
// (1, 2, 2.5 or 5 × 10^k, whole numbers only) at least v.
func niceCeil(v int64) int64 {
	need := max((v+yTickCount-1)/yTickCount, 1)
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{10, 20, 25, 50} {
			if step := m * p / 10; m*p%10 == 0 && step >= need {
				return step * yTickCount
			}
		}
	}
}

func shortDur(d time.Duration) string {
	switch {
	case d <= 0:
		return chartTitleBucketFallback
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dmin", d/time.Minute)
	}
	return d.String()
}

type htmlView struct {
	R          *scan.Report
	Level      string
	Verdict    string
	Period     string
	Files      string
	Families   []scan.FamilyRow
	Chart      *chartView
	Patterns   []scan.Pattern
	LevelClass string
}

var htmlFuncs = template.FuncMap{
	"num":   num,
	"tm":    tm,
	"ratio": ratio,
	"code":  code,
	"codes": func(row scan.FamilyRow) string { return codesLine(row, 8) },
	"fam":   func(f catalog.Family) string { return familyStyles[f].colour },
	"first": firstStep,
	"inc":   func(i int) int { return i + 1 },
}

var htmlTemplate = template.Must(template.New("scan").Funcs(htmlFuncs).Parse(htmlSource))

// WriteHTML writes one self-contained HTML page: no external assets,
// inline CSS and an inline SVG chart.
func WriteHTML(w io.Writer, r *scan.Report) error {
	level, text := verdict(r)
	v := htmlView{R: r, Level: level, Verdict: text, Period: period(r), Files: strings.Join(r.Summary.Files, ", "),
		Families: r.FamilyRows(), Chart: buildChart(r.Timeline), Patterns: r.Patterns,
		LevelClass: strings.ToLower(strings.ReplaceAll(level, " ", "-"))}
	if err := htmlTemplate.Execute(w, v); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return nil
}

const htmlSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sfmcwatch scan — {{.Level}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fff;margin:0;padding:24px;max-width:1200px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.verdict{font-size:16px;padding:10px 14px;border-left:6px solid #777;background:#f4f4f4;margin:8px 0 16px}
.verdict.action-needed{border-color:#B00020;background:#fdecee}.verdict.watch{border-color:#B07800;background:#fff6e0}.verdict.ok{border-color:#1B7F3B;background:#e9f7ee}
.verdict b{letter-spacing:.04em}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border:1px solid #ddd;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f6f6f6;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f3f3f3;padding:1px 3px;border-radius:3px;word-break:break-all}
.badge{display:inline-block;font-size:11px;font-weight:700;padding:1px 6px;border-radius:3px;border:1px solid #888}
.badge.persistent{background:#B00020;color:#fff;border-color:#B00020}.badge.intermittent{background:#fff;color:#5a4500;border-color:#B07800}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:middle}
.muted{color:#555}ol.fix{margin:0;padding-left:18px}
svg text{font:11px system-ui,sans-serif;fill:#333}
.legend span{margin-right:16px;white-space:nowrap}
</style>
</head>
<body>
<h1>sfmcwatch scan</h1>
<p class="verdict {{.LevelClass}}"><b>{{.Level}}</b>: {{.Verdict}}</p>
<table>
<tr><th>Files</th><td>{{.Files}}</td><th>Period (UTC)</th><td>{{.Period}}</td></tr>
<tr><th>Lines</th><td class="n">{{num .R.Summary.Lines}}</td><th>Calls</th><td class="n">{{num .R.Summary.Events}}</td></tr>
<tr><th>Failed calls</th><td class="n">{{num .R.Summary.Errors}}</td><th>Recipient outcomes</th><td class="n">{{num .R.Summary.RecipientOutcomes}}</td></tr>
<tr><th>Bad lines</th><td class="n">{{num .R.Summary.BadLines}}</td><th>Persistence rule</th><td>a run (no success of the same integration and endpoint in between) lasting ≥ {{.R.Settings.Window}} or ≥ {{.R.Settings.Consecutive}} failures</td></tr>
</table>
{{if .Families}}
<h2>Families</h2>
<table>
<tr><th>Family</th><th>Count</th><th>Codes</th></tr>
{{range .Families}}<tr><td><span class="sw" style="background:{{fam .Family}}"></span>{{.Family}}</td><td class="n">{{num .Count}}</td><td>{{codes .}}</td></tr>
{{end}}</table>
{{end}}
{{with .Chart}}
<h2>Over time</h2>
<svg xmlns="http://www.w3.org/2000/svg" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="{{.Summary}}">
<title>{{.Summary}}</title>
<rect x="{{.PadL}}" y="{{.PadT}}" width="{{.PlotW}}" height="{{.PlotH}}" fill="#fcfcfc" stroke="#ccc"/>
{{range .YTicks}}<line x1="{{$.Chart.PadL}}" x2="{{$.Chart.Right}}" y1="{{.Y}}" y2="{{.Y}}" stroke="#eee" transform="translate(0,-4)"/><text x="{{.X}}" y="{{.Y}}" text-anchor="end">{{.Label}}</text>
{{end}}{{range .XTicks}}<text x="{{.X}}" y="{{.Y}}" text-anchor="middle">{{.Label}}</text>
{{end}}<text x="14" y="{{.PadT}}" transform="rotate(-90 14 {{.PadT}})" text-anchor="end">{{.YTitle}}</text>
<text x="{{.PadL}}" y="{{.H}}" dy="-4">time (UTC)</text>
{{range .Lines}}<g><title>{{.Family}}: {{num .Total}}</title>
<polyline fill="none" stroke="{{.Colour}}" stroke-width="2" stroke-dasharray="{{.Dash}}" points="{{.Points}}"/>
{{$c := .Colour}}{{range .Markers}}<circle cx="{{.X}}" cy="{{.Y}}" r="2.5" fill="{{$c}}"/>{{end}}
<text x="{{.LabelX}}" y="{{.LabelY}}" style="fill:{{.Colour}};font-weight:600">{{.Family}} ({{num .Total}})</text></g>
{{end}}</svg>
<p class="legend">{{range .Lines}}<span><svg width="28" height="10" aria-hidden="true"><line x1="0" y1="5" x2="28" y2="5" stroke="{{.Colour}}" stroke-width="2" stroke-dasharray="{{.Dash}}"/></svg> {{.Family}}: {{num .Total}}</span>{{end}}</p>
{{end}}
{{if .Patterns}}
<h2>Patterns</h2>
<table>
<tr><th>#</th><th>Persistence</th><th>Family / code</th><th>Integration → endpoint</th><th>Count</th><th>Ratio</th><th>Seen (UTC)</th><th>Owner</th><th>Remediation</th></tr>
{{range $i, $p := .Patterns}}<tr>
<td class="n">{{inc $i}}</td>
<td>{{if $p.IsError}}<span class="badge {{$p.Persistence}}">{{$p.Persistence}}</span>{{else}}<span class="badge">recipient</span>{{end}}<div class="muted">longest run {{$p.LongestRun}} over {{$p.LongestSpan}}</div></td>
<td><span class="sw" style="background:{{fam $p.Family}}"></span>{{$p.Family}} <code>{{code $p}}</code> HTTP {{$p.HTTPStatus}}<div>{{$p.Title}}</div>{{if $p.SampleMessage}}<div class="muted">“{{$p.SampleMessage}}”</div>{{end}}</td>
<td>{{$p.Integration}}<br><code>{{$p.Endpoint}}</code>{{if $p.SampleObjectKey}}<div class="muted">e.g. <code>{{$p.SampleObjectKey}}</code></div>{{end}}</td>
<td class="n">{{num $p.Count}}</td><td class="n">{{ratio $p.ErrorRatio}}</td>
<td>{{tm $p.FirstSeen}}<br>{{tm $p.LastSeen}}</td>
<td>{{$p.Owner}}</td>
<td><ol class="fix">{{range $p.Remediation}}<li>{{.}}</li>{{end}}</ol></td>
</tr>
{{end}}</table>
{{end}}
{{if .R.BadLines}}
<h2>Bad lines</h2>
<p>{{num .R.Summary.BadLines}} bad lines; the first {{len .R.BadLines}}:</p>
<table><tr><th>File</th><th>Line</th><th>Reason</th></tr>
{{range .R.BadLines}}<tr><td>{{.File}}</td><td class="n">{{.Line}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>
{{end}}
<p class="muted">Generated by sfmcwatch scan. Secrets and e-mail addresses are masked.</p>
</body>
</html>
`
