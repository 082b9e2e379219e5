package classify

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
)

// Classify classifies one response. It never fails: unreadable, truncated or
// unknown bodies are classified by HTTP status and whatever could be read.
func (c *Classifier) Classify(in Input) Result {
	success := in.Status >= 200 && in.Status < 300
	col := &collector{status: in.Status, url: in.URL, read: success && readsState(in.Method, in.URL)}
	body := in.Body
	if len(body) > MaxBody {
		body = body[:MaxBody]
		col.truncated = true
	}
	body = trimBody(body)
	kind := sniff(body)

	col.surface = in.Surface
	if col.surface == "" {
		col.surface = surfaceFromURL(in.URL)
	}
	if col.surface == "" {
		col.surface = surfaceFromKind(kind, body)
	}

	switch kind {
	case kindJSON:
		if success && !jsonHasMarkers(body) {
			col.truncated = col.truncated || !jsonLooksComplete(body)
			break
		}
		parseJSON(col, body)
	case kindSOAP:
		if success {
			if markers, more := soapScan(body); !markers {
				col.truncated = col.truncated || !xmlLooksComplete(body)
				if more {
					col.add(finding{code: "OverallStatus:MoreDataAvailable", on: chain{catalog.SOAP}, hint: hintInfo})
				}
				break
			}
		}
		parseSOAP(col, body)
	case kindHTML:
		parseHTML(col, body)
	case kindText:
		parseText(col, body)
	}

	col.retryAfter = retryAfter(in.Header, in.Now, col.retryAfter)
	return col.result(c)
}

// hint says what the body itself says about a finding, which matters when
// the catalog does not know the code.
type hint uint8

const (
	hintAuto  hint = iota // let the catalog decide; unknown codes fall back by HTTP status
	hintError             // the body marks it as a failure (e.g. inside a 2xx)
	hintInfo              // the body marks it as informational (a warning)
)

// chain is the ordered list of surfaces a code is looked up on.
type chain [4]catalog.Surface

// finding is one code read from a body, before catalog resolution.
type finding struct {
	code  string
	msg   string
	on    chain
	hint  hint
	want  catalog.Family // preferred variant of a code SFMC reuses ("" = any)
	count int
}

// collector gathers findings while a body is parsed.
type collector struct {
	status     int
	url        string
	surface    catalog.Surface
	findings   []finding
	retryAfter time.Duration
	truncated  bool
	// msg is the best human text found in the body, used for the
	// HTTP-status classification when no code was found.
	msg string
	// read is set when the call read resources (see readsState): status
	// fields in the body then describe the records, and the parsers put
	// them in states instead of findings.
	read   bool
	states []stateFinding
}

// textCode replaces a "code" that is really free text (see codeLike).
const textCode = "text"

// codeLike reports whether s can be a code: codes, fingerprints and metric
// labels come from bounded sets, never from free text. SFMC puts sentences
// — sometimes with a subscriber's address — where a code is expected
// (messageDefinitionSends messages[], statusMessage), so anything longer
// than 64 bytes, with more than two spaces, or with an address is not a
// code.
func codeLike(s string) bool {
	if len(s) > 64 || strings.Count(s, " ") > 2 || strings.ContainsAny(s, "@<>\n\r\t\"'") || strings.Contains(strings.ToLower(s), "%40") {
		return false
	}
	return true
}

// add records one occurrence of code (merged with earlier identical ones).
// A code that is free text becomes the message of the fixed code "text".
func (col *collector) add(f finding) {
	if f.count <= 0 {
		f.count = 1
	}
	if !codeLike(f.code) {
		if f.msg == "" {
			f.msg = f.code
		}
		f.code = textCode
	}
	for i := range col.findings {
		g := &col.findings[i]
		if g.code == f.code && g.on == f.on && g.hint == f.hint && g.want == f.want {
			g.count += f.count
			if g.msg == "" {
				g.msg = f.msg
			}
			return
		}
	}
	col.findings = append(col.findings, f)
}

// setMsg keeps the first non-empty body message for the status fallback.
func (col *collector) setMsg(s string) {
	if col.msg == "" && s != "" {
		col.msg = s
	}
}

func (col *collector) result(c *Classifier) Result {
	r := Result{Surface: col.surface, HTTPStatus: col.status, Truncated: col.truncated}
	if col.retryAfter > 0 {
		r.RetryAfter = col.retryAfter
	}
	if len(col.findings) > 0 {
		r.Classifications = make([]Classification, 0, len(col.findings)+1)
	}
	for _, f := range col.findings {
		cl := c.resolve(f, col.status, col.url)
		merged := false
		for i := range r.Classifications {
			g := &r.Classifications[i]
			if g.Surface == cl.Surface && g.Code == cl.Code && g.Family == cl.Family {
				g.Count += cl.Count
				merged = true
				break
			}
		}
		if !merged {
			r.Classifications = append(r.Classifications, cl)
		}
	}
	anyErr := false
	for _, cl := range r.Classifications {
		anyErr = anyErr || cl.IsError
	}
	failed := col.status == 0 || col.status >= 400
	if len(r.Classifications) == 0 || (failed && !anyErr) {
		var cl Classification
		if col.status >= 200 && col.status < 200+len(c.ok) && col.msg == "" {
			cl = c.ok[col.status-200]
		} else {
			cl = c.statusClassification(col.status, cleanMessage(col.msg))
		}
		anyErr = anyErr || cl.IsError
		r.Classifications = append(r.Classifications, cl)
	}
	r.IsError = anyErr
	if !anyErr {
		// A body that says the call failed (errorcode, fault…) returned no
		// records to speak of.
		r.RecordStates = col.recordStates(c)
	}
	if len(r.Classifications) > 1 {
		slices.SortStableFunc(r.Classifications, compareClassifications)
	}
	return r
}

// compareClassifications orders errors before non-errors (so Primary is an
// error whenever IsError is set), then most severe, then the most frequent,
// then by code.
func compareClassifications(a, b Classification) int {
	if a.IsError != b.IsError {
		if a.IsError {
			return -1
		}
		return 1
	}
	if d := b.Severity.Rank() - a.Severity.Rank(); d != 0 {
		return d
	}
	if d := b.Count - a.Count; d != 0 {
		return d
	}
	return strings.Compare(a.Code, b.Code)
}

// statusClassification classifies by HTTP status alone.
func (c *Classifier) statusClassification(status int, msg string) Classification {
	e := c.cat.ForStatus(status)
	code := e.Code
	if status != 0 {
		code = strconv.Itoa(status)
	}
	return fromEntry(e, catalog.HTTP, code, msg, status, 1)
}

// resolve looks a finding up along its surface chain and applies the
// fallbacks: the HTTP table when the code is the HTTP status itself, and an
// error fallback when the body says "error" inside a 2xx.
func (c *Classifier) resolve(f finding, status int, url string) Classification {
	msg := cleanMessage(f.msg)
	var (
		e     catalog.Entry
		found bool
		surf  = f.on[0]
	)
	for _, s := range f.on {
		if s == "" {
			break
		}
		if e, found = c.cat.Lookup(s, f.code, f.msg); found {
			surf = s
			break
		}
	}
	if !found && status != 0 && f.code == strconv.Itoa(status) {
		if e, found = c.cat.Lookup(catalog.HTTP, f.code, ""); found {
			surf = catalog.HTTP
		}
	}
	if !found {
		fb := status
		switch f.hint {
		case hintError:
			if !c.cat.ForStatus(status).Family.IsError() {
				fb = 400
			}
		case hintInfo:
			fb = 200
		}
		e = c.cat.Resolve(surf, f.code, f.msg, fb)
	}
	if f.want != "" && e.Family != f.want {
		e = c.variant(e, surf, f.code, f.want)
	}
	return fromEntry(e, surf, f.code, msg, status, f.count)
}

// variant finds the catalog entry for the same code with family want, or
// derives one from e when the catalog has none.
func (c *Classifier) variant(e catalog.Entry, s catalog.Surface, code string, want catalog.Family) catalog.Entry {
	for _, v := range c.cat.Entries() {
		if v.Surface == s && v.Family == want && strings.EqualFold(v.Code, code) {
			return v
		}
	}
	if want == catalog.Server {
		e.Family, e.Owner, e.Transient = catalog.Server, catalog.SalesforceSupport, true
		if e.Severity.Rank() < catalog.Error.Rank() {
			e.Severity = catalog.Error
		}
		e.Title += " (no details: transient server-side failure)"
		e.Remediation = append([]string{"Retry with backoff: this variant without details is a transient save failure."}, e.Remediation...)
	}
	return e
}

func fromEntry(e catalog.Entry, s catalog.Surface, code, msg string, status, count int) Classification {
	if count < 1 {
		count = 1
	}
	return Classification{
		Surface: s, HTTPStatus: status, Code: code, Message: msg, Count: count,
		Family: e.Family, Title: e.Title, Owner: e.Owner, Transient: e.Transient, Severity: e.Severity,
		Remediation: e.Remediation, DocURL: e.DocURL, Unknown: e.Unknown, IsError: e.Family.IsError(),
	}
}

// bodyKind is the broad shape of a body.
type bodyKind uint8

const (
	kindEmpty bodyKind = iota
	kindJSON
	kindSOAP // XML (SOAP envelope or other XML)
	kindHTML
	kindText
)

func trimBody(b []byte) []byte {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	return bytes.TrimSpace(b)
}

func sniff(b []byte) bodyKind {
	if len(b) == 0 {
		return kindEmpty
	}
	switch b[0] {
	case '{', '[', '"':
		return kindJSON
	case '<':
		if isHTML(b) {
			return kindHTML
		}
		return kindSOAP
	}
	return kindText
}
