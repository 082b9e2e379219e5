package config

import (
	"strings"
	"testing"
	"time"
)

func TestDigestConfig(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	tenant := `
tenants:
  - name: a
    subdomain: mcabc
    client_id: id
    client_secret: s
    timezone: Europe/Berlin
`
	t.Run("defaults", func(t *testing.T) {
		c, err := Parse("x.yaml", []byte(tenant), noEnv)
		if err != nil {
			t.Fatal(err)
		}
		g := c.Digest
		if !g.Enabled || g.Schedule != "0 8 * * 1" || g.Period.Std() != 7*24*time.Hour || g.Cron() == nil {
			t.Fatalf("defaults: %+v", g)
		}
		if g.Location().String() != "Europe/Berlin" {
			t.Errorf("timezone defaults to the first tenant's, got %s", g.Location())
		}
		next := g.Cron().Next(time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC), g.Location())
		if want := time.Date(2026, 11, 9, 7, 0, 0, 0, time.UTC); !next.Equal(want) {
			t.Errorf("next digest %s, want %s (Monday 08:00 Berlin)", next, want)
		}
	})
	t.Run("explicit", func(t *testing.T) {
		c, err := Parse("/etc/sfmcwatch/x.yaml", []byte(tenant+"digest:\n  schedule: \"30 7 * * fri\"\n  timezone: America/New_York\n  period: 14d\n  out_dir: digests\n  receivers: [ops-mail]\n"), noEnv)
		if err != nil {
			t.Fatal(err)
		}
		g := c.Digest
		if g.Location().String() != "America/New_York" || g.Period.Std() != 14*24*time.Hour || g.OutDir != "/etc/sfmcwatch/digests" || len(g.Receivers) != 1 {
			t.Fatalf("%+v", g)
		}
	})
	for _, tc := range []struct{ yaml, want string }{
		{"digest:\n  schedule: \"0 25 * * 1\"\n", "digest.schedule: cron: hour field"},
		{"digest:\n  timezone: Mars/Olympus\n", "digest.timezone: unknown time zone"},
		{"digest:\n  period: 10m\n", "digest.period: must be at least 1h"},
		{"digest:\n  receivers: [a, a]\n", "receiver \"a\" listed twice"},
		{"digest:\n  shedule: x\n", "did you mean \"schedule\""},
	} {
		_, err := Parse("x.yaml", []byte(tenant+tc.yaml), noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
