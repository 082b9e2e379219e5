package collect

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/sfmc"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// Windows of ImportResultsSummary reads.
const (
	// importFirstWindow is read for definitions without history (first
	// poll, audit): enough for a few runs of a daily import.
	importFirstWindow = 7 * 24 * time.Hour
	// importPollWindow is read on later polls: runs that started since, plus
	// any run still processing at the last poll.
	importPollWindow = 2 * time.Hour
)

// ImportCollector reads import definitions (one REST list) and the results
// of their recent runs (one batched SOAP Retrieve of ImportResultsSummary,
// narrowed by start date), and carries each definition's run history
// forward.
type ImportCollector struct {
	MaxRuns int // runs kept per import (0: 20)
}

// Type implements Collector.
func (ImportCollector) Type() resource.Type { return resource.Import }

// ImportRunStatus maps ImportResultsSummary.ImportStatus to a run status.
func ImportRunStatus(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "completed", "complete":
		return resource.StatusComplete
	case "error":
		return resource.StatusError
	case "new", "processing", "iowork", "queued":
		return resource.StatusProcessing
	}
	return resource.StatusUnknown
}

// Collect implements Collector.
func (c ImportCollector) Collect(ctx context.Context, in *Input) (*Output, error) {
	defs, err := in.Client.ImportDefinitions(ctx)
	if err != nil {
		return nil, err
	}
	maxRuns := cmp.Or(c.MaxRuns, defaultAutoMaxRuns)
	states := make([]resource.ImportState, len(defs))
	since := in.Now.Add(-importPollWindow)
	byKey := map[string]int{}
	for i, d := range defs {
		key := cmp.Or(d.Key, d.ID)
		byKey[strings.ToLower(key)] = i
		prev, had := in.Previous[key]
		if had {
			_ = resource.Decode(prev, &states[i])
		}
		if !had || len(states[i].Runs) == 0 {
			since = in.Now.Add(-importFirstWindow)
		}
		for _, r := range states[i].Runs {
			if r.Status == resource.StatusProcessing && r.StartedAt.Before(since) {
				since = r.StartedAt.Add(-time.Second)
			}
		}
		states[i].ID, states[i].Name, states[i].AllowErrors = d.ID, d.Name, d.AllowErrors
		states[i].DestinationKey = cmp.Or(d.DestinationObjectID, states[i].DestinationKey)
	}
	if floor := in.Now.Add(-importFirstWindow); since.Before(floor) {
		since = floor
	}
	var results []sfmc.ImportResult
	if len(defs) > 0 {
		results, err = in.Client.ImportResults(ctx, nil, sfmc.After("StartDate", since))
		if err != nil && len(results) == 0 {
			return nil, err
		}
	}
	for _, r := range results {
		i, ok := byKey[strings.ToLower(r.DefinitionKey)]
		if !ok {
			continue
		}
		mergeImportRun(&states[i], importResultRun(r))
	}
	out := &Output{Snapshots: make([]store.Snapshot, 0, len(defs))}
	for i, d := range defs {
		st := &states[i]
		slices.SortStableFunc(st.Runs, func(a, b resource.Run) int { return a.StartedAt.Compare(b.StartedAt) })
		if len(st.Runs) > maxRuns {
			st.Runs = slices.Clone(st.Runs[len(st.Runs)-maxRuns:])
		}
		s := in.Snapshot(resource.Import, cmp.Or(d.Key, d.ID))
		s.Status = resource.StatusUnknown
		if n := len(st.Runs); n > 0 {
			last := st.Runs[n-1]
			s.Status, s.LastRunAt = last.Status, last.StartedAt
			if f := lastFinishedImport(st.Runs); f != nil {
				s.Counters = map[string]int64{
					resource.CounterRowsImported: f.Rows,
					resource.CounterRowsErrored:  f.Errored,
					resource.CounterRowsTotal:    f.Total,
				}
			}
		}
		s.Payload = resource.Encode(st)
		out.Snapshots = append(out.Snapshots, s)
	}
	return out, nil
}

func importResultRun(r sfmc.ImportResult) resource.Run {
	run := resource.Run{ID: strconv.FormatInt(r.TaskResultID, 10), Status: ImportRunStatus(r.Status), StartedAt: r.StartDate,
		CompletedAt: r.EndDate, Rows: r.NumberSuccessful, Errored: r.NumberErrors, Total: r.TotalRows}
	if r.TaskResultID == 0 {
		run.ID = ""
	}
	if run.Status == resource.StatusProcessing {
		run.CompletedAt = time.Time{}
	}
	return run
}

func mergeImportRun(st *resource.ImportState, r resource.Run) {
	for j := range st.Runs {
		if sameAutoRun(st.Runs[j], r) {
			st.Runs[j] = r
			return
		}
	}
	st.Runs = append(st.Runs, r)
}

// lastFinishedImport returns the newest run that is not still processing.
func lastFinishedImport(runs []resource.Run) *resource.Run {
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Status != resource.StatusProcessing {
			return &runs[i]
		}
	}
	return nil
}
