// Package loadgen is a simulated customer integration for the demo,
// benchmarks and tests: it calls an SFMC tenant (the simulator) through the
// recording proxy on a schedule, the way real integrations do — token
// requests, REST reads, triggered sends — so the faults of the tenant show
// up as the integration's own 401s, 400s, 429s and accepted-but-not-sent
// sends. It has no goroutine of its own: Step makes the calls due up to a
// given time, so the demo's stepped simulated clock paces it
// deterministically.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Call is one recurring request of an integration.
type Call struct {
	// Every is the period (required, ≥ 10ms).
	Every time.Duration
	// From and Until bound when the call is made, as offsets from the
	// integration's Start (Until 0: forever).
	From, Until time.Duration
	// Method and Path (with query) of the request, relative to the base URL.
	Method, Path string
	// Body is sent as JSON when set.
	Body []byte
	// "{seq}" in Path or Body is replaced by the integration's call count
	// (1, 2, …): a message key or contact key per call.
}

// Options configure an Integration.
type Options struct {
	// Name is the integration's name, sent in Header.
	Name string
	// BaseURL is where it sends auth, REST and SOAP calls: the proxy.
	BaseURL string
	// Header names the integration to the proxy (default
	// X-Sfmcwatch-Integration).
	Header string
	// ClientID, ClientSecret and AccountID are its installed package.
	ClientID, ClientSecret, AccountID string
	// FreshToken requests a token before every call instead of caching it
	// (a common serverless pattern; after a secret rotation every call is
	// then a 401 on v2/token).
	FreshToken bool
	// Start anchors Call.From/Until and the first call.
	Start time.Time
	// Calls is the schedule.
	Calls []Call
	// HTTPClient (default: a client with a 30s timeout).
	HTTPClient *http.Client
	// MaxPerStep caps the calls of one Call made by one Step (default 50),
	// so a large jump in time does not flood the tenant.
	MaxPerStep int
}

// Result counts what calls got, by HTTP status (0: no response).
type Result struct {
	Calls    int         `json:"calls"`
	ByStatus map[int]int `json:"by_status"`
}

func (r *Result) add(status int) {
	if r.ByStatus == nil {
		r.ByStatus = map[int]int{}
	}
	r.Calls++
	r.ByStatus[status]++
}

// Integration is one simulated integration. Safe for concurrent use (Step
// calls are serialised).
type Integration struct {
	o    Options
	mu   sync.Mutex
	next []time.Time // per call
	tok  string
	exp  time.Time
	tot  Result
	seq  int
	// First time each status was answered (the benchmarks' time zero).
	first map[int]time.Time
}

// New validates the options.
func New(o Options) (*Integration, error) {
	if o.Name == "" || o.BaseURL == "" || o.Start.IsZero() {
		return nil, errors.New("loadgen: Name, BaseURL and Start are required")
	}
	if o.Header == "" {
		o.Header = "X-Sfmcwatch-Integration"
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.MaxPerStep <= 0 {
		o.MaxPerStep = 50
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	g := &Integration{o: o, first: map[int]time.Time{}}
	for i, c := range o.Calls {
		if c.Every < 10*time.Millisecond || c.Method == "" || !strings.HasPrefix(c.Path, "/") {
			return nil, fmt.Errorf("loadgen: %s: calls[%d]: need Every ≥ 10ms, Method and an absolute Path", o.Name, i)
		}
		g.next = append(g.next, o.Start.Add(c.From))
	}
	return g, nil
}

// Name is the integration's name.
func (g *Integration) Name() string { return g.o.Name }

// Step makes every call due at or before now (in time order, at most
// MaxPerStep per call) and returns what they got. Errors are only context
// errors: failed calls are counted, not returned.
func (g *Integration) Step(ctx context.Context, now time.Time) (Result, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var res Result
	for {
		i := -1
		for j, at := range g.next {
			if !at.After(now) && (i < 0 || at.Before(g.next[i])) {
				i = j
			}
		}
		if i < 0 || ctx.Err() != nil {
			return res, ctx.Err()
		}
		c, at := g.o.Calls[i], g.next[i]
		g.next[i] = at.Add(c.Every)
		if n := now.Sub(at) / c.Every; n >= time.Duration(g.o.MaxPerStep) {
			g.next[i] = at.Add((n + 1) * c.Every) // skip what is too far behind
		}
		if c.Until > 0 && !at.Before(g.o.Start.Add(c.Until)) {
			g.next[i] = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		status := g.call(ctx, c, now)
		res.add(status)
		g.tot.add(status)
	}
}

// Totals returns the counts since New.
func (g *Integration) Totals() Result {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := Result{Calls: g.tot.Calls, ByStatus: map[int]int{}}
	for k, v := range g.tot.ByStatus {
		out.ByStatus[k] = v
	}
	return out
}

// FirstStatus returns the real time a status was first answered.
func (g *Integration) FirstStatus(status int) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.first[status]
	return t, ok
}

// call makes one scheduled call (fetching a token first when needed) and
// returns the status of the last request it made.
func (g *Integration) call(ctx context.Context, c Call, now time.Time) int {
	if g.o.FreshToken || g.tok == "" || !now.Before(g.exp) {
		if st := g.token(ctx, now); st != http.StatusOK {
			return st
		}
	}
	g.seq++
	path, body := c.Path, c.Body
	if n := strconv.Itoa(g.seq); strings.Contains(path, "{seq}") || bytes.Contains(body, []byte("{seq}")) {
		path = strings.ReplaceAll(path, "{seq}", n)
		body = bytes.ReplaceAll(body, []byte("{seq}"), []byte(n))
	}
	st := g.do(ctx, c.Method, path, body, "Bearer "+g.tok, nil)
	if st == http.StatusUnauthorized {
		g.tok = "" // refresh next time
	}
	return st
}

func (g *Integration) token(ctx context.Context, now time.Time) int {
	body, _ := json.Marshal(map[string]string{"grant_type": "client_credentials", "client_id": g.o.ClientID,
		"client_secret": g.o.ClientSecret, "account_id": g.o.AccountID})
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	st := g.do(ctx, http.MethodPost, "/v2/token", body, "", &out)
	if st != http.StatusOK || out.AccessToken == "" {
		g.tok = ""
		if st == http.StatusOK {
			st = 0
		}
		return st
	}
	g.tok = out.AccessToken
	g.exp = now.Add(time.Duration(max(out.ExpiresIn-60, 60)) * time.Second)
	return st
}

func (g *Integration) do(ctx context.Context, method, path string, body []byte, auth string, into any) int {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.o.BaseURL+path, rd)
	if err != nil {
		return 0
	}
	req.Header.Set(g.o.Header, g.o.Name)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := g.o.HTTPClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if into != nil && resp.StatusCode == http.StatusOK {
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(into)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 8<<20))
	if _, ok := g.first[resp.StatusCode]; !ok {
		g.first[resp.StatusCode] = time.Now()
	}
	return resp.StatusCode
}
