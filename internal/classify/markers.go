package classify

import "bytes"

// The cheap pre-checks below let the classifier skip decoding 2xx bodies
// that carry no error or status signal. They may report a marker where
// there is none (the body is then decoded and found clean) but must never
// miss one.

// jsonHasMarkers reports whether a 2xx JSON body may carry an error or
// status signal. It is one pass over the bytes: member names that always
// call for a decode are recognised after their opening quote, and every
// other signal (errorcode, errorCode, error, errors, hasErrors,
// messageErrors, status "Error", "Has Errors"…) contains "rror".
func jsonHasMarkers(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			// Most quotes open names and values that start with none of
			// the marker names' first letters: test that inline.
			if i+1 < len(b) && markerStart[b[i+1]] && jsonKeyMarker(b[i+1:]) {
				return true
			}
		case 'o':
			if i >= 2 && i+1 < len(b) && b[i+1] == 'r' && b[i-1] == 'r' && b[i-2] == 'r' && significantRror(b, i-2) {
				return true
			}
		}
	}
	return false
}

// markerStart marks the first letters of the names jsonKeyMarker knows.
var markerStart = [256]bool{'e': true, 'r': true, 's': true, 'w': true}

// jsonKeyMarker reports whether rest (the bytes after a quote) starts with
// a member name whose presence calls for a decode.
func jsonKeyMarker(rest []byte) bool {
	if len(rest) == 0 {
		return false
	}
	var names []string
	switch rest[0] {
	case 'e':
		names = []string{`eventCategoryType"`}
	case 'r':
		names = []string{`retryAfter"`, `resultMessages"`, `resultClass"`, `requestStatus"`, `resultStatus"`}
	case 's':
		names = []string{`statusCode"`}
	case 'w':
		// Journey warnings are reported (as non-errors) when non-empty.
		if bytes.HasPrefix(rest, []byte(`warnings"`)) {
			return !emptyValue(rest[len(`warnings"`):])
		}
		return false
	default:
		return false
	}
	for _, n := range names {
		if bytes.HasPrefix(rest, []byte(n)) {
			return true
		}
	}
	return false
}

// significantRror decides whether the "rror" at pos can be an error signal:
// it is not when it sits in a member name that is no error marker
// (isStoppedOnJobError, allowErrors) or in a marker member whose value is
// empty (false, 0, null, [], {}, "").
func significantRror(b []byte, pos int) bool {
	start := -1
	for k := pos - 1; k >= 0 && pos-k <= 64; k-- {
		if b[k] == '"' {
			start = k
			break
		}
	}
	if start < 0 || (start > 0 && b[start-1] == '\\') {
		return true
	}
	end := bytes.IndexByte(b[pos:], '"')
	if end < 0 {
		return true
	}
	end += pos
	if b[end-1] == '\\' {
		return true
	}
	rest := skipSpace(b[end+1:])
	if len(rest) == 0 || rest[0] != ':' {
		return true // inside a string value: may be a status such as "Error"
	}
	name := b[start+1 : end]
	if !errorMemberName(name) {
		return false
	}
	return !emptyValue(rest)
}

// errorMemberName reports whether a member name carries errors.
func errorMemberName(name []byte) bool {
	switch string(name) {
	case "error", "errors", "errorcode", "errorCode", "ErrorCode", "hasErrors", "HasErrors",
		"messageErrors", "messageErrorCode", "additionalErrors", "validationErrors", "fieldErrors",
		"error_description", "Error", "Errors", "errorDetail", "errorMessage":
		return true
	}
	return false
}

// emptyValue reports whether the member value after a name (starting at
// the colon or whitespace) is empty-ish: false, null, 0, [], {}, "".
func emptyValue(rest []byte) bool {
	rest = skipSpace(rest)
	if len(rest) == 0 || rest[0] != ':' {
		return false
	}
	rest = skipSpace(rest[1:])
	if len(rest) == 0 {
		return false
	}
	switch rest[0] {
	case 'f':
		return bytes.HasPrefix(rest, []byte("false"))
	case 'n':
		return bytes.HasPrefix(rest, []byte("null"))
	case '0':
		return len(rest) == 1 || !isDigit(rest[1]) && rest[1] != '.'
	case '[':
		r := skipSpace(rest[1:])
		return len(r) > 0 && r[0] == ']'
	case '{':
		r := skipSpace(rest[1:])
		return len(r) > 0 && r[0] == '}'
	case '"':
		return len(rest) > 1 && rest[1] == '"'
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// jsonLooksComplete is a cheap truncation check: the document must end with
// the closer matching its opener.
func jsonLooksComplete(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	last := b[len(b)-1]
	switch b[0] {
	case '{':
		return last == '}'
	case '[':
		return last == ']'
	case '"':
		return len(b) > 1 && last == '"'
	}
	return true
}

// soapScan reports whether a 2xx XML body may carry a fault, an error
// status or an OverallStatus other than OK and MoreDataAvailable (markers),
// and whether OverallStatus is MoreDataAvailable. Every
// failure marker contains "rror" (ErrorCode, StatusCode>Error,
// OverallStatus>Error, Has Errors, ImportStatus>Error) or is a Fault.
func soapScan(b []byte) (markers, moreData bool) {
	if bytes.Contains(b, []byte("rror")) || bytes.Contains(b, []byte("Fault")) {
		return true, false
	}
	i := bytes.Index(b, []byte("OverallStatus>"))
	if i < 0 {
		return false, false
	}
	v := b[i+len("OverallStatus>"):]
	if j := bytes.IndexByte(v, '<'); j >= 0 {
		v = v[:j]
	}
	v = bytes.TrimSpace(v)
	switch {
	case bytes.Equal(v, []byte("OK")):
		return false, false
	case bytes.Equal(v, []byte("MoreDataAvailable")):
		return false, true
	}
	return true, false
}

func xmlLooksComplete(b []byte) bool { return len(b) == 0 || b[len(b)-1] == '>' }
