-- name: CreateKey :one
INSERT INTO configvault.signing_keys (
    tenant_id, id, site_id, kid, algorithm, key_size, public_key_pem, public_jwk,
    private_key_ciphertext, master_key_id, status, expires_at
) VALUES (
    @tenant_id, @id, sqlc.narg(site_id), @kid, @algorithm, sqlc.narg(key_size), @public_key_pem, @public_jwk,
    @private_key_ciphertext, @master_key_id, 'active', @expires_at
)
RETURNING *;

-- name: GetKeyByID :one
SELECT * FROM configvault.signing_keys WHERE id = @id;

-- name: GetKeyByKid :one
SELECT * FROM configvault.signing_keys WHERE kid = @kid;

-- name: KeyOwnerExists :one
-- Whether a new key's tenant exists and, when site_id is given, that site
-- exists in that tenant: checked before the costly key generation. The
-- foreign keys still decide at insert.
SELECT
    EXISTS (SELECT 1 FROM configvault.tenants t WHERE t.id = @tenant_id) AS tenant_exists,
    (sqlc.narg(site_id)::uuid IS NULL OR EXISTS (
        SELECT 1 FROM configvault.sites s WHERE s.tenant_id = @tenant_id AND s.id = sqlc.narg(site_id)::uuid
    )) AS site_exists;

-- name: ListKeys :many
-- A tenant's keys (site_id NULL) or one site's keys (site_id set). The status
-- filter compares the effective status: a key past expires_at that is not
-- revoked is 'expired' (the stored state stays active or inactive).
SELECT * FROM configvault.signing_keys
WHERE tenant_id = @tenant_id
  AND (sqlc.narg(site_id)::uuid IS NULL OR site_id = sqlc.narg(site_id))
  AND (sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after))
  AND (sqlc.narg(status)::text IS NULL OR
       CASE WHEN status <> 'revoked' AND expires_at <= now() THEN 'expired' ELSE status END = sqlc.narg(status)::text)
ORDER BY id
LIMIT @row_limit;

-- name: ActiveKey :one
-- The key that signs now for one owner: a tenant (tenant_id given: its
-- tenant-level keys) or a site (site_id given: its own keys, then its
-- tenant's; with tenant_id given too, only a site of that tenant counts).
-- Active and unexpired, a site's own key before its tenant's, then the
-- newest key published for at least a minute (else the oldest).
-- An owner that is inactive, or whose tenant is, has none at all (an inactive
-- site does not fall back to its tenant's key): that rule is written here and
-- in PublishedKeys, nowhere else. With valid_until (signing a token that
-- expires then), only a key that stays unexpired until then counts, so that
-- no token outlives the published key that verifies it. One row when the
-- owner exists, with the owner's state so the caller can say why there is no
-- key, and the key's columns, all NULL when there is none; no row when the
-- owner does not exist.
--
-- Written without a branch per kind of owner, so that PostgreSQL's generic
-- plan costs what a custom one does and is kept: SignToken runs this on every
-- token, and replanning would cost more than executing.
SELECT t.is_active AS tenant_is_active, coalesce(s.is_active, true)::boolean AS site_is_active, k.*
FROM configvault.tenants t
LEFT JOIN configvault.sites s ON s.tenant_id = t.id AND s.id = sqlc.narg(site_id)::uuid
LEFT JOIN configvault.signing_keys k ON k.id = (
    SELECT c.id FROM configvault.signing_keys c
    WHERE t.is_active AND coalesce(s.is_active, true)
      AND c.tenant_id = t.id
      AND (c.site_id IS NULL OR c.site_id = s.id)
      AND c.status = 'active'
      AND c.expires_at > now()
      AND (sqlc.narg(valid_until)::timestamptz IS NULL OR c.expires_at >= sqlc.narg(valid_until)::timestamptz)
    -- A key signs once it has been published for a minute, the time
    -- verifiers may keep a key set cached: a token signed by a key they have
    -- not fetched yet would be refused. Among such keys the newest signs;
    -- when there is none, the one published longest.
    ORDER BY (c.site_id IS NOT NULL) DESC,
             c.created_at <= now() - interval '60 seconds' DESC,
             CASE WHEN c.created_at <= now() - interval '60 seconds' THEN c.id END DESC NULLS LAST,
             c.id
    LIMIT 1
)
WHERE t.id = coalesce(sqlc.narg(tenant_id)::uuid,
                      (SELECT st.tenant_id FROM configvault.sites st WHERE st.id = sqlc.narg(site_id)::uuid))
  AND (sqlc.narg(site_id)::uuid IS NULL OR s.id IS NOT NULL);

-- name: PublishedKeys :many
-- The JWKS of one owner, chosen as in ActiveKey: the unexpired, unrevoked
-- (active or inactive) keys of a tenant, or of a site and its tenant; none
-- at all when the owner or its tenant is inactive. No row when the owner
-- does not exist; one row with a NULL public_jwk when it publishes nothing.
WITH owner AS (
    SELECT t.id AS tenant_id, NULL::uuid AS site_id, t.is_active AS tenant_is_active, true AS site_is_active
    FROM configvault.tenants t
    WHERE sqlc.narg(site_id)::uuid IS NULL AND t.id = sqlc.narg(tenant_id)::uuid
    UNION ALL
    SELECT s.tenant_id, s.id, t.is_active, s.is_active
    FROM configvault.sites s
    JOIN configvault.tenants t ON t.id = s.tenant_id
    WHERE s.id = sqlc.narg(site_id)::uuid
)
SELECT k.public_jwk
FROM owner o
LEFT JOIN configvault.signing_keys k
       ON o.tenant_is_active AND o.site_is_active
      AND k.tenant_id = o.tenant_id
      AND (k.site_id IS NULL OR k.site_id = o.site_id)
      AND k.status IN ('active', 'inactive')
      AND k.expires_at > now()
ORDER BY k.id;

-- name: SetKeyStatus :one
UPDATE configvault.signing_keys SET
    status     = @status,
    revoked_at = CASE WHEN @status = 'revoked' THEN coalesce(revoked_at, now()) END,
    version    = version + 1,
    updated_at = now()
WHERE id = @id
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]))
RETURNING *;

-- name: DeleteKey :execrows
DELETE FROM configvault.signing_keys
WHERE id = @id
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]));

-- name: KeysSealedWith :many
-- For master-key rotation: keys not sealed under the current master key.
SELECT tenant_id, id, private_key_ciphertext, master_key_id FROM configvault.signing_keys
WHERE master_key_id <> @current_master_key_id
ORDER BY id
LIMIT @row_limit;

-- name: KeysByMasterKey :many
-- How many keys each master key sealed, for the startup check that every one
-- of them is configured.
SELECT master_key_id, count(*) AS keys FROM configvault.signing_keys
GROUP BY master_key_id
ORDER BY master_key_id;

-- name: ResealKey :execrows
UPDATE configvault.signing_keys SET
    private_key_ciphertext = @private_key_ciphertext,
    master_key_id          = @master_key_id
WHERE id = @id AND master_key_id = @previous_master_key_id;

-- name: LockTenantKeyCreation :exec
-- Serialises the creation of a tenant's key on first need (signing a token
-- when the tenant has no usable key): held until the transaction ends, so a
-- second creator, after waiting, looks again and finds the first one's key.
-- Bounded by lock_timeout (SetLocalLockTimeout), whose expiry is SQLSTATE 55P03.
SELECT pg_advisory_xact_lock(hashtextextended('configvault.signing-key:' || sqlc.arg(tenant_id)::uuid::text, 0));

-- name: SetLocalLockTimeout :exec
-- How long the rest of the transaction waits for any lock, e.g. '3s'.
SELECT set_config('lock_timeout', @timeout::text, true);
