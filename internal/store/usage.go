package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const dayLayout = "2006-01-02"

func (s *sqlStore) AddUsage(ctx context.Context, deltas ...UsageDelta) error {
	if len(deltas) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, s.q(`INSERT INTO api_usage (tenant, endpoint, day, calls) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant, day, endpoint) DO UPDATE SET calls = api_usage.calls + excluded.calls`))
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		defer st.Close()
		for _, d := range deltas {
			if d.At.IsZero() {
				return errors.New("usage delta without time")
			}
			if _, err := st.ExecContext(ctx, d.Tenant, d.Endpoint, d.At.UTC().Format(dayLayout), d.Calls); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: add usage: %w", err)
	}
	return nil
}

func (s *sqlStore) Usage(ctx context.Context, q UsageQuery) ([]UsageRow, error) {
	var w where
	w.eq("tenant", q.Tenant)
	if !q.From.IsZero() {
		w.add("day >= ?", q.From.UTC().Format(dayLayout))
	}
	if !q.To.IsZero() {
		w.add("day <= ?", q.To.UTC().Format(dayLayout))
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT tenant, endpoint, day, calls FROM api_usage`+w.String()+
		` ORDER BY tenant, day, endpoint`), w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: usage: %w", err)
	}
	defer rows.Close()
	var out []UsageRow
	for rows.Next() {
		var (
			r   UsageRow
			day string
		)
		if err := rows.Scan(&r.Tenant, &r.Endpoint, &day, &r.Calls); err != nil {
			return nil, fmt.Errorf("store: usage: %w", err)
		}
		if r.Day, err = time.Parse(dayLayout, day); err != nil {
			return nil, fmt.Errorf("store: usage day %q: %w", day, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: usage: %w", err)
	}
	return out, nil
}
