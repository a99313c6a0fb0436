-- name: ListBuiltinPermissions :many
SELECT * FROM uam.permissions
WHERE tenant_id IS NULL AND (sqlc.narg(after)::text IS NULL OR name COLLATE "C" > sqlc.narg(after))
ORDER BY name COLLATE "C"
LIMIT @row_limit;

-- name: ListTenantPermissions :many
SELECT * FROM uam.permissions
WHERE tenant_id = @tenant_id AND (sqlc.narg(after)::text IS NULL OR name COLLATE "C" > sqlc.narg(after))
ORDER BY name COLLATE "C"
LIMIT @row_limit;

-- name: CreatePermission :one
-- Built-in names are reserved: they only change with migrations, so this
-- check cannot race. No row back means the name is a built-in one.
INSERT INTO uam.permissions (id, tenant_id, name, description)
SELECT @id, @tenant_id, @name, @description
WHERE NOT EXISTS (SELECT 1 FROM uam.permissions b WHERE b.tenant_id IS NULL AND b.name = @name)
RETURNING *;

-- name: GetTenantPermission :one
SELECT * FROM uam.permissions WHERE tenant_id = @tenant_id AND name = @name;

-- name: UpdatePermission :one
UPDATE uam.permissions SET
    description = coalesce(sqlc.narg(description), description),
    version     = version + 1,
    updated_at  = now()
WHERE tenant_id = @tenant_id AND name = @name
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]))
RETURNING *;

-- name: DeletePermission :execrows
-- Roles holding it lose it through ON DELETE CASCADE on role_permissions; their
-- versions move on, so their ETags change with their permission sets.
WITH target AS (
    SELECT p.id FROM uam.permissions p
    WHERE p.tenant_id = @tenant_id AND p.name = @name
      AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR p.version = ANY (sqlc.narg(expected_versions)::bigint[]))
), bumped AS (
    UPDATE uam.roles r SET version = r.version + 1, updated_at = now()
    WHERE r.id IN (SELECT rp.role_id FROM uam.role_permissions rp JOIN target t ON rp.permission_id = t.id)
)
DELETE FROM uam.permissions p USING target t WHERE p.id = t.id;

-- name: GrantablePermissions :many
-- The permissions among names that a role of the tenant may hold: built-in
-- ones (platform-level only when allow_platform) and the tenant's own.
SELECT id, name FROM uam.permissions
WHERE name = ANY (@names::text[])
  AND (tenant_id = @tenant_id OR (tenant_id IS NULL AND (level = 'tenant' OR @allow_platform::boolean)));
