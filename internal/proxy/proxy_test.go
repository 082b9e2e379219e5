package proxy_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/proxy"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

const (
	secretToken  = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjQiLCJ2ZXIiOiIxIiwidHlwIjoiSldUIn0.SECRET-TOKEN-42"
	secretClient = "CLIENT-SECRET-do-not-store-7d1f"
	subscriber   = "jane.doe@example.com"
)

func soapEnvelope(body string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">` +
		`<s:Header><a:Action s:mustUnderstand="1">Create</a:Action><fueloauth xmlns="http://exacttarget.com">` + secretToken + `</fueloauth></s:Header>` +
		`<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">` + body + `</s:Body></s:Envelope>`)
}

func createTriggeredSend(key string) []byte {
	return soapEnvelope(`<CreateRequest xmlns="http://exacttarget.com/wsdl/partnerAPI"><Objects xsi:type="TriggeredSend">` +
		`<TriggeredSendDefinition><CustomerKey>` + key + `</CustomerKey></TriggeredSendDefinition>` +
		`<Subscribers><EmailAddress>` + subscriber + `</EmailAddress><SubscriberKey>` + subscriber + `</SubscriberKey></Subscribers></Objects></CreateRequest>`)
}

// byteCase is one call sent directly and through the proxy.
type byteCase struct {
	name, method, path string
	hdr                map[string]string
	body               []byte
	ans                answer
}

// byteCases are the calls the byte-identity tests send.
func byteCases() []byteCase {
	big := bytes.Repeat([]byte(`{"keys":{"id":"1"},"values":{"email":"x"}},`), 30000) // ~1.3 MB, beyond every cap
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"message":"Not Authorized","errorcode":0,"documentation":""}`))
	_ = zw.Close()
	return []byteCase{
		{name: "token request", method: "POST", path: "/v2/token", hdr: map[string]string{"Content-Type": "application/json"},
			body: []byte(`{"grant_type":"client_credentials","client_id":"abc","client_secret":"` + secretClient + `","account_id":"123"}`),
			ans:  answer{status: 200, body: []byte(`{"access_token":"` + secretToken + `","token_type":"Bearer","expires_in":1079}`), header: map[string]string{"Content-Type": "application/json"}}},
		{name: "REST GET with query and escapes", method: "GET", path: "/data/v1/customobjectdata/key/DE%20Orders/rowset?$page=2&$filter=Email%20like%20%27%25x%27",
			hdr: map[string]string{"Authorization": "Bearer " + secretToken, "X-Custom": "a, b", "Accept": "application/json"},
			ans: answer{status: 200, body: []byte(`{"count":0,"items":[]}`), header: map[string]string{"Content-Type": "application/json; charset=utf-8", "X-Mashery-Responder": "x1"}}},
		{name: "large streamed upload and chunked download", method: "POST", path: "/hub/v1/dataevents/key:DE_X/rowset",
			hdr: map[string]string{"Authorization": "Bearer " + secretToken, "Content-Type": "application/json"}, body: big,
			ans: answer{status: 200, body: big, chunked: true, header: map[string]string{"Content-Type": "application/json"}}},
		{name: "gzip error body passed through compressed", method: "GET", path: "/platform/v1/endpoints",
			hdr: map[string]string{"Authorization": "Bearer x", "Accept-Encoding": "gzip"},
			ans: answer{status: 401, body: gz.Bytes(), header: map[string]string{"Content-Encoding": "gzip", "Content-Type": "application/json", "WWW-Authenticate": "Bearer"}}},
		{name: "SOAP create", method: "POST", path: "/Service.asmx", hdr: map[string]string{"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "Create"},
			body: createTriggeredSend("TS_Welcome"),
			ans:  answer{status: 200, body: []byte(`<soap:Envelope><soap:Body><CreateResponse><OverallStatus>OK</OverallStatus></CreateResponse></soap:Body></soap:Envelope>`), header: map[string]string{"Content-Type": "text/xml"}}},
		{name: "forwarding headers kept as sent", method: "GET", path: "/asset/v1/content/assets",
			hdr: map[string]string{"X-Forwarded-For": "10.1.2.3", "Forwarded": "for=10.1.2.3"},
			ans: answer{status: 204}},
	}
}

// checkByteIdentical sends c directly to the upstream and through the
// proxy at proxyURL: the upstream must receive the same request and the
// client the same response, byte for byte (Date aside). It returns the
// proxied response.
func checkByteIdentical(t *testing.T, r *rig, proxyURL string, c byteCase, tlsUpstream bool) *http.Response {
	t.Helper()
	r.up.answer = func(*http.Request) answer { return c.ans }
	dResp, dBody := r.do(t, r.upSrv.URL, c.method, c.path, c.hdr, c.body)
	direct := r.up.last()
	pResp, pBody := r.do(t, proxyURL, c.method, c.path, c.hdr, c.body)
	proxied := r.up.last()
	if direct.TLS != tlsUpstream || proxied.TLS != tlsUpstream {
		t.Fatalf("upstream TLS direct=%v proxied=%v, want %v", direct.TLS, proxied.TLS, tlsUpstream)
	}
	if !reflect.DeepEqual(direct, proxied) {
		t.Fatalf("upstream saw different requests:\ndirect  %s %s %v (%d bytes)\nproxied %s %s %v (%d bytes)",
			direct.Method, direct.RequestURI, direct.Header, len(direct.Body), proxied.Method, proxied.RequestURI, proxied.Header, len(proxied.Body))
	}
	if dResp.StatusCode != pResp.StatusCode || !bytes.Equal(dBody, pBody) {
		t.Fatalf("response differs: %d %d bytes vs %d %d bytes", dResp.StatusCode, len(dBody), pResp.StatusCode, len(pBody))
	}
	dh, ph := dResp.Header.Clone(), pResp.Header.Clone()
	dh.Del("Date")
	ph.Del("Date")
	if !reflect.DeepEqual(dh, ph) || dResp.ContentLength != pResp.ContentLength {
		t.Fatalf("response headers differ:\ndirect  %v (len %d)\nproxied %v (len %d)", dh, dResp.ContentLength, ph, pResp.ContentLength)
	}
	return pResp
}

// TestByteIdentical: through the proxy (plain listener), each call reaches
// the upstream and comes back byte-identical, over a plain and a TLS
// upstream.
func TestByteIdentical(t *testing.T) {
	for _, tls := range []bool{false, true} {
		r := newRig(t, proxy.Options{}, tls)
		for _, c := range byteCases() {
			name := c.name
			if tls {
				name += " (TLS upstream)"
			}
			t.Run(name, func(t *testing.T) { checkByteIdentical(t, r, r.proxySrv.URL, c, tls) })
		}
	}
}

// TestRecordedEvents checks what is recorded per call, and that no secret,
// token or subscriber address is ever in a recorded event.
func TestRecordedEvents(t *testing.T) {
	clients := map[string]string{"crm-client-id": "crm-sync"}
	r := newRig(t, proxy.Options{Integration: "port-9001", IntegrationHeader: "X-Sfmcwatch-Integration", ClientIntegrations: clients}, false)
	tokenOK := fixture(t, "auth/token-success.json")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(tokenOK, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token fixture: %v", err)
	}
	cases := []struct {
		name, method, path string
		hdr                map[string]string
		body               []byte
		ans                answer
		want               store.EventRecord // compared fields: Integration, Endpoint, ObjectKey, Status, Family, Code, IsError
		keepsBody          bool
	}{
		{name: "token request names the integration by client id", method: "POST", path: "/v2/token",
			body: []byte(`{"grant_type":"client_credentials","client_id":"crm-client-id","client_secret":"` + secretClient + `"}`),
			ans:  answer{status: 200, body: tokenOK, header: map[string]string{"Content-Type": "application/json"}},
			// The client id is kept as a masked label (credentials.contention).
			want: rec("crm-sync", "/v2/token", event.ClientRef("crm-client-id"), 200, "none", "", false)},
		{name: "REST call with that token is crm-sync", method: "GET", path: "/data/v1/customobjectdata/key/DE_Orders/rowset",
			hdr:  map[string]string{"Authorization": "Bearer " + tok.AccessToken},
			want: rec("crm-sync", "/data/v1/customobjectdata/key/{key}/rowset", "DE_Orders", 200, "none", "", false)},
		{name: "token rejected", method: "POST", path: "/v2/token",
			body: []byte(`{"grant_type":"client_credentials","client_id":"other","client_secret":"` + secretClient + `"}`),
			ans:  answer{status: 401, body: fixture(t, "auth/token-401-invalid-client.json"), header: map[string]string{"Content-Type": "application/json"}},
			want: rec("port-9001", "/v2/token", event.ClientRef("other"), 401, "auth", "invalid_client", true), keepsBody: true},
		{name: "header names the integration; 429 is rate_limit", method: "GET", path: "/interaction/v1/interactions",
			hdr:  map[string]string{"X-Sfmcwatch-Integration": "loader", "Authorization": "Bearer unknown"},
			ans:  answer{status: 429, body: fixture(t, "errors/rest-429-rate-limit-50100.json"), header: map[string]string{"Content-Type": "application/json", "Retry-After": "5"}},
			want: rec("loader", "/interaction/v1/interactions", "", 429, "rate_limit", "50100", true), keepsBody: true},
		{name: "SOAP 500 token expired is auth", method: "POST", path: "/Service.asmx", hdr: map[string]string{"SOAPAction": "Retrieve"},
			body: soapEnvelope(`<RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><RetrieveRequest><ObjectType>DataExtensionObject[DE_X]</ObjectType><Properties>Email</Properties></RetrieveRequest></RetrieveRequestMsg>`),
			ans:  answer{status: 500, body: fixture(t, "errors/soap-fault-token-expired.xml"), header: map[string]string{"Content-Type": "text/xml"}},
			want: rec("port-9001", "/Service.asmx Retrieve DataExtensionObject[DE_X]", "", 500, "auth", "", true), keepsBody: true},
		{name: "SOAP create triggered send: key from the body", method: "POST", path: "/Service.asmx", hdr: map[string]string{"SOAPAction": "Create"},
			body: createTriggeredSend("TS_Welcome"),
			ans:  answer{status: 200, body: []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><CreateResponse xmlns="http://exacttarget.com/wsdl/partnerAPI"><Results><StatusCode>OK</StatusCode><StatusMessage>Created TriggeredSend</StatusMessage></Results><OverallStatus>OK</OverallStatus></CreateResponse></soap:Body></soap:Envelope>`), header: map[string]string{"Content-Type": "text/xml"}},
			want: rec("port-9001", "/Service.asmx Create TriggeredSend", "TS_Welcome", 200, "none", "", false)},
		{name: "REST triggered send accepted", method: "POST", path: "/messaging/v1/messageDefinitionSends/key:TS_Welcome/send",
			body: []byte(`{"To":{"Address":"` + subscriber + `","SubscriberKey":"` + subscriber + `"}}`),
			ans:  answer{status: 202, body: fixture(t, "triggeredsend/messagedefinitionsends-async-queued.json"), header: map[string]string{"Content-Type": "application/json"}},
			want: rec("port-9001", "/messaging/v1/messageDefinitionSends/key:{key}/send", "TS_Welcome", 202, "none", "", false)},
		{name: "2xx body error is an error (gzip)", method: "POST", path: "/messaging/v1/messageDefinitionSends/key:TS_Welcome/send",
			hdr:  map[string]string{"Accept-Encoding": "gzip"},
			body: []byte(`{"To":{"Address":"` + subscriber + `"}}`),
			ans: answer{status: 202, body: gzipped(`{"requestId":"r1","responses":[{"recipientSendId":"r1","hasErrors":true,"messageErrors":[{"messageErrorCode":180008,"messageErrorStatus":"No valid subscribers were provided for ` + subscriber + `"}]}]}`),
				header: map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}},
			want: rec("port-9001", "/messaging/v1/messageDefinitionSends/key:{key}/send", "TS_Welcome", 202, "", "180008", true), keepsBody: true},
	}
	n := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r.up.answer = func(*http.Request) answer {
				if c.ans.status == 0 {
					return answer{status: 200, body: []byte(`{"count":0,"items":[]}`), header: map[string]string{"Content-Type": "application/json"}}
				}
				return c.ans
			}
			r.do(t, r.proxySrv.URL, c.method, c.path, c.hdr, c.body)
			n++
			got := r.sink.waitEvents(t, n)[n-1]
			w := c.want
			if got.Source != proxy.Source || got.Tenant != "acme" || got.Method != c.method || got.TS.IsZero() || got.Duration <= 0 || got.RequestID != "" {
				t.Errorf("common fields: %+v", got.Event)
			}
			if got.Integration != w.Integration || got.Endpoint != w.Endpoint || got.ObjectKey != w.ObjectKey || got.Status != w.Status || got.IsError != w.IsError {
				t.Errorf("got integration=%q endpoint=%q key=%q status=%d error=%v\nwant integration=%q endpoint=%q key=%q status=%d error=%v",
					got.Integration, got.Endpoint, got.ObjectKey, got.Status, got.IsError, w.Integration, w.Endpoint, w.ObjectKey, w.Status, w.IsError)
			}
			if w.Family != "" && got.Family != w.Family {
				t.Errorf("family %q, want %q", got.Family, w.Family)
			}
			if w.Code != "" && got.Code != w.Code {
				t.Errorf("code %q, want %q", got.Code, w.Code)
			}
			if c.keepsBody != (len(got.Body) > 0) {
				t.Errorf("body kept = %v, want %v", len(got.Body) > 0, c.keepsBody)
			}
			if len(got.Body) > store.MaxBodySample {
				t.Errorf("body sample %d bytes", len(got.Body))
			}
			js, _ := json.Marshal(got)
			all := string(js) + string(got.Body) + got.URL
			for _, secret := range []string{secretToken, secretClient, tok.AccessToken, subscriber, "jane.doe"} {
				if strings.Contains(all, secret) {
					t.Fatalf("recorded event leaks %q: %s", secret, all)
				}
			}
		})
	}
}

func rec(integration, endpoint, key string, status int, family, code string, isErr bool) store.EventRecord {
	var r store.EventRecord
	r.Integration, r.Endpoint, r.ObjectKey, r.Status, r.Family, r.Code, r.IsError = integration, endpoint, key, status, family, code, isErr
	return r
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return b.Bytes()
}

// TestUpstreamDown: SFMC unreachable is a 502 to the caller and a recorded
// transport failure, never a hang.
func TestUpstreamDown(t *testing.T) {
	r := newRig(t, proxy.Options{Integration: "crm"}, false)
	r.upSrv.Close()
	resp, _ := r.do(t, r.proxySrv.URL, "GET", "/automation/v1/automations", nil, nil)
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", resp.StatusCode)
	}
	ev := r.sink.waitEvents(t, 1)[0]
	if ev.Status != 0 || !ev.IsError || ev.Family != "timeout" || ev.Code != "transport" || ev.Integration != "crm" {
		t.Fatalf("event %+v", ev)
	}
}

func TestNewRejectsBadUpstream(t *testing.T) {
	for _, u := range []proxy.Upstream{{}, {Auth: "ftp://x", REST: "https://x", SOAP: "https://x"}, {Auth: "https://x", REST: "/relative", SOAP: "https://x"}} {
		if _, err := proxy.New(proxy.Options{Tenant: "t", Sink: &memSink{}, Upstream: u}); err == nil {
			t.Errorf("upstream %+v accepted", u)
		}
	}
}
