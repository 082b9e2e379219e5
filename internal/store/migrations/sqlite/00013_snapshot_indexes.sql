-- Bounded storage (issue 18): two indexes of snapshots no query needs any
-- more, about 30 of the ~200 bytes a kept row costs. Retention reaches the
-- rows of a time range object by object through snapshots_object_time
-- (object_id, observed_at) instead of snapshots_time (observed_at), and
-- finds the bases no row refers to with one pass over snapshots instead
-- of snapshots_base (base_id).

-- +goose Up
DROP INDEX snapshots_time;
DROP INDEX snapshots_base;

-- +goose Down
CREATE INDEX snapshots_base ON snapshots (base_id) WHERE base_id IS NOT NULL;
CREATE INDEX snapshots_time ON snapshots (observed_at);
