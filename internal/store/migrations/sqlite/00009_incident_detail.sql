-- The finding's explanation (detect.Finding.Detail, masked and capped):
-- what the evidence shows and why it matters, refreshed on every rule
-- update and shown on the incident's page and in the API.

-- +goose Up
ALTER TABLE incidents ADD COLUMN detail TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE incidents DROP COLUMN detail;
