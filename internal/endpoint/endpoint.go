// Package endpoint reduces SFMC request URLs to endpoint templates so that
// calls to the same API group together whatever object they touched:
//
//	https://x.rest.marketingcloudapis.com/data/v1/customobjectdata/key/MyDE/rowset?$page=1
//	→ /data/v1/customobjectdata/key/{key}/rowset   (object key "MyDE")
//
// Scheme, host, query string and fragment are dropped; GUIDs, numeric ids,
// "key:…" and "key=…" segments, and the segments that follow known SFMC
// collections (messages, interactions, automations, assets, async, …) are
// replaced by placeholders. Path case is kept, except that the SOAP endpoint
// is always spelled /Service.asmx.
package endpoint

import (
	"net/url"
	"strings"
	"unicode"
)

// Placeholders used in templates.
const (
	ID         = "{id}"
	Key        = "{key}"
	GUID       = "{guid}"
	MessageKey = "{messageKey}"
	RequestID  = "{requestId}"
)

// SOAP is the template of every SOAP API call.
const SOAP = "/Service.asmx"

// lower writes the ASCII lower case of s into buf and returns it as a
// string conversion the compiler can use without allocating in a switch;
// segments longer than buf never match a route word.
func lower(buf *[32]byte, s string) string {
	if len(s) > len(buf) {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return string(buf[:len(s)])
}

// collection returns the placeholder for the segment that follows the
// collection segment seg (compared case-insensitively), or "" when seg is
// not a known collection.
func collection(seg string) string {
	var buf [32]byte
	switch lower(&buf, seg) {
	case "messages":
		return MessageKey
	case "async":
		return RequestID
	case "key", "definitions", "rows", "eventdefinitions":
		return Key
	case "interactions", "automations", "assets", "categories", "imports",
		"queries", "filetransfers", "dataextracts", "dataextensions",
		"dataevents", "messagedefinitionsends", "deliveryrecords", "instance",
		"definition", "notifications", "ens-callbacks", "ens-subscriptions",
		"ens-subscriptions-by-cb", "publishstatus", "stop", "pause", "resume",
		"publishasync", "validateasync", "triggeredsends", "journeyhistory",
		"messagecontact", "messagelist", "messageapp", "campaigns", "token":
		return ID
	}
	return ""
}

// fixed reports route words that can follow a collection segment.
func fixed(seg string) bool {
	var buf [32]byte
	switch lower(&buf, seg) {
	case "query", "bulk", "key", "search", "download", "journeyhistory",
		"publishstatus", "stop", "pause", "resume", "publishasync",
		"validateasync", "contactexit", "dataextensions", "automation",
		"automations", "notifications", "definition", "instance", "rowset",
		"rows", "status", "results", "send", "queue", "actions", "audit",
		"all", "create", "modify", "publish", "unpublish", "delete",
		"deliveryrecords", "definitions", "messages", "count", "validate",
		"attributes", "actions:start", "start", "runallonce", "schema",
		"fields", "summary", "sends", "content", "assets", "categories",
		"interactions", "batch", "upsert", "insert", "update":
		return true
	}
	return false
}

// Template reduces rawURL (a full URL, a path, or "METHOD path") to an
// endpoint template and returns the first object id or key it removed.
// It does not allocate when the path needs no rewriting.
func Template(rawURL string) (tmpl, objectKey string) {
	p := pathOf(rawURL)
	if p == "" {
		return "", ""
	}
	if p[0] != '/' {
		p = "/" + p // relative path
	}
	var (
		buf     strings.Builder // the rewritten template, once a segment changes
		started bool
		prev    string
	)
	i := 0
	for i < len(p) {
		// p[i] is '/'.
		segStart := i + 1
		// One pass over the segment: find its end and what it holds.
		end := strings.IndexByte(p[segStart:], '/')
		if end < 0 {
			end = len(p)
		} else {
			end += segStart
		}
		f := flagsOf(p[segStart:end])
		seg := p[segStart:end]
		if f&fSolid == 0 && (f&fWide == 0 || strings.TrimSpace(seg) == "") {
			// "//", "/ /" or a trailing "/": drop the empty segment.
			if !started {
				started = begin(&buf, p, i)
			}
			i = end
			continue
		}
		// A segment followed only by slashes and white space ends the
		// template once trimEnd has run, so it is judged as the last one
		// and without its trailing white space: the template of a
		// template is itself.
		last := end == len(p) || strings.TrimRightFunc(p[end:], slashOrSpace) == ""
		repl, key, keyPrefix := classify(prev, rtrim(seg), last, f)
		if repl != "" && !started {
			started = begin(&buf, p, i)
		}
		if started {
			buf.WriteByte('/')
			if repl != "" {
				if objectKey == "" && key != "" {
					objectKey = key
				}
				buf.WriteString(keyPrefix)
				buf.WriteString(repl)
			} else {
				buf.WriteString(seg)
			}
		}
		prev = seg
		i = end
	}
	if !started {
		return trimEnd(p), unescape(objectKey)
	}
	if buf.Len() == 0 {
		buf.WriteByte('/')
	}
	return trimEnd(buf.String()), unescape(objectKey)
}

func slashOrSpace(r rune) bool { return r == '/' || unicode.IsSpace(r) }

// rtrim drops trailing white space from a segment, without work in the
// usual case.
func rtrim(s string) string {
	if len(s) == 0 || isSolid(s[len(s)-1]) {
		return s
	}
	return strings.TrimRightFunc(s, unicode.IsSpace)
}

// begin starts a rewrite in b, copying the untouched prefix p[:at].
func begin(b *strings.Builder, p string, at int) bool {
	b.Grow(len(p) + 16)
	b.WriteString(p[:at])
	return true
}

// classify decides how one path segment is written: repl is the
// replacement ("" keeps seg), key the object key it hides, keyPrefix a
// literal kept in front of repl ("key:").
func classify(prev, seg string, last bool, f segFlags) (repl, key, keyPrefix string) {
	if last && strings.EqualFold(seg, "service.asmx") {
		if seg == "Service.asmx" {
			return "", "", ""
		}
		return "Service.asmx", "", ""
	}
	if isPlaceholder(seg) || isVersion(seg) {
		return "", "", ""
	}
	if len(seg) > 4 && (seg[3] == ':' || seg[3] == '=') && strings.EqualFold(seg[:3], "key") {
		if isPlaceholder(seg[4:]) {
			return "", "", ""
		}
		return Key, seg[4:], seg[:4]
	}
	if ph := collection(prev); ph != "" && !fixed(seg) {
		return ph, seg, ""
	}
	switch {
	case isGUID(seg):
		return GUID, seg, ""
	case f&fDigit != 0:
		// Holds a digit and is not an API version: numeric ids, MIDs,
		// hashes, generated keys.
		return ID, seg, ""
	case f&fAt != 0:
		return Key, seg, ""
	}
	return "", "", ""
}

// pathOf strips an optional leading HTTP method, scheme and host, query
// string and fragment, and returns the path (which may lack a leading '/').
func pathOf(s string) string {
	s = trimSpace(s)
	if len(s) > 4 && 'A' <= s[0] && s[0] <= 'Z' {
		for i := 1; i < len(s) && i <= 7; i++ {
			if s[i] == ' ' {
				if isMethod(s[:i]) {
					s = trimSpace(s[i+1:])
				}
				break
			}
		}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '?' || c == '#' {
			s = trimSpace(s[:i])
			break
		}
	}
	// scheme://host
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			continue
		}
		if i > 0 && c == ':' && len(s) >= i+3 && s[i+1] == '/' && s[i+2] == '/' {
			s = s[i+3:]
			if j := strings.IndexByte(s, '/'); j >= 0 {
				return s[j:]
			}
			return "/"
		}
		break
	}
	return s
}

// segFlags describe a path segment.
type segFlags uint8

const (
	fDigit segFlags = 1 << iota // holds a digit
	fAt                         // holds an '@'
	fSolid                      // holds an ASCII byte that is not white space (control bytes count)
	fWide                       // holds a non-ASCII byte
)

func flagsOf(s string) segFlags {
	var m segFlags
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c-'0' < 10:
			m |= fDigit | fSolid
		case c == '@':
			m |= fAt | fSolid
		case c >= 0x80:
			m |= fWide
		case c != ' ' && (c < '\t' || c > '\r'):
			m |= fSolid
		}
	}
	return m
}

// trimSpace is strings.TrimSpace with a fast path for the usual case.
func trimSpace(s string) string {
	if len(s) > 0 && isSolid(s[0]) && isSolid(s[len(s)-1]) {
		return s
	}
	return strings.TrimSpace(s)
}

func isSolid(c byte) bool { return c > ' ' && c < 0x80 }

// trimEnd drops trailing white space but never empties a path.
func trimEnd(s string) string {
	if len(s) > 0 && isSolid(s[len(s)-1]) {
		return s
	}
	t := strings.TrimRightFunc(s, unicode.IsSpace)
	if t == "" && s != "" {
		return "/"
	}
	return t
}

func isMethod(s string) bool {
	switch s {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
		return true
	}
	return false
}

// isVersion reports API version segments: v1, v2, V10.
func isVersion(s string) bool {
	if len(s) < 2 || len(s) > 4 || (s[0] != 'v' && s[0] != 'V') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isPlaceholder reports a segment already in template form ("{id}").
func isPlaceholder(seg string) bool {
	return len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}'
}

// isGUID reports 8-4-4-4-12 hex GUIDs (optionally in braces) and 32-digit
// hex strings.
func isGUID(s string) bool {
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	switch len(s) {
	case 36:
		for i := 0; i < 36; i++ {
			switch i {
			case 8, 13, 18, 23:
				if s[i] != '-' {
					return false
				}
			default:
				if !isHex(s[i]) {
					return false
				}
			}
		}
		return true
	case 32:
		for i := 0; i < 32; i++ {
			if !isHex(s[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unescape percent-decodes an object key when it holds escapes.
func unescape(k string) string {
	if strings.IndexByte(k, '%') < 0 {
		return k
	}
	if u, err := url.PathUnescape(k); err == nil {
		return u
	}
	return k
}
