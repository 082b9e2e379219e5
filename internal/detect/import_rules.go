package detect

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Import rules read the import collector's snapshots (ImportState with
// recent runs, oldest first); they judge the newest finished run.

type importSnap struct {
	snap  store.Snapshot
	state resource.ImportState
}

func (s importSnap) name() string { return cmp.Or(s.state.Name, s.snap.ResourceKey) }

func (s importSnap) finding(in *Input, rule string) Finding {
	return Finding{Rule: rule, Tenant: in.Tenant.Name, ResourceType: resource.Import, ResourceKey: s.snap.ResourceKey,
		ResourceName: s.state.Name, Evidence: autoEvidence(s.snap, in.Now)}
}

func importSnaps(in *Input) []importSnap {
	out := make([]importSnap, 0, len(in.Current))
	for _, s := range in.Current {
		var st resource.ImportState
		if err := resource.Decode(s, &st); err != nil {
			continue
		}
		out = append(out, importSnap{snap: s, state: st})
	}
	return out
}

// finishedImportRuns drops runs still processing (or of unknown status).
func finishedImportRuns(runs []resource.Run) []resource.Run {
	out := make([]resource.Run, 0, len(runs))
	for _, r := range runs {
		if r.Status == resource.StatusComplete || r.Status == resource.StatusError {
			out = append(out, r)
		}
	}
	return out
}

// importRunFailed: Error, or completed with no row imported although the
// file had rows (or earlier runs imported rows).
func importRunFailed(r resource.Run, baseline bool) bool {
	if r.Status == resource.StatusError {
		return true
	}
	return r.Status == resource.StatusComplete && r.Rows == 0 && (r.Total > 0 || r.Errored > 0 || baseline)
}

// ---------------------------------------------------------------- import.failed

// ImportFailedRule fires when the newest finished import run ended in
// Error, or completed with zero rows imported while the file had rows,
// earlier runs imported rows, or its destination data extension holds no
// rows (judged on the first look too). It clears at the next run that
// imports rows.
type ImportFailedRule struct{}

// ID implements Rule.
func (ImportFailedRule) ID() string { return "import.failed" }

// Type implements Rule.
func (ImportFailedRule) Type() resource.Type { return resource.Import }

// NeedsHistory implements Rule.
func (ImportFailedRule) NeedsHistory() bool { return false }

// importEmptyDestinations returns the data extensions (lower-case key)
// whose latest row count is 0, read once per evaluation.
func importEmptyDestinations(ctx context.Context, in *Input) (map[string]bool, error) {
	out := map[string]bool{}
	if in.Snapshots == nil {
		return out, nil
	}
	des, err := in.Snapshots.LatestSnapshots(ctx, in.Tenant.Name, string(resource.DataExtension))
	if err != nil {
		return nil, err
	}
	for _, d := range des {
		if d.RowCount == nil || *d.RowCount != 0 {
			continue
		}
		out[strings.ToLower(d.ResourceKey)] = true
		// An import names its destination by ObjectID (REST
		// destinationObjectId, a GUID) as often as by external key.
		var st resource.DataExtensionState
		if resource.Decode(d, &st) == nil && st.ID != "" {
			out[strings.ToLower(st.ID)] = true
		}
	}
	return out, nil
}

// Evaluate implements Rule.
func (r ImportFailedRule) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	var out []Finding
	var empty map[string]bool // destinations with 0 rows, read when needed
	for _, s := range importSnaps(in) {
		runs := finishedImportRuns(s.state.Runs)
		if len(runs) == 0 {
			continue
		}
		// Walk back over the failed streak; baseline = an earlier run imported rows.
		failed := 0
		for i := len(runs) - 1; i >= 0; i-- {
			baseline := false
			for _, x := range runs[:i] {
				if x.Rows > 0 {
					baseline = true
					break
				}
			}
			if !importRunFailed(runs[i], baseline) {
				break
			}
			failed++
		}
		last := runs[len(runs)-1]
		emptyDest := false
		if failed == 0 && last.Status == resource.StatusComplete && last.Rows == 0 && s.state.DestinationKey != "" {
			// "Completed" with nothing loaded, on the first look or with no
			// earlier run to compare: judged by the destination. An empty
			// destination data extension means the load delivered nothing.
			if empty == nil {
				var err error
				if empty, err = importEmptyDestinations(ctx, in); err != nil {
					return nil, err
				}
			}
			if emptyDest = empty[strings.ToLower(s.state.DestinationKey)]; emptyDest {
				failed = 1
			}
		}
		if failed == 0 {
			continue
		}
		f := s.finding(in, r.ID())
		first := runs[len(runs)-failed]
		f.FirstSeen = cmp.Or(s.snap.ObservedAt, in.Now)
		f.FailureStartedAt = cmp.Or(first.CompletedAt, first.StartedAt)
		f.Family, f.Owner = catalog.Client, catalog.DataEngineering
		when := last.StartedAt.UTC().Format(time.RFC3339)
		switch {
		case last.Status == resource.StatusError:
			f.Title = fmt.Sprintf("Import '%s' failed", s.name())
			f.Detail = fmt.Sprintf("The import run started %s ended with ImportStatus Error (%s).", when, importRunCounts(last))
		case emptyDest:
			f.Title = fmt.Sprintf("Import '%s' completed but loaded nothing into an empty data extension", s.name())
			f.Detail = fmt.Sprintf("The import run started %s reports Completed with 0 rows imported (file rows %d, rejected %d), and its destination '%s' holds 0 rows: whatever reads it has no data.",
				when, last.Total, last.Errored, s.state.DestinationKey)
		default:
			f.Title = fmt.Sprintf("Import '%s' imported no rows", s.name())
			f.Detail = fmt.Sprintf("The import run started %s completed but imported 0 rows (file rows %d, rejected %d).", when, last.Total, last.Errored)
			if last.Total == 0 && last.Errored == 0 && s.state.DestinationKey != "" {
				if empty == nil {
					var err error
					if empty, err = importEmptyDestinations(ctx, in); err != nil {
						return nil, err
					}
				}
				if empty[strings.ToLower(s.state.DestinationKey)] {
					f.Detail += fmt.Sprintf(" The file was empty and the destination '%s' now holds 0 rows.", s.state.DestinationKey)
				}
			}
		}
		if failed > 1 {
			f.Detail += fmt.Sprintf(" %d runs in a row failed.", failed)
		}
		f.Detail += " The destination data extension was not refreshed."
		if s.state.LastRunMessage != "" {
			f.Detail += " SFMC: " + s.state.LastRunMessage
		}
		f.Remediation = []string{
			fmt.Sprintf("In Automation Studio > Activities > Imports open '%s' and read the run's result e-mail or log: missing file, wrong naming pattern, or rejected rows.", s.name()),
			"Check the file location for a file matching the naming pattern for this run, its encoding/delimiter, and that column headings still match the destination's fields.",
			"Re-run the import (or its automation) after fixing the file or mapping.",
		}
		out = append(out, f)
	}
	return out, nil
}

// importRunCounts describes an errored run's row counts as SFMC gave them
// (NumberSuccessful, NumberErrors, file rows).
func importRunCounts(r resource.Run) string {
	switch {
	case r.Rows > 0:
		return fmt.Sprintf("%d rows imported before it failed, %d rejected, %d file rows", r.Rows, r.Errored, r.Total)
	case r.Rows == 0:
		return fmt.Sprintf("none imported, %d of %d file rows rejected", r.Errored, r.Total)
	}
	return fmt.Sprintf("%d of %d file rows rejected; rows imported unknown", r.Errored, r.Total)
}

// ---------------------------------------------------------------- import.partial

// defaultImportMinErrored is the fewest rejected rows that make a single
// run partial; below it a run is partial only when the run before it also
// breached warn_ratio (a handful of bad rows in a small file is noise until
// it repeats).
const defaultImportMinErrored = 25

// ImportPartialRule fires when the newest finished import run completed with
// rows_errored/(rows_errored+rows_imported) ≥ warn_ratio (warning) or ≥
// error_ratio (the rule's severity). Runs that imported nothing are
// import.failed's.
type ImportPartialRule struct {
	// MinErrored overrides defaultImportMinErrored (0: default).
	MinErrored int64
}

// ID implements Rule.
func (ImportPartialRule) ID() string { return "import.partial" }

// Type implements Rule.
func (ImportPartialRule) Type() resource.Type { return resource.Import }

// NeedsHistory implements Rule.
func (ImportPartialRule) NeedsHistory() bool { return false }

func importErrRatio(r resource.Run) float64 {
	if r.Errored <= 0 || r.Errored+r.Rows <= 0 {
		return 0
	}
	return float64(r.Errored) / float64(r.Errored+r.Rows)
}

// Evaluate implements Rule.
func (r ImportPartialRule) Evaluate(_ context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.ImportPartial
	minErr := cmp.Or(r.MinErrored, defaultImportMinErrored)
	var out []Finding
	for _, s := range importSnaps(in) {
		runs := finishedImportRuns(s.state.Runs)
		if len(runs) == 0 {
			continue
		}
		last := runs[len(runs)-1]
		if last.Status != resource.StatusComplete || last.Rows <= 0 {
			continue
		}
		ratio := importErrRatio(last)
		if cfg.WarnRatio <= 0 || ratio < float64(cfg.WarnRatio) {
			continue
		}
		repeated := len(runs) > 1 && importErrRatio(runs[len(runs)-2]) >= float64(cfg.WarnRatio)
		if last.Errored < minErr && !repeated {
			continue
		}
		f := s.finding(in, r.ID())
		f.FirstSeen = last.StartedAt
		if repeated {
			f.FirstSeen = runs[len(runs)-2].StartedAt
		}
		f.Family, f.Owner = catalog.Client, catalog.DataEngineering
		// A critical import (monitors.imports.critical, objects.<key>.critical)
		// does not just warn: it takes the rule's severity.
		if (cfg.ErrorRatio <= 0 || ratio < float64(cfg.ErrorRatio)) && !in.Critical(s.snap.ResourceKey) {
			f.Severity = catalog.Warning
		}
		f.Title = fmt.Sprintf("Import '%s' rejected %.1f%% of its rows", s.name(), 100*ratio)
		f.Detail = fmt.Sprintf("The run started %s completed with %d rows imported and %d rejected (file rows %d): the destination data extension is missing part of the file.",
			last.StartedAt.UTC().Format(time.RFC3339), last.Rows, last.Errored, last.Total)
		if s.state.AllowErrors {
			f.Detail += " The import is set to allow errors, so SFMC reports it as Completed."
		}
		f.Remediation = []string{
			fmt.Sprintf("Open the import '%s' run log (result e-mail or the import's activity history) to see why rows were rejected: invalid e-mail addresses, missing required columns, type or length mismatches, duplicate primary keys.", s.name()),
			"Fix the file at its source or widen the destination fields, then re-import the rejected rows.",
		}
		out = append(out, f)
	}
	return out, nil
}
