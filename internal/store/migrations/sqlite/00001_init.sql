-- sfmcwatch schema v1 (SQLite).
-- Conventions shared with the PostgreSQL schema:
--   * every timestamp is INTEGER unix microseconds UTC; NULL (or 0 where noted) = unset;
--   * durations are INTEGER microseconds;
--   * JSON is TEXT here (JSONB on PostgreSQL); body samples are BLOB (BYTEA).
-- Tables are STRICT so a wrong Go type fails loudly instead of being coerced.

-- +goose Up
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    ts           INTEGER NOT NULL,
    tenant       TEXT    NOT NULL DEFAULT '',
    integration  TEXT    NOT NULL DEFAULT '',
    source       TEXT    NOT NULL DEFAULT '',
    method       TEXT    NOT NULL DEFAULT '',
    url          TEXT    NOT NULL DEFAULT '',
    endpoint     TEXT    NOT NULL DEFAULT '',
    object_key   TEXT    NOT NULL DEFAULT '',
    status       INTEGER NOT NULL DEFAULT 0,
    duration_us  INTEGER NOT NULL DEFAULT 0,
    request_id   TEXT,                          -- NULL when the source logged none
    family       TEXT    NOT NULL DEFAULT '',
    code         TEXT    NOT NULL DEFAULT '',
    surface      TEXT    NOT NULL DEFAULT '',
    is_error     INTEGER NOT NULL DEFAULT 0,
    severity     TEXT    NOT NULL DEFAULT '',
    occurrences  INTEGER NOT NULL DEFAULT 1,    -- how often the code occurs in the body
    body_sample  BLOB                           -- masked, capped
) STRICT;
-- Idempotent ingest: one row per (source, request_id); NULL request ids never collide.
CREATE UNIQUE INDEX events_source_request ON events (source, request_id);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_tenant_ts ON events (tenant, ts);

CREATE TABLE snapshots (
    id            INTEGER PRIMARY KEY,
    tenant        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    resource_key  TEXT    NOT NULL,
    observed_at   INTEGER NOT NULL,
    status        TEXT    NOT NULL DEFAULT '',
    last_run_at   INTEGER,
    row_count     INTEGER,
    schema_hash   TEXT    NOT NULL DEFAULT '',
    counters      TEXT,                          -- JSON object name -> integer
    payload       TEXT                           -- JSON, resource specific
) STRICT;
CREATE INDEX snapshots_resource_time ON snapshots (tenant, resource_type, resource_key, observed_at);
CREATE INDEX snapshots_time ON snapshots (observed_at);

CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY,
    fingerprint     TEXT    NOT NULL,
    rule            TEXT    NOT NULL,
    severity        TEXT    NOT NULL DEFAULT '',
    family          TEXT    NOT NULL DEFAULT '',
    tenant          TEXT    NOT NULL DEFAULT '',
    resource_type   TEXT    NOT NULL DEFAULT '',
    resource_key    TEXT    NOT NULL DEFAULT '',
    title           TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    owner           TEXT    NOT NULL DEFAULT '',
    remediation     TEXT    NOT NULL DEFAULT '[]', -- JSON array of steps
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    opened_at       INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    resolved_at     INTEGER,
    ttd_seconds     INTEGER NOT NULL DEFAULT 0,
    occurrences     INTEGER NOT NULL DEFAULT 1,
    acknowledged_at INTEGER,
    acknowledged_by TEXT    NOT NULL DEFAULT ''
) STRICT;
-- At most one open incident per fingerprint: the arbiter for open-or-update.
CREATE UNIQUE INDEX incidents_open_fingerprint ON incidents (fingerprint) WHERE status = 'open';
CREATE INDEX incidents_status_opened ON incidents (status, opened_at);
CREATE INDEX incidents_tenant_opened ON incidents (tenant, opened_at);
CREATE INDEX incidents_resolved_at ON incidents (resolved_at) WHERE resolved_at IS NOT NULL;

CREATE TABLE incident_evidence (
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('event', 'snapshot')),
    ref_id      INTEGER NOT NULL,               -- events.id / snapshots.id (may be pruned)
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (incident_id, kind, ref_id)
) STRICT;

CREATE TABLE work_items (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    work_key    TEXT    NOT NULL DEFAULT '',
    next_due_at INTEGER NOT NULL,
    lease_owner TEXT    NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0,     -- 0 = not leased
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (tenant, kind, work_key)
) STRICT;
CREATE INDEX work_items_due ON work_items (next_due_at);

CREATE TABLE api_usage (
    tenant   TEXT    NOT NULL,
    endpoint TEXT    NOT NULL,
    day      TEXT    NOT NULL,                  -- YYYY-MM-DD (UTC)
    calls    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, day, endpoint)
) STRICT;

CREATE TABLE cursors (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE cursors;
DROP TABLE api_usage;
DROP TABLE work_items;
DROP TABLE incident_evidence;
DROP TABLE incidents;
DROP TABLE snapshots;
DROP TABLE events;
