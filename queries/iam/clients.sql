-- name: CreateClient :one
INSERT INTO iam.clients (tenant_id, id, name, secret_hash, scopes, is_active, secret_rotated_at, created_at, updated_at)
VALUES (@tenant_id, @id, @name, @secret_hash, @scopes::text[], @is_active, now(), now(), now())
RETURNING *;

-- name: GetClient :one
SELECT * FROM iam.clients WHERE tenant_id = @tenant_id AND id = @id;

-- name: GetClientByID :one
-- The token endpoint's lookup: client ids are unique across tenants
-- (clients_id_key), and the row names the tenant.
SELECT * FROM iam.clients WHERE id = @id;

-- name: ListClients :many
SELECT * FROM iam.clients
WHERE tenant_id = @tenant_id
  AND (sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after))
ORDER BY id
LIMIT @row_limit;

-- name: UpdateClient :one
-- Omitted (NULL) fields keep their value; with expected_versions, only if the
-- row's version is one of them (If-Match).
UPDATE iam.clients SET
    name       = coalesce(sqlc.narg(name), name),
    scopes     = coalesce(sqlc.narg(scopes)::text[], scopes),
    is_active  = coalesce(sqlc.narg(is_active), is_active),
    version    = version + 1,
    updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]))
RETURNING *;

-- name: RotateClientSecret :one
UPDATE iam.clients SET
    secret_hash       = @secret_hash,
    secret_rotated_at = now(),
    version           = version + 1,
    updated_at        = now()
WHERE tenant_id = @tenant_id AND id = @id
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]))
RETURNING *;

-- name: DeleteClient :execrows
DELETE FROM iam.clients
WHERE tenant_id = @tenant_id AND id = @id
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]));
