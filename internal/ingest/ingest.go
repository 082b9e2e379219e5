// Package ingest turns integration logs into normalised events: it detects
// gzip and the stream format (JSON lines, a JSON array, or CSV), recognises
// the canonical field names and common aliases (ECS, OpenTelemetry HTTP
// conventions), and reports bad lines with their line number and reason
// while keeping every good line.
//
// Reading and decoding are split so that decoding can run in parallel:
// a Stream frames records into batches of RawLine (ReadBatch), and its
// Parser turns each RawLine into an event.Event. JSON records are decoded
// by a single-pass field extractor that skips uninteresting values without
// allocating.
//
// Behaviour worth knowing:
//   - Formats: JSON lines (one object per line), a JSON array of objects
//     (possibly pretty-printed; elements are streamed, brackets and commas
//     between elements are separators, so concatenated arrays work too),
//     CSV with a header row (encoding/csv, lazy quotes, ragged rows). Any
//     of them may be gzip-compressed.
//   - Line numbers are 1-based lines of the decompressed input where the
//     record starts (JSON array elements and multi-line CSV records: the
//     line of their first byte). Blank lines are skipped but counted.
//   - Field priority: an Options.Map path, then the canonical name, then
//     the aliases in the documented order, then the same names inside
//     OpenTelemetry "attributes" / "resource" objects. Names match exactly
//     or ASCII case-insensitively; dotted names match nested objects, flat
//     dotted keys and mixes of both. With duplicate keys the first wins.
//   - The JSON extractor validates structure (brackets, commas, literals,
//     numbers) but not string contents: control characters and invalid
//     UTF-8 pass, and escapes are checked only in the values it uses.
//   - A record without a status is bad; one without a timestamp is kept
//     with a zero Event.TS (callers decide how to order or window it).
//   - A timestamp that is present but not understood makes the record bad.
//     A duration that is not understood is ignored (zero).
//   - URL secrets are masked with redact; bodies are not (the classifier
//     needs them) and must be masked by whatever outputs them.
//   - Event.Body may share memory with the batch's RawLine.Data (batches are
//     never reused by the Stream, so this is safe; copy it when only a small
//     part of a large batch is kept for long).
package ingest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/event"
)

// Format is a log stream's format.
type Format int

// Stream formats.
const (
	JSONLines Format = iota + 1
	CSV
	JSONArray
)

func (f Format) String() string {
	switch f {
	case JSONLines:
		return "jsonl"
	case CSV:
		return "csv"
	case JSONArray:
		return "json"
	}
	return "unknown"
}

// Defaults for Options and ReadBatch.
const (
	DefaultMaxLineBytes = 4 << 20 // longer records are reported bad and skipped
	DefaultBatchBytes   = 1 << 20 // ReadBatch's budget when maxBytes <= 0
)

// Options tune decoding.
type Options struct {
	// Map maps a canonical field (ts, integration, method, url, status, body,
	// duration_ms, request_id, tenant) to a dotted path in the source record
	// (e.g. "status" -> "resp.code"); it wins over the built-in aliases,
	// which remain a fallback when the mapped path is absent. Paths match
	// nested objects and flat dotted keys alike; for CSV they name a column.
	Map map[string]string
	// Source is copied into every Event.Source ("scan", "ingest", "tail").
	Source string
	// MaxLineBytes bounds one record; 0 means DefaultMaxLineBytes.
	MaxLineBytes int
	// Format, when set, is the declared format: it wins over detection
	// (a declared JSON-lines source whose first line is broken stays JSON
	// lines; that line is reported bad and the rest are kept). JSONLines
	// also accepts a JSON array. Zero detects.
	Format Format
}

// ParseFormat maps a configured format name (auto, jsonl, json, csv) to a
// Format (0 for auto or empty).
func ParseFormat(name string) (Format, error) {
	switch name {
	case "", "auto":
		return 0, nil
	case "jsonl", "json", "ndjson":
		return JSONLines, nil
	case "csv":
		return CSV, nil
	}
	return 0, fmt.Errorf("unknown format %q (auto, jsonl or csv)", name)
}

// RawLine is one undecoded record of a stream.
type RawLine struct {
	// No is the 1-based line number in the (decompressed) stream where the
	// record starts. For JSON arrays it is the line of the element's first
	// byte; for CSV the line of the record's first byte.
	No int
	// Data is the record's bytes (JSON: the line or array element without
	// the line end; CSV: the raw record). It belongs to the batch: the
	// Stream never overwrites it.
	Data []byte
	// Fields is the CSV record's fields (nil for JSON).
	Fields []string
	// Bad, when not empty, says why the stream could not frame this record
	// (too long, CSV syntax); Parse reports it as a LineError.
	Bad string
}

// LineError is a bad line: where and why.
type LineError struct {
	Line   int
	Reason string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Parser decodes raw lines into events; safe for concurrent use. Errors
// are always *LineError.
type Parser interface {
	Parse(l RawLine) (event.Event, error)
}

// Canonical field slots.
const (
	fTS = iota
	fIntegration
	fMethod
	fURL
	fStatus
	fBody
	fDuration
	fRequestID
	fTenant
	nFields
)

// fieldNames lists the canonical field names in slot order.
func fieldNames() [nFields]string {
	return [nFields]string{"ts", "integration", "method", "url", "status", "body", "duration_ms", "request_id", "tenant"}
}

// builtinAliases lists, per slot, the names recognised in priority order
// (the canonical name first). Dotted names match nested objects and flat
// dotted keys.
func builtinAliases() [nFields][]string {
	return [nFields][]string{
		fTS:          {"ts", "timestamp", "@timestamp", "time", "date"},
		fIntegration: {"integration", "service", "service.name", "app", "application", "client", "client_id"},
		fMethod:      {"method", "http.method", "http.request.method", "request.method", "verb"},
		fURL:         {"url", "path", "uri", "endpoint", "request.url", "url.full", "url.original", "url.path", "http.url", "http.target"},
		fStatus:      {"status", "status_code", "statusCode", "response.status", "response.status_code", "http.status_code", "http.response.status_code", "code"},
		fBody:        {"body", "response_body", "response.body", "http.response.body.content", "resp_body"},
		fDuration:    {"duration_ms", "duration", "latency_ms", "elapsed_ms", "event.duration", "response_time"},
		fRequestID:   {"request_id", "requestId", "x-request-id", "trace_id", "http.request.id", "correlation_id", "trace.id"},
		fTenant:      {"tenant", "mid", "account_id", "business_unit"},
	}
}

// containers are wrapper objects whose keys are matched like top-level
// keys at a lower priority (OpenTelemetry log records put HTTP attributes
// under "attributes", the service under "resource").
func containers() []string { return []string{"attributes", "resource", "resource.attributes"} }

// fieldSlot returns the slot of a canonical field name.
func fieldSlot(name string) (int, bool) {
	for i, n := range fieldNames() {
		if n == name {
			return i, true
		}
	}
	return 0, false
}

// ParseMapFlag parses one --map value "field=path" (e.g.
// "status=resp.code"). field must be a canonical field name.
func ParseMapFlag(s string) (field, path string, err error) {
	field, path, ok := strings.Cut(s, "=")
	field, path = strings.TrimSpace(field), strings.TrimSpace(path)
	if !ok || field == "" || path == "" {
		return "", "", fmt.Errorf("--map %q: want field=path, e.g. status=response.code", s)
	}
	if _, ok := fieldSlot(field); !ok {
		names := fieldNames()
		return "", "", fmt.Errorf("--map %q: unknown field %q (want one of %s)", s, field, strings.Join(names[:], ", "))
	}
	return field, path, nil
}

// checkMap validates Options.Map.
func checkMap(m map[string]string) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if _, _, err := ParseMapFlag(k + "=" + m[k]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
