package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

const incidentCols = "id, fingerprint, rule, severity, family, tenant, resource_type, resource_key, title, status, owner, remediation, first_seen, last_seen, opened_at, updated_at, resolved_at, ttd_seconds, occurrences, acknowledged_at, acknowledged_by, failure_started_at, cause_id, cause, detail"

func scanIncident(sc scanner) (Incident, error) {
	var (
		in                                       Incident
		status, remediation                      string
		firstSeen, lastSeen, openedAt, updatedAt int64
		resolvedAt, acknowledgedAt, failureStart sql.NullInt64
		ttdSeconds                               int64
	)
	if err := sc.Scan(&in.ID, &in.Fingerprint, &in.Rule, &in.Severity, &in.Family, &in.Tenant,
		&in.ResourceType, &in.ResourceKey, &in.Title, &status, &in.Owner, &remediation,
		&firstSeen, &lastSeen, &openedAt, &updatedAt, &resolvedAt, &ttdSeconds, &in.Occurrences,
		&acknowledgedAt, &in.AcknowledgedBy, &failureStart, &in.CausedBy, &in.Cause, &in.Detail); err != nil {
		return in, err
	}
	in.Status = IncidentStatus(status)
	if remediation != "" && remediation != "[]" {
		if err := json.Unmarshal([]byte(remediation), &in.Remediation); err != nil {
			return in, fmt.Errorf("remediation of incident %d: %w", in.ID, err)
		}
	}
	in.FirstSeen = fromUS(firstSeen)
	in.LastSeen = fromUS(lastSeen)
	in.OpenedAt = fromUS(openedAt)
	in.UpdatedAt = fromUS(updatedAt)
	in.ResolvedAt = fromNullUS(resolvedAt)
	in.AcknowledgedAt = fromNullUS(acknowledgedAt)
	// Time to detection from the stored times (microseconds); ttd_seconds
	// holds the same figure in whole seconds and is kept for older readers.
	in.TTD = time.Duration(ttdSeconds) * time.Second
	if firstSeen > 0 && openedAt >= firstSeen {
		in.TTD = time.Duration(openedAt-firstSeen) * time.Microsecond
	}
	in.FailureStartedAt = fromNullUS(failureStart)
	if in.FailureKnown() {
		in.TTDSinceFailure = max(0, in.OpenedAt.Sub(in.FailureStartedAt))
	}
	return in, nil
}

// OpenOrUpdateIncident relies on the partial unique index on open
// fingerprints: INSERT … ON CONFLICT DO NOTHING either creates the open
// incident or (waiting for a concurrent inserter to commit) does nothing,
// then UPDATE … WHERE status = 'open' updates the winner's row. If that row
// was resolved in between, the loop inserts again. On SQLite the single
// writer serialises the transaction; on PostgreSQL each READ COMMITTED
// statement sees the rows committed before it started.
func (s *sqlStore) OpenOrUpdateIncident(ctx context.Context, u IncidentUpsert) (Incident, bool, error) {
	if err := checkUpsert(u); err != nil {
		return Incident{}, false, err
	}
	var (
		inc     Incident
		created bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		inc, created, err = s.upsertTx(ctx, tx, u)
		return err
	})
	if err != nil {
		return Incident{}, false, fmt.Errorf("store: open or update incident %q: %w", u.Fingerprint, err)
	}
	return inc, created, nil
}

func checkUpsert(u IncidentUpsert) error {
	if u.Fingerprint == "" || u.Rule == "" || u.Now.IsZero() {
		return errors.New("store: open incident: fingerprint, rule and now are required")
	}
	return nil
}

// upsertTx opens or updates the open incident of u.Fingerprint in tx (see
// OpenOrUpdateIncident) and returns it as stored.
func (s *sqlStore) upsertTx(ctx context.Context, tx *sql.Tx, u IncidentUpsert) (Incident, bool, error) {
	first := u.FirstSeen
	if first.IsZero() || first.After(u.Now) {
		first = u.Now
	}
	failed := u.FailureStartedAt
	if failed.After(u.Now) {
		failed = u.Now
	}
	// On update, an earlier failure start replaces the stored one (or
	// fills it in), unless it is after the incident opened.
	failedSet := "failure_started_at"
	var failedArgs []any
	if !failed.IsZero() {
		failedSet = "CASE WHEN ? <= opened_at AND (failure_started_at IS NULL OR failure_started_at > ?) THEN ? ELSE failure_started_at END"
		failedArgs = []any{us(failed), us(failed), us(failed)}
	}
	rem := "[]"
	if len(u.Remediation) > 0 {
		b, err := json.Marshal(u.Remediation)
		if err != nil {
			return Incident{}, false, fmt.Errorf("remediation: %w", err)
		}
		rem = string(b)
	}
	now := us(u.Now)
	var (
		id      int64
		created bool
	)
	for attempt := 0; ; attempt++ {
		if attempt == 5 {
			return Incident{}, false, fmt.Errorf("fingerprint %q keeps changing state: %w", u.Fingerprint, ErrConflict)
		}
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO incidents
			(fingerprint, rule, severity, family, tenant, resource_type, resource_key, title, status,
			 owner, remediation, first_seen, last_seen, opened_at, updated_at, ttd_seconds, occurrences, failure_started_at, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
			ON CONFLICT DO NOTHING RETURNING id`),
			u.Fingerprint, u.Rule, u.Severity, u.Family, u.Tenant, u.ResourceType, u.ResourceKey, u.Title,
			u.Owner, rem, us(first), now, now, now, int64(u.Now.Sub(first)/time.Second), nullUS(failed), u.Detail).Scan(&id)
		if err == nil {
			created = true
			break
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Incident{}, false, fmt.Errorf("insert: %w", err)
		}
		err = tx.QueryRowContext(ctx, s.q(`UPDATE incidents SET
			rule = ?, severity = ?, family = ?, title = ?, owner = ?, remediation = ?, detail = ?,
			last_seen = CASE WHEN last_seen > ? THEN last_seen ELSE ? END,
			updated_at = ?, occurrences = occurrences + 1, failure_started_at = `+failedSet+`
			WHERE fingerprint = ? AND status = 'open' RETURNING id`),
			slices.Concat([]any{u.Rule, u.Severity, u.Family, u.Title, u.Owner, rem, u.Detail, now, now, now}, failedArgs, []any{u.Fingerprint})...).Scan(&id)
		if err == nil {
			break
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Incident{}, false, fmt.Errorf("update: %w", err)
		}
	}
	if err := s.addEvidence(ctx, tx, id, u.Evidence, now); err != nil {
		return Incident{}, false, err
	}
	inc, err := scanIncident(tx.QueryRowContext(ctx, s.q(`SELECT `+incidentCols+` FROM incidents WHERE id = ?`), id))
	return inc, created, err
}

// ApplyIncidents writes one evaluation's upserts and clear marks in one
// transaction, in fingerprint order (two replicas writing overlapping
// batches take the incidents' locks in the same order). Each item runs
// under a savepoint: an item that fails is rolled back alone and reported
// in its result, the others commit.
func (s *sqlStore) ApplyIncidents(ctx context.Context, b IncidentBatch) (IncidentBatchResult, error) {
	res := IncidentBatchResult{Upserts: make([]UpsertResult, len(b.Upserts)), Clears: make([]ClearResult, len(b.Clears))}
	type item struct {
		fp    string
		up    int // index in b.Upserts, or -1
		clear int // index in b.Clears, or -1
	}
	items := make([]item, 0, len(b.Upserts)+len(b.Clears))
	for i, u := range b.Upserts {
		if err := checkUpsert(u); err != nil {
			res.Upserts[i].Err = err
			continue
		}
		items = append(items, item{fp: u.Fingerprint, up: i, clear: -1})
	}
	for i, c := range b.Clears {
		if c.Cursor == "" || c.Next == "" || (c.Resolve && (c.Fingerprint == "" || c.Now.IsZero())) {
			res.Clears[i].Err = errors.New("store: clear mark: cursor and next are required, and fingerprint and now to resolve")
			continue
		}
		items = append(items, item{fp: c.Fingerprint, up: -1, clear: i})
	}
	if len(items) == 0 {
		return res, nil
	}
	slices.SortStableFunc(items, func(a, b item) int { return strings.Compare(a.fp, b.fp) })
	// What the transaction decided, applied to res only once it committed.
	ups := make([]UpsertResult, len(b.Upserts))
	clears := make([]ClearResult, len(b.Clears))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		clear(ups)
		clear(clears)
		for _, it := range items {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT incident_item"); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			var ierr error
			if it.up >= 0 {
				u := b.Upserts[it.up]
				inc, created, err := s.upsertTx(ctx, tx, u)
				if err != nil {
					ierr = fmt.Errorf("store: open or update incident %q: %w", u.Fingerprint, err)
				}
				ups[it.up] = UpsertResult{Incident: inc, Created: created, Err: ierr}
			} else {
				c := b.Clears[it.clear]
				r, err := s.clearTx(ctx, tx, c)
				if err != nil {
					ierr = fmt.Errorf("store: clear mark %q: %w", c.Cursor, err)
				}
				r.Err = ierr
				clears[it.clear] = r
			}
			if ierr != nil {
				if ctx.Err() != nil {
					return ierr
				}
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT incident_item"); err != nil {
					return errors.Join(ierr, fmt.Errorf("rollback to savepoint: %w", err))
				}
			}
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT incident_item"); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return IncidentBatchResult{}, fmt.Errorf("store: apply incidents: %w", err)
	}
	for _, it := range items {
		if it.up >= 0 {
			res.Upserts[it.up] = ups[it.up]
		} else {
			res.Clears[it.clear] = clears[it.clear]
		}
	}
	return res, nil
}

// clearTx moves a clear mark's cursor (compare-and-set, as
// CompareAndSetCursor) and, when it moved and the mark says so, resolves
// the open incident of its fingerprint.
func (s *sqlStore) clearTx(ctx context.Context, tx *sql.Tx, c ClearMark) (ClearResult, error) {
	var (
		r   sql.Result
		err error
		out ClearResult
	)
	at := us(c.Now)
	if c.Old == "" {
		r, err = tx.ExecContext(ctx, s.q(`INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
			WHERE cursors.value = ''`), c.Cursor, c.Next, at)
	} else {
		r, err = tx.ExecContext(ctx, s.q(`UPDATE cursors SET value = ?, updated_at = ? WHERE name = ? AND value = ?`),
			c.Next, at, c.Cursor, c.Old)
	}
	if err != nil {
		return out, fmt.Errorf("cas cursor: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return out, nil
	}
	out.Moved = true
	if !c.Resolve {
		return out, nil
	}
	out.Incident, err = scanIncident(tx.QueryRowContext(ctx, s.q(`UPDATE incidents
		SET status = 'resolved', resolved_at = ?, updated_at = ?
		WHERE fingerprint = ? AND status = 'open' RETURNING `+incidentCols), at, at, c.Fingerprint))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return out, nil // resolved concurrently
	case err != nil:
		return out, fmt.Errorf("resolve: %w", err)
	}
	out.Resolved = true
	return out, nil
}

func (s *sqlStore) addEvidence(ctx context.Context, tx *sql.Tx, id int64, ev []Evidence, now int64) error {
	if len(ev) == 0 {
		return nil
	}
	for _, e := range ev {
		if e.Kind != EvidenceEvent && e.Kind != EvidenceSnapshot {
			return fmt.Errorf("evidence kind %q", e.Kind)
		}
	}
	var have int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM incident_evidence WHERE incident_id = ?`), id).Scan(&have); err != nil {
		return fmt.Errorf("count evidence: %w", err)
	}
	for _, e := range ev {
		if have >= MaxEvidence {
			break
		}
		r, err := tx.ExecContext(ctx, s.q(`INSERT INTO incident_evidence (incident_id, kind, ref_id, added_at)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`), id, string(e.Kind), e.RefID, now)
		if err != nil {
			return fmt.Errorf("add evidence: %w", err)
		}
		if n, _ := r.RowsAffected(); n > 0 {
			have++
		}
	}
	return nil
}

// resolveWhere resolves the open incident selected by cond.
func (s *sqlStore) resolveWhere(ctx context.Context, now time.Time, cond string, arg any) (Incident, error) {
	var inc Incident
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		inc, err = scanIncident(tx.QueryRowContext(ctx, s.q(`UPDATE incidents
			SET status = 'resolved', resolved_at = ?, updated_at = ?
			WHERE `+cond+` AND status = 'open' RETURNING `+incidentCols), us(now), us(now), arg))
		return err
	})
	return inc, err
}

func (s *sqlStore) ResolveIncident(ctx context.Context, id int64, now time.Time) (Incident, error) {
	inc, err := s.resolveWhere(ctx, now, "id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.getIncident(ctx, id); gerr != nil {
			return Incident{}, fmt.Errorf("store: resolve incident %d: %w", id, gerr)
		}
		return Incident{}, fmt.Errorf("store: resolve incident %d: already resolved: %w", id, ErrConflict)
	}
	if err != nil {
		return Incident{}, fmt.Errorf("store: resolve incident %d: %w", id, err)
	}
	return inc, nil
}

func (s *sqlStore) ResolveFingerprint(ctx context.Context, fingerprint string, now time.Time) (Incident, error) {
	inc, err := s.resolveWhere(ctx, now, "fingerprint = ?", fingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, fmt.Errorf("store: resolve fingerprint %q: no open incident: %w", fingerprint, ErrNotFound)
	}
	if err != nil {
		return Incident{}, fmt.Errorf("store: resolve fingerprint %q: %w", fingerprint, err)
	}
	return inc, nil
}

func (s *sqlStore) AcknowledgeIncident(ctx context.Context, id int64, by string, now time.Time) (Incident, error) {
	var inc Incident
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		inc, err = scanIncident(tx.QueryRowContext(ctx, s.q(`UPDATE incidents
			SET acknowledged_at = ?, acknowledged_by = ?, updated_at = ?
			WHERE id = ? RETURNING `+incidentCols), us(now), by, us(now), id))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, fmt.Errorf("store: acknowledge incident %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Incident{}, fmt.Errorf("store: acknowledge incident %d: %w", id, err)
	}
	return inc, nil
}

func (s *sqlStore) getIncident(ctx context.Context, id int64) (Incident, error) {
	inc, err := scanIncident(s.r.QueryRowContext(ctx, s.q(`SELECT `+incidentCols+` FROM incidents WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, ErrNotFound
	}
	return inc, err
}

func (s *sqlStore) GetIncident(ctx context.Context, id int64) (Incident, error) {
	inc, err := s.getIncident(ctx, id)
	if err != nil {
		return Incident{}, fmt.Errorf("store: get incident %d: %w", id, err)
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT kind, ref_id, added_at FROM incident_evidence
		WHERE incident_id = ? ORDER BY added_at, kind, ref_id`), id)
	if err != nil {
		return Incident{}, fmt.Errorf("store: get incident %d evidence: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e     Evidence
			kind  string
			added int64
		)
		if err := rows.Scan(&kind, &e.RefID, &added); err != nil {
			return Incident{}, fmt.Errorf("store: get incident %d evidence: %w", id, err)
		}
		e.Kind = EvidenceKind(kind)
		e.AddedAt = fromUS(added)
		inc.Evidence = append(inc.Evidence, e)
	}
	if err := rows.Err(); err != nil {
		return Incident{}, fmt.Errorf("store: get incident %d evidence: %w", id, err)
	}
	return inc, nil
}

func (s *sqlStore) ListIncidents(ctx context.Context, f IncidentFilter) ([]Incident, error) {
	var w where
	w.eq("status", string(f.Status))
	w.eq("tenant", f.Tenant)
	w.eq("rule", f.Rule)
	w.eq("family", f.Family)
	w.eq("severity", f.Severity)
	w.eq("resource_type", f.ResourceType)
	w.eq("resource_key", f.ResourceKey)
	if f.CausedBy != 0 {
		w.add("cause_id = ?", f.CausedBy)
	}
	if !f.OpenedFrom.IsZero() {
		w.add("opened_at >= ?", us(f.OpenedFrom))
	}
	if !f.OpenedTo.IsZero() {
		w.add("opened_at < ?", us(f.OpenedTo))
	}
	limit := clampLimit(f.Limit, 500, 10000)
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+incidentCols+` FROM incidents`+w.String()+
		fmt.Sprintf(" ORDER BY opened_at DESC, id DESC LIMIT %d", limit)), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list incidents: %w", err)
	}
	defer rows.Close()
	var out []Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list incidents: %w", err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list incidents: %w", err)
	}
	return out, nil
}

func (s *sqlStore) CorrelateIncident(ctx context.Context, id int64, c Correlation) (Incident, error) {
	got, err := s.CorrelateIncidents(ctx, []IncidentCorrelation{{ID: id, Correlation: c}})
	if err != nil {
		return Incident{}, err
	}
	return got[0], nil
}

// CorrelateIncidents writes the decisions in id order (two replicas take
// the rows' locks in the same order).
func (s *sqlStore) CorrelateIncidents(ctx context.Context, cs []IncidentCorrelation) ([]Incident, error) {
	order := make([]int, len(cs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(cs[a].ID, cs[b].ID) })
	var (
		out     []Incident
		missing []error
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		out, missing = make([]Incident, len(cs)), nil
		for _, i := range order {
			c := cs[i]
			inc, err := scanIncident(tx.QueryRowContext(ctx, s.q(`UPDATE incidents
				SET cause_id = ?, cause = ?, title = CASE WHEN ? <> '' THEN ? ELSE title END
				WHERE id = ? RETURNING `+incidentCols), c.CausedBy, c.Cause, c.Title, c.Title, c.ID))
			if errors.Is(err, sql.ErrNoRows) {
				missing = append(missing, fmt.Errorf("store: correlate incident %d: %w", c.ID, ErrNotFound))
				continue
			}
			if err != nil {
				return fmt.Errorf("incident %d: %w", c.ID, err)
			}
			out[i] = inc
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: correlate incidents: %w", err)
	}
	return out, errors.Join(missing...)
}
