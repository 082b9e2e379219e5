package config

import (
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
)

// CallPlan plans the tenant's API calls for an inventory (objects per
// type) with the collectors' own rules (internal/callplan): calls a day
// and one-off calls, by monitor.
func (t *Tenant) CallPlan(inv callplan.Inventory) callplan.Plan {
	in := callplan.Input{Intervals: map[string]time.Duration{}, Inventory: inv, DailyBudget: t.DailyAPIBudget}
	t.Monitors.Each(func(name string, m *Monitor) {
		if m.Enabled && m.Interval > 0 {
			in.Intervals[name] = m.Interval.Std()
		}
	})
	in.CriticalDEs = len(t.Monitors.DataExtensions.Critical)
	for k, o := range t.Objects {
		typ, key, ok := splitObjectKey(k)
		if !ok || typ != "data_extension" || o.Critical == nil {
			continue
		}
		listed := false
		for _, c := range t.Monitors.DataExtensions.Critical {
			listed = listed || c == key
		}
		switch {
		case *o.Critical && !listed:
			in.CriticalDEs++
		case !*o.Critical && listed:
			in.CriticalDEs--
		}
	}
	return callplan.Make(in)
}

func splitObjectKey(k string) (typ, key string, ok bool) {
	for i := range len(k) {
		if k[i] == ':' {
			return k[:i], k[i+1:], i > 0 && i < len(k)-1
		}
	}
	return "", "", false
}
