package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
)

func mustJSON(t testing.TB, opts Options) *JSONParser {
	t.Helper()
	p, err := NewJSONParser(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func parseLine(t testing.TB, p Parser, line string) (event.Event, error) {
	t.Helper()
	return p.Parse(RawLine{No: 7, Data: []byte(line)})
}

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func TestAliases(t *testing.T) {
	p := mustJSON(t, Options{Source: "scan"})
	type check func(event.Event) bool
	cases := []struct {
		name string
		line string
		ok   check
	}{
		// ts
		{"ts", `{"ts":"2024-05-01T10:00:00Z","status":200}`, func(e event.Event) bool { return e.TS.Equal(t0) }},
		{"timestamp", `{"timestamp":"2024-05-01T12:00:00+02:00","status":200}`, func(e event.Event) bool { return e.TS.Equal(t0) }},
		{"@timestamp", `{"@timestamp":"2024-05-01T10:00:00.000Z","status":200}`, func(e event.Event) bool { return e.TS.Equal(t0) }},
		{"time", `{"time":1714557600,"status":200}`, func(e event.Event) bool { return e.TS.Equal(t0) }},
		{"date", `{"date":"2024-05-01 10:00:00","status":200}`, func(e event.Event) bool { return e.TS.Equal(t0) }},
		{"epoch ms", `{"ts":1714557600000,"status":200}`, func(e event.Event) bool { return e.TS.Equal(t0) }},
		{"epoch ms string", `{"ts":"1714557600000","status":200}`, func(e event.Event) bool { return e.TS.Equal(t0) }},
		{"epoch frac", `{"ts":1714557600.5,"status":200}`, func(e event.Event) bool { return e.TS.Equal(t0.Add(500 * time.Millisecond)) }},
		{"space millis", `{"ts":"2024-05-01 10:00:00.250","status":200}`, func(e event.Event) bool { return e.TS.Equal(t0.Add(250 * time.Millisecond)) }},
		{"nano", `{"ts":"2024-05-01T10:00:00.123456789Z","status":200}`, func(e event.Event) bool { return e.TS.Equal(t0.Add(123456789)) }},
		{"apache", `{"ts":"01/May/2024:12:00:00 +0200","status":200}`, func(e event.Event) bool { return e.TS.Equal(t0) }},
		{"no ts", `{"status":200}`, func(e event.Event) bool { return e.TS.IsZero() }},
		{"null ts", `{"ts":null,"status":200}`, func(e event.Event) bool { return e.TS.IsZero() }},
		// status
		{"status string", `{"status":"503"}`, func(e event.Event) bool { return e.Status == 503 }},
		{"status phrase", `{"status":"500 Internal Server Error"}`, func(e event.Event) bool { return e.Status == 500 }},
		{"status float", `{"status":4.29e2}`, func(e event.Event) bool { return e.Status == 429 }},
		{"status_code", `{"status_code":401}`, func(e event.Event) bool { return e.Status == 401 }},
		{"statusCode", `{"statusCode":403}`, func(e event.Event) bool { return e.Status == 403 }},
		{"StatusCode folded", `{"StatusCode":404}`, func(e event.Event) bool { return e.Status == 404 }},
		{"response.status nested", `{"response":{"status":409}}`, func(e event.Event) bool { return e.Status == 409 }},
		{"response.status_code flat", `{"response.status_code":422}`, func(e event.Event) bool { return e.Status == 422 }},
		{"http.status_code", `{"http.status_code":502}`, func(e event.Event) bool { return e.Status == 502 }},
		{"ecs nested", `{"http":{"response":{"status_code":500}}}`, func(e event.Event) bool { return e.Status == 500 }},
		{"ecs half flat", `{"http":{"response.status_code":504}}`, func(e event.Event) bool { return e.Status == 504 }},
		{"ecs flat", `{"http.response.status_code":408}`, func(e event.Event) bool { return e.Status == 408 }},
		{"code last resort", `{"code":400}`, func(e event.Event) bool { return e.Status == 400 }},
		{"status beats code", `{"code":50100,"status":429}`, func(e event.Event) bool { return e.Status == 429 }},
		{"status 0", `{"status":0,"url":"/v2/token"}`, func(e event.Event) bool { return e.Status == 0 }},
		{"otel attributes", `{"attributes":{"http.response.status_code":503,"url.full":"/v2/token"},"resource":{"service.name":"crm"}}`, func(e event.Event) bool {
			return e.Status == 503 && e.URL == "/v2/token" && e.Integration == "crm"
		}},
		// url
		{"url", `{"status":200,"url":"/v2/token"}`, func(e event.Event) bool { return e.URL == "/v2/token" && e.Endpoint == "/v2/token" }},
		{"path", `{"status":200,"path":"/data/v1/async/abc123/status"}`, func(e event.Event) bool {
			return e.Endpoint == "/data/v1/async/{requestId}/status" && e.ObjectKey == "abc123"
		}},
		{"uri", `{"status":200,"uri":"/a"}`, func(e event.Event) bool { return e.URL == "/a" }},
		{"endpoint", `{"status":200,"endpoint":"/b"}`, func(e event.Event) bool { return e.URL == "/b" }},
		{"request.url", `{"status":200,"request":{"url":"/c","method":"put"}}`, func(e event.Event) bool { return e.URL == "/c" && e.Method == "PUT" }},
		{"url.full ecs", `{"status":200,"url":{"full":"https://h/d","path":"/d"}}`, func(e event.Event) bool { return e.URL == "https://h/d" }},
		{"url.path", `{"status":200,"url.path":"/e"}`, func(e event.Event) bool { return e.URL == "/e" }},
		{"http.url", `{"status":200,"http.url":"/f"}`, func(e event.Event) bool { return e.URL == "/f" }},
		{"http.target", `{"status":200,"http":{"target":"/g"}}`, func(e event.Event) bool { return e.URL == "/g" }},
		{"url beats path", `{"status":200,"path":"/p","url":"/u"}`, func(e event.Event) bool { return e.URL == "/u" }},
		{"url secret masked", `{"status":200,"url":"/v2/token?client_secret=s3cr3t&x=1"}`, func(e event.Event) bool {
			return e.URL == "/v2/token?client_secret=***&x=1"
		}},
		{"url escaped", `{"status":200,"url":"\/v2\/token"}`, func(e event.Event) bool { return e.URL == "/v2/token" }},
		// body
		{"body string", `{"status":200,"body":"plain"}`, func(e event.Event) bool { return string(e.Body) == "plain" }},
		{"body escaped", `{"status":200,"body":"{\"errorcode\":50100,\"m\":\"\u00e9\"}"}`, func(e event.Event) bool { return string(e.Body) == `{"errorcode":50100,"m":"é"}` }},
		{"body object", `{"status":200,"body": {"a": [1, 2]} }`, func(e event.Event) bool { return string(e.Body) == `{"a": [1, 2]}` }},
		{"body array", `{"status":200,"body":[{"x":1}]}`, func(e event.Event) bool { return string(e.Body) == `[{"x":1}]` }},
		{"body secret kept", `{"status":200,"body":"{\"access_token\":\"tok\"}"}`, func(e event.Event) bool { return strings.Contains(string(e.Body), "tok") }},
		{"response_body", `{"status":200,"response_body":"rb"}`, func(e event.Event) bool { return string(e.Body) == "rb" }},
		{"response.body", `{"status":200,"response":{"body":"nested"}}`, func(e event.Event) bool { return string(e.Body) == "nested" }},
		{"ecs body content", `{"http":{"response":{"status_code":500,"body":{"content":"<soap/>"}}}}`, func(e event.Event) bool { return string(e.Body) == "<soap/>" }},
		{"resp_body", `{"status":200,"resp_body":"r"}`, func(e event.Event) bool { return string(e.Body) == "r" }},
		// integration
		{"integration", `{"status":200,"integration":"crm","service":"x"}`, func(e event.Event) bool { return e.Integration == "crm" }},
		{"service", `{"status":200,"service":"loader"}`, func(e event.Event) bool { return e.Integration == "loader" }},
		{"service.name", `{"status":200,"service":{"name":"ecs-svc"}}`, func(e event.Event) bool { return e.Integration == "ecs-svc" }},
		{"app", `{"status":200,"app":"a"}`, func(e event.Event) bool { return e.Integration == "a" }},
		{"application", `{"status":200,"application":"b"}`, func(e event.Event) bool { return e.Integration == "b" }},
		{"client", `{"status":200,"client":"c","client_id":"id"}`, func(e event.Event) bool { return e.Integration == "c" }},
		{"client_id last", `{"status":200,"client_id":"id"}`, func(e event.Event) bool { return e.Integration == "id" }},
		// method
		{"http.method", `{"status":200,"http.method":"post"}`, func(e event.Event) bool { return e.Method == "POST" }},
		{"http.request.method", `{"status":200,"http":{"request":{"method":"DELETE"}}}`, func(e event.Event) bool { return e.Method == "DELETE" }},
		{"verb", `{"status":200,"verb":"Patch"}`, func(e event.Event) bool { return e.Method == "PATCH" }},
		// duration
		{"duration_ms", `{"status":200,"duration_ms":12.5}`, func(e event.Event) bool { return e.Duration == 12500*time.Microsecond }},
		{"duration", `{"status":200,"duration":"250"}`, func(e event.Event) bool { return e.Duration == 250*time.Millisecond }},
		{"duration go", `{"status":200,"duration":"1.5s"}`, func(e event.Event) bool { return e.Duration == 1500*time.Millisecond }},
		{"latency_ms", `{"status":200,"latency_ms":3}`, func(e event.Event) bool { return e.Duration == 3*time.Millisecond }},
		{"elapsed_ms", `{"status":200,"elapsed_ms":4}`, func(e event.Event) bool { return e.Duration == 4*time.Millisecond }},
		{"ecs event.duration ns", `{"status":200,"event":{"duration":2000000}}`, func(e event.Event) bool { return e.Duration == 2*time.Millisecond }},
		{"flat event.duration ns", `{"status":200,"event.duration":1500000000}`, func(e event.Event) bool { return e.Duration == 1500*time.Millisecond }},
		{"response_time", `{"status":200,"response_time":7}`, func(e event.Event) bool { return e.Duration == 7*time.Millisecond }},
		{"bad duration ignored", `{"status":200,"duration":"n/a"}`, func(e event.Event) bool { return e.Duration == 0 }},
		// request id
		{"request_id", `{"status":200,"request_id":"r1"}`, func(e event.Event) bool { return e.RequestID == "r1" }},
		{"requestId", `{"status":200,"requestId":"r2"}`, func(e event.Event) bool { return e.RequestID == "r2" }},
		{"x-request-id", `{"status":200,"x-request-id":"r3"}`, func(e event.Event) bool { return e.RequestID == "r3" }},
		{"trace_id", `{"status":200,"trace_id":"r4"}`, func(e event.Event) bool { return e.RequestID == "r4" }},
		{"http.request.id", `{"status":200,"http":{"request":{"id":"r5"}}}`, func(e event.Event) bool { return e.RequestID == "r5" }},
		{"correlation_id", `{"status":200,"correlation_id":"r6"}`, func(e event.Event) bool { return e.RequestID == "r6" }},
		// tenant
		{"tenant", `{"status":200,"tenant":"acme"}`, func(e event.Event) bool { return e.Tenant == "acme" }},
		{"mid number", `{"status":200,"mid":514000123}`, func(e event.Event) bool { return e.Tenant == "514000123" }},
		{"account_id", `{"status":200,"account_id":"7"}`, func(e event.Event) bool { return e.Tenant == "7" }},
		{"business_unit", `{"status":200,"business_unit":"EU"}`, func(e event.Event) bool { return e.Tenant == "EU" }},
		// misc
		{"source", `{"status":200}`, func(e event.Event) bool { return e.Source == "scan" }},
		{"escaped key", `{"st\u0061tus":201}`, func(e event.Event) bool { return e.Status == 201 }},
		{"unrelated nested skipped", `{"meta":{"status":1,"deep":[{"status":2}]},"status":200}`, func(e event.Event) bool { return e.Status == 200 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := parseLine(t, p, c.line)
			if err != nil {
				t.Fatalf("Parse(%s): %v", c.line, err)
			}
			if !c.ok(ev) {
				t.Errorf("Parse(%s) = %+v (body %q)", c.line, ev, ev.Body)
			}
		})
	}
}

func TestECSAndOTelSamples(t *testing.T) {
	p := mustJSON(t, Options{})
	ecs := `{"@timestamp":"2024-05-01T10:00:00.000Z","log.level":"error","service":{"name":"crm-sync","version":"1.2"},"event":{"duration":1500000000,"outcome":"failure"},"http":{"request":{"method":"POST","id":"abc-1"},"response":{"status_code":500,"body":{"content":"<soap:Fault>Rate Limited</soap:Fault>","bytes":42}}},"url":{"full":"https://mc1.soap.marketingcloudapis.com/Service.asmx","path":"/Service.asmx"},"labels":{"mid":"123"}}`
	ev, err := parseLine(t, p, ecs)
	if err != nil {
		t.Fatal(err)
	}
	want := event.Event{TS: t0, Integration: "crm-sync", Method: "POST", URL: "https://mc1.soap.marketingcloudapis.com/Service.asmx", Endpoint: "/Service.asmx", Status: 500, Duration: 1500 * time.Millisecond, RequestID: "abc-1"}
	ev.Body, want.Body = nil, nil
	if fmt.Sprint(ev) != fmt.Sprint(want) {
		t.Errorf("ECS:\n got %+v\nwant %+v", ev, want)
	}
	otel := `{"timestamp":"2024-05-01T10:00:00Z","http.request.method":"GET","url.full":"https://mc1.rest.marketingcloudapis.com/interaction/v1/interactions/3c1d7b8e-5f0a-4b7e-9a61-2d8f0b6c4e19","http.response.status_code":401,"service.name":"journeys","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`
	ev, err = parseLine(t, p, otel)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != 401 || ev.Method != "GET" || ev.Integration != "journeys" || ev.Endpoint != "/interaction/v1/interactions/{id}" || ev.RequestID != "4bf92f3577b34da6a3ce929d0e0e4736" || !ev.TS.Equal(t0) {
		t.Errorf("OTel: %+v", ev)
	}
}

func TestBadLines(t *testing.T) {
	p := mustJSON(t, Options{})
	cases := []struct{ line, reason string }{
		{`{"status":"abc"}`, `status "abc" is not a number`},
		{`{"status_code":true}`, `status true (field "status_code") is not a number`},
		{`{"status":{"x":1}}`, `status {"x":1} is not a number`},
		{`{"status":12345}`, `status 12345 is not an HTTP status`},
		{`{"url":"/x"}`, `no status field (looked for status, status_code, statusCode, response.status, response.status_code, http.status_code, http.response.status_code, code)`},
		{`{"status":null}`, `no status field (looked for`},
		{`{"status":200,"ts":"yesterday"}`, `timestamp "yesterday" not understood`},
		{`{"status":200,"@timestamp":"2024-13-01T00:00:00Z"}`, `timestamp "2024-13-01T00:00:00Z" (field "@timestamp") not understood`},
		{`{"status":200,"ts":"2024-02-30 10:00:00"}`, `timestamp "2024-02-30 10:00:00" not understood`},
		{`{"status":200,"url":"/x" "body":1}`, `invalid JSON at byte 26: expected ',' or '}' after object value, found '"'`},
		{`{"status":200,"x":tru}`, `invalid JSON at byte 19: invalid literal (expected true)`},
		{`{"status":200,"x":01}`, `invalid JSON at byte 20: expected ',' or '}' after object value, found '1'`},
		{`{"status":200,"x":"abc`, `invalid JSON: unterminated string`},
		{`{"status":200,`, `invalid JSON: unexpected end of input`},
		{`{"status":200} x`, `invalid JSON at byte 16: unexpected 'x' after the top-level object`},
		{`{status:200}`, `invalid JSON at byte 2: expected a string key, found 's'`},
		{`[{"status":200}]`, `not a JSON object (starts with '[')`},
		{`"text"`, `not a JSON object (starts with '"')`},
		{`{"status":200,"x":"\q"}`, ``}, // skipped values are not unescaped: accepted
		{`{"status":200,"url":"\q"}`, ``},
		{strings.Repeat(`{"a":`, 2000) + "1" + strings.Repeat("}", 2000), `nesting too deep`},
	}
	for _, c := range cases {
		_, err := p.Parse(RawLine{No: 42, Data: []byte(c.line)})
		if c.reason == "" {
			if err != nil {
				t.Errorf("%s: unexpected %v", c.line, err)
			}
			continue
		}
		var le *LineError
		if !errors.As(err, &le) {
			t.Errorf("%.40s: err = %v, want LineError", c.line, err)
			continue
		}
		if le.Line != 42 || !strings.Contains(le.Reason, c.reason) {
			t.Errorf("%.40s:\n got line %d %q\nwant line 42 %q", c.line, le.Line, le.Reason, c.reason)
		}
	}
	// Framing problems come through Parse too.
	_, err := p.Parse(RawLine{No: 3, Bad: "record too long"})
	if err == nil || err.Error() != "line 3: record too long" {
		t.Errorf("Bad line: %v", err)
	}
}

func TestMap(t *testing.T) {
	f, path, err := ParseMapFlag(" status = resp.code ")
	if err != nil || f != "status" || path != "resp.code" {
		t.Fatalf("ParseMapFlag = %q, %q, %v", f, path, err)
	}
	for _, bad := range []string{"stat=resp.code", "status", "=x", "status="} {
		if _, _, err := ParseMapFlag(bad); err == nil {
			t.Errorf("ParseMapFlag(%q) accepted", bad)
		}
	}
	_, _, err = ParseMapFlag("statuscode=x")
	if err == nil || !strings.Contains(err.Error(), `unknown field "statuscode"`) || !strings.Contains(err.Error(), "duration_ms") {
		t.Errorf("message: %v", err)
	}
	if _, err := NewJSONParser(Options{Map: map[string]string{"bogus": "x"}}); err == nil {
		t.Error("NewJSONParser accepted an unknown mapped field")
	}
	p := mustJSON(t, Options{Map: map[string]string{"status": "resp.code", "integration": "meta.job", "url": "target"}})
	ev, err := parseLine(t, p, `{"status":200,"resp":{"code":"503"},"meta":{"job":"nightly"},"target":"/v2/token","url":"ignored"}`)
	if err != nil || ev.Status != 503 || ev.Integration != "nightly" || ev.URL != "/v2/token" {
		t.Errorf("mapped: %+v %v", ev, err)
	}
	ev, err = parseLine(t, p, `{"status":201,"resp.code":"204"}`) // flat dotted key
	if err != nil || ev.Status != 204 {
		t.Errorf("mapped flat: %+v %v", ev, err)
	}
	ev, err = parseLine(t, p, `{"status":201}`) // aliases remain a fallback
	if err != nil || ev.Status != 201 {
		t.Errorf("fallback: %+v %v", ev, err)
	}
	_, err = parseLine(t, p, `{"x":1}`)
	if err == nil || !strings.Contains(err.Error(), "looked for resp.code, status") {
		t.Errorf("looked-for list: %v", err)
	}
}

// TestCrossCheck compares the fast extractor with encoding/json over
// generated valid records.
func TestCrossCheck(t *testing.T) {
	p := mustJSON(t, Options{})
	r := rand.New(rand.NewPCG(7, 7))
	names := [][]string{
		{"status", "status_code", "statusCode", "code"},
		{"url", "path", "uri", "endpoint"},
		{"body", "response_body", "resp_body"},
		{"integration", "service", "app"},
		{"request_id", "requestId", "trace_id"},
		{"tenant", "mid", "business_unit"},
		{"method", "verb"},
	}
	strs := []string{"", "a", `quote " and \ back`, "tab\tnl\n", "é ü 漢字 🙂", "\u2028", "</script>", "{\"errorcode\":50100}", "/data/v1/async/123/status"}
	for n := range 3000 {
		rec := map[string]any{}
		for _, fam := range names {
			if r.IntN(3) == 0 {
				continue
			}
			k := fam[r.IntN(len(fam))]
			switch fam[0] {
			case "status":
				if r.IntN(2) == 0 {
					rec[k] = r.IntN(600)
				} else {
					rec[k] = strconv.Itoa(r.IntN(600))
				}
			case "body":
				if r.IntN(3) == 0 {
					rec[k] = map[string]any{"errorcode": r.IntN(99999), "m": strs[r.IntN(len(strs))]}
				} else {
					rec[k] = strs[r.IntN(len(strs))]
				}
			case "method":
				rec[k] = []string{"GET", "POST", "put"}[r.IntN(3)]
			default:
				rec[k] = strs[r.IntN(len(strs))] + strconv.Itoa(r.IntN(10))
			}
		}
		for j := range r.IntN(4) {
			rec["noise"+strconv.Itoa(j)] = map[string]any{"status": 1, "a": []any{1.5, "x", nil, true}}
		}
		line, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := p.Parse(RawLine{No: n + 1, Data: line})
		// Reference: encoding/json into a map, first alias present wins.
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		pick := func(fam []string) (any, bool) {
			for _, k := range fam {
				if v, ok := m[k]; ok {
					return v, true
				}
			}
			return nil, false
		}
		sv, hasStatus := pick(names[0])
		if !hasStatus {
			if err == nil {
				t.Fatalf("%s: accepted without status", line)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		var wantStatus int
		switch v := sv.(type) {
		case float64:
			wantStatus = int(v)
		case string:
			wantStatus, _ = strconv.Atoi(v)
		}
		if ev.Status != wantStatus {
			t.Fatalf("%s: status %d, want %d", line, ev.Status, wantStatus)
		}
		str := func(fam []string) string {
			v, _ := pick(fam)
			s, _ := v.(string)
			return s
		}
		if got, want := ev.URL, strings.TrimSpace(str(names[1])); got != want {
			t.Fatalf("%s: url %q, want %q", line, got, want)
		}
		if bv, ok := pick(names[2]); ok {
			var want string
			switch v := bv.(type) {
			case string:
				want = v
			default:
				var got any
				if err := json.Unmarshal(ev.Body, &got); err != nil {
					t.Fatalf("%s: body %q is not JSON: %v", line, ev.Body, err)
				}
				if fmt.Sprint(got) != fmt.Sprint(v) {
					t.Fatalf("%s: body %q, want %v", line, ev.Body, v)
				}
				want = string(ev.Body)
			}
			if string(ev.Body) != want {
				t.Fatalf("%s: body %q, want %q", line, ev.Body, want)
			}
		} else if ev.Body != nil {
			t.Fatalf("%s: body %q, want none", line, ev.Body)
		}
		for _, c := range []struct {
			got  string
			fam  []string
			trim bool
		}{{ev.Integration, names[3], true}, {ev.RequestID, names[4], true}, {ev.Tenant, names[5], true}} {
			if want := strings.TrimSpace(str(c.fam)); c.got != want {
				t.Fatalf("%s: got %q, want %q", line, c.got, want)
			}
		}
		if want := strings.ToUpper(str(names[6])); ev.Method != want {
			t.Fatalf("%s: method %q, want %q", line, ev.Method, want)
		}
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"status":200}`, `{"http":{"response":{"status_code":"500"}},"body":{"a":[1,{"b":"\u00e9"}]}}`, `{"ts":"2024-05-01 10:00:00.5","status":"429 Too Many","url":"/v2/token?client_secret=x"}`, `{"a":"\ud83d\ude00","status":1e2}`, `{"@timestamp":1714557600000,"code":0}`, `[`, `{"status":`} {
		f.Add([]byte(s))
	}
	p := mustJSON(f, Options{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := p.Parse(RawLine{No: 1, Data: data})
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) || le.Line != 1 || le.Reason == "" {
				t.Fatalf("error %v is not a LineError", err)
			}
			return
		}
		if !json.Valid(data) {
			// Accepting invalid JSON is tolerated only for string contents
			// (escapes and control characters in skipped values).
			return
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("accepted a non-object: %q", data)
		}
		if ev.Status < 0 || ev.Status > 999 {
			t.Fatalf("status %d", ev.Status)
		}
		if !hasStatusField(m, "") {
			t.Fatalf("accepted without a status: %q", data)
		}
	})
}

// hasStatusField reports whether any key (nested or flat) ends in a status
// alias, loosely: a cheap oracle for the fuzz target.
func hasStatusField(m map[string]any, prefix string) bool {
	for k, v := range m {
		full := strings.ToLower(prefix + k)
		for _, a := range builtinAliases()[fStatus] {
			if strings.HasSuffix(full, strings.ToLower(a)) {
				return true
			}
		}
		if sub, ok := v.(map[string]any); ok && hasStatusField(sub, prefix+k+".") {
			return true
		}
	}
	return false
}

// TestURLRedactPrecheck checks that URLs skipped by mayHoldSecret are ones
// redact leaves alone, and that secrets in URLs are still masked.
func TestURLRedactPrecheck(t *testing.T) {
	for _, u := range []string{"/v2/token", "https://x.rest.marketingcloudapis.com/hub/v1/dataevents/key:A-1/rowset", "/a:b/c;d/e%20f", "/Bearer/abc.def", "/x/eyJhbGciOiJIUzI1NiJ9.e30.sig"} {
		if mayHoldSecret([]byte(u)) {
			continue
		}
		if got := redact.String(u); got != u {
			t.Errorf("redact changes %q to %q but the pre-check skips it", u, got)
		}
	}
	p := mustJSON(t, Options{})
	for _, u := range []string{"/v2/token?client_secret=abc", "/x?access_token=abc", "/contacts/jane@example.com", "/x?Authorization=Bearer%20abc"} {
		ev, err := parseLine(t, p, `{"status":200,"url":"`+u+`"}`)
		if err != nil || strings.Contains(ev.URL, "abc") || strings.Contains(ev.URL, "jane") {
			t.Errorf("%q -> %q (%v)", u, ev.URL, err)
		}
	}
}
