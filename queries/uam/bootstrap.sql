-- name: LockTenantBootstrap :exec
-- Serialises bootstrapping a tenant's first administrator across replicas,
-- until the transaction ends.
SELECT pg_advisory_xact_lock(hashtextextended('uam.bootstrap:' || sqlc.arg(tenant_id)::uuid::text, 0));
