package notify

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Grouping: three auth incidents of one tenant are one message after
// group_wait; a fourth is batched at group_interval; resolutions come as
// one resolved message per incident, and nothing follows.
func TestTimelineGroupingAndResolved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, baseConfig, nil)
		a := r.open("api.errors", "auth", "marketing_ops", "error", "acme", "token")
		time.Sleep(2 * time.Second)
		b := r.open("automation.error", "auth", "marketing_ops", "error", "acme", "nightly")
		c := r.open("import.failed", "auth", "marketing_ops", "error", "acme", "orders")
		other := r.open("api.errors", "rate_limit", "infrastructure", "warning", "acme", "rest")

		next := r.after(10 * time.Second) // t=12s: group_wait (15s) not over
		r.quiet()
		if want := a.OpenedAt.Add(15 * time.Second); !next.Equal(want) {
			t.Fatalf("next wake %v, want group_wait end %v", next, want)
		}
		r.after(3 * time.Second) // t=15s
		msgs := r.expect("marketing_ops", "[FIRING:3] acme · auth · marketing_ops: api.errors on token (+2 more)")
		if got := len(msgs[0].Firing()); got != 3 {
			t.Fatalf("firing alerts = %d", got)
		}
		al := msgs[0].Alerts[0]
		if al.Link != "https://sfmcwatch.example.com/incidents/1" || al.Owner != "marketing_ops" || al.Family != "auth" ||
			al.WhyItMatters == "" || !strings.HasPrefix(al.Detail, "what the rule saw on ") || len(al.Remediation) != 1 || !strings.Contains(al.Evidence, "detection(s) since") {
			t.Fatalf("alert lacks context: %+v", al)
		}
		r.after(time.Second) // t=16s: infrastructure group (opened at 2s) is due since 17s
		r.quiet()
		r.after(time.Second)
		r.expect("infrastructure", "[FIRING:1] acme · rate_limit · infrastructure: api.errors on rest")

		// A fourth auth incident joins; sent at LastSent + group_interval.
		time.Sleep(20 * time.Second) // t=37s
		d := r.open("triggered_send.errors", "auth", "marketing_ops", "error", "acme", "welcome")
		r.after(time.Second)
		r.quiet()
		r.after(37 * time.Second) // t=75s = 15s + 1m
		if msgs = r.expect("marketing_ops", "[FIRING:4] acme · auth · marketing_ops: api.errors on token (+3 more)"); len(msgs[0].Firing()) != 4 {
			t.Fatalf("firing alerts = %d", len(msgs[0].Firing()))
		}

		// Two resolve: one message with 2 firing + 2 resolved.
		r.resolve(a)
		r.resolve(b)
		r.after(time.Minute)
		msgs = r.expect("marketing_ops", "[FIRING:2] acme · auth · marketing_ops: import.failed on orders (+1 more)")
		if res := msgs[0].Resolved(); len(res) != 2 || res[0].IncidentID != a.ID || res[1].IncidentID != b.ID || res[0].EndsAt.IsZero() {
			t.Fatalf("resolved = %+v", res)
		}
		r.resolve(c)
		r.resolve(d)
		r.resolve(other)
		r.after(time.Minute)
		r.expect("marketing_ops", "[RESOLVED:2] acme · auth · marketing_ops: import.failed on orders (+1 more)")
		r.expect("infrastructure", "[RESOLVED:1] acme · rate_limit · infrastructure: api.errors on rest")
		// Nothing more, ever: the log entries are gone.
		if next := r.after(24 * time.Hour); !next.IsZero() {
			t.Fatalf("still scheduled at %v", next)
		}
		r.quiet()
		if states, _ := r.st.NotifyStates(t.Context(), ""); len(states) != 0 {
			t.Fatalf("notification log not cleaned: %+v", states)
		}
	})
}

// Reminders say how long it has been failing; acknowledging sends one
// update and stops the reminders.
func TestTimelineRepeatAndAcknowledge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, baseConfig, nil)
		in := r.open("data_extension.empty", "client", "data_engineering", "error", "acme", "Orders")
		r.after(15 * time.Second)
		r.expect("data_engineering", "[FIRING:1] acme · client · data_engineering: data_extension.empty on Orders")
		next := r.after(time.Hour)
		r.quiet()
		if want := in.OpenedAt.Add(15*time.Second + 3*time.Hour); !next.Equal(want) {
			t.Fatalf("next reminder at %v, want %v", next, want)
		}
		r.after(2 * time.Hour)
		msgs := r.expect("data_engineering", "[STILL FAILING:1] acme · client · data_engineering: data_extension.empty on Orders")
		if !msgs[0].Reminder || !strings.Contains(msgs[0].Text(), "failing for 3h1m") {
			t.Fatalf("reminder text:\n%s", msgs[0].Text())
		}
		if _, err := r.st.AcknowledgeIncident(t.Context(), in.ID, "dana", time.Now()); err != nil {
			t.Fatal(err)
		}
		r.after(time.Minute)
		msgs = r.expect("data_engineering", "[FIRING:1] acme · client · data_engineering: data_extension.empty on Orders")
		if msgs[0].Alerts[0].AcknowledgedBy != "dana" || !strings.Contains(msgs[0].Text(), "acknowledged by dana") {
			t.Fatalf("ack not shown: %s", msgs[0].Text())
		}
		if next := r.after(10 * time.Hour); !next.IsZero() {
			t.Fatalf("acknowledged group still scheduled at %v", next)
		}
		r.quiet()
		r.resolve(in)
		r.after(time.Second)
		r.expect("data_engineering", "[RESOLVED:1] acme · client · data_engineering: data_extension.empty on Orders")
	})
}

// tenant.blind (sfmcwatch's own credentials fail) suppresses the failed
// calls of sfmcwatch's own collectors in that tenant — not journeys, not
// data, not other tenants; a suppressed incident that resolves is still
// reported; when the root cause resolves, what is still failing is
// notified.
func TestTimelineInhibition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, baseConfig, nil)
		blind := r.open("tenant.blind", "auth", "marketing_ops", "critical", "acme", "acme")
		own := r.openFP("api.errors|acme|tenant|/data/v1/customobjectdata|||auth|rest:401", "api.errors", "auth", "marketing_ops", "error", "acme", "/data/v1/customobjectdata")
		own2 := r.openFP("api.errors|acme|tenant|/Service.asmx||auth|soap:Security", "api.errors", "auth", "marketing_ops", "error", "acme", "/Service.asmx")
		j := r.open("journey.stopped", "", "marketing_ops", "error", "acme", "welcome")
		otherTenant := r.openFP("api.errors|globex|tenant|/Service.asmx||auth|soap:Security", "api.errors", "auth", "marketing_ops", "error", "globex", "/Service.asmx")
		r.after(15 * time.Second)
		r.expect("marketing_ops",
			"[FIRING:1] acme · auth · marketing_ops: tenant.blind on acme",
			"[FIRING:1] acme · marketing_ops: journey.stopped on welcome",
			"[FIRING:1] globex · auth · marketing_ops: api.errors on /Service.asmx")
		r.quiet()

		r.resolve(own) // resolves while suppressed: visible anyway
		r.after(time.Minute)
		msgs := r.expect("marketing_ops", "[FIRING:1] acme · auth · marketing_ops: tenant.blind on acme")
		res := msgs[0].Resolved()
		if len(res) != 1 || res[0].IncidentID != own.ID || !strings.Contains(res[0].Note, "suppressed while incident") || !strings.Contains(res[0].Note, "tenant.blind") {
			t.Fatalf("resolved = %+v", res)
		}
		r.resolve(blind)
		r.after(time.Minute)
		// The other own call, still failing, is notified now.
		msgs = r.expect("marketing_ops", "[FIRING:1] acme · auth · marketing_ops: api.errors on /Service.asmx")
		if res := msgs[0].Resolved(); len(res) != 1 || res[0].IncidentID != blind.ID {
			t.Fatalf("resolved = %+v", res)
		}
		_, _, _ = j, otherTenant, own2
	})
}

// An integration's 401 (api.errors naming the integration) does not
// inhibit anything, journeys and sends least of all; nor does tenant.blind
// hide an integration's own failures or the tenant's journeys.
func TestTimelineIntegration401DoesNotInhibitJourneys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, baseConfig, nil)
		r.openFP("api.errors|acme|tenant|/v1/token|crm-sync|auth|oauth:invalid_client", "api.errors", "auth", "marketing_ops", "error", "acme", "/v1/token")
		r.open("journey.stopped", "", "marketing_ops", "error", "acme", "welcome")
		r.open("triggered_send.errors", "client", "marketing_ops", "error", "acme", "receipt")
		r.after(15 * time.Second)
		r.expect("marketing_ops",
			"[FIRING:1] acme · auth · marketing_ops: api.errors on /v1/token",
			"[FIRING:1] acme · marketing_ops: journey.stopped on welcome",
			"[FIRING:1] acme · client · marketing_ops: triggered_send.errors on receipt")
		r.open("tenant.blind", "auth", "marketing_ops", "critical", "acme", "acme")
		r.after(time.Minute)
		msgs := r.expect("marketing_ops", "[FIRING:2] acme · auth · marketing_ops: api.errors on /v1/token (+1 more)")
		if len(msgs[0].Firing()) != 2 || msgs[0].Firing()[0].Note != "" {
			t.Fatalf("the integration's 401 was hidden by tenant.blind: %+v", msgs[0].Alerts)
		}
	})
}

// Silences come from the store (API, CLI): a silenced incident is not
// notified; after the silence expires it is; a silenced incident that
// resolves unannounced sends nothing.
func TestTimelineSilences(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, baseConfig, nil)
		now := time.Now()
		sil, err := r.st.CreateSilence(t.Context(), store.Silence{
			Matchers: []store.SilenceMatcher{{Label: "family", Op: "=~", Value: "server|timeout"}, {Label: "tenant", Op: "=", Value: "acme"}},
			StartsAt: now, EndsAt: now.Add(time.Hour), CreatedBy: "ops", Comment: "SFMC incident"})
		if err != nil {
			t.Fatal(err)
		}
		a := r.open("api.errors", "server", "salesforce_support", "error", "acme", "soap")
		b := r.open("api.errors", "timeout", "salesforce_support", "error", "acme", "rest")
		r.open("api.errors", "server", "salesforce_support", "error", "globex", "soap")
		r.after(15 * time.Second)
		r.expect("salesforce_support", "[FIRING:1] globex · server · salesforce_support: api.errors on soap")
		r.resolve(b)
		r.after(30 * time.Minute)
		r.quiet()
		if _, err := r.st.ExpireSilence(t.Context(), sil.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		r.after(time.Second)
		r.expect("salesforce_support", "[FIRING:1] acme · server · salesforce_support: api.errors on soap")
		_ = a
	})
}

// A downgrading maintenance window lowers the severity (no escalation) and
// says so; a muting one suppresses.
func TestTimelineMaintenanceWindows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// synctest starts at 2000-01-01 00:00 UTC, a Saturday.
		cfg := baseConfig + `
  route:
    escalate_to: oncall
  maintenance_windows:
    - {name: SFMC release, schedule: "0 0 * * sat", duration: 2h}
    - {name: quiet imports, schedule: "0 0 * * *", duration: 1h, matchers: ['rule="import.failed"'], action: mute}
`
		r := newRig(t, cfg, nil)
		r.open("api.errors", "server", "salesforce_support", "critical", "acme", "soap")
		r.open("import.failed", "client", "data_engineering", "error", "acme", "orders")
		r.after(15 * time.Second)
		msgs := r.expect("salesforce_support", "[FIRING:1] acme · server · salesforce_support: api.errors on soap")
		al := msgs[0].Alerts[0]
		if al.Severity != "error" || !strings.Contains(al.Note, "downgraded from critical during maintenance window SFMC release") {
			t.Fatalf("downgrade: severity %q note %q", al.Severity, al.Note)
		}
		r.after(40 * time.Minute)
		r.quiet()                 // no escalation of the downgraded incident, import muted
		r.after(30 * time.Minute) // 01:10: the muting window is over
		r.expect("data_engineering", "[FIRING:1] acme · client · data_engineering: import.failed on orders")
		r.after(time.Hour) // 02:10: release window over, severity critical again: escalates
		msgs = r.expect("oncall", "[ESCALATED] acme · server · salesforce_support: api.errors on soap")
		if msgs[0].Alerts[0].Severity != "critical" {
			t.Fatalf("severity after the window: %q", msgs[0].Alerts[0].Severity)
		}
	})
}

// An unacknowledged critical incident escalates after escalate_after; an
// acknowledged one does not; the escalation receiver hears the resolution.
func TestTimelineEscalation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := baseConfig + `
  route:
    escalate_to: oncall
    escalate_after: 20m
`
		r := newRig(t, cfg, nil)
		crit := r.open("tenant.blocked", "rate_limit", "infrastructure", "critical", "acme", "acme")
		acked := r.open("triggered_send.errors", "client", "marketing_ops", "critical", "globex", "welcome")
		r.open("data_extension.stale", "", "data_engineering", "warning", "globex", "Orders")
		r.after(15 * time.Second)
		r.expect("infrastructure", "[FIRING:1] acme · rate_limit · infrastructure: tenant.blocked on acme")
		r.expect("marketing_ops", "[FIRING:1] globex · client · marketing_ops: triggered_send.errors on welcome")
		r.expect("data_engineering", "[FIRING:1] globex · data_engineering: data_extension.stale on Orders")
		if _, err := r.st.AcknowledgeIncident(t.Context(), acked.ID, "mo", time.Now()); err != nil {
			t.Fatal(err)
		}
		next := r.after(time.Minute)
		r.expect("marketing_ops", "[FIRING:1] globex · client · marketing_ops: triggered_send.errors on welcome") // ack update
		if want := crit.OpenedAt.Add(20 * time.Minute); !next.Equal(want) {
			t.Fatalf("next = %v, want escalation at %v", next, want)
		}
		r.after(time.Until(next))
		msgs := r.expect("oncall", "[ESCALATED] acme · rate_limit · infrastructure: tenant.blocked on acme")
		if !strings.Contains(msgs[0].Alerts[0].Note, "not acknowledged 20m after it opened; escalated from infrastructure") {
			t.Fatalf("note = %q", msgs[0].Alerts[0].Note)
		}
		r.after(time.Hour)
		r.quiet() // escalated once only
		r.resolve(crit)
		r.after(time.Second)
		r.expect("infrastructure", "[RESOLVED:1] acme · rate_limit · infrastructure: tenant.blocked on acme")
		r.expect("oncall", "[ESCALATION RESOLVED] acme · rate_limit · infrastructure: tenant.blocked on acme")
		r.after(time.Hour)
		r.quiet()
	})
}

// Run wakes on Observe-like signals and on its own timers.
func TestTimelineRunLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, baseConfig, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- r.d.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}()
		synctest.Wait()
		r.open("api.errors", "auth", "marketing_ops", "error", "acme", "token")
		r.d.Wake()
		time.Sleep(14 * time.Second)
		synctest.Wait()
		r.quiet()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		r.expect("marketing_ops", "[FIRING:1] acme · auth · marketing_ops: api.errors on token")
	})
}
