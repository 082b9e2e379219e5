-- One outbox row per (message, receiver, channel): a receiver with several
-- channels retries, backs off and gives up per channel, so a channel that
-- succeeded is never sent the message again because another one failed.
-- channel '' marks rows enqueued before this migration: they are delivered
-- through the whole receiver, as they were. The idempotency key becomes
-- (idem_key, channel). SQLite cannot drop a column UNIQUE constraint, so
-- the table is rebuilt (ids, and so claim order, are kept).

-- +goose Up
CREATE TABLE notification_outbox_new (
    id              INTEGER PRIMARY KEY,
    idem_key        TEXT    NOT NULL,          -- (group or incident, state, receiver)
    channel         TEXT    NOT NULL DEFAULT '',   -- empty: the whole receiver (rows from before 00005)
    receiver        TEXT    NOT NULL,
    group_key       TEXT    NOT NULL DEFAULT '',
    kind            TEXT    NOT NULL DEFAULT '',
    payload         TEXT    NOT NULL,          -- JSON message
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    UNIQUE (idem_key, channel)
) STRICT;
INSERT INTO notification_outbox_new
    (id, idem_key, channel, receiver, group_key, kind, payload, status, attempts, next_attempt_at,
     lease_owner, lease_until, last_error, created_at, updated_at, sent_at)
SELECT id, idem_key, '', receiver, group_key, kind, payload, status, attempts, next_attempt_at,
     lease_owner, lease_until, last_error, created_at, updated_at, sent_at
FROM notification_outbox;
DROP TABLE notification_outbox;
ALTER TABLE notification_outbox_new RENAME TO notification_outbox;
CREATE INDEX notification_outbox_due ON notification_outbox (status, next_attempt_at);
CREATE INDEX notification_outbox_created ON notification_outbox (created_at);

-- +goose Down
-- Keeps the first row of each key (the per-channel rows of one message
-- collapse into one, delivered to the whole receiver if still pending).
CREATE TABLE notification_outbox_old (
    id              INTEGER PRIMARY KEY,
    idem_key        TEXT    NOT NULL UNIQUE,
    receiver        TEXT    NOT NULL,
    group_key       TEXT    NOT NULL DEFAULT '',
    kind            TEXT    NOT NULL DEFAULT '',
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;
INSERT INTO notification_outbox_old
    (id, idem_key, receiver, group_key, kind, payload, status, attempts, next_attempt_at,
     lease_owner, lease_until, last_error, created_at, updated_at, sent_at)
SELECT id, idem_key, receiver, group_key, kind, payload, status, attempts, next_attempt_at,
     lease_owner, lease_until, last_error, created_at, updated_at, sent_at
FROM notification_outbox
WHERE id IN (SELECT MIN(id) FROM notification_outbox GROUP BY idem_key);
DROP TABLE notification_outbox;
ALTER TABLE notification_outbox_old RENAME TO notification_outbox;
CREATE INDEX notification_outbox_due ON notification_outbox (status, next_attempt_at);
CREATE INDEX notification_outbox_created ON notification_outbox (created_at);
