package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

type result struct {
	no     int
	status int
	reason string
	body   string
}

// readAll reads a stream in small batches and parses every record.
func readAll(t testing.TB, in []byte, opts Options, batch int) (Format, []result, error) {
	t.Helper()
	s, err := NewStream(bytes.NewReader(in), opts)
	if err != nil {
		return 0, nil, err
	}
	var out []result
	for {
		b, err := s.ReadBatch(nil, batch)
		if err == io.EOF {
			return s.Format(), out, nil
		}
		if err != nil {
			return s.Format(), out, err
		}
		if len(b) == 0 {
			t.Fatal("empty batch without error")
		}
		for _, l := range b {
			ev, err := s.Parser().Parse(l)
			r := result{no: l.No, status: ev.Status, body: string(ev.Body)}
			if err != nil {
				r.reason = err.(*LineError).Reason
			}
			out = append(out, r)
		}
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestStreamJSONL(t *testing.T) {
	in := "\ufeff{\"status\":200}\r\n\n   \n{\"status\":\"x\"}\n{bad\n{\"status\":503,\"body\":\"b\"}"
	want := []result{{no: 1, status: 200}, {no: 4, reason: `status "x" is not a number`}, {no: 5, reason: "invalid JSON at byte 2: expected a string key, found 'b'"}, {no: 6, status: 503, body: "b"}}
	for _, batch := range []int{1, 10, 0} {
		for _, data := range [][]byte{[]byte(in), gz([]byte(in))} {
			f, got, err := readAll(t, data, Options{}, batch)
			if err != nil || f != JSONLines {
				t.Fatalf("format %v err %v", f, err)
			}
			if !equalResults(got, want) {
				t.Errorf("batch %d:\n got %+v\nwant %+v", batch, got, want)
			}
		}
	}
}

func equalResults(a, b []result) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStreamTooLong(t *testing.T) {
	long := `{"status":200,"body":"` + strings.Repeat("x", 5000) + `"}`
	in := `{"status":201}` + "\n" + long + "\n" + `{"status":202}` + "\n" + long
	_, got, err := readAll(t, []byte(in), Options{MaxLineBytes: 1000}, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []result{{no: 1, status: 201}, {no: 2, reason: "record too long (more than 1000 bytes); skipped"}, {no: 3, status: 202}, {no: 4, reason: "record too long (more than 1000 bytes); skipped"}}
	if !equalResults(got, want) {
		t.Errorf("\n got %+v\nwant %+v", got, want)
	}
	// A long line that fits the limit spans several chunks intact.
	_, got, err = readAll(t, []byte(long+"\n"+`{"status":203}`), Options{}, 10)
	if err != nil || len(got) != 2 || got[0].status != 200 || len(got[0].body) != 5000 || got[1].no != 2 {
		t.Errorf("%v %+v", err, got)
	}
}

func TestStreamJSONArray(t *testing.T) {
	in := "[\n  {\"status\": 200, \"body\": \"a]b\"},\n  {\n    \"status\": 404,\n    \"body\": {\"x\": [1, \"}\"]}\n  },\n  7,\n  {\"url\":\"/x\"}\n]\n"
	f, got, err := readAll(t, []byte(in), Options{}, 1)
	if err != nil || f != JSONArray {
		t.Fatal(f, err)
	}
	want := []result{{no: 2, status: 200, body: "a]b"}, {no: 3, status: 404, body: `{"x": [1, "}"]}`}, {no: 7, reason: "not a JSON object (starts with '7')"}, {no: 8, reason: "no status field"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].no != want[i].no || got[i].status != want[i].status || got[i].body != want[i].body || !strings.HasPrefix(got[i].reason, want[i].reason) {
			t.Errorf("element %d: got %+v want %+v", i, got[i], want[i])
		}
	}
}

func TestStreamCSV(t *testing.T) {
	in := "Timestamp,Status Code,status_code,URL,body,duration_ms\n" +
		"2024-05-01 10:00:00,x,500,/data/v1/async/abc1/status,\"{\"\"errorcode\"\":1,\n\"\"m\"\":\"\"multi\"\"}\",12\n" +
		"\n" +
		"2024-05-01T10:00:01Z,,abc,/v2/token,,\n" +
		"1714557600,, 429 ,/v2/token,plain \"quoted\" text,\n" +
		"short,row\n"
	for _, data := range [][]byte{[]byte(in), gz([]byte(in))} {
		s, err := NewStream(bytes.NewReader(data), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if s.Format() != CSV {
			t.Fatal(s.Format())
		}
		var evs []string
		for {
			b, err := s.ReadBatch(nil, 0)
			if err != nil {
				break
			}
			for _, l := range b {
				ev, err := s.Parser().Parse(l)
				if err != nil {
					evs = append(evs, err.Error())
					continue
				}
				evs = append(evs, strings.Join([]string{ev.TS.Format(time.RFC3339), ev.Endpoint, string(ev.Body), ev.Duration.String()}, "|")+"|"+itoa(ev.Status)+"|"+itoa(l.No))
			}
		}
		want := []string{
			"2024-05-01T10:00:00Z|/data/v1/async/{requestId}/status|{\"errorcode\":1,\n\"m\":\"multi\"}|12ms|500|2",
			`line 5: status "abc" (field "status_code") is not a number`,
			`2024-05-01T10:00:00Z|/v2/token|plain "quoted" text|0s|429|6`,
			`line 7: no status field (looked for status, status_code, statusCode, response.status, response.status_code, http.status_code, http.response.status_code, code)`,
		}
		if strings.Join(evs, "\n") != strings.Join(want, "\n") {
			t.Errorf("\n got %q\nwant %q", evs, want)
		}
	}
	if _, err := NewStream(strings.NewReader("a,b\n1,2\n"), Options{}); err == nil || !strings.Contains(err.Error(), "no status column") {
		t.Errorf("header without status: %v", err)
	}
	// Mapping names a column.
	s, err := NewStream(strings.NewReader("when,rc\n2024-05-01 10:00:00,418\n"), Options{Map: map[string]string{"status": "rc", "ts": "when"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.ReadBatch(nil, 0)
	if ev, err := s.Parser().Parse(b[0]); err != nil || ev.Status != 418 || !ev.TS.Equal(t0) {
		t.Errorf("mapped CSV: %+v %v", ev, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestStreamEdgeInputs(t *testing.T) {
	for _, in := range []string{"", "\n\n  \n", "\ufeff"} {
		f, got, err := readAll(t, []byte(in), Options{}, 0)
		if err != nil || len(got) != 0 || f != JSONLines {
			t.Errorf("%q: %v %v %v", in, f, got, err)
		}
	}
	// Truncated gzip: records before the cut, then an error.
	z := gz([]byte(strings.Repeat(`{"status":200}`+"\n", 5000)))
	_, got, err := readAll(t, z[:len(z)/2], Options{}, 0)
	if err == nil || len(got) == 0 {
		t.Errorf("truncated gzip: %d records, err %v", len(got), err)
	}
	if _, err := NewStream(bytes.NewReader([]byte{0x1f, 0x8b, 1, 2, 3}), Options{}); err == nil {
		t.Error("corrupt gzip header accepted")
	}
	if _, err := NewStream(strings.NewReader(`{}`), Options{Map: map[string]string{"nope": "x"}}); err == nil {
		t.Error("bad map accepted")
	}
}

// TestBatchesIndependent checks that batches stay intact while reading on.
func TestBatchesIndependent(t *testing.T) {
	data := genLog(3000, 9)
	s, err := NewStream(bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var batches [][]RawLine
	var copies [][]byte
	for {
		b, err := s.ReadBatch(nil, 64<<10)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b)
		for _, l := range b {
			copies = append(copies, bytes.Clone(l.Data))
		}
	}
	var joined [][]byte
	i := 0
	for _, b := range batches {
		for _, l := range b {
			if !bytes.Equal(l.Data, copies[i]) {
				t.Fatalf("line %d changed after later reads", l.No)
			}
			if l.No != i+1 {
				t.Fatalf("line number %d, want %d", l.No, i+1)
			}
			joined = append(joined, l.Data)
			i++
		}
	}
	if want := bytes.TrimSuffix(data, []byte("\n")); !bytes.Equal(bytes.Join(joined, []byte("\n")), want) {
		t.Error("records do not rebuild the input")
	}
	if len(batches) < 10 {
		t.Errorf("%d batches for %d bytes", len(batches), len(data))
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add("status,url,body\n200,/v2/token,\"a\nb\"\n")
	f.Add("ts;status\n1;2\n")
	f.Add("\"status\",x\n\"5\"\"00\",\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := NewStream(strings.NewReader("status,ts,url,body\n"+in), Options{MaxLineBytes: 256})
		if err != nil {
			t.Fatal(err)
		}
		p := s.Parser()
		for range 10000 {
			b, err := s.ReadBatch(nil, 64)
			if err != nil {
				return
			}
			for _, l := range b {
				ev, err := p.Parse(l)
				if err == nil && (ev.Status < 0 || ev.Status > 999) {
					t.Fatalf("status %d", ev.Status)
				}
			}
		}
		t.Fatal("no end of stream")
	})
}

func FuzzStream(f *testing.F) {
	f.Add([]byte(`{"status":200}` + "\n" + `{"status":"x"}`))
	f.Add([]byte("[{\"status\":200},{\"status\":\n500}]"))
	f.Add([]byte("status,body\n200,\"x\"\n"))
	f.Add(gz([]byte(`{"status":200}` + "\n")))
	f.Add(gz([]byte("status\n200\n"))[:20])
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := NewStream(bytes.NewReader(in), Options{MaxLineBytes: 128})
		if err != nil {
			return
		}
		p := s.Parser()
		last := 0
		for range 100000 {
			b, err := s.ReadBatch(nil, 100)
			if err != nil {
				if err != io.EOF && errors.Is(err, io.EOF) {
					t.Fatalf("wrapped EOF: %v", err)
				}
				return
			}
			for _, l := range b {
				if l.No < last || l.No < 1 {
					t.Fatalf("line numbers go backwards: %d after %d", l.No, last)
				}
				last = l.No
				if len(l.Data) > 128 && l.Bad == "" {
					t.Fatalf("record of %d bytes over the limit", len(l.Data))
				}
				ev, err := p.Parse(l)
				if err == nil && (ev.Status < 0 || ev.Status > 999) {
					t.Fatalf("status %d", ev.Status)
				}
			}
		}
		t.Fatal("no end of stream")
	})
}

// TestParallelParse runs one parser from several goroutines (run with -race).
func TestParallelParse(t *testing.T) {
	data := genLog(400, 5)
	s, err := NewStream(bytes.NewReader(data), Options{Source: "scan"})
	if err != nil {
		t.Fatal(err)
	}
	p := s.Parser()
	done := make(chan int)
	batches := 0
	for {
		b, err := s.ReadBatch(nil, 8<<10)
		if err != nil {
			break
		}
		batches++
		go func() {
			n := 0
			for _, l := range b {
				if ev, err := p.Parse(l); err == nil && ev.Status > 0 {
					n++
				}
			}
			done <- n
		}()
	}
	total := 0
	for range batches {
		total += <-done
	}
	if total != 400 || batches < 2 {
		t.Errorf("%d events in %d batches, want 400", total, batches)
	}
}

// One bad first line must not turn a JSON-lines stream into CSV (and lose
// every line after it); a declared format wins over detection.
func TestStreamBadFirstLineKeepsTheRest(t *testing.T) {
	in := "oops, this is not JSON\n{\"status\":500,\"url\":\"/a\"}\n{\"status\":401,\"url\":\"/b\"}\n"
	for _, o := range []Options{{}, {Format: JSONLines}} {
		f, got, err := readAll(t, []byte(in), o, 2)
		if err != nil || f != JSONLines {
			t.Fatalf("format %v (declared %v), err %v", f, o.Format, err)
		}
		if len(got) != 3 || got[0].reason == "" || got[1].status != 500 || got[2].status != 401 {
			t.Fatalf("declared %v: %+v", o.Format, got)
		}
	}
	// A real CSV stays CSV.
	if f, _, err := readAll(t, []byte("ts,status,url\n2026-01-01T00:00:00Z,500,/a\n"), Options{}, 2); err != nil || f != CSV {
		t.Fatalf("csv detected as %v (%v)", f, err)
	}
	// Declared JSON lines with a header-looking first line.
	if f, got, err := readAll(t, []byte("ts,status,url\n{\"status\":503}\n"), Options{Format: JSONLines}, 2); err != nil || f != JSONLines || len(got) != 2 || got[1].status != 503 {
		t.Fatalf("declared jsonl: %v %+v %v", f, got, err)
	}
}

// Nested arrays are elements that are not objects, reported as bad lines,
// never silently skipped to "0 lines".
func TestStreamNestedArraysAreReported(t *testing.T) {
	for _, in := range []string{"[[[1]]]", "[[{\"status\":500}]]", strings.Repeat("[", 5000) + strings.Repeat("]", 5000)} {
		_, got, err := readAll(t, []byte(in), Options{}, 2)
		if err != nil {
			continue // an error is a fine answer too
		}
		if len(got) == 0 || got[0].reason == "" {
			t.Errorf("%.12q…: %+v, want a bad line", in, got)
		}
	}
	// Concatenated arrays still read.
	if _, got, err := readAll(t, []byte(`[{"status":500}][{"status":502}]`), Options{}, 2); err != nil || len(got) != 2 || got[1].status != 502 {
		t.Fatalf("concatenated arrays: %+v %v", got, err)
	}
}
