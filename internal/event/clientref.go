package event

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// ClientRef is the label under which a token request's client id is
// recorded (Event.ObjectKey of token calls): its first 4 characters, "~"
// and 8 hex digits of its SHA-256. A client id is not a secret, but it is
// kept masked all the same; the label is bounded (13 characters) and the
// same client id always gives the same label, so token requests can be
// counted per installed package without storing the id.
func ClientRef(clientID string) string {
	id := strings.TrimSpace(clientID)
	if id == "" {
		return ""
	}
	h := sha256.Sum256([]byte(id))
	prefix := id
	if len(prefix) > 4 {
		prefix = prefix[:4]
	}
	for i := 0; i < len(prefix); i++ {
		if c := prefix[i]; !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			prefix = ""
			break
		}
	}
	return prefix + "~" + hex.EncodeToString(h[:4])
}
