// Package sim is a fake Salesforce Marketing Cloud: one HTTP server that
// answers the auth (v2/token), REST and SOAP calls sfmcwatch makes, for one
// or more deterministic fake tenants (business units, by MID), in the shapes
// recorded from real tenants (shared/fixtures/sfmc). Counters move as the
// simulated clock advances, and faults (throttling, auth failures, broken
// automations, stalled journeys, ...) can be switched on from Go, from a YAML
// scenario or from the admin HTTP API under /_sim/.
//
// Everything the tenant shows is a pure function of the seed, the simulated
// time and the fault timeline: there is no background goroutine.
package sim

import (
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Size is how many objects of each kind a tenant holds.
type Size struct {
	Automations    int `json:"automations"`
	Journeys       int `json:"journeys"`
	DataExtensions int `json:"data_extensions"`
	TriggeredSends int `json:"triggered_sends"`
	Transactional  int `json:"transactional"`
	Imports        int `json:"imports"`
}

// DefaultSize is the reference business unit of the design notes.
func DefaultSize() Size {
	return Size{Automations: 200, Journeys: 50, DataExtensions: 500, TriggeredSends: 100, Transactional: 20, Imports: 60}
}

// Options configure a simulator.
type Options struct {
	// Seed makes the tenants deterministic: same seed (and Start), same data.
	Seed int64
	// Speed is simulated seconds per real second (default 1).
	Speed float64
	// Size of each tenant; a zero Size means DefaultSize.
	Size Size
	// MIDs are the business units served; default one MID (Tenants > 1
	// generates that many).
	MIDs    []int64
	Tenants int
	// Start is the simulated time at start-up (default: now, to the minute).
	Start time.Time
	// Now is the real clock (default time.Now); inject it in tests.
	Now func() time.Time
	// ClientID and ClientSecret override the generated demo credentials.
	ClientID, ClientSecret string
	// BaseURL, when set, is returned as rest_instance_url/soap_instance_url
	// base; otherwise the request's Host is used.
	BaseURL string
	// SOAPPageSize is the SOAP Retrieve page size (default 2500).
	SOAPPageSize int
	// Logger receives one debug line per request (default: discard).
	Logger *slog.Logger
}

// Credentials are what a client needs to call the simulator.
type Credentials struct {
	ClientID     string  `json:"client_id"`
	ClientSecret string  `json:"client_secret"`
	MIDs         []int64 `json:"mids"`
	// AccountID is the default MID (the one a token without account_id gets).
	AccountID int64 `json:"account_id"`
}

// Stats counts requests served.
type Stats struct {
	Total int64 `json:"total"`
	// ByRoute is keyed by route, e.g. "GET /automation/v1/automations",
	// "POST /v2/token", "SOAP Retrieve DataExtension".
	ByRoute map[string]int64 `json:"by_route"`
	// ByStatus counts answers by HTTP status code.
	ByStatus map[int]int64 `json:"by_status"`
}

// Sim is a running simulator. It is safe for concurrent use.
type Sim struct {
	opts    Options
	clock   *Clock
	creds   Credentials
	tenants map[int64]*tenant
	mids    []int64
	faults  registry
	tokens  tokenStore
	conts   continuations
	log     *slog.Logger
	handler http.Handler

	statsMu sync.Mutex
	stats   Stats

	accepted acceptedStore // transactional messages accepted through the API
	entries  entryStore    // contacts entered through API entry events
	packages packageStore  // installed packages other than the monitor's
}

// New builds a simulator and its tenants.
func New(o Options) (*Sim, error) {
	if o.Speed < 0 {
		return nil, errors.New("sim: negative speed")
	}
	if o.Speed == 0 {
		o.Speed = 1
	}
	if o.Size == (Size{}) {
		o.Size = DefaultSize()
	}
	if err := o.Size.validate(); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Start.IsZero() {
		o.Start = o.Now().UTC().Truncate(time.Minute)
	}
	if o.SOAPPageSize <= 0 {
		o.SOAPPageSize = 2500
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	mids := slices.Clone(o.MIDs)
	if len(mids) == 0 {
		n := max(o.Tenants, 1)
		for i := range n {
			mids = append(mids, 510000001+int64(i))
		}
	}
	seen := map[int64]bool{}
	for _, m := range mids {
		if m <= 0 {
			return nil, fmt.Errorf("sim: invalid MID %d", m)
		}
		if seen[m] {
			return nil, fmt.Errorf("sim: duplicate MID %d", m)
		}
		seen[m] = true
	}
	s := &Sim{
		opts:    o,
		clock:   NewClock(o.Start, o.Speed, o.Now),
		tenants: map[int64]*tenant{},
		mids:    mids,
		log:     o.Logger,
	}
	s.creds = Credentials{ClientID: o.ClientID, ClientSecret: o.ClientSecret, MIDs: slices.Clone(mids), AccountID: mids[0]}
	if s.creds.ClientID == "" {
		s.creds.ClientID = fmt.Sprintf("simclient%016x", mix(uint64(o.Seed), 1))[:24]
	}
	if s.creds.ClientSecret == "" {
		s.creds.ClientSecret = fmt.Sprintf("simsecret%016x%016x", mix(uint64(o.Seed), 2), mix(uint64(o.Seed), 3))
	}
	for _, m := range mids {
		s.tenants[m] = generate(o.Seed, m, o.Size, o.Start)
	}
	s.tokens.init(o.Seed)
	s.stats.ByRoute = map[string]int64{}
	s.stats.ByStatus = map[int]int64{}
	s.handler = s.routes()
	return s, nil
}

func (z Size) validate() error {
	for _, n := range []int{z.Automations, z.Journeys, z.DataExtensions, z.TriggeredSends, z.Transactional, z.Imports} {
		if n < 0 || n > 100000 {
			return fmt.Errorf("sim: size %d out of range 0..100000", n)
		}
	}
	return nil
}

// Handler returns the HTTP handler serving auth, REST, SOAP and /_sim/.
func (s *Sim) Handler() http.Handler { return s.handler }

// Credentials returns the demo credentials and MIDs.
func (s *Sim) Credentials() Credentials {
	c := s.creds
	c.MIDs = slices.Clone(c.MIDs)
	return c
}

// Clock returns the simulator's clock.
func (s *Sim) Clock() *Clock { return s.clock }

// Now returns the simulated time.
func (s *Sim) Now() time.Time { return s.clock.Now() }

// Options returns the options the simulator was built with (defaults filled).
func (s *Sim) Options() Options { return s.opts }

// Inject adds a fault and returns its id. A zero Start means now
// (simulated). An invalid fault is ignored and returns "" (use InjectErr to
// see why).
func (s *Sim) Inject(f Fault) string {
	id, err := s.InjectErr(f)
	if err != nil {
		s.log.Warn("sim: fault rejected", "kind", f.Kind, "err", err)
	}
	return id
}

// InjectErr adds a fault and returns its id, or why it was rejected.
func (s *Sim) InjectErr(f Fault) (string, error) {
	if err := validateFault(f); err != nil {
		return "", err
	}
	if f.MID != 0 {
		if _, ok := s.tenants[f.MID]; !ok {
			return "", fmt.Errorf("fault %s: unknown MID %d", f.Kind, f.MID)
		}
	}
	if f.Start.IsZero() {
		f.Start = s.clock.Now()
	}
	f.Params = maps(f.Params)
	return s.faults.add(f), nil
}

// Clear ends a fault now (a fault that has not started yet is removed). It
// reports whether the id was known. Effects that accumulated while the fault
// was active (counters, skipped runs) remain in the tenant's history.
func (s *Sim) Clear(id string) bool { return s.faults.clear(id, s.clock.Now()) }

// Faults lists every fault with its state.
func (s *Sim) Faults() []FaultState { return s.faults.list(s.clock.Now()) }

// Stats returns a copy of the request counters.
func (s *Sim) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	out := Stats{Total: s.stats.Total, ByRoute: make(map[string]int64, len(s.stats.ByRoute)), ByStatus: make(map[int]int64, len(s.stats.ByStatus))}
	for k, v := range s.stats.ByRoute {
		out.ByRoute[k] = v
	}
	for k, v := range s.stats.ByStatus {
		out.ByStatus[k] = v
	}
	return out
}

// ResetStats zeroes the request counters.
func (s *Sim) ResetStats() {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.stats = Stats{ByRoute: map[string]int64{}, ByStatus: map[int]int64{}}
}

func (s *Sim) count(route string, status int) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.stats.Total++
	s.stats.ByRoute[route]++
	s.stats.ByStatus[status]++
}

// MIDs returns the business units served.
func (s *Sim) MIDs() []int64 { return slices.Clone(s.mids) }

// ObjectKeys lists the keys of one object type in tenant mid, for tests and
// scenarios: type is one of automation, journey, data_extension,
// triggered_send, transactional, import.
func (s *Sim) ObjectKeys(mid int64, typ string) []string {
	t := s.tenants[mid]
	if t == nil {
		return nil
	}
	var out []string
	switch typ {
	case "automation":
		for _, a := range t.Automations {
			out = append(out, a.Key)
		}
	case "journey":
		for _, j := range t.Journeys {
			out = append(out, j.Key)
		}
	case "data_extension":
		for _, d := range t.DEs {
			out = append(out, d.Key)
		}
	case "triggered_send":
		for _, x := range t.TSDs {
			out = append(out, x.Key)
		}
	case "transactional":
		for _, x := range t.TxDefs {
			out = append(out, x.Key)
		}
	case "import":
		for _, x := range t.Imports {
			out = append(out, x.Key)
		}
	}
	return out
}

// mix is splitmix64 over a and b: a cheap deterministic hash.
func mix(a, b uint64) uint64 {
	z := a ^ (b * 0x9e3779b97f4a7c15)
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// unit returns a deterministic float in [0,1) for the given parts.
func unit(parts ...uint64) float64 {
	var h uint64 = 0x243f6a8885a308d3
	for _, p := range parts {
		h = mix(h, p)
	}
	return float64(h>>11) / (1 << 53)
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// hashGUID returns a deterministic GUID for the given parts.
func hashGUID(parts ...uint64) string {
	var h uint64 = 0x13198a2e03707344
	for _, p := range parts {
		h = mix(h, p)
	}
	h2 := mix(h, 0xa4093822299f31d0)
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", uint32(h>>32), uint16(h>>16), uint16(h)&0xfff, uint16(h2>>48)&0x3fff|0x8000, h2&0xffffffffffff)
}
