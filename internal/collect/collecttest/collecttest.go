// Package collecttest wires a simulated SFMC tenant, a SQLite store and an
// SFMC client together for collector, rule and engine tests: poll a
// resource type, store its snapshots, evaluate its rules, move the
// simulated clock, inject faults. Everything runs on 127.0.0.1.
package collecttest

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/sfmcwatch/sfmcwatch/internal/collect"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/detect"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc/sim"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Env is one test environment.
type Env struct {
	T      testing.TB
	Sim    *sim.Sim
	Server *httptest.Server
	Store  store.Store
	Client *sfmc.Client
	// Tenant is the tenant's config (defaults filled, URLs at the sim).
	Tenant *config.Tenant
	Rules  *config.Rules
	MID    int64
}

// Options tune New.
type Options struct {
	Seed int64
	Size sim.Size // zero: sim.DefaultSize
	// Configure edits the parsed default config before use (objects,
	// critical lists, rule settings).
	Configure func(cfg *config.Config)
}

// New starts a simulator (clock stopped: it moves only with Advance), a
// SQLite store in a temp dir and a client, all cleaned up with the test.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	start := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC) // a Monday morning
	frozen := func() time.Time { return start }
	s, err := sim.New(sim.Options{Seed: o.Seed, Size: o.Size, Start: start, Now: frozen, Speed: 1})
	if err != nil {
		t.Fatalf("sim: %v", err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	creds := s.Credentials()
	mid := creds.MIDs[0]

	yaml := `
tenants:
  - name: sim
    auth_url: ` + srv.URL + `
    rest_url: ` + srv.URL + `
    soap_url: ` + srv.URL + `
    client_id: ` + creds.ClientID + `
    client_secret: ` + creds.ClientSecret + `
    account_id: "` + strconv.FormatInt(mid, 10) + `"
`
	cfg, err := config.Parse("collecttest.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if o.Configure != nil {
		o.Configure(cfg)
	}
	tc := &cfg.Tenants[0]
	path := filepath.Join(t.TempDir(), "test.db")
	if err := copyMigrated(path); err != nil {
		t.Fatalf("store: %v", err)
	}
	st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: path}, nil)
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	ep := tc.Endpoints()
	cl, err := sfmc.New(sfmc.Tenant{Name: tc.Name, AuthURL: ep.Auth, RestURL: ep.REST, SOAPURL: ep.SOAP,
		ClientID: tc.ClientID, ClientSecret: tc.ClientSecret.Reveal(), AccountID: tc.AccountID},
		sfmc.Options{Clock: s.Now, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, MaxRetryAfter: 10 * time.Millisecond, CallTimeout: 10 * time.Second,
			// The simulated clock is frozen between steps: pacing calls in
			// real time would only slow the tests down.
			RateLimit: rate.Inf})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return &Env{T: t, Sim: s, Server: srv, Store: st, Client: cl, Tenant: tc, Rules: &cfg.Rules, MID: mid}
}

// migrated is an empty SQLite database with every migration applied,
// made once per test process: each Env starts from a copy of it, so that
// only the first pays for the migrations (goose's parser allocates a 4 MB
// buffer per migration file, slow under the race detector). Open still
// checks the copy's schema version.
var migrated struct {
	once sync.Once
	db   []byte
	err  error
}

// MigratedSQLite writes an empty SQLite database with every migration
// applied to path, unless a file is there already (a reopened database
// keeps its data). Tests that open their own store at path save the
// migrations' cost under -race; store.Open still checks the schema.
func MigratedSQLite(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return
	}
	if err := copyMigrated(path); err != nil {
		t.Fatal(err)
	}
}

// copyMigrated writes a migrated empty database to path.
func copyMigrated(path string) error {
	migrated.once.Do(func() {
		dir, err := os.MkdirTemp("", "collecttest-")
		if err != nil {
			migrated.err = err
			return
		}
		defer os.RemoveAll(dir)
		tmpl := filepath.Join(dir, "template.db")
		st, err := store.Open(context.Background(), store.Config{Driver: "sqlite", Path: tmpl}, nil)
		if err != nil {
			migrated.err = err
			return
		}
		// Closing the last connection checkpoints the WAL into the file.
		if err := st.Close(); err != nil {
			migrated.err = err
			return
		}
		if _, err := os.Stat(tmpl + "-wal"); err == nil {
			migrated.err = errors.New("template database: WAL left after close")
			return
		}
		migrated.db, migrated.err = os.ReadFile(tmpl)
	})
	if migrated.err != nil {
		return fmt.Errorf("migrated template: %w", migrated.err)
	}
	return os.WriteFile(path, migrated.db, 0o600)
}

// Now is the simulated time.
func (e *Env) Now() time.Time { return e.Sim.Now() }

// Advance moves the simulated clock.
func (e *Env) Advance(d time.Duration) { e.Sim.Clock().Advance(d) }

// Inject adds a fault starting now on the test tenant.
func (e *Env) Inject(f sim.Fault) string {
	e.T.Helper()
	if f.MID == 0 {
		f.MID = e.MID
	}
	id, err := e.Sim.InjectErr(f)
	if err != nil {
		e.T.Fatalf("inject %+v: %v", f, err)
	}
	return id
}

// Collect runs the collector of t at the simulated now and stores what it
// observed; it returns the collector's output.
func (e *Env) Collect(ctx context.Context, t resource.Type) *collect.Output {
	e.T.Helper()
	c, err := collect.For(t)
	if err != nil {
		e.T.Fatal(err)
	}
	prev := map[string]store.Snapshot{}
	latest, err := e.Store.LatestSnapshots(ctx, e.Tenant.Name, string(t))
	if err != nil {
		e.T.Fatal(err)
	}
	for _, s := range latest {
		prev[s.ResourceKey] = s
	}
	out, err := c.Collect(ctx, &collect.Input{Now: e.Now(), Tenant: e.Tenant, Client: e.Client, Previous: prev, Cursors: e.Store})
	if err != nil {
		e.T.Fatalf("collect %s: %v", t, err)
	}
	if err := collect.Persist(ctx, e.Store, out, e.Now()); err != nil {
		e.T.Fatal(err)
	}
	return out
}

// Evaluate runs the rules of t (from rules) over the stored latest snapshots.
func (e *Env) Evaluate(ctx context.Context, t resource.Type, rules ...detect.Rule) map[string][]detect.Finding {
	e.T.Helper()
	reg, err := detect.NewRegistry(rules...)
	if err != nil {
		e.T.Fatal(err)
	}
	cur, err := e.Store.LatestSnapshots(ctx, e.Tenant.Name, string(t))
	if err != nil {
		e.T.Fatal(err)
	}
	res, err := reg.Evaluate(ctx, &detect.Input{Now: e.Now(), Tenant: e.Tenant, Rules: e.Rules, Type: t, Current: cur,
		Snapshots: e.Store, Events: e.Store, Usage: e.Store})
	if err != nil {
		e.T.Fatal(err)
	}
	return res
}

// Poll is Collect then Evaluate.
func (e *Env) Poll(ctx context.Context, t resource.Type, rules ...detect.Rule) map[string][]detect.Finding {
	e.T.Helper()
	e.Collect(ctx, t)
	return e.Evaluate(ctx, t, rules...)
}

// Keys lists the simulator's object keys of a type ("automation", …).
func (e *Env) Keys(typ string) []string { return e.Sim.ObjectKeys(e.MID, typ) }
