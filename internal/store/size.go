package store

import (
	"context"
	"fmt"
)

// DatabaseSize is how much room the database takes.
type DatabaseSize struct {
	// Bytes is the database's size: SQLite's pages (page_count ×
	// page_size, the WAL not included), PostgreSQL's pg_database_size.
	Bytes int64 `json:"bytes"`
	// FreeBytes is the part of Bytes on SQLite's free list (reused by
	// later writes; 0 on PostgreSQL).
	FreeBytes int64 `json:"free_bytes"`
}

// DatabaseSize reports the database's size (the dashboard and /metrics
// show it; callers find it with a type assertion, as WALStats).
func (s *sqlStore) DatabaseSize(ctx context.Context) (DatabaseSize, error) {
	var d DatabaseSize
	if s.pg {
		if err := s.r.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&d.Bytes); err != nil {
			return d, fmt.Errorf("store: database size: %w", err)
		}
		return d, nil
	}
	var pages, free, size int64
	if err := s.r.QueryRowContext(ctx, `SELECT p.page_count, f.freelist_count, z.page_size
		FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() z`).Scan(&pages, &free, &size); err != nil {
		return d, fmt.Errorf("store: database size: %w", err)
	}
	d.Bytes, d.FreeBytes = pages*size, free*size
	return d, nil
}
