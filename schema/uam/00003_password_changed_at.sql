-- +goose Up
-- When the password was last set or changed. The IAM service keeps the value
-- it saw at sign-in with the session and ends the session when it differs,
-- which compares two stamps of this one clock rather than IAM's clock with the
-- database's. NULL: no password was set since this column exists (IAM served
-- no sessions before it did, so there is no older change to miss).
ALTER TABLE uam.users ADD COLUMN password_changed_at timestamptz;

-- +goose Down
ALTER TABLE uam.users DROP COLUMN password_changed_at;
