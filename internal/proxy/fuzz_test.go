package proxy

import (
	"strings"
	"testing"
)

// Request bodies come from the integrations: untrusted. The parsers must
// never panic, and what they extract becomes part of endpoint names, so it
// is printable, space-free and short.
func FuzzParseSOAPRequest(f *testing.F) {
	f.Add([]byte(`<s:Envelope><s:Header><fueloauth>tok</fueloauth></s:Header><s:Body><CreateRequest><Objects xsi:type="TriggeredSend"><TriggeredSendDefinition><CustomerKey>TS_A</CustomerKey></TriggeredSendDefinition></Objects></CreateRequest></s:Body></s:Envelope>`))
	f.Add([]byte(`<Envelope><Body><RetrieveRequestMsg><RetrieveRequest><ObjectType>DataExtensionObject[x]</ObjectType></RetrieveRequest></RetrieveRequestMsg></Body></Envelope>`))
	f.Add([]byte(`<Envelope><Body><CreateRequest><Objects xsi:type="ns:TriggeredSend"><TriggeredSendDefinition><CustomerKey>a b</CustomerKey>`))
	f.Add([]byte(`<<<>>><!DOCTYPE x [<!ENTITY a "b">]><a>&a;</a>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := parseSOAPRequest(b)
		for _, s := range []string{r.Action, r.ObjectType, r.DefinitionKey} {
			if len(s) > 128 || strings.ContainsAny(s, " \t\r\n\x00") {
				t.Fatalf("unsafe identifier %q", s)
			}
		}
		if r.DefinitionKey != "" && r.ObjectType != "TriggeredSend" {
			t.Fatalf("definition key %q for object %q", r.DefinitionKey, r.ObjectType)
		}
	})
}

func FuzzTokenRequestClientID(f *testing.F) {
	f.Add([]byte(`{"grant_type":"client_credentials","client_id":"abc","client_secret":"s"}`))
	f.Add([]byte(`client_id=abc&client_secret=s`))
	f.Add([]byte(`{"clientId":"abc","clientSecret":"s"}`))
	f.Add([]byte(`{"client_secret":{"nested":[1,2]},"client_id":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id := tokenRequestClientID(b)
		if len(id) > 128 || strings.ContainsAny(id, " \t\r\n\x00") {
			t.Fatalf("unsafe client id %q", id)
		}
		tok, ttl := tokenResponse(b)
		if tok != "" && (ttl <= 0 || ttl > 86400e9) {
			t.Fatalf("ttl %v", ttl)
		}
	})
}

func TestParseSOAPRequest(t *testing.T) {
	for _, c := range []struct {
		name, body                          string
		action, object, key, token, clientS string
	}{
		{name: "create triggered send", body: `<s:Envelope xmlns:s="x"><s:Header><fueloauth xmlns="y">T0K</fueloauth></s:Header><s:Body><CreateRequest xmlns="z"><Options/><Objects xsi:type="TriggeredSend"><TriggeredSendDefinition><CustomerKey>TS_Welcome</CustomerKey></TriggeredSendDefinition><Subscribers><EmailAddress>a@b.co</EmailAddress></Subscribers></Objects></CreateRequest></s:Body></s:Envelope>`,
			action: "Create", object: "TriggeredSend", key: "TS_Welcome", token: "T0K"},
		{name: "retrieve", body: `<soap:Envelope><soap:Body><RetrieveRequestMsg><RetrieveRequest><ObjectType>TriggeredSendSummary</ObjectType><Properties>Sent</Properties></RetrieveRequest></RetrieveRequestMsg></soap:Body></soap:Envelope>`,
			action: "Retrieve", object: "TriggeredSendSummary"},
		{name: "key of another object is not a definition key", body: `<Envelope><Body><CreateRequest><Objects xsi:type="DataExtension"><CustomerKey>DE</CustomerKey></Objects></CreateRequest></Body></Envelope>`,
			action: "Create", object: "DataExtension"},
		{name: "truncated after the key", body: `<Envelope><Body><CreateRequest><Objects xsi:type="TriggeredSend"><TriggeredSendDefinition><CustomerKey>TS_X</CustomerKey></TriggeredSendDefinition><Subscribers><Email`,
			action: "Create", object: "TriggeredSend", key: "TS_X"},
		{name: "perform", body: `<Envelope><Body><PerformRequestMsg><Action>start</Action></PerformRequestMsg></Body></Envelope>`, action: "Perform"},
		{name: "not XML", body: `{"hello":"world"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := parseSOAPRequest([]byte(c.body))
			if r.Action != c.action || r.ObjectType != c.object || r.DefinitionKey != c.key || r.Token != c.token {
				t.Fatalf("got %+v", r)
			}
		})
	}
}
