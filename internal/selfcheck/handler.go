package selfcheck

import (
	"html/template"
	"log/slog"
	"net/http"
)

// Handler serves the self-check as a page: GET shows the five questions,
// POST shows the maturity score, the risks and the starter config, and
// POST with download=1 returns the config as sfmcwatch.yaml. It works at
// any mount path, needs no script and stores nothing.
func Handler(logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &handler{log: logger}
}

type handler struct{ log *slog.Logger }

type pageView struct {
	Questions []Question
	Answers   Answers
	Result    *Result
	Error     string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.render(w, http.StatusOK, pageView{Questions: Questions(), Answers: Answers{}})
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			h.render(w, http.StatusBadRequest, pageView{Questions: Questions(), Answers: Answers{}, Error: "The form could not be read."})
			return
		}
		a := Answers{}
		for _, q := range Questions() {
			if v := r.PostForm.Get(q.ID); v != "" {
				a[q.ID] = v
			}
		}
		res, err := Evaluate(a)
		if err != nil {
			h.render(w, http.StatusUnprocessableEntity, pageView{Questions: Questions(), Answers: a, Error: "Please answer every question: " + err.Error()})
			return
		}
		if r.PostForm.Get("download") == "1" {
			w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="sfmcwatch.yaml"`)
			_, _ = w.Write([]byte(res.Config))
			return
		}
		h.render(w, http.StatusOK, pageView{Questions: Questions(), Answers: a, Result: res})
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (h *handler) render(w http.ResponseWriter, status int, v pageView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pageTemplate.Execute(w, v); err != nil {
		h.log.Warn("selfcheck page", "error", err)
	}
}

var pageTemplate = template.Must(template.New("selfcheck").Funcs(template.FuncMap{
	"checked": func(a Answers, q, v string) bool { return a[q] == v },
}).Parse(pageSource))

const pageSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sfmcwatch self-check{{with .Result}} — {{.Score}}/100 {{.Level}}{{end}}</title>
<style>
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;margin:0;padding:24px;max-width:980px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
fieldset{border:1px solid #ddd;border-radius:6px;margin:0 0 14px;padding:10px 14px}legend{font-weight:600;padding:0 4px}
label{display:block;margin:3px 0;cursor:pointer}
button{font:inherit;padding:7px 16px;border-radius:5px;border:1px solid #0b5394;background:#0b5394;color:#fff;cursor:pointer;margin-right:8px}
button.secondary{background:#fff;color:#0b5394}
.score{font-size:20px;padding:10px 14px;border-left:6px solid #0b5394;background:#eef4fb}
.error{padding:10px 14px;border-left:6px solid #B00020;background:#fdecee}
.risk{margin:0 0 10px;padding:8px 12px;border-left:5px solid #999;background:#f7f7f7}
.risk.high{border-color:#B00020}.risk.medium{border-color:#B07800}.risk.low{border-color:#0072B2}
.muted{color:#555}pre{background:#f4f4f4;padding:12px;overflow:auto;font-size:13px}
</style>
</head>
<body>
<h1>sfmcwatch self-check</h1>
<p class="muted">Five questions about how your team runs Salesforce Marketing Cloud today. Your answers are evaluated on this server and never stored or sent anywhere.</p>
{{with .Error}}<p class="error" role="alert">{{.}}</p>{{end}}
{{with .Result}}
<h2>Result</h2>
<p class="score" id="score">Maturity <b>{{.Score}}/100</b>: {{.Level}}</p>
{{if .Risks}}<h2>Risks your answers imply</h2>
{{range .Risks}}<div class="risk {{.Level}}"><b>{{.Level}}</b> — {{.Text}}<div class="muted">With sfmcwatch: {{.Mitigation}}</div></div>
{{end}}{{else}}<p>No risk stands out: sfmcwatch adds the weekly digest and an audit trail of what failed.</p>{{end}}
<h2>Your starter configuration</h2>
<pre id="config">{{.Config}}</pre>
{{end}}
<form method="post">
{{$a := .Answers}}{{range .Questions}}{{$q := .}}<fieldset><legend>{{.Text}}</legend>
{{range .Options}}<label><input type="radio" name="{{$q.ID}}" value="{{.Value}}" required{{if checked $a $q.ID .Value}} checked{{end}}> {{.Label}}</label>
{{end}}</fieldset>
{{end}}<button type="submit">{{if .Result}}Check again{{else}}See my result{{end}}</button>{{if .Result}}<button type="submit" name="download" value="1" class="secondary">Download sfmcwatch.yaml</button>{{end}}
</form>
</body>
</html>
`
