-- name: CreateUser :one
INSERT INTO uam.users (tenant_id, id, email, email_verified, status, password_hash, security_stamp)
VALUES (@tenant_id, @id, @email, @email_verified, @status, sqlc.narg(password_hash),
        CASE WHEN sqlc.narg(password_hash)::text IS NOT NULL THEN now() END)
RETURNING *;

-- name: GetUser :one
SELECT * FROM uam.users WHERE tenant_id = @tenant_id AND id = @id;

-- name: GetUserByEmail :one
SELECT * FROM uam.users WHERE tenant_id = @tenant_id AND lower(email) = lower(@email);

-- name: ListUsers :many
-- email_prefix arrives with LIKE's wildcards escaped (backslash is LIKE's default escape).
SELECT * FROM uam.users u
WHERE u.tenant_id = @tenant_id
  AND (sqlc.narg(after)::uuid IS NULL OR u.id > sqlc.narg(after))
  AND (sqlc.narg(email_prefix)::text IS NULL OR lower(u.email) LIKE lower(sqlc.narg(email_prefix)::text) || '%')
  AND (sqlc.narg(status)::text IS NULL OR u.status = sqlc.narg(status))
  AND (sqlc.narg(role_id)::uuid IS NULL OR EXISTS (
        SELECT 1 FROM uam.role_assignments a
        WHERE a.tenant_id = u.tenant_id AND a.user_id = u.id AND a.role_id = sqlc.narg(role_id)))
ORDER BY u.id
LIMIT @row_limit;

-- name: UpdateUser :one
-- A new address is unverified unless the change says otherwise. A status
-- moving to disabled or locked moves the security stamp, which ends the
-- user's sessions (in SET, status is the old value).
UPDATE uam.users SET
    email          = coalesce(sqlc.narg(email), email),
    email_verified = CASE
        WHEN sqlc.narg(email)::text IS NOT NULL AND lower(sqlc.narg(email)::text) <> lower(email)
            THEN coalesce(sqlc.narg(email_verified), false)
        ELSE coalesce(sqlc.narg(email_verified), email_verified) END,
    status         = coalesce(sqlc.narg(status), status),
    security_stamp = CASE
        WHEN sqlc.narg(status)::text IN ('disabled', 'locked') AND sqlc.narg(status)::text <> status THEN now()
        ELSE security_stamp END,
    version        = version + 1,
    updated_at     = now()
WHERE tenant_id = @tenant_id AND id = @id
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]))
RETURNING *;

-- name: SetPasswordHash :one
-- With old_hash set, only if the password is still the one the caller checked,
-- so a user changing their own password cannot undo a concurrent reset. A new
-- password moves the security stamp, which ends the user's sessions.
UPDATE uam.users SET password_hash = @password_hash, security_stamp = now(), version = version + 1, updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id
  AND (NOT @check_old::boolean OR password_hash IS NOT DISTINCT FROM sqlc.narg(old_hash)::text)
RETURNING *;

-- name: UpgradePasswordHash :execrows
-- After a successful check with old parameters: replaces the hash only if it
-- is still the one that was checked, so a concurrent password change wins. Not
-- a user-visible change: version, updated_at and security_stamp stay.
UPDATE uam.users SET password_hash = @new_hash
WHERE tenant_id = @tenant_id AND id = @id AND password_hash = @old_hash;

-- name: RecordLogin :execrows
-- last_login_at is part of the user's representation, so its ETag moves on.
-- The statement is its own transaction, and set_config(..., true) is SET
-- LOCAL for it: it commits without waiting for the WAL flush, in one round
-- trip (BEGIN, SET LOCAL, UPDATE, COMMIT took four).
WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true))
UPDATE uam.users SET last_login_at = now(), version = version + 1
FROM async_commit
WHERE tenant_id = @tenant_id AND id = @id;

-- name: DeleteUser :execrows
-- The profile and role assignments go with it through ON DELETE CASCADE.
DELETE FROM uam.users
WHERE tenant_id = @tenant_id AND id = @id
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]));
