package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// schemaValidator checks JSON values against the subset of JSON Schema
// (OpenAPI 3.1) that openapi.json uses: $ref, type (one or a list), enum,
// properties, required, additionalProperties (bool or schema), items,
// allOf and format date-time.
type schemaValidator struct {
	schemas map[string]any
}

func (v *schemaValidator) validate(path string, schema, val any) []string {
	s, ok := schema.(map[string]any)
	if !ok {
		return []string{path + ": schema is not an object"}
	}
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		target, ok := v.schemas[name]
		if !ok {
			return []string{path + ": unknown $ref " + ref}
		}
		return v.validate(path, target, val)
	}
	var errs []string
	for _, sub := range asSlice(s["allOf"]) {
		errs = append(errs, v.validate(path, sub, val)...)
	}
	if t, ok := s["type"]; ok {
		var types []string
		switch tt := t.(type) {
		case string:
			types = []string{tt}
		case []any:
			for _, x := range tt {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return typeMatches(t, val) }) {
			return append(errs, fmt.Sprintf("%s: %s is not of type %v", path, short(val), types))
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, val) {
		errs = append(errs, fmt.Sprintf("%s: %s not in %v", path, short(val), enum))
	}
	if f, _ := s["format"].(string); f == "date-time" {
		if str, ok := val.(string); ok {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %q is not a date-time", path, str))
			}
		}
	}
	switch x := val.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asSlice(s["required"]) {
			if _, ok := x[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: missing required %q", path, r))
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k]; ok {
				errs = append(errs, v.validate(path+"."+k, ps, x[k])...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: property %q is not in the schema", path, k))
				}
			case map[string]any:
				errs = append(errs, v.validate(path+"."+k, ap, x[k])...)
			}
		}
	case []any:
		if items, ok := s["items"]; ok {
			for i, it := range x {
				errs = append(errs, v.validate(path+"["+strconv.Itoa(i)+"]", items, it)...)
			}
		}
	}
	return errs
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		b = append(b[:60], "…"...)
	}
	return string(b)
}

func typeMatches(t string, v any) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	}
	return false
}

func TestSchemaValidatorRejects(t *testing.T) {
	v := &schemaValidator{schemas: map[string]any{"X": map[string]any{"type": "object", "required": []any{"a"},
		"additionalProperties": false, "properties": map[string]any{"a": map[string]any{"type": "integer"}, "t": map[string]any{"type": "string", "format": "date-time"}}}}}
	ref := map[string]any{"$ref": "#/components/schemas/X"}
	for _, bad := range []string{`{}`, `{"a":1.5}`, `{"a":1,"b":2}`, `{"a":1,"t":"yesterday"}`, `[]`} {
		var val any
		_ = json.Unmarshal([]byte(bad), &val)
		if errs := v.validate("$", ref, val); len(errs) == 0 {
			t.Errorf("%s passed validation", bad)
		}
	}
	var ok any
	_ = json.Unmarshal([]byte(`{"a":3,"t":"2026-03-02T10:00:00Z"}`), &ok)
	if errs := v.validate("$", ref, ok); len(errs) != 0 {
		t.Errorf("valid value rejected: %v", errs)
	}
}

// TestOpenAPIMatchesResponses calls every documented operation against a
// seeded store and validates each answer against the schema documented
// for its status; it also fails when an operation has no call here.
func TestOpenAPIMatchesResponses(t *testing.T) {
	f := newFixture(t, nil, nil)
	resp, body := do(t, client(t), "GET", f.srv.URL+"/api/v1/openapi.json", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	var doc struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	onDisk, _ := os.ReadFile(filepath.Join("openapi", "openapi.json"))
	if string(onDisk) != body {
		t.Error("served document differs from openapi/openapi.json")
	}
	v := &schemaValidator{schemas: doc.Components.Schemas}
	id, drift := itoa(f.seeded.Open[1]), itoa(f.seeded.SchemaDrift)
	scanLog := `{"ts":"2026-03-02T10:00:00Z","integration":"loader","url":"/v2/token","status":401,"body":"{\"error\":\"invalid_client\"}"}` + "\n"
	calls := []struct {
		method, path, op, body string
		status                 int
	}{
		{"GET", "/api/v1/me", "/api/v1/me", "", 200},
		{"GET", "/api/v1/overview", "/api/v1/overview", "", 200},
		{"GET", "/api/v1/incidents?status=open", "/api/v1/incidents", "", 200},
		{"GET", "/api/v1/incidents?status=later", "/api/v1/incidents", "", 400},
		{"GET", "/api/v1/incidents/" + drift, "/api/v1/incidents/{id}", "", 200},
		{"GET", "/api/v1/incidents/" + itoa(f.seeded.Open[3]), "/api/v1/incidents/{id}", "", 200},
		{"GET", "/api/v1/incidents/424242", "/api/v1/incidents/{id}", "", 404},
		{"POST", "/api/v1/incidents/" + id + "/acknowledge", "/api/v1/incidents/{id}/acknowledge", "", 200},
		{"POST", "/api/v1/incidents/" + id + "/resolve", "/api/v1/incidents/{id}/resolve", "", 200},
		{"POST", "/api/v1/incidents/" + id + "/resolve", "/api/v1/incidents/{id}/resolve", "", 409},
		{"GET", "/api/v1/events?family=auth&limit=5&from=7d", "/api/v1/events", "", 200},
		{"GET", "/api/v1/events?from=yesterday", "/api/v1/events", "", 400},
		{"GET", "/api/v1/events/aggregate?from=7d&bucket=1h&by=family,integration", "/api/v1/events/aggregate", "", 200},
		{"GET", "/api/v1/events/aggregate?by=colour", "/api/v1/events/aggregate", "", 400},
		{"GET", "/api/v1/objects?type=data_extension", "/api/v1/objects", "", 200},
		{"GET", "/api/v1/objects?type=automation", "/api/v1/objects", "", 200},
		{"GET", "/api/v1/objects?type=journey", "/api/v1/objects", "", 200},
		{"GET", "/api/v1/usage?from=2026-03-01", "/api/v1/usage", "", 200},
		{"POST", "/api/v1/silences", "/api/v1/silences", `{"matchers":[{"label":"rule","op":"=","value":"api.errors"}],"duration":"2h","comment":"vendor outage"}`, 201},
		{"POST", "/api/v1/silences", "/api/v1/silences", `{"matchers":[{"label":"colour","op":"=","value":"red"}],"duration":"2h","comment":"x"}`, 400},
		{"GET", "/api/v1/silences", "/api/v1/silences", "", 200},
		{"POST", "/api/v1/silences/1/expire", "/api/v1/silences/{id}/expire", "", 200},
		{"POST", "/api/v1/silences/99/expire", "/api/v1/silences/{id}/expire", "", 404},
		{"GET", "/api/v1/explain?q=soap:17", "/api/v1/explain", "", 200},
		{"GET", "/api/v1/explain?q=50200", "/api/v1/explain", "", 200},
		{"GET", "/api/v1/explain?q=throttl", "/api/v1/explain", "", 200},
		{"GET", "/api/v1/explain", "/api/v1/explain", "", 400},
		{"POST", "/api/v1/explain?status=500", "/api/v1/explain", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>Rate Limited</faultstring><detail><ns1:apifault xmlns:ns1="urn:fault.partner.exacttarget.com"><ns1:Code>17</ns1:Code><ns1:Message>Rate Limited</ns1:Message></ns1:apifault></detail></soap:Fault></soap:Body></soap:Envelope>`, 200},
		{"POST", "/api/v1/scan", "/api/v1/scan", scanLog, 200},
		{"POST", "/api/v1/scan", "/api/v1/scan", "", 400},
	}
	covered := map[string]bool{}
	for _, c := range calls {
		var rb io.Reader
		if c.body != "" {
			rb = strings.NewReader(c.body)
		}
		resp, body := do(t, client(t), c.method, f.srv.URL+c.path, rb, nil)
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, resp.StatusCode, c.status, body)
			continue
		}
		op := doc.Paths[c.op][strings.ToLower(c.method)]
		if op == nil {
			t.Errorf("%s %s is not documented", c.method, c.op)
			continue
		}
		covered[c.method+" "+c.op] = true
		rs, _ := op["responses"].(map[string]any)[strconv.Itoa(c.status)].(map[string]any)
		if rs == nil {
			t.Errorf("%s %s: status %d is not documented", c.method, c.op, c.status)
			continue
		}
		schema := rs["content"].(map[string]any)["application/json"].(map[string]any)["schema"]
		var val any
		if err := json.Unmarshal([]byte(body), &val); err != nil {
			t.Errorf("%s %s: not JSON: %v", c.method, c.path, err)
			continue
		}
		for _, e := range v.validate("$", schema, val) {
			t.Errorf("%s %s: %s", c.method, c.path, e)
		}
	}
	if ex := regexp.MustCompile(`"family": "rate_limit"`); !ex.MatchString(mustGet(t, f.srv.URL+"/api/v1/explain?q=soap:17")) {
		t.Error("soap:17 is not decoded as rate_limit")
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if k := strings.ToUpper(method) + " " + path; !covered[k] && path != "/-/reload" {
				t.Errorf("documented operation %s has no call in this test", k)
			}
		}
	}
}

func mustGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
