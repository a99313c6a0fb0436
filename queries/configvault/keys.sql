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
-- The key that signs now: active and unexpired, of an active tenant and, when
-- site_id is given, of an active site (an inactive site gets no key at all,
-- not its tenant's); a site's own key before its tenant's, newest first.
-- s is the requested site (NULL without site_id), joined to every candidate.
SELECT k.* FROM configvault.signing_keys k
JOIN configvault.tenants t ON t.id = k.tenant_id
LEFT JOIN configvault.sites s ON s.tenant_id = k.tenant_id AND s.id = sqlc.narg(site_id)::uuid
WHERE k.tenant_id = @tenant_id
  AND (k.site_id IS NULL OR k.site_id = sqlc.narg(site_id)::uuid)
  AND k.status = 'active'
  AND k.expires_at > now()
  AND t.is_active
  AND (sqlc.narg(site_id)::uuid IS NULL OR s.is_active)
ORDER BY (k.site_id IS NOT NULL) DESC, k.id DESC
LIMIT 1;

-- name: PublishedKeys :many
-- The JWKS: unexpired, unrevoked keys of an active tenant — its own, plus one
-- site's when site_id is given, and then nothing at all if that site is
-- inactive. s is the requested site, as in ActiveKey.
SELECT k.* FROM configvault.signing_keys k
JOIN configvault.tenants t ON t.id = k.tenant_id
LEFT JOIN configvault.sites s ON s.tenant_id = k.tenant_id AND s.id = sqlc.narg(site_id)::uuid
WHERE k.tenant_id = @tenant_id
  AND (k.site_id IS NULL OR k.site_id = sqlc.narg(site_id)::uuid)
  AND k.status IN ('active', 'inactive')
  AND k.expires_at > now()
  AND t.is_active
  AND (sqlc.narg(site_id)::uuid IS NULL OR s.is_active)
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
