package ingest

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sfmcwatch/sfmcwatch/internal/endpoint"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
)

// target says which canonical slot a source name feeds, and how well.
type target struct {
	name string // the name as configured (for messages)
	rank uint16 // lower wins: 0 for Options.Map, then alias order
	slot uint8
	ns   bool // durations in nanoseconds (ECS event.duration)
}

// table maps source names (exact and ASCII lower-cased) to targets. It is
// built once per parser and only read afterwards.
type table struct {
	names  map[string][]target
	prefix map[string]bool // dotted-path prefixes of the names ("http", "http.response")
	looked [nFields]string // "status, status_code, …" for messages
	source string
}

func newTable(opts Options) (*table, error) {
	if err := checkMap(opts.Map); err != nil {
		return nil, err
	}
	t := &table{names: map[string][]target{}, prefix: map[string]bool{}, source: opts.Source}
	add := func(name string, slot int, rank int) {
		tg := target{name: name, rank: uint16(rank), slot: uint8(slot), ns: name == "event.duration" || strings.HasSuffix(name, ".event.duration")}
		for _, n := range []string{name, strings.ToLower(name)} {
			dup := false
			for _, o := range t.names[n] {
				dup = dup || o.slot == tg.slot
			}
			if !dup {
				t.names[n] = append(t.names[n], tg)
			}
			for i := 0; i < len(n); i++ {
				if n[i] == '.' {
					t.prefix[n[:i]] = true
				}
			}
		}
	}
	aliases := builtinAliases()
	names := fieldNames()
	for slot, name := range names {
		var looked []string
		if p, ok := opts.Map[name]; ok {
			add(p, slot, 0)
			looked = append(looked, p)
		}
		for i, a := range aliases[slot] {
			add(a, slot, 1+i)
			looked = append(looked, a)
		}
		for ci, c := range containers() {
			for i, a := range aliases[slot] {
				add(c+"."+a, slot, 100*(ci+1)+i)
			}
		}
		t.looked[slot] = strings.Join(looked, ", ")
	}
	return t, nil
}

// lookup returns the targets of a source name, trying its ASCII lower case
// when the exact spelling is unknown. It does not allocate.
func (t *table) lookup(name []byte, buf *[96]byte) []target {
	if tg, ok := t.names[string(name)]; ok {
		return tg
	}
	if l, ok := lowerASCII(name, buf); ok {
		return t.names[string(l)]
	}
	return nil
}

func (t *table) isPrefix(name []byte, buf *[96]byte) bool {
	if t.prefix[string(name)] {
		return true
	}
	if l, ok := lowerASCII(name, buf); ok {
		return t.prefix[string(l)]
	}
	return false
}

// lowerASCII lower-cases name into buf; ok is false when name has no
// upper-case letter or does not fit.
func lowerASCII(name []byte, buf *[96]byte) ([]byte, bool) {
	if len(name) > len(buf) {
		return nil, false
	}
	up := false
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
			up = true
		}
		buf[i] = c
	}
	return buf[:len(name)], up
}

// JSONParser decodes JSON records (one object per RawLine.Data).
type JSONParser struct{ t *table }

// NewJSONParser returns a parser for JSON lines or JSON array elements.
func NewJSONParser(opts Options) (*JSONParser, error) {
	t, err := newTable(opts)
	if err != nil {
		return nil, err
	}
	return &JSONParser{t: t}, nil
}

// Parse decodes one JSON object. Errors are *LineError.
func (p *JSONParser) Parse(l RawLine) (event.Event, error) {
	if l.Bad != "" {
		return event.Event{}, &LineError{Line: l.No, Reason: l.Bad}
	}
	x := extract{t: p.t}
	if msg, at := x.run(l.Data); msg != "" {
		if strings.HasPrefix(msg, "not a JSON object") || msg == "empty record" {
			return event.Event{}, &LineError{Line: l.No, Reason: msg}
		}
		if at >= len(l.Data) {
			return event.Event{}, &LineError{Line: l.No, Reason: "invalid JSON: " + msg}
		}
		return event.Event{}, &LineError{Line: l.No, Reason: fmt.Sprintf("invalid JSON at byte %d: %s", at+1, msg)}
	}
	ev, reason := p.t.build(&x.vals, &x.rank)
	if reason != "" {
		return event.Event{}, &LineError{Line: l.No, Reason: reason}
	}
	return ev, nil
}

// CSVParser decodes CSV records whose header was given to NewCSVParser.
type CSVParser struct {
	t    *table
	cols [nFields][]csvCol // candidate columns per slot, best first
}

type csvCol struct {
	idx int
	tg  target
}

// NewCSVParser returns a parser for CSV records under header. Header names
// are matched like JSON keys (canonical names, aliases, Options.Map paths),
// case-insensitively.
func NewCSVParser(header []string, opts Options) (*CSVParser, error) {
	t, err := newTable(opts)
	if err != nil {
		return nil, err
	}
	p := &CSVParser{t: t}
	var buf [96]byte
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		for _, tg := range t.lookup([]byte(h), &buf) {
			p.cols[tg.slot] = append(p.cols[tg.slot], csvCol{idx: i, tg: tg})
		}
	}
	for s := range p.cols {
		c := p.cols[s]
		for i := 1; i < len(c); i++ { // insertion sort by rank, stable
			for j := i; j > 0 && c[j].tg.rank < c[j-1].tg.rank; j-- {
				c[j], c[j-1] = c[j-1], c[j]
			}
		}
	}
	if len(p.cols[fStatus]) == 0 {
		return p, fmt.Errorf("CSV header has no status column (looked for %s)", t.looked[fStatus])
	}
	return p, nil
}

// Parse decodes one CSV record. Errors are *LineError.
func (p *CSVParser) Parse(l RawLine) (event.Event, error) {
	if l.Bad != "" {
		return event.Event{}, &LineError{Line: l.No, Reason: l.Bad}
	}
	var (
		vals [nFields]jval
		rank [nFields]uint16
	)
	for s, cols := range p.cols {
		for _, c := range cols {
			if c.idx >= len(l.Fields) {
				continue
			}
			f := l.Fields[c.idx]
			if strings.TrimSpace(f) == "" {
				continue
			}
			vals[s] = jval{raw: []byte(f), kind: kString, name: c.tg.name, ns: c.tg.ns}
			rank[s] = c.tg.rank + 1
			break
		}
	}
	ev, reason := p.t.build(&vals, &rank)
	if reason != "" {
		return event.Event{}, &LineError{Line: l.No, Reason: reason}
	}
	return ev, nil
}

// build turns extracted values into an Event, or returns why it cannot.
func (t *table) build(vals *[nFields]jval, rank *[nFields]uint16) (event.Event, string) {
	ev := event.Event{Source: t.source}
	if rank[fStatus] == 0 {
		return ev, "no status field (looked for " + t.looked[fStatus] + ")"
	}
	st, ok := parseStatus(vals[fStatus])
	if !ok {
		return ev, describe("status", vals[fStatus]) + " is not a number"
	}
	if st < 0 || st > 999 {
		return ev, describe("status", vals[fStatus]) + " is not an HTTP status"
	}
	ev.Status = st
	if rank[fTS] != 0 {
		ts, ok := parseTSValue(vals[fTS])
		if !ok {
			return ev, describe("timestamp", vals[fTS]) + " not understood"
		}
		ev.TS = ts
	}
	if rank[fURL] != 0 {
		u := bytes.TrimSpace(text(vals[fURL]))
		if mayHoldSecret(u) {
			u = redact.Bytes(u)
		}
		ev.URL = string(u)
		ev.Endpoint, ev.ObjectKey = endpoint.Template(ev.URL)
	}
	if rank[fMethod] != 0 {
		ev.Method = method(text(vals[fMethod]))
	}
	if rank[fBody] != 0 {
		v := vals[fBody]
		ev.Body = text(v) // raw bytes when an escape is invalid
	}
	if rank[fDuration] != 0 {
		ev.Duration = parseDuration(vals[fDuration])
	}
	if rank[fIntegration] != 0 {
		ev.Integration = string(bytes.TrimSpace(text(vals[fIntegration])))
	}
	if rank[fRequestID] != 0 {
		ev.RequestID = string(bytes.TrimSpace(text(vals[fRequestID])))
	}
	if rank[fTenant] != 0 {
		ev.Tenant = string(bytes.TrimSpace(text(vals[fTenant])))
	}
	return ev, ""
}

// mayHoldSecret is a cheap pre-check before redact.Bytes on URLs: every
// secret pattern redact masks needs one of '=' (query/form), '"' (JSON),
// '<' (XML), '@' (e-mail) or white space (after "Bearer"), and URL paths
// rarely hold any of them. TestURLRedactPrecheck guards this coupling.
func mayHoldSecret(u []byte) bool {
	for _, c := range u {
		switch c {
		case '=', '"', '<', '@', ' ', '\t', '\n', '\r', '\v', '\f':
			return true
		}
		if c >= 0x80 {
			return true // Unicode white space
		}
	}
	return false
}

// text returns a value as text: unescaped string contents, or the raw JSON
// of numbers and booleans.
func text(v jval) []byte {
	if v.kind == kString && v.esc {
		if u, ok := unescape(nil, v.raw); ok {
			return u
		}
	}
	return v.raw
}

// describe renders `what "value"` (with the source name when it is not the
// canonical one) for error messages.
func describe(what string, v jval) string {
	var val string
	b := v.raw
	const max = 60
	cut := len(b) > max
	if cut {
		b = b[:max]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	if v.kind == kString {
		val = fmt.Sprintf("%q", b)
	} else {
		val = string(b)
	}
	if cut {
		val += "…"
	}
	s := what + " " + val
	canon := what
	if what == "timestamp" {
		canon = "ts"
	}
	if v.name != canon && v.name != "" {
		s += " (field " + fmt.Sprintf("%q", v.name) + ")"
	}
	return s
}

// method upper-cases an HTTP method, without allocating for common ones.
func method(b []byte) string {
	b = bytes.TrimSpace(b)
	switch string(b) {
	case "GET", "get":
		return "GET"
	case "POST", "post":
		return "POST"
	case "PUT", "put":
		return "PUT"
	case "PATCH", "patch":
		return "PATCH"
	case "DELETE", "delete":
		return "DELETE"
	case "HEAD", "head":
		return "HEAD"
	case "OPTIONS", "options":
		return "OPTIONS"
	}
	return strings.ToUpper(string(b))
}
