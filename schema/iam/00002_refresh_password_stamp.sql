-- +goose Up
-- A user's session remembers the password_changed_at UAM reported when it
-- began (NULL: no password change recorded, and for machine clients). Every
-- rotation copies it; a refresh that finds UAM reporting another value ends
-- the session, because the password changed since. Comparing UAM's own stamp
-- with itself needs no agreement between IAM's clock and the database's.
ALTER TABLE iam.refresh_tokens ADD COLUMN password_changed_at timestamptz;

-- +goose Down
ALTER TABLE iam.refresh_tokens DROP COLUMN password_changed_at;
