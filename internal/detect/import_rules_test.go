package detect

import (
	"testing"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/config"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

func importInput(rs ...resource.Run) *Input {
	rules := config.DefaultRules()
	for i := range rs {
		rs[i].StartedAt = autoT0.Add(time.Duration(i-len(rs)) * time.Hour)
	}
	s := store.Snapshot{ID: 1, ResourceRef: resource.Ref("t", resource.Import, "I"), ObservedAt: autoT0,
		Payload: resource.Encode(resource.ImportState{Name: "I", Runs: rs})}
	return &Input{Now: autoT0, Tenant: &config.Tenant{Name: "t"}, Rules: &rules, Type: resource.Import, Current: []store.Snapshot{s}, Snapshots: autoNopSnaps{}}
}

func impOK(rows, errs int64) resource.Run {
	return resource.Run{Status: resource.StatusComplete, Rows: rows, Errored: errs, Total: rows + errs}
}

func TestImportFailedRule(t *testing.T) {
	errRun := resource.Run{Status: resource.StatusError, Errored: 100, Total: 100}
	cases := []struct {
		name string
		runs []resource.Run
		want bool
	}{
		{"ok", []resource.Run{impOK(100, 0), impOK(100, 0)}, false},
		{"error", []resource.Run{impOK(100, 0), errRun}, true},
		{"zero rows, file had rows", []resource.Run{impOK(0, 5)}, true},
		{"zero rows, empty file, baseline", []resource.Run{impOK(100, 0), {Status: resource.StatusComplete}}, true},
		{"zero rows, never had rows", []resource.Run{{Status: resource.StatusComplete}}, false},
		{"recovered", []resource.Run{errRun, impOK(100, 0)}, false},
		{"processing after error", []resource.Run{errRun, {Status: resource.StatusProcessing}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := autoEval(t, ImportFailedRule{}, importInput(c.runs...))
			if (len(fs) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", fs, c.want)
			}
		})
	}
}

func TestImportPartialRule(t *testing.T) {
	cases := []struct {
		name string
		runs []resource.Run
		want bool
		sev  catalog.Severity
	}{
		{"clean", []resource.Run{impOK(1000, 0)}, false, ""},
		{"below warn", []resource.Run{impOK(10000, 99)}, false, ""},
		{"warn (1%)", []resource.Run{impOK(9900, 100)}, true, catalog.Warning},
		{"error (5%)", []resource.Run{impOK(950, 50)}, true, ""},
		{"few rows once: noise", []resource.Run{impOK(1000, 20)}, false, ""},
		{"few rows twice in a row", []resource.Run{impOK(1000, 20), impOK(1000, 15)}, true, catalog.Warning},
		{"nothing imported is import.failed's", []resource.Run{impOK(0, 100)}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := autoEval(t, ImportPartialRule{}, importInput(c.runs...))
			if (len(fs) == 1) != c.want {
				t.Fatalf("findings %+v, want %v", fs, c.want)
			}
			if c.want && fs[0].Severity != c.sev {
				t.Errorf("severity %q, want %q", fs[0].Severity, c.sev)
			}
		})
	}
}
