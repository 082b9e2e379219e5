package notify

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Unit tests of the pure stages: each takes alerts and marks them.

func alertOf(id int64, rule, family, tenant string, open bool) *alertInfo {
	in := store.Incident{ID: id, Rule: rule, Family: family, Tenant: tenant, Severity: "error", Owner: "marketing_ops",
		ResourceType: "tenant", ResourceKey: "k", Title: rule, OpenedAt: time.Unix(1000, 0)}
	if !open {
		in.Status = store.IncidentResolved
	}
	return &alertInfo{inc: in, open: open, labels: incidentLabels(in)}
}

func TestCorrelateStage(t *testing.T) {
	cause := alertOf(1, "tenant.blind", "auth", "acme", true)
	child := alertOf(2, "api.errors", "auth", "acme", true)
	orphan := alertOf(3, "api.errors", "rate_limit", "acme", true) // its cause #9 resolved
	self := alertOf(4, "api.errors", "server", "acme", true)
	closed := alertOf(5, "api.errors", "server", "acme", false)
	causes := map[int64]int64{2: 1, 3: 9, 4: 4, 5: 1}
	correlateStage{causeOf: func(in store.Incident) int64 { return causes[in.ID] }}.apply([]*alertInfo{cause, child, orphan, self, closed})
	if child.causedBy != cause || !strings.Contains(child.note, "caused by incident #1 (tenant.blind)") || !child.quiet() {
		t.Fatalf("child: causedBy %v note %q", child.causedBy, child.note)
	}
	if orphan.causedBy != nil || !strings.Contains(orphan.note, "its cause, incident #9, resolved") {
		t.Fatalf("promoted child: causedBy %v note %q", orphan.causedBy, orphan.note)
	}
	if self.causedBy != nil || closed.causedBy != nil || cause.causedBy != nil {
		t.Fatal("only open children of open causes are attached")
	}
}

func TestSilenceStage(t *testing.T) {
	cfg := mustConfig(t, baseConfig+`
  maintenance_windows:
    - {name: release, schedule: "0 0 * * *", duration: 2h}
    - {name: loads, schedule: "0 0 * * *", duration: 1h, matchers: ['rule="import.failed"'], action: mute}
`)
	c, err := compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sil, err := compileSilence(store.Silence{ID: 1, Matchers: []store.SilenceMatcher{{Label: "tenant", Op: "=", Value: "globex"}}})
	if err != nil {
		t.Fatal(err)
	}
	server := alertOf(1, "api.errors", "server", "acme", true)
	server.inc.Severity, server.labels["severity"] = "critical", "critical"
	imp := alertOf(2, "import.failed", "client", "acme", true)
	other := alertOf(3, "journey.stopped", "", "globex", true)
	plain := alertOf(4, "journey.stopped", "", "acme", true)
	at := time.Date(2026, 3, 2, 0, 30, 0, 0, time.UTC)
	silenceStage{windows: c.windows, silences: []matchers{sil}}.apply([]*alertInfo{server, imp, other, plain}, at)
	if server.silenced || server.labels["severity"] != "error" || !strings.Contains(server.note, "downgraded from critical") {
		t.Fatalf("downgrade: %+v", server)
	}
	if !imp.silenced || !strings.Contains(imp.note, "muted by maintenance window loads") {
		t.Fatalf("mute: %+v", imp)
	}
	if !other.silenced || plain.silenced {
		t.Fatalf("silence: globex %v acme %v", other.silenced, plain.silenced)
	}
}

func TestInhibitStageDefaults(t *testing.T) {
	blind := alertOf(1, "tenant.blind", "auth", "acme", true)
	own := alertOf(2, "api.errors", "auth", "acme", true)
	own.inc.Fingerprint = "api.errors|acme|tenant|/Service.asmx||auth|soap:Security"
	integ := alertOf(3, "api.errors", "auth", "acme", true)
	integ.inc.Fingerprint = "api.errors|acme|tenant|/v1/token|crm-sync|auth|oauth:invalid_client"
	journey := alertOf(4, "journey.stopped", "", "acme", true)
	send := alertOf(5, "triggered_send.errors", "client", "acme", true)
	otherTenant := alertOf(6, "api.errors", "auth", "globex", true)
	otherTenant.inc.Fingerprint = "api.errors|globex|tenant|/Service.asmx||auth|soap:Security"
	ownResolved := alertOf(7, "api.errors", "auth", "acme", false)
	ownResolved.inc.Fingerprint = "api.errors|acme|tenant|/x||auth|rest:401"
	all := []*alertInfo{blind, own, integ, journey, send, otherTenant, ownResolved}
	inhibitStage{rules: defaultInhibitRules()}.apply(all)
	if own.inhibitBy != blind || !strings.Contains(own.note, "suppressed while incident #1 (tenant.blind)") {
		t.Fatalf("own call: %+v", own)
	}
	for _, a := range []*alertInfo{blind, integ, journey, send, otherTenant} {
		if a.inhibitBy != nil {
			t.Errorf("%s (#%d) inhibited by #%d: defaults must suppress only what the cause explains", a.inc.Rule, a.inc.ID, a.inhibitBy.inc.ID)
		}
	}
	if !strings.HasPrefix(ownResolved.note, "resolved while suppressed") {
		t.Fatalf("resolved note = %q", ownResolved.note)
	}

	// tenant.blocked explains every integration's failed calls, not
	// journeys.
	blocked := alertOf(8, "tenant.blocked", "rate_limit", "acme", true)
	integ.inhibitBy, journey.inhibitBy = nil, nil
	inhibitStage{rules: defaultInhibitRules()}.apply([]*alertInfo{blocked, integ, journey})
	if integ.inhibitBy != blocked || journey.inhibitBy != nil {
		t.Fatalf("tenant.blocked: integration %v journey %v", integ.inhibitBy, journey.inhibitBy)
	}
}

func TestInhibitStageMutualSources(t *testing.T) {
	rule, err := compile(mustConfig(t, baseConfig+`
  default_inhibitions: false
  inhibit_rules:
    - {source_matchers: ['family="auth"'], target_matchers: ['family="auth"'], equal: [tenant]}
`))
	if err != nil {
		t.Fatal(err)
	}
	a, b := alertOf(1, "api.errors", "auth", "acme", true), alertOf(2, "tenant.blind", "auth", "acme", true)
	inhibitStage{rules: rule.inhibit}.apply([]*alertInfo{a, b})
	if (a.inhibitBy != nil) == (b.inhibitBy != nil) {
		t.Fatalf("of two incidents that may inhibit each other exactly one must be notified: a %v b %v", a.inhibitBy != nil, b.inhibitBy != nil)
	}
}

func TestPartitionGroup(t *testing.T) {
	firing := alertOf(1, "api.errors", "auth", "acme", true)
	acked := alertOf(2, "api.errors", "auth", "acme", true)
	acked.inc.AcknowledgedAt = time.Unix(2000, 0)
	inhibited := alertOf(3, "api.errors", "auth", "acme", true)
	inhibited.inhibitBy = firing
	heldSilenced := alertOf(4, "api.errors", "auth", "acme", true) // notified, then silenced
	heldSilenced.silenced = true
	newSilenced := alertOf(5, "api.errors", "auth", "acme", true) // never notified
	newSilenced.silenced = true
	child := alertOf(6, "api.errors", "auth", "acme", true) // never notified, evidence of #1
	child.causedBy = firing
	resolvedKnown := alertOf(7, "api.errors", "auth", "acme", false)
	resolvedUnknown := alertOf(8, "api.errors", "auth", "acme", false)
	heldInhibited := alertOf(9, "api.errors", "auth", "acme", true) // notified, then its cause opened
	heldInhibited.inhibitBy = firing
	resolvedSuppressed := alertOf(10, "api.errors", "auth", "acme", false) // inhibited, never notified
	g := &group{alerts: []*alertInfo{firing, acked, inhibited, heldSilenced, newSilenced, child, resolvedKnown, resolvedUnknown, heldInhibited, resolvedSuppressed},
		gs: groupState{Firing: []int64{1, 4, 7, 9}, Suppressed: []int64{10}}}
	p := partitionGroup(g)
	check := func(name string, got []*alertInfo, want ...int64) {
		t.Helper()
		if g := ids(got); len(g) != len(want) || (len(want) > 0 && !equalIDs(g, want)) {
			t.Errorf("%s = %v, want %v", name, g, want)
		}
	}
	check("firing", p.firing, 1, 2)
	check("acked", p.acked, 2)
	check("suppressed", p.suppressed, 3)
	check("held", p.held, 4, 9)
	check("resolved", p.resolved, 7, 10)
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestThrottleDecide(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := &route{groupWait: 15 * time.Second, groupInterval: time.Minute, repeatInterval: 3 * time.Hour, sendResolved: true}
	th := throttle{refreshEvery: 30 * time.Minute}
	a := alertOf(1, "api.errors", "auth", "acme", true)
	a.inc.OpenedAt = t0
	p := partition{firing: []*alertInfo{a}}

	g := &group{route: r}
	if d := th.decide(g, p, t0.Add(5*time.Second)); !d.hold || !d.due.Equal(t0.Add(15*time.Second)) {
		t.Fatalf("group_wait: %+v", d)
	}
	if d := th.decide(g, p, t0.Add(15*time.Second)); !d.send || d.reminder {
		t.Fatalf("first send: %+v", d)
	}
	sent := t0.Add(15 * time.Second)
	g = &group{route: r, state: store.NotifyState{Version: 1}, gs: groupState{Firing: []int64{1}, LastSent: sent, LastFiringSent: sent}}
	if d := th.decide(g, p, sent.Add(time.Hour)); d.send || !d.due.Equal(sent.Add(3*time.Hour)) {
		t.Fatalf("before repeat: %+v", d)
	}
	if d := th.decide(g, p, sent.Add(3*time.Hour)); !d.send || !d.reminder {
		t.Fatalf("reminder: %+v", d)
	}
	b := alertOf(2, "api.errors", "auth", "acme", true)
	p2 := partition{firing: []*alertInfo{a, b}}
	if d := th.decide(g, p2, sent.Add(30*time.Second)); !d.hold || !d.due.Equal(sent.Add(time.Minute)) {
		t.Fatalf("group_interval: %+v", d)
	}

	// Alertmanager channels: acknowledged alerts are refreshed every 30m.
	a.inc.AcknowledgedAt = sent
	pAck := partition{firing: []*alertInfo{a}, acked: []*alertInfo{a}}
	g = &group{route: r, refresh: true, state: store.NotifyState{Version: 2},
		gs: groupState{Firing: []int64{1}, Acked: []int64{1}, LastSent: sent, LastFiringSent: sent, LastRefresh: sent}}
	if d := th.decide(g, pAck, sent.Add(10*time.Minute)); d.send || d.refresh || !d.due.Equal(sent.Add(30*time.Minute)) {
		t.Fatalf("before refresh: %+v", d)
	}
	if d := th.decide(g, pAck, sent.Add(30*time.Minute)); d.send || !d.refresh {
		t.Fatalf("refresh: %+v", d)
	}
	g.refresh = false
	if d := th.decide(g, pAck, sent.Add(30*time.Minute)); d.refresh || !d.due.IsZero() {
		t.Fatalf("no Alertmanager channel, acknowledged: %+v", d)
	}
}

func TestInhibitRuleWarnings(t *testing.T) {
	for _, tc := range []struct {
		rule config.InhibitRule
		want []string
	}{
		{config.InhibitRule{SourceMatchers: []string{`rule="automation.error"`, `resource_key="Nightly"`}, TargetMatchers: []string{`rule=~"data_extension\.(stale|empty)"`}, Equal: []string{"tenant"}}, nil},
		{config.InhibitRule{SourceMatchers: []string{`rule="automation.error"`}, TargetMatchers: []string{`rule="data_extension.stale"`}}, []string{"no equal labels"}},
		{config.InhibitRule{SourceMatchers: []string{`family="auth"`}, TargetMatchers: []string{`family!="auth"`}, Equal: []string{"tenant"}}, []string{"broad"}},
		{config.InhibitRule{SourceMatchers: []string{`family="auth"`}, TargetMatchers: []string{`rule=~"journey\..+"`}, Equal: []string{"tenant"}}, []string{"same incident"}},
	} {
		got := config.InhibitRuleWarnings(tc.rule)
		if len(got) != len(tc.want) {
			t.Errorf("%+v: warnings %q, want %q", tc.rule, got, tc.want)
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], tc.want[i]) {
				t.Errorf("%+v: warning %q, want it to mention %q", tc.rule, got[i], tc.want[i])
			}
		}
	}
}

func TestGrouper(t *testing.T) {
	c, err := compile(mustConfig(t, baseConfig+`
  fallback_receiver: oncall
  route:
    group_by: [tenant, owner, family]
`))
	if err != nil {
		t.Fatal(err)
	}
	a1 := alertOf(1, "api.errors", "auth", "acme", true)
	a2 := alertOf(2, "journey.stopped", "auth", "acme", true)
	b := alertOf(3, "api.errors", "auth", "globex", true)
	failed := alertOf(4, RuleChannelFailed, "none", "", true)
	failed.inc.Owner, failed.inc.ResourceKey = "infrastructure", "marketing_ops/slack"
	failed.labels = incidentLabels(failed.inc)
	fallbackFails := alertOf(5, RuleChannelFailed, "none", "", true)
	fallbackFails.inc.Owner, fallbackFails.inc.ResourceKey = "infrastructure", "oncall/pagerduty"
	fallbackFails.labels = incidentLabels(fallbackFails.inc)
	channels := func(r string) []string {
		if r == "marketing_ops" {
			return []string{"slack", "alertmanager"}
		}
		return []string{"console"}
	}
	gs := grouper{c: c, channels: channels}.apply([]*alertInfo{a1, a2, b, failed, fallbackFails})
	var got []string
	for _, g := range gs {
		got = append(got, fmt.Sprintf("%s %s %d refresh=%v", g.receiver, g.key, len(g.alerts), g.refresh))
	}
	want := []string{
		`marketing_ops root.0{family="auth",owner="marketing_ops",tenant="acme"} 2 refresh=true`,
		`marketing_ops root.0{family="auth",owner="marketing_ops",tenant="globex"} 1 refresh=true`,
		`oncall fallback{family="none",owner="infrastructure",tenant=""} 1 refresh=false`,
		`infrastructure root.2{family="none",owner="infrastructure",tenant=""} 1 refresh=false`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("groups:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Without a fallback a channel failure is not sent down the tree.
	c.fallback = nil
	if gs := (grouper{c: c, channels: channels}).apply([]*alertInfo{failed}); len(gs) != 0 {
		t.Fatalf("channel failure routed without a fallback: %+v", gs[0])
	}
}
