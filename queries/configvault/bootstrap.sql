-- name: EnsureTenant :one
-- Creates the tenant unless one with its id exists; either way answers the
-- row, so replicas starting together agree. A domain taken by another
-- tenant fails on tenants_domain_key.
WITH created AS (
    INSERT INTO configvault.tenants (id, name, domain, is_active)
    VALUES (@id, @name, @domain, true)
    ON CONFLICT (id) DO NOTHING
    RETURNING *
)
SELECT * FROM created
UNION ALL
SELECT * FROM configvault.tenants WHERE id = @id AND NOT EXISTS (SELECT 1 FROM created);
