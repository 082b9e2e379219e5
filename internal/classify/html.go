package classify

import (
	"bytes"
	"html"
	"unicode/utf8"
)

// htmlSniffWindow is how far into a '<' body HTML markers are looked for.
const htmlSniffWindow = 512

// isHTML reports whether a body starting with '<' is an HTML page (a
// gateway or error page) rather than XML: one of the first tags within
// htmlSniffWindow bytes is an HTML one.
func isHTML(b []byte) bool {
	w := b[:min(len(b), htmlSniffWindow)]
	for i := 0; i < len(w); {
		j := bytes.IndexByte(w[i:], '<')
		if j < 0 {
			return false
		}
		tag := w[i+j+1:]
		for _, m := range [...]string{"!doctype html", "html", "head", "body", "title", "h1"} {
			if hasPrefixFoldBytes(tag, m) && (len(tag) == len(m) || !isNameByte(tag[len(m)])) {
				return true
			}
		}
		i += j + 1
	}
	return false
}

func hasPrefixFoldBytes(b []byte, lowerPrefix string) bool {
	if len(b) < len(lowerPrefix) {
		return false
	}
	for i := 0; i < len(lowerPrefix); i++ {
		if lower(b[i]) != lowerPrefix[i] {
			return false
		}
	}
	return true
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == ':' || c == '-' || c == '_'
}

// parseHTML takes the page <title> (else the first <h1>) as the message;
// the classification then falls back to the HTTP status.
func parseHTML(col *collector, b []byte) {
	t := elementText(b, "title")
	if t == "" {
		t = elementText(b, "h1")
	}
	col.setMsg(t)
}

// elementText returns the unescaped text of the first <name …>…</name>.
func elementText(b []byte, name string) string {
	i := indexFold(b, "<"+name)
	if i < 0 {
		return ""
	}
	rest := b[i+1+len(name):]
	if len(rest) > 0 && rest[0] != '>' && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '\n' && rest[0] != '\r' {
		return "" // e.g. <titlebar>
	}
	j := bytes.IndexByte(rest, '>')
	if j < 0 {
		return ""
	}
	rest = rest[j+1:]
	if k := indexFold(rest, "</"+name); k >= 0 {
		rest = rest[:k]
	} else if k := bytes.IndexByte(rest, '<'); k >= 0 {
		rest = rest[:k]
	}
	if len(rest) > 4*maxMessage {
		rest = rest[:4*maxMessage]
	}
	return html.UnescapeString(string(bytes.TrimSpace(rest)))
}

// parseText keeps the first line of a plain-text body as the message.
func parseText(col *collector, b []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > 4*maxMessage {
		b = b[:4*maxMessage]
	}
	if !utf8.Valid(b) {
		b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	col.setMsg(string(bytes.TrimSpace(b)))
}

// indexFold is a case-insensitive bytes.Index for an ASCII lower-case
// needle, without allocating.
func indexFold(b []byte, lowerNeedle string) int {
	n := len(lowerNeedle)
	if n == 0 {
		return 0
	}
	first := lowerNeedle[0]
	for i := 0; i+n <= len(b); i++ {
		if lower(b[i]) != first {
			continue
		}
		j := 1
		for j < n && lower(b[i+j]) == lowerNeedle[j] {
			j++
		}
		if j == n {
			return i
		}
	}
	return -1
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
