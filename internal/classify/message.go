package classify

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/sfmcwatch/sfmcwatch/internal/redact"
)

// maxMessage is how many characters of SFMC's message text are kept.
const maxMessage = 200

// cleanMessage collapses whitespace, masks secrets and e-mail addresses
// (redact.String) and shortens s to about maxMessage characters.
func cleanMessage(s string) string {
	if s == "" {
		return ""
	}
	// Bound the work on huge texts before redacting; keep some slack so a
	// secret or address cut by the bound is still recognised and masked.
	if len(s) > 4*maxMessage {
		s = s[:4*maxMessage]
	}
	s = strings.Join(strings.Fields(s), " ")
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = redact.String(s)
	if utf8.RuneCountInString(s) <= maxMessage {
		return s
	}
	n := 0
	for i := range s {
		if n == maxMessage {
			return strings.TrimSpace(s[:i]) + "…"
		}
		n++
	}
	return s
}

// rawText turns a JSON scalar into text: strings are unquoted, numbers and
// booleans kept as written, null and empty give "". Objects and arrays are
// returned as raw JSON.
func rawText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return strings.Trim(string(raw), `"`)
		}
		return strings.TrimSpace(s)
	case 'n':
		if string(raw) == "null" {
			return ""
		}
	}
	return strings.TrimSpace(string(raw))
}

// rawCode is rawText for codes: "0", "", null and false mean no code.
func rawCode(raw json.RawMessage) string {
	s := rawText(raw)
	switch s {
	case "0", "false", "[]", "{}":
		return ""
	}
	if len(s) > 80 || strings.ContainsAny(s, "{[") {
		return "" // not a code
	}
	return s
}

// rawTrue reports whether a JSON value is true (or the string "true").
func rawTrue(raw json.RawMessage) bool {
	s := rawText(raw)
	return s == "true" || strings.EqualFold(s, "true")
}
