package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
)

// effectBase is a valid config with one tenant; an effect check sets one
// key differently in two variants of it (the %s) and compares what the code
// acting on the key sees.
const effectBase = `
tenants:
  - name: t1
    subdomain: mc563885gzs27c5t9-63k636ttgm
    client_id: id
    client_secret: secret
%s
`

// parseEffect parses effectBase with extra YAML: top-level keys, or keys
// of the tenant when they start with "    " (the tenant's indentation).
func parseEffect(t *testing.T, extra string) *Config {
	t.Helper()
	var top, tenant []string
	for line := range strings.SplitSeq(strings.Trim(extra, "\n"), "\n") {
		if strings.HasPrefix(line, "    ") {
			tenant = append(tenant, line)
		} else if line != "" {
			top = append(top, line)
		}
	}
	data := fmt.Sprintf(effectBase, strings.Join(tenant, "\n")) + strings.Join(top, "\n") + "\n"
	c, err := Parse("effect.yaml", []byte(data), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return c
}

// effect is a behaviour check of one key: two settings of it and what the
// code acting on it sees (a string, compared).
type effect struct {
	a, b    string
	observe func(c *Config) string
}

// effectInventory has objects of every type, so each monitor plans calls.
var effectInventory = callplan.Inventory{Automations: 40, Journeys: 10, DataExtensions: 100, TriggeredSends: 10,
	Transactional: 5, Imports: 10, SendJobsPerWeek: 600}

func planOf(c *Config) string {
	p := c.Tenants[0].CallPlan(effectInventory)
	var b strings.Builder
	for _, m := range p.Monitors {
		fmt.Fprintf(&b, "%s/%s: %.1f/day; ", m.Name, m.Interval, m.PerDay())
	}
	return b.String()
}

// effects lists behaviour checks by key. Generated entries cover every
// monitor (its enabled and interval change the tenant's call plan, its
// critical list the objects treated as critical), at the top level and per
// tenant; the rest are keys that take effect through what the decoder
// derives from them (an unexported parsed form read by an exported method).
func effects() map[string]effect {
	out := map[string]effect{
		"tenants[].edition": {"    edition: pro", "    edition: enterprise", func(c *Config) string {
			return fmt.Sprint(c.Tenants[0].DailyAPIBudget, c.Tenants[0].CallPlan(effectInventory).RowCountsPerPoll)
		}},
		"tenants[].timezone": {"    timezone: Europe/Berlin", "    timezone: America/New_York", func(c *Config) string {
			return c.Tenants[0].Location().String()
		}},
		"digest.schedule": {"digest: {schedule: '0 8 * * 1'}", "digest: {schedule: '0 9 * * 2'}", func(c *Config) string {
			return c.Digest.Cron().Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), c.Digest.Location()).String()
		}},
		"digest.timezone": {"digest: {timezone: Europe/Berlin}", "digest: {timezone: Asia/Tokyo}", func(c *Config) string {
			return c.Digest.Location().String()
		}},
	}
	// A window every Saturday 02:00 for 4h, in the schedule's time zone;
	// the observation is whether Saturday 03:00 UTC falls inside it.
	window := func(schedule, tz string) string {
		return fmt.Sprintf("alerting: {maintenance_windows: [{name: w, schedule: '%s', duration: 4h, timezone: %s}]}", schedule, tz)
	}
	inWindow := func(c *Config) string {
		return fmt.Sprint(c.Alerting.MaintenanceWindows[0].Contains(time.Date(2026, 1, 3, 3, 0, 0, 0, time.UTC)))
	}
	out["alerting.maintenance_windows[].schedule"] = effect{window("0 2 * * sat", "UTC"), window("0 2 * * sun", "UTC"), inWindow}
	out["alerting.maintenance_windows[].timezone"] = effect{window("0 2 * * sat", "UTC"), window("0 2 * * sat", "Asia/Tokyo"), inWindow}

	mons := DefaultMonitors()
	mons.Each(func(name string, _ *Monitor) {
		singular := ""
		for _, s := range ObjectTypes() {
			if pluralOf(s) == name {
				singular = s
			}
		}
		critical := func(c *Config) string { return fmt.Sprint(c.Tenants[0].IsCritical(singular, "K1")) }
		for _, scope := range []struct{ path, indent string }{{"monitors", ""}, {"tenants[].monitors", "    "}} {
			set := func(kv string) string {
				if scope.indent == "" {
					return fmt.Sprintf("monitors: {%s: {%s}}", name, kv)
				}
				return fmt.Sprintf("    monitors: {%s: {%s}}", name, kv)
			}
			p := scope.path + "." + name
			out[p+".enabled"] = effect{set("enabled: true"), set("enabled: false"), planOf}
			out[p+".interval"] = effect{set("enabled: true, interval: 5m"), set("enabled: true, interval: 1h"), planOf}
			out[p+".critical"] = effect{set("critical: [K1]"), set("critical: [K2]"), critical}
		}
	})
	return out
}

// TestOptionEffects: each key with a behaviour check changes what the code
// acting on it sees; every monitor key has one (generated), so a monitor
// added without a call plan line or a critical mapping fails here.
func TestOptionEffects(t *testing.T) {
	effs := effects()
	paths := map[string]bool{}
	for _, o := range walkOptions() {
		paths[o.Path] = true
		if (strings.HasPrefix(o.Path, "monitors.") || strings.HasPrefix(o.Path, "tenants[].monitors.")) && !o.Block {
			if _, ok := effs[o.Path]; !ok {
				t.Errorf("%s has no behaviour check", o.Path)
			}
		}
	}
	for path, e := range effs {
		t.Run(path, func(t *testing.T) {
			if !paths[path] {
				t.Fatalf("%s is not a config key", path)
			}
			a, b := e.observe(parseEffect(t, e.a)), e.observe(parseEffect(t, e.b))
			if a == b {
				t.Errorf("%s: %q and %q both give %q: the key has no effect", path, e.a, e.b, a)
			}
		})
	}
}
