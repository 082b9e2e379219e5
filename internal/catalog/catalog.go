// Package catalog is the SFMC error-code catalog: every known code, per
// surface, with its operational family, owning team, whether a retry can
// help, severity and the fix. The data is embedded (data/*.json) and checked
// by tests against the shared reference list of documented codes.
package catalog

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Family is an operational family: what kind of failure this is, which
// decides who is paged and whether retrying makes sense.
type Family string

// The five operational families, plus recipient (per-recipient list hygiene,
// not an integration fault) and none (not an error).
const (
	Auth      Family = "auth"
	Client    Family = "client"
	RateLimit Family = "rate_limit"
	Server    Family = "server"
	Timeout   Family = "timeout"
	Recipient Family = "recipient"
	None      Family = "none"
)

// Families lists every family in display order.
var Families = []Family{Auth, Client, RateLimit, Server, Timeout, Recipient, None}

// Valid reports whether f is a known family.
func (f Family) Valid() bool {
	for _, g := range Families {
		if f == g {
			return true
		}
	}
	return false
}

// IsError reports whether the family denotes a failure of the call
// (recipient outcomes and none are not integration errors).
func (f Family) IsError() bool {
	switch f {
	case Auth, Client, RateLimit, Server, Timeout:
		return true
	}
	return false
}

// Owner is the team that usually owns the fix.
type Owner string

// Owner teams.
const (
	MarketingOps      Owner = "marketing_ops"
	DataEngineering   Owner = "data_engineering"
	Infrastructure    Owner = "infrastructure"
	SalesforceSupport Owner = "salesforce_support"
	// Security is the SFMC administrators / security team: who owns
	// installed packages, roles, users and the IP allowlist (security.*).
	Security Owner = "security"
)

// Valid reports whether o is a known owner team.
func (o Owner) Valid() bool {
	switch o {
	case MarketingOps, DataEngineering, Infrastructure, SalesforceSupport, Security:
		return true
	}
	return false
}

// Severity ranks how urgently a failure needs a human.
type Severity string

// Severities, most urgent first.
const (
	Critical Severity = "critical"
	Error    Severity = "error"
	Warning  Severity = "warning"
	Info     Severity = "info"
)

// Rank orders severities: critical 4 … info 1, unknown 0.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 4
	case Error:
		return 3
	case Warning:
		return 2
	case Info:
		return 1
	}
	return 0
}

// ParseSeverity parses a severity name.
func ParseSeverity(s string) (Severity, error) {
	v := Severity(strings.ToLower(strings.TrimSpace(s)))
	if v.Rank() == 0 {
		return "", fmt.Errorf("unknown severity %q (want critical, error, warning or info)", s)
	}
	return v, nil
}

// Surface says where a code appears.
type Surface string

// Surfaces.
const (
	HTTP          Surface = "http"
	OAuth         Surface = "oauth"
	REST          Surface = "rest"
	SOAP          Surface = "soap"
	Transactional Surface = "transactional"
	Journey       Surface = "journey"
	Contacts      Surface = "contacts"
	Automation    Surface = "automation"
	Import        Surface = "import"
	TriggeredSend Surface = "triggered_send"
	ENS           Surface = "ens"
	Other         Surface = "other"
)

// Surfaces lists every surface.
var Surfaces = []Surface{HTTP, OAuth, REST, SOAP, Transactional, Journey, Contacts, Automation, Import, TriggeredSend, ENS, Other}

// Valid reports whether s is a known surface.
func (s Surface) Valid() bool {
	for _, t := range Surfaces {
		if s == t {
			return true
		}
	}
	return false
}

// Entry is one catalog entry: a code on a surface, optionally narrowed to
// messages containing Match (several entries may share a code when SFMC
// reuses it for different failures).
type Entry struct {
	Surface Surface `json:"surface"`
	Code    string  `json:"code"`
	// Match, when set, narrows this entry to messages containing any of these
	// substrings (case-insensitive).
	Match       []string `json:"match,omitempty"`
	Title       string   `json:"title"`
	Family      Family   `json:"family"`
	Owner       Owner    `json:"owner"`
	Transient   bool     `json:"transient"`
	Severity    Severity `json:"severity"`
	Remediation []string `json:"remediation"`
	DocURL      string   `json:"documentation,omitempty"`
	// Disagreement records why this entry deliberately differs from the
	// reference list's family for the same code, when it does.
	Disagreement string `json:"disagreement,omitempty"`
	// Unknown is set on fallback entries made for codes not in the catalog.
	Unknown bool `json:"unknown,omitempty"`
}

// NoAdditionalErrors is the marker a caller appends to the message of a REST
// errorcode 10006 body that carries neither additionalErrors nor
// validationErrors. SFMC uses the same message for a row-save failure with
// per-column details (a client fault) and without them (a transient save
// failure), so Lookup can only tell them apart by this marker.
const NoAdditionalErrors = "[body has no additionalErrors]"

// Catalog is an immutable, indexed set of entries.
type Catalog struct {
	entries []Entry
	byKey   map[string][]int // surface + "\x00" + lower(code) -> entry indexes
}

//go:embed data/*.json
var dataFS embed.FS

var defaultCatalog = sync.OnceValues(func() (*Catalog, error) { return Load(dataFS, "data") })

// Default returns the embedded catalog. It panics only if the embedded data
// is malformed, which the package tests rule out.
func Default() *Catalog {
	c, err := defaultCatalog()
	if err != nil {
		panic(fmt.Sprintf("catalog: embedded data: %v", err))
	}
	return c
}

// Load reads every *.json file in dir of fsys (each a JSON array of entries)
// and validates it. Errors name the file and entry index.
func Load(fsys fs.FS, dir string) (*Catalog, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no catalog files in %s", dir)
	}
	c := &Catalog{byKey: map[string][]int{}}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var es []Entry
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&es); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: unexpected data after the JSON array", name)
		}
		for i, e := range es {
			if err := e.validate(); err != nil {
				return nil, fmt.Errorf("%s: entry %d (%s:%s): %w", name, i, e.Surface, e.Code, err)
			}
			k := key(e.Surface, e.Code)
			if err := c.checkShadowed(k, e); err != nil {
				return nil, fmt.Errorf("%s: entry %d (%s:%s): %w", name, i, e.Surface, e.Code, err)
			}
			c.byKey[k] = append(c.byKey[k], len(c.entries))
			c.entries = append(c.entries, e)
		}
	}
	return c, nil
}

// checkShadowed rejects an entry that Lookup could never return: a second
// entry without Match for the same code, or a Match substring already
// claimed by an earlier entry for the same code.
func (c *Catalog) checkShadowed(k string, e Entry) error {
	for _, i := range c.byKey[k] {
		prev := c.entries[i]
		if len(e.Match) == 0 && len(prev.Match) == 0 {
			return errors.New("a second entry without match for this code (Lookup would never return it)")
		}
		for _, m := range e.Match {
			for _, pm := range prev.Match {
				if strings.Contains(strings.ToLower(m), strings.ToLower(pm)) {
					return fmt.Errorf("match %q is shadowed by the earlier match %q for this code", m, pm)
				}
			}
		}
	}
	return nil
}

func (e Entry) validate() error {
	var problems []string
	if !e.Surface.Valid() {
		problems = append(problems, fmt.Sprintf("unknown surface %q", e.Surface))
	}
	if strings.TrimSpace(e.Code) == "" {
		problems = append(problems, "empty code")
	}
	if strings.TrimSpace(e.Title) == "" {
		problems = append(problems, "empty title")
	}
	for j, m := range e.Match {
		if strings.TrimSpace(m) == "" {
			problems = append(problems, fmt.Sprintf("empty match string %d (it would match every message)", j))
		}
	}
	if !e.Family.Valid() {
		problems = append(problems, fmt.Sprintf("unknown family %q", e.Family))
	}
	if !e.Owner.Valid() {
		problems = append(problems, fmt.Sprintf("unknown owner %q", e.Owner))
	}
	if e.Severity.Rank() == 0 {
		problems = append(problems, fmt.Sprintf("unknown severity %q", e.Severity))
	}
	if len(e.Remediation) == 0 {
		problems = append(problems, "no remediation steps")
	}
	for j, r := range e.Remediation {
		if strings.TrimSpace(r) == "" {
			problems = append(problems, fmt.Sprintf("empty remediation step %d", j))
		}
	}
	if e.DocURL != "" && !strings.HasPrefix(e.DocURL, "https://") {
		problems = append(problems, fmt.Sprintf("documentation %q is not an https URL", e.DocURL))
	}
	if e.Unknown {
		problems = append(problems, "unknown is reserved for fallback entries and must not be set in data")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

func key(s Surface, code string) string {
	return string(s) + "\x00" + strings.ToLower(strings.TrimSpace(code))
}

// Entries returns all entries in load order. The slice must not be modified.
func (c *Catalog) Entries() []Entry { return c.entries }

// clone returns e with its slices copied, so callers cannot change the
// catalog through a returned entry.
func (e Entry) clone() Entry {
	e.Match = slices.Clone(e.Match)
	e.Remediation = slices.Clone(e.Remediation)
	return e
}

// Lookup finds the entry for code on surface. When several entries share
// the code, the first whose Match substrings occur in message wins, else the
// entry without Match, else the first. ok is false when the code is unknown.
func (c *Catalog) Lookup(s Surface, code, message string) (Entry, bool) {
	idx := c.byKey[key(s, code)]
	if len(idx) == 0 {
		return Entry{}, false
	}
	if len(idx) == 1 {
		return c.entries[idx[0]].clone(), true
	}
	lm := strings.ToLower(message)
	fallback := -1
	for _, i := range idx {
		e := c.entries[i]
		if len(e.Match) == 0 {
			if fallback < 0 {
				fallback = i
			}
			continue
		}
		if lm == "" {
			continue
		}
		for _, m := range e.Match {
			if strings.Contains(lm, strings.ToLower(m)) {
				return e.clone(), true
			}
		}
	}
	if fallback < 0 {
		fallback = idx[0]
	}
	return c.entries[fallback].clone(), true
}

// Resolve is Lookup with the fallback applied: an unknown code on a surface
// gets an entry derived from the HTTP status class, flagged Unknown.
func (c *Catalog) Resolve(s Surface, code, message string, status int) Entry {
	if e, ok := c.Lookup(s, code, message); ok {
		return e
	}
	var fb Entry
	if status == 0 && code != "" {
		// A code seen without any HTTP status (e.g. typed by a user): the
		// status class cannot help, so say so rather than guess "no response".
		fb = Entry{Title: "family unknown without an HTTP status", Family: Client, Owner: DataEngineering, Severity: Warning,
			Remediation: []string{"Give the HTTP status the code came with (explain --status N) or the whole response body to decode it.", "Search the SFMC error-handling documentation for the code and the surface's error table."}}
	} else {
		fb = c.ForStatus(status)
	}
	fb.Surface = s
	fb.Code = code
	fb.Unknown = true
	if code != "" {
		fb.Title = fmt.Sprintf("Unrecognised %s code %s (%s)", s, code, fb.Title)
	}
	return fb
}

// ForStatus returns the catalog's http entry for an HTTP status, or a
// fallback derived from the status class (flagged Unknown) when the status
// itself is not catalogued.
func (c *Catalog) ForStatus(status int) Entry {
	if e, ok := c.Lookup(HTTP, strconv.Itoa(status), ""); ok {
		return e
	}
	e := Entry{Surface: HTTP, Code: strconv.Itoa(status), Unknown: true}
	text := http.StatusText(status)
	if text == "" {
		text = "non-standard status"
	}
	switch {
	case status == 0:
		e.Code = ""
		e.Title = "No HTTP response (connection failed or timed out)"
		e.Family, e.Owner, e.Transient, e.Severity = Timeout, Infrastructure, true, Error
		e.Remediation = []string{"Check network reachability of the SFMC endpoint and the client's time-out settings.", "Retry with backoff; if it persists, check Salesforce Trust for the tenant's stack."}
	case status == 401 || status == 403:
		e.Title = fmt.Sprintf("HTTP %d %s", status, text)
		e.Family, e.Owner, e.Severity = Auth, MarketingOps, Error
		e.Remediation = []string{"Check the installed package's client id, secret, scopes and account_id (MID)."}
	case status == 408 || status == 504:
		e.Title = fmt.Sprintf("HTTP %d %s", status, text)
		e.Family, e.Owner, e.Transient, e.Severity = Timeout, DataEngineering, true, Warning
		e.Remediation = []string{"Retry with backoff; reduce batch size or move to an async endpoint if it recurs."}
	case status == 429:
		e.Title = fmt.Sprintf("HTTP %d %s", status, text)
		e.Family, e.Owner, e.Transient, e.Severity = RateLimit, Infrastructure, true, Warning
		e.Remediation = []string{"Back off and honour Retry-After; spread calls over time."}
	case status >= 500:
		e.Title = fmt.Sprintf("HTTP %d %s", status, text)
		e.Family, e.Owner, e.Transient, e.Severity = Server, SalesforceSupport, true, Error
		e.Remediation = []string{"Retry with backoff; if it persists, check Salesforce Trust and open a case with Salesforce support."}
	case status >= 400:
		e.Title = fmt.Sprintf("HTTP %d %s", status, text)
		e.Family, e.Owner, e.Severity = Client, DataEngineering, Error
		e.Remediation = []string{"Read the response body: the request (URL, payload, keys) must change; retrying will not help."}
	default:
		e.Title = fmt.Sprintf("HTTP %d %s", status, text)
		e.Family, e.Owner, e.Severity = None, DataEngineering, Info
		e.Remediation = []string{"No action: not an error."}
	}
	return e
}

// Search returns entries whose code, title or match text contains q
// (case-insensitive), best matches (exact code) first.
func (c *Catalog) Search(q string) []Entry {
	lq := strings.ToLower(strings.TrimSpace(q))
	if lq == "" {
		return nil
	}
	type hit struct {
		e    Entry
		rank int
	}
	var hits []hit
	for _, e := range c.entries {
		e = e.clone()
		lc := strings.ToLower(e.Code)
		switch {
		case lc == lq || string(e.Surface)+":"+lc == lq:
			hits = append(hits, hit{e, 0})
		case strings.Contains(lc, lq):
			hits = append(hits, hit{e, 1})
		case strings.Contains(strings.ToLower(e.Title), lq):
			hits = append(hits, hit{e, 2})
		default:
			for _, m := range e.Match {
				if strings.Contains(strings.ToLower(m), lq) {
					hits = append(hits, hit{e, 3})
					break
				}
			}
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].rank < hits[j].rank })
	out := make([]Entry, len(hits))
	for i, h := range hits {
		out[i] = h.e
	}
	return out
}
