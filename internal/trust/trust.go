// Package trust reads Salesforce's public Trust status of an instance
// (GET {base}/v1/instances/{key}/status on api.status.salesforce.com, no
// credentials), so an outage incident can say whether SFMC itself reports
// an incident or maintenance on the tenant's instance. It is optional and
// off by default; answers are cached, and it is only asked while an outage
// cause is open.
package trust

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is Salesforce's public Trust status API.
const DefaultBaseURL = "https://api.status.salesforce.com"

// Status is what Trust reports for one instance now.
type Status struct {
	Instance string `json:"instance"`
	// State is Trust's status of the instance ("OK", or a state naming an
	// incident or maintenance, e.g. MAJOR_INCIDENT_CORE, MAINTENANCE_CORE).
	State string `json:"state"`
	// Incidents and Maintenances count the entries Trust lists for it.
	Incidents    int `json:"incidents"`
	Maintenances int `json:"maintenances"`
}

// Note is the sentence an outage incident carries ("" when Trust reports
// nothing on the instance).
func (s Status) Note() string {
	st := strings.ToUpper(s.State)
	incident := s.Incidents > 0 || strings.Contains(st, "INCIDENT") || strings.Contains(st, "DEGRAD") || strings.Contains(st, "DISRUPT")
	maint := s.Maintenances > 0 || strings.Contains(st, "MAINTENANCE")
	switch {
	case incident && maint:
		return fmt.Sprintf("SFMC reports an incident and maintenance on your instance %s (Salesforce Trust)", s.Instance)
	case incident:
		return fmt.Sprintf("SFMC reports an incident on your instance %s (Salesforce Trust)", s.Instance)
	case maint:
		return fmt.Sprintf("SFMC reports maintenance on your instance %s (Salesforce Trust)", s.Instance)
	}
	return ""
}

// Parse reads an instance status answer: {"key", "status", "isActive",
// "Incidents": [...], "Maintenances": [...]} (the shape public Trust
// clients read; the entries' own fields are not needed).
func Parse(b []byte) (Status, error) {
	var v struct {
		Key          string            `json:"key"`
		Status       string            `json:"status"`
		Incidents    []json.RawMessage `json:"Incidents"`
		Maintenances []json.RawMessage `json:"Maintenances"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return Status{}, fmt.Errorf("trust: decoding the instance status: %w", err)
	}
	if v.Key == "" && v.Status == "" {
		return Status{}, fmt.Errorf("trust: not an instance status (no key or status)")
	}
	st := v.Status
	if len(st) > 40 {
		st = st[:40]
	}
	return Status{Instance: v.Key, State: st, Incidents: len(v.Incidents), Maintenances: len(v.Maintenances)}, nil
}

// Client reads instance statuses, caching each for TTL.
type Client struct {
	// BaseURL (default DefaultBaseURL).
	BaseURL string
	// HTTP sends the requests (default: a client with a 10 s timeout).
	HTTP *http.Client
	// TTL is how long an answer (or a failure) is reused (default 5 min).
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	at  time.Time
	st  Status
	err error
}

// Status returns the Trust status of an instance (e.g. "S7", "NA123").
func (c *Client) Status(ctx context.Context, instance string) (Status, error) {
	key := strings.ToUpper(strings.TrimSpace(instance))
	if key == "" {
		return Status{}, fmt.Errorf("trust: no instance")
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ttl := c.TTL
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	c.mu.Lock()
	if e, ok := c.cache[key]; ok && now().Sub(e.at) < ttl {
		c.mu.Unlock()
		return e.st, e.err
	}
	c.mu.Unlock()
	st, err := c.fetch(ctx, key)
	c.mu.Lock()
	if c.cache == nil {
		c.cache = map[string]cached{}
	}
	c.cache[key] = cached{at: now(), st: st, err: err}
	c.mu.Unlock()
	return st, err
}

func (c *Client) fetch(ctx context.Context, key string) (Status, error) {
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/instances/"+url.PathEscape(key)+"/status", nil)
	if err != nil {
		return Status{}, fmt.Errorf("trust: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return Status{}, fmt.Errorf("trust: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Status{}, fmt.Errorf("trust: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return Status{}, fmt.Errorf("trust: instance %s: HTTP %d", key, resp.StatusCode)
	}
	st, err := Parse(b)
	if err != nil {
		return Status{}, err
	}
	if st.Instance == "" {
		st.Instance = key
	}
	return st, nil
}
