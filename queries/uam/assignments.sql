-- name: AssignRole :one
-- Inserts the assignment when the role is the tenant's or built in and the user
-- is the tenant's; an existing one in the same scope is returned unchanged
-- (the no-op update locks and returns it even when a concurrent request
-- committed it after this statement began). created: xmax is 0 only for a
-- freshly inserted row. No row: no such role or user in the tenant.
WITH role AS (
    SELECT r.id, r.name FROM uam.roles r WHERE r.id = @role_id AND (r.tenant_id = @tenant_id::uuid OR r.tenant_id IS NULL)
), usr AS (
    SELECT u.id FROM uam.users u WHERE u.tenant_id = @tenant_id AND u.id = @user_id
)
INSERT INTO uam.role_assignments AS a (tenant_id, id, user_id, role_id, site_id)
SELECT @tenant_id, @id, usr.id, role.id, sqlc.narg(site_id)::uuid FROM role, usr
ON CONFLICT ON CONSTRAINT role_assignments_scope_key DO UPDATE SET user_id = a.user_id
RETURNING a.id, a.tenant_id, a.user_id, a.role_id, a.site_id, a.created_at,
    (SELECT role.name FROM role)::text AS role_name, (a.xmax = 0)::boolean AS created;

-- name: UnassignRole :execrows
DELETE FROM uam.role_assignments
WHERE tenant_id = @tenant_id AND user_id = @user_id AND role_id = @role_id
  AND site_id IS NOT DISTINCT FROM sqlc.narg(site_id)::uuid;

-- name: ListAssignments :many
SELECT a.id, a.tenant_id, a.user_id, a.role_id, a.site_id, a.created_at, r.name AS role_name
FROM uam.role_assignments a JOIN uam.roles r ON r.id = a.role_id
WHERE a.tenant_id = @tenant_id AND a.user_id = @user_id
  AND (sqlc.narg(after)::uuid IS NULL OR a.id > sqlc.narg(after))
ORDER BY a.id
LIMIT @row_limit;

-- name: EffectivePermissions :many
-- One row per (scope, permission) the user's roles grant: site_id NULL for
-- tenant-wide grants. tenant-admin-like roles grant every tenant-level
-- permission visible to the tenant. UNION removes repeats.
SELECT g.site_id, g.name FROM (
    SELECT a.site_id, p.name
    FROM uam.role_assignments a
    JOIN uam.role_permissions rp ON rp.role_id = a.role_id
    JOIN uam.permissions p ON p.id = rp.permission_id
    WHERE a.tenant_id = @tenant_id AND a.user_id = @user_id AND (p.tenant_id IS NULL OR p.tenant_id = @tenant_id)
    UNION
    SELECT a.site_id, p.name
    FROM uam.role_assignments a
    JOIN uam.roles r ON r.id = a.role_id AND r.all_tenant_permissions
    JOIN uam.permissions p ON p.level = 'tenant' AND (p.tenant_id IS NULL OR p.tenant_id = @tenant_id)
    WHERE a.tenant_id = @tenant_id AND a.user_id = @user_id
) g
ORDER BY g.site_id NULLS FIRST, g.name COLLATE "C";

-- name: UserGrant :one
-- A user with role names and effective permissions in one round trip (for
-- every sign-in and every IAM refresh): the user as GetUser answers it, the
-- names of its roles, and what EffectivePermissions answers. Permissions come as tenant-wide
-- names and, per site, parallel arrays of site ids and names, ordered by
-- site then name. No row: no such user in the tenant.
WITH g AS (
    SELECT a.site_id, p.name
    FROM uam.role_assignments a
    JOIN uam.role_permissions rp ON rp.role_id = a.role_id
    JOIN uam.permissions p ON p.id = rp.permission_id
    WHERE a.tenant_id = @tenant_id AND a.user_id = @user_id AND (p.tenant_id IS NULL OR p.tenant_id = @tenant_id)
    UNION
    SELECT a.site_id, p.name
    FROM uam.role_assignments a
    JOIN uam.roles r ON r.id = a.role_id AND r.all_tenant_permissions
    JOIN uam.permissions p ON p.level = 'tenant' AND (p.tenant_id IS NULL OR p.tenant_id = @tenant_id)
    WHERE a.tenant_id = @tenant_id AND a.user_id = @user_id
)
SELECT sqlc.embed(u),
    coalesce((SELECT array_agg(rn.name ORDER BY rn.name COLLATE "C") FROM (
        SELECT r.name
        FROM uam.role_assignments a JOIN uam.roles r ON r.id = a.role_id
        WHERE a.tenant_id = @tenant_id AND a.user_id = @user_id
        GROUP BY r.name
    ) rn), '{}')::text[] AS role_names,
    coalesce((SELECT array_agg(g.name ORDER BY g.name COLLATE "C") FROM g WHERE g.site_id IS NULL), '{}')::text[] AS tenant_wide,
    coalesce((SELECT array_agg(g.site_id ORDER BY g.site_id, g.name COLLATE "C") FROM g WHERE g.site_id IS NOT NULL), '{}')::uuid[] AS site_ids,
    coalesce((SELECT array_agg(g.name ORDER BY g.site_id, g.name COLLATE "C") FROM g WHERE g.site_id IS NOT NULL), '{}')::text[] AS site_names
FROM uam.users u
WHERE u.tenant_id = @tenant_id AND u.id = @user_id;
