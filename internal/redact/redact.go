// Package redact masks secrets and personal data in text before it is
// logged, stored or reported: bearer tokens, OAuth tokens and client
// secrets (in JSON, form and query syntax, and SOAP fueloauth headers),
// and e-mail addresses.
package redact

import (
	"bytes"
	"regexp"
)

// Mask is what replaces a secret.
const Mask = "***"

// secretKeys are field names whose values are always masked.
const secretKeys = `access_token|refresh_token|client_secret|clientsecret|client_secret_file|password|passwd|signaturekey|signature_key|id_token|api_key|apikey|authorization|fueloauth|oauthtoken|x-api-key`

var (
	// "key": "value" and 'key': 'value' (JSON-ish).
	reJSON = regexp.MustCompile(`(?i)("(?:` + secretKeys + `)"\s*:\s*")((?:[^"\\]|\\.)*)(")`)
	// key=value in query strings and forms.
	reForm = regexp.MustCompile(`(?i)\b((?:` + secretKeys + `)=)([^&\s"'<>]+)`)
	// <fueloauth ...>token</fueloauth>, <oAuthToken>…</oAuthToken>, <Password>…</Password>.
	reXML = regexp.MustCompile(`(?i)(<(?:[a-z0-9]+:)?(?:fueloauth|oauthtoken|password|clientsecret|accesstoken)\b[^>]*>)([^<]*)(</)`)
	// Authorization: Bearer xxx / "Bearer xxx".
	reBearer = regexp.MustCompile(`(?i)\b(bearer\s+)([a-z0-9\-._~+/]+=*)`)
	// E-mail addresses.
	reEmail = regexp.MustCompile(`(?i)[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}`)
)

// Bytes returns b with secrets and e-mail addresses masked. It returns b
// itself (not a copy) when nothing needs masking.
func Bytes(b []byte) []byte {
	if !needs(b) {
		return b
	}
	out := b
	out = reJSON.ReplaceAll(out, []byte("${1}"+Mask+"${3}"))
	out = reForm.ReplaceAll(out, []byte("${1}"+Mask))
	out = reXML.ReplaceAll(out, []byte("${1}"+Mask+"${3}"))
	out = reBearer.ReplaceAll(out, []byte("${1}"+Mask))
	// Chained addresses (a@b.cc@d.ee) can leave a new match behind the
	// first mask: repeat until none is left (each pass masks at least one).
	for i := 0; i < 8 && bytes.IndexByte(out, '@') >= 0 && reEmail.Match(out); i++ {
		out = reEmail.ReplaceAllFunc(out, maskEmail)
	}
	return out
}

// String is Bytes for strings.
func String(s string) string {
	if !needs([]byte(s)) {
		return s
	}
	return string(Bytes([]byte(s)))
}

// needs reports whether b may hold something to mask: an '@' or, in any
// letter case, one of the words every pattern above contains. One pass, no
// allocation, so clean text costs a few nanoseconds per byte.
func needs(b []byte) bool {
	for i, c := range b {
		if !firstByte[c] {
			continue
		}
		if c == '@' {
			return true
		}
		rest := b[i:]
		switch c | 0x20 {
		case 't':
			if hasPrefixFold(rest, "token") {
				return true
			}
		case 's':
			if hasPrefixFold(rest, "secret") || hasPrefixFold(rest, "signature") {
				return true
			}
		case 'p':
			if hasPrefixFold(rest, "passw") {
				return true
			}
		case 'b':
			if hasPrefixFold(rest, "bearer") {
				return true
			}
		case 'a':
			if hasPrefixFold(rest, "authorization") || hasPrefixFold(rest, "apikey") || hasPrefixFold(rest, "api_key") || hasPrefixFold(rest, "api-key") {
				return true
			}
		case 'f':
			if hasPrefixFold(rest, "fueloauth") {
				return true
			}
		}
	}
	return false
}

// firstByte marks the bytes that can start something needs looks for.
var firstByte = func() (t [256]bool) {
	for _, c := range "@tspbafTSPBAF" {
		t[c] = true
	}
	return t
}()

// hasPrefixFold reports whether b starts with the lower-case ASCII word w,
// ignoring ASCII case.
func hasPrefixFold(b []byte, w string) bool {
	if len(b) < len(w) {
		return false
	}
	for j := 0; j < len(w); j++ {
		c := b[j]
		if w[j] >= 'a' && w[j] <= 'z' {
			c |= 0x20
		}
		if c != w[j] {
			return false
		}
	}
	return true
}

// maskEmail keeps the domain (useful for deliverability triage) and hides
// the local part: jane.doe@example.com -> ***@example.com.
func maskEmail(m []byte) []byte {
	at := bytes.LastIndexByte(m, '@')
	return append([]byte(Mask), m[at:]...)
}
