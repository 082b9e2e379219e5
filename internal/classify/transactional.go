package classify

import (
	"encoding/json"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// jsonResponse is one entry of responses[]: a transactional per-recipient
// result (messageKey, errorcode, message) or a messageDefinitionSends
// recipient (recipientSendId, hasErrors, messages, messageErrors).
type jsonResponse struct {
	ErrorCode     json.RawMessage `json:"errorcode"`
	Message       json.RawMessage `json:"message"`
	HasErrors     json.RawMessage `json:"hasErrors"`
	Messages      json.RawMessage `json:"messages"`
	MessageErrors []jsonMsgError  `json:"messageErrors"`
}

// jsonMsgError is a messageDefinitionSends / deliveryRecords error.
type jsonMsgError struct {
	MessageErrorCode   json.RawMessage `json:"messageErrorCode"`
	MessageErrorStatus json.RawMessage `json:"messageErrorStatus"`
}

// jsonEvent is a transactional send event: message status, not-sent list
// entry or ENS callback payload.
type jsonEvent struct {
	EventCategoryType string          `json:"eventCategoryType"`
	StatusCode        json.RawMessage `json:"statusCode"`
	StatusMessage     json.RawMessage `json:"statusMessage"`
	Info              *jsonEventInfo  `json:"info"`
}

type jsonEventInfo struct {
	StatusCode    json.RawMessage `json:"statusCode"`
	StatusMessage json.RawMessage `json:"statusMessage"`
	BounceMessage json.RawMessage `json:"bounceMessage"`
	SMTPReason    json.RawMessage `json:"smtpReason"`
}

// parseResponses reads bodies with responses[]: transactional sends (a
// response-level errorcode such as 109001 plus per-recipient codes, all
// counted) and messageDefinitionSends (hasErrors, messageErrors).
func parseResponses(col *collector, o *jsonObject) {
	definitionSend := col.surface == catalog.TriggeredSend
	for _, r := range o.Responses {
		if len(r.HasErrors) > 0 || len(r.MessageErrors) > 0 {
			definitionSend = true
			break
		}
	}
	top := rawText(o.ErrorCode)
	if definitionSend {
		col.refine(catalog.TriggeredSend)
		for _, r := range o.Responses {
			definitionSendErrors(col, r.HasErrors, r.MessageErrors, r.Messages)
		}
		if top != "" && top != "0" {
			col.addRESTCode(top, rawText(o.Message), hintAuto, "")
		}
		return
	}
	col.refine(catalog.Transactional)
	if top != "" {
		col.addRESTCode(top, rawText(o.Message), hintAuto, "")
	}
	on := restChain(catalog.Transactional)
	for _, r := range o.Responses {
		if c := rawCode(r.ErrorCode); c != "" {
			col.add(finding{code: c, msg: rawText(r.Message), on: on, hint: hintError})
		}
	}
}

// definitionSendErrors records one messageDefinitionSends recipient's
// errors: messageErrorCode (e.g. 180008) or, without one, the error status
// or message text (e.g. InvalidOrMissingToAddress).
func definitionSendErrors(col *collector, hasErrors json.RawMessage, errs []jsonMsgError, messages json.RawMessage) {
	if !rawTrue(hasErrors) && len(errs) == 0 {
		return
	}
	on := restChain(catalog.TriggeredSend)
	for _, e := range errs {
		status := rawText(e.MessageErrorStatus)
		code := rawCode(e.MessageErrorCode)
		if code == "" {
			code = status
		}
		if code == "" {
			continue
		}
		col.add(finding{code: code, msg: status, on: on, hint: hintError})
	}
	if len(errs) > 0 {
		return
	}
	found := false
	for _, m := range stringList(messages) {
		col.add(finding{code: m, msg: m, on: on, hint: hintError})
		found = true
	}
	if !found {
		col.add(finding{code: "hasErrors", on: on, hint: hintError})
	}
}

// parseEvents reads transactional send events: the message status
// (eventCategoryType + info.statusCode), not-sent lists (messages[]) and
// single ENS payloads. A statusCode is more specific than the event type.
func parseEvents(col *collector, o *jsonObject) {
	if o.EventCategoryType != "" || len(o.StatusCode) > 0 {
		col.event(jsonEvent{EventCategoryType: o.EventCategoryType, StatusCode: o.StatusCode, StatusMessage: o.StatusMessage, Info: o.Info}, "statusCode")
	}
	if len(o.Messages) == 0 || o.Messages[0] != '[' {
		return
	}
	var list []json.RawMessage
	if json.Unmarshal(o.Messages, &list) != nil {
		return
	}
	for _, raw := range list {
		if len(raw) == 0 || raw[0] != '{' {
			continue
		}
		var ev jsonEvent
		if unmarshalLenient(raw, &ev) != nil {
			continue
		}
		if ev.EventCategoryType != "" || len(ev.StatusCode) > 0 {
			col.event(ev, "messages[].statusCode")
		}
	}
}

// event records one send event. On a read of the not-sent feed (col.read)
// the events are the records the read returned — other sends' outcomes —
// so they are record states, not a failure of the read.
func (col *collector) event(ev jsonEvent, field string) {
	code, msg := rawCode(ev.StatusCode), rawText(ev.StatusMessage)
	if ev.Info != nil {
		if code == "" {
			code, msg = rawCode(ev.Info.StatusCode), rawText(ev.Info.StatusMessage)
		}
		if msg == "" {
			msg = rawText(ev.Info.BounceMessage)
		}
		if msg == "" {
			msg = rawText(ev.Info.SMTPReason)
		}
	}
	h := hintAuto
	if t := strings.ToLower(ev.EventCategoryType); strings.Contains(t, "error") || strings.Contains(t, "fail") {
		h = hintError
	}
	if code == "" {
		code = ev.EventCategoryType
	}
	if code == "" {
		return
	}
	col.refine(catalog.Transactional)
	f := finding{code: code, msg: msg, on: restChain(catalog.Transactional), hint: h}
	if col.read {
		value := rawText(ev.StatusMessage)
		if value == "" {
			value = ev.EventCategoryType
		}
		col.addState(field, value, f)
		return
	}
	col.add(f)
}

// stringList returns the strings of a JSON array (other elements skipped).
func stringList(raw json.RawMessage) []string {
	if len(raw) == 0 || raw[0] != '[' {
		return nil
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil {
		return nil
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		if len(e) > 0 && e[0] == '"' {
			if s := rawText(e); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
