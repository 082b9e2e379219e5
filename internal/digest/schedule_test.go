package digest_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/digest"
	"github.com/sfmcwatch/sfmcwatch/internal/digest/digesttest"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// memStore is an in-memory cursor store with no incidents (the scheduler
// test runs in a synctest bubble, where a database has no place).
type memStore struct {
	mu      sync.Mutex
	cursors map[string]string
}

func (m *memStore) ListIncidents(context.Context, store.IncidentFilter) ([]store.Incident, error) {
	return nil, nil
}
func (m *memStore) Usage(context.Context, store.UsageQuery) ([]store.UsageRow, error) {
	return nil, nil
}
func (m *memStore) GetCursor(_ context.Context, name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.cursors[name]
	if !ok {
		return "", store.ErrNotFound
	}
	return v, nil
}
func (m *memStore) CompareAndSetCursor(_ context.Context, name, old, next string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cursors[name] != old {
		return store.ErrConflict
	}
	m.cursors[name] = next
	return nil
}

func cfgWith(t *testing.T, digestYAML string) *config.Config {
	t.Helper()
	c, err := config.Parse("x.yaml", []byte(`
tenants:
  - name: a
    subdomain: mca
    client_id: a
    client_secret: b
    timezone: Europe/Berlin
`+digestYAML), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Three replicas over three weeks deliver exactly one digest per Monday
// 08:00 Berlin time, each covering the 7 days before it.
func TestSchedulerOncePerWeekAcrossReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := cfgWith(t, "")
		st := &memStore{cursors: map[string]string{}}
		var mu sync.Mutex
		var got []*digest.Digest
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range 3 {
			s := &digest.Scheduler{Store: st, Config: func() *config.Config { return cfg }, Deliver: func(_ context.Context, d *digest.Digest) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, d)
				return nil
			}}
			wg.Go(func() { s.Run(ctx) })
		}
		// The bubble starts at 2000-01-01 00:00 UTC (a Saturday).
		time.Sleep(3*7*24*time.Hour + time.Hour)
		synctest.Wait()
		cancel()
		wg.Wait()
		if len(got) != 3 {
			t.Fatalf("%d digests in three weeks, want 3", len(got))
		}
		berlin := cfg.Digest.Location()
		for i, d := range got {
			to := d.To.In(berlin)
			if to.Weekday() != time.Monday || to.Hour() != 8 || to.Minute() != 0 || d.To.Sub(d.From) != 7*24*time.Hour {
				t.Errorf("digest %d covers %s – %s", i, d.From.In(berlin), to)
			}
			if d.Location != "Europe/Berlin" {
				t.Errorf("location %s", d.Location)
			}
		}
	})
}

func TestSchedulerDisabledAndReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		cfg := cfgWith(t, "digest: {enabled: false}\n")
		current := func() *config.Config { mu.Lock(); defer mu.Unlock(); return cfg }
		st := &memStore{cursors: map[string]string{}}
		runs := 0
		s := &digest.Scheduler{Store: st, Config: current, Deliver: func(context.Context, *digest.Digest) error { runs++; return nil }}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		time.Sleep(8 * 24 * time.Hour)
		synctest.Wait()
		if runs != 0 {
			t.Fatalf("disabled digest ran %d times", runs)
		}
		// Reload: hourly digests from now on.
		mu.Lock()
		cfg = cfgWith(t, "digest: {schedule: \"@hourly\", period: 1h}\n")
		mu.Unlock()
		time.Sleep(3*time.Hour + time.Minute)
		synctest.Wait()
		cancel()
		<-done
		// The next check after the reload is at most an hour later; then
		// hourly: at least 2 of the 3 hours ran.
		if runs < 2 || runs > 3 {
			t.Errorf("%d hourly digests after the reload, want 2–3", runs)
		}
	})
}

// Claim is a compare-and-set on the real store: two claims of one time,
// one wins; an older time never runs after a newer one.
func TestClaimOnSQLite(t *testing.T) {
	st := digesttest.Open(t)
	s1 := &digest.Scheduler{Store: st}
	s2 := &digest.Scheduler{Store: st}
	at := digesttest.End
	ctx := context.Background()
	a, err1 := s1.Claim(ctx, at)
	b, err2 := s2.Claim(ctx, at)
	if err1 != nil || err2 != nil || !a || b {
		t.Fatalf("claims %v %v (%v, %v), want exactly the first", a, b, err1, err2)
	}
	if ok, _ := s2.Claim(ctx, at.Add(-time.Hour)); ok {
		t.Error("an older digest time was claimed after a newer one")
	}
	if ok, _ := s2.Claim(ctx, at.Add(7*24*time.Hour)); !ok {
		t.Error("next week's digest could not be claimed")
	}
}
