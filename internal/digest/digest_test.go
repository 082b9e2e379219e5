package digest_test

import (
	"context"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/digest"
	"github.com/sfmcwatch/sfmcwatch/internal/digest/digesttest"
)

func build(t *testing.T, cfg *config.Config, specs []digesttest.Spec) *digest.Digest {
	t.Helper()
	st := digesttest.Open(t)
	digesttest.Seed(t, st, specs, true)
	d, err := digest.Build(context.Background(), st, digest.Options{Now: func() time.Time { return digesttest.End }, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBuild(t *testing.T) {
	cfg, err := config.Parse("x.yaml", []byte(`
tenants:
  - name: prod
    subdomain: mcprod
    client_id: a
    client_secret: b
    daily_api_budget: 1000
    monitors:
      data_extensions: {critical: [DE_Orders_Sendable]}
  - name: quiet
    subdomain: mcquiet
    client_id: a
    client_secret: b
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	d := build(t, cfg, digesttest.Week)

	if got := len(d.Incidents); got != 7 {
		t.Fatalf("%d incidents this week, want 7", got)
	}
	if d.Previous != 2 {
		t.Errorf("previous week %d, want 2", d.Previous)
	}
	// TTDs this week: 73m 65m 1s 0 1h 0 5m → sorted 0 0 1s 5m 1h 65m 73m:
	// median rank ⌈3.5⌉=4 → 5m; p90 rank ⌈6.3⌉=7 → 73m.
	if d.TTD.N != 7 || d.TTD.Median != 5*time.Minute || d.TTD.P90 != 73*time.Minute {
		t.Errorf("TTD %+v", d.TTD)
	}
	// Since the failure began (SFMC's timestamps), for the 4 incidents that
	// date it: 73m+12m, 65m+15m, 0+3h, 5m+10m → 15m 80m 85m 3h: median rank
	// 2 → 80m, p90 rank ⌈3.6⌉=4 → 3h; the week before: 70m+20m.
	if d.TTDSinceFailure.N != 4 || d.TTDSinceFailure.Median != 80*time.Minute || d.TTDSinceFailure.P90 != 3*time.Hour {
		t.Errorf("TTD since failure %+v", d.TTDSinceFailure)
	}
	if d.PrevTTDSinceFailure.N != 1 || d.PrevTTDSinceFailure.Median != 90*time.Minute {
		t.Errorf("previous TTD since failure %+v", d.PrevTTDSinceFailure)
	}
	// TTR of the 6 resolved: 3h 90m 20m 100m 2h 90m → 20m 90m 90m 100m 2h 3h:
	// median rank 3 → 90m, p90 rank ⌈5.4⌉=6 → 3h.
	if d.TTR.N != 6 || d.TTR.Median != 90*time.Minute || d.TTR.P90 != 3*time.Hour {
		t.Errorf("TTR %+v", d.TTR)
	}
	if d.PrevTTD.N != 2 || d.PrevTTD.Median != time.Minute || d.PrevTTR.P90 != 3*time.Hour {
		t.Errorf("previous TTD %+v TTR %+v", d.PrevTTD, d.PrevTTR)
	}
	// Tenants: configured order, the quiet one listed with zero.
	if len(d.Tenants) != 3 || d.Tenants[0].Name != "prod" || d.Tenants[1].Name != "quiet" || d.Tenants[2].Name != "eu" {
		t.Fatalf("tenants %+v", d.Tenants)
	}
	prod := d.Tenants[0]
	if prod.Opened != 5 || prod.Previous != 2 || prod.Families[0].Name != "client" || prod.Families[0].Count != 3 {
		t.Errorf("prod %+v", prod)
	}
	// At the week's end only import.partial (warning) is open: 100 − 4.
	if prod.Score.Value != 96 || d.Tenants[1].Score.Value != 100 {
		t.Errorf("scores prod %d quiet %d", prod.Score.Value, d.Tenants[1].Score.Value)
	}
	// Recurring: ERP_EXPORT twice this week and once the week before.
	if len(d.Recurring) != 1 || d.Recurring[0].ResourceKey != "ERP_EXPORT" || d.Recurring[0].Count != 2 || d.Recurring[0].Previous != 1 ||
		d.Recurring[0].Remediation[1] != "Watch the next run." {
		t.Errorf("recurring %+v", d.Recurring)
	}
	// Silent: row_drop, silent_failure, import.partial (journey.stopped
	// and automation.error are not silent).
	if len(d.Silent) != 3 || d.Silent[0].Rule != "data_extension.row_drop" || d.Silent[1].Rule != "triggered_send.silent_failure" || d.Silent[2].Rule != "import.partial" {
		t.Errorf("silent %+v", d.Silent)
	}
	// Fix first: the recurring automation (error ×(1+0.5×2) ×dur) and the
	// critical DE (error ×2) lead; the one-second blip of journey.stopped
	// (a warning) is last or absent.
	if len(d.FixFirst) != digest.MaxFixFirst {
		t.Fatalf("fix first %d entries", len(d.FixFirst))
	}
	top := map[string]bool{d.FixFirst[0].ResourceKey: true, d.FixFirst[1].ResourceKey: true}
	if !top["ERP_EXPORT"] || !top["DE_Orders_Sendable"] {
		t.Errorf("fix first starts with %s, %s", d.FixFirst[0].ResourceKey, d.FixFirst[1].ResourceKey)
	}
	for i := 1; i < len(d.FixFirst); i++ {
		if d.FixFirst[i].Impact > d.FixFirst[i-1].Impact {
			t.Errorf("fix first not ranked: %+v", d.FixFirst)
		}
	}
	if !d.FixFirst[1].Critical && !d.FixFirst[0].Critical {
		t.Error("the configured critical DE is not marked critical")
	}
	// Spend: the 8 UTC days overlapping the week (Mon 08:00 to Mon 08:00)
	// × 400 for prod against 8 × 1000 budget; the week before counts the
	// 7 days before those; eu 800.
	var prodSpend, euSpend digest.Spend
	for _, s := range d.Spend {
		switch s.Tenant {
		case "prod":
			prodSpend = s
		case "eu":
			euSpend = s
		}
	}
	if prodSpend.Days != 8 || prodSpend.Calls != 3200 || prodSpend.Previous != 2800 || prodSpend.Budget != 8000 || prodSpend.Top[0].Calls != 2400 {
		t.Errorf("prod spend %+v", prodSpend)
	}
	if euSpend.Calls != 800 || euSpend.Budget != 0 {
		t.Errorf("eu spend %+v", euSpend)
	}
	// Every incident keeps its TTD exactly, both ways.
	known := 0
	for _, in := range d.Incidents {
		if in.TTD < 0 || in.OpenedAt.Sub(in.FirstSeen) != in.TTD {
			t.Errorf("incident %s TTD %s vs first seen %s", in.Title, in.TTD, in.FirstSeen)
		}
		if in.FailureKnown() {
			known++
			if in.OpenedAt.Sub(in.FailureStartedAt) != in.TTDSinceFailure || in.FailureStartedAt.After(in.FirstSeen) {
				t.Errorf("incident %s: failure began %s, first seen %s, opened %s, TTD since failure %s",
					in.Title, in.FailureStartedAt, in.FirstSeen, in.OpenedAt, in.TTDSinceFailure)
			}
		} else if in.TTDSinceFailure != 0 {
			t.Errorf("incident %s: TTD since an unknown failure start %s", in.Title, in.TTDSinceFailure)
		}
	}
	if known != 4 {
		t.Errorf("%d incidents know when their failure began, want 4", known)
	}
}

func TestCarriedAndQuiet(t *testing.T) {
	specs := []digesttest.Spec{
		{Rule: "import.failed", Severity: "error", Tenant: "prod", Type: "import", Key: "X", Title: "old import", Opened: -9 * 24 * time.Hour},
	}
	d := build(t, nil, specs)
	if !d.Quiet() || len(d.Incidents) != 0 {
		t.Fatalf("quiet week: %+v", d.Incidents)
	}
	if len(d.Carried) != 1 || d.Carried[0].Duration != 7*24*time.Hour || !d.Carried[0].Open() {
		t.Errorf("carried %+v", d.Carried)
	}
	if len(d.FixFirst) != 1 || !d.FixFirst[0].StillOpen {
		t.Errorf("a still-open incident belongs in fix first: %+v", d.FixFirst)
	}
}

func TestSilentRulesExplained(t *testing.T) {
	for _, r := range digest.SilentRules() {
		if digest.SilentReason(r) == "" {
			t.Errorf("%s has no reason", r)
		}
	}
	if digest.SilentReason("automation.error") != "" {
		t.Error("automation.error is reported by SFMC itself")
	}
}
