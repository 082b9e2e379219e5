-- Correlation (internal/correlate): cause_id links a child incident to the
-- incident that explains it (0 = none, a top-level incident); cause names
-- the recognised cause on the cause incident itself ('' = not a cause).
-- Children stay stored and visible; only top-level incidents notify.

-- +goose Up
ALTER TABLE incidents ADD COLUMN cause_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN cause TEXT NOT NULL DEFAULT '';
CREATE INDEX incidents_cause_id ON incidents (cause_id) WHERE cause_id <> 0;

-- +goose Down
DROP INDEX incidents_cause_id;
ALTER TABLE incidents DROP COLUMN cause;
ALTER TABLE incidents DROP COLUMN cause_id;
