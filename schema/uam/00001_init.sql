-- +goose Up
CREATE SCHEMA IF NOT EXISTS uam;

-- UAM: users of each tenant, their profiles, roles, permissions and role
-- assignments. Tenants and sites live in Config Vault; this schema holds their
-- ids only (no SQL across schemas), and the service asks Config Vault whether
-- they exist. Tenant-owned tables lead their keys with tenant_id
-- (ARCHITECTURE.md §6). The catalogue tables (permissions, roles) also hold
-- built-in rows that belong to no tenant (tenant_id NULL), so they are keyed by
-- id alone and every query scopes them with "tenant_id IS NULL OR tenant_id = $t".

CREATE TABLE uam.users (
    tenant_id      uuid        NOT NULL,
    id             uuid        NOT NULL,
    -- Trimmed, as given; uniqueness is case-insensitive (users_email_key).
    email          text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 320 AND email = btrim(email)),
    email_verified boolean     NOT NULL DEFAULT false,
    status         text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'locked')),
    -- An argon2id PHC string, or NULL when no password is set. Never leaves the service.
    password_hash  text,
    version        bigint      NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz,
    PRIMARY KEY (tenant_id, id)
);
-- One index serves both uniqueness and the case-insensitive prefix filter
-- (text_pattern_ops lets LIKE 'prefix%' use it whatever the collation).
CREATE UNIQUE INDEX users_email_key ON uam.users (tenant_id, lower(email) text_pattern_ops);

CREATE TABLE uam.profiles (
    tenant_id    uuid        NOT NULL,
    user_id      uuid        NOT NULL,
    -- Empty string means unset: the API clears a field with "".
    display_name text        NOT NULL DEFAULT '' CHECK (char_length(display_name) <= 200),
    given_name   text        NOT NULL DEFAULT '' CHECK (char_length(given_name) <= 100),
    family_name  text        NOT NULL DEFAULT '' CHECK (char_length(family_name) <= 100),
    avatar_url   text        NOT NULL DEFAULT '' CHECK (char_length(avatar_url) <= 2048),
    locale       text        NOT NULL DEFAULT '' CHECK (char_length(locale) <= 35),
    timezone     text        NOT NULL DEFAULT '' CHECK (char_length(timezone) <= 64),
    phone        text        NOT NULL DEFAULT '' CHECK (phone = '' OR phone ~ '^\+[1-9][0-9]{1,14}$'),
    metadata     jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object' AND octet_length(metadata::text) <= 32768),
    version      bigint      NOT NULL DEFAULT 1,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES uam.users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE uam.permissions (
    id          uuid        PRIMARY KEY,
    -- NULL: built in (declared by the platform's specs), the same for every tenant.
    tenant_id   uuid,
    name        text        NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{0,63}:[a-z][a-z0-9_-]{0,63}$'),
    description text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
    -- platform: acts across tenants, granted only by roles of the platform tenant.
    level       text        NOT NULL DEFAULT 'tenant' CHECK (level IN ('tenant', 'platform')),
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (tenant_id IS NULL OR level = 'tenant')
);
CREATE UNIQUE INDEX permissions_builtin_name_key ON uam.permissions (name) WHERE tenant_id IS NULL;
CREATE UNIQUE INDEX permissions_tenant_name_key ON uam.permissions (tenant_id, name) WHERE tenant_id IS NOT NULL;

CREATE TABLE uam.roles (
    id          uuid        PRIMARY KEY,
    -- NULL: built in, present in every tenant and read-only.
    tenant_id   uuid,
    name        text        NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    description text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
    -- tenant-admin: every tenant-level permission, the tenant's own included,
    -- so it keeps up with new permissions without a role_permissions row each.
    all_tenant_permissions boolean NOT NULL DEFAULT false,
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (tenant_id IS NULL OR NOT all_tenant_permissions)
);
CREATE UNIQUE INDEX roles_builtin_name_key ON uam.roles (lower(name)) WHERE tenant_id IS NULL;
CREATE UNIQUE INDEX roles_tenant_name_key ON uam.roles (tenant_id, lower(name)) WHERE tenant_id IS NOT NULL;

CREATE TABLE uam.role_permissions (
    role_id       uuid NOT NULL REFERENCES uam.roles (id) ON DELETE CASCADE,
    permission_id uuid NOT NULL REFERENCES uam.permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, permission_id)
);
CREATE INDEX role_permissions_permission_idx ON uam.role_permissions (permission_id);

CREATE TABLE uam.role_assignments (
    tenant_id  uuid        NOT NULL,
    id         uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    role_id    uuid        NOT NULL REFERENCES uam.roles (id) ON DELETE CASCADE,
    -- NULL: the role holds tenant-wide; else only on this site of the tenant.
    site_id    uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES uam.users (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT role_assignments_scope_key UNIQUE NULLS NOT DISTINCT (tenant_id, user_id, role_id, site_id)
);
CREATE INDEX role_assignments_role_idx ON uam.role_assignments (role_id);

-- The built-in catalogue: every permission the platform's specs declare (a
-- test compares it with openapi/*.yaml), with fixed ids so that migrations of
-- later services can add theirs the same way.
INSERT INTO uam.permissions (id, name, level, description) VALUES
    ('00000000-0000-7000-8000-000000000101', 'tenants:read',       'tenant',   'Read tenants.'),
    ('00000000-0000-7000-8000-000000000102', 'tenants:write',      'platform', 'Create, change and delete tenants.'),
    ('00000000-0000-7000-8000-000000000103', 'sites:read',         'tenant',   'Read sites.'),
    ('00000000-0000-7000-8000-000000000104', 'sites:write',        'tenant',   'Create, change and delete sites.'),
    ('00000000-0000-7000-8000-000000000105', 'keys:read',          'tenant',   'Read signing keys (public parts only).'),
    ('00000000-0000-7000-8000-000000000106', 'keys:write',         'tenant',   'Create keys and change their lifecycle.'),
    ('00000000-0000-7000-8000-000000000107', 'users:read',         'tenant',   'Read users, their profiles, assignments and effective permissions.'),
    ('00000000-0000-7000-8000-000000000108', 'users:write',        'tenant',   'Create, change and delete users, profiles and passwords.'),
    ('00000000-0000-7000-8000-000000000109', 'roles:read',         'tenant',   'Read roles.'),
    ('00000000-0000-7000-8000-00000000010a', 'roles:write',        'tenant',   'Create, change and delete roles.'),
    ('00000000-0000-7000-8000-00000000010b', 'roles:assign',       'tenant',   'Give roles to users and take them away.'),
    ('00000000-0000-7000-8000-00000000010c', 'permissions:read',   'tenant',   'Read the permission catalogue.'),
    ('00000000-0000-7000-8000-00000000010d', 'permissions:write',  'tenant',   'Create, change and delete the tenant''s own permissions.'),
    ('00000000-0000-7000-8000-00000000010e', 'credentials:verify', 'platform', 'Check users'' passwords (the IAM service only).'),
    ('00000000-0000-7000-8000-00000000010f', 'content:read',       'tenant',   'Read content, drafts included.'),
    ('00000000-0000-7000-8000-000000000110', 'content:write',      'tenant',   'Create and edit content.'),
    ('00000000-0000-7000-8000-000000000111', 'content:publish',    'tenant',   'Publish and unpublish content.'),
    ('00000000-0000-7000-8000-000000000112', 'content:delete',     'tenant',   'Move content to the trash and delete it.');

INSERT INTO uam.roles (id, name, description, all_tenant_permissions) VALUES
    ('00000000-0000-7000-8000-000000000201', 'tenant-admin', 'Every tenant-level permission, the tenant''s own included.', true),
    ('00000000-0000-7000-8000-000000000202', 'editor',       'Writes, publishes and deletes content.', false),
    ('00000000-0000-7000-8000-000000000203', 'viewer',       'Reads everything of the tenant, changes nothing.', false);

INSERT INTO uam.role_permissions (role_id, permission_id)
SELECT '00000000-0000-7000-8000-000000000202', id FROM uam.permissions
WHERE tenant_id IS NULL AND name IN ('content:read', 'content:write', 'content:publish', 'content:delete', 'sites:read');

INSERT INTO uam.role_permissions (role_id, permission_id)
SELECT '00000000-0000-7000-8000-000000000203', id FROM uam.permissions
WHERE tenant_id IS NULL AND level = 'tenant' AND name LIKE '%:read';

-- +goose Down
DROP SCHEMA uam CASCADE;
