package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/cronexpr"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Alerting holds notification routes, receivers, inhibition and
// maintenance windows (docs/ALERTING.md).
type Alerting struct {
	Route              Route               `yaml:"route" doc:"Root of the routing tree. Without child routes, alerts go to the receiver named after the incident's owner team (marketing_ops, data_engineering, infrastructure, salesforce_support, security) when it exists, else to route.receiver."`
	Receivers          []Receiver          `yaml:"receivers" doc:"Named notification targets; a receiver may fan out to several channels."`
	InhibitRules       []InhibitRule       `yaml:"inhibit_rules" doc:"Extra inhibition rules: while a source alert fires, matching target alerts with equal labels are not notified (their resolution still is)."`
	DefaultInhibitions bool                `yaml:"default_inhibitions" doc:"Built-in inhibitions, only what the cause explains: tenant.blind suppresses the tenant's api.errors of sfmcwatch's own calls; tenant.blocked the tenant's api.errors. Never journeys, sends or data, never resolutions."`
	FallbackReceiver   string              `yaml:"fallback_receiver" doc:"Receiver for notify.channel_failed incidents (a channel that keeps failing after retries); empty = the routing tree. Pick one that does not share the failing channel."`
	Heartbeat          Heartbeat           `yaml:"heartbeat" doc:"Dead man's switch: ping an outside URL every interval so it notices when sfmcwatch stops."`
	MaintenanceWindows []MaintenanceWindow `yaml:"maintenance_windows" doc:"Recurring windows (e.g. the SFMC release window) that mute or downgrade matching alerts; server and timeout alerts by default."`
	PollInterval       Duration            `yaml:"poll_interval" doc:"How often the dispatcher re-reads incidents, acknowledgements and silences from the store (changes seen in-process apply at once)."`
	Outbox             Outbox              `yaml:"outbox" doc:"Durable delivery: retries and retention of sent notifications."`
}

// Route is one node of the routing tree. Unset timing keys, group_by,
// receiver and escalation are inherited from the parent route.
type Route struct {
	Receiver       string   `yaml:"receiver" doc:"Receiver name for alerts this route matches."`
	Matchers       []string `yaml:"matchers" doc:"Label conditions, all must hold: label=value, label!=value, label=~regexp, label!~regexp. Labels: family, rule, severity, tenant, owner, resource_type, resource_key."`
	Continue       bool     `yaml:"continue" doc:"Keep matching the following sibling routes after this one matched."`
	GroupBy        []string `yaml:"group_by" doc:"Labels whose values form one notification group (one message per root cause); [...] groups every label (one message per incident). Default [tenant, owner, family]."`
	GroupWait      Duration `yaml:"group_wait" doc:"Wait before the first notification of a new group, to collect its siblings."`
	GroupInterval  Duration `yaml:"group_interval" doc:"Wait before notifying a change (new or resolved alert) in a group already notified."`
	RepeatInterval Duration `yaml:"repeat_interval" doc:"Remind about still-firing, unacknowledged groups this often (\"failing for 3h\")."`
	SendResolved   bool     `yaml:"send_resolved" doc:"Send a resolved message when alerts of a notified group resolve."`
	EscalateTo     string   `yaml:"escalate_to" doc:"Second receiver for critical alerts still unacknowledged after escalate_after."`
	EscalateAfter  Duration `yaml:"escalate_after" doc:"Delay before escalating an unacknowledged critical alert."`
	Routes         []Route  `yaml:"routes" doc:"Child routes with the same keys as route, tried in order; the first match wins unless it sets continue."`
}

// Receiver is a named notification target.
type Receiver struct {
	Name         string        `yaml:"name" doc:"Unique name referenced by routes (letters, digits, - and _)."`
	Slack        *Slack        `yaml:"slack,omitempty" doc:"Slack incoming webhook (Block Kit)."`
	Teams        *Teams        `yaml:"teams,omitempty" doc:"Microsoft Teams Workflows webhook (Adaptive Card)."`
	Email        *Email        `yaml:"email,omitempty" doc:"E-mail over SMTP (STARTTLS or implicit TLS), HTML and text parts."`
	PagerDuty    *PagerDuty    `yaml:"pagerduty,omitempty" doc:"PagerDuty Events API v2 (trigger/acknowledge/resolve; dedup_key = incident fingerprint)."`
	Webhook      *Webhook      `yaml:"webhook,omitempty" doc:"Generic JSON webhook, HMAC-SHA256 signed."`
	Alertmanager *Alertmanager `yaml:"alertmanager,omitempty" doc:"Forward to a Prometheus Alertmanager (POST /api/v2/alerts)."`
	Console      *Console      `yaml:"console,omitempty" doc:"One readable line per notification on stdout or stderr."`
}

// Channels returns the names of the channels the receiver sets.
func (r *Receiver) Channels() []string {
	var out []string
	for _, c := range []struct {
		name string
		set  bool
	}{
		{"slack", r.Slack != nil}, {"teams", r.Teams != nil}, {"email", r.Email != nil},
		{"pagerduty", r.PagerDuty != nil}, {"webhook", r.Webhook != nil},
		{"alertmanager", r.Alertmanager != nil}, {"console", r.Console != nil},
	} {
		if c.set {
			out = append(out, c.name)
		}
	}
	return out
}

// Receiver returns the receiver named name, or nil.
func (a *Alerting) Receiver(name string) *Receiver {
	for i := range a.Receivers {
		if a.Receivers[i].Name == name {
			return &a.Receivers[i]
		}
	}
	return nil
}

// InhibitRule mutes target alerts while a source alert with the same values
// of the equal labels fires.
type InhibitRule struct {
	SourceMatchers []string `yaml:"source_matchers" doc:"Matchers selecting the inhibiting (root-cause) alert."`
	TargetMatchers []string `yaml:"target_matchers" doc:"Matchers selecting the alerts it suppresses."`
	Equal          []string `yaml:"equal" doc:"Labels that must have equal values in source and target (e.g. [tenant])."`
}

// Heartbeat pings an external dead man's switch (Healthchecks.io, Cronitor,
// Alertmanager's Watchdog receiver, …) every interval while sfmcwatch runs.
type Heartbeat struct {
	URL      Secret   `yaml:"url" doc:"URL pinged every interval (often carries a token, hence secret); or url_file. Empty = off."`
	Interval Duration `yaml:"interval" doc:"Ping period (default 1m; the outside service should alert after a few missed pings)."`
	Method   string   `yaml:"method" doc:"GET (default) or POST."`
	Timeout  Duration `yaml:"timeout" doc:"HTTP timeout of one ping (default 10s)."`
}

// MaintenanceWindow is a recurring window.
type MaintenanceWindow struct {
	Name     string   `yaml:"name" doc:"Shown in notifications sent during the window."`
	Schedule string   `yaml:"schedule" doc:"Cron expression (5 fields) of the window start, e.g. \"0 2 * * sat\"."`
	Duration Duration `yaml:"duration" doc:"Length of the window."`
	Timezone string   `yaml:"timezone" doc:"IANA time zone of the schedule (default UTC)."`
	Matchers []string `yaml:"matchers" doc:"Alerts the window applies to (default: server and timeout alerts)."`
	Action   string   `yaml:"action" doc:"downgrade (default) or mute. mute: no notification; downgrade: severity one step lower, so no paging and no escalation."`

	sched *cronexpr.Schedule
	loc   *time.Location
}

// Contains reports whether t falls inside an occurrence of the window.
func (w *MaintenanceWindow) Contains(t time.Time) bool {
	if w.sched == nil || w.Duration <= 0 {
		return false
	}
	start := w.sched.Next(t.Add(-w.Duration.Std()), w.loc)
	return !start.IsZero() && !start.After(t)
}

// Outbox tunes durable delivery.
type Outbox struct {
	RetryInitial Duration `yaml:"retry_initial" doc:"First retry delay after a retryable failure (doubles each attempt)."`
	RetryMax     Duration `yaml:"retry_max" doc:"Longest retry delay."`
	GiveUpAfter  Duration `yaml:"give_up_after" doc:"Mark a notification failed when it could not be delivered for this long."`
	Retention    Duration `yaml:"retention" doc:"Keep sent and failed notifications (the idempotency window) this long."`
}

// Slack is an incoming-webhook receiver.
type Slack struct {
	WebhookURL Secret   `yaml:"webhook_url" doc:"Incoming webhook URL (https://hooks.slack.com/services/...); secret, or webhook_url_file."`
	Channel    string   `yaml:"channel,omitempty" doc:"Channel override (#name), when the webhook allows it."`
	Username   string   `yaml:"username,omitempty" doc:"Bot name override."`
	Timeout    Duration `yaml:"timeout" doc:"HTTP timeout (default 10s)."`
}

// Teams is a Microsoft Teams Workflows webhook receiver.
type Teams struct {
	WebhookURL Secret   `yaml:"webhook_url" doc:"Workflows \"When a Teams webhook request is received\" URL; secret, or webhook_url_file."`
	Timeout    Duration `yaml:"timeout" doc:"HTTP timeout (default 10s)."`
}

// Email is an SMTP receiver.
type Email struct {
	Host          string   `yaml:"host" doc:"SMTP server host name."`
	Port          int      `yaml:"port" doc:"SMTP port: 587 (STARTTLS) or 465 (implicit TLS); default by tls."`
	TLS           string   `yaml:"tls" doc:"starttls (default; required), tls (implicit) or none (loopback servers only)."`
	Username      string   `yaml:"username,omitempty" doc:"SMTP AUTH user; empty = no authentication."`
	Password      Secret   `yaml:"password,omitempty" doc:"SMTP AUTH password; secret, or password_file."`
	From          string   `yaml:"from" doc:"Sender address."`
	To            []string `yaml:"to" doc:"Recipient addresses."`
	SubjectPrefix string   `yaml:"subject_prefix" doc:"Prefix of every subject (default [sfmcwatch])."`
	Timeout       Duration `yaml:"timeout" doc:"Connection and send timeout (default 10s)."`
}

// PagerDuty is an Events API v2 receiver.
type PagerDuty struct {
	RoutingKey Secret   `yaml:"routing_key" doc:"Integration (routing) key of the service; secret, or routing_key_file."`
	URL        string   `yaml:"url" config:"url" doc:"Events API endpoint (default https://events.pagerduty.com/v2/enqueue)."`
	Timeout    Duration `yaml:"timeout" doc:"HTTP timeout (default 10s)."`
}

// Webhook is a generic JSON webhook receiver.
type Webhook struct {
	URL        Secret   `yaml:"url" doc:"Endpoint URL (may carry a token, hence secret); or url_file."`
	SigningKey Secret   `yaml:"signing_key,omitempty" doc:"HMAC-SHA256 key: requests carry X-Sfmcwatch-Signature: t=<unix>,v1=<hex hmac of \"<unix>.<body>\">; or signing_key_file."`
	Timeout    Duration `yaml:"timeout" doc:"HTTP timeout (default 10s)."`
}

// Alertmanager forwards alerts to a Prometheus Alertmanager.
type Alertmanager struct {
	URL         string   `yaml:"url" config:"url" doc:"Alertmanager base URL, e.g. http://alertmanager:9093 (https required with bearer_token)."`
	BearerToken Secret   `yaml:"bearer_token,omitempty" doc:"Authorization bearer token; or bearer_token_file."`
	Timeout     Duration `yaml:"timeout" doc:"HTTP timeout (default 10s)."`
}

// Console writes one line per notification.
type Console struct {
	Output string `yaml:"output" doc:"stdout (default) or stderr."`
}

// FieldError is one invalid key of a channel config; Validate methods
// return them joined so check-config can point at the key.
type FieldError struct {
	Key     string
	Message string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Message }

func fieldErr(key, format string, args ...any) error {
	return &FieldError{Key: key, Message: fmt.Sprintf(format, args...)}
}

const defaultChannelTimeout = Duration(10 * time.Second)

func checkTimeout(key string, d Duration) error {
	if d < Duration(time.Second) || d > Duration(2*time.Minute) {
		return fieldErr(key, "must be between 1s and 2m, got %s", d)
	}
	return nil
}

// checkURL validates an http(s) URL without ever echoing it (it may carry
// a token): https, or http on a loopback host.
func checkURL(key, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fieldErr(key, "want an absolute https URL")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fieldErr(key, "http is allowed for loopback hosts only; use https")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Validate checks the Slack receiver.
func (s *Slack) Validate() error {
	var errs []error
	if !s.WebhookURL.IsSet() {
		errs = append(errs, fieldErr("webhook_url", "is required"))
	} else if err := checkURL("webhook_url", s.WebhookURL.Reveal()); err != nil {
		errs = append(errs, err)
	}
	if s.Channel != "" && !strings.HasPrefix(s.Channel, "#") && !strings.HasPrefix(s.Channel, "@") {
		errs = append(errs, fieldErr("channel", "want #channel or @user, got %q", s.Channel))
	}
	errs = append(errs, checkTimeout("timeout", s.Timeout))
	return errors.Join(errs...)
}

// Validate checks the Teams receiver.
func (t *Teams) Validate() error {
	var errs []error
	if !t.WebhookURL.IsSet() {
		errs = append(errs, fieldErr("webhook_url", "is required"))
	} else if err := checkURL("webhook_url", t.WebhookURL.Reveal()); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, checkTimeout("timeout", t.Timeout))
	return errors.Join(errs...)
}

// Validate checks the e-mail receiver and fills the port from tls.
func (e *Email) Validate() error {
	var errs []error
	if e.Host == "" {
		errs = append(errs, fieldErr("host", "is required"))
	}
	switch e.TLS {
	case "starttls", "tls":
	case "none":
		if e.Host != "" && !isLoopback(e.Host) {
			errs = append(errs, fieldErr("tls", "none is allowed for loopback SMTP servers only"))
		}
	default:
		errs = append(errs, fieldErr("tls", "want starttls, tls or none, got %q", e.TLS))
	}
	if e.Port == 0 {
		e.Port = map[string]int{"tls": 465, "none": 25}[e.TLS]
		if e.Port == 0 {
			e.Port = 587
		}
	}
	if e.Port < 1 || e.Port > 65535 {
		errs = append(errs, fieldErr("port", "want 1..65535, got %d", e.Port))
	}
	if e.Password.IsSet() && e.Username == "" {
		errs = append(errs, fieldErr("username", "is required when password is set"))
	}
	if _, err := mail.ParseAddress(e.From); err != nil {
		errs = append(errs, fieldErr("from", "want an e-mail address"))
	}
	if len(e.To) == 0 {
		errs = append(errs, fieldErr("to", "at least one recipient is required"))
	}
	for i, to := range e.To {
		if _, err := mail.ParseAddress(to); err != nil {
			// The address is personal data: name the position only.
			errs = append(errs, fieldErr(fmt.Sprintf("to[%d]", i), "not an e-mail address"))
		}
	}
	errs = append(errs, checkTimeout("timeout", e.Timeout))
	return errors.Join(errs...)
}

// DefaultPagerDutyURL is the Events API v2 endpoint.
const DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// Validate checks the PagerDuty receiver.
func (p *PagerDuty) Validate() error {
	var errs []error
	if !p.RoutingKey.IsSet() {
		errs = append(errs, fieldErr("routing_key", "is required"))
	} else if n := len(p.RoutingKey.Reveal()); n != 32 {
		errs = append(errs, fieldErr("routing_key", "want the 32-character integration key, got %d characters", n))
	}
	if err := checkURL("url", p.URL); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, checkTimeout("timeout", p.Timeout))
	return errors.Join(errs...)
}

// Validate checks the webhook receiver.
func (w *Webhook) Validate() error {
	var errs []error
	if !w.URL.IsSet() {
		errs = append(errs, fieldErr("url", "is required"))
	} else if err := checkURL("url", w.URL.Reveal()); err != nil {
		errs = append(errs, err)
	}
	if w.SigningKey.IsSet() && len(w.SigningKey.Reveal()) < 16 {
		errs = append(errs, fieldErr("signing_key", "use at least 16 characters"))
	}
	errs = append(errs, checkTimeout("timeout", w.Timeout))
	return errors.Join(errs...)
}

// Validate checks the Alertmanager receiver.
func (a *Alertmanager) Validate() error {
	var errs []error
	if a.URL == "" {
		errs = append(errs, fieldErr("url", "is required"))
	} else if err := checkURL("url", a.URL); err != nil {
		// Alertmanager usually sits on the internal network over plain
		// http; only a bearer token requires https.
		if u, perr := url.Parse(a.URL); perr != nil || u.Scheme != "http" || u.Host == "" || a.BearerToken.IsSet() {
			errs = append(errs, err)
		}
	}
	errs = append(errs, checkTimeout("timeout", a.Timeout))
	return errors.Join(errs...)
}

// Validate checks the console receiver.
func (c *Console) Validate() error {
	if c.Output != "stdout" && c.Output != "stderr" {
		return fieldErr("output", "want stdout or stderr, got %q", c.Output)
	}
	return nil
}

// Owner-team receivers of the default routing tree.
var defaultTeamReceivers = []string{"marketing_ops", "data_engineering", "infrastructure", "salesforce_support", "security"}

// DefaultAlerting returns the alerting defaults: first notification of a
// new group after 15 s (a persistent auth or client failure is announced
// within 30 s of its incident), changes batched per minute, reminders every
// 3 h, resolved messages on.
func DefaultAlerting() Alerting {
	return Alerting{
		Route: Route{
			GroupBy:        []string{"tenant", "owner", "family"},
			GroupWait:      Duration(15 * time.Second),
			GroupInterval:  Duration(time.Minute),
			RepeatInterval: Duration(3 * time.Hour),
			SendResolved:   true,
			EscalateAfter:  Duration(30 * time.Minute),
		},
		DefaultInhibitions: true,
		PollInterval:       Duration(10 * time.Second),
		Outbox: Outbox{
			RetryInitial: Duration(10 * time.Second),
			RetryMax:     Duration(10 * time.Minute),
			GiveUpAfter:  Duration(24 * time.Hour),
			Retention:    Duration(7 * day),
		},
	}
}

func (d *decoder) matchers(path string, ms []string) {
	for i, m := range ms {
		if _, err := store.ParseMatcher(m); err != nil {
			d.errorf(nil, fmt.Sprintf("%s[%d]", path, i), "%v", err)
		}
	}
}

func (d *decoder) groupBy(path string, labels []string) {
	allowed := append(store.SilenceLabels(), "...")
	for i, l := range labels {
		if !slices.Contains(allowed, l) {
			d.errorf(nil, fmt.Sprintf("%s[%d]", path, i), "unknown label %q (want %s)", l, orList(allowed))
		}
	}
}

func (d *decoder) validateAlerting(c *Config) {
	a := &c.Alerting
	names := map[string]bool{}
	for i := range a.Receivers {
		r := &a.Receivers[i]
		p := fmt.Sprintf("alerting.receivers[%d]", i)
		switch {
		case !validName(r.Name):
			d.errorf(nil, p+".name", "invalid receiver name %q: use 1-64 letters, digits, - and _", r.Name)
		case names[r.Name]:
			d.errorf(nil, p+".name", "duplicate receiver name %q", r.Name)
		}
		names[r.Name] = true
		if len(r.Channels()) == 0 {
			d.errorf(nil, p, "receiver %q sets no channel (slack, teams, email, pagerduty, webhook, alertmanager or console)", r.Name)
		}
		d.validateChannels(p, r)
	}

	root := &a.Route
	if root.Receiver == "" && len(a.Receivers) > 0 {
		root.Receiver = a.Receivers[0].Name
		if names["default"] {
			root.Receiver = "default"
		}
	}
	if len(root.Routes) == 0 && !d.isSet("alerting.route.routes") {
		for _, team := range defaultTeamReceivers {
			if names[team] {
				root.Routes = append(root.Routes, Route{Receiver: team, Matchers: []string{"owner=" + team}})
			}
		}
	}
	d.validateRoute("alerting.route", root, nil, names, 0)

	for i, ir := range a.InhibitRules {
		p := fmt.Sprintf("alerting.inhibit_rules[%d]", i)
		if len(ir.SourceMatchers) == 0 || len(ir.TargetMatchers) == 0 {
			d.errorf(nil, p, "source_matchers and target_matchers are both required")
		}
		d.matchers(p+".source_matchers", ir.SourceMatchers)
		d.matchers(p+".target_matchers", ir.TargetMatchers)
		d.groupBy(p+".equal", ir.Equal)
		for _, w := range InhibitRuleWarnings(ir) {
			d.warnf(p, "%s", w)
		}
	}
	if a.FallbackReceiver != "" && !names[a.FallbackReceiver] {
		d.errorf(nil, "alerting.fallback_receiver", "unknown receiver %q%s", a.FallbackReceiver, didYouMean(a.FallbackReceiver, names))
	}
	d.validateHeartbeat(&a.Heartbeat)
	for i := range a.MaintenanceWindows {
		w := &a.MaintenanceWindows[i]
		p := fmt.Sprintf("alerting.maintenance_windows[%d]", i)
		if w.Name == "" {
			d.errorf(nil, p+".name", "is required")
		}
		if s, err := cronexpr.Parse(w.Schedule); err != nil {
			d.errorf(nil, p+".schedule", "%v", err)
		} else {
			w.sched = s
		}
		if w.Timezone == "" {
			w.Timezone = "UTC"
		}
		if loc, err := time.LoadLocation(w.Timezone); err != nil {
			d.errorf(nil, p+".timezone", "unknown time zone %q", w.Timezone)
		} else {
			w.loc = loc
		}
		if w.Duration <= 0 || w.Duration > Duration(7*day) {
			d.errorf(nil, p+".duration", "want a duration between 1s and 7d, got %s", w.Duration)
		}
		if len(w.Matchers) == 0 {
			w.Matchers = []string{`family=~"server|timeout"`}
		}
		d.matchers(p+".matchers", w.Matchers)
		if w.Action == "" {
			w.Action = "downgrade"
		}
		d.oneOf(p+".action", w.Action, "mute", "downgrade")
	}
	if a.PollInterval < Duration(time.Second) || a.PollInterval > Duration(5*time.Minute) {
		d.errorf(nil, "alerting.poll_interval", "must be between 1s and 5m, got %s", a.PollInterval)
	}
	o := a.Outbox
	if o.RetryInitial < Duration(time.Second) {
		d.errorf(nil, "alerting.outbox.retry_initial", "must be at least 1s, got %s", o.RetryInitial)
	}
	if o.RetryMax < o.RetryInitial {
		d.errorf(nil, "alerting.outbox.retry_max", "must be at least retry_initial (%s), got %s", o.RetryInitial, o.RetryMax)
	}
	if o.GiveUpAfter < Duration(time.Minute) {
		d.errorf(nil, "alerting.outbox.give_up_after", "must be at least 1m, got %s", o.GiveUpAfter)
	}
	if o.Retention < Duration(time.Hour) {
		d.errorf(nil, "alerting.outbox.retention", "must be at least 1h, got %s", o.Retention)
	}
	if o.Retention < o.GiveUpAfter {
		d.warnf("alerting.outbox.retention", "retention (%s) is shorter than give_up_after (%s): a notification still retrying could be sent twice after its sent twin is pruned", o.Retention, o.GiveUpAfter)
	}
}

func (d *decoder) validateChannels(p string, r *Receiver) {
	type channel struct {
		name     string
		timeout  *Duration
		validate func() error
	}
	var chans []channel
	if r.Slack != nil {
		chans = append(chans, channel{"slack", &r.Slack.Timeout, r.Slack.Validate})
	}
	if r.Teams != nil {
		chans = append(chans, channel{"teams", &r.Teams.Timeout, r.Teams.Validate})
	}
	if r.Email != nil {
		if r.Email.TLS == "" {
			r.Email.TLS = "starttls"
		}
		if r.Email.SubjectPrefix == "" && !d.isSet(p+".email.subject_prefix") {
			r.Email.SubjectPrefix = "[sfmcwatch]"
		}
		chans = append(chans, channel{"email", &r.Email.Timeout, r.Email.Validate})
	}
	if r.PagerDuty != nil {
		if r.PagerDuty.URL == "" {
			r.PagerDuty.URL = DefaultPagerDutyURL
		}
		chans = append(chans, channel{"pagerduty", &r.PagerDuty.Timeout, r.PagerDuty.Validate})
	}
	if r.Webhook != nil {
		chans = append(chans, channel{"webhook", &r.Webhook.Timeout, r.Webhook.Validate})
	}
	if r.Alertmanager != nil {
		chans = append(chans, channel{"alertmanager", &r.Alertmanager.Timeout, r.Alertmanager.Validate})
	}
	if r.Console != nil {
		if r.Console.Output == "" {
			r.Console.Output = "stdout"
		}
		chans = append(chans, channel{"console", nil, r.Console.Validate})
	}
	for _, c := range chans {
		if c.timeout != nil && *c.timeout == 0 {
			*c.timeout = defaultChannelTimeout
		}
		err := c.validate()
		if err == nil {
			continue
		}
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, e := range errs {
			var fe *FieldError
			if errors.As(e, &fe) {
				d.errorf(nil, p+"."+c.name+"."+fe.Key, "%s", fe.Message)
			} else {
				d.errorf(nil, p+"."+c.name, "%v", e)
			}
		}
	}
}

// validateRoute checks a route and fills the keys it inherits from parent.
func (d *decoder) validateRoute(p string, r, parent *Route, names map[string]bool, depth int) {
	if depth > 16 {
		d.errorf(nil, p, "routes nested more than 16 deep")
		return
	}
	if parent != nil {
		if r.Receiver == "" {
			r.Receiver = parent.Receiver
		}
		if !d.isSet(p + ".group_by") {
			r.GroupBy = parent.GroupBy
		}
		if !d.isSet(p + ".group_wait") {
			r.GroupWait = parent.GroupWait
		}
		if !d.isSet(p + ".group_interval") {
			r.GroupInterval = parent.GroupInterval
		}
		if !d.isSet(p + ".repeat_interval") {
			r.RepeatInterval = parent.RepeatInterval
		}
		if !d.isSet(p + ".send_resolved") {
			r.SendResolved = parent.SendResolved
		}
		if r.EscalateTo == "" {
			r.EscalateTo = parent.EscalateTo
		}
		if !d.isSet(p + ".escalate_after") {
			r.EscalateAfter = parent.EscalateAfter
		}
	} else if len(r.Matchers) > 0 {
		d.errorf(nil, p+".matchers", "the root route matches every alert; put matchers on child routes")
	}
	if r.Receiver != "" && !names[r.Receiver] {
		d.errorf(nil, p+".receiver", "unknown receiver %q%s", r.Receiver, didYouMean(r.Receiver, names))
	}
	if r.EscalateTo != "" && !names[r.EscalateTo] {
		d.errorf(nil, p+".escalate_to", "unknown receiver %q%s", r.EscalateTo, didYouMean(r.EscalateTo, names))
	}
	d.matchers(p+".matchers", r.Matchers)
	d.groupBy(p+".group_by", r.GroupBy)
	if r.GroupWait > Duration(time.Hour) {
		d.errorf(nil, p+".group_wait", "must be at most 1h, got %s", r.GroupWait)
	}
	if r.GroupInterval < Duration(time.Second) {
		d.errorf(nil, p+".group_interval", "must be at least 1s, got %s", r.GroupInterval)
	}
	if r.RepeatInterval < Duration(time.Minute) {
		d.errorf(nil, p+".repeat_interval", "must be at least 1m, got %s", r.RepeatInterval)
	}
	// Timers that contradict each other: warnings, the config still runs.
	if r.GroupWait > r.GroupInterval && r.GroupInterval > 0 {
		d.warnf(p+".group_wait", "group_wait (%s) is longer than group_interval (%s): changes to a group are batched faster than its first notice", r.GroupWait, r.GroupInterval)
	}
	if r.RepeatInterval < r.GroupInterval {
		d.warnf(p+".repeat_interval", "repeat_interval (%s) is shorter than group_interval (%s): reminders can only go out at group_interval", r.RepeatInterval, r.GroupInterval)
	}
	if r.EscalateTo != "" {
		if r.EscalateAfter <= r.GroupWait {
			d.warnf(p+".escalate_after", "escalate_after (%s) is not longer than group_wait (%s): alerts escalate before anyone got the first notice", r.EscalateAfter, r.GroupWait)
		}
		if r.EscalateTo == r.Receiver {
			d.warnf(p+".escalate_to", "escalates to its own receiver %q", r.Receiver)
		}
	}
	if r.GroupWait > Duration(30*time.Second) && d.routeMayMatchFamily(r, "auth", "client") {
		d.warnf(p+".group_wait", "group_wait (%s) delays the first notice of auth and client failures past 30s", r.GroupWait)
	}
	for i := range r.Routes {
		d.validateRoute(fmt.Sprintf("%s.routes[%d]", p, i), &r.Routes[i], r, names, depth+1)
	}
}

// routeMayMatchFamily reports whether no matcher of r excludes every one of
// families (a cheap check for the warning above).
func (d *decoder) routeMayMatchFamily(r *Route, families ...string) bool {
	for _, s := range r.Matchers {
		m, err := store.ParseMatcher(s)
		if err != nil || m.Label != "family" {
			continue
		}
		if m.Op == store.MatchEqual && !slices.Contains(families, m.Value) {
			return false
		}
	}
	return true
}

func didYouMean(name string, names map[string]bool) string {
	known := make([]string, 0, len(names))
	for n := range names {
		known = append(known, n)
	}
	slices.Sort(known)
	if s := suggest(name, known); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	if len(known) == 0 {
		return " (no receivers are defined)"
	}
	return " (defined: " + strings.Join(known, ", ") + ")"
}

func (d *decoder) validateHeartbeat(h *Heartbeat) {
	if h.Interval == 0 {
		h.Interval = Duration(time.Minute)
	}
	if h.Timeout == 0 {
		h.Timeout = defaultChannelTimeout
	}
	if h.Method == "" {
		h.Method = "GET"
	}
	if !h.URL.IsSet() {
		return
	}
	if err := checkURL("url", h.URL.Reveal()); err != nil {
		d.errorf(nil, "alerting.heartbeat.url", "%s", err.(*FieldError).Message)
	}
	if h.Interval < Duration(10*time.Second) || h.Interval > Duration(time.Hour) {
		d.errorf(nil, "alerting.heartbeat.interval", "must be between 10s and 1h, got %s", h.Interval)
	}
	if err := checkTimeout("timeout", h.Timeout); err != nil {
		d.errorf(nil, "alerting.heartbeat.timeout", "%s", err.(*FieldError).Message)
	}
	d.oneOf("alerting.heartbeat.method", h.Method, "GET", "POST")
}

// Labels every incident carries a single, fixed value of, per kind: a
// matcher on them never selects "all of a tenant".
var narrowLabels = []string{"rule", "resource_key"}

// InhibitRuleWarnings says what is risky about a configured inhibition
// rule (check-config prints them as warnings; the rule still applies):
//   - no equal labels: an incident of one tenant suppresses matching alerts
//     of every tenant;
//   - a target selected only by negative matchers or by a broad label
//     (family, owner, severity, tenant) rather than a rule or resource:
//     it hides failures the source does not explain;
//   - source and target can match the same incident: incidents of that
//     kind suppress each other, and a receiver that drops inhibited
//     resolutions (Alertmanager does) never hears the second one resolve.
//
// sfmcwatch itself always sends the resolution of an incident it notified.
func InhibitRuleWarnings(ir InhibitRule) []string {
	var out []string
	if len(ir.Equal) == 0 {
		out = append(out, "inhibit rule has no equal labels: an incident in one tenant suppresses matching alerts in every tenant (add equal: [tenant])")
	}
	src, tgt := parsedMatchers(ir.SourceMatchers), parsedMatchers(ir.TargetMatchers)
	if !narrowTarget(tgt) {
		out = append(out, "inhibit rule is broad: its target_matchers name no rule or resource_key with = or =~, so it can hide failures the source does not explain (journeys, sends)")
	}
	if mayOverlap(src, tgt) {
		out = append(out, "inhibit rule's source and target can match the same incident: incidents of that kind suppress each other, and a receiver that drops inhibited resolutions would never see one resolve (exclude the source from the target, e.g. rule!=...)")
	}
	return out
}

func parsedMatchers(ss []string) []store.SilenceMatcher {
	var out []store.SilenceMatcher
	for _, s := range ss {
		if m, err := store.ParseMatcher(s); err == nil {
			out = append(out, m)
		}
	}
	return out
}

func narrowTarget(tgt []store.SilenceMatcher) bool {
	for _, m := range tgt {
		if slices.Contains(narrowLabels, m.Label) && (m.Op == store.MatchEqual || m.Op == store.MatchRegexp) {
			return true
		}
	}
	return false
}

// mayOverlap reports whether some label set could satisfy both matcher
// lists: false only when both fix one label to different values with =.
func mayOverlap(a, b []store.SilenceMatcher) bool {
	for _, x := range a {
		for _, y := range b {
			if x.Label != y.Label {
				continue
			}
			if x.Op == store.MatchEqual && y.Op == store.MatchEqual && x.Value != y.Value {
				return false
			}
			if disjoint(x, y) || disjoint(y, x) {
				return false
			}
		}
	}
	return true
}

// disjoint reports whether no value satisfies both x and y (same label),
// for the pairs that can be decided cheaply: = against != or a regexp,
// and two different regexps (assumed disjoint: no false warnings).
func disjoint(x, y store.SilenceMatcher) bool {
	switch {
	case x.Op == store.MatchEqual && y.Op == store.MatchNotEqual:
		return x.Value == y.Value
	case x.Op == store.MatchEqual && y.Op == store.MatchRegexp:
		re, err := regexp.Compile("^(?:" + y.Value + ")$")
		return err == nil && !re.MatchString(x.Value)
	case x.Op == store.MatchRegexp && y.Op == store.MatchRegexp:
		return x.Value != y.Value
	}
	return false
}
