package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

const workCols = "id, tenant, kind, work_key, next_due_at, lease_owner, lease_until, attempts, last_error, created_at, updated_at"

func scanWork(sc scanner) (WorkItem, error) {
	var (
		w                                     WorkItem
		due, leaseUntil, createdAt, updatedAt int64
		attempts                              int64
	)
	if err := sc.Scan(&w.ID, &w.Tenant, &w.Kind, &w.Key, &due, &w.LeaseOwner, &leaseUntil,
		&attempts, &w.LastError, &createdAt, &updatedAt); err != nil {
		return w, err
	}
	w.NextDueAt = fromUS(due)
	w.LeaseUntil = fromUS(leaseUntil)
	w.Attempts = int(attempts)
	w.CreatedAt = fromUS(createdAt)
	w.UpdatedAt = fromUS(updatedAt)
	return w, nil
}

func (s *sqlStore) EnsureWork(ctx context.Context, now time.Time, specs ...WorkSpec) error {
	if len(specs) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, s.q(`INSERT INTO work_items
			(tenant, kind, work_key, next_due_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, kind, work_key) DO NOTHING`))
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		defer st.Close()
		for _, sp := range specs {
			if sp.Kind == "" {
				return errors.New("work spec without kind")
			}
			due := sp.NextDueAt
			if due.IsZero() {
				due = now
			}
			if _, err := st.ExecContext(ctx, sp.Tenant, sp.Kind, sp.Key, us(due), us(now), us(now)); err != nil {
				return fmt.Errorf("%s/%s/%s: %w", sp.Tenant, sp.Kind, sp.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: ensure work: %w", err)
	}
	return nil
}

func (s *sqlStore) RemoveWork(ctx context.Context, tenant, kind, key string) error {
	r, err := s.w.ExecContext(ctx, s.q(`DELETE FROM work_items WHERE tenant = ? AND kind = ? AND work_key = ?`), tenant, kind, key)
	if err != nil {
		return fmt.Errorf("store: remove work %s/%s/%s: %w", tenant, kind, key, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("store: remove work %s/%s/%s: %w", tenant, kind, key, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) GetWork(ctx context.Context, tenant, kind, key string) (WorkItem, error) {
	w, err := scanWork(s.r.QueryRowContext(ctx, s.q(`SELECT `+workCols+` FROM work_items
		WHERE tenant = ? AND kind = ? AND work_key = ?`), tenant, kind, key))
	if errors.Is(err, sql.ErrNoRows) {
		return WorkItem{}, fmt.Errorf("store: get work %s/%s/%s: %w", tenant, kind, key, ErrNotFound)
	}
	if err != nil {
		return WorkItem{}, fmt.Errorf("store: get work %s/%s/%s: %w", tenant, kind, key, err)
	}
	return w, nil
}

// ClaimDue is one statement in both dialects. SQLite: the single writer
// connection (and SQLite's database-level write lock across processes)
// makes the UPDATE … RETURNING atomic. PostgreSQL: FOR UPDATE SKIP LOCKED
// lets concurrent claimers pass over each other's rows; a row claimed and
// committed by another replica is re-checked against the WHERE clause
// (lease_until <= now) and dropped.
func (s *sqlStore) ClaimDue(ctx context.Context, owner string, now time.Time, leaseFor time.Duration, limit int) ([]WorkItem, error) {
	if owner == "" || leaseFor <= 0 || limit <= 0 {
		return nil, errors.New("store: claim due: owner, positive lease and limit are required")
	}
	n, until := us(now), us(now.Add(leaseFor))
	var query string
	if s.pg {
		query = `WITH due AS (
				SELECT id FROM work_items
				WHERE next_due_at <= ? AND lease_until <= ?
				ORDER BY next_due_at, id LIMIT ? FOR UPDATE SKIP LOCKED)
			UPDATE work_items w SET lease_owner = ?, lease_until = ?, attempts = w.attempts + 1, updated_at = ?
			FROM due WHERE w.id = due.id
			RETURNING w.id, w.tenant, w.kind, w.work_key, w.next_due_at, w.lease_owner, w.lease_until,
				w.attempts, w.last_error, w.created_at, w.updated_at`
	} else {
		query = `UPDATE work_items SET lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
			WHERE id IN (
				SELECT id FROM work_items
				WHERE next_due_at <= ? AND lease_until <= ?
				ORDER BY next_due_at, id LIMIT ?)
			RETURNING ` + workCols
	}
	var args []any
	if s.pg {
		args = []any{n, n, int64(limit), owner, until, n}
	} else {
		args = []any{owner, until, n, n, n, int64(limit)}
	}
	rows, err := s.w.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: claim due: %w", err)
	}
	defer rows.Close()
	var out []WorkItem
	for rows.Next() {
		w, err := scanWork(rows)
		if err != nil {
			return nil, fmt.Errorf("store: claim due: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: claim due: %w", err)
	}
	sortWork(out)
	return out, nil
}

// sortWork orders claimed items by due time (RETURNING order is not
// guaranteed).
func sortWork(ws []WorkItem) {
	slices.SortFunc(ws, func(a, b WorkItem) int {
		if c := a.NextDueAt.Compare(b.NextDueAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// release ends owner's lease on id with the given schedule update.
func (s *sqlStore) release(ctx context.Context, op string, id int64, owner, set string, args ...any) error {
	args = append(args, id, owner)
	r, err := s.w.ExecContext(ctx, s.q(`UPDATE work_items SET lease_owner = '', lease_until = 0, `+set+`
		WHERE id = ? AND lease_owner = ?`), args...)
	if err != nil {
		return fmt.Errorf("store: %s work %d: %w", op, id, err)
	}
	if n, _ := r.RowsAffected(); n > 0 {
		return nil
	}
	return s.workLeaseLost(ctx, op, id, owner)
}

// workLeaseLost explains why owner's update of id matched no row.
func (s *sqlStore) workLeaseLost(ctx context.Context, op string, id int64, owner string) error {
	var exists int
	err := s.w.QueryRowContext(ctx, s.q(`SELECT 1 FROM work_items WHERE id = ?`), id).Scan(&exists)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s work %d: %w", op, id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: %s work %d: %w", op, id, err)
	}
	return fmt.Errorf("store: %s work %d: lease not held by %q: %w", op, id, owner, ErrConflict)
}

// DefaultLease is how long a claimed work item or outbox message stays
// leased without renewal. A holder renews every DefaultLease/3 while it
// works (RenewWork, RenewNotification), so a replica that dies loses its
// leases at most DefaultLease after its last renewal and another replica
// takes the work over then (issue 14: within 30 s).
const DefaultLease = 20 * time.Second

// RenewWork moves owner's lease on id to until; ErrConflict (wrapped) when
// another owner claimed it meanwhile, ErrNotFound when it was removed. A
// lease that ran out but was not claimed by anyone is still owner's.
func (s *sqlStore) RenewWork(ctx context.Context, id int64, owner string, until, now time.Time) error {
	if !until.After(now) {
		return fmt.Errorf("store: renew work %d: lease must end after now", id)
	}
	r, err := s.w.ExecContext(ctx, s.q(`UPDATE work_items SET lease_until = ? WHERE id = ? AND lease_owner = ?`),
		us(until), id, owner)
	if err != nil {
		return fmt.Errorf("store: renew work %d: %w", id, err)
	}
	if n, _ := r.RowsAffected(); n > 0 {
		return nil
	}
	return s.workLeaseLost(ctx, "renew", id, owner)
}

func (s *sqlStore) Complete(ctx context.Context, id int64, owner string, nextDue, now time.Time) error {
	return s.release(ctx, "complete", id, owner,
		"next_due_at = ?, attempts = 0, last_error = '', updated_at = ?", us(nextDue), us(now))
}

func (s *sqlStore) Defer(ctx context.Context, id int64, owner string, until time.Time, reason string, now time.Time) error {
	return s.release(ctx, "defer", id, owner,
		"next_due_at = ?, last_error = ?, updated_at = ?", us(until), reason, us(now))
}
