package detect

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
)

// ---------------------------------------------------------------- automation.no_output

// AutomationNoOutputRule checks output assertions on an automation's
// newest finished run when it ended Complete ("did the work"):
//
//   - the automation's output (its target data extensions' rows, read
//     right after the run completed) is at least
//     objects.automation:<key>.min_output_rows; without one, an automation
//     whose last learn_runs measured runs (default 5) all wrote rows is
//     asserted to write at least one (learned never-zero assertion);
//   - each import step's run inside it imported at least
//     objects.import:<key>.min_output_rows rows, from a file of at least
//     objects.import:<key>.min_file_lines lines (SFMC's
//     ImportResultsSummary NumberSuccessful and TotalRows). Import steps are
//     asserted by configuration only: an import that loads zero rows
//     against its history is import.failed's.
//
// A run whose output was not measured is not judged. Configured
// assertions judge from the first look; the learned one needs measured
// history. "At least N rows in data extension X" per data extension is
// objects.data_extension:<key>.min_rows (data_extension.empty/row_drop).
type AutomationNoOutputRule struct{}

// ID implements Rule.
func (AutomationNoOutputRule) ID() string { return "automation.no_output" }

// Type implements Rule.
func (AutomationNoOutputRule) Type() resource.Type { return resource.Automation }

// NeedsHistory implements Rule: runs travel in the payload (import runs
// are read from the latest import snapshots).
func (AutomationNoOutputRule) NeedsHistory() bool { return false }

// NoOutputMinimum is the asserted output of an automation's runs: the
// configured minimum, else 1 when the last learnRuns measured complete
// runs before the newest all wrote rows, else 0 (no assertion); learned
// reports which.
func NoOutputMinimum(runs []resource.Run, configured int64, learnRuns int) (minimum int64, learned bool) {
	if configured > 0 {
		return configured, false
	}
	if learnRuns < 1 {
		return 0, false
	}
	n := 0
	for i := len(runs) - 1; i >= 0 && n < learnRuns; i-- {
		r := runs[i]
		if r.Status != resource.StatusComplete || r.Rows < 0 {
			continue
		}
		if r.Rows == 0 {
			return 0, false
		}
		n++
	}
	if n < learnRuns {
		return 0, false
	}
	return 1, true
}

// Evaluate implements Rule.
func (r AutomationNoOutputRule) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.AutomationNoOutput
	var out []Finding
	var imports map[string]importSnap // by definition id, read when needed
	for _, a := range automationSnaps(in) {
		runs := autoFinishedRuns(a.state.Runs)
		if len(runs) == 0 {
			continue
		}
		last := runs[len(runs)-1]
		if last.Status != resource.StatusComplete {
			continue
		}
		// The automation's total output.
		if last.Rows >= 0 {
			minimum, learned := NoOutputMinimum(runs[:len(runs)-1], in.Object(a.snap.ResourceKey).MinOutputRows, cfg.LearnRuns)
			if minimum > 0 && last.Rows < minimum {
				f := a.finding(in, r.ID())
				f.FailureStartedAt = cmp.Or(last.CompletedAt, last.StartedAt)
				f.FirstSeen = a.seenAt(f.FailureStartedAt)
				f.Family, f.Owner = catalog.Client, catalog.DataEngineering
				targets := strings.Join(quoteAll(a.state.TargetDataExtensions), ", ")
				f.Title = fmt.Sprintf("Automation '%s' completed but wrote %d rows (asserted at least %d)", a.name(), last.Rows, minimum)
				why := fmt.Sprintf("objects.automation:%s.min_output_rows asserts at least %d", a.snap.ResourceKey, minimum)
				if learned {
					why = fmt.Sprintf("its last %d measured runs all wrote rows, so a run is expected to write at least one", cfg.LearnRuns)
				}
				f.Detail = fmt.Sprintf("The run started %s ended Complete, but its target data extensions (%s) hold %d rows after it; %s. SFMC reports success for a run that processed nothing (empty source, filter that matches nothing, file without rows).",
					last.StartedAt.UTC().Format(time.RFC3339), targets, last.Rows, why)
				f.Remediation = []string{
					fmt.Sprintf("In Automation Studio open '%s' > Activity history and check each step's row counts for this run.", a.name()),
					"Check the run's inputs: did the source data extensions or files have data when it started?",
					"Re-run once the input is there, before journeys or sends read the target data extensions.",
				}
				out = append(out, f)
			}
		}
		// Import steps with configured assertions.
		for _, act := range a.state.Activities {
			if act.Type != resource.ActivityImport || act.ObjectID == "" {
				continue
			}
			if imports == nil {
				var err error
				if imports, err = importsByID(ctx, in); err != nil {
					return nil, err
				}
			}
			im, ok := imports[strings.ToLower(act.ObjectID)]
			if !ok {
				continue
			}
			o := in.Tenant.Object(string(resource.Import), im.snap.ResourceKey)
			if o.MinOutputRows <= 0 && o.MinFileLines <= 0 {
				continue
			}
			ir := lastImportRunSince(im.state.Runs, last.StartedAt)
			if ir == nil || ir.Status != resource.StatusComplete {
				continue
			}
			var fails []string
			if o.MinOutputRows > 0 && ir.Rows < o.MinOutputRows {
				fails = append(fails, fmt.Sprintf("imported %d rows (min_output_rows %d)", ir.Rows, o.MinOutputRows))
			}
			if o.MinFileLines > 0 && ir.Total < o.MinFileLines {
				fails = append(fails, fmt.Sprintf("its file had %d lines (min_file_lines %d)", ir.Total, o.MinFileLines))
			}
			if len(fails) == 0 {
				continue
			}
			f := a.finding(in, r.ID())
			f.Discriminator = "import:" + strings.ToLower(im.snap.ResourceKey)
			f.FailureStartedAt = cmp.Or(ir.CompletedAt, ir.StartedAt)
			f.FirstSeen = a.seenAt(f.FailureStartedAt)
			f.Family, f.Owner = catalog.Client, catalog.DataEngineering
			f.Evidence = append(f.Evidence, autoEvidence(im.snap, in.Now)...)
			f.Title = fmt.Sprintf("Import '%s' in automation '%s' completed below its assertion", im.name(), a.name())
			f.Detail = fmt.Sprintf("The import run started %s ended Completed, but %s (objects.import:%s). %s received less than the run is asserted to deliver.",
				ir.StartedAt.UTC().Format(time.RFC3339), strings.Join(fails, " and "), im.snap.ResourceKey, capitalize(targetsText(nonEmpty(im.state.DestinationKey))))
			f.Remediation = []string{
				"Check the delivered file: truncated, a partial export, or yesterday's file again?",
				"Ask the sender for the complete file and re-run the automation; adjust the assertion if the volume legitimately changed.",
			}
			out = append(out, f)
		}
	}
	return out, nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// importsByID reads the latest import snapshots by definition id.
func importsByID(ctx context.Context, in *Input) (map[string]importSnap, error) {
	out := map[string]importSnap{}
	if in.Snapshots == nil {
		return out, nil
	}
	snaps, err := in.Snapshots.LatestSnapshots(ctx, in.Tenant.Name, string(resource.Import))
	if err != nil {
		return nil, err
	}
	for _, s := range snaps {
		var st resource.ImportState
		if resource.Decode(s, &st) != nil || st.ID == "" {
			continue
		}
		out[strings.ToLower(st.ID)] = importSnap{snap: s, state: st}
	}
	return out, nil
}

// lastImportRunSince is the newest import run that started at or after
// since (nil when none).
func lastImportRunSince(runs []resource.Run, since time.Time) *resource.Run {
	for i := len(runs) - 1; i >= 0; i-- {
		if !runs[i].StartedAt.Before(since) {
			return &runs[i]
		}
	}
	return nil
}
