-- Sign-in throttling; the rules are in schema/iam/00003_login_attempts_counted_first.sql.
-- sqlc.arg() rather than @name throughout: sqlc v1.31 mis-parses these
-- statements with @name parameters. Durations come in as milliseconds, times
-- as parameters. Address keys have no tenant (tenant_id NULL), hence IS NOT
-- DISTINCT FROM where rows are matched to keys.
--
-- The two statements of a sign-in commit without waiting for the WAL flush
-- (async_commit: set_config local to the statement's own transaction). What
-- they write is visible to every other attempt at once, which is what
-- bounds concurrent guesses; only durability waits (wal_writer_delay, 200 ms
-- by default): a PostgreSQL crash may forget the attempts of its last
-- fraction of a second, against blocks of seconds to minutes. Measured under
-- bench-load's login scenario, the two flushes were ~0.7 ms of PostgreSQL's
-- CPU per sign-in, CPU taken from the password hashes.

-- name: CountLoginAttempt :one
-- Counts one sign-in attempt against each of its keys, given as parallel
-- arrays with their policies, all or none: none when a key is blocked at now,
-- and then blocked_until is the end of the longest block; otherwise it is now
-- and the attempt goes ahead.
--
-- The keys' rows are locked first, in one order (current): an attempt on one of
-- them waits here until this one commits, then reads what it counted, so the
-- attempts on a key are decided one after another and no more go ahead than
-- its free ones and the one that blocks it. A key that a concurrent attempt
-- created after this statement began cannot be locked so: inserting it fails
-- with a unique violation (login_failures_key), and the caller runs the
-- statement again, which finds the row.
WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true)),
given AS (
    SELECT unnest(sqlc.arg(kinds)::text[]) AS kind, unnest(sqlc.arg(keys)::text[]) AS key,
           unnest(sqlc.arg(free_attempts)::integer[]) AS free_attempts, unnest(sqlc.arg(base_ms)::bigint[]) AS base_ms,
           unnest(sqlc.arg(cap_ms)::bigint[]) AS cap_ms, unnest(sqlc.arg(forget_after_ms)::bigint[]) AS forget_after_ms
),
attempt AS (
    SELECT CASE WHEN g.kind <> 'address' THEN sqlc.arg(tenant_id)::uuid END AS tenant_id, g.*
    FROM given g
),
current AS MATERIALIZED (
    SELECT f.* FROM iam.login_failures f
    JOIN attempt a ON f.kind = a.kind AND f.key = a.key AND f.tenant_id IS NOT DISTINCT FROM a.tenant_id
    ORDER BY f.kind, f.key, f.tenant_id
    FOR UPDATE OF f
),
refusal AS (
    SELECT max(blocked_until) AS blocked_until FROM current WHERE blocked_until > sqlc.arg(now)::timestamptz
),
-- Each key's count with this attempt (from 1 again after forget_after quiet)
-- and the block it starts: base_ms * 2^(n-1) for the n-th attempt beyond the
-- free ones, at most cap_ms. Nothing when the attempt is refused.
counted AS (
    SELECT a.tenant_id, a.kind, a.key, c.key IS NOT NULL AS stored, n.failures,
           CASE WHEN n.failures > a.free_attempts
                THEN sqlc.arg(now)::timestamptz + least(a.cap_ms::double precision,
                         a.base_ms * power(2::double precision, least(n.failures - a.free_attempts - 1, 40)))
                     * interval '1 millisecond'
           END AS blocked_until
    FROM attempt a
    LEFT JOIN current c ON c.kind = a.kind AND c.key = a.key AND c.tenant_id IS NOT DISTINCT FROM a.tenant_id
    CROSS JOIN LATERAL (
        SELECT CASE WHEN c.last_failed_at > sqlc.arg(now)::timestamptz - a.forget_after_ms * interval '1 millisecond'
                    THEN c.failures + 1 ELSE 1 END AS failures
    ) n
    WHERE (SELECT blocked_until FROM refusal) IS NULL
),
updated AS (
    UPDATE iam.login_failures f
    SET failures = n.failures, last_failed_at = sqlc.arg(now)::timestamptz, blocked_until = n.blocked_until
    FROM counted n
    WHERE n.stored AND f.kind = n.kind AND f.key = n.key AND f.tenant_id IS NOT DISTINCT FROM n.tenant_id
),
-- In one order too, so that two attempts inserting the same new keys cannot
-- wait for each other.
inserted AS (
    INSERT INTO iam.login_failures (tenant_id, kind, key, failures, last_failed_at, blocked_until)
    SELECT tenant_id, kind, key, failures, sqlc.arg(now)::timestamptz, blocked_until
    FROM counted WHERE NOT stored
    ORDER BY kind, key
)
SELECT coalesce(blocked_until, sqlc.arg(now)::timestamptz)::timestamptz AS blocked_until FROM refusal, async_commit;

-- name: ForgiveLoginAttempt :exec
-- A right password: the account and pair keys start afresh, and the address
-- takes back this one attempt, unblocked once none beyond its free ones is
-- left. An empty key matches nothing. The rows are locked first in
-- CountLoginAttempt's order (kind, key, tenant): locked in another, a
-- sign-in and a concurrent attempt on the same keys could each hold a row
-- the other waits for.
--
-- Starting afresh sets the count to zero and keeps the row (PurgeLoginFailures
-- deletes it once quiet): deleted, it was inserted again by the next attempt,
-- and concurrent sign-ins of one account kept running into each other's
-- inserts until CountLoginAttempt gave up with a unique violation. A kept row
-- is also one in-place update per sign-in instead of an insert and a delete.
-- The async_commit column is evaluated for every row locked: locking one
-- writes (its transaction id into the row), so the commit then skips the
-- flush whether or not the UPDATE changes anything.
WITH locked AS MATERIALIZED (
    SELECT f.tenant_id, f.kind, f.key, set_config('synchronous_commit', 'off', true) AS async_commit
    FROM iam.login_failures f
    WHERE (f.tenant_id = sqlc.arg(tenant_id)::uuid
           AND ((f.kind = 'account' AND f.key = sqlc.arg(account)) OR (f.kind = 'pair' AND f.key = sqlc.arg(pair))))
       OR (f.tenant_id IS NULL AND f.kind = 'address' AND f.key = sqlc.arg(address))
    ORDER BY f.kind, f.key, f.tenant_id
    FOR UPDATE OF f
)
UPDATE iam.login_failures f
SET failures = CASE WHEN l.kind = 'address' THEN f.failures - 1 ELSE 0 END,
    blocked_until = CASE WHEN l.kind = 'address' AND f.failures - 1 > sqlc.arg(address_free_attempts)::integer
                         THEN f.blocked_until END
FROM locked l
WHERE f.kind = l.kind AND f.key = l.key AND f.tenant_id IS NOT DISTINCT FROM l.tenant_id
  AND f.failures > 0;

-- name: PurgeLoginFailures :execrows
-- Keys quiet for long enough to be forgotten and no longer blocked.
DELETE FROM iam.login_failures
WHERE last_failed_at < sqlc.arg(before) AND (blocked_until IS NULL OR blocked_until < sqlc.arg(before));
