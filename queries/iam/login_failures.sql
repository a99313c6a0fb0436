-- sqlc.arg() rather than @name throughout: sqlc v1.31 mis-rewrites @name
-- parameters inside this upsert's VALUES list.
-- Durations come in as milliseconds, times as parameters (see
-- schema/iam/00001_init.sql for the throttling rules).

-- name: RecordLoginFailure :one
-- One more failure of the key: the count restarts when the key was quiet for
-- forget_after_ms; beyond free_attempts each failure blocks the key for
-- base_ms * 2^(n-1), at most cap_ms (n = failures beyond the free ones). In
-- DO UPDATE every f.* is the old row, hence the count's expression twice.
INSERT INTO iam.login_failures AS f (tenant_id, kind, key, failures, last_failed_at, blocked_until)
VALUES (sqlc.arg(tenant_id), sqlc.arg(kind), sqlc.arg(key), 1, sqlc.arg(now)::timestamptz,
        CASE WHEN 1 > sqlc.arg(free_attempts)::integer
             THEN sqlc.arg(now)::timestamptz + least(sqlc.arg(cap_ms)::bigint, sqlc.arg(base_ms)::bigint) * interval '1 millisecond' END)
ON CONFLICT (tenant_id, kind, key) DO UPDATE SET
    failures = CASE WHEN f.last_failed_at <= sqlc.arg(now)::timestamptz - sqlc.arg(forget_after_ms)::bigint * interval '1 millisecond'
                    THEN 1 ELSE f.failures + 1 END,
    last_failed_at = sqlc.arg(now),
    blocked_until = CASE WHEN (CASE WHEN f.last_failed_at <= sqlc.arg(now)::timestamptz - sqlc.arg(forget_after_ms)::bigint * interval '1 millisecond'
                                    THEN 1 ELSE f.failures + 1 END) > sqlc.arg(free_attempts)::integer
        THEN sqlc.arg(now)::timestamptz + least(sqlc.arg(cap_ms)::bigint::double precision,
                 sqlc.arg(base_ms)::bigint * power(2::double precision,
                     least((CASE WHEN f.last_failed_at <= sqlc.arg(now)::timestamptz - sqlc.arg(forget_after_ms)::bigint * interval '1 millisecond'
                                 THEN 1 ELSE f.failures + 1 END) - sqlc.arg(free_attempts)::integer - 1, 40)))
             * interval '1 millisecond' END
RETURNING *;

-- name: LoginBlocks :many
-- The keys of one sign-in attempt that are blocked at @now.
SELECT kind, key, blocked_until::timestamptz AS blocked_until FROM iam.login_failures
WHERE tenant_id = sqlc.arg(tenant_id)
  AND ((kind = 'account' AND key = sqlc.arg(account)) OR (kind = 'address' AND key = sqlc.arg(address)))
  AND blocked_until > sqlc.arg(now)::timestamptz;

-- name: ResetLoginFailures :exec
DELETE FROM iam.login_failures WHERE tenant_id = sqlc.arg(tenant_id) AND kind = sqlc.arg(kind) AND key = sqlc.arg(key);

-- name: PurgeLoginFailures :execrows
-- Keys quiet for long enough to be forgotten and no longer blocked.
DELETE FROM iam.login_failures
WHERE last_failed_at < sqlc.arg(before) AND (blocked_until IS NULL OR blocked_until < sqlc.arg(before));
