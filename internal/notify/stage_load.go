package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// loaded is what one evaluation reads from the store.
type loaded struct {
	alerts   []*alertInfo // by incident id, labels set
	silences []matchers
	states   []store.NotifyState
	decoded  []groupState // decoded[i] is states[i]'s entry
}

// load reads the open incidents, the active silences and the notification
// log, plus every incident the log still references that is no longer open
// (resolved, or pruned: counted as resolved).
func (d *Dispatcher) load(ctx context.Context, now time.Time) (*loaded, error) {
	open, err := d.st.ListIncidents(ctx, store.IncidentFilter{Status: store.IncidentOpen, Limit: d.maxOpen})
	if err != nil {
		return nil, fmt.Errorf("notify: read open incidents: %w", err)
	}
	out := &loaded{}
	if out.silences, err = d.loadSilences(ctx, now); err != nil {
		return nil, err
	}
	if out.states, err = d.st.NotifyStates(ctx, ""); err != nil {
		return nil, fmt.Errorf("notify: read notification log: %w", err)
	}
	byID := make(map[int64]*alertInfo, len(open))
	for _, in := range open {
		byID[in.ID] = &alertInfo{inc: in, open: true}
	}
	out.decoded = make([]groupState, len(out.states))
	for i, st := range out.states {
		if err := json.Unmarshal(st.State, &out.decoded[i]); err != nil {
			d.log.Warn("ignoring unreadable notification log entry", slog.String("receiver", st.Receiver),
				slog.String("group", st.GroupKey), slog.Any("error", err))
			continue
		}
		if err := d.loadClosed(ctx, now, byID, slices.Concat(out.decoded[i].Firing, out.decoded[i].Suppressed, out.decoded[i].Held)); err != nil {
			return nil, err
		}
	}
	out.alerts = slices.Collect(maps.Values(byID))
	slices.SortFunc(out.alerts, func(a, b *alertInfo) int { return cmp.Compare(a.inc.ID, b.inc.ID) })
	for _, a := range out.alerts {
		a.labels = incidentLabels(a.inc)
	}
	return out, nil
}

func (d *Dispatcher) loadSilences(ctx context.Context, now time.Time) ([]matchers, error) {
	sils, err := d.st.ListSilences(ctx, store.SilenceFilter{ActiveAt: now, Limit: 10000})
	if err != nil {
		return nil, fmt.Errorf("notify: read silences: %w", err)
	}
	var out []matchers
	for _, s := range sils {
		m, err := compileSilence(s)
		if err != nil {
			d.log.Warn("ignoring invalid silence", slog.Int64("silence", s.ID), slog.Any("error", err))
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// loadClosed adds the referenced incidents that are not open to byID.
func (d *Dispatcher) loadClosed(ctx context.Context, now time.Time, byID map[int64]*alertInfo, refs []int64) error {
	for _, id := range refs {
		if byID[id] != nil {
			continue
		}
		in, err := d.st.GetIncident(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			in = store.Incident{ID: id, Status: store.IncidentResolved, Title: fmt.Sprintf("incident #%d (pruned)", id), ResolvedAt: now}
		case err != nil:
			return fmt.Errorf("notify: read incident %d: %w", id, err)
		}
		if in.Status == store.IncidentOpen {
			// Opened after the list was read: next evaluation.
			continue
		}
		byID[id] = &alertInfo{inc: in}
	}
	return nil
}
