-- Alerting: silences, the notification log (what each receiver was last told
-- about each alert group) and the durable notification outbox.

-- +goose Up
CREATE TABLE silences (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    matchers    JSONB   NOT NULL,              -- JSON array of {label, op, value}
    starts_at   BIGINT  NOT NULL,
    ends_at     BIGINT  NOT NULL,
    created_by  TEXT    NOT NULL DEFAULT '',
    comment     TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX silences_ends_at ON silences (ends_at);

-- One row per (receiver, group): versioned for compare-and-set, so two
-- replicas flushing the same group commit exactly one notification.
CREATE TABLE notify_states (
    receiver   TEXT    NOT NULL,
    group_key  TEXT    NOT NULL,
    version    BIGINT  NOT NULL,
    state      JSONB   NOT NULL,               -- JSON owned by internal/notify
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (receiver, group_key)
);

CREATE TABLE notification_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idem_key        TEXT    NOT NULL UNIQUE,   -- (group or incident, state, receiver)
    receiver        TEXT    NOT NULL,
    group_key       TEXT    NOT NULL DEFAULT '',
    kind            TEXT    NOT NULL DEFAULT '',
    payload         TEXT    NOT NULL,          -- JSON message (TEXT: kept byte for byte)
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until     BIGINT  NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX notification_outbox_due ON notification_outbox (status, next_attempt_at);
CREATE INDEX notification_outbox_created ON notification_outbox (created_at);

-- +goose Down
DROP TABLE notification_outbox;
DROP TABLE notify_states;
DROP TABLE silences;
