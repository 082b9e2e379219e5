// Package redact masks secrets and personal data in text before it is
// logged, stored or reported: bearer and Basic credentials, OAuth and
// legacy tokens, secrets, keys and signatures (in JSON, form and query
// syntax, and SOAP fueloauth headers), bare JWTs, passwords in connection
// strings, e-mail addresses (internationalised or URL-encoded too) and
// international phone numbers.
package redact

import (
	"bytes"
	"regexp"
)

// Mask is what replaces a secret.
const Mask = "***"

// secretKeys are field names whose values are always masked (the whole
// name, any letter case): OAuth and SFMC legacy tokens, secrets, keys,
// signatures and passwords.
const secretKeys = `access_?token|refresh_?token|legacy_?token|id_?token|token|client_?secret|client_secret_file|secret|private_?key|api_?key|x-api-key|key|signature|signature_?key|password|passwd|authorization|fueloauth|oauthtoken`

var (
	// "key": "value" and 'key': 'value' (JSON-ish).
	reJSON = regexp.MustCompile(`(?i)("(?:` + secretKeys + `)"\s*:\s*")((?:[^"\\]|\\.)*)(")`)
	// key=value in query strings and forms.
	reForm = regexp.MustCompile(`(?i)\b((?:` + secretKeys + `)=)([^&\s"'<>]+)`)
	// <fueloauth ...>token</fueloauth>, <oAuthToken>…</oAuthToken>, <Password>…</Password>.
	reXML = regexp.MustCompile(`(?i)(<(?:[a-z0-9]+:)?(?:fueloauth|oauthtoken|password|clientsecret|accesstoken)\b[^>]*>)([^<]*)(</)`)
	// Authorization: Bearer xxx / "Bearer xxx".
	reBearer = regexp.MustCompile(`(?i)\b(bearer\s+)([a-z0-9\-._~+/]+=*)`)
	// Authorization: Basic base64.
	reBasic = regexp.MustCompile(`(?i)\b(basic\s+)([a-z0-9+/]{8,}=*)`)
	// Bare JWTs (header.payload.signature, base64url, header starting {").
	reJWT = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`)
	// Passwords in connection strings: scheme://user:password@host.
	reDSN = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.\-]*://[^:/@\s"'<>]+:)([^@\s"'<>]+)(@)`)
	// E-mail addresses, internationalised domains included.
	reEmail = regexp.MustCompile(`(?i)[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}.\-]+\.[\p{L}]{2,}`)
	// E-mail addresses written URL-encoded (jane%40example.com).
	reEmailEncoded = regexp.MustCompile(`(?i)[\p{L}\p{N}._+\-]+%40[\p{L}\p{N}.\-]+\.[\p{L}]{2,}`)
	// Phone numbers in international form (+44 20 7946 0958).
	rePhone = regexp.MustCompile(`\+\d[\d\s().\-]{7,}\d`)
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
	out = reBasic.ReplaceAll(out, []byte("${1}"+Mask))
	out = reJWT.ReplaceAll(out, []byte(Mask))
	out = reDSN.ReplaceAll(out, []byte("${1}"+Mask+"${3}"))
	out = reEmailEncoded.ReplaceAllFunc(out, maskEncodedEmail)
	out = rePhone.ReplaceAll(out, []byte(Mask))
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
		rest := b[i:]
		switch c {
		case '@': // e-mail addresses and passwords in connection strings
			return true
		case '+':
			if phoneLike(rest) {
				return true
			}
			continue
		case '%':
			if len(rest) >= 3 && rest[1] == '4' && rest[2] == '0' {
				return true
			}
			continue
		}
		switch c | 0x20 {
		case 'k':
			// Only the field named exactly "key" (messageKey, customerKey
			// are object keys, not secrets).
			if i > 0 && b[i-1] == '"' && hasPrefixFold(rest, "key\"") {
				return true
			}
		case 'e':
			if hasPrefixFold(rest, "eyj") {
				return true
			}
		case 't':
			if hasPrefixFold(rest, "token") {
				return true
			}
		case 's':
			if hasPrefixFold(rest, "secret") || hasPrefixFold(rest, "signature") {
				return true
			}
		case 'p':
			if hasPrefixFold(rest, "passw") || hasPrefixFold(rest, "private") {
				return true
			}
		case 'b':
			if hasPrefixFold(rest, "bearer") || hasPrefixFold(rest, "basic") {
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
	for _, c := range "@+%tspbafkeTSPBAFKE" {
		t[c] = true
	}
	return t
}()

// phoneLike reports whether b (starting at '+') begins like an
// international phone number: a digit, then at least 8 digits within the
// next 16 bytes (a time-zone offset such as +00:00 is not).
func phoneLike(b []byte) bool {
	if len(b) < 2 || b[1] < '0' || b[1] > '9' {
		return false
	}
	n := 0
	for _, c := range b[1:min(len(b), 18)] {
		if c >= '0' && c <= '9' {
			n++
		}
	}
	return n >= 9
}

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

// maskEncodedEmail is maskEmail for jane%40example.com.
func maskEncodedEmail(m []byte) []byte {
	at := bytes.LastIndex(m, []byte("%40"))
	return append([]byte(Mask), m[at:]...)
}

// maskEmail keeps the domain (useful for deliverability triage) and hides
// the local part: jane.doe@example.com -> ***@example.com.
func maskEmail(m []byte) []byte {
	at := bytes.LastIndexByte(m, '@')
	return append([]byte(Mask), m[at:]...)
}
