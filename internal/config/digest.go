package config

import (
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/cronexpr"
)

// Digest schedules the weekly post-mortem digest in serve.
type Digest struct {
	Enabled   bool     `yaml:"enabled" doc:"Generate the digest on schedule while serve runs (one replica generates it)."`
	Schedule  string   `yaml:"schedule" doc:"Cron expression (minute hour day-of-month month day-of-week, or @weekly…) in timezone."`
	Timezone  string   `yaml:"timezone,omitempty" doc:"IANA time zone of schedule; empty: the first tenant's timezone, else UTC."`
	Period    Duration `yaml:"period" doc:"Length of the period each digest covers (compared with the period before it)."`
	OutDir    string   `yaml:"out_dir,omitempty" config:"path" doc:"Write digest-<date>.md and digest-<date>.html into this directory."`
	Receivers []string `yaml:"receivers,omitempty" doc:"Alerting receivers the digest is sent to (HTML e-mail with a text part, or the receiver's report format)."`

	loc   *time.Location
	sched *cronexpr.Schedule
}

// DefaultDigest fires every Monday at 08:00 and covers the last 7 days.
func DefaultDigest() Digest {
	return Digest{Enabled: true, Schedule: "0 8 * * 1", Period: Duration(7 * day)}
}

// Location returns the digest's time zone (valid after Parse).
func (g *Digest) Location() *time.Location {
	if g.loc == nil {
		return time.UTC
	}
	return g.loc
}

// Cron returns the parsed schedule (nil when the config did not come from
// Parse or the schedule was invalid).
func (g *Digest) Cron() *cronexpr.Schedule { return g.sched }

func (d *decoder) validateDigest(c *Config) {
	g := &c.Digest
	if s, err := cronexpr.Parse(g.Schedule); err != nil {
		d.errorf(nil, "digest.schedule", "%v", err)
	} else {
		g.sched = s
	}
	tz := g.Timezone
	if tz == "" && len(c.Tenants) > 0 {
		tz = c.Tenants[0].Timezone
	}
	if tz == "" {
		tz = "UTC"
	}
	if loc, err := time.LoadLocation(tz); err != nil {
		if g.Timezone != "" {
			d.errorf(nil, "digest.timezone", "unknown time zone %q (want an IANA name such as Europe/Berlin)", g.Timezone)
		}
	} else {
		g.loc = loc
	}
	if g.Period < Duration(time.Hour) {
		d.errorf(nil, "digest.period", "must be at least 1h, got %s", g.Period)
	}
	seen := map[string]bool{}
	for i, r := range g.Receivers {
		switch {
		case r == "":
			d.errorf(nil, "digest.receivers", "item %d is empty", i)
		case seen[r]:
			d.errorf(nil, "digest.receivers", "receiver %q listed twice", r)
		}
		seen[r] = true
	}
	g.OutDir = d.resolve(g.OutDir)
}
