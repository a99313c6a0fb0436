-- name: CreateSite :one
INSERT INTO configvault.sites (tenant_id, id, name, domain, is_active)
VALUES (@tenant_id, @id, @name, @domain, @is_active)
RETURNING *;

-- name: GetSite :one
SELECT * FROM configvault.sites WHERE id = @id;

-- name: ListSites :many
SELECT * FROM configvault.sites
WHERE (sqlc.narg(tenant_id)::uuid IS NULL OR tenant_id = sqlc.narg(tenant_id))
  AND (sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after))
  AND (sqlc.narg(is_active)::boolean IS NULL OR is_active = sqlc.narg(is_active))
ORDER BY id
LIMIT @row_limit;

-- name: UpdateSite :one
UPDATE configvault.sites SET
    name       = coalesce(sqlc.narg(name), name),
    domain     = coalesce(sqlc.narg(domain), domain),
    is_active  = coalesce(sqlc.narg(is_active), is_active),
    version    = version + 1,
    updated_at = now()
WHERE id = @id
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]))
RETURNING *;

-- name: DeleteSite :execrows
-- The site's keys go with it through ON DELETE CASCADE.
DELETE FROM configvault.sites
WHERE id = @id
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]));
