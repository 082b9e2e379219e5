package monitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/correlate"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/monitor"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// With trust.enabled, the engine's SFMC outage cause says what Salesforce
// Trust (here the simulator, on loopback) reports on the tenant's
// trust_instance; with trust off nothing is read.
func TestOutageCarriesTrustReport(t *testing.T) {
	for _, enabled := range []bool{true, false} {
		e := newEnv(t)
		cfg := e.holder.Current()
		cfg.Trust.Enabled, cfg.Trust.BaseURL = enabled, e.Server.URL
		cfg.Tenants[0].TrustInstance = "S7"
		// Two endpoints fail (automations and journeys): an outage, not
		// one endpoint's errors.
		st := e.openStore(t)
		e.st = st
		eng, err := monitor.New(monitor.Options{
			Store: st, Config: e.holder, Clock: e.Sim.Now, Owner: "trust", Workers: 2, CallTimeout: 10 * time.Second,
			Collectors: []collect.Collector{collect.TenantCollector{}, probe{}, collect.JourneyCollector{}},
			Rules:      []detect.Rule{detect.TenantBlind{}, detect.TenantBlocked{}, detect.APIErrors{}},
			ClientOptions: func(o *sfmc.Options) {
				o.BackoffBase, o.BackoffMax, o.MaxRetryAfter = time.Millisecond, 5*time.Millisecond, 10*time.Millisecond
				o.RateLimit, o.Burst = 1e6, 1000
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(eng.Close)
		e.eng = eng
		ctx := context.Background()
		if _, err := e.eng.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		e.Inject(sim.Fault{Kind: sim.FaultTrustIncident, Target: "S7"})
		e.Inject(sim.Fault{Kind: sim.FaultServerError})
		var outage store.Incident
		s := monitor.Stepper{Engine: e.eng, Advance: e.Advance, Now: e.Now, Step: 10 * time.Second}
		if _, err := s.Until(ctx, 30*time.Minute, func(ctx context.Context) (bool, error) {
			for _, in := range e.incidents(t, store.IncidentFilter{Tenant: "sim", Status: store.IncidentOpen}) {
				if in.Cause == correlate.CauseOutage {
					outage = in
					return true, nil
				}
			}
			return false, nil
		}); err != nil {
			t.Fatal(err)
		}
		if outage.ID == 0 {
			t.Fatalf("trust %v: no outage cause within 30 min", enabled)
		}
		has := strings.Contains(outage.Title, "SFMC reports an incident on your instance S7 (Salesforce Trust)")
		if has != enabled {
			t.Errorf("trust %v: outage title %q", enabled, outage.Title)
		}
		if n := e.Sim.Stats().ByRoute["GET /v1/instances/{key}/status"]; enabled && (n == 0 || n > 3) {
			t.Errorf("trust on: %d Trust requests (cached for 5 min: at most one per 5 simulated minutes)", n)
		}
		if n := e.Sim.Stats().ByRoute["GET /v1/instances/{key}/status"]; !enabled && n != 0 {
			t.Errorf("trust off: %d Trust requests", n)
		}
	}
}
