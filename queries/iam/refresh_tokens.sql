-- Times come in as parameters (@now) rather than now(), so that the service's
-- clock decides, and tests can move it.

-- name: IssueRefreshToken :one
-- The first token of a new family.
INSERT INTO iam.refresh_tokens (tenant_id, id, family_id, token_hash, user_id,
                                issued_at, idle_expires_at, family_expires_at, security_stamp)
VALUES (@tenant_id, @id, @family_id, @token_hash, @user_id,
        @issued_at, @idle_expires_at, @family_expires_at, sqlc.narg(security_stamp))
RETURNING *;

-- name: RotateRefreshToken :one
-- In one statement: spend the presented token, only if it is unused,
-- unrevoked, unexpired and of an unrevoked family, and insert its successor in
-- the same family (same absolute expiry, new idle expiry, never past the
-- absolute one). Concurrent rotations of one token queue on its row lock; the
-- first spends it, the others re-check used_at and get no row. No row back:
-- the token is unknown, spent, revoked or expired (RevokeReusedFamily tells
-- which matters).
WITH spent AS (
    UPDATE iam.refresh_tokens t SET used_at = @now::timestamptz
    WHERE t.token_hash = @token_hash
      AND t.used_at IS NULL AND t.revoked_at IS NULL
      AND t.idle_expires_at > @now AND t.family_expires_at > @now
      AND NOT EXISTS (
            SELECT 1 FROM iam.refresh_tokens r
            WHERE r.tenant_id = t.tenant_id AND r.family_id = t.family_id AND r.revoked_at IS NOT NULL)
    RETURNING t.tenant_id, t.family_id, t.user_id, t.family_expires_at, t.security_stamp
)
INSERT INTO iam.refresh_tokens (tenant_id, id, family_id, token_hash, user_id,
                                issued_at, idle_expires_at, family_expires_at, security_stamp)
SELECT s.tenant_id, @new_id, s.family_id, @new_token_hash, s.user_id,
       @now, least(@new_idle_expires_at::timestamptz, s.family_expires_at), s.family_expires_at, s.security_stamp
FROM spent s
RETURNING *;

-- name: RevokeReusedFamily :one
-- A spent token presented again means it leaked (RFC 9700 §4.14.2): revoke its
-- whole family, the live successor included. One row back when the token had
-- been spent (revoked counts the rows this call revoked: 0 when the family was
-- already revoked); no row when it is unknown or was never used.
WITH spent AS (
    SELECT x.tenant_id, x.family_id FROM iam.refresh_tokens x
    WHERE x.token_hash = @token_hash AND x.used_at IS NOT NULL
), revoked AS (
    UPDATE iam.refresh_tokens t SET revoked_at = @now::timestamptz
    FROM spent s
    WHERE t.tenant_id = s.tenant_id AND t.family_id = s.family_id AND t.revoked_at IS NULL
    RETURNING t.id
)
SELECT s.tenant_id, s.family_id, (SELECT count(*) FROM revoked)::bigint AS revoked
FROM spent s;

-- name: RevokeFamilyByToken :execrows
-- Logout: the family of the presented token, whatever that token's state.
UPDATE iam.refresh_tokens t SET revoked_at = @now::timestamptz
FROM iam.refresh_tokens p
WHERE p.token_hash = @token_hash
  AND t.tenant_id = p.tenant_id AND t.family_id = p.family_id AND t.revoked_at IS NULL;

-- name: RevokeUserRefreshTokens :execrows
-- Every family of the user (password changed, user disabled or locked).
UPDATE iam.refresh_tokens SET revoked_at = @now::timestamptz
WHERE tenant_id = @tenant_id AND user_id = @user_id AND revoked_at IS NULL;

-- name: GetRefreshTokenByHash :one
-- The token and whether its family is revoked: a token whose own row is not
-- may still be the successor a revocation's snapshot did not see (see the
-- schema), which RotateRefreshToken refuses alike.
SELECT sqlc.embed(t), EXISTS (
        SELECT 1 FROM iam.refresh_tokens r
        WHERE r.tenant_id = t.tenant_id AND r.family_id = t.family_id AND r.revoked_at IS NOT NULL
    ) AS family_revoked
FROM iam.refresh_tokens t WHERE t.token_hash = @token_hash;

-- name: PurgeRefreshTokens :execrows
-- Families past their absolute expiry are dead whatever their state.
DELETE FROM iam.refresh_tokens WHERE family_expires_at < @before;
