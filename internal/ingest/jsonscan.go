package ingest

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds JSON nesting so hostile input cannot exhaust the stack.
const maxDepth = 1000

// Kinds of JSON values as recorded by the extractor.
const (
	kString = '"'
	kNumber = '0'
	kObject = '{'
	kArray  = '['
	kTrue   = 't'
	kFalse  = 'f'
	kNull   = 'z'
)

// jval is one extracted field value. For strings raw holds the contents
// between the quotes (still escaped when esc is set); otherwise the raw
// JSON text of the value.
type jval struct {
	raw  []byte
	kind byte
	esc  bool
	name string // the alias that matched, for messages
	ns   bool   // duration in nanoseconds
}

// extract is the per-record state of the single-pass extractor. It lives
// on the caller's stack.
type extract struct {
	t    *table
	d    []byte
	vals [nFields]jval
	rank [nFields]uint16 // rank+1 of the value held; 0: none yet
	pbuf [96]byte        // dotted path of the current key (never sliced into x itself, so x stays on the stack)
	lbuf [96]byte        // lower-casing scratch for lookups
}

// joinPath writes key after the enclosing path pbuf[:plen] and returns the
// full dotted path, or nil when it does not fit (no alias is that long).
func (x *extract) joinPath(plen int, key []byte) []byte {
	n := plen + len(key)
	if n >= len(x.pbuf) {
		return nil
	}
	copy(x.pbuf[plen:], key)
	return x.pbuf[:n]
}

// record keeps v for every target whose rank beats what the slot holds.
func (x *extract) record(tg []target, raw []byte, kind byte) {
	if kind == kNull {
		return
	}
	for i := range tg {
		t := &tg[i]
		if (kind == kObject || kind == kArray) && t.slot != fBody && t.slot != fStatus {
			continue
		}
		if r := x.rank[t.slot]; r != 0 && r <= t.rank+1 {
			continue
		}
		x.rank[t.slot] = t.rank + 1
		v := jval{raw: raw, kind: kind, name: t.name, ns: t.ns}
		if kind == kString {
			v.raw = raw[1 : len(raw)-1]
			v.esc = bytes.IndexByte(v.raw, '\\') >= 0
		}
		x.vals[t.slot] = v
	}
}

// run walks the top-level object of d. It returns a message and the
// 0-based offset of the problem when d is not a valid JSON object.
func (x *extract) run(d []byte) (msg string, at int) {
	x.d = d
	i := ws(d, 0)
	if i >= len(d) {
		return "empty record", 0
	}
	if d[i] != '{' {
		return "not a JSON object (starts with " + quoteByte(d[i]) + ")", i
	}
	i, msg = x.object(i, 0, 0)
	if msg != "" {
		return msg, i
	}
	if i = ws(d, i); i < len(d) {
		return "unexpected " + quoteByte(d[i]) + " after the top-level object", i
	}
	return "", 0
}

const eoi = "unexpected end of input"

// object walks the object at d[i] == '{' whose dotted path prefix is
// x.path[:plen], recording the fields the table wants.
func (x *extract) object(i, plen, depth int) (int, string) {
	d := x.d
	if depth >= maxDepth {
		return i, "nesting too deep"
	}
	i = ws(d, i+1)
	if i < len(d) && d[i] == '}' {
		return i + 1, ""
	}
	for {
		if i >= len(d) {
			return i, eoi
		}
		if d[i] != '"' {
			return i, "expected a string key, found " + quoteByte(d[i])
		}
		ke := strEnd(d, i+1)
		if ke < 0 {
			return len(d), "unterminated string"
		}
		key := d[i+1 : ke]
		if bytes.IndexByte(key, '\\') >= 0 {
			k, ok := unescape(nil, key)
			if !ok {
				return i, "invalid escape in object key"
			}
			key = k
		}
		i = ws(d, ke+1)
		if i >= len(d) {
			return i, eoi
		}
		if d[i] != ':' {
			return i, "expected ':' after object key, found " + quoteByte(d[i])
		}
		i = ws(d, i+1)
		if i >= len(d) {
			return i, eoi
		}
		full := key
		if plen > 0 {
			full = x.joinPath(plen, key)
		}
		var tg []target
		if full != nil {
			tg = x.t.lookup(full, &x.lbuf)
		}
		vs := i
		var (
			kind byte
			msg  string
		)
		if plen == 0 && d[i] == '{' && x.t.isPrefix(full, &x.lbuf) {
			full = x.joinPath(0, key) // copy: nested keys are appended after it
		}
		if d[i] == '{' && full != nil && x.t.isPrefix(full, &x.lbuf) {
			n := len(full)
			x.pbuf[n] = '.'
			kind = kObject
			i, msg = x.object(i, n+1, depth+1)
		} else {
			i, kind, msg = skipValue(d, i, depth)
		}
		if msg != "" {
			return i, msg
		}
		if tg != nil {
			x.record(tg, d[vs:i], kind)
		}
		i = ws(d, i)
		if i >= len(d) {
			return i, eoi
		}
		switch d[i] {
		case ',':
			i = ws(d, i+1)
		case '}':
			return i + 1, ""
		default:
			return i, "expected ',' or '}' after object value, found " + quoteByte(d[i])
		}
	}
}

// skipValue validates and skips the value at d[i] (not white space),
// returning the offset after it and its kind.
func skipValue(d []byte, i, depth int) (int, byte, string) {
	switch c := d[i]; {
	case c == '"':
		e := strEnd(d, i+1)
		if e < 0 {
			return len(d), 0, "unterminated string"
		}
		return e + 1, kString, ""
	case c == '{':
		if depth+1 >= maxDepth {
			return i, 0, "nesting too deep"
		}
		i = ws(d, i+1)
		if i < len(d) && d[i] == '}' {
			return i + 1, kObject, ""
		}
		for {
			if i >= len(d) {
				return i, 0, eoi
			}
			if d[i] != '"' {
				return i, 0, "expected a string key, found " + quoteByte(d[i])
			}
			e := strEnd(d, i+1)
			if e < 0 {
				return len(d), 0, "unterminated string"
			}
			i = ws(d, e+1)
			if i >= len(d) {
				return i, 0, eoi
			}
			if d[i] != ':' {
				return i, 0, "expected ':' after object key, found " + quoteByte(d[i])
			}
			i = ws(d, i+1)
			if i >= len(d) {
				return i, 0, eoi
			}
			var msg string
			if i, _, msg = skipValue(d, i, depth+1); msg != "" {
				return i, 0, msg
			}
			i = ws(d, i)
			if i >= len(d) {
				return i, 0, eoi
			}
			switch d[i] {
			case ',':
				i = ws(d, i+1)
			case '}':
				return i + 1, kObject, ""
			default:
				return i, 0, "expected ',' or '}' after object value, found " + quoteByte(d[i])
			}
		}
	case c == '[':
		if depth+1 >= maxDepth {
			return i, 0, "nesting too deep"
		}
		i = ws(d, i+1)
		if i < len(d) && d[i] == ']' {
			return i + 1, kArray, ""
		}
		for {
			if i >= len(d) {
				return i, 0, eoi
			}
			var msg string
			if i, _, msg = skipValue(d, i, depth+1); msg != "" {
				return i, 0, msg
			}
			i = ws(d, i)
			if i >= len(d) {
				return i, 0, eoi
			}
			switch d[i] {
			case ',':
				i = ws(d, i+1)
			case ']':
				return i + 1, kArray, ""
			default:
				return i, 0, "expected ',' or ']' after array element, found " + quoteByte(d[i])
			}
		}
	case c == 't':
		return literal(d, i, "true", kTrue)
	case c == 'f':
		return literal(d, i, "false", kFalse)
	case c == 'n':
		return literal(d, i, "null", kNull)
	case c == '-' || '0' <= c && c <= '9':
		e, ok := numberEnd(d, i)
		if !ok {
			return e, 0, "invalid number"
		}
		return e, kNumber, ""
	default:
		return i, 0, "invalid character " + quoteByte(c) + " looking for the beginning of a value"
	}
}

func literal(d []byte, i int, lit string, kind byte) (int, byte, string) {
	if len(d)-i >= len(lit) && string(d[i:i+len(lit)]) == lit {
		return i + len(lit), kind, ""
	}
	return i, 0, "invalid literal (expected " + lit + ")"
}

// numberEnd scans a JSON number starting at d[i].
func numberEnd(d []byte, i int) (int, bool) {
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	default:
		return i, false
	}
	if i < len(d) && d[i] == '.' {
		i++
		s := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		if i == s {
			return i, false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		s := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		if i == s {
			return i, false
		}
	}
	return i, true
}

// strEnd returns the offset of the quote closing the string whose
// contents start at d[from], or -1.
func strEnd(d []byte, from int) int {
	// Most strings of a log line (names, short values) are short: a plain
	// loop finds their end sooner than IndexByte's setup.
	for k := from; k < len(d) && k < from+16; k++ {
		switch d[k] {
		case '"':
			return k
		case '\\':
			return strEndSlow(d, from)
		}
	}
	return strEndSlow(d, from)
}

// strEndSlow is strEnd for strings that are long or hold escapes.
func strEndSlow(d []byte, from int) int {
	i := from
	for {
		j := bytes.IndexByte(d[i:], '"')
		if j < 0 {
			return -1
		}
		j += i
		n := 0
		for k := j - 1; k >= from && d[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return j
		}
		i = j + 1
	}
}

// ws skips JSON white space.
func ws(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func quoteByte(c byte) string {
	if c < utf8.RuneSelf {
		return strconv.QuoteRune(rune(c))
	}
	return "byte 0x" + strconv.FormatUint(uint64(c), 16)
}

// unescape appends the unescaped JSON string contents src to dst. Invalid
// surrogates become U+FFFD, as in encoding/json.
func unescape(dst, src []byte) ([]byte, bool) {
	if dst == nil {
		dst = make([]byte, 0, len(src))
	}
	for i := 0; i < len(src); {
		j := bytes.IndexByte(src[i:], '\\')
		if j < 0 {
			return append(dst, src[i:]...), true
		}
		dst = append(dst, src[i:i+j]...)
		i += j
		if i+1 >= len(src) {
			return dst, false
		}
		switch c := src[i+1]; c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(src, i+2)
			if !ok {
				return dst, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(src, i+2); ok && i+1 < len(src) && src[i] == '\\' && src[i+1] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						dst = utf8.AppendRune(dst, d)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			return dst, false
		}
		i += 2
	}
	return dst, true
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
