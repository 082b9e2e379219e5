// Package audit performs a one-shot, read-only audit of every configured
// tenant: one bulk read per resource type through the SFMC client, the
// detection rules that need no history, a health score with its deductions
// explained, and the API calls the audit itself spent. Nothing is stored.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/health"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Finding is one audit finding (the JSON contract in DESIGN.md).
type Finding struct {
	Rule         string           `json:"rule"`
	Severity     catalog.Severity `json:"severity"`
	ResourceType string           `json:"resource_type"`
	ResourceKey  string           `json:"resource_key"`
	ResourceName string           `json:"resource_name,omitempty"`
	Family       catalog.Family   `json:"family,omitempty"`
	Title        string           `json:"title"`
	Detail       string           `json:"detail"`
	Owner        catalog.Owner    `json:"owner"`
	Remediation  []string         `json:"remediation"`
	Area         health.Area      `json:"area"`
	// Gap marks a coverage gap (a monitoring blind spot, not a failure).
	Gap bool `json:"coverage_gap,omitempty"`
}

// Tenant is one tenant's audit result.
type Tenant struct {
	Name string `json:"name"`
	// APICalls is what this audit spent on the tenant (token included).
	APICalls int `json:"api_calls"`
	// APICallsByEndpoint breaks APICalls down by endpoint template.
	APICallsByEndpoint map[string]int `json:"api_calls_by_endpoint,omitempty"`
	// Score (0–100) and Grade cover only what the audit could read. When
	// nothing could be read (host unreachable, credentials rejected, every
	// monitor denied) the tenant is not scored: Scored is false, Grade is
	// "unknown" and the JSON score is null, never a "fair" 75 made of the
	// blind finding alone. ScoreNote says what the score covers.
	Score      int                `json:"score"`
	Grade      string             `json:"grade"`
	Scored     bool               `json:"scored"`
	ScoreNote  string             `json:"score_note,omitempty"`
	Deductions []health.Deduction `json:"deductions"`
	// Checks says, per monitor, what was read and what could not be, with
	// the real cause (unreachable, auth, scope, not_found, budget…).
	Checks []Check `json:"checks"`
	// Objects counts what was read per resource type.
	Objects  map[string]int `json:"objects"`
	Findings []Finding      `json:"findings"`
	// Coverage summarises the coverage checks (findings marked Gap).
	Coverage Coverage `json:"coverage"`
	// Errors lists resource types that could not be read, and why.
	Errors   []string      `json:"errors,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// GradeUnknown is the grade of a tenant the audit could not see.
const GradeUnknown = "unknown"

// MarshalJSON writes score as null for a tenant that was not scored.
func (t Tenant) MarshalJSON() ([]byte, error) {
	type plain Tenant
	if t.Scored {
		return json.Marshal(plain(t))
	}
	return json.Marshal(struct {
		plain
		Score *int `json:"score"`
	}{plain: plain(t)})
}

// Report is the whole audit.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	Tenants     []Tenant  `json:"tenants"`
}

// Options tune Run.
type Options struct {
	// HTTPClient for SFMC calls (default: the client's default).
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Rules overrides the rule set (default detect.DefaultRules()).
	Rules []detect.Rule
	// ClientOptions, when set, adjusts each tenant's SFMC client options
	// (tests raise the request rate).
	ClientOptions func(*sfmc.Options)
}

// Run audits every tenant of cfg.
func Run(ctx context.Context, cfg *config.Config, o Options) (*Report, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	rules := o.Rules
	if rules == nil {
		rules = detect.DefaultRules()
	}
	reg, err := detect.NewRegistry(rules...)
	if err != nil {
		return nil, err
	}
	rep := &Report{GeneratedAt: o.Now().UTC()}
	for i := range cfg.Tenants {
		t, err := auditTenant(ctx, &cfg.Tenants[i], &cfg.Rules, reg, o)
		if err != nil {
			return nil, err
		}
		rep.Tenants = append(rep.Tenants, *t)
	}
	return rep, nil
}

func auditTenant(ctx context.Context, tc *config.Tenant, rules *config.Rules, reg *detect.Registry, o Options) (*Tenant, error) {
	start := o.Now()
	hl := collect.NewTenantHealth(rules.TenantBlocked.CircuitOpen.Std())
	calls := newCallLog()
	meter := sfmc.NewMemMeter(sfmc.EventSinkFunc(func(ev sfmc.CallEvent) {
		hl.Observe(ev)
		calls.observe(ev)
	}))
	ep := tc.Endpoints()
	so := sfmc.Options{HTTPClient: o.HTTPClient, Clock: o.Now, Meter: meter, Logger: o.Logger}
	if o.ClientOptions != nil {
		o.ClientOptions(&so)
	}
	cl, err := sfmc.New(sfmc.Tenant{Name: tc.Name, Subdomain: "", AuthURL: ep.Auth, RestURL: ep.REST, SOAPURL: ep.SOAP,
		ClientID: tc.ClientID, ClientSecret: tc.ClientSecret.Reveal(), AccountID: tc.AccountID, DailyBudget: int(tc.DailyAPIBudget)}, so)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", tc.Name, err)
	}
	out := &Tenant{Name: tc.Name, Objects: map[string]int{}}
	snaps := map[resource.Type][]store.Snapshot{}
	var all []detect.Finding
	// The rules judge the single look exactly as serve judges its first
	// cycle: each rule sees the snapshots collected so far (other types
	// included), each object's history being its one snapshot.
	look := detect.NewOneLook()
	evaluate := func(t resource.Type, snaps []store.Snapshot) {
		look.Add(t, snaps)
		res, err := reg.Evaluate(ctx, &detect.Input{Now: o.Now(), Tenant: tc, Rules: rules, Type: t, Current: snaps, Snapshots: look, OneShot: true})
		if err != nil {
			out.Errors = append(out.Errors, fmt.Sprintf("%s rules: %v", t, err))
		}
		for _, fs := range res {
			all = append(all, fs...)
		}
	}
	var (
		blocked    bool
		blockCause Cause
		blockWhy   string
		autoRead   = notificationRead{}
	)
	for _, t := range resource.Types {
		chk := Check{Monitor: string(t)}
		if m := tc.Monitors.Get(t.Monitor()); m != nil && !m.Enabled {
			chk.Status = CheckDisabled
			out.Checks = append(out.Checks, chk)
			continue
		}
		if blocked {
			chk.Status, chk.Cause = CheckNotRead, blockCause
			chk.Detail = "not attempted: " + blockWhy
			out.Checks = append(out.Checks, chk)
			out.Errors = append(out.Errors, fmt.Sprintf("%s: not read (%s; %s)", t, blockCause.Describe(), blockWhy))
			continue
		}
		c, err := collect.For(t)
		if err != nil {
			continue
		}
		if t == resource.Automation {
			c = collect.AutomationCollector{NotificationBudget: notificationBudget(tc)}
		}
		m, refused := calls.mark(), meter.Refused(tc.Name, o.Now())
		res, err := c.Collect(ctx, &collect.Input{Now: o.Now(), Tenant: tc, Client: cl, Previous: map[string]store.Snapshot{}, Health: hl})
		chk.Failures = calls.failuresSince(m)
		if n := meter.Refused(tc.Name, o.Now()) - refused; n > 0 {
			chk.Failures = append(chk.Failures, EndpointFailure{Endpoint: "(calls refused before sending)", Cause: CauseBudget, Requests: n})
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			hl.RecordFailure(o.Now(), err)
			chk.Status = CheckNotRead
			chk.Cause, chk.Endpoint = causeOf(err)
			chk.Detail = err.Error()
			out.Checks = append(out.Checks, chk)
			out.Errors = append(out.Errors, fmt.Sprintf("%s: not read (%s): %v", t, chk.Cause.Describe(), err))
			if sfmc.IsAuth(err) || sfmc.IsBlocked(err) || (sfmc.IsTransient(err) && len(out.Objects) == 0) {
				// Every further call would fail the same way (credentials,
				// block, or a tenant unreachable from the start): stop
				// spending calls and time.
				blocked, blockCause = true, chk.Cause
				blockWhy = fmt.Sprintf("reading %s failed first", t)
				if chk.Endpoint != "" {
					blockWhy += " on " + chk.Endpoint
				}
			}
			continue
		}
		chk.Status, chk.Objects = CheckRead, len(res.Snapshots)
		if len(chk.Failures) > 0 {
			chk.Status = CheckPartial
		}
		if t == resource.Automation {
			autoRead = notificationRead{read: true, failures: chk.Failures, refused: meter.Refused(tc.Name, o.Now()) - refused}
		}
		out.Checks = append(out.Checks, chk)
		out.Objects[string(t)] = len(res.Snapshots)
		snaps[t] = res.Snapshots
		evaluate(t, res.Snapshots)
	}
	// Tenant health last: it reads what the calls above went through.
	if tcol, err := collect.For(resource.Tenant); err == nil {
		if res, err := tcol.Collect(ctx, &collect.Input{Now: o.Now(), Tenant: tc, Client: cl, Health: hl}); err == nil {
			evaluate(resource.Tenant, res.Snapshots)
		}
	}

	gapCl := cl
	if blocked {
		gapCl = nil // no token: scopes unknown
		out.Coverage.Notes = append(out.Coverage.Notes, fmt.Sprintf("Read scopes were not checked: %s (%s).", blockCause.Describe(), blockWhy))
	}
	gaps := coverageGaps(ctx, tc, gapCl, snaps, all, &out.Coverage, autoRead)
	nRuled := len(all)
	all = append(all, gaps...)

	var problems []health.Problem
	for i, f := range all {
		problems = append(problems, health.Problem{Rule: f.Rule, Severity: f.Severity})
		out.Findings = append(out.Findings, Finding{Rule: f.Rule, Severity: f.Severity, ResourceType: string(f.ResourceType),
			ResourceKey: f.ResourceKey, ResourceName: f.ResourceName, Family: f.Family, Title: f.Title, Detail: f.Detail,
			Owner: f.Owner, Remediation: f.Remediation, Area: health.AreaOf(f.Rule), Gap: i >= nRuled})
	}
	sort.SliceStable(out.Findings, func(i, j int) bool {
		a, b := out.Findings[i], out.Findings[j]
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.ResourceKey < b.ResourceKey
	})
	sc := health.Compute(problems)
	out.Score, out.Grade, out.Deductions = sc.Value, sc.Grade, sc.Deductions
	out.Scored, out.ScoreNote = scoreBasis(out.Checks)
	if !out.Scored {
		out.Score, out.Grade, out.Deductions = 0, GradeUnknown, nil
	}
	out.APICalls = meter.Used(tc.Name, o.Now())
	out.APICallsByEndpoint = meter.Counts(tc.Name, o.Now())
	out.Coverage.DailyAPIBudget = tc.DailyAPIBudget
	if tc.DailyAPIBudget > 0 {
		out.Coverage.BudgetShare = float64(out.APICalls) / float64(tc.DailyAPIBudget)
	}
	out.Duration = o.Now().Sub(start)
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	return out, nil
}

// scoreBasis says whether a tenant can be scored (at least one monitor was
// read) and what the score covers.
func scoreBasis(checks []Check) (bool, string) {
	var read, notRead []string
	for _, c := range checks {
		switch c.Status {
		case CheckRead, CheckPartial:
			read = append(read, c.Monitor)
		case CheckNotRead:
			notRead = append(notRead, fmt.Sprintf("%s (%s)", c.Monitor, c.Cause.Describe()))
		}
	}
	switch {
	case len(read) == 0 && len(notRead) == 0:
		return false, "Not scored: every monitor is disabled."
	case len(read) == 0:
		return false, "Not scored: nothing could be read — " + strings.Join(notRead, ", ") + "."
	case len(notRead) == 0:
		return true, "The score covers every enabled monitor: " + strings.Join(read, ", ") + "."
	}
	return true, "The score covers only what could be read: " + strings.Join(read, ", ") + "; not read: " + strings.Join(notRead, ", ") + "."
}

// MaxSeverity returns the most severe finding severity of the report ("" if none).
func (r *Report) MaxSeverity() catalog.Severity {
	var worst catalog.Severity
	for _, t := range r.Tenants {
		for _, f := range t.Findings {
			if f.Severity.Rank() > worst.Rank() {
				worst = f.Severity
			}
		}
	}
	return worst
}

// ErrNoTenants is returned for a config without tenants.
var ErrNoTenants = errors.New("audit: the config has no tenants")
