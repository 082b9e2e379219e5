-- Bounded storage (issue 18): a snapshot's counters and payload are stored
-- packed, deflated with a base as preset dictionary. The base is the packed
-- state of an earlier row of the same object (snapshot_bases.body, itself
-- deflated), so a row costs about what changed since its base. Rows from
-- before this migration keep counters and payload as JSONB (packed NULL).
-- A new base starts when a row's delta would exceed half of the row
-- deflated alone. Bases no row refers to go with retention.

-- +goose Up
CREATE TABLE snapshot_bases (
    id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body BYTEA  NOT NULL                         -- deflated counters, 0x00, payload
);
ALTER TABLE snapshots ADD COLUMN base_id BIGINT;   -- snapshot_bases.id (NULL with packed NULL)
ALTER TABLE snapshots ADD COLUMN packed BYTEA;     -- counters, 0x00, payload deflated with the base as dictionary
CREATE INDEX snapshots_base ON snapshots (base_id) WHERE base_id IS NOT NULL;

-- +goose Down
-- Lossy: rows written packed keep their status, last run and row count but
-- lose their counters and payload (SQL cannot inflate them). Tested by the
-- store's MigrationsDownTo10 contract test.
DROP INDEX snapshots_base;
ALTER TABLE snapshots DROP COLUMN packed;
ALTER TABLE snapshots DROP COLUMN base_id;
DROP TABLE snapshot_bases;
