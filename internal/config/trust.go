package config

import "time"

// Trust is the optional read of Salesforce's public Trust status.
type Trust struct {
	Enabled  bool     `yaml:"enabled" doc:"Read the public Salesforce Trust status of each tenant's trust_instance while an SFMC outage cause is open, and say on the outage incident when SFMC reports an incident or maintenance there. No credentials; off by default."`
	BaseURL  string   `yaml:"base_url" config:"url" doc:"Trust status API base URL (https, or http on loopback for tests)."`
	CacheFor Duration `yaml:"cache_for" doc:"How long one instance's answer is reused."`
}

// DefaultTrust is off, at Salesforce's public status API, cached 5 minutes.
func DefaultTrust() Trust {
	return Trust{BaseURL: "https://api.status.salesforce.com", CacheFor: Duration(5 * time.Minute)}
}

// validateTrust checks the trust block and that enabling it names an
// instance for at least one tenant.
func (d *decoder) validateTrust(c *Config) {
	t := &c.Trust
	if msg := checkTenantURL(t.BaseURL); t.BaseURL != "" && msg != "" {
		d.errorf(nil, "trust.base_url", "%s", msg)
	}
	if t.CacheFor < Duration(MinInterval) {
		d.errorf(nil, "trust.cache_for", "must be at least %s, got %s", MinInterval, t.CacheFor)
	}
	if !t.Enabled {
		return
	}
	named := false
	for _, tn := range c.Tenants {
		named = named || tn.TrustInstance != ""
	}
	if !named {
		d.warnf("trust.enabled", "no tenant sets trust_instance (the instance on Salesforce Trust, e.g. S7): nothing is read")
	}
}
