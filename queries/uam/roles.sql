-- name: CreateRole :one
-- Built-in role names are reserved (case-insensitively): they only change with
-- migrations, so this check cannot race. No row back means a built-in name.
INSERT INTO uam.roles (id, tenant_id, name, description)
SELECT @id, @tenant_id, @name, @description
WHERE NOT EXISTS (SELECT 1 FROM uam.roles b WHERE b.tenant_id IS NULL AND lower(b.name) = lower(@name))
RETURNING *;

-- name: GetRole :one
-- A role the tenant can see: its own or a built-in one.
SELECT * FROM uam.roles WHERE id = @id AND (tenant_id = @tenant_id OR tenant_id IS NULL);

-- name: LockRole :one
-- Serialises changes of one role's permission set with its version bump.
SELECT * FROM uam.roles WHERE id = @id AND (tenant_id = @tenant_id OR tenant_id IS NULL) FOR UPDATE;

-- name: ListRoles :many
-- Built-in roles have the smallest ids, so they come first.
SELECT * FROM uam.roles
WHERE (tenant_id = @tenant_id OR tenant_id IS NULL)
  AND (sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after))
ORDER BY id
LIMIT @row_limit;

-- name: UpdateRole :one
-- Only the tenant's own roles change; built-in ones have no tenant_id. The
-- caller holds the row lock (LockRole) and has checked the version. No row
-- back: the new name is a built-in role's.
UPDATE uam.roles r SET
    name        = coalesce(sqlc.narg(name), r.name),
    description = coalesce(sqlc.narg(description), r.description),
    version     = r.version + 1,
    updated_at  = now()
WHERE r.tenant_id = @tenant_id AND r.id = @id
  AND (sqlc.narg(name)::text IS NULL OR NOT EXISTS (
        SELECT 1 FROM uam.roles b WHERE b.tenant_id IS NULL AND lower(b.name) = lower(sqlc.narg(name)::text)))
RETURNING *;

-- name: DeleteRole :execrows
-- Its assignments and permission links go through ON DELETE CASCADE.
DELETE FROM uam.roles
WHERE tenant_id = @tenant_id AND id = @id
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]));

-- name: ClearRolePermissions :exec
DELETE FROM uam.role_permissions WHERE role_id = @role_id;

-- name: AddRolePermissions :exec
INSERT INTO uam.role_permissions (role_id, permission_id)
SELECT @role_id, unnest(@permission_ids::uuid[])
ON CONFLICT DO NOTHING;

-- name: RemoveRolePermission :exec
DELETE FROM uam.role_permissions WHERE role_id = @role_id AND permission_id = @permission_id;

-- name: RolePermissionNames :many
-- The permission names of the given roles as the tenant sees them: direct
-- grants, and for tenant-admin-like roles every tenant-level permission, the
-- tenant's own included. Two plain joins rather than one OR-join, which would
-- run a subquery per (role, permission) pair.
SELECT g.role_id, g.name FROM (
    SELECT rp.role_id, p.name
    FROM uam.role_permissions rp JOIN uam.permissions p ON p.id = rp.permission_id
    WHERE rp.role_id = ANY (@role_ids::uuid[]) AND (p.tenant_id IS NULL OR p.tenant_id = @tenant_id::uuid)
    UNION
    SELECT r.id AS role_id, p.name
    FROM uam.roles r JOIN uam.permissions p ON p.level = 'tenant' AND (p.tenant_id IS NULL OR p.tenant_id = @tenant_id::uuid)
    WHERE r.id = ANY (@role_ids::uuid[]) AND r.all_tenant_permissions
) g
ORDER BY g.role_id, g.name COLLATE "C";
