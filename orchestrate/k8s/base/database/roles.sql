-- Roles, schemas and privileges of the saas database.
--
-- Run once, as a superuser, inside the application database, before the
-- first `saas migrate`:
--   docker compose       /docker-entrypoint-initdb.d/10-roles.sql of the postgres container
--   Kubernetes dev       the same, in the dev overlay's PostgreSQL (ConfigMap saas-db-init)
--   Kubernetes prod      CloudNativePG bootstrap.initdb.postInitApplicationSQLRefs (same ConfigMap)
-- It is idempotent: running it again (after migrations, say) changes nothing
-- and grants what is missing.
--
-- Who may do what:
--   saas_owner        owns the database and every schema; `saas migrate` (the
--                     migration Job) logs in as it. In production it is
--                     CloudNativePG's initdb owner; elsewhere logins.sh gives it
--                     a password.
--   saas_<service>    NOLOGIN groups, one per service: USAGE on the service's own
--                     schema and on the shared platform schema, SELECT, INSERT,
--                     UPDATE, DELETE on their tables (no DDL, no TRUNCATE), nothing
--                     on any other service's schema (ARCHITECTURE §8: no SQL across
--                     schemas, now also enforced by the database).
--   <service> logins  config_vault, uam, iam, content: members of their group,
--                     created by logins.sh (compose, dev) or by CloudNativePG's
--                     managed roles (production), each with its own password.
--
-- `saas serve` migrates at start, but creates a schema only when it is
-- missing, so the groups need no CREATE on the database: with every migration
-- already applied by the Job, a service's migration step only reads the
-- version tables; a pending migration makes the service fail to start
-- (permission denied) until the Job has run, which is the order we want.
--
-- Schemas: one per service, named as its pg.Migrations (config-vault's is
-- "configvault"), plus "platform" (idempotency records, migrated with every
-- service). database_test.go fails if a schema/<name>/ directory has no
-- schema here.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['saas_owner', 'saas_config_vault', 'saas_uam', 'saas_iam', 'saas_content'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    EXECUTE format('ALTER DATABASE %I OWNER TO saas_owner', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO saas_config_vault, saas_uam, saas_iam, saas_content',
                   current_database());
END
$$;

CREATE SCHEMA IF NOT EXISTS platform AUTHORIZATION saas_owner;
CREATE SCHEMA IF NOT EXISTS configvault AUTHORIZATION saas_owner;
CREATE SCHEMA IF NOT EXISTS uam AUTHORIZATION saas_owner;
CREATE SCHEMA IF NOT EXISTS iam AUTHORIZATION saas_owner;
CREATE SCHEMA IF NOT EXISTS content AUTHORIZATION saas_owner;
ALTER SCHEMA platform OWNER TO saas_owner;
ALTER SCHEMA configvault OWNER TO saas_owner;
ALTER SCHEMA uam OWNER TO saas_owner;
ALTER SCHEMA iam OWNER TO saas_owner;
ALTER SCHEMA content OWNER TO saas_owner;

-- Each group gets data access to its schemas: to what exists now and, through
-- default privileges, to what saas_owner's migrations create later.
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT * FROM (VALUES
            ('platform', 'saas_config_vault'), ('platform', 'saas_uam'),
            ('platform', 'saas_iam'), ('platform', 'saas_content'),
            ('configvault', 'saas_config_vault'),
            ('uam', 'saas_uam'),
            ('iam', 'saas_iam'),
            ('content', 'saas_content')
        ) AS t(schema_name, grantee)
    LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', g.schema_name, g.grantee);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', g.schema_name, g.grantee);
        EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I', g.schema_name, g.grantee);
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE saas_owner IN SCHEMA %I '
                       'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', g.schema_name, g.grantee);
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE saas_owner IN SCHEMA %I '
                       'GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %I', g.schema_name, g.grantee);
    END LOOP;
END
$$;
