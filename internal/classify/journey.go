package classify

import (
	"encoding/json"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// jsonErrorItem is an object in errors[] / warnings[]: journey publish and
// validate status ({errorDetail, errorCode "121xxx", errorType}) or other
// APIs' {message, code}.
type jsonErrorItem struct {
	ErrorDetail json.RawMessage `json:"errorDetail"`
	ErrorCode   json.RawMessage `json:"errorCode"`
	Code        json.RawMessage `json:"code"`
	ErrorType   string          `json:"errorType"`
	Message     json.RawMessage `json:"message"`
}

// parseErrorLists reads errors[] and warnings[]: journey 121xxx objects
// (warnings, and errorType Warning, are not errors) and MobileConnect
// string arrays with no code.
func parseErrorLists(col *collector, o *jsonObject) {
	errorList(col, o.Errors, false)
	errorList(col, o.Warnings, true)
}

func errorList(col *collector, raw json.RawMessage, warning bool) {
	if len(raw) == 0 {
		return
	}
	if raw[0] == '"' {
		col.setMsg(rawText(raw))
		return
	}
	if raw[0] != '[' {
		return
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil {
		return
	}
	for _, e := range elems {
		if len(e) == 0 {
			continue
		}
		h := hintError
		if warning {
			h = hintInfo
		}
		switch e[0] {
		case '"':
			code := "(errors[])"
			if warning {
				code = "(warnings[])"
			}
			col.add(finding{code: code, msg: rawText(e), on: restChain(col.surface), hint: h})
		case '{':
			var it jsonErrorItem
			if unmarshalLenient(e, &it) != nil {
				continue
			}
			code := rawCode(it.ErrorCode)
			if code == "" {
				code = rawCode(it.Code)
			}
			msg := rawText(it.ErrorDetail)
			if msg == "" {
				msg = rawText(it.Message)
			}
			if strings.EqualFold(it.ErrorType, "Warning") {
				h = hintInfo
			}
			on := restChain(col.surface)
			if strings.HasPrefix(code, "121") || code == "VALIDATE_GENERAL_EXCEPTION" {
				col.refine(catalog.Journey)
				on = chain{catalog.Journey, catalog.REST}
			}
			if code == "" {
				code = "(errors[])"
				if warning {
					code = "(warnings[])"
				}
			}
			col.add(finding{code: code, msg: msg, on: on, hint: h})
		}
	}
}

// firstErrorText returns the first message of an errors[] list.
func firstErrorText(raw json.RawMessage) string {
	if len(raw) == 0 || raw[0] != '[' {
		return ""
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return ""
	}
	for _, e := range items {
		if len(e) > 0 && e[0] == '"' {
			return rawText(e)
		}
		var it jsonErrorItem
		if len(e) > 0 && e[0] == '{' && unmarshalLenient(e, &it) == nil {
			if m := rawText(it.ErrorDetail); m != "" {
				return m
			}
			if m := rawText(it.Message); m != "" {
				return m
			}
		}
	}
	return ""
}
