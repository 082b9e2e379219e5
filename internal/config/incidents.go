package config

import "time"

// Incidents tunes the incident lifecycle for every rule; a rule's own
// resolve_after and clear_evaluations override it.
type Incidents struct {
	ResolveAfter     Duration `yaml:"resolve_after" doc:"An incident resolves only after its condition has not been seen for this long..."`
	ClearEvaluations int      `yaml:"clear_evaluations" doc:"...and after this many consecutive evaluations of its rule without it (flap damping)."`
	PromoteAfter     Duration `yaml:"promote_after" doc:"When a cause incident resolves, its still-open children stay under it this long (their symptoms are judged over a window that outlives the cause); a child still open after that is promoted and notifies on its own."`
}

// DefaultPromoteAfter is how long the children of a resolved cause wait
// before they are promoted: longer than the longest symptom window of the
// default rules (the silent-failure cross-reference's 30 minutes).
const DefaultPromoteAfter = 30 * time.Minute

// PromoteWait returns incidents.promote_after or its default.
func (c *Config) PromoteWait() time.Duration {
	if c.Incidents.PromoteAfter > 0 {
		return time.Duration(c.Incidents.PromoteAfter)
	}
	return DefaultPromoteAfter
}

// Default flap damping.
const (
	DefaultResolveAfter     = 10 * time.Minute
	DefaultClearEvaluations = 2
)

// Damping returns the flap damping of a rule id: the rule's own settings,
// else the incidents block's, else the defaults.
func (c *Config) Damping(rule string) (resolveAfter time.Duration, clearEvaluations int) {
	resolveAfter, clearEvaluations = time.Duration(c.Incidents.ResolveAfter), c.Incidents.ClearEvaluations
	if b := c.Rules.Rule(rule); b != nil {
		if b.ResolveAfter > 0 {
			resolveAfter = time.Duration(b.ResolveAfter)
		}
		if b.ClearEvaluations > 0 {
			clearEvaluations = b.ClearEvaluations
		}
	}
	if resolveAfter <= 0 {
		resolveAfter = DefaultResolveAfter
	}
	if clearEvaluations <= 0 {
		clearEvaluations = DefaultClearEvaluations
	}
	return resolveAfter, clearEvaluations
}

// validateDamping checks the damping settings.
func (d *decoder) validateDamping(c *Config) {
	if c.Incidents.ResolveAfter < 0 {
		d.errorf(nil, "incidents.resolve_after", "must not be negative")
	}
	if c.Incidents.PromoteAfter < 0 {
		d.errorf(nil, "incidents.promote_after", "must not be negative")
	}
	if c.Incidents.ClearEvaluations < 0 {
		d.errorf(nil, "incidents.clear_evaluations", "must not be negative")
	}
}
