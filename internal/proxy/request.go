package proxy

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/url"
	"strings"
	"time"
)

// soapRequest is what the proxy reads from a request body: never stored
// as such, only the action, object type and definition key end up in the
// event; the token only names the integration (hashed).
type soapRequest struct {
	// Action is the SOAP operation (Create, Retrieve, …) from the body's
	// first element; ObjectType the object it acts on (Retrieve's
	// ObjectType or the first Objects' xsi:type).
	Action, ObjectType string
	// DefinitionKey is a TriggeredSend's TriggeredSendDefinition
	// CustomerKey (Create TriggeredSend).
	DefinitionKey string
	// Token is the fueloauth header's access token.
	Token string
	// ClientID is a token request's client_id (auth route only).
	ClientID string
}

// maxSOAPTokens bounds the XML tokens read from one request prefix.
const maxSOAPTokens = 4096

// parseSOAPRequest reads the action, object type, triggered send key and
// fueloauth token from (a prefix of) a SOAP request envelope. Truncated or
// malformed XML yields whatever was found before the damage.
func parseSOAPRequest(b []byte) soapRequest {
	var out soapRequest
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false
	var stack []string
	inBody := false
	for range maxSOAPTokens {
		tok, err := dec.RawToken()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if inBody && out.Action == "" && stack[len(stack)-1] == "Body" {
				// RetrieveRequestMsg, CreateRequest, PerformRequestMsg, …
				out.Action = strings.TrimSuffix(strings.TrimSuffix(name, "Msg"), "Request")
			}
			if name == "Body" {
				inBody = true
			}
			if name == "Objects" && out.ObjectType == "" {
				for _, a := range t.Attr {
					if a.Name.Local == "type" {
						v := a.Value
						if i := strings.LastIndexByte(v, ':'); i >= 0 {
							v = v[i+1:]
						}
						out.ObjectType = cleanToken(v)
					}
				}
			}
			stack = append(stack, name)
			if len(stack) > 64 {
				return out
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if len(stack) == 0 {
				continue
			}
			cur := stack[len(stack)-1]
			switch {
			case strings.EqualFold(cur, "fueloauth") && out.Token == "":
				out.Token = strings.TrimSpace(string(t))
			case cur == "ObjectType" && out.ObjectType == "" && inBody:
				out.ObjectType = cleanToken(strings.TrimSpace(string(t)))
			case cur == "CustomerKey" && out.DefinitionKey == "" && len(stack) >= 2 && stack[len(stack)-2] == "TriggeredSendDefinition":
				out.DefinitionKey = cleanToken(strings.TrimSpace(string(t)))
			}
		}
	}
	out.Action = cleanToken(out.Action)
	if out.ObjectType != "TriggeredSend" {
		out.DefinitionKey = ""
	}
	return out
}

// cleanToken keeps identifiers printable, without spaces, and short (they
// become part of endpoint names).
func cleanToken(s string) string {
	if len(s) > 128 {
		s = s[:128]
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return ""
		}
	}
	return s
}

// tokenRequestClientID reads client_id from a token request body (JSON, or
// a form for the legacy and standard OAuth shapes). The secret next to it
// is never looked at.
func tokenRequestClientID(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	if b[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(b))
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return ""
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return ""
			}
			key, _ := k.(string)
			if strings.EqualFold(key, "client_id") || strings.EqualFold(key, "clientId") {
				var v string
				if dec.Decode(&v) != nil {
					return ""
				}
				return cleanToken(v)
			}
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return ""
			}
		}
		return ""
	}
	vals, err := url.ParseQuery(string(b))
	if err != nil {
		return ""
	}
	return cleanToken(vals.Get("client_id"))
}

// tokenResponse reads access_token and expires_in from a token response
// (JSON). The token is only hashed by the caller.
func tokenResponse(b []byte) (token string, ttl time.Duration) {
	var v struct {
		AccessToken string          `json:"access_token"`
		LegacyToken string          `json:"accessToken"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		LegacyExp   json.RawMessage `json:"expiresIn"`
	}
	dec := json.NewDecoder(io.LimitReader(bytes.NewReader(b), 64<<10))
	if dec.Decode(&v) != nil {
		return "", 0
	}
	token = v.AccessToken
	if token == "" {
		token = v.LegacyToken
	}
	exp := v.ExpiresIn
	if len(exp) == 0 {
		exp = v.LegacyExp
	}
	var secs float64
	if json.Unmarshal(exp, &secs) != nil {
		var s string
		_ = json.Unmarshal(exp, &s)
		_ = json.Unmarshal([]byte(s), &secs)
	}
	ttl = time.Duration(secs * float64(time.Second))
	if ttl <= 0 || ttl > 24*time.Hour {
		ttl = 20 * time.Minute
	}
	return token, ttl
}
