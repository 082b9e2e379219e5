package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

//go:embed templates/*.html
var templateFiles embed.FS

// pageNames are the page templates (each "page-<name>" in templates/).
var pageNames = []string{"login", "error", "overview", "incidents", "incident", "errors", "events", "objects", "decoder", "scan", "silences", "config"}

// pageData is what every page template gets.
type pageData struct {
	Title string
	// Page is the page whose block "content" renders (set by render).
	Page string
	// Nav is the key of the current main navigation item.
	Nav   string
	User  identity
	Chart bool
	Flash string
	Error string
	Data  any
}

type navItem struct{ Key, Href, Label string }

var navList = []navItem{
	{"overview", "/", "Overview"},
	{"incidents", "/incidents", "Incidents"},
	{"errors", "/errors", "API errors"},
	{"objects", "/objects", "Objects"},
	{"decoder", "/decoder", "Error decoder"},
	{"scan", "/scan", "Log scan"},
	{"silences", "/silences", "Silences"},
	{"config", "/config", "Configuration"},
}

// familyGlyphs give each family a distinct shape, so colour is never the
// only signal (the family name is always written too).
var familyGlyphs = map[string]string{
	"auth": "■", "client": "▲", "rate_limit": "◆", "server": "●", "timeout": "◔", "recipient": "○", "none": "·",
}

var severityGlyphs = map[string]string{"critical": "‼", "error": "!", "warning": "▵", "info": "i"}

// dashNames describe the line style of each chart series (see app.js).
var dashNames = []string{"solid", "dashed", "dotted", "dash-dot", "long dash", "fine dots", "solid thick"}

type kv struct {
	Key string
	N   int
}

func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		"asset":    func(name string) string { return s.assets.url(name) },
		"navItems": func() []navItem { return navList },
		"famGlyph": func(f any) string { return cmpOr(familyGlyphs[fmt.Sprint(f)], "◌") },
		"sevGlyph": func(v any) string { return cmpOr(severityGlyphs[fmt.Sprint(v)], "?") },
		"dashName": func(i int) string { return dashNames[i%len(dashNames)] },
		"severities": func() []string {
			return []string{"critical", "error", "warning", "info"}
		},
		"families": func() []string {
			out := make([]string, 0, len(catalog.Families))
			for _, f := range catalog.Families {
				out = append(out, string(f))
			}
			return out
		},
		"surfaces": func() []string {
			out := make([]string, 0, len(catalog.Surfaces))
			for _, f := range catalog.Surfaces {
				out = append(out, string(f))
			}
			return out
		},
		"ranges": func() []string { return []string{"24h", "7d", "30d"} },
		"ops": func() []string {
			return []string{store.MatchEqual, store.MatchNotEqual, store.MatchRegexp, store.MatchNotRegexp}
		},
		"sevCounts": func(m map[string]int) []kv {
			out := mapKV(m)
			slices.SortFunc(out, func(a, b kv) int { return severityRank(a.Key) - severityRank(b.Key) })
			return out
		},
		"famCounts": func(m map[string]int) []kv {
			out := mapKV(m)
			slices.SortFunc(out, func(a, b kv) int { return familyOrder(a.Key, b.Key) })
			return out
		},
		"gradeClass": func(g string) string { return strings.ReplaceAll(g, " ", "-") },
		"owner":      func(o any) string { return strings.ReplaceAll(fmt.Sprint(o), "_", " ") },
		"ts": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				if v.IsZero() {
					return "—"
				}
				return v.UTC().Format("2006-01-02 15:04")
			case *time.Time:
				if v == nil || v.IsZero() {
					return "—"
				}
				return v.UTC().Format("2006-01-02 15:04")
			}
			return fmt.Sprint(t)
		},
		"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"ago": func(t time.Time) string { return ago(s.now(), t) },
		"secs": func(n int64) string {
			if n <= 0 {
				return "—"
			}
			return human(time.Duration(n) * time.Second)
		},
		// elapsed shows a known duration in seconds, 0 included ("0s");
		// elapsedp the same or "—" when unknown (nil).
		"elapsed": func(n int64) string { return human(time.Duration(max(n, 0)) * time.Second) },
		"elapsedp": func(n *int64) string {
			if n == nil {
				return "—"
			}
			return human(time.Duration(max(*n, 0)) * time.Second)
		},
		"num":   func(n int64) string { return thousands(n) },
		"deref": func(p *int64) int64 { return *p },
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"truncate": func(s string, n int) string {
			if len(s) <= n {
				return s
			}
			r := []rune(s)
			if len(r) <= n {
				return s
			}
			return string(r[:n]) + "…"
		},
		"inc":       func(i int) int { return i + 1 },
		"typeLabel": typeLabel,
		"objStatus": func(st string) template.HTML {
			cls := "ok"
			switch st {
			case "error", "building_error", "stopped", "inactive", "paused", "canceled", "deleted", "unpublished", "blind", "blocked":
				cls = "bad"
			case "":
				return template.HTML(`<span class="muted">—</span>`)
			}
			glyph := "✓"
			if cls == "bad" {
				glyph = "✗"
			}
			return template.HTML(`<span class="obj obj-` + cls + `"><span aria-hidden="true">` + glyph + `</span> ` + template.HTMLEscapeString(st) + `</span>`)
		},
		"freshGlyph": func(st string) string {
			switch st {
			case "stale":
				return "✗"
			case "late":
				return "▵"
			}
			return "✓"
		},
		"diffGlyph": func(k string) string {
			switch k {
			case "added":
				return "+"
			case "removed":
				return "−"
			}
			return "~"
		},
		"spark": sparkline,
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func mapKV(m map[string]int) []kv {
	out := make([]kv, 0, len(m))
	for k, n := range m {
		out = append(out, kv{k, n})
	}
	return out
}

func typeLabel(t string) string {
	switch t {
	case "automation":
		return "Automations"
	case "journey":
		return "Journeys"
	case "triggered_send":
		return "Triggered sends"
	case "transactional":
		return "Transactional"
	case "data_extension":
		return "Data extensions"
	case "import":
		return "Imports"
	}
	return t
}

// sparkline draws values as an inline SVG polyline with a text alternative.
func sparkline(values []int64, label string) template.HTML {
	if len(values) == 0 {
		return `<span class="muted small">no data yet</span>`
	}
	lo, hi := values[0], values[0]
	for _, v := range values {
		lo, hi = min(lo, v), max(hi, v)
	}
	const w, h = 120.0, 24.0
	var pts strings.Builder
	for i, v := range values {
		x := 0.0
		if len(values) > 1 {
			x = w * float64(i) / float64(len(values)-1)
		}
		y := h / 2
		if hi > lo {
			y = h - 2 - (h-4)*float64(v-lo)/float64(hi-lo)
		}
		fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
	}
	last := values[len(values)-1]
	alt := fmt.Sprintf("%s: %d points, min %s, max %s, last %s", label, len(values), thousands(lo), thousands(hi), thousands(last))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" width="120" height="24" viewBox="0 0 120 24" role="img" aria-label="%s"><title>%s</title><polyline fill="none" stroke="currentColor" stroke-width="1.5" points="%s"/></svg> <span class="small">%s</span>`,
		template.HTMLEscapeString(alt), template.HTMLEscapeString(alt), strings.TrimSpace(pts.String()), thousands(last))
	return template.HTML(b.String())
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// human formats a duration briefly: 45s, 12m, 3h 5m, 2d 4h.
func human(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(math.Round(d.Seconds()))) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return strconv.Itoa(h) + "h"
		}
		return fmt.Sprintf("%dh %dm", h, m)
	default:
		days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
		if h == 0 {
			return strconv.Itoa(days) + "d"
		}
		return fmt.Sprintf("%dd %dh", days, h)
	}
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + human(-d)
	}
	if d < 30*time.Second {
		return "just now"
	}
	return human(d) + " ago"
}

// parsePages parses the layout, the shared blocks and every page into one
// template set whose "content" template calls the block of pageData.Page.
// One set, not a clone per page: twelve clones of every parse tree (and
// twelve escaped copies after the first render) kept about 3 MB live for
// the life of the process (TestPagesShareOneTemplateSet).
func (s *Server) parsePages() (*template.Template, error) {
	base, err := template.New("base").Funcs(s.funcs()).ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	var content strings.Builder
	for i, name := range pageNames {
		if base.Lookup("page-"+name) == nil {
			return nil, fmt.Errorf("web: templates: no page-%s", name)
		}
		if i > 0 {
			content.WriteString("{{else ")
		} else {
			content.WriteString("{{")
		}
		fmt.Fprintf(&content, `if eq .Page %q}}{{template "page-%s" .}}`, name, name)
	}
	content.WriteString("{{end}}")
	if _, err := base.New("content").Parse(content.String()); err != nil {
		return nil, fmt.Errorf("web: templates: content: %w", err)
	}
	return base, nil
}

// render executes a page into a buffer first, so a template error never
// sends half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, d pageData) {
	if !slices.Contains(pageNames, page) {
		s.log.Error("web: unknown page", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	d.Page = page
	if d.User == (identity{}) {
		d.User = whoami(r)
	}
	if d.Flash == "" {
		d.Flash = flashText(r.URL.Query().Get("done"))
	}
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, "layout", d); err != nil {
		s.log.Error("web: render", "page", page, "error", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// flashText turns a ?done= code from a redirect after POST into a message.
func flashText(code string) string {
	switch code {
	case "ack":
		return "Incident acknowledged."
	case "resolved":
		return "Incident resolved."
	case "silenced":
		return "Silence created."
	case "expired":
		return "Silence expired."
	}
	return ""
}

type errorData struct{ Heading, Message string }

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, heading, msg string) {
	s.render(w, r, status, "error", pageData{Title: heading, Data: errorData{heading, msg}})
}

// pageFail renders the right error page for err.
func (s *Server) pageFail(w http.ResponseWriter, r *http.Request, what string, err error) {
	var br badRequest
	switch {
	case errors.As(err, &br):
		s.renderError(w, r, http.StatusBadRequest, "Cannot "+what, br.msg)
	case errors.Is(err, store.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound, "Not found", "Cannot "+what+": it does not exist.")
	case errors.Is(err, store.ErrConflict):
		s.renderError(w, r, http.StatusConflict, "Cannot "+what, conflictText(err))
	case errors.Is(err, errNoSilences):
		s.renderError(w, r, http.StatusNotImplemented, "Cannot "+what, err.Error())
	default:
		s.log.Error("web: "+what, "path", r.URL.Path, "error", err)
		s.renderError(w, r, http.StatusInternalServerError, "Something went wrong", "Could not "+what+"; the error was logged.")
	}
}

// wantsHTML reports whether the client asked for a page rather than JSON.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
