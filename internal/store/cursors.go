package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func (s *sqlStore) GetCursor(ctx context.Context, name string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, s.q(`SELECT value FROM cursors WHERE name = ?`), name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: cursor %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: cursor %q: %w", name, err)
	}
	return v, nil
}

func (s *sqlStore) SetCursor(ctx context.Context, name, value string, now time.Time) error {
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`), name, value, us(now))
	if err != nil {
		return fmt.Errorf("store: set cursor %q: %w", name, err)
	}
	return nil
}

// CompareAndSetCursor is a single statement: an upsert whose update only
// applies while the stored value equals old. A missing cursor counts as "",
// so the insert branch applies only when old is "".
func (s *sqlStore) CompareAndSetCursor(ctx context.Context, name, old, next string, now time.Time) error {
	var (
		r   sql.Result
		err error
	)
	if old == "" {
		r, err = s.w.ExecContext(ctx, s.q(`INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
			WHERE cursors.value = ''`), name, next, us(now))
	} else {
		r, err = s.w.ExecContext(ctx, s.q(`UPDATE cursors SET value = ?, updated_at = ? WHERE name = ? AND value = ?`),
			next, us(now), name, old)
	}
	if err != nil {
		return fmt.Errorf("store: cas cursor %q: %w", name, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("store: cas cursor %q: value is not %q: %w", name, old, ErrConflict)
	}
	return nil
}
