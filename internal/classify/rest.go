package classify

import (
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// parseREST reads the classic REST error body {message, errorcode,
// documentation}, including the 10006 aggregate whose additionalErrors /
// validationErrors hold the real codes.
func parseREST(col *collector, o *jsonObject) {
	code := rawText(o.ErrorCode)
	msg := rawText(o.Message)
	inner := make([]jsonInner, 0, len(o.AdditionalErrors)+len(o.ValidationErrors))
	inner = append(append(inner, o.AdditionalErrors...), o.ValidationErrors...)
	if len(inner) > 0 && (code == "10006" || code == "" || code == "0") {
		added := false
		for _, in := range inner {
			c := rawCode(in.ErrorCode)
			if c == "" {
				continue
			}
			col.addRESTCode(c, rawText(in.Message), hintError, "")
			added = true
		}
		if added {
			col.setMsg(msg)
			return
		}
		if m := rawText(inner[0].Message); m != "" {
			msg = m
		}
		if code == "" || code == "0" {
			code = "10006"
		}
		col.addRESTCode(code, msg, hintError, "")
		return
	}
	var want catalog.Family
	if code == "10006" && rowsetSave(col.url, msg) {
		// 10006 without details on a rowset save is a transient save
		// failure that SFMC reports as a client error.
		want = catalog.Server
	}
	col.addRESTCode(code, msg, hintAuto, want)
}

// rowsetSave reports whether a 10006 came from a data extension row save.
func rowsetSave(url, msg string) bool {
	if strings.Contains(strings.ToLower(msg), "unable to save rows") {
		return true
	}
	u := strings.ToLower(url)
	return strings.Contains(u, "/rowset") || strings.Contains(u, "/dataevents")
}

// addRESTCode records an errorcode read from a REST-style body. errorcode 0
// means "Not Authorized" only on 401/403 (or when the message says so);
// elsewhere it means no code (success, or let the HTTP status speak).
func (col *collector) addRESTCode(code, msg string, h hint, want catalog.Family) {
	on := restChain(col.surface)
	if code == "0" || code == "" {
		switch {
		case col.surface == catalog.OAuth && col.status >= 500:
			code = "0"
		case code == "0" && (col.status == 401 || col.status == 403 || strings.Contains(strings.ToLower(msg), "authoriz")):
			on = chain{catalog.REST}
		default:
			col.setMsg(msg)
			return
		}
	}
	if h == hintAuto && col.status >= 200 && col.status < 300 {
		h = hintError // a non-zero errorcode inside a 2xx is a failure
	}
	col.add(finding{code: code, msg: msg, on: on, hint: h, want: want})
}
