package classify

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// jsonObject holds every member the JSON parsers look at. Members whose
// type varies between SFMC APIs are kept raw. (encoding/json matches names
// case-insensitively, so errorcode also reads errorCode and ErrorCode.)
type jsonObject struct {
	// OAuth.
	Error            json.RawMessage `json:"error"`
	ErrorDescription json.RawMessage `json:"error_description"`
	// REST classic.
	Message          json.RawMessage `json:"message"`
	ErrorCode        json.RawMessage `json:"errorcode"`
	RetryAfter       json.RawMessage `json:"retryAfter"`
	AdditionalErrors []jsonInner     `json:"additionalErrors"`
	ValidationErrors []jsonInner     `json:"validationErrors"`
	// Transactional and messageDefinitionSends.
	Responses     []jsonResponse  `json:"responses"`
	HasErrors     json.RawMessage `json:"hasErrors"`
	MessageErrors []jsonMsgError  `json:"messageErrors"`
	Messages      json.RawMessage `json:"messages"`
	// Async data API and contacts.
	ResultMessages []jsonResultMessage `json:"resultMessages"`
	Status         json.RawMessage     `json:"status"`
	StatusID       json.RawMessage     `json:"statusId"` // automation records (-1 Error)
	Items          json.RawMessage     `json:"items"`
	// Journey publish/validate status, MobileConnect.
	Errors   json.RawMessage `json:"errors"`
	Warnings json.RawMessage `json:"warnings"`
	// Transactional message status, ENS events, not-sent lists.
	EventCategoryType string          `json:"eventCategoryType"`
	StatusCode        json.RawMessage `json:"statusCode"`
	StatusMessage     json.RawMessage `json:"statusMessage"`
	Info              *jsonEventInfo  `json:"info"`
}

// jsonInner is an entry of additionalErrors / validationErrors.
type jsonInner struct {
	Message   json.RawMessage `json:"message"`
	ErrorCode json.RawMessage `json:"errorcode"`
}

// parseJSON decodes a JSON body (object, array of objects, or string) and
// records what it says. Decoding failures flag the result truncated and
// fall back to salvaging codes from the raw bytes.
func parseJSON(col *collector, b []byte) {
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			col.truncated = true
			s = string(bytes.Trim(b, `"`))
		}
		col.setMsg(s)
		return
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(b, &elems); err != nil {
			col.truncated = true
			salvageJSON(col, b)
			return
		}
		for _, e := range elems {
			if len(e) == 0 {
				continue
			}
			switch e[0] {
			case '{':
				var o jsonObject
				if err := unmarshalLenient(e, &o); err != nil {
					continue
				}
				o.parse(col)
			case '"':
				col.setMsg(rawText(e))
			}
		}
		return
	}
	var o jsonObject
	if err := unmarshalLenient(b, &o); err != nil {
		col.truncated = true
		salvageJSON(col, b)
		return
	}
	o.parse(col)
}

// unmarshalLenient decodes b into v, ignoring type mismatches of single
// members (encoding/json then still fills every other member).
func unmarshalLenient(b []byte, v any) error {
	err := json.Unmarshal(b, v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return nil
	}
	return err
}

// parse dispatches one decoded JSON object to the shape parsers.
func (o *jsonObject) parse(col *collector) {
	if d := bodyRetryAfter(o.RetryAfter); d > 0 {
		col.retryAfter = d
	}
	n := len(col.findings)
	switch {
	case len(o.Error) > 0 && o.Error[0] == '"' && len(o.ErrorCode) == 0:
		parseOAuth(col, o)
	case len(o.Responses) > 0 || (col.surface == catalog.Transactional && len(o.ErrorCode) > 0):
		parseResponses(col, o)
	case len(o.ErrorCode) > 0 || len(o.AdditionalErrors) > 0 || len(o.ValidationErrors) > 0:
		parseREST(col, o)
	}
	if len(o.ResultMessages) > 0 || len(o.Status) > 0 || len(o.Items) > 0 {
		parseAsync(col, o)
	}
	if len(o.Errors) > 0 || len(o.Warnings) > 0 {
		parseErrorLists(col, o)
	}
	if o.EventCategoryType != "" || len(o.StatusCode) > 0 || (len(o.Messages) > 0 && o.Messages[0] == '[') {
		parseEvents(col, o)
	}
	if len(col.findings) == n && rawTrue(o.HasErrors) {
		col.add(finding{code: "hasErrors", msg: rawText(o.Message), on: restChain(col.surface), hint: hintError})
	}
	col.setMsg(rawText(o.Message))
	col.setMsg(rawText(o.ErrorDescription))
}

// salvageJSON reads what it can from a JSON body that does not decode
// (truncated or invalid): the first errorcode, message and OAuth error.
func salvageJSON(col *collector, b []byte) {
	msg := salvageString(b, "message")
	if msg == "" {
		msg = salvageString(b, "error_description")
	}
	col.setMsg(msg)
	if d := bodyRetryAfter(json.RawMessage(salvageScalar(b, "retryAfter"))); d > 0 {
		col.retryAfter = d
	}
	if code := salvageScalar(b, "errorcode"); code != "" {
		if c := rawCode(json.RawMessage(code)); c != "" {
			col.addRESTCode(c, msg, hintAuto, "")
		}
		return
	}
	if e := salvageString(b, "error"); e != "" {
		col.refine(catalog.OAuth)
		col.add(finding{code: e, msg: msg, on: restChain(catalog.OAuth), hint: hintError})
	}
}

// salvageScalar returns the raw JSON scalar after the first "name": in b.
func salvageScalar(b []byte, name string) string {
	i := bytes.Index(b, []byte(`"`+name+`"`))
	if i < 0 {
		return ""
	}
	rest := skipSpace(b[i+len(name)+2:])
	if len(rest) == 0 || rest[0] != ':' {
		return ""
	}
	rest = skipSpace(rest[1:])
	if len(rest) == 0 {
		return ""
	}
	if rest[0] == '"' {
		for j := 1; j < len(rest); j++ {
			if rest[j] == '\\' {
				j++
				continue
			}
			if rest[j] == '"' {
				return string(rest[:j+1])
			}
		}
		return ""
	}
	j := 0
	for j < len(rest) && (isDigit(rest[j]) || rest[j] == '-' || rest[j] == '.' || ('a' <= rest[j] && rest[j] <= 'z')) {
		j++
	}
	if j == len(rest) {
		return "" // the number may have been cut
	}
	return string(rest[:j])
}

// salvageString is salvageScalar for string members, unquoted.
func salvageString(b []byte, name string) string {
	s := salvageScalar(b, name)
	if len(s) < 2 || s[0] != '"' {
		return ""
	}
	return rawText(json.RawMessage(s))
}
