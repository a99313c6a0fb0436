-- name: CreateTenant :one
INSERT INTO configvault.tenants (id, name, domain, is_active)
VALUES (@id, @name, @domain, @is_active)
RETURNING *;

-- name: GetTenant :one
SELECT * FROM configvault.tenants WHERE id = @id;

-- name: ListTenants :many
-- Keyset pagination: ids are UUIDv7, so id order is creation order.
SELECT * FROM configvault.tenants
WHERE (sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after))
  AND (sqlc.narg(is_active)::boolean IS NULL OR is_active = sqlc.narg(is_active))
ORDER BY id
LIMIT @row_limit;

-- name: UpdateTenant :one
-- Omitted (NULL) fields keep their value. With expected_versions set (If-Match),
-- a row whose version is not among them is left alone and no row comes back.
UPDATE configvault.tenants SET
    name       = coalesce(sqlc.narg(name), name),
    domain     = coalesce(sqlc.narg(domain), domain),
    is_active  = coalesce(sqlc.narg(is_active), is_active),
    version    = version + 1,
    updated_at = now()
WHERE id = @id
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]))
RETURNING *;

-- name: DeleteTenant :execrows
-- Sites and keys go with the tenant through ON DELETE CASCADE, in one statement.
DELETE FROM configvault.tenants
WHERE id = @id
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]));
