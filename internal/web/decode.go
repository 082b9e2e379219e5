package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/classify"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
	"github.com/sfmcwatch/sfmcwatch/internal/scan"
)

// Explanation is the answer of the error decoder (GET/POST /api/v1/explain),
// the same shape as `sfmcwatch explain --json` for each decoded code.
type Explanation struct {
	Input string `json:"input"`
	// Kind is "code" (a status or code was decoded), "body" (a response
	// body was classified) or "search" (catalog text search).
	Kind            string                    `json:"kind"`
	IsError         bool                      `json:"is_error"`
	RetryAfterSec   float64                   `json:"retry_after_seconds,omitempty"`
	Truncated       bool                      `json:"truncated,omitempty"`
	Classifications []classify.Classification `json:"classifications"`
	// Matches are catalog entries whose code, title or message text
	// matched the query (search only, at most 25).
	Matches []catalog.Entry `json:"matches,omitempty"`
}

var reHTTPStatus = regexp.MustCompile(`^[1-5][0-9]{2}$`)

// maxExplainBody caps a pasted response body.
const maxExplainBody = classify.MaxBody

// explainQuery decodes a status ("401"), a surface-qualified code
// ("soap:17"), a bare code (every surface using it) or, failing those,
// searches the catalog text.
func (s *Server) explainQuery(q, surface string, status int) (*Explanation, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, badf("give a code, a status or some message text")
	}
	if len(q) > 200 {
		return nil, badf("query is %d characters; paste long responses as a body instead", len(q))
	}
	sf := catalog.Surface(surface)
	if surface != "" && !sf.Valid() {
		return nil, badf("unknown surface %q", surface)
	}
	arg := q
	if sf == "" {
		if i := strings.IndexByte(arg, ':'); i > 0 && catalog.Surface(arg[:i]).Valid() {
			sf, arg = catalog.Surface(arg[:i]), arg[i+1:]
		}
	}
	out := &Explanation{Input: q, Kind: "code", Classifications: []classify.Classification{}}
	add := func(e catalog.Entry, st int) {
		c := classify.Classification{Surface: e.Surface, HTTPStatus: st, Code: e.Code, Count: 1, Family: e.Family,
			Title: e.Title, Owner: e.Owner, Transient: e.Transient, Severity: e.Severity, Remediation: e.Remediation,
			DocURL: e.DocURL, Unknown: e.Unknown, IsError: e.Family.IsError()}
		out.Classifications = append(out.Classifications, c)
		out.IsError = out.IsError || c.IsError
	}
	switch {
	case (sf == "" || sf == catalog.HTTP) && reHTTPStatus.MatchString(arg):
		n, _ := strconv.Atoi(arg)
		add(s.cat.ForStatus(n), n)
		return out, nil
	case sf != "":
		add(s.cat.Resolve(sf, arg, "", status), status)
		return out, nil
	}
	seen := map[catalog.Surface]bool{}
	for _, e := range s.cat.Entries() {
		if strings.EqualFold(e.Code, arg) && !seen[e.Surface] {
			seen[e.Surface] = true
			ent, _ := s.cat.Lookup(e.Surface, arg, "")
			add(ent, status)
		}
	}
	if len(out.Classifications) > 0 {
		return out, nil
	}
	out.Kind = "search"
	for _, e := range s.cat.Search(q) {
		if len(out.Matches) == 25 {
			break
		}
		out.Matches = append(out.Matches, e)
	}
	return out, nil
}

// explainBody classifies a pasted response body.
func (s *Server) explainBody(body []byte, surface string, status int) (*Explanation, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badf("the response body is empty")
	}
	sf := catalog.Surface(surface)
	if surface != "" && !sf.Valid() {
		return nil, badf("unknown surface %q", surface)
	}
	if status == 0 {
		status = 200
	}
	res := s.cls.Classify(classify.Input{Surface: sf, Status: status, Body: body, Now: s.now()})
	out := &Explanation{Input: fmt.Sprintf("response body (%d bytes, HTTP %d)", len(body), status), Kind: "body",
		IsError: res.IsError, Truncated: res.Truncated, Classifications: res.Classifications}
	if res.RetryAfter > 0 {
		out.RetryAfterSec = res.RetryAfter.Seconds()
	}
	for i := range out.Classifications {
		out.Classifications[i].Message = redact.String(out.Classifications[i].Message)
	}
	return out, nil
}

func parseStatus(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 100 || n > 599 {
		return 0, badf("status %q: want an HTTP status 100..599", v)
	}
	return n, nil
}

// runScan scans one uploaded or pasted log. Nothing is stored.
func (s *Server) runScan(ctx context.Context, name string, data []byte, window time.Duration, consecutive int) (*scan.Report, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, badf("the log is empty: upload a file or paste some lines")
	}
	opts := scan.Options{Window: window, Consecutive: consecutive, Workers: 2, Classifier: s.cls}
	rep, err := scan.Run(ctx, []scan.Input{{Name: name, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}}, opts)
	if err != nil {
		return nil, badf("cannot scan %s: %v", name, err)
	}
	return rep, nil
}
