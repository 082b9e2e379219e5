package classify

import (
	"fmt"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// Call status is not business status. A 2xx body can report two different
// things in a failed state, and only the first is a failed call:
//
//  1. The outcome of the caller's own request. That is every write (POST,
//     PUT, PATCH, DELETE; every SOAP method but Retrieve) whose body reports
//     a failure — a transactional send's 202 with errorcode 109001 and
//     per-recipient codes, a messageDefinitionSends 202 with hasErrors or
//     messageErrors, the async data API's resultMessages with resultClass
//     Error, SOAP Results with StatusCode Error or OverallStatus Error — and
//     every GET of the status of an operation the caller started: journey
//     publishStatus/validateStatus, the async data API's status and results,
//     triggered-send deliveryRecords/{recipientSendId}, a transactional
//     message by messageKey, contacts operations. Whatever the method, a
//     body that reports the request itself failing (an errorcode, a fault,
//     resultMessages Error, a Retrieve's OverallStatus "Error: …", errors[])
//     is also a failed call. These set Result.IsError and feed api.errors.
//
//  2. The state of a resource that a successful read returned: a GET of an
//     automation ("status": "Error", statusId -1), a journey, a triggered
//     send or transactional definition, a list of them (items[].status), the
//     transactional not-sent feed (messages[].statusCode), or a SOAP Retrieve
//     (ImportResultsSummary ImportStatus Error). The call worked; the record
//     is what failed, and that is evidence for the resource's rule
//     (automation.error, journey.stopped, triggered_send.*, import.failed),
//     owned by the resource's team — never an api.errors failure of the read
//     endpoint. These go to Result.RecordStates and leave IsError false.
//
// A read is recognised by the method (GET or HEAD) with a URL that is not
// an operation-status endpoint, or, when the method is unknown, by a URL
// that only answers reads of resource state. Without a URL nothing is
// assumed and status fields count as call outcomes, as before.

// readsState reports whether a 2xx response to method on rawURL is a read
// of resources whose status fields describe the records, not the call.
func readsState(method, rawURL string) bool {
	if rawURL == "" {
		return false
	}
	p, q := urlPath(rawURL)
	if operationStatus(p) {
		return false
	}
	switch strings.ToUpper(strings.TrimSpace(method)) {
	case "GET", "HEAD":
		return true
	case "":
		return resourceEndpoint(p, q)
	}
	return false
}

// urlPath returns the lower-cased path of a URL or path, and its lower-cased
// query.
func urlPath(u string) (path, query string) {
	p := u
	if i := strings.IndexByte(p, '#'); i >= 0 {
		p = p[:i]
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p, query = p[:i], p[i+1:]
	}
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
		if j := strings.IndexByte(p, '/'); j >= 0 {
			p = p[j:]
		} else {
			p = "/"
		}
	}
	if hasUpper(p) {
		p = strings.ToLower(p)
	}
	if hasUpper(query) {
		query = strings.ToLower(query)
	}
	return p, query
}

// operationStatus reports whether path p reports the outcome of an
// operation the caller started (so an Error in it is the caller's failure).
func operationStatus(p string) bool {
	switch {
	case strings.Contains(p, "/data/v1/async/"),
		strings.Contains(p, "/publishstatus"), strings.Contains(p, "/validatestatus"),
		strings.Contains(p, "/deliveryrecords"),
		strings.Contains(p, "/contacts/"):
		return true
	}
	for _, m := range []string{"/messaging/v1/email/messages/", "/messaging/v1/sms/messages/"} {
		if i := strings.Index(p, m); i >= 0 && strings.Trim(p[i+len(m):], "/") != "" {
			return true // one message by messageKey: the caller's own send
		}
	}
	return false
}

// resourceEndpoint reports whether path p (query q) only answers reads of
// resource state, so that a request of unknown method on it is a read.
// Action routes (start, publish, send…) share prefixes and are excluded.
func resourceEndpoint(p, q string) bool {
	for _, action := range []string{"/actions/", "/send", "publishasync", "validateasync", "/stop", "/pause", "/resume"} {
		if strings.Contains(p, action) {
			return false
		}
	}
	switch {
	case strings.Contains(p, "/automation/v1/"),
		strings.Contains(p, "/legacy/v1/beta/bulk/automations"), strings.Contains(p, "/legacy/v1/beta/automations"),
		strings.Contains(p, "/interaction/v1/interactions"), strings.Contains(p, "/interaction/v1/eventdefinitions"),
		strings.Contains(p, "/messaging/v1/messagedefinitionsends"),
		strings.Contains(p, "/messaging/v1/email/definitions"), strings.Contains(p, "/messaging/v1/sms/definitions"):
		return true
	case strings.HasSuffix(strings.TrimSuffix(p, "/"), "/messages") && strings.Contains(q, "type=notsent"):
		return true // the not-sent feed (the same path without it is a batch send)
	}
	return false
}

// stateFinding is a failed or notable state a returned record reports.
type stateFinding struct {
	finding
	field, value string
}

// addState records a record's state (merged with identical ones).
func (col *collector) addState(field, value string, f finding) {
	if f.count <= 0 {
		f.count = 1
	}
	for i := range col.states {
		g := &col.states[i]
		if g.field == field && g.code == f.code && g.on == f.on && g.hint == f.hint {
			g.count += f.count
			return
		}
	}
	col.states = append(col.states, stateFinding{finding: f, field: field, value: value})
}

// recordStates resolves the collected record states against the catalog.
func (col *collector) recordStates(c *Classifier) []RecordState {
	if len(col.states) == 0 {
		return nil
	}
	out := make([]RecordState, 0, len(col.states))
	for _, s := range col.states {
		cl := c.resolve(s.finding, col.status, col.url)
		title := cl.Title
		if cl.Unknown {
			// Not a catalogued code: say what the record says rather than
			// "unrecognised code" (the read itself was fine).
			title = fmt.Sprintf("%s record reports %s %s", surfaceNoun(cl.Surface), s.field, s.value)
		}
		out = append(out, RecordState{
			Field: s.field, Value: s.value, Failed: s.hint == hintError || cl.Family.IsError(),
			Surface: cl.Surface, Code: cl.Code, Message: cl.Message, Count: cl.Count, Family: cl.Family,
			Title: title, Owner: cl.Owner, Severity: cl.Severity, Remediation: cl.Remediation, DocURL: cl.DocURL,
			Unknown: cl.Unknown,
		})
	}
	return out
}

func surfaceNoun(s catalog.Surface) string {
	switch s {
	case catalog.Automation:
		return "Automation"
	case catalog.Journey:
		return "Journey"
	case catalog.TriggeredSend:
		return "Triggered send"
	case catalog.Transactional:
		return "Transactional"
	case catalog.Import:
		return "Import"
	}
	return "Returned"
}
