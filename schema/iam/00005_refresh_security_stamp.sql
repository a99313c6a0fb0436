-- +goose Up
-- The column holds UAM's security stamp (which moves on a password change and
-- when a user is disabled or locked), no longer only the password's change.
ALTER TABLE iam.refresh_tokens RENAME COLUMN password_changed_at TO security_stamp;

-- +goose Down
ALTER TABLE iam.refresh_tokens RENAME COLUMN security_stamp TO password_changed_at;
