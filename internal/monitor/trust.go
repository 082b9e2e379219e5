package monitor

import (
	"context"
	"sync"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/trust"
)

// trustNotes answers the correlation step's question "does Salesforce
// Trust report something on this tenant's instance?" from the running
// config (trust.enabled, trust.base_url, trust.cache_for, the tenant's
// trust_instance), on the engine's clock and HTTP client. Failures to
// reach Trust are logged at debug and say nothing.
type trustNotes struct {
	e *Engine

	mu     sync.Mutex
	key    string // base URL and TTL the client was built with
	client *trust.Client
}

func (t *trustNotes) note(ctx context.Context, tenant string) string {
	cfg := t.e.holder.Current()
	if cfg == nil || !cfg.Trust.Enabled {
		return ""
	}
	instance := ""
	for i := range cfg.Tenants {
		if cfg.Tenants[i].Name == tenant {
			instance = cfg.Tenants[i].TrustInstance
		}
	}
	if instance == "" {
		return ""
	}
	t.mu.Lock()
	key := cfg.Trust.BaseURL + "\x00" + cfg.Trust.CacheFor.String()
	if t.client == nil || t.key != key {
		t.client = &trust.Client{BaseURL: cfg.Trust.BaseURL, HTTP: t.e.opt.HTTPClient, TTL: cfg.Trust.CacheFor.Std(), Now: t.e.now}
		t.key = key
	}
	cl := t.client
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := cl.Status(ctx, instance)
	if err != nil {
		t.e.log.Debug("Salesforce Trust status not read", "tenant", tenant, "instance", instance, "error", err)
		return ""
	}
	return st.Note()
}
