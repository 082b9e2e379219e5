package collect

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/callplan"
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

// ImportCollector reads the results of recent import runs every poll (one
// batched SOAP Retrieve of ImportResultsSummary, narrowed by start date)
// and the import definitions (one REST list) every
// callplan.ImportDefinitionsRefresh, or at once when a result names an
// unknown definition; it carries each definition's run history forward.
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
	defs, defsAt, err := c.definitions(ctx, in, false)
	if err != nil {
		return nil, err
	}
	maxRuns := cmp.Or(c.MaxRuns, defaultAutoMaxRuns)
	states, byKey := c.states(in, defs)
	since := in.Now.Add(-importPollWindow)
	for i := range states {
		if len(states[i].Runs) == 0 {
			since = in.Now.Add(-importFirstWindow)
		}
		for _, r := range states[i].Runs {
			if r.Status == resource.StatusProcessing && r.StartedAt.Before(since) {
				since = r.StartedAt.Add(-time.Second)
			}
		}
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
	if defsAt.Before(in.Now) {
		// Definitions carried forward: a result of an unknown definition
		// means one was added since the last read.
		for _, r := range results {
			if _, ok := byKey[strings.ToLower(r.DefinitionKey)]; !ok && r.DefinitionKey != "" {
				if fresh, _, err := c.definitions(ctx, in, true); err == nil {
					defs, defsAt = fresh, in.Now
					states, byKey = c.states(in, defs)
				}
				break
			}
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
		st.DefinitionsReadAt = defsAt
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

// definitions returns the import definitions and when they were read:
// from the REST list when forced, on the first poll (or in an audit), or
// when the list is callplan.ImportDefinitionsRefresh (or the poll
// interval) old; otherwise carried forward from the previous snapshots.
func (c ImportCollector) definitions(ctx context.Context, in *Input, force bool) ([]sfmc.ImportDefinition, time.Time, error) {
	refresh := max(callplan.ImportDefinitionsRefresh, in.Tenant.Monitors.Imports.Interval.Std())
	// Every snapshot written from one list read carries that read's time;
	// snapshots with an older time are of definitions the last read no
	// longer listed (deleted): they are not carried.
	var last time.Time
	states := make(map[string]resource.ImportState, len(in.Previous))
	for key, p := range in.Previous {
		var st resource.ImportState
		if resource.Decode(p, &st) != nil || st.DefinitionsReadAt.IsZero() {
			force = true
			break
		}
		states[key] = st
		if st.DefinitionsReadAt.After(last) {
			last = st.DefinitionsReadAt
		}
	}
	if force || len(states) == 0 || in.Now.Sub(last) >= refresh {
		defs, err := in.Client.ImportDefinitions(ctx)
		return defs, in.Now, err
	}
	carried := make([]sfmc.ImportDefinition, 0, len(states))
	for key, st := range states {
		if st.DefinitionsReadAt.Equal(last) {
			carried = append(carried, sfmc.ImportDefinition{Key: key, ID: st.ID, Name: st.Name, AllowErrors: st.AllowErrors, DestinationObjectID: st.DestinationKey,
				FileTransferLocationID: st.FileLocation})
		}
	}
	slices.SortFunc(carried, func(a, b sfmc.ImportDefinition) int { return strings.Compare(a.Key, b.Key) })
	return carried, last, nil
}

// states starts each definition's state from its previous snapshot.
func (c ImportCollector) states(in *Input, defs []sfmc.ImportDefinition) ([]resource.ImportState, map[string]int) {
	states := make([]resource.ImportState, len(defs))
	byKey := map[string]int{}
	for i, d := range defs {
		key := cmp.Or(d.Key, d.ID)
		byKey[strings.ToLower(key)] = i
		if prev, had := in.Previous[key]; had {
			_ = resource.Decode(prev, &states[i])
		}
		states[i].ID, states[i].Name, states[i].AllowErrors = d.ID, d.Name, d.AllowErrors
		states[i].DestinationKey = cmp.Or(d.DestinationObjectID, states[i].DestinationKey)
		states[i].FileLocation = cmp.Or(d.FileTransferLocationID, states[i].FileLocation)
	}
	return states, byKey
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
