-- The latest snapshot of every resource, maintained on insert, so the
-- engine's "latest of every object of a type" lookup no longer scans the
-- resource's whole history.

-- +goose Up
CREATE TABLE latest_snapshots (
    tenant        TEXT   NOT NULL,
    resource_type TEXT   NOT NULL,
    resource_key  TEXT   NOT NULL,
    snapshot_id   BIGINT NOT NULL,
    observed_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant, resource_type, resource_key)
);
INSERT INTO latest_snapshots (tenant, resource_type, resource_key, snapshot_id, observed_at)
SELECT tenant, resource_type, resource_key, id, observed_at FROM (
    SELECT tenant, resource_type, resource_key, id, observed_at,
           ROW_NUMBER() OVER (PARTITION BY tenant, resource_type, resource_key ORDER BY observed_at DESC, id DESC) AS rn
    FROM snapshots
) ranked WHERE rn = 1;

-- +goose Down
DROP TABLE latest_snapshots;
