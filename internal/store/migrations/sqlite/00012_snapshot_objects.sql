-- Bounded storage (issue 18): a snapshot row names its object by a small
-- integer (snapshot_objects.id) instead of repeating tenant, resource type
-- and key in the row and in its index (about 80 bytes a row). Objects are
-- never deleted (retention keeps every object's last row) and their ids
-- never reused, so readers may cache them.

-- +goose Up
CREATE TABLE snapshot_objects (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    resource_key  TEXT    NOT NULL,
    UNIQUE (tenant, resource_type, resource_key)
) STRICT;
INSERT INTO snapshot_objects (tenant, resource_type, resource_key)
SELECT DISTINCT tenant, resource_type, resource_key FROM snapshots ORDER BY 1, 2, 3;
ALTER TABLE snapshots ADD COLUMN object_id INTEGER NOT NULL DEFAULT 0;
UPDATE snapshots SET object_id = (SELECT o.id FROM snapshot_objects o
    WHERE o.tenant = snapshots.tenant AND o.resource_type = snapshots.resource_type AND o.resource_key = snapshots.resource_key);
DROP INDEX snapshots_resource_time;
ALTER TABLE snapshots DROP COLUMN tenant;
ALTER TABLE snapshots DROP COLUMN resource_type;
ALTER TABLE snapshots DROP COLUMN resource_key;
CREATE INDEX snapshots_object_time ON snapshots (object_id, observed_at);

-- +goose Down
ALTER TABLE snapshots ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
ALTER TABLE snapshots ADD COLUMN resource_type TEXT NOT NULL DEFAULT '';
ALTER TABLE snapshots ADD COLUMN resource_key TEXT NOT NULL DEFAULT '';
UPDATE snapshots SET
    tenant = (SELECT o.tenant FROM snapshot_objects o WHERE o.id = snapshots.object_id),
    resource_type = (SELECT o.resource_type FROM snapshot_objects o WHERE o.id = snapshots.object_id),
    resource_key = (SELECT o.resource_key FROM snapshot_objects o WHERE o.id = snapshots.object_id);
DROP INDEX snapshots_object_time;
ALTER TABLE snapshots DROP COLUMN object_id;
CREATE INDEX snapshots_resource_time ON snapshots (tenant, resource_type, resource_key, observed_at);
DROP TABLE snapshot_objects;
