package notify

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// recorder is a Notifier that keeps every message it is given.
type recorder struct {
	mu   sync.Mutex
	msgs []Message
	fail func(m *Message) error
}

func (r *recorder) Notify(_ context.Context, m *Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(m); err != nil {
			return err
		}
	}
	r.msgs = append(r.msgs, *m)
	return nil
}

func (r *recorder) take() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.msgs
	r.msgs = nil
	return out
}

// baseConfig has one console receiver per owner team plus oncall.
const baseConfig = `
server:
  external_url: https://sfmcwatch.example.com/
alerting:
  receivers:
    - {name: marketing_ops, console: {}}
    - {name: data_engineering, console: {}}
    - {name: infrastructure, console: {}}
    - {name: salesforce_support, console: {}}
    - {name: oncall, console: {}}
    - {name: default, console: {}}
`

type rig struct {
	t    *testing.T
	st   store.Store
	d    *Dispatcher
	recs map[string]*recorder
	cfg  *config.Config
}

func mustConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// newRig opens a SQLite store (inside the caller's synctest bubble when
// there is one) and a dispatcher whose receivers are recorders.
func newRig(t *testing.T, yaml string, clock func() time.Time) *rig {
	t.Helper()
	cfg := mustConfig(t, yaml)
	st, err := store.Open(t.Context(), store.Config{Path: filepath.Join(t.TempDir(), "notify.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	r := &rig{t: t, st: st, recs: map[string]*recorder{}, cfg: cfg}
	fixed := map[string]Notifier{}
	for _, rc := range cfg.Alerting.Receivers {
		r.recs[rc.Name] = &recorder{}
		fixed[rc.Name] = r.recs[rc.Name]
	}
	r.d, err = New(Options{Store: st, Config: config.NewHolder(cfg, config.Loader{}), Notifiers: fixed, Clock: clock, Instance: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var fpSeq int

// open opens an incident now.
func (r *rig) open(rule, family, owner, severity, tenant, key string) store.Incident {
	r.t.Helper()
	fpSeq++
	now := time.Now()
	in, _, err := r.st.OpenOrUpdateIncident(r.t.Context(), store.IncidentUpsert{
		Fingerprint: fmt.Sprintf("%s|%s|x|%s|%d", rule, tenant, key, fpSeq), Rule: rule, Severity: severity, Family: family,
		Tenant: tenant, ResourceType: "x", ResourceKey: key, Title: rule + " on " + key, Owner: owner,
		Remediation: []string{"fix " + key}, Detail: "what the rule saw on " + key, FirstSeen: now.Add(-time.Minute), Now: now,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return in
}

// openFP opens an incident under a given fingerprint (api.errors name
// their integration there).
func (r *rig) openFP(fp, rule, family, owner, severity, tenant, key string) store.Incident {
	r.t.Helper()
	now := time.Now()
	in, _, err := r.st.OpenOrUpdateIncident(r.t.Context(), store.IncidentUpsert{
		Fingerprint: fp, Rule: rule, Severity: severity, Family: family,
		Tenant: tenant, ResourceType: "tenant", ResourceKey: key, Title: rule + " on " + key, Owner: owner,
		FirstSeen: now.Add(-time.Minute), Now: now,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return in
}

func (r *rig) resolve(in store.Incident) {
	r.t.Helper()
	if _, err := r.st.ResolveIncident(r.t.Context(), in.ID, time.Now()); err != nil {
		r.t.Fatal(err)
	}
}

// after sleeps d (fake time in a bubble) and runs one dispatcher step.
func (r *rig) after(d time.Duration) time.Time {
	r.t.Helper()
	time.Sleep(d)
	return r.d.Step(r.t.Context())
}

// expect checks the messages a receiver got since the last call, by title.
func (r *rig) expect(receiver string, titles ...string) []Message {
	r.t.Helper()
	got := r.recs[receiver].take()
	var gotTitles []string
	for _, m := range got {
		gotTitles = append(gotTitles, m.Title())
	}
	if !slices.Equal(gotTitles, titles) {
		r.t.Fatalf("%s received %d message(s):\n  %s\nwant:\n  %s", receiver, len(got),
			strings.Join(gotTitles, "\n  "), strings.Join(titles, "\n  "))
	}
	return got
}

// quiet checks that no receiver got anything.
func (r *rig) quiet() {
	r.t.Helper()
	for name, rec := range r.recs {
		if got := rec.take(); len(got) > 0 {
			r.t.Fatalf("%s unexpectedly received %q", name, got[0].Title())
		}
	}
}
