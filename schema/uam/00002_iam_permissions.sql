-- +goose Up
-- Permissions declared by the Config Vault's signing operation and the IAM
-- service's client registry (a test holds the catalogue to openapi/*.yaml).
INSERT INTO uam.permissions (id, name, level, description) VALUES
    ('00000000-0000-7000-8000-000000000113', 'tokens:sign',   'platform', 'Sign tokens with a tenant''s keys (the IAM service only).'),
    ('00000000-0000-7000-8000-000000000114', 'clients:read',  'tenant',   'Read machine clients.'),
    ('00000000-0000-7000-8000-000000000115', 'clients:write', 'tenant',   'Register, change and delete machine clients and issue their secrets.');

-- viewer reads everything of its tenant, the new readable resources included.
INSERT INTO uam.role_permissions (role_id, permission_id)
VALUES ('00000000-0000-7000-8000-000000000203', '00000000-0000-7000-8000-000000000114');

-- +goose Down
DELETE FROM uam.permissions WHERE id IN ('00000000-0000-7000-8000-000000000113',
    '00000000-0000-7000-8000-000000000114', '00000000-0000-7000-8000-000000000115');
