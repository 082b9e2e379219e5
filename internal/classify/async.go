package classify

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// jsonResultMessage is an entry of resultMessages[] (async data API,
// contacts), often inside an HTTP 200.
type jsonResultMessage struct {
	ResultType  string          `json:"resultType"`
	ResultClass string          `json:"resultClass"`
	ResultCode  json.RawMessage `json:"resultCode"`
	Message     json.RawMessage `json:"message"`
}

// jsonAsyncStatus is the status object of GET /data/v1/async/{id}/status.
type jsonAsyncStatus struct {
	RequestStatus string `json:"requestStatus"`
	ResultStatus  string `json:"resultStatus"`
}

// jsonItem is a row of items[]: async results carry per-row status,
// errorCode and message (list pages carry other objects, ignored).
type jsonItem struct {
	Status    json.RawMessage `json:"status"`
	ErrorCode json.RawMessage `json:"errorCode"`
	Message   json.RawMessage `json:"message"`
}

// parseAsync reads the async data API and contacts shapes: resultMessages
// with resultClass Error, the status object (requestStatus, resultStatus),
// a status string ("Error" on journeys and delivery records), and per-row
// items[] errors.
func parseAsync(col *collector, o *jsonObject) {
	on := restChain(col.surface)
	for _, rm := range o.ResultMessages {
		code, msg := rawCode(rm.ResultCode), rawText(rm.Message)
		if strings.EqualFold(rm.ResultClass, "Error") {
			if code == "" {
				code = "resultClass:Error"
			}
			col.add(finding{code: code, msg: msg, on: on, hint: hintError})
		} else if code != "" {
			col.add(finding{code: code, msg: msg, on: on, hint: hintInfo})
		}
	}
	if len(o.Status) > 0 {
		switch o.Status[0] {
		case '{':
			var st jsonAsyncStatus
			if unmarshalLenient(o.Status, &st) == nil {
				asyncStatus(col, st)
			}
		case '"':
			if s := rawText(o.Status); strings.EqualFold(s, "Error") || strings.EqualFold(s, "Failed") {
				if col.read {
					recordStatus(col, o, s)
				} else {
					statusError(col, o)
				}
			}
		}
	}
	if len(o.Items) > 0 && o.Items[0] == '[' && bytes.Contains(o.Items, []byte("rror")) {
		var items []jsonItem
		if unmarshalLenient(o.Items, &items) != nil {
			return
		}
		for _, it := range items {
			code := rawCode(it.ErrorCode)
			if code == "" && !strings.EqualFold(rawText(it.Status), "Error") {
				continue
			}
			if col.read {
				// A list read: the row is a record in a failed state.
				st := rawText(it.Status)
				if code == "" {
					code = "status:" + canonicalState(st)
				}
				col.addState("items[].status", st, finding{code: code, msg: rawText(it.Message), on: on, hint: hintError})
				continue
			}
			if code == "" {
				code = "item:Error"
			}
			col.add(finding{code: code, msg: rawText(it.Message), on: on, hint: hintError})
		}
	}
}

func asyncStatus(col *collector, st jsonAsyncStatus) {
	if strings.EqualFold(st.RequestStatus, "Error") {
		col.add(finding{code: "requestStatus:Error", msg: st.RequestStatus, on: chain{catalog.REST}, hint: hintError})
	}
	switch strings.ToLower(strings.ReplaceAll(st.ResultStatus, " ", "")) {
	case "haserrors":
		col.add(finding{code: "resultStatus:Has Errors", msg: st.ResultStatus, on: chain{catalog.REST}, hint: hintInfo})
	case "error":
		col.add(finding{code: "resultStatus:Error", msg: st.ResultStatus, on: chain{catalog.REST}, hint: hintError})
	}
}

// statusError records a top-level "status": "Error": a journey publish or
// validate status, a triggered-send delivery record, or a generic status.
func statusError(col *collector, o *jsonObject) {
	switch {
	case col.surface == catalog.Journey || len(o.Warnings) > 0 || (len(o.Errors) > 0 && len(o.MessageErrors) == 0):
		col.refine(catalog.Journey)
		col.add(finding{code: "publishStatus:Error", msg: firstErrorText(o.Errors), on: chain{catalog.Journey}, hint: hintError})
	case col.surface == catalog.TriggeredSend || len(o.MessageErrors) > 0:
		col.refine(catalog.TriggeredSend)
		msg := ""
		for _, e := range o.MessageErrors {
			if msg = rawText(e.MessageErrorStatus); msg != "" {
				break
			}
		}
		col.add(finding{code: "deliveryRecords:Error", msg: msg, on: chain{catalog.TriggeredSend}, hint: hintError})
	default:
		col.add(finding{code: "status:Error", msg: rawText(o.Message), on: restChain(col.surface), hint: hintError})
	}
}

// recordStatus records the top-level "status": "Error" (or "Failed") of a
// record a read returned: an automation (with statusId, e.g. -1, looked up
// on the automation surface), a journey, a triggered send or transactional
// definition. The read succeeded; this is the record's state.
func recordStatus(col *collector, o *jsonObject, s string) {
	msg := rawText(o.Message)
	if msg == "" {
		msg = firstErrorText(o.Errors)
	}
	if id := rawCode(o.StatusID); id != "" && (col.surface == catalog.Automation || col.surface == catalog.REST) {
		col.refine(catalog.Automation)
		col.addState("status", s, finding{code: id, msg: msg, on: chain{catalog.Automation}, hint: hintError})
		return
	}
	col.addState("status", s, finding{code: "status:" + canonicalState(s), msg: msg, on: restChain(col.surface), hint: hintError})
}

// canonicalState spells the failed states the same way whatever the case.
func canonicalState(s string) string {
	switch {
	case strings.EqualFold(s, "Error"):
		return "Error"
	case strings.EqualFold(s, "Failed"):
		return "Failed"
	}
	return s
}
