package sfmc_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
)

// simClient starts a default-size simulated tenant on 127.0.0.1.
func simClient(tb testing.TB) (*sfmc.Client, *sim.Sim, *sfmc.MemMeter) {
	tb.Helper()
	s, err := sim.New(sim.Options{Seed: 7})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	tb.Cleanup(srv.Close)
	cr := s.Credentials()
	m := sfmc.NewMemMeter(nil)
	c, err := sfmc.New(sfmc.Tenant{Name: "sim", AuthURL: srv.URL, RestURL: srv.URL, SOAPURL: srv.URL,
		ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, AccountID: strconv.FormatInt(cr.AccountID, 10)},
		sfmc.Options{HTTPClient: srv.Client(), Meter: m, RateLimit: 1000, Burst: 100})
	if err != nil {
		tb.Fatal(err)
	}
	return c, s, m
}

// naiveCalls is what per-object polling costs: a list per type, then a
// definition and a status/counter read per object.
func naiveCalls(z sim.Size) int {
	return 5 + 2*z.Automations + z.Journeys + 2*z.TriggeredSends + 2*z.Transactional + 2*z.Imports
}

func TestEconomyFullRead(t *testing.T) {
	c, s, _ := simClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sr, err := c.ReadStatuses(ctx, sfmc.StatusReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range sr.Errors {
		t.Errorf("%s: %v", name, e)
	}
	z := s.Options().Size
	if len(sr.Automations) != z.Automations || len(sr.Journeys) != z.Journeys || len(sr.TriggeredSends) == 0 ||
		len(sr.Transactional) != z.Transactional || len(sr.Imports) != z.Imports {
		t.Errorf("incomplete read: %d automations, %d journeys, %d triggered sends, %d transactional, %d imports",
			len(sr.Automations), len(sr.Journeys), len(sr.TriggeredSends), len(sr.Transactional), len(sr.Imports))
	}
	total := sr.TotalCalls() - sr.Calls["token"]
	t.Logf("calls per resource %v (total %d without token, naive %d); sim saw %d", sr.Calls, total, naiveCalls(z), s.Stats().Total)
	if total > 25 || sr.Calls["token"] > 1 {
		t.Fatalf("full read cost %d calls + %d tokens, want ≤ 25 + 1", total, sr.Calls["token"])
	}
	// Row counts: a tiered budget spends exactly what it is given.
	keys := s.ObjectKeys(s.MIDs()[0], "data_extension")
	rc, err := c.RowCounts(ctx, keys, 40)
	if err != nil || rc.Calls != 40 || len(rc.Values)+len(rc.Errors) != 40 || len(rc.Skipped) != len(keys)-40 {
		t.Fatalf("row counts: calls=%d values=%d skipped=%d err=%v", rc.Calls, len(rc.Values), len(rc.Skipped), err)
	}
}

func BenchmarkFullRead(b *testing.B) {
	c, s, _ := simClient(b)
	z := s.Options().Size
	var sr *sfmc.StatusRead
	for b.Loop() {
		var err error
		sr, err = c.ReadStatuses(b.Context(), sfmc.StatusReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, k := range []string{"automations", "journeys", "triggered_sends", "transactional", "imports", "token"} {
		b.ReportMetric(float64(sr.Calls[k]), "calls_"+k)
	}
	b.ReportMetric(float64(sr.TotalCalls()-sr.Calls["token"]), "calls_total")
	b.ReportMetric(float64(naiveCalls(z)), "calls_naive")
}
