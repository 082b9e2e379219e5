package monitor

import (
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/config"
)

// TestStoreRetentionCallDetail: the monitor's own successful calls keep
// their detail as long as full resolution, never less than api.errors
// reads back and an hour, and for the whole event retention when full resolution is
// off.
func TestStoreRetentionCallDetail(t *testing.T) {
	for _, tc := range []struct {
		name          string
		full, window  time.Duration
		escalate      time.Duration
		want          time.Duration
		wantSourceSet bool
	}{
		{name: "default", full: 0, want: 48 * time.Hour, wantSourceSet: true},
		{name: "full resolution longer than the lookback", full: 6 * time.Hour, window: 15 * time.Minute, escalate: time.Hour, want: 6 * time.Hour, wantSourceSet: true},
		{name: "lookback longer", full: time.Hour, window: 30 * time.Minute, escalate: time.Hour, want: 3 * time.Hour, wantSourceSet: true},
		{name: "escalation longer", full: time.Hour, window: 15 * time.Minute, escalate: 3 * time.Hour, want: 4*time.Hour + 15*time.Minute, wantSourceSet: true},
		{name: "full resolution off", full: -1, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			switch {
			case tc.full > 0:
				cfg.Storage.Retention.FullResolution = config.Duration(tc.full)
			case tc.full < 0:
				cfg.Storage.Retention.FullResolution = 0
			}
			if tc.window > 0 {
				cfg.Rules.APIErrors.Window = config.Duration(tc.window)
				cfg.Rules.APIErrors.EscalateAfter = config.Duration(tc.escalate)
			}
			r := storeRetention(cfg)
			if r.CallDetail != tc.want || (r.CallDetailSource == ClientSource) != tc.wantSourceSet {
				t.Errorf("CallDetail = %s for %q, want %s (source set %v)", r.CallDetail, r.CallDetailSource, tc.want, tc.wantSourceSet)
			}
			if r.FullResolution != cfg.Storage.Retention.FullResolution.Std() || r.Events != cfg.Storage.Retention.Events.Std() {
				t.Errorf("retention %+v does not carry the config's", r)
			}
		})
	}
}
