package classify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// seedFuzz adds every testdata file whose name matches one of the
// patterns (and a few tiny bodies) as seeds.
func seedFuzz(f *testing.F, add func(body []byte), patterns ...string) {
	for _, p := range patterns {
		names, _ := filepath.Glob(filepath.Join("testdata", p))
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				f.Fatal(err)
			}
			add(b)
		}
	}
	for _, s := range []string{"", "{", "[", `"`, "<", "{}", "[]", "null", `{"errorcode":"x"}`} {
		add([]byte(s))
	}
}

// fuzzOne classifies one input and checks the invariants.
func fuzzOne(t *testing.T, c *Classifier, in Input) {
	r := c.Classify(in)
	if len(r.Classifications) == 0 {
		t.Fatal("no classifications")
	}
	anyErr := false
	for _, cl := range r.Classifications {
		if cl.Count < 1 {
			t.Fatalf("%q: count %d", cl.Code, cl.Count)
		}
		if !cl.Family.Valid() {
			t.Fatalf("%q: family %q", cl.Code, cl.Family)
		}
		if cl.IsError != cl.Family.IsError() {
			t.Fatalf("%q: IsError %v vs family %s", cl.Code, cl.IsError, cl.Family)
		}
		if len(cl.Message) > 4*maxMessage+8 {
			t.Fatalf("%q: message %d bytes", cl.Code, len(cl.Message))
		}
		anyErr = anyErr || cl.IsError
	}
	if anyErr != r.IsError {
		t.Fatalf("IsError %v vs classifications %v", r.IsError, anyErr)
	}
	if len(r.RecordStates) > 0 && (r.IsError || in.Status < 200 || in.Status > 299) {
		t.Fatalf("record states on a failed call (status %d, IsError %v)", in.Status, r.IsError)
	}
	for _, s := range r.RecordStates {
		if s.Count < 1 || !s.Family.Valid() || s.Field == "" {
			t.Fatalf("record state %+v", s)
		}
	}
	if r.RetryAfter < 0 {
		t.Fatalf("negative RetryAfter %v", r.RetryAfter)
	}
}

func FuzzREST(f *testing.F) {
	c := New(catalog.Default())
	seedFuzz(f, func(b []byte) { f.Add(400, b) }, "rest-*.json", "async-*.json", "mobileconnect-*.json", "journey-*.json", "truncated.json", "clean-*.json")
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		fuzzOne(t, c, Input{Surface: catalog.REST, Status: status, Body: body})
	})
}

func FuzzOAuth(f *testing.F) {
	c := New(catalog.Default())
	seedFuzz(f, func(b []byte) { f.Add(401, b) }, "oauth-*.json")
	f.Add(401, []byte(`{"error":"invalid_client","error_description":"Client authentication failed.","error_uri":"https://developer.salesforce.com/docs"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		fuzzOne(t, c, Input{URL: "https://x.auth.marketingcloudapis.com/v2/token", Status: status, Body: body})
	})
}

func FuzzSOAP(f *testing.F) {
	c := New(catalog.Default())
	seedFuzz(f, func(b []byte) { f.Add(500, b) }, "soap-*.xml")
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		fuzzOne(t, c, Input{URL: "https://x.soap.marketingcloudapis.com/Service.asmx", Status: status, Body: body})
	})
}

func FuzzTransactional(f *testing.F) {
	c := New(catalog.Default())
	seedFuzz(f, func(b []byte) { f.Add(202, b) }, "transactional-*.json", "ens-*.json", "definitionsend-*.json")
	f.Add(202, transactionalBatch(3))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		fuzzOne(t, c, Input{URL: "/messaging/v1/email/messages/", Status: status, Body: body})
	})
}

func FuzzHTML(f *testing.F) {
	c := New(catalog.Default())
	seedFuzz(f, func(b []byte) { f.Add(502, b) }, "gateway-*.html")
	f.Add(400, []byte("plain text error\nsecond line"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		fuzzOne(t, c, Input{Status: status, Body: body})
	})
}

func FuzzClassify(f *testing.F) {
	c := New(catalog.Default())
	urls := []string{"", "/v2/token", "/Service.asmx", "/messaging/v1/email/messages", "/messaging/v1/messageDefinitionSends/x/send",
		"/interaction/v1/interactions", "/contacts/v1/x", "/automation/v1/imports", "/data/v1/async/x/status",
		"GET /automation/v1/automations/x", "GET /messaging/v1/email/messages/?type=notSent", "GET /interaction/v1/interactions/key:x"}
	i := 0
	seedFuzz(f, func(b []byte) { f.Add(urls[i%len(urls)], 200+i%4*100, "", b); i++ }, "*")
	f.Add("/data/v1/x", 429, "Fri, 01 Mar 2030 12:00:00 GMT", []byte(`{"errorcode":50100,"retryAfter":"5"}`))
	f.Fuzz(func(t *testing.T, url string, status int, retry string, body []byte) {
		in := Input{URL: url, Status: status, Body: body}
		if m, rest, ok := strings.Cut(url, " "); ok && (m == "GET" || m == "POST" || m == "PATCH") {
			in.Method, in.URL = m, rest
		}
		if retry != "" {
			in.Header = map[string][]string{"Retry-After": {retry}}
		}
		if strings.HasPrefix(url, "s:") {
			in.Surface = catalog.Surface(strings.TrimPrefix(url, "s:"))
		}
		fuzzOne(t, c, in)
	})
}
