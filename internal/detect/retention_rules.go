package detect

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
)

// DERetentionRisk is data_extension.retention_risk: a data extension whose
// data retention can delete rows that a journey entry source, an
// automation or an import relies on (the DE is a journey's entry data
// extension, an automation's target or an import's destination), or any
// critical DE. Reported, from the settings SFMC returns with every
// DataExtension Retrieve (so on the first look):
//
//   - a RetainUntil date within horizon (default 14 days) ahead, or passed
//     within horizon: SFMC deletes the data on that date;
//   - a retention period shorter than min_period (default 7 days): with
//     row-based retention (RowBasedRetention) each row is deleted that
//     long after it was added; with retention of all records every row
//     goes at the end of the period, and with DeleteAtEndOfRetentionPeriod
//     false the data extension with them (the open-source SFMC tooling's
//     reading of the flags; SFMC's reference does not spell it out).
//
// Longer periods are the usual housekeeping (their deletion date, when
// SFMC gives one as RetainUntil, is reported as it comes near).
type DERetentionRisk struct{}

// ID implements Rule.
func (DERetentionRisk) ID() string { return "data_extension.retention_risk" }

// Type implements Rule.
func (DERetentionRisk) Type() resource.Type { return resource.DataExtension }

// NeedsHistory implements Rule: settings, judged on the first look.
func (DERetentionRisk) NeedsHistory() bool { return false }

// deUsers maps lower-cased DE keys (and ids) to what relies on them.
func deUsers(ctx context.Context, in *Input) (map[string][]string, error) {
	out := map[string][]string{}
	if in.Snapshots == nil {
		return out, nil
	}
	add := func(k, what string) {
		if k = strings.ToLower(strings.TrimSpace(k)); k != "" && !containsStr(out[k], what) {
			out[k] = append(out[k], what)
		}
	}
	for _, t := range []resource.Type{resource.Journey, resource.Automation, resource.Import} {
		snaps, err := in.Snapshots.LatestSnapshots(ctx, in.Tenant.Name, string(t))
		if err != nil {
			return nil, err
		}
		for _, s := range snaps {
			if s.Status == resource.StatusDeleted {
				continue
			}
			switch t {
			case resource.Journey:
				var st resource.JourneyState
				if resource.Decode(s, &st) == nil && st.EntryDataExtension != "" {
					add(st.EntryDataExtension, fmt.Sprintf("journey '%s' (entry source)", msgName(st.Name, s.ResourceKey)))
				}
			case resource.Automation:
				var st resource.AutomationState
				if resource.Decode(s, &st) == nil {
					for _, k := range st.TargetDataExtensions {
						add(k, fmt.Sprintf("automation '%s' (writes it)", msgName(st.Name, s.ResourceKey)))
					}
				}
			case resource.Import:
				var st resource.ImportState
				if resource.Decode(s, &st) == nil && st.DestinationKey != "" {
					add(st.DestinationKey, fmt.Sprintf("import '%s' (loads it)", msgName(st.Name, s.ResourceKey)))
				}
			}
		}
	}
	for k := range out {
		sort.Strings(out[k])
	}
	return out, nil
}

func containsStr(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Evaluate implements Rule.
func (DERetentionRisk) Evaluate(ctx context.Context, in *Input) ([]Finding, error) {
	cfg := in.Rules.DataExtensionRetention
	users, err := deUsers(ctx, in)
	if err != nil {
		return nil, err
	}
	des, err := currentDEs(in)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, o := range des {
		r := o.st.Retention
		if !r.Deletes() {
			continue
		}
		uses := append(append([]string(nil), users[strings.ToLower(o.snap.ResourceKey)]...), users[strings.ToLower(o.st.ID)]...)
		crit := in.Critical(o.snap.ResourceKey)
		if len(uses) == 0 && !crit {
			continue
		}
		var why []string
		var started time.Time
		if !r.RetainUntil.IsZero() {
			if d := r.RetainUntil.Sub(in.Now); d <= cfg.Horizon.Std() && d >= -cfg.Horizon.Std() {
				verb := "deletes"
				if d < 0 {
					verb, started = "deleted", r.RetainUntil
				}
				why = append(why, fmt.Sprintf("SFMC %s its data on %s (RetainUntil)", verb, r.RetainUntil.UTC().Format("2006-01-02")))
			}
		}
		switch {
		case r.Period <= 0 || r.Period >= cfg.MinPeriod.Std():
		case r.RowBased:
			why = append(why, fmt.Sprintf("each row is deleted %s after it was added (row-based retention%s)", r.PeriodText, resetNote(r)))
		default:
			what := "all its rows are deleted"
			if !r.DeleteAtEnd {
				what = "all its rows, and the data extension itself, are deleted"
			}
			why = append(why, fmt.Sprintf("%s at the end of each %s retention period%s", what, r.PeriodText, resetNote(r)))
		}
		if len(why) == 0 {
			continue
		}
		relied := "it is marked critical"
		if len(uses) > 0 {
			verb := "rely"
			if len(uses) == 1 {
				verb = "relies"
			}
			relied = strings.Join(uses, ", ") + " " + verb + " on it"
		}
		title := fmt.Sprintf("Data extension '%s': data retention can delete rows %s", deName(o), firstUser(uses))
		f := deFinding(in, o, "", o.snap.ObservedAt, title,
			fmt.Sprintf("Its retention policy: %s; %s. Rows removed by retention look like a failed load to whatever reads the data extension next.", strings.Join(why, "; "), relied),
			[]string{
				"Email Studio (or Contact Builder) > the data extension > Properties > Data Retention Policy: lengthen the period, switch to row-based retention, or turn it off if the data must stay.",
				"If the deletion is intended, make sure the journey or automation reloads the data before it needs it, and mark the data extension ignored for this rule.",
			})
		f.FailureStartedAt, f.Family = started, catalog.None
		if crit {
			f.Severity = msgEscalate(cfg.Severity)
		}
		out = append(out, f)
	}
	return out, nil
}

func resetNote(r *resource.Retention) string {
	if r.ResetOnImport {
		return "; an import restarts the period"
	}
	return ""
}

func firstUser(uses []string) string {
	switch len(uses) {
	case 0:
		return ""
	case 1:
		return uses[0] + " relies on"
	}
	return fmt.Sprintf("%s and %d more rely on", uses[0], len(uses)-1)
}

// retentionExplainsDrop reports whether a DE's retention policy explains a
// row-count drop measured at at: row-based retention removes rows all the
// time, a retention of all records removes them at the end of a period,
// and a RetainUntil date on or before the drop (within a week) removes the
// data. It returns the explanation.
func retentionExplainsDrop(st resource.DataExtensionState, at time.Time) (string, bool) {
	r := st.Retention
	if !r.Deletes() {
		return "", false
	}
	switch {
	case !r.RetainUntil.IsZero() && !r.RetainUntil.After(at) && at.Sub(r.RetainUntil) <= 7*24*time.Hour:
		return fmt.Sprintf("its RetainUntil date %s has passed: SFMC deleted its data", r.RetainUntil.UTC().Format("2006-01-02")), true
	case r.Period > 0 && r.RowBased:
		return fmt.Sprintf("its row-based retention deletes each row %s after it was added", r.PeriodText), true
	case r.Period > 0:
		return fmt.Sprintf("its retention deletes all rows at the end of each %s period", r.PeriodText), true
	}
	return "", false
}
