package classify

import (
	"strings"
	"testing"
)

// Codes come from bounded sets: free text SFMC puts where a code is
// expected (messageDefinitionSends messages[], a string errorcode) never
// becomes a code — codes are stored, exported as metric labels and printed
// in reports, so a subscriber's address in one would leak.
func TestFreeTextNeverBecomesACode(t *testing.T) {
	c := csvClassifier(t)
	bodies := map[string]string{
		"messages[] sentence with an address": `{"requestId":"r","responses":[{"messageKey":"k","hasErrors":true,"messages":["Unable to queue Triggered Send request. Email address jane.doe@example.com is invalid."]}]}`,
		"messages[] with a %40 address":       `{"responses":[{"messageKey":"k","hasErrors":true,"messages":["InvalidAddress jane.doe%40example.com"]}]}`,
		"string errorcode with an address":    `{"errorcode":"jane.doe@example.com","message":"bad"}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			r := c.Classify(Input{Status: 202, URL: "/messaging/v1/messageDefinitionSends/key:welcome/send", Method: "POST", Body: []byte(body)})
			for _, cl := range r.Classifications {
				if strings.Contains(cl.Code, "@") || strings.Contains(strings.ToLower(cl.Code), "%40") || strings.Count(cl.Code, " ") > 2 {
					t.Errorf("free text became a code: %q", cl.Code)
				}
				if strings.Contains(cl.Message, "jane.doe") {
					t.Errorf("address kept in the message: %q", cl.Message)
				}
			}
		})
	}
	// A code-like token stays the code (the catalog knows it).
	r := c.Classify(Input{Status: 202, URL: "/messaging/v1/messageDefinitionSends/key:welcome/send", Method: "POST",
		Body: []byte(`{"responses":[{"messageKey":"k","hasErrors":true,"messages":["InvalidOrMissingToAddress"]}]}`)})
	if r.Primary().Code != "InvalidOrMissingToAddress" {
		t.Errorf("code-like message: %+v", r.Classifications)
	}
}
