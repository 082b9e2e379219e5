package endpoint

import (
	"strings"
	"testing"
)

func TestTemplate(t *testing.T) {
	cases := []struct{ in, tmpl, key string }{
		{"https://mc123.auth.marketingcloudapis.com/v2/token", "/v2/token", ""},
		{"/v2/userinfo", "/v2/userinfo", ""},
		{"https://mc123.soap.marketingcloudapis.com/Service.asmx", "/Service.asmx", ""},
		{"https://mc123.soap.marketingcloudapis.com/service.asmx", "/Service.asmx", ""},
		{"/SERVICE.ASMX?wsdl", "/Service.asmx", ""},
		{"https://mc123.rest.marketingcloudapis.com/data/v1/customobjectdata/key/MyDE/rowset?$page=1&$pageSize=1", "/data/v1/customobjectdata/key/{key}/rowset", "MyDE"},
		{"/hub/v1/dataevents/key:Orders_DE/rowset", "/hub/v1/dataevents/key:{key}/rowset", "Orders_DE"},
		{"/hub/v1/dataevents/key:Orders_DE/rows/Email:jane@example.com", "/hub/v1/dataevents/key:{key}/rows/{key}", "Orders_DE"},
		{"/hub/v1/dataevents/5E6B2A1C-0D9F-4C4B-9E3A-3C8E1F7A2B11/rowset", "/hub/v1/dataevents/{id}/rowset", "5E6B2A1C-0D9F-4C4B-9E3A-3C8E1F7A2B11"},
		{"/messaging/v1/email/messages/7f1c2f0e-order-4711", "/messaging/v1/email/messages/{messageKey}", "7f1c2f0e-order-4711"},
		{"/messaging/v1/email/messages/?type=notSent&$pagesize=50&lastEventId=12", "/messaging/v1/email/messages", ""},
		{"/messaging/v1/sms/messages/welcome-sms-1", "/messaging/v1/sms/messages/{messageKey}", "welcome-sms-1"},
		{"/messaging/v1/email/definitions", "/messaging/v1/email/definitions", ""},
		{"/messaging/v1/email/definitions/order-confirmation/queue", "/messaging/v1/email/definitions/{key}/queue", "order-confirmation"},
		{"/messaging/v1/messageDefinitionSends/key:WelcomeTSD/send", "/messaging/v1/messageDefinitionSends/key:{key}/send", "WelcomeTSD"},
		{"/messaging/v1/messageDefinitionSends/0f7a4d3c-1b2a-4e5f-8a9b-0c1d2e3f4a5b/send", "/messaging/v1/messageDefinitionSends/{id}/send", "0f7a4d3c-1b2a-4e5f-8a9b-0c1d2e3f4a5b"},
		{"/messaging/v1/messageDefinitionSends/key:WelcomeTSD/deliveryRecords/abc-recipient", "/messaging/v1/messageDefinitionSends/key:{key}/deliveryRecords/{id}", "WelcomeTSD"},
		{"/interaction/v1/interactions/3c1d7b8e-5f0a-4b7e-9a61-2d8f0b6c4e19", "/interaction/v1/interactions/{id}", "3c1d7b8e-5f0a-4b7e-9a61-2d8f0b6c4e19"},
		{"/interaction/v1/interactions/3c1d7b8e-5f0a-4b7e-9a61-2d8f0b6c4e19/audit/all", "/interaction/v1/interactions/{id}/audit/all", "3c1d7b8e-5f0a-4b7e-9a61-2d8f0b6c4e19"},
		{"/interaction/v1/interactions?$page=1&$pageSize=50&extras=stats", "/interaction/v1/interactions", ""},
		{"/interaction/v1/interactions/publishStatus/9b1e", "/interaction/v1/interactions/publishStatus/{id}", "9b1e"},
		{"/interaction/v1/interactions/journeyhistory/download", "/interaction/v1/interactions/journeyhistory/download", ""},
		{"/interaction/v1/eventDefinitions/key:APIEvent-1234", "/interaction/v1/eventDefinitions/key:{key}", "APIEvent-1234"},
		{"/automation/v1/automations/a1b2c3d4-0000-4000-8000-000000000001", "/automation/v1/automations/{id}", "a1b2c3d4-0000-4000-8000-000000000001"},
		{"/automation/v1/automations", "/automation/v1/automations", ""},
		{"/automation/v1/imports/42", "/automation/v1/imports/{id}", "42"},
		{"/data/v1/async/8c2d4e6f-1a3b-4c5d-8e7f-9a0b1c2d3e4f/status", "/data/v1/async/{requestId}/status", "8c2d4e6f-1a3b-4c5d-8e7f-9a0b1c2d3e4f"},
		{"/data/v1/async/8c2d4e6f-1a3b-4c5d-8e7f-9a0b1c2d3e4f/results", "/data/v1/async/{requestId}/results", "8c2d4e6f-1a3b-4c5d-8e7f-9a0b1c2d3e4f"},
		{"/data/v1/async/dataextensions/key:Leads/rows", "/data/v1/async/dataextensions/key:{key}/rows", "Leads"},
		{"/data/v1/async/dataextensions/1234-abcd/rows", "/data/v1/async/dataextensions/{id}/rows", "1234-abcd"},
		{"/data/v1/audit/auditEvents?$page=1&startdate=2024-01-01", "/data/v1/audit/auditEvents", ""},
		{"/asset/v1/content/assets/98765", "/asset/v1/content/assets/{id}", "98765"},
		{"/asset/v1/content/assets/query", "/asset/v1/content/assets/query", ""},
		{"/legacy/v1/beta/bulk/automations/automation/definition/", "/legacy/v1/beta/bulk/automations/automation/definition", ""},
		{"/legacy/v1/beta/automations/notifications/RkpOcE9qMnZhOTRlOXc", "/legacy/v1/beta/automations/notifications/{id}", "RkpOcE9qMnZhOTRlOXc"},
		{"/platform/v1/ens-subscriptions-by-cb/cb-77", "/platform/v1/ens-subscriptions-by-cb/{id}", "cb-77"},
		{"/contacts/v1/contacts/actions/delete", "/contacts/v1/contacts/actions/delete", ""},
		{"/data/v1/customobjectdata/key=My%20DE/rowset", "/data/v1/customobjectdata/key={key}/rowset", "My DE"},
		{"/unknown/v3/things/123456/sub/5E6B2A1C0D9F4C4B9E3A3C8E1F7A2B11", "/unknown/v3/things/{id}/sub/{guid}", "123456"},
		{"POST /v2/token", "/v2/token", ""},
		{"data/v1/async/abc123/status", "/data/v1/async/{requestId}/status", "abc123"},
		{"//data//v1/async/{requestId}/status", "/data/v1/async/{requestId}/status", ""},
		{"https://x.rest.marketingcloudapis.com", "/", ""},
		{"/sms/v1/messageContact/MzA6Nzg6MA/send", "/sms/v1/messageContact/{id}/send", "MzA6Nzg6MA"},
		{"/push/v1/messageApp/welcomePush/send", "/push/v1/messageApp/{id}/send", "welcomePush"},
		{"/data/v1/customobjectdata/token/abcToken/rowset", "/data/v1/customobjectdata/token/{id}/rowset", "abcToken"},
		{"/address/v1/validateEmail", "/address/v1/validateEmail", ""},
		{"/interaction/v1/events", "/interaction/v1/events", ""},
		{"", "", ""},
	}
	for _, c := range cases {
		tm, key := Template(c.in)
		if tm != c.tmpl || key != c.key {
			t.Errorf("Template(%q) = %q, %q; want %q, %q", c.in, tm, key, c.tmpl, c.key)
		}
		// Templates are fixed points.
		if again, k2 := Template(tm); again != tm || k2 != "" {
			t.Errorf("Template(%q) = %q, %q; want it unchanged", tm, again, k2)
		}
	}
}

func TestTemplateNoAlloc(t *testing.T) {
	for _, in := range []string{"/data/v1/async/{requestId}/status", "/v2/token", "/Service.asmx", "https://x.auth.marketingcloudapis.com/v2/token?x=1", "/messaging/v1/messageDefinitionSends/key:{key}/send"} {
		if n := testing.AllocsPerRun(100, func() { Template(in) }); n != 0 {
			t.Errorf("Template(%q): %v allocations, want 0", in, n)
		}
	}
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"/v2/token", "https://a/b/key:c/d?e#f", "x//y/", "/Service.asmx", "GET /hub/v1/dataevents/key:a/rows/b:c", "{x}", "/%zz/123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		tm, key := Template(in)
		if tm == "" {
			return
		}
		if tm[0] != '/' {
			t.Fatalf("Template(%q) = %q: not a path", in, tm)
		}
		if strings.ContainsAny(tm, "?#") {
			t.Fatalf("Template(%q) = %q: query kept", in, tm)
		}
		if key != "" && tm == pathOf(in) {
			t.Fatalf("Template(%q): key %q but nothing replaced", in, key)
		}
		if again, _ := Template(tm); again != tm {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, tm, again)
		}
	})
}

func BenchmarkTemplate(b *testing.B) {
	b.Run("template", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Template("/data/v1/async/{requestId}/status")
		}
	})
	b.Run("rewrite", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Template("https://mc123.rest.marketingcloudapis.com/hub/v1/dataevents/key:Orders_DE/rowset?x=1")
		}
	})
}
