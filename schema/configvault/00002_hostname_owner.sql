-- +goose Up
-- A hostname belongs to one tenant, whether it names the tenant or one of its
-- sites: a site may use its own tenant's domain, never another tenant's, and
-- a tenant may not take a domain that a site of another tenant uses.
--
-- Duplicates within one table are the unique constraints' business
-- (tenants_domain_key, sites_domain_key, with their own messages). What no
-- index can state is the rule across the two tables, so each trigger checks
-- only the other table: a tenant row the sites of other tenants, a site row
-- the tenants other than its own. They fire on INSERT and on an UPDATE that
-- changes the domain (or, for a site, its tenant), not on every update.
--
-- Concurrency: writers of one hostname are serialised by a transaction-scoped
-- advisory lock on it, and each check runs with a fresh snapshot (READ
-- COMMITTED, volatile function) taken after the lock, so two concurrent
-- claims cannot both succeed.
--
-- Lock order: a tenant row before a hostname lock, never the other way.
--   - A tenant UPDATE holds its row (taken before BEFORE triggers run) when
--     it asks for the hostname lock.
--   - A site INSERT needs its tenant row too: its foreign key check takes it
--     FOR KEY SHARE at the end of the statement. Taken there, after the
--     hostname lock, it deadlocks with a rename of that tenant to the same
--     hostname (the INSERT holds the hostname and waits for the row, the
--     rename holds the row and waits for the hostname). So the trigger takes
--     it first, FOR KEY SHARE like the check, which then finds it held. The
--     same holds for an UPDATE that moves a site to another tenant.
--   - A site UPDATE that keeps its tenant takes no tenant lock: no foreign
--     key check runs, and it already holds the site row, which a tenant
--     DELETE's cascade wants after the tenant row; taking the tenant row here
--     would close that into a cycle.
--   - A tenant INSERT holds no other row.

-- Existing rows must obey the rule before it is enforced; a trigger would
-- only catch later writes. The lock (the one CREATE TRIGGER takes anyway)
-- keeps writers out from the check until the triggers are in place.
LOCK TABLE configvault.tenants, configvault.sites IN SHARE ROW EXCLUSIVE MODE;

-- +goose StatementBegin
DO $$
DECLARE
    total  bigint;
    listed text;
BEGIN
    SELECT count(*), string_agg(domain, ', ' ORDER BY domain) FILTER (WHERE n <= 10)
    INTO total, listed
    FROM (
        SELECT s.domain, row_number() OVER (ORDER BY s.domain) AS n
        FROM configvault.sites s
        JOIN configvault.tenants t ON t.domain = s.domain AND t.id <> s.tenant_id
    ) clash;
    IF total > 0 THEN
        RAISE EXCEPTION 'configvault: % hostname(s) are the domain of one tenant and of a site of another tenant: %; give each hostname to one tenant (change the tenant''s or the site''s domain) and migrate again',
            total, listed || CASE WHEN total > 10 THEN format(' and %s more', total - 10) ELSE '' END
            USING ERRCODE = 'unique_violation',
                  HINT = 'SELECT s.domain, s.id AS site_id, s.tenant_id AS site_tenant_id, t.id AS tenant_id FROM configvault.sites s JOIN configvault.tenants t ON t.domain = s.domain AND t.id <> s.tenant_id ORDER BY s.domain;';
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION configvault.claim_tenant_hostname() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('configvault.hostname:' || NEW.domain, 0));
    IF EXISTS (SELECT 1 FROM configvault.sites WHERE domain = NEW.domain AND tenant_id <> NEW.id) THEN
        RAISE EXCEPTION 'hostname % belongs to a site of another tenant', NEW.domain
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'hostname_owner';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION configvault.claim_site_hostname() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The tenant row before the hostname lock (see the lock order above).
    IF TG_OP = 'INSERT' OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id THEN
        PERFORM 1 FROM configvault.tenants WHERE id = NEW.tenant_id FOR KEY SHARE;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('configvault.hostname:' || NEW.domain, 0));
    IF EXISTS (SELECT 1 FROM configvault.tenants WHERE domain = NEW.domain AND id <> NEW.tenant_id) THEN
        RAISE EXCEPTION 'hostname % belongs to another tenant', NEW.domain
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'hostname_owner';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER tenants_hostname_owner_insert BEFORE INSERT ON configvault.tenants
    FOR EACH ROW EXECUTE FUNCTION configvault.claim_tenant_hostname();
CREATE TRIGGER tenants_hostname_owner_update BEFORE UPDATE OF domain ON configvault.tenants
    FOR EACH ROW WHEN (OLD.domain IS DISTINCT FROM NEW.domain)
    EXECUTE FUNCTION configvault.claim_tenant_hostname();
CREATE TRIGGER sites_hostname_owner_insert BEFORE INSERT ON configvault.sites
    FOR EACH ROW EXECUTE FUNCTION configvault.claim_site_hostname();
CREATE TRIGGER sites_hostname_owner_update BEFORE UPDATE OF domain, tenant_id ON configvault.sites
    FOR EACH ROW WHEN (OLD.domain IS DISTINCT FROM NEW.domain OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION configvault.claim_site_hostname();

-- +goose Down
DROP TRIGGER sites_hostname_owner_update ON configvault.sites;
DROP TRIGGER sites_hostname_owner_insert ON configvault.sites;
DROP TRIGGER tenants_hostname_owner_update ON configvault.tenants;
DROP TRIGGER tenants_hostname_owner_insert ON configvault.tenants;
DROP FUNCTION configvault.claim_site_hostname();
DROP FUNCTION configvault.claim_tenant_hostname();
