package sfmc

import (
	"bytes"
	"encoding"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// A fast reader for the one SOAP shape that is large: a successful
// RetrieveResponseMsg whose Results are flat records (a first look reads
// five weeks of send jobs, pages of 2,500 records). encoding/xml reads
// ~15–20 MB/s of them, this reader ~230 MB/s (BenchmarkScanRetrieve). It
// handles the subset of XML SFMC writes (elements, attributes, text
// with the predefined and numeric entities, CDATA, an XML declaration) and
// gives up (ok false) on anything else — comments, processing
// instructions, DOCTYPE, other encodings, carriage returns, malformed
// markup — so that the caller decodes the body with encoding/xml instead.
// Whatever it accepts, encoding/xml decodes to the same values
// (FuzzScanRetrieve holds the two readers to that, for every record type
// read by Retrieve).

// recordPlan says where each element of a Results record goes in the
// record type: a child element to a field (leaf), a grandchild to a field
// of a struct field (nested). It is built once per type from the same
// struct tags encoding/xml reads, for the flat types Retrieve records are:
// fields that are strings or encoding.TextUnmarshaler, and structs of
// those one level down. Any other shape (attributes, chardata, ",any",
// "a>b" paths, slices, pointers, embedded fields, XMLName) has no plan and
// is decoded by encoding/xml.
type recordPlan struct {
	leaf   map[string]fieldRef
	nested map[string]map[string]fieldRef
}

type fieldRef struct {
	index []int
	text  bool // an encoding.TextUnmarshaler, else a string
}

var (
	plans           sync.Map // reflect.Type → *recordPlan (nil: none)
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func planFor(t reflect.Type) *recordPlan {
	if p, ok := plans.Load(t); ok {
		return p.(*recordPlan)
	}
	p := buildPlan(t)
	plans.Store(t, p)
	return p
}

func buildPlan(t reflect.Type) *recordPlan {
	if t.Kind() != reflect.Struct {
		return nil
	}
	p := &recordPlan{leaf: map[string]fieldRef{}, nested: map[string]map[string]fieldRef{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, ok := elementName(f)
		switch {
		case !ok:
			return nil
		case name == "":
			continue // unexported or xml:"-"
		}
		if _, dup := p.leaf[name]; dup {
			return nil
		}
		if _, dup := p.nested[name]; dup {
			return nil
		}
		if ref, leaf := leafRef(f, []int{i}); leaf {
			p.leaf[name] = ref
			continue
		}
		if f.Type.Kind() != reflect.Struct {
			return nil
		}
		kids := map[string]fieldRef{}
		for j := range f.Type.NumField() {
			g := f.Type.Field(j)
			gname, ok := elementName(g)
			switch {
			case !ok:
				return nil
			case gname == "":
				continue
			}
			ref, leaf := leafRef(g, []int{i, j})
			if _, dup := kids[gname]; dup || !leaf {
				return nil
			}
			kids[gname] = ref
		}
		p.nested[name] = kids
	}
	return p
}

// elementName is the element a field reads ("" for none); ok is false for
// the tags and fields this reader leaves to encoding/xml.
func elementName(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("xml")
	if tag == "-" || !f.IsExported() && !f.Anonymous {
		return "", true
	}
	if f.Anonymous || f.Name == "XMLName" {
		return "", false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if opts != "" && opts != "omitempty" || strings.ContainsAny(name, "> ") {
		return "", false
	}
	if name == "" {
		name = f.Name
	}
	return name, true
}

func leafRef(f reflect.StructField, index []int) (fieldRef, bool) {
	switch {
	case reflect.PointerTo(f.Type).Implements(textUnmarshaler):
		return fieldRef{index: index, text: true}, true
	case f.Type.Kind() == reflect.String:
		return fieldRef{index: index}, true
	}
	return fieldRef{}, false
}

// set stores text in the record field ref names.
func (ref fieldRef) set(rec reflect.Value, text []byte) error {
	v := rec.FieldByIndex(ref.index)
	if ref.text {
		return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText(text)
	}
	v.SetString(string(text))
	return nil
}

// errScan is returned when the body is outside the subset read here.
var errScan = errors.New("sfmc: outside the fast SOAP subset")

// scanRetrieve reads body as Envelope/Body/RetrieveResponseMsg, appending
// one record per Results element. ok is false when the body is outside the
// subset or not such a message; the caller then uses decodeSOAP.
func scanRetrieve[T any](body []byte) (msg *soapMsg[T], ok bool) {
	plan := planFor(reflect.TypeFor[T]())
	if plan == nil {
		return nil, false
	}
	s := scanner{b: body}
	msg = &soapMsg[T]{}
	var (
		names   [][]byte  // raw names of the open elements
		texts   [7][]byte // direct text of the open elements at depths 1..6
		local   [7][]byte // local names at depths 4..6 inside the message
		inBody  bool      // the open depth-2 element is the Body
		inMsg   bool      // the RetrieveResponseMsg is open
		msgSeen bool
	)
	if !s.prolog() {
		return nil, false
	}
	for {
		kind, name, err := s.next()
		if err != nil {
			return nil, false
		}
		switch kind {
		case tokStart, tokEmpty:
			names = append(names, name)
			depth := len(names)
			loc := localName(name)
			switch depth {
			case 1:
				if string(loc) != "Envelope" {
					return nil, false
				}
			case 2:
				inBody = string(loc) == "Body"
				if !inBody && string(loc) != "Header" {
					return nil, false
				}
			case 3:
				if inBody {
					if msgSeen || string(loc) != "RetrieveResponseMsg" {
						return nil, false // a fault, another message, two messages
					}
					inMsg, msgSeen = true, true
				}
			case 4, 5, 6:
				if inMsg {
					local[depth] = loc
					if depth == 4 && string(loc) == "Results" {
						msg.Results = append(msg.Results, *new(T))
					}
				}
			}
			if depth < len(texts) {
				texts[depth] = texts[depth][:0]
			}
			if kind == tokEmpty {
				if err := endElement(plan, msg, depth, inMsg, &local, nil); err != nil {
					return nil, false
				}
				if depth == 1 {
					return msg, msgSeen
				}
				names = names[:depth-1]
			}
		case tokText:
			depth := len(names)
			if depth == 0 {
				if !isSpace(s.text) {
					return nil, false
				}
				continue
			}
			if depth < len(texts) {
				texts[depth] = append(texts[depth], s.text...)
			}
		case tokEnd:
			depth := len(names)
			if depth == 0 || !bytes.Equal(name, names[depth-1]) {
				return nil, false
			}
			var text []byte
			if depth < len(texts) {
				text = texts[depth]
			}
			if err := endElement(plan, msg, depth, inMsg, &local, text); err != nil {
				return nil, false
			}
			switch depth {
			case 1:
				return msg, msgSeen
			case 3:
				inMsg = false
			}
			names = names[:depth-1]
		case tokEOF:
			return nil, false
		}
	}
}

// endElement applies the element that closes at depth.
func endElement[T any](plan *recordPlan, msg *soapMsg[T], depth int, inMsg bool, local *[7][]byte, text []byte) error {
	if !inMsg {
		return nil
	}
	inResults := string(local[4]) == "Results"
	switch depth {
	case 4:
		switch string(local[4]) {
		case "OverallStatus":
			msg.OverallStatus = string(text)
		case "OverallStatusMessage":
			msg.OverallStatusMessage = string(text)
		case "RequestID":
			msg.RequestID = string(text)
		}
	case 5:
		if ref, ok := plan.leaf[string(local[5])]; ok && inResults {
			return ref.set(reflect.ValueOf(&msg.Results[len(msg.Results)-1]).Elem(), text)
		}
	case 6:
		if ref, ok := plan.nested[string(local[5])][string(local[6])]; ok && inResults {
			return ref.set(reflect.ValueOf(&msg.Results[len(msg.Results)-1]).Elem(), text)
		}
	}
	return nil
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokStart
	tokEmpty // <a/>
	tokEnd
	tokText
)

type scanner struct {
	b    []byte
	i    int
	text []byte // decoded text of the last tokText
	buf  []byte
}

// prolog skips leading white space and an XML declaration of version 1.0
// in UTF-8 (what encoding/xml reads without a CharsetReader).
func (s *scanner) prolog() bool {
	if !bytes.HasPrefix(s.b, []byte("<?xml")) {
		return true
	}
	end := bytes.Index(s.b, []byte("?>"))
	if end < 0 {
		return false
	}
	decl := s.b[5:end]
	s.i = end + 2
	if len(decl) == 0 || !isSpaceByte(decl[0]) {
		return false
	}
	for _, a := range []struct{ name, want string }{{"version", "1.0"}, {"encoding", "utf-8"}} {
		v, found, ok := declAttr(decl, a.name)
		if !ok || found && !bytes.EqualFold(v, []byte(a.want)) {
			return false
		}
	}
	return true
}

// declAttr finds name="v" in an XML declaration; ok is false when it is
// malformed. Anything beyond version, encoding and standalone gives up.
func declAttr(decl []byte, name string) (v []byte, found, ok bool) {
	rest := decl
	for {
		rest = bytes.TrimLeft(rest, " \t\n")
		if len(rest) == 0 {
			return nil, false, true
		}
		eq := bytes.IndexByte(rest, '=')
		if eq < 0 {
			return nil, false, false
		}
		n := bytes.TrimRight(rest[:eq], " \t\n")
		rest = bytes.TrimLeft(rest[eq+1:], " \t\n")
		if len(rest) == 0 || rest[0] != '"' && rest[0] != '\'' {
			return nil, false, false
		}
		q := rest[0]
		end := bytes.IndexByte(rest[1:], q)
		if end < 0 {
			return nil, false, false
		}
		val := rest[1 : 1+end]
		rest = rest[2+end:]
		switch string(n) {
		case name:
			v, found = val, true
		case "version", "encoding", "standalone":
		default:
			return nil, false, false
		}
		if len(rest) > 0 && !isSpaceByte(rest[0]) {
			return nil, false, false
		}
		if found {
			return v, true, true
		}
	}
}

// next reads one token. For tokStart/tokEmpty/tokEnd name is the raw
// element name; for tokText the decoded text is in s.text.
func (s *scanner) next() (tokKind, []byte, error) {
	if s.i >= len(s.b) {
		return tokEOF, nil, nil
	}
	if s.b[s.i] != '<' {
		end := bytes.IndexByte(s.b[s.i:], '<')
		if end < 0 {
			end = len(s.b) - s.i
		}
		raw := s.b[s.i : s.i+end]
		s.i += end
		t, err := s.decodeText(raw)
		s.text = t
		return tokText, nil, err
	}
	rest := s.b[s.i+1:]
	switch {
	case bytes.HasPrefix(rest, []byte("![CDATA[")):
		end := bytes.Index(rest, []byte("]]>"))
		if end < 0 {
			return 0, nil, errScan
		}
		raw := rest[8:end]
		if !validChars(raw) {
			return 0, nil, errScan
		}
		s.i += 1 + end + 3
		s.text = raw
		return tokText, nil, nil
	case len(rest) > 0 && rest[0] == '/':
		n := nameLen(rest[1:])
		if n == 0 {
			return 0, nil, errScan
		}
		name := rest[1 : 1+n]
		j := 1 + n
		for j < len(rest) && isSpaceByte(rest[j]) {
			j++
		}
		if j >= len(rest) || rest[j] != '>' {
			return 0, nil, errScan
		}
		s.i += 1 + j + 1
		return tokEnd, name, nil
	}
	n := nameLen(rest)
	if n == 0 {
		return 0, nil, errScan // comments, PIs, DOCTYPE, bad names
	}
	name := rest[:n]
	j := n
	for {
		sp := j
		for j < len(rest) && isSpaceByte(rest[j]) {
			j++
		}
		if j >= len(rest) {
			return 0, nil, errScan
		}
		switch rest[j] {
		case '>':
			s.i += 1 + j + 1
			return tokStart, name, nil
		case '/':
			if j+1 >= len(rest) || rest[j+1] != '>' {
				return 0, nil, errScan
			}
			s.i += 1 + j + 2
			return tokEmpty, name, nil
		}
		if sp == j {
			return 0, nil, errScan // attributes are separated by white space
		}
		an := nameLen(rest[j:])
		if an == 0 {
			return 0, nil, errScan
		}
		j += an
		for j < len(rest) && isSpaceByte(rest[j]) {
			j++
		}
		if j >= len(rest) || rest[j] != '=' {
			return 0, nil, errScan
		}
		j++
		for j < len(rest) && isSpaceByte(rest[j]) {
			j++
		}
		if j >= len(rest) || rest[j] != '"' && rest[j] != '\'' {
			return 0, nil, errScan
		}
		q := rest[j]
		end := bytes.IndexByte(rest[j+1:], q)
		if end < 0 {
			return 0, nil, errScan
		}
		val := rest[j+1 : j+1+end]
		if bytes.IndexByte(val, '<') >= 0 {
			return 0, nil, errScan
		}
		if _, err := s.decodeText(val); err != nil {
			return 0, nil, err
		}
		j += 1 + end + 1
	}
}

// decodeText checks raw text and resolves its entity references.
func (s *scanner) decodeText(raw []byte) ([]byte, error) {
	if !validChars(raw) || bytes.Contains(raw, []byte("]]>")) {
		return nil, errScan
	}
	amp := bytes.IndexByte(raw, '&')
	if amp < 0 {
		return raw, nil
	}
	out := append(s.buf[:0], raw[:amp]...)
	rest := raw[amp:]
	for len(rest) > 0 {
		if rest[0] != '&' {
			k := bytes.IndexByte(rest, '&')
			if k < 0 {
				k = len(rest)
			}
			out = append(out, rest[:k]...)
			rest = rest[k:]
			continue
		}
		semi := bytes.IndexByte(rest, ';')
		if semi < 0 {
			return nil, errScan
		}
		ent := rest[1:semi]
		rest = rest[semi+1:]
		switch string(ent) {
		case "lt":
			out = append(out, '<')
		case "gt":
			out = append(out, '>')
		case "amp":
			out = append(out, '&')
		case "apos":
			out = append(out, '\'')
		case "quot":
			out = append(out, '"')
		default:
			r, ok := charRef(ent)
			if !ok {
				return nil, errScan
			}
			out = utf8.AppendRune(out, r)
		}
	}
	s.buf = out
	return out, nil
}

// charRef reads "#123" or "#x7B"; only characters XML allows, and none
// that would need normalising (carriage return).
func charRef(ent []byte) (rune, bool) {
	if len(ent) < 2 || ent[0] != '#' {
		return 0, false
	}
	base, digits := 10, ent[1:]
	if digits[0] == 'x' {
		base, digits = 16, digits[1:]
	}
	if len(digits) == 0 || len(digits) > 8 {
		return 0, false
	}
	for _, c := range digits {
		if !('0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')) {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(digits), base, 32)
	if err != nil {
		return 0, false
	}
	r := rune(n)
	return r, r != '\r' && inXMLRange(r)
}

// validChars accepts UTF-8 text of XML characters without carriage
// returns (encoding/xml rewrites those; this reader leaves such text to it).
func validChars(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 || !inXMLRange(r) {
			return false
		}
		i += size
	}
	return true
}

// inXMLRange is XML 1.0's Char production.
func inXMLRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// nameLen is the length of the ASCII XML name at the start of b (at most
// one colon, not first or last), 0 when there is none.
func nameLen(b []byte) int {
	n, colons := 0, 0
	for n < len(b) {
		c := b[n]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case '0' <= c && c <= '9', c == '-', c == '.':
			if n == 0 {
				return 0
			}
		case c == ':':
			if n == 0 {
				return 0
			}
			colons++
		case isSpaceByte(c), c == '>', c == '/', c == '=':
			if n == 0 || colons > 1 || b[n-1] == ':' {
				return 0
			}
			return n
		default:
			return 0 // non-ASCII or punctuation: leave it to encoding/xml
		}
		n++
	}
	return 0
}

func localName(name []byte) []byte {
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' }

func isSpace(b []byte) bool {
	for _, c := range b {
		if !isSpaceByte(c) {
			return false
		}
	}
	return true
}
