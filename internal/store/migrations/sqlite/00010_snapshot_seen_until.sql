-- Snapshots are stored on change: a poll that observes an object exactly
-- as its latest stored snapshot (status, last run, row count, schema hash,
-- counters and payload) adds no row but moves that row's seen_until (and
-- latest_snapshots.observed_at) to the poll's time. NULL: seen only at
-- observed_at.

-- +goose Up
ALTER TABLE snapshots ADD COLUMN seen_until INTEGER;

-- +goose Down
ALTER TABLE snapshots DROP COLUMN seen_until;
