package classify

import (
	"bytes"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// surfaceFromURL detects the API surface from a request URL or path; ""
// when u is empty.
func surfaceFromURL(u string) catalog.Surface {
	if u == "" {
		return ""
	}
	p, _ := urlPath(u)
	switch {
	case strings.Contains(p, "/v2/token"), strings.Contains(p, "/v1/requesttoken"), strings.Contains(p, "/v2/authorize"):
		return catalog.OAuth
	case strings.Contains(p, "service.asmx"):
		return catalog.SOAP
	case strings.Contains(p, "/messaging/v1/messagedefinitionsends"):
		return catalog.TriggeredSend
	case strings.Contains(p, "/messaging/v1/email/"), strings.Contains(p, "/messaging/v1/sms/"),
		strings.HasSuffix(p, "/messaging/v1/email"), strings.HasSuffix(p, "/messaging/v1/sms"):
		return catalog.Transactional
	case strings.Contains(p, "/interaction/"):
		return catalog.Journey
	case strings.Contains(p, "/contacts/"):
		return catalog.Contacts
	case strings.Contains(p, "/automation/v1/imports"):
		return catalog.Import
	case strings.Contains(p, "/automation/"):
		return catalog.Automation
	}
	return catalog.REST
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// surfaceFromKind guesses the surface from the body alone (no URL given).
// JSON shapes are refined while parsing (OAuth, transactional, journey…).
func surfaceFromKind(k bodyKind, b []byte) catalog.Surface {
	switch k {
	case kindJSON:
		if bytes.Contains(b, []byte(`"error_description"`)) {
			return catalog.OAuth
		}
		return catalog.REST
	case kindSOAP:
		return catalog.SOAP
	}
	return catalog.HTTP
}

// refine switches a generic REST surface to the one the body shape reveals.
func (col *collector) refine(s catalog.Surface) {
	if col.surface == catalog.REST || col.surface == catalog.HTTP || col.surface == "" {
		col.surface = s
	}
}

// restChain is the lookup order for REST-style codes on surface s: the
// surface's own codes first, then the shared REST table.
func restChain(s catalog.Surface) chain {
	switch s {
	case catalog.OAuth:
		return chain{catalog.OAuth, catalog.REST}
	case catalog.Import:
		return chain{catalog.Import, catalog.Automation, catalog.REST}
	case catalog.Transactional, catalog.Journey, catalog.Contacts, catalog.Automation, catalog.TriggeredSend, catalog.ENS:
		return chain{s, catalog.REST}
	}
	return chain{catalog.REST}
}

// soapChain is the lookup order for SOAP ErrorCodes: SFMC files several
// SOAP code ranges under the object's surface (triggered sends, imports,
// extracts).
func soapChain(s catalog.Surface) chain {
	switch s {
	case catalog.TriggeredSend, catalog.Import, catalog.Automation:
		return chain{s, catalog.SOAP, catalog.TriggeredSend, catalog.Import}
	}
	return chain{catalog.SOAP, catalog.TriggeredSend, catalog.Import, catalog.Automation}
}
