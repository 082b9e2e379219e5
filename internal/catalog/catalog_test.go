package catalog_test

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/sharedfixtures"
)

// refRow is one row of the shared reference list of documented codes.
type refRow struct {
	line                   int // line number in the CSV file (header is line 1)
	surface, code, message string
	family                 string
}

func readReference(t *testing.T) []refRow {
	t.Helper()
	p := sharedfixtures.ErrorCodesCSV(t)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	if len(recs) < 2 {
		t.Fatalf("%s: no data rows", p)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[strings.TrimSpace(h)] = i
	}
	for _, h := range []string{"surface", "code", "message", "family"} {
		if _, ok := col[h]; !ok {
			t.Fatalf("%s: header has no %q column: %v", p, h, recs[0])
		}
	}
	rows := make([]refRow, 0, len(recs)-1)
	for i, rec := range recs[1:] {
		rows = append(rows, refRow{
			line:    i + 2,
			surface: rec[col["surface"]], code: rec[col["code"]], message: rec[col["message"]], family: rec[col["family"]],
		})
	}
	return rows
}

func codeKey(s catalog.Surface, code string) string {
	return string(s) + ":" + strings.ToLower(strings.TrimSpace(code))
}

// TestReferenceCoverage checks that every documented code in the shared
// reference list resolves to a catalog entry of the same family, or to one
// that records why it deliberately differs.
func TestReferenceCoverage(t *testing.T) {
	rows := readReference(t)
	cat := catalog.Default()

	var failures []string
	refKeys := map[string]bool{}
	for _, r := range rows {
		s := catalog.Surface(r.surface)
		refKeys[codeKey(s, r.code)] = true
		if !s.Valid() {
			failures = append(failures, "line "+itoa(r.line)+": unknown surface "+r.surface)
			continue
		}
		e, ok := cat.Lookup(s, r.code, r.message)
		switch {
		case !ok:
			failures = append(failures, "line "+itoa(r.line)+": "+r.surface+":"+r.code+" not in the catalog")
		case string(e.Family) != r.family && e.Disagreement == "":
			failures = append(failures, "line "+itoa(r.line)+": "+r.surface+":"+r.code+" ("+trim(r.message)+") resolves to "+
				string(e.Family)+" ("+e.Title+"), reference says "+r.family+" and the entry has no disagreement")
		}
	}
	for _, f := range failures {
		t.Error(f)
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d reference rows not covered", len(failures), len(rows))
	}

	catKeys := map[string]bool{}
	for _, e := range cat.Entries() {
		catKeys[codeKey(e.Surface, e.Code)] = true
	}
	if len(catKeys) < len(refKeys) {
		t.Errorf("catalog has %d distinct (surface, code) keys, reference has %d", len(catKeys), len(refKeys))
	}
	t.Logf("%d reference rows, %d reference keys, %d catalog entries, %d catalog keys", len(rows), len(refKeys), len(cat.Entries()), len(catKeys))
}

func itoa(n int) string { return strconv.Itoa(n) }

func trim(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

func TestLookupDisambiguation(t *testing.T) {
	cat := catalog.Default()
	tests := []struct {
		name          string
		surface       catalog.Surface
		code, message string
		family        catalog.Family
		transient     bool
		match         string // first Match string of the expected entry; "" for the default entry
	}{
		{"deadlock row is transient", catalog.REST, "UnexpectedError", "Transaction (Process ID 71) was deadlocked ... Rerun the transaction.", catalog.Server, true, "Rerun the transaction"},
		{"duplicate primary key row", catalog.REST, "UnexpectedError", "Violation of PRIMARY KEY constraint 'PK_x'. Cannot insert duplicate key in object 'dbo.y'.", catalog.Client, false, "Violation of PRIMARY KEY constraint"},
		{"other per-row error", catalog.REST, "UnexpectedError", "something new", catalog.Client, false, ""},
		{"rowset save without details", catalog.REST, "10006", "Unable to save rows for data extension ID 1234 " + catalog.NoAdditionalErrors, catalog.Server, true, "no additionalErrors"},
		{"rowset save with details", catalog.REST, "10006", "Unable to save rows for data extension ID 1234", catalog.Client, false, "Unable to save rows for data extension"},
		{"content builder validation", catalog.REST, "10006", "Request contained some validation errors.", catalog.Client, false, "Request contained some validation errors"},
		{"aggregate without message", catalog.REST, "10006", "", catalog.Client, false, ""},
		{"inner 10000 length", catalog.REST, "10000", "Name: The value for column [Name] exceeds the column's maximum length.", catalog.Client, false, "exceeds the column's maximum length"},
		{"inner 10000 email", catalog.REST, "10000", "Email: The value for column [Email] is not a valid email address. Parse error [InvalidEmailAddress]", catalog.Client, false, "is not a valid email address"},
		{"soap token expired", catalog.SOAP, "q0:Security", "Token Expired", catalog.Auth, true, "Token Expired"},
		{"soap login failed", catalog.SOAP, "q0:Security", "Login failed", catalog.Auth, false, "Login failed"},
		{"soap security other", catalog.SOAP, "q0:Security", "", catalog.Auth, false, ""},
		{"code and message case-insensitive", catalog.SOAP, "Q0:SECURITY", "TOKEN EXPIRED", catalog.Auth, true, "Token Expired"},
		{"oauth unknown client id", catalog.OAuth, "invalid_client", "Invalid client ID. Use the client ID in Marketing Cloud Installed Packages.", catalog.Auth, false, "Invalid client ID"},
		{"oauth bad secret", catalog.OAuth, "invalid_client", "Client authentication failed. Make sure that the client ID and client secret are valid", catalog.Auth, false, "Client authentication failed"},
		{"soap 17 rate limited", catalog.SOAP, "17", "Rate Limited", catalog.RateLimit, true, ""},
		{"rest 50100", catalog.REST, "50100", "Rate limit exceeded", catalog.RateLimit, true, ""},
		{"rest 50200 blocked", catalog.REST, "50200", "Your requests are temporarily blocked.", catalog.RateLimit, false, ""},
		{"mobile support reference", catalog.REST, "(errors[])", "An unexpected error occurred, please contact Customer Support with reference id 77.", catalog.Server, false, "An unexpected error occurred"},
		{"soap retrieve unknown type", catalog.SOAP, "OverallStatus:Error", "Error: Unable to find a handler for object type: Foo. Object types are case-sensitive, check spelling.", catalog.Client, false, "Unable to find a handler for object type"},
		{"soap unplanned outage", catalog.SOAP, "2", "Unplanned Outage", catalog.Server, true, "Unplanned Outage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := cat.Lookup(tt.surface, tt.code, tt.message)
			if !ok {
				t.Fatalf("Lookup(%s, %q) not found", tt.surface, tt.code)
			}
			if e.Family != tt.family || e.Transient != tt.transient {
				t.Errorf("got family %s transient %v (%s), want %s %v", e.Family, e.Transient, e.Title, tt.family, tt.transient)
			}
			got := ""
			if len(e.Match) > 0 {
				got = e.Match[0]
			}
			if got != tt.match {
				t.Errorf("resolved to entry with match %q (%s), want %q", got, e.Title, tt.match)
			}
		})
	}
	if _, ok := cat.Lookup(catalog.REST, "no-such-code", "x"); ok {
		t.Error("Lookup of an unknown code reported ok")
	}
}

func TestPolicyDecisions(t *testing.T) {
	cat := catalog.Default()
	tests := []struct {
		surface   catalog.Surface
		code, msg string
		family    catalog.Family
		transient bool
		severity  catalog.Severity
	}{
		{catalog.REST, "50100", "", catalog.RateLimit, true, catalog.Warning},
		{catalog.REST, "50200", "", catalog.RateLimit, false, catalog.Critical},
		{catalog.OAuth, "50200", "", catalog.RateLimit, false, catalog.Critical},
		{catalog.SOAP, "17", "", catalog.RateLimit, true, catalog.Warning},
		{catalog.SOAP, "q0:Security", "Token Expired", catalog.Auth, true, catalog.Warning},
		{catalog.HTTP, "429", "", catalog.RateLimit, true, catalog.Warning},
		{catalog.Transactional, "24", "ListDetectiveExclusion", catalog.Recipient, false, catalog.Info},
	}
	for _, tt := range tests {
		e, ok := cat.Lookup(tt.surface, tt.code, tt.msg)
		if !ok {
			t.Errorf("%s:%s missing", tt.surface, tt.code)
			continue
		}
		if e.Family != tt.family || e.Transient != tt.transient || e.Severity != tt.severity {
			t.Errorf("%s:%s = %s transient=%v %s, want %s transient=%v %s", tt.surface, tt.code,
				e.Family, e.Transient, e.Severity, tt.family, tt.transient, tt.severity)
		}
	}
}

func TestHTTPStatuses(t *testing.T) {
	cat := catalog.Default()
	want := map[int]catalog.Family{
		200: catalog.None, 202: catalog.None, 304: catalog.None,
		400: catalog.Client, 401: catalog.Auth, 403: catalog.Auth, 404: catalog.Client, 408: catalog.Timeout,
		409: catalog.Client, 415: catalog.Client, 422: catalog.Client, 429: catalog.RateLimit,
		500: catalog.Server, 502: catalog.Server, 503: catalog.Server, 504: catalog.Timeout, 596: catalog.Client,
	}
	for status, fam := range want {
		e := cat.ForStatus(status)
		if e.Unknown {
			t.Errorf("ForStatus(%d) is not catalogued", status)
		}
		if e.Family != fam {
			t.Errorf("ForStatus(%d) family = %s, want %s", status, e.Family, fam)
		}
	}
	for _, status := range []int{408, 422, 502} {
		if e := cat.ForStatus(status); !strings.Contains(e.Title, "not documented by SFMC") {
			t.Errorf("ForStatus(%d) title %q should say SFMC does not document it", status, e.Title)
		}
	}
}

func TestResolveFallback(t *testing.T) {
	// A catalog with no http entries exercises the pure status-class
	// fallback; the default catalog exercises the catalogued statuses.
	bare, err := catalog.Load(fstest.MapFS{"data/x.json": {Data: []byte(`[{"surface":"rest","code":"1","title":"t","family":"client","owner":"data_engineering","severity":"error","remediation":["r"]}]`)}}, "data")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		status int
		family catalog.Family
	}{
		{401, catalog.Auth}, {403, catalog.Auth}, {429, catalog.RateLimit}, {500, catalog.Server}, {503, catalog.Server},
		{504, catalog.Timeout}, {408, catalog.Timeout}, {418, catalog.Client}, {400, catalog.Client},
		{200, catalog.None},
	}
	for name, cat := range map[string]*catalog.Catalog{"default": catalog.Default(), "bare": bare} {
		for _, tt := range tests {
			e := cat.Resolve(catalog.REST, "999999", "never seen", tt.status)
			if !e.Unknown {
				t.Errorf("%s: Resolve(status %d) not flagged Unknown", name, tt.status)
			}
			if e.Family != tt.family {
				t.Errorf("%s: Resolve(status %d) family = %s, want %s", name, tt.status, e.Family, tt.family)
			}
			if e.Surface != catalog.REST || e.Code != "999999" {
				t.Errorf("%s: Resolve(status %d) = %s:%s, want rest:999999", name, tt.status, e.Surface, e.Code)
			}
			if !strings.Contains(e.Title, "999999") || len(e.Remediation) == 0 || e.Owner == "" || e.Severity == "" {
				t.Errorf("%s: Resolve(status %d) incomplete fallback: %+v", name, tt.status, e)
			}
		}
	}
	// No response at all (status 0, no code) is a time-out; a code without
	// any status cannot be placed by status class and says so.
	for name, cat := range map[string]*catalog.Catalog{"default": catalog.Default(), "bare": bare} {
		if e := cat.Resolve(catalog.REST, "", "", 0); !e.Unknown || e.Family != catalog.Timeout || !e.Transient {
			t.Errorf("%s: Resolve(no code, status 0) = %s unknown=%v transient=%v, want unknown transient timeout", name, e.Family, e.Unknown, e.Transient)
		}
		if e := cat.Resolve(catalog.REST, "999999", "", 0); !e.Unknown || !strings.Contains(e.Title, "without an HTTP status") {
			t.Errorf("%s: Resolve(code, status 0) = %q unknown=%v, want an unknown entry saying the status is missing", name, e.Title, e.Unknown)
		}
	}
	// A known code resolves to its entry whatever the status.
	if e := catalog.Default().Resolve(catalog.SOAP, "17", "Rate Limited", 500); e.Unknown || e.Family != catalog.RateLimit {
		t.Errorf("Resolve(soap 17, 500) = %s unknown=%v, want rate_limit", e.Family, e.Unknown)
	}
}

func TestSearch(t *testing.T) {
	cat := catalog.Default()
	if got := cat.Search("  "); got != nil {
		t.Errorf("Search(blank) = %d entries, want none", len(got))
	}
	tests := []struct {
		q         string
		firstCode string
		firstSurf catalog.Surface
		contains  string // a code (surface:code) that must be among the hits
	}{
		{"rest:50200", "50200", catalog.REST, "rest:50200"},
		{"50200", "50200", "", "oauth:50200"},
		{"invalid_client", "invalid_client", catalog.OAuth, "oauth:invalid_client"},
		{"list detective", "", "", "transactional:24"},
		{"Rerun the transaction", "UnexpectedError", catalog.REST, "rest:unexpectederror"},
		{"OVERALLSTATUS", "", catalog.SOAP, "soap:overallstatus:moredataavailable"},
	}
	for _, tt := range tests {
		got := cat.Search(tt.q)
		if len(got) == 0 {
			t.Errorf("Search(%q) found nothing", tt.q)
			continue
		}
		if tt.firstCode != "" && got[0].Code != tt.firstCode {
			t.Errorf("Search(%q) first = %s:%s, want code %s", tt.q, got[0].Surface, got[0].Code, tt.firstCode)
		}
		if tt.firstSurf != "" && got[0].Surface != tt.firstSurf {
			t.Errorf("Search(%q) first surface = %s, want %s", tt.q, got[0].Surface, tt.firstSurf)
		}
		found := false
		for _, e := range got {
			if codeKey(e.Surface, e.Code) == tt.contains {
				found = true
			}
		}
		if !found {
			t.Errorf("Search(%q) misses %s", tt.q, tt.contains)
		}
	}
	if got := cat.Search("zzz-no-such-thing"); len(got) != 0 {
		t.Errorf("Search(nonsense) = %d hits", len(got))
	}
}

// TestEntriesComplete checks every embedded entry is usable as shipped.
func TestEntriesComplete(t *testing.T) {
	cat := catalog.Default()
	es := cat.Entries()
	if len(es) == 0 {
		t.Fatal("empty catalog")
	}
	surfaces := map[catalog.Surface]int{}
	for i, e := range es {
		where := itoa(i) + " " + string(e.Surface) + ":" + e.Code
		surfaces[e.Surface]++
		if !e.Surface.Valid() || !e.Family.Valid() || !e.Owner.Valid() || e.Severity.Rank() == 0 {
			t.Errorf("%s: invalid surface/family/owner/severity: %s %s %s %s", where, e.Surface, e.Family, e.Owner, e.Severity)
		}
		if strings.TrimSpace(e.Title) == "" {
			t.Errorf("%s: no title", where)
		}
		if n := len(e.Remediation); n < 1 || n > 4 {
			t.Errorf("%s: %d remediation steps, want 1-4", where, n)
		}
		if e.DocURL != "" && !strings.HasPrefix(e.DocURL, "https://") {
			t.Errorf("%s: documentation %q is not https", where, e.DocURL)
		}
		if e.Unknown {
			t.Errorf("%s: data entry flagged unknown", where)
		}
		if e.Family == catalog.Auth && e.Severity.Rank() < catalog.Warning.Rank() {
			t.Errorf("%s: auth failure with severity %s", where, e.Severity)
		}
		if e.Family == catalog.None && e.Severity.Rank() > catalog.Warning.Rank() {
			t.Errorf("%s: non-error with severity %s", where, e.Severity)
		}
	}
	for _, s := range []catalog.Surface{catalog.HTTP, catalog.OAuth, catalog.REST, catalog.SOAP, catalog.Transactional, catalog.Journey,
		catalog.Contacts, catalog.Automation, catalog.Import, catalog.TriggeredSend, catalog.Other} {
		if surfaces[s] == 0 {
			t.Errorf("no entries for surface %s", s)
		}
	}
}

// TestDataFilesPerSurface checks each data file holds only its own surface.
func TestDataFilesPerSurface(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("data", "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no data files: %v", err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var es []catalog.Entry
		if err := json.Unmarshal(b, &es); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		want := catalog.Surface(strings.TrimSuffix(filepath.Base(n), ".json"))
		for i, e := range es {
			if e.Surface != want {
				t.Errorf("%s: entry %d has surface %s", n, i, e.Surface)
			}
		}
	}
}

func TestLookupReturnsCopies(t *testing.T) {
	cat := catalog.Default()
	e, _ := cat.Lookup(catalog.REST, "50200", "")
	orig := e.Remediation[0]
	e.Remediation[0] = "changed"
	again, _ := cat.Lookup(catalog.REST, "50200", "")
	if again.Remediation[0] != orig {
		t.Error("changing a returned entry changed the catalog")
	}
}

func TestLoadRejectsMalformed(t *testing.T) {
	const good = `{"surface":"rest","code":"1","title":"t","family":"client","owner":"data_engineering","severity":"error","remediation":["r"]}`
	tests := []struct {
		name string
		file string
		want []string // substrings of the error
	}{
		{"bad family", "[" + good + `,{"surface":"rest","code":"2","title":"t","family":"bogus","owner":"data_engineering","severity":"error","remediation":["r"]}]`,
			[]string{"data/bad.json", "entry 1", "rest:2", `unknown family "bogus"`}},
		{"several problems", `[{"surface":"mars","code":" ","title":"","family":"client","owner":"nobody","severity":"loud","remediation":[]}]`,
			[]string{"data/bad.json", "entry 0", "unknown surface", "empty code", "empty title", "unknown owner", "unknown severity", "no remediation"}},
		{"not json", `[{"surface":`, []string{"data/bad.json"}},
		{"unknown field", `[{"surface":"rest","code":"1","title":"t","family":"client","owner":"data_engineering","severity":"error","remediation":["r"],"colour":"red"}]`,
			[]string{"data/bad.json", "colour"}},
		{"trailing data", "[" + good + "] []", []string{"data/bad.json", "after the JSON array"}},
		{"empty match", `[{"surface":"rest","code":"1","match":[""],"title":"t","family":"client","owner":"data_engineering","severity":"error","remediation":["r"]}]`,
			[]string{"data/bad.json", "entry 0", "empty match"}},
		{"duplicate default", "[" + good + "," + good + "]", []string{"data/bad.json", "entry 1", "without match"}},
		{"shadowed match", `[{"surface":"rest","code":"1","match":["abc"],"title":"t","family":"client","owner":"data_engineering","severity":"error","remediation":["r"]},` +
			`{"surface":"rest","code":"1","match":["xabcx"],"title":"t","family":"client","owner":"data_engineering","severity":"error","remediation":["r"]}]`,
			[]string{"data/bad.json", "entry 1", "shadowed"}},
		{"unknown flag in data", `[{"surface":"rest","code":"1","title":"t","family":"client","owner":"data_engineering","severity":"error","remediation":["r"],"unknown":true}]`,
			[]string{"data/bad.json", "entry 0", "reserved"}},
		{"http documentation", `[{"surface":"rest","code":"1","title":"t","family":"client","owner":"data_engineering","severity":"error","remediation":["r"],"documentation":"http://x"}]`,
			[]string{"data/bad.json", "entry 0", "https"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"data/a.json":   {Data: []byte("[" + strings.Replace(good, `"code":"1"`, `"code":"other"`, 1) + "]")},
				"data/bad.json": {Data: []byte(tt.file)},
			}
			_, err := catalog.Load(fsys, "data")
			if err == nil {
				t.Fatal("Load accepted a malformed file")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := catalog.Load(fstest.MapFS{"other/a.json": {Data: []byte("[]")}}, "data"); err == nil {
		t.Error("Load of a folder without files succeeded")
	}
}
