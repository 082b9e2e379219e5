package sim

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var testStart = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// fakeNow is an injectable real clock.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeNow) Add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

type harness struct {
	t   *testing.T
	sim *Sim
	srv *httptest.Server
	now *fakeNow
	tok string
}

func smallSize() Size {
	return Size{Automations: 30, Journeys: 12, DataExtensions: 40, TriggeredSends: 12, Transactional: 5, Imports: 8}
}

func newHarness(t *testing.T, o Options) *harness {
	t.Helper()
	fn := &fakeNow{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	if o.Now == nil {
		o.Now = fn.Now
	}
	if o.Start.IsZero() {
		o.Start = testStart
	}
	if o.Size == (Size{}) {
		o.Size = smallSize()
	}
	if o.Seed == 0 {
		o.Seed = 42
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	h := &harness{t: t, sim: s, srv: srv, now: fn}
	h.tok = h.token(0)
	return h
}

func (h *harness) post(path, ctype, body string, hdr map[string]string) (*http.Response, string) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (h *harness) tokenResp(secret string, mid int64) (*http.Response, map[string]any) {
	h.t.Helper()
	c := h.sim.Credentials()
	if secret == "" {
		secret = c.ClientSecret
	}
	body := map[string]any{"grant_type": "client_credentials", "client_id": c.ClientID, "client_secret": secret}
	if mid != 0 {
		body["account_id"] = mid
	}
	b, _ := json.Marshal(body)
	resp, s := h.post("/v2/token", "application/json", string(b), nil)
	var m map[string]any
	_ = json.Unmarshal([]byte(s), &m)
	return resp, m
}

func (h *harness) token(mid int64) string {
	h.t.Helper()
	resp, m := h.tokenResp("", mid)
	if resp.StatusCode != 200 {
		h.t.Fatalf("token: %d %v", resp.StatusCode, m)
	}
	return m["access_token"].(string)
}

func (h *harness) get(path string) (*http.Response, []byte) {
	h.t.Helper()
	return h.getWith(h.tok, path)
}

func (h *harness) getWith(tok, path string) (*http.Response, []byte) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (h *harness) getJSON(path string) (int, any) {
	h.t.Helper()
	resp, b := h.get(path)
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		h.t.Fatalf("GET %s: %d not JSON: %v: %s", path, resp.StatusCode, err, b)
	}
	return resp.StatusCode, v
}

func (h *harness) mustJSON(path string) map[string]any {
	h.t.Helper()
	code, v := h.getJSON(path)
	if code != 200 {
		h.t.Fatalf("GET %s: %d %v", path, code, v)
	}
	return v.(map[string]any)
}

// soapRetrieve sends a Retrieve and returns status and body.
func (h *harness) soapRetrieve(tok, objType string, props []string, filter, cont string) (int, string) {
	h.t.Helper()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s:Header><fueloauth xmlns="http://exacttarget.com">` + tok + `</fueloauth></s:Header><s:Body><RetrieveRequestMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><RetrieveRequest>`)
	if cont != "" {
		b.WriteString("<ContinueRequest>" + cont + "</ContinueRequest>")
	} else {
		b.WriteString("<ObjectType>" + objType + "</ObjectType>")
		for _, p := range props {
			b.WriteString("<Properties>" + p + "</Properties>")
		}
		b.WriteString(filter)
	}
	b.WriteString(`</RetrieveRequest></RetrieveRequestMsg></s:Body></s:Envelope>`)
	resp, body := h.post("/Service.asmx", "text/xml", b.String(), map[string]string{"SOAPAction": "Retrieve"})
	return resp.StatusCode, body
}

// parsedRetrieve is a decoded RetrieveResponseMsg.
type parsedRetrieve struct {
	OverallStatus string      `xml:"Body>RetrieveResponseMsg>OverallStatus"`
	RequestID     string      `xml:"Body>RetrieveResponseMsg>RequestID"`
	Results       []genericEl `xml:"Body>RetrieveResponseMsg>Results"`
}

type genericEl struct {
	XMLName xml.Name
	Attrs   []xml.Attr  `xml:",any,attr"`
	Content string      `xml:",chardata"`
	Kids    []genericEl `xml:",any"`
}

func (g genericEl) child(name string) string {
	for _, k := range g.Kids {
		if k.XMLName.Local == name {
			return strings.TrimSpace(k.Content)
		}
	}
	return ""
}

func parseRetrieve(t *testing.T, body string) parsedRetrieve {
	t.Helper()
	var p parsedRetrieve
	if err := xml.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("bad SOAP: %v\n%s", err, body)
	}
	return p
}

func (h *harness) retrieve(objType string, props []string, filter string) parsedRetrieve {
	h.t.Helper()
	code, body := h.soapRetrieve(h.tok, objType, props, filter, "")
	if code != 200 {
		h.t.Fatalf("SOAP %s: %d %s", objType, code, body)
	}
	return parseRetrieve(h.t, body)
}

func simpleFilter(prop, op string, vals ...string) string {
	var b strings.Builder
	b.WriteString(`<Filter xsi:type="SimpleFilterPart"><Property>` + prop + `</Property><SimpleOperator>` + op + `</SimpleOperator>`)
	for _, v := range vals {
		b.WriteString("<Value>" + v + "</Value>")
	}
	b.WriteString("</Filter>")
	return b.String()
}

func newReq(method, url string) (*http.Request, error) { return http.NewRequest(method, url, nil) }
