// Package sfmc is a read-only client for Salesforce Marketing Cloud: a
// cached, single-flight token source (JSON body, one token per client id and
// MID), REST and SOAP transports with paging, retries that honour
// Retry-After and never loop on what cannot succeed, an adaptive per-tenant
// rate limiter, and metering of every outbound call against a daily budget.
//
// Resources (automations, journeys, triggered and transactional sends, data
// extensions, imports, audit events) are typed calls that prefer bulk reads:
// one list page or SOAP Retrieve page covers many objects.
//
// Secrets never leave the package: errors, log lines and metering events are
// masked with internal/redact and scrubbed of the client secret and tokens.
package sfmc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/classify"
	"github.com/sfmcwatch/sfmcwatch/internal/redact"
)

// Tenant is one SFMC business unit the monitor reads.
type Tenant struct {
	// Name identifies the tenant in events and errors.
	Name string
	// Subdomain builds the default URLs (https://{sub}.auth.marketingcloudapis.com …)
	// when AuthURL/RestURL/SOAPURL are empty.
	Subdomain string
	// AuthURL is the token host (…/v2/token is appended).
	AuthURL string
	// RestURL and SOAPURL override the instance URLs returned with the token
	// (use them to route through the recording proxy or a simulator). SOAPURL
	// may name the Service.asmx endpoint or only the host.
	RestURL string
	SOAPURL string
	// ClientID and ClientSecret of the installed package (server-to-server).
	ClientID     string
	ClientSecret string
	// AccountID is the MID; empty uses the package's own business unit.
	AccountID string
	// DailyBudget caps calls per UTC day (0 = unlimited). Optional calls are
	// refused once OptionalShare of it is used, required ones at the cap.
	DailyBudget int
}

// Validate reports configuration mistakes (never echoing the secret).
func (t Tenant) Validate() error {
	var problems []string
	if t.ClientID == "" {
		problems = append(problems, "client_id is empty")
	}
	if t.ClientSecret == "" {
		problems = append(problems, "client_secret is empty")
	}
	if t.AuthURL == "" && t.Subdomain == "" {
		problems = append(problems, "either subdomain or auth_url is required")
	}
	if t.DailyBudget < 0 {
		problems = append(problems, "daily_budget must be ≥ 0")
	}
	if len(problems) > 0 {
		return fmt.Errorf("sfmc tenant %q: %s", t.Name, strings.Join(problems, "; "))
	}
	return nil
}

// Options tune a Client. Zero values select the defaults noted.
type Options struct {
	// HTTPClient sends requests (default: a client with no global timeout;
	// every call gets its own context deadline).
	HTTPClient *http.Client
	// Clock returns the current time (default time.Now). Token expiry and
	// metering days use it.
	Clock func() time.Time
	// Classifier classifies every response (default: classify.New(catalog.Default())).
	Classifier *classify.Classifier
	// Meter counts calls and enforces the daily budget (default: a new MemMeter).
	Meter Meter
	// Logger receives retry/refresh notices (default: discard).
	Logger *slog.Logger
	// Tokens shares cached tokens between clients (default: one per client).
	Tokens *TokenCache
	// RateLimit is the steady request rate per tenant (default 10/s); Burst
	// its burst (default 5).
	RateLimit rate.Limit
	Burst     int
	// MaxInFlight caps concurrent requests per tenant (default 4).
	MaxInFlight int
	// MaxBody caps response bodies read (default 16 MiB).
	MaxBody int64
	// CallTimeout bounds each HTTP attempt (default 60 s).
	CallTimeout time.Duration
	// MaxRetries bounds retries of transient failures per call (default 4).
	MaxRetries int
	// BackoffBase and BackoffMax shape the jittered exponential backoff
	// (default 1 s and 30 s).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxRetryAfter is the longest server-requested wait honoured inside a
	// call (default 2 min); longer waits return a rate-limited error that
	// carries RetryAfter so the scheduler can come back later.
	MaxRetryAfter time.Duration
	// TokenEarlyRefresh refreshes this long before expires_in (default 10 s;
	// SFMC already shortens expires_in by ~2 min).
	TokenEarlyRefresh time.Duration
	// OptionalShare is the share of DailyBudget optional calls may use
	// (default 0.8).
	OptionalShare float64
	// SOAPBatchSize requests this many objects per Retrieve page (0: server default 2,500).
	SOAPBatchSize int
	// PageSize for REST list calls (default 50 for journeys; 500 elsewhere).
	PageSize int
	// MaxPages bounds any paged listing (default 200).
	MaxPages int
	// Sleep waits d (backoff, Retry-After) or until ctx ends (default: a
	// real-time timer). A simulated clock running faster than real time
	// passes a scaled sleep so waits stay consistent with Clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client reads one SFMC tenant. It is safe for concurrent use.
type Client struct {
	tenant  Tenant
	opt     Options
	hc      *http.Client
	now     func() time.Time
	cls     *classify.Classifier
	meter   Meter
	log     *slog.Logger
	tokens  *TokenCache
	limiter *adaptiveLimiter
	authURL string
	budget  Budget
	// secretDigest keys the token cache by the client secret in use.
	secretDigest string
}

// New returns a client for tenant.
func New(tenant Tenant, opt Options) (*Client, error) {
	if err := tenant.Validate(); err != nil {
		return nil, err
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{}
	}
	if opt.Sleep == nil {
		opt.Sleep = sleep
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	if opt.Classifier == nil {
		opt.Classifier = classify.New(catalog.Default())
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Meter == nil {
		opt.Meter = NewMemMeter(nil)
	}
	if opt.Tokens == nil {
		opt.Tokens = NewTokenCache()
	}
	if opt.RateLimit <= 0 {
		opt.RateLimit = 10
	}
	if opt.Burst <= 0 {
		opt.Burst = 5
	}
	if opt.MaxInFlight <= 0 {
		opt.MaxInFlight = 4
	}
	if opt.MaxBody <= 0 {
		opt.MaxBody = 16 << 20
	}
	if opt.CallTimeout <= 0 {
		opt.CallTimeout = 60 * time.Second
	}
	if opt.MaxRetries <= 0 {
		opt.MaxRetries = 4
	}
	if opt.BackoffBase <= 0 {
		opt.BackoffBase = time.Second
	}
	if opt.BackoffMax <= 0 {
		opt.BackoffMax = 30 * time.Second
	}
	if opt.MaxRetryAfter <= 0 {
		opt.MaxRetryAfter = 2 * time.Minute
	}
	if opt.TokenEarlyRefresh <= 0 {
		opt.TokenEarlyRefresh = 10 * time.Second
	}
	if opt.OptionalShare <= 0 || opt.OptionalShare > 1 {
		opt.OptionalShare = 0.8
	}
	if opt.MaxPages <= 0 {
		opt.MaxPages = 200
	}
	authURL := tenant.AuthURL
	if authURL == "" {
		authURL = "https://" + tenant.Subdomain + ".auth.marketingcloudapis.com"
	}
	authURL = normaliseBase(authURL)
	if authURL == "" {
		return nil, fmt.Errorf("sfmc tenant %q: auth url is not a valid URL", tenant.Name)
	}
	c := &Client{
		tenant:       tenant,
		opt:          opt,
		hc:           opt.HTTPClient,
		now:          opt.Clock,
		cls:          opt.Classifier,
		meter:        opt.Meter,
		log:          opt.Logger.With("tenant", tenant.Name),
		tokens:       opt.Tokens,
		limiter:      newAdaptiveLimiter(opt.RateLimit, opt.Burst, opt.MaxInFlight, opt.Clock),
		authURL:      authURL,
		secretDigest: secretDigest(tenant.ClientSecret),
		budget:       Budget{Daily: tenant.DailyBudget, OptionalShare: opt.OptionalShare},
	}
	return c, nil
}

// Tenant returns the tenant's name.
func (c *Client) Tenant() string { return c.tenant.Name }

// Limits reports the limiter's current rate and in-flight cap (they drop on
// throttling and recover slowly).
func (c *Client) Limits() (rate.Limit, int) { return c.limiter.current() }

// normaliseBase adds a missing https:// scheme and drops trailing slashes;
// it returns "" for something that is not a URL.
func normaliseBase(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ""
	}
	u.RawQuery, u.Fragment = "", ""
	return strings.TrimRight(u.String(), "/")
}

// soapEndpoint turns a SOAP base into the Service.asmx URL.
func soapEndpoint(base string) string {
	if base == "" {
		return ""
	}
	if strings.HasSuffix(strings.ToLower(base), ".asmx") {
		return base
	}
	return base + "/Service.asmx"
}

// scrub masks secrets in s: redact's patterns, then the tenant's client
// secret and every access token this client has held.
func (c *Client) scrub(s string) string {
	s = redact.String(s)
	if sec := c.tenant.ClientSecret; len(sec) >= 4 {
		s = strings.ReplaceAll(s, sec, redact.Mask)
	}
	for _, t := range c.tokens.known(c.tokenKey()) {
		if len(t) >= 8 {
			s = strings.ReplaceAll(s, t, redact.Mask)
		}
	}
	return s
}

// scrubErr returns err with its text scrubbed. Context cancellation and
// deadline stay visible to errors.Is; the unscrubbed cause is not kept.
func (c *Client) scrubErr(err error) error {
	if err == nil {
		return nil
	}
	msg := c.scrub(err.Error())
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: msg, deadline: errors.Is(err, context.DeadlineExceeded), canceled: errors.Is(err, context.Canceled)}
}

type scrubbedError struct {
	msg                string
	deadline, canceled bool
}

func (e *scrubbedError) Error() string { return e.msg }

func (e *scrubbedError) Is(target error) bool {
	return (target == context.DeadlineExceeded && e.deadline) || (target == context.Canceled && e.canceled)
}
