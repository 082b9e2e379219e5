package detect

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/event"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// scanOnly hides the store's running aggregates: the rules then fold every
// event (evaluateScan, foldScan), as before the aggregates existed.
type scanOnly struct{ Events }

// countingBuckets counts what the aggregate path reads.
type countingBuckets struct {
	store.Store
	marks, rows int
}

func (c *countingBuckets) EventBuckets(ctx context.Context, q store.BucketQuery) ([]store.BucketRow, error) {
	rs, err := c.Store.(store.BucketReader).EventBuckets(ctx, q)
	c.rows += len(rs)
	return rs, err
}

func (c *countingBuckets) EventMarks(ctx context.Context, q store.MarkQuery) ([]store.EventMark, error) {
	ms, err := c.Store.(store.BucketReader).EventMarks(ctx, q)
	c.marks += len(ms)
	return ms, err
}

// genStream makes an event stream around now: per group (source,
// integration, endpoint) a pattern — healthy, flaky, failing since some
// time, failing in bursts, or dense — with timestamps at microsecond
// precision, shared timestamps, several codes per family and events out of
// order; then inserts it in batches of random size and order.
func genStream(t *testing.T, rng *rand.Rand, st store.Store, now time.Time) int {
	t.Helper()
	sources := []string{"client", "proxy", "ingest", "tail"}
	integrations := []string{"", "crm", "sdk", "etl"}
	endpoints := []string{"/a", "/b", "/c", ""}
	type fail struct{ family, surface, code string }
	fails := []fail{{"rate_limit", "rest", "429"}, {"server", "rest", "500"}, {"auth", "rest", "401"}, {"client", "soap", "17"},
		{"timeout", "http", "timeout"}, {"recipient", "rest", "bounce"}}
	span := 75 * time.Minute
	var recs []store.EventRecord
	add := func(src, integ, ep string, ts time.Time, f *fail) {
		r := store.EventRecord{Event: event.Event{TS: ts, Tenant: "acme", Integration: integ, Source: src, Method: "POST", Endpoint: ep, Status: 200},
			Family: "none", Count: 1}
		if f != nil {
			r.IsError, r.Family, r.Surface, r.Code, r.Status = true, f.family, f.surface, f.code, 400+rng.IntN(100)
		}
		if rng.IntN(10) == 0 {
			r.RequestID = fmt.Sprint("req-", rng.IntN(400)) // some repeat: duplicates are skipped
		}
		recs = append(recs, r)
	}
	for range 3 + rng.IntN(6) {
		src, integ, ep := sources[rng.IntN(len(sources))], integrations[rng.IntN(len(integrations))], endpoints[rng.IntN(len(endpoints))]
		n := 5 + rng.IntN(120)
		pattern := rng.IntN(5)
		start := now.Add(-span + time.Duration(rng.Int64N(int64(span))))
		failFrom := start.Add(time.Duration(rng.Int64N(int64(now.Sub(start)) + 1)))
		f1, f2 := fails[rng.IntN(len(fails))], fails[rng.IntN(len(fails))]
		for i := range n {
			var ts time.Time
			switch {
			case pattern == 4 || rng.IntN(4) == 0:
				// Dense: several events in one second around a point.
				ts = failFrom.Add(time.Duration(rng.IntN(3000)) * time.Millisecond).Add(time.Duration(rng.IntN(5)) * time.Microsecond)
			default:
				ts = start.Add(time.Duration(rng.Int64N(int64(now.Add(10 * time.Second).Sub(start)))))
			}
			ts = ts.Truncate(time.Duration(1+rng.IntN(3)) * time.Microsecond)
			var f *fail
			switch pattern {
			case 1: // flaky
				if rng.IntN(4) == 0 {
					f = &f1
				}
			case 2, 4: // failing since failFrom
				if !ts.Before(failFrom) {
					f = &f1
					if rng.IntN(5) == 0 {
						f = &f2
					}
				}
			case 3: // bursts
				if (i/7)%2 == 1 {
					f = &f2
				}
			}
			add(src, integ, ep, ts, f)
		}
	}
	// Dense traffic of one group whose failures come and go mid-second:
	// runs restart inside seconds after the evidence filled up.
	for range rng.IntN(3) {
		src, integ, ep := sources[rng.IntN(len(sources))], integrations[rng.IntN(len(integrations))], endpoints[rng.IntN(len(endpoints))]
		f := fails[rng.IntN(len(fails)-1)]
		at := now.Add(-time.Duration(rng.Int64N(int64(40 * time.Minute))))
		failing := true
		for range 150 + rng.IntN(300) {
			at = at.Add(time.Duration(rng.Int64N(int64(150 * time.Millisecond))))
			if rng.IntN(12) == 0 {
				failing = !failing
			}
			if failing {
				add(src, integ, ep, at, &f)
			} else {
				add(src, integ, ep, at, nil)
			}
		}
	}
	// Integration-wide failures: one integration's calls to several
	// endpoints fail alike, few per endpoint, with successes between some
	// of them, often several in one second.
	for range rng.IntN(4) {
		src, integ := sources[1+rng.IntN(3)], integrations[rng.IntN(len(integrations))]
		f := fails[rng.IntN(len(fails)-1)]
		at := now.Add(-time.Duration(rng.Int64N(int64(20 * time.Minute))))
		gap, okEvery := time.Duration(1+rng.IntN(3))*time.Second, 2+rng.IntN(8)
		for range 4 + rng.IntN(60) {
			ep := endpoints[rng.IntN(1+rng.IntN(len(endpoints)))]
			at = at.Add(time.Duration(rng.Int64N(int64(gap))))
			if rng.IntN(okEvery) == 0 {
				add(src, integ, ep, at, nil)
			} else {
				add(src, integ, ep, at, &f)
			}
		}
	}
	// Clusters across the edges of the windows and lookbacks the
	// configurations use (1m, 90s, 5m, 15m; lookbacks 4m, 6m, 31m, 35m,
	// 60m), and now itself.
	for range 2 + rng.IntN(5) {
		src, integ, ep := sources[rng.IntN(len(sources))], integrations[rng.IntN(len(integrations))], endpoints[rng.IntN(len(endpoints))]
		edges := []time.Duration{0, time.Minute, 90 * time.Second, 5 * time.Minute, 15 * time.Minute,
			4 * time.Minute, 6 * time.Minute, 31 * time.Minute, 35 * time.Minute, 60 * time.Minute}
		c := now.Add(-edges[rng.IntN(len(edges))])
		f := fails[rng.IntN(len(fails))]
		for range 3 + rng.IntN(12) {
			ts := c.Add(time.Duration(rng.Int64N(int64(1500*time.Millisecond))) - 750*time.Millisecond).Truncate(time.Microsecond)
			if rng.IntN(3) == 0 {
				add(src, integ, ep, ts, nil)
			} else {
				add(src, integ, ep, ts, &f)
			}
		}
	}
	rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	for len(recs) > 0 {
		k := min(len(recs), 1+rng.IntN(200))
		if _, err := st.InsertEvents(context.Background(), recs[:k]); err != nil {
			t.Fatal(err)
		}
		recs = recs[k:]
	}
	all, err := st.QueryEvents(context.Background(), store.EventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return len(all)
}

// TestAPIErrorsBucketsEquivalence checks that the aggregate path finds
// exactly what the event-by-event scan finds (titles, counts, first seen,
// evidence ids, severities) for api.errors and api.errors.integration, on
// generated streams under several configurations and clocks.
func TestAPIErrorsBucketsEquivalence(t *testing.T) {
	configs := []func(*config.APIErrorsRule){
		func(*config.APIErrorsRule) {},
		func(c *config.APIErrorsRule) {
			c.Window, c.Consecutive, c.MinCalls = config.Duration(time.Minute), 3, 5
		},
		func(c *config.APIErrorsRule) {
			c.Window, c.ErrorRatio, c.EscalateAfter = config.Duration(5*time.Minute), 0.3, 0
		},
		func(c *config.APIErrorsRule) { c.Consecutive, c.ErrorRatio = 0, 0.5 },
		func(c *config.APIErrorsRule) { c.Window, c.Consecutive = config.Duration(90*time.Second), 2 },
		// Thresholds an endpoint alone rarely reaches but an integration
		// across endpoints does (api.errors.integration).
		func(c *config.APIErrorsRule) { c.Consecutive, c.MinCalls, c.ErrorRatio = 6, 12, 0.6 },
		func(c *config.APIErrorsRule) {
			c.Window, c.Consecutive, c.MinCalls, c.ErrorRatio = config.Duration(5*time.Minute), 4, 1000, 0.9
		},
		// Runs alone decide.
		func(c *config.APIErrorsRule) { c.Consecutive, c.ErrorRatio = 4, 0 },
		func(c *config.APIErrorsRule) {
			c.Window, c.Consecutive, c.ErrorRatio = config.Duration(5*time.Minute), 7, 0
		},
	}
	var findings, integFindings, events, marks, rows int
	seeds := 12
	if testing.Short() || raceEnabled {
		seeds = 3
	}
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 15))
		st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: filepath.Join(t.TempDir(), "d.db")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(time.Second))))
		events += genStream(t, rng, st, now)
		cb := &countingBuckets{Store: st}
		checked := map[string]bool{}
		for ci, edit := range configs {
			rules := config.DefaultRules()
			edit(&rules.APIErrors)
			for _, at := range []time.Duration{0, -time.Duration(rng.Int64N(int64(20 * time.Minute)))} {
				clock := now.Add(at)
				mk := func(ev Events) *Input {
					return &Input{Now: clock, Tenant: &config.Tenant{Name: "acme"}, Rules: &rules, Type: resource.Tenant, Events: ev}
				}
				// The folded state itself — runs, maxima, counts, evidence,
				// samples — not only what crosses the thresholds (it
				// depends on the window and the lookback only).
				ctx := context.Background()
				stateKey := fmt.Sprint(rules.APIErrors.Window, rules.APIErrors.EscalateAfter, at)
				checkState := !checked[stateKey]
				checked[stateKey] = true
				if checkState {
					ae := APIErrors{}
					p := ae.params(mk(cb))
					fpsScan, callsScan, err := ae.foldScan(ctx, mk(scanOnly{st}), p)
					if err != nil {
						t.Fatal(err)
					}
					fpsB, callsB, err := ae.foldBuckets(ctx, mk(cb), p, cb)
					if err != nil {
						t.Fatal(err)
					}
					var refs []*apiFPState
					for _, st := range fpsB {
						if st.refs != nil {
							refs = append(refs, st)
						}
					}
					if err := resolveAPISamples(ctx, cb, "acme", refs); err != nil {
						t.Fatal(err)
					}
					if a, b := dumpAPIState(fpsScan, callsScan), dumpAPIState(fpsB, callsB); a != b {
						t.Fatalf("seed %d config %d now %s: api.errors state differs\nscan:\n%s\naggregates:\n%s", seed, ci, clock.Format(time.RFC3339Nano), a, b)
					}
					window := p.window
					srcs := []string{"proxy", "ingest", "tail"}
					icScan, igScan, err := APIErrorsIntegration{}.foldScan(ctx, mk(scanOnly{st}), srcs, window)
					if err != nil {
						t.Fatal(err)
					}
					icB, igB, err := APIErrorsIntegration{}.foldBuckets(ctx, mk(cb), cb, srcs, window)
					if err != nil {
						t.Fatal(err)
					}
					if a, b := dumpIntegrationState(igScan, icScan), dumpIntegrationState(igB, icB); a != b {
						t.Fatalf("seed %d config %d now %s: api.errors.integration state differs\nscan:\n%s\naggregates:\n%s", seed, ci, clock.Format(time.RFC3339Nano), a, b)
					}
				}
				for _, rule := range []Rule{APIErrors{}, APIErrorsIntegration{}} {
					want, err := rule.Evaluate(context.Background(), mk(scanOnly{st}))
					if err != nil {
						t.Fatal(err)
					}
					got, err := rule.Evaluate(context.Background(), mk(cb))
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("seed %d config %d now %s %s: aggregates found\n%s\nthe scan found\n%s", seed, ci, clock.Format(time.RFC3339Nano),
							rule.ID(), dumpFindings(got), dumpFindings(want))
					}
					findings += len(want)
					if rule.ID() == "api.errors.integration" {
						integFindings += len(want)
					}
				}
			}
		}
		marks += cb.marks
		rows += cb.rows
		st.Close()
	}
	t.Logf("%d findings (%d of api.errors.integration) compared over %d events; the aggregate path read %d aggregate rows and %d single events", findings, integFindings, events, rows, marks)
	if testing.Short() || raceEnabled {
		return
	}
	if findings < 100 {
		t.Fatalf("only %d findings: the generated streams do not exercise the rules", findings)
	}
	if integFindings < 10 {
		t.Fatalf("only %d api.errors.integration findings: the generated streams do not exercise it", integFindings)
	}
	if marks == 0 {
		t.Fatal("no second was read event by event: the edge cases are not exercised")
	}
}

func dumpFindings(fs []Finding) string {
	s := ""
	for _, f := range fs {
		s += fmt.Sprintf("  %s sev=%s first=%s title=%q detail=%q evidence=%v\n", f.Fingerprint(), f.Severity,
			f.FirstSeen.Format(time.RFC3339Nano), f.Title, f.Detail, f.Evidence)
	}
	return s
}

func dumpAPIState(fps map[apiFP]*apiFPState, calls map[apiGroup]int64) string {
	var lines []string
	for k, st := range fps {
		if st.run.count == 0 && st.inWindow == 0 {
			continue // no failure in range: the scan may still list it after a reset
		}
		lines = append(lines, fmt.Sprintf("%+v run=%d %s..%s ev=%v sample=%d/%d/%s win=%d first=%s ev=%v sample=%d/%d calls=%d",
			k, st.run.count, st.run.first.Format(time.RFC3339Nano), st.run.last.Format(time.RFC3339Nano), st.run.evidence,
			st.run.sample.ID, st.run.sample.Status, st.run.sample.Method,
			st.inWindow, st.firstInWindow.Format(time.RFC3339Nano), st.windowEv, st.sample.ID, st.sample.Status, calls[k.group]))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func dumpIntegrationState(groups map[integrationFamily]*integrationFailures, calls map[string]int64) string {
	var lines []string
	for k, g := range groups {
		eps := slices.Sorted(maps.Keys(g.runEndpoints))
		lines = append(lines, fmt.Sprintf("%+v run=%d/%v max=%d/%d failures=%d first=%s byEndpoint=%v codes=%v ev=%v sample=%d/%d calls=%d",
			k, g.run, eps, g.maxRun, g.maxRunEndpoint, g.failures, g.first.Format(time.RFC3339Nano), g.byEndpoint, g.codes,
			g.evidence, g.sample.ID, g.sample.Status, calls[k.integration]))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestStoreFailedMatchesCatalog: the store splits events into failures and
// successes when it aggregates them (store.Failed) the way the rules do
// (an error flag and catalog.Family.IsError).
func TestStoreFailedMatchesCatalog(t *testing.T) {
	for _, f := range append(slices.Clone(catalog.Families), "", "unknown") {
		for _, isErr := range []bool{false, true} {
			if got, want := store.Failed(isErr, string(f)), isErr && f.IsError(); got != want {
				t.Errorf("store.Failed(%v, %q) = %v, want %v", isErr, f, got, want)
			}
		}
	}
}
