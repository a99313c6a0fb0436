-- +goose Up
-- tenants:access makes a member of the platform tenant a platform
-- administrator (it acts in every tenant with the other permissions it holds)
-- without the power over tenants themselves that tenants:write gives: a
-- support engineer's role can be tenants:access with users:read, reading
-- every tenant's users and changing nothing. Like every platform-level
-- permission, only the platform tenant's roles and clients may hold it (a
-- test holds the catalogue's platform-level names to authn.PlatformPermissions).
INSERT INTO uam.permissions (id, name, level, description) VALUES
    ('00000000-0000-7000-8000-000000000116', 'tenants:access', 'platform',
     'Act in every tenant with the other permissions held (the platform tenant''s roles and clients only).');

-- +goose Down
DELETE FROM uam.permissions WHERE id = '00000000-0000-7000-8000-000000000116';
