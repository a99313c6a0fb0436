-- name: LockTenantBootstrap :exec
-- Serialises bootstrapping a tenant's first administrator across replicas,
-- until the transaction ends.
SELECT pg_advisory_xact_lock(hashtextextended('uam.bootstrap:' || sqlc.arg(tenant_id)::uuid::text, 0));

-- name: EnsureTenantRole :exec
-- Creates the role unless it exists already (a platform tenant bootstrapped
-- again after all its users were deleted still has it).
INSERT INTO uam.roles (id, tenant_id, name, description)
VALUES (@id, @tenant_id, @name, @description)
ON CONFLICT DO NOTHING;
