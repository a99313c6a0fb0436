-- +goose Up
-- password_changed_at becomes the user's security stamp: it changes whenever
-- the user's sessions must end, which is when the password is set or changed
-- and when the status moves to disabled or locked (a deleted user's sessions
-- end anyway: the user is gone). The IAM service keeps the stamp it saw at
-- sign-in with the session and ends the session at a refresh that finds
-- another, so disabling a user ends the sessions even when the user is active
-- again before they refresh. Only equality matters; renaming keeps every
-- stamp, so no session ends by this migration. NULL: none recorded yet (no
-- password set since 00003 and never disabled or locked since this one).
ALTER TABLE uam.users RENAME COLUMN password_changed_at TO security_stamp;

-- +goose Down
ALTER TABLE uam.users RENAME COLUMN security_stamp TO password_changed_at;
