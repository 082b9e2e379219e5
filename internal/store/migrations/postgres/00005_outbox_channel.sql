-- One outbox row per (message, receiver, channel): a receiver with several
-- channels retries, backs off and gives up per channel, so a channel that
-- succeeded is never sent the message again because another one failed.
-- channel '' marks rows enqueued before this migration: they are delivered
-- through the whole receiver, as they were. The idempotency key becomes
-- (idem_key, channel).

-- +goose Up
ALTER TABLE notification_outbox ADD COLUMN channel TEXT NOT NULL DEFAULT '';
ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_idem_key_key;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_idem_key_channel_key UNIQUE (idem_key, channel);

-- +goose Down
-- Keeps the first row of each key (the per-channel rows of one message
-- collapse into one, delivered to the whole receiver if still pending).
DELETE FROM notification_outbox o WHERE EXISTS (
    SELECT 1 FROM notification_outbox f WHERE f.idem_key = o.idem_key AND f.id < o.id);
ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_idem_key_channel_key;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_idem_key_key UNIQUE (idem_key);
ALTER TABLE notification_outbox DROP COLUMN channel;
