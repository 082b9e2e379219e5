package collect

// ENS (SFMC's Event Notification Service) pushes Automation Studio instance
// events and transactional send events within seconds; polling reads the
// same facts minutes later. Both feed one state: an ENS notice is merged
// into the object's latest snapshot (a new snapshot is stored), and the
// next poll merges what it reads into that state. Merging is idempotent on
// both sides, so at-least-once delivery and the overlap with polling never
// count twice:
//   - automation runs are keyed by instance id (an ENS run and the polled
//     run with the same id are one run; a run without an id matches the
//     run whose start..end covers the event); the poll's outcome wins, a
//     poll still saying Running never reverts a finished run, and runs
//     known only from ENS stay until a poll covers them;
//   - transactional not-sent messages are keyed by a hash of their
//     messageKey (resource.TransactionalState.NotSentSeen): whichever input
//     sees a message first counts it into not_sent / not_sent_system.
// Notices about objects no poll has seen yet are dropped: the first poll
// reads their history anyway.

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sfmcwatch/sfmcwatch/internal/catalog"
	"github.com/sfmcwatch/sfmcwatch/internal/ingest/ens"
	"github.com/sfmcwatch/sfmcwatch/internal/resource"
	"github.com/sfmcwatch/sfmcwatch/internal/store"
)

// ENSStore is what ApplyENS needs from the store.
type ENSStore interface {
	LatestSnapshot(ctx context.Context, ref store.ResourceRef) (store.Snapshot, error)
	InsertSnapshots(ctx context.Context, snaps []store.Snapshot) ([]int64, error)
}

// ENSLookback is how long after its last ENS event an object still counts
// as reported by ENS (its not-sent messages are de-duplicated against ENS).
const ENSLookback = 7 * 24 * time.Hour

// ENS run states recorded in resource.Run.ENS.
const (
	ENSStarted = "started"
)

// ENSRunStatus maps an ENS automation instance state (Started, Completed,
// Errored, Stopped, Skipped) to the normalised run status.
func ENSRunStatus(state string) string {
	switch state {
	case "Started":
		return resource.StatusRunning
	case "Completed":
		return resource.StatusComplete
	case "Errored":
		return resource.StatusError
	case "Stopped":
		return resource.StatusStopped
	case "Skipped":
		return resource.StatusSkipped
	}
	return resource.StatusUnknown
}

// ensRunLabel is the value stored in Run.ENS for a state.
func ensRunLabel(state string) string {
	if state == "Started" {
		return ENSStarted
	}
	return ENSRunStatus(state)
}

// RunFinished reports whether a run status is an outcome.
func RunFinished(status string) bool {
	switch status {
	case resource.StatusComplete, resource.StatusError, resource.StatusStopped, resource.StatusSkipped:
		return true
	}
	return false
}

// ApplyENS merges notices of one tenant into the latest snapshots of the
// objects they name and stores a new snapshot (observed at now) for every
// object whose state changed. It returns the resource types that changed.
func ApplyENS(ctx context.Context, st ENSStore, tenant string, notices []ens.Notice, now time.Time, cat *catalog.Catalog) (map[resource.Type]bool, error) {
	if cat == nil {
		cat = catalog.Default()
	}
	type objKey struct {
		typ resource.Type
		key string
	}
	var order []objKey
	byObj := map[objKey][]ens.Notice{}
	for _, n := range notices {
		if n.Tenant != tenant {
			continue
		}
		k := objKey{resource.Transactional, n.Definition}
		if n.IsAutomation() {
			k = objKey{resource.Automation, n.Automation}
		}
		if k.key == "" {
			continue
		}
		if _, ok := byObj[k]; !ok {
			order = append(order, k)
		}
		byObj[k] = append(byObj[k], n)
	}
	changed := map[resource.Type]bool{}
	var snaps []store.Snapshot
	var errs []error
	for _, k := range order {
		prev, err := st.LatestSnapshot(ctx, resource.Ref(tenant, k.typ, k.key))
		if errors.Is(err, store.ErrNotFound) {
			continue // not polled yet: the first poll reads its history
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		snap, ok, err := mergeENSSnapshot(prev, k.typ, byObj[k], now, cat)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			snaps = append(snaps, snap)
			changed[k.typ] = true
		}
	}
	if len(snaps) > 0 {
		if _, err := st.InsertSnapshots(ctx, snaps); err != nil {
			return nil, fmt.Errorf("storing ENS-merged snapshots: %w", err)
		}
	}
	return changed, errors.Join(errs...)
}

// mergeENSSnapshot returns prev with the notices merged, as a new
// snapshot observed at now, and whether anything changed.
func mergeENSSnapshot(prev store.Snapshot, typ resource.Type, ns []ens.Notice, now time.Time, cat *catalog.Catalog) (store.Snapshot, bool, error) {
	s := prev
	s.ID = 0
	s.ObservedAt = now
	s.Counters = cloneCounters(prev.Counters)
	switch typ {
	case resource.Automation:
		var st resource.AutomationState
		if err := resource.Decode(prev, &st); err != nil {
			return s, false, err
		}
		changed := false
		for _, n := range ns {
			changed = MergeAutomationNotice(&st, n, defaultAutoMaxRuns) || changed
		}
		if !changed {
			return s, false, nil
		}
		st.ENSAt = now
		if n := len(st.Runs); n > 0 {
			s.LastRunAt = st.Runs[n-1].StartedAt
		}
		s.Payload = resource.Encode(st)
		return s, true, nil
	case resource.Transactional:
		var st resource.TransactionalState
		if err := resource.Decode(prev, &st); err != nil {
			return s, false, err
		}
		if s.Counters == nil {
			s.Counters = map[string]int64{}
		}
		byCode := map[string]int64{}
		changed := false
		for _, n := range ns {
			counted, system, marked := mergeNotSentNotice(&st, n, now, cat)
			changed = changed || marked
			if !counted {
				continue
			}
			s.Counters[resource.CounterNotSent]++
			byCode[n.StatusCode]++
			if system {
				s.Counters[resource.CounterNotSentSystem]++
				st.SystemNotSentAt = now
			}
		}
		if !changed {
			return s, false, nil
		}
		if len(byCode) > 0 {
			st.NotSentByCode = byCode
		}
		st.ENSAt = now
		st.NotSentSeen = pruneNotSentSeen(st.NotSentSeen, now)
		s.Payload = resource.Encode(st)
		return s, true, nil
	}
	return s, false, nil
}

func cloneCounters(c map[string]int64) map[string]int64 {
	if c == nil {
		return nil
	}
	out := make(map[string]int64, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// MergeAutomationNotice merges one ENS automation instance notice into an
// automation's state (runs oldest first, at most maxRuns) and reports
// whether it changed. A duplicate notice changes nothing.
func MergeAutomationNotice(st *resource.AutomationState, n ens.Notice, maxRuns int) bool {
	status := ENSRunStatus(n.State)
	if status == resource.StatusUnknown || n.InstanceID == "" {
		return false
	}
	label := ensRunLabel(n.State)
	at := n.At
	i := findRun(st.Runs, n.InstanceID, at)
	if i < 0 {
		r := resource.Run{ID: n.InstanceID, Status: status, StartedAt: at, Rows: -1, ENS: label, ENSAt: n.Received}
		if RunFinished(status) {
			r.CompletedAt = at
		}
		if status == resource.StatusError {
			r.Message = n.Message
		}
		st.Runs = insertRun(st.Runs, r)
		if len(st.Runs) > maxRuns {
			st.Runs = slices.Clone(st.Runs[len(st.Runs)-maxRuns:])
		}
		return true
	}
	r := &st.Runs[i]
	changed := false
	if r.ID == "" {
		r.ID, changed = n.InstanceID, true
	}
	if RunFinished(status) {
		if !RunFinished(r.Status) {
			// The first outcome wins; a poll's outcome overrides it later.
			r.Status, r.CompletedAt, changed = status, at, true
		}
		if status == resource.StatusError && r.Status == resource.StatusError && r.Message == "" && n.Message != "" {
			r.Message, changed = n.Message, true
		}
		if r.ENS == "" || r.ENS == ENSStarted {
			r.ENS, r.ENSAt, changed = label, n.Received, true
		}
	} else if r.ENS == "" {
		r.ENS, r.ENSAt, changed = label, n.Received, true
	}
	if n.State == "Started" && !r.Polled && !at.IsZero() && !at.Equal(r.StartedAt) {
		// Known from ENS only (created from its outcome): the Started
		// event carries the real start.
		r.StartedAt, changed = at, true
		slices.SortStableFunc(st.Runs, func(a, b resource.Run) int { return a.StartedAt.Compare(b.StartedAt) })
	}
	return changed
}

// findRun returns the index of the run with this instance id, else of a
// run without an id whose start..end covers at, else -1.
func findRun(runs []resource.Run, id string, at time.Time) int {
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].ID != "" && strings.EqualFold(runs[i].ID, id) {
			return i
		}
	}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.ID != "" || at.Before(r.StartedAt) {
			continue
		}
		if r.CompletedAt.IsZero() || !at.After(r.CompletedAt.Add(time.Minute)) {
			return i
		}
	}
	return -1
}

// insertRun inserts r keeping runs ordered by start.
func insertRun(runs []resource.Run, r resource.Run) []resource.Run {
	i, _ := slices.BinarySearchFunc(runs, r.StartedAt, func(x resource.Run, t time.Time) int {
		if x.StartedAt.After(t) {
			return 1
		}
		return -1
	})
	return slices.Insert(runs, i, r)
}

// NotSentHash is the NotSentSeen key of a messageKey.
func NotSentHash(messageKey string) string {
	h := sha256.Sum256([]byte(messageKey))
	return hex.EncodeToString(h[:6])
}

// mergeNotSentNotice marks an ENS EmailNotSent notice as seen and reports
// whether it is counted now (first seen, within the count horizon), whether
// it is system-caused, and whether the state changed at all.
func mergeNotSentNotice(st *resource.TransactionalState, n ens.Notice, now time.Time, cat *catalog.Catalog) (counted, system, changed bool) {
	if n.MessageKey == "" {
		return false, false, false
	}
	key := NotSentHash(n.MessageKey)
	for i := range st.NotSentSeen {
		if st.NotSentSeen[i].Key == key {
			if st.NotSentSeen[i].ENS {
				return false, false, false
			}
			st.NotSentSeen[i].ENS = true
			return false, false, true
		}
	}
	at := cmp.Or(n.At, now)
	if at.Before(now.Add(-notSentCountHorizon)) {
		return false, false, false
	}
	e := cat.Resolve(catalog.Transactional, n.StatusCode, n.StatusMessage, 202)
	system = SystemCausedNotSent(e.Family, n.StatusCode)
	st.NotSentSeen = append(st.NotSentSeen, resource.NotSentMark{Key: key, At: at, ENS: true, System: system})
	return true, system, true
}

// pruneNotSentSeen keeps the marks of the count horizon, newest
// MaxNotSentSeen, ordered by time.
func pruneNotSentSeen(marks []resource.NotSentMark, now time.Time) []resource.NotSentMark {
	from := now.Add(-notSentCountHorizon - 10*time.Minute)
	out := marks[:0:0]
	for _, m := range marks {
		if !m.At.Before(from) {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b resource.NotSentMark) int { return a.At.Compare(b.At) })
	if len(out) > resource.MaxNotSentSeen {
		out = out[len(out)-resource.MaxNotSentSeen:]
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ReapplyENS carries what ENS merged into the stored state since a poll
// read its previous snapshots into the poll's output (the poll read prev,
// an ENS notice was merged and stored meanwhile): runs and run outcomes
// known only from ENS, and not-sent messages ENS counted. latest maps
// resource keys to the snapshots stored now.
func ReapplyENS(typ resource.Type, out *Output, prev, latest map[string]store.Snapshot) {
	if out == nil {
		return
	}
	for i := range out.Snapshots {
		s := &out.Snapshots[i]
		l, ok := latest[s.ResourceKey]
		if !ok || l.ID == 0 || l.ID == prev[s.ResourceKey].ID {
			continue
		}
		switch typ {
		case resource.Automation:
			var ls, os resource.AutomationState
			if resource.Decode(l, &ls) != nil || resource.Decode(*s, &os) != nil || ls.ENSAt.IsZero() {
				continue
			}
			changed := false
			for _, r := range ls.Runs {
				if r.ENS == "" {
					continue
				}
				n := ens.Notice{InstanceID: r.ID, At: r.StartedAt, Received: r.ENSAt, Message: r.Message}
				switch {
				case r.ENS == ENSStarted:
					n.State = "Started"
				default:
					n.State = ensStateOf(r.ENS)
					n.At = cmp.Or(r.CompletedAt, r.StartedAt)
				}
				if j := findRun(os.Runs, r.ID, n.At); j < 0 {
					os.Runs = insertRun(os.Runs, r)
					changed = true
				} else {
					changed = MergeAutomationNotice(&os, n, defaultAutoMaxRuns) || changed
				}
			}
			if os.ENSAt.Before(ls.ENSAt) {
				os.ENSAt, changed = ls.ENSAt, true
			}
			if changed {
				if len(os.Runs) > defaultAutoMaxRuns {
					os.Runs = slices.Clone(os.Runs[len(os.Runs)-defaultAutoMaxRuns:])
				}
				if n := len(os.Runs); n > 0 {
					s.LastRunAt = os.Runs[n-1].StartedAt
				}
				s.Payload = resource.Encode(os)
			}
		case resource.Transactional:
			var ls, os resource.TransactionalState
			if resource.Decode(l, &ls) != nil || resource.Decode(*s, &os) != nil || ls.ENSAt.IsZero() {
				continue
			}
			// Messages ENS counted since prev: counted here unless the poll
			// counted them too.
			var ps resource.TransactionalState
			_ = resource.Decode(prev[s.ResourceKey], &ps)
			before := map[string]bool{}
			for _, m := range ps.NotSentSeen {
				before[m.Key] = true
			}
			seen := map[string]int{}
			for j, m := range os.NotSentSeen {
				seen[m.Key] = j
			}
			for _, m := range ls.NotSentSeen {
				if j, ok := seen[m.Key]; ok {
					os.NotSentSeen[j].ENS = os.NotSentSeen[j].ENS || m.ENS
					continue
				}
				os.NotSentSeen = append(os.NotSentSeen, m)
				if before[m.Key] || !m.ENS {
					continue
				}
				if s.Counters == nil {
					s.Counters = map[string]int64{}
				}
				s.Counters[resource.CounterNotSent]++
				if m.System {
					s.Counters[resource.CounterNotSentSystem]++
				}
			}
			os.NotSentSeen = pruneNotSentSeen(os.NotSentSeen, s.ObservedAt)
			os.ENSAt = ls.ENSAt
			if ls.SystemNotSentAt.After(os.SystemNotSentAt) {
				os.SystemNotSentAt = ls.SystemNotSentAt
			}
			s.Payload = resource.Encode(os)
		}
	}
}

func ensStateOf(label string) string {
	switch label {
	case resource.StatusComplete:
		return "Completed"
	case resource.StatusError:
		return "Errored"
	case resource.StatusStopped:
		return "Stopped"
	case resource.StatusSkipped:
		return "Skipped"
	}
	return "Started"
}
