-- When the failure began by SFMC's own timestamps (the errored run's start,
-- a stopped journey's modifiedDate, a failed import's end), in unix
-- microseconds; NULL when unknown (every incident from before this
-- migration). first_seen stays "first evidence sfmcwatch saw", so an
-- incident reports time to detection both ways: opened_at − first_seen and
-- opened_at − failure_started_at.

-- +goose Up
ALTER TABLE incidents ADD COLUMN failure_started_at INTEGER;

-- +goose Down
ALTER TABLE incidents DROP COLUMN failure_started_at;
