package notify

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// matcher is a compiled store.SilenceMatcher.
type matcher struct {
	m  store.SilenceMatcher
	re *regexp.Regexp
}

func compileMatcher(m store.SilenceMatcher) (matcher, error) {
	if err := m.Validate(); err != nil {
		return matcher{}, err
	}
	c := matcher{m: m}
	if m.Op == store.MatchRegexp || m.Op == store.MatchNotRegexp {
		c.re = regexp.MustCompile("^(?:" + m.Value + ")$") // Validate compiled it
	}
	return c, nil
}

func (c matcher) matches(labels map[string]string) bool {
	v := labels[c.m.Label]
	switch c.m.Op {
	case store.MatchEqual:
		return v == c.m.Value
	case store.MatchNotEqual:
		return v != c.m.Value
	case store.MatchRegexp:
		return c.re.MatchString(v)
	case store.MatchNotRegexp:
		return !c.re.MatchString(v)
	}
	return false
}

type matchers []matcher

func (ms matchers) matches(labels map[string]string) bool {
	for _, m := range ms {
		if !m.matches(labels) {
			return false
		}
	}
	return true
}

func parseMatchers(ss []string) (matchers, error) {
	out := make(matchers, 0, len(ss))
	for _, s := range ss {
		m, err := store.ParseMatcher(s)
		if err != nil {
			return nil, err
		}
		c, err := compileMatcher(m)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func compileSilence(s store.Silence) (matchers, error) {
	out := make(matchers, 0, len(s.Matchers))
	for _, m := range s.Matchers {
		c, err := compileMatcher(m)
		if err != nil {
			return nil, fmt.Errorf("silence %d: %w", s.ID, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// route is a compiled config.Route (inheritance already applied by config).
type route struct {
	id             string // position in the tree: "root", "root.0", "root.0.1"
	receiver       string
	matchers       matchers
	cont           bool
	groupBy        []string // nil with groupAll
	groupAll       bool
	groupWait      time.Duration
	groupInterval  time.Duration
	repeatInterval time.Duration
	sendResolved   bool
	escalateTo     string
	escalateAfter  time.Duration
	children       []*route
}

func compileRoute(id string, r *config.Route) (*route, error) {
	ms, err := parseMatchers(r.Matchers)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", id, err)
	}
	out := &route{
		id: id, receiver: r.Receiver, matchers: ms, cont: r.Continue,
		groupWait: r.GroupWait.Std(), groupInterval: r.GroupInterval.Std(), repeatInterval: r.RepeatInterval.Std(),
		sendResolved: r.SendResolved, escalateTo: r.EscalateTo, escalateAfter: r.EscalateAfter.Std(),
	}
	if slices.Contains(r.GroupBy, "...") {
		out.groupAll = true
	} else {
		out.groupBy = slices.Sorted(slices.Values(r.GroupBy))
	}
	for i := range r.Routes {
		c, err := compileRoute(fmt.Sprintf("%s.%d", id, i), &r.Routes[i])
		if err != nil {
			return nil, err
		}
		out.children = append(out.children, c)
	}
	return out, nil
}

// match returns the routes an alert with labels ends on: the deepest
// matching routes, in tree order (Alertmanager semantics: the first
// matching child wins unless it sets continue; a route none of whose
// children match is itself the match).
func (r *route) match(labels map[string]string) []*route {
	if !r.matchers.matches(labels) {
		return nil
	}
	var out []*route
	for _, c := range r.children {
		m := c.match(labels)
		out = append(out, m...)
		if len(m) > 0 && !c.cont {
			break
		}
	}
	if len(out) == 0 {
		out = []*route{r}
	}
	return out
}

// groupKey identifies an alert's group on this route.
func (r *route) groupKey(labels map[string]string) (string, map[string]string) {
	keys := r.groupBy
	if r.groupAll {
		keys = SortedLabelKeys(labels)
	}
	gl := make(map[string]string, len(keys))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		gl[k] = labels[k]
		parts = append(parts, k+"="+fmt.Sprintf("%q", labels[k]))
	}
	return r.id + "{" + strings.Join(parts, ",") + "}", gl
}

// inhibitRule is a compiled config.InhibitRule.
type inhibitRule struct {
	name           string
	source, target matchers
	equal          []string
	// targetOK narrows the targets beyond labels (built-in rules only).
	targetOK func(store.Incident) bool
}

func (r inhibitRule) targets(a *alertInfo) bool {
	return r.target.matches(a.labels) && (r.targetOK == nil || r.targetOK(a.inc))
}

// defaultInhibitRules suppress only what the cause explains, in the same
// tenant:
//   - tenant.blind (sfmcwatch's own credentials fail) explains the failed
//     calls of sfmcwatch's own collectors (api.errors of the monitor's
//     client) — not an integration's 401s, not journeys or sends, whose
//     failures are the customer's and must be seen;
//   - tenant.blocked (SFMC refuses the tenant's calls, 50200) explains
//     every integration's failed calls (api.errors), not the state of
//     journeys, sends or data.
//
// Resolutions are never suppressed (see inhibitStage).
func defaultInhibitRules() []inhibitRule {
	must := func(ss ...string) matchers {
		m, err := parseMatchers(ss)
		if err != nil {
			panic(err) // constant input
		}
		return m
	}
	return []inhibitRule{
		{
			name:     "monitor blind",
			source:   must(`rule="tenant.blind"`),
			target:   must(`rule="api.errors"`),
			equal:    []string{"tenant"},
			targetOK: isMonitorCall,
		},
		{
			name:   "tenant blocked",
			source: must(`rule="tenant.blocked"`),
			target: must(`rule="api.errors"`),
			equal:  []string{"tenant"},
		},
	}
}

// isMonitorCall reports whether an api.errors incident is about
// sfmcwatch's own calls: its fingerprint (rule|tenant|type|endpoint|
// integration|family|code, detect.APIErrors) names no integration — the
// monitor's client records its calls without one (source client).
func isMonitorCall(in store.Incident) bool {
	parts := strings.Split(in.Fingerprint, "|")
	return in.Rule == "api.errors" && len(parts) >= 7 && parts[4] == ""
}

// maintenanceWindow is a compiled config.MaintenanceWindow.
type maintenanceWindow struct {
	cfg      *config.MaintenanceWindow
	matchers matchers
	mute     bool
}

// compiled is everything the dispatcher derives from one config.
type compiled struct {
	cfg      *config.Config
	root     *route
	inhibit  []inhibitRule
	windows  []maintenanceWindow
	external string
	// fallback receives notify.channel_failed incidents (nil = the tree).
	fallback *route
}

func compile(cfg *config.Config) (*compiled, error) {
	a := &cfg.Alerting
	root, err := compileRoute("root", &a.Route)
	if err != nil {
		return nil, err
	}
	c := &compiled{cfg: cfg, root: root, external: strings.TrimRight(cfg.Server.ExternalURL, "/")}
	if a.FallbackReceiver != "" {
		fb := *root
		fb.id, fb.receiver, fb.matchers, fb.cont, fb.children = "fallback", a.FallbackReceiver, nil, false, nil
		fb.escalateTo = ""
		c.fallback = &fb
	}
	if a.DefaultInhibitions {
		c.inhibit = defaultInhibitRules()
	}
	for i, ir := range a.InhibitRules {
		src, err := parseMatchers(ir.SourceMatchers)
		if err != nil {
			return nil, fmt.Errorf("inhibit rule %d: %w", i, err)
		}
		tgt, err := parseMatchers(ir.TargetMatchers)
		if err != nil {
			return nil, fmt.Errorf("inhibit rule %d: %w", i, err)
		}
		c.inhibit = append(c.inhibit, inhibitRule{name: fmt.Sprintf("inhibit rule %d", i+1), source: src, target: tgt, equal: ir.Equal})
	}
	for i := range a.MaintenanceWindows {
		w := &a.MaintenanceWindows[i]
		ms, err := parseMatchers(w.Matchers)
		if err != nil {
			return nil, fmt.Errorf("maintenance window %q: %w", w.Name, err)
		}
		c.windows = append(c.windows, maintenanceWindow{cfg: w, matchers: ms, mute: w.Action == "mute"})
	}
	return c, nil
}

// downgrade lowers a severity one step.
func downgrade(sev string) string {
	switch sev {
	case "critical":
		return "error"
	case "error":
		return "warning"
	default:
		return "info"
	}
}
