package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/classify"
)

func explainCommand() command {
	return command{name: "explain", summary: "decode an SFMC status, code or response body: family, owner, fix", run: runExplain}
}

const explainHelp = `
Decode an HTTP status (401), a surface-qualified code (rest:50200, soap:17,
oauth:invalid_client, transactional:109110, journey:121226,
triggered_send:180008) or a raw response body read from FILE or from
standard input (-). For bodies the surface is detected from the body shape
unless --surface is given, and --status gives the HTTP status (default 200:
SFMC reports many failures inside 2xx bodies).

An argument that names an existing file, or looks like a path (contains
a /, starts with ., or ends in .xml, .json, .txt, .log …), is read as a
file; a missing file is exit 2. A bare code without a surface (e.g. 50200) is looked up on every surface;
when several surfaces use it, all are listed.

Surfaces: http, oauth, rest, soap, transactional, journey, contacts,
automation, import, triggered_send, ens, other.

Exit status: 0 decoded, 1 unknown code (a status-class fallback is shown),
2 usage error or unreadable input.`

// explainOutput is the JSON shape of `explain --json` (a stable contract:
// the top-level keys describe the primary classification).
type explainOutput struct {
	classify.Classification
	Input           string                    `json:"input"`
	RetryAfterSec   float64                   `json:"retry_after_seconds,omitempty"`
	Truncated       bool                      `json:"truncated,omitempty"`
	Classifications []classify.Classification `json:"classifications"`
	Disagreement    string                    `json:"disagreement,omitempty"`
}

var reStatus = regexp.MustCompile(`^[1-5][0-9]{2}$`)

func runExplain(_ context.Context, args []string, s IO) int {
	fs := newFlagSet("explain", "[--status N] [--surface S] [--json] CODE|FILE|-", explainHelp, s)
	status := fs.Int("status", 0, "HTTP status of the response (bodies default to 200)")
	surface := fs.String("surface", "", "surface of the code or body (detected when omitted)")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	rest, code, done := parseFlags(fs, args, s)
	if done {
		return code
	}
	if len(rest) != 1 {
		fmt.Fprintln(s.Err, "explain: give exactly one CODE, FILE or - (see 'sfmcwatch explain --help')")
		return ExitUsage
	}
	if *surface != "" && !catalog.Surface(*surface).Valid() {
		fmt.Fprintf(s.Err, "explain: unknown surface %q (want one of %s)\n", *surface, surfaceList())
		return ExitUsage
	}
	cat := catalog.Default()
	cls := classify.New(cat)
	arg := rest[0]

	var outs []explainOutput
	switch {
	case arg == "-" || isFile(arg) || looksLikePath(arg):
		// A path-like argument (./x.xml, dir/body.json, body.xml) is a
		// file even when it does not exist: a typo is exit 2, not an
		// unknown code.
		body, err := readInput(arg, s.In)
		if err != nil {
			fmt.Fprintf(s.Err, "explain: %v\n", err)
			return ExitUsage
		}
		st := *status
		if st == 0 {
			st = 200
		}
		res := cls.Classify(classify.Input{Surface: catalog.Surface(*surface), Status: st, Body: body})
		outs = append(outs, fromResult(arg, res))
	default:
		var err error
		outs, err = explainCode(cat, arg, catalog.Surface(*surface), *status)
		if err != nil {
			fmt.Fprintf(s.Err, "explain: %v\n", err)
			return ExitUsage
		}
	}

	if *asJSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		var v any = outs[0]
		if len(outs) > 1 {
			v = outs
		}
		if err := enc.Encode(v); err != nil {
			fmt.Fprintf(s.Err, "explain: %v\n", err)
			return ExitUsage
		}
	} else {
		for i, o := range outs {
			if i > 0 {
				fmt.Fprintln(s.Out)
			}
			printExplain(s.Out, o)
		}
	}
	for _, o := range outs {
		if !o.Unknown {
			return ExitOK
		}
	}
	return ExitFindings
}

// explainCode decodes a status, surface:code or bare code.
func explainCode(cat *catalog.Catalog, arg string, surface catalog.Surface, status int) ([]explainOutput, error) {
	if surface == "" {
		if i := strings.IndexByte(arg, ':'); i > 0 && catalog.Surface(arg[:i]).Valid() {
			surface, arg = catalog.Surface(arg[:i]), arg[i+1:]
		}
	}
	if arg == "" {
		return nil, fmt.Errorf("empty code")
	}
	if surface == "" && reStatus.MatchString(arg) {
		surface = catalog.HTTP
	}
	if surface == catalog.HTTP {
		n, err := strconv.Atoi(arg)
		if err != nil {
			return nil, fmt.Errorf("http code %q is not a number", arg)
		}
		e := cat.ForStatus(n)
		return []explainOutput{fromEntry(string(surface)+":"+arg, e, n)}, nil
	}
	if surface != "" {
		e := cat.Resolve(surface, arg, "", status)
		return []explainOutput{fromEntry(string(surface)+":"+arg, e, status)}, nil
	}
	// Bare code: every surface that knows it.
	var outs []explainOutput
	seen := map[string]bool{}
	for _, sf := range catalog.Surfaces {
		for _, e := range cat.Entries() {
			if e.Surface == sf && strings.EqualFold(e.Code, arg) && !seen[string(sf)] {
				seen[string(sf)] = true
				ent, _ := cat.Lookup(sf, arg, "")
				outs = append(outs, fromEntry(string(sf)+":"+arg, ent, status))
			}
		}
	}
	if len(outs) == 0 {
		e := cat.Resolve(catalog.Other, arg, "", status)
		outs = append(outs, fromEntry(arg, e, status))
	}
	return outs, nil
}

func fromEntry(input string, e catalog.Entry, status int) explainOutput {
	c := classify.Classification{
		Surface: e.Surface, HTTPStatus: status, Code: e.Code, Count: 1, Family: e.Family, Title: e.Title,
		Owner: e.Owner, Transient: e.Transient, Severity: e.Severity, Remediation: e.Remediation,
		DocURL: e.DocURL, Unknown: e.Unknown, IsError: e.Family.IsError(),
	}
	return explainOutput{Classification: c, Input: input, Classifications: []classify.Classification{c}, Disagreement: e.Disagreement}
}

func fromResult(input string, r classify.Result) explainOutput {
	o := explainOutput{Classification: r.Primary(), Input: input, Truncated: r.Truncated, Classifications: r.Classifications}
	o.IsError = r.IsError
	if r.RetryAfter > 0 {
		o.RetryAfterSec = r.RetryAfter.Seconds()
	}
	return o
}

func printExplain(w io.Writer, o explainOutput) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	label := string(o.Surface) + ":" + o.Code
	if o.Code == "" {
		label = string(o.Surface)
	}
	verdict := "ERROR"
	if !o.IsError {
		verdict = "not an error"
	}
	p("%s — %s [%s]\n", label, o.Title, verdict)
	if o.Unknown {
		p("  (not in the catalog: decoded from the HTTP status class)\n")
	}
	for i, c := range o.Classifications {
		if len(o.Classifications) > 1 {
			p("\n  %d) %s:%s ×%d — %s\n", i+1, c.Surface, c.Code, c.Count, c.Title)
		}
		printClassification(w, c)
	}
	if o.RetryAfterSec > 0 {
		p("  retry-after  %gs (the server asks to wait this long)\n", o.RetryAfterSec)
	}
	if o.Truncated {
		p("  note         body was truncated or incomplete; decoded what was readable\n")
	}
	if o.Disagreement != "" {
		p("  note         family differs from the reference list on purpose: %s\n", o.Disagreement)
	}
}

func printClassification(w io.Writer, c classify.Classification) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("  family       %s\n", c.Family)
	p("  owner        %s\n", c.Owner)
	if c.Transient {
		p("  transient    yes — a retry (after backoff / token refresh) can succeed\n")
	} else {
		p("  transient    no — retrying the same request will not help\n")
	}
	p("  severity     %s\n", c.Severity)
	if c.HTTPStatus != 0 {
		p("  http status  %d\n", c.HTTPStatus)
	}
	if c.Message != "" {
		p("  message      %s\n", c.Message)
	}
	if len(c.Remediation) > 0 {
		p("  fix:\n")
		for i, r := range c.Remediation {
			p("    %d. %s\n", i+1, r)
		}
	}
	if c.DocURL != "" {
		p("  docs         %s\n", c.DocURL)
	}
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func readInput(arg string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if arg != "-" {
		f, err := os.Open(arg)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", arg, err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, classify.MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", arg, err)
	}
	return b, nil
}

func surfaceList() string {
	var ss []string
	for _, s := range catalog.Surfaces {
		ss = append(ss, string(s))
	}
	return strings.Join(ss, ", ")
}
