package config

import "time"

// Incidents tunes the incident lifecycle for every rule; a rule's own
// resolve_after and clear_evaluations override it.
type Incidents struct {
	ResolveAfter     Duration `yaml:"resolve_after" doc:"An incident resolves only after its condition has not been seen for this long..."`
	ClearEvaluations int      `yaml:"clear_evaluations" doc:"...and after this many consecutive evaluations of its rule without it (flap damping)."`
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
	if c.Incidents.ClearEvaluations < 0 {
		d.errorf(nil, "incidents.clear_evaluations", "must not be negative")
	}
}
