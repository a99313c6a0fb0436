-- +goose Up
-- A hostname belongs to one tenant, whether it names the tenant or one of its
-- sites: a site may use its own tenant's domain, never another tenant's, and
-- a tenant may not take a domain that a site of another tenant uses. The rule
-- spans two tables, so no unique index can state it; the trigger serialises
-- writers of the same hostname with a transaction-scoped advisory lock, and
-- each check runs with a fresh snapshot (READ COMMITTED, volatile function),
-- so two concurrent claims cannot both succeed.

-- +goose StatementBegin
CREATE FUNCTION configvault.claim_hostname() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    owner uuid;
BEGIN
    -- Assigned per table: each statement is parsed only when it runs, and
    -- a tenants row has no tenant_id.
    IF TG_TABLE_NAME = 'tenants' THEN
        owner := NEW.id;
    ELSE
        owner := NEW.tenant_id;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('configvault.hostname:' || NEW.domain, 0));
    IF EXISTS (SELECT 1 FROM configvault.tenants WHERE domain = NEW.domain AND id <> owner)
       OR EXISTS (SELECT 1 FROM configvault.sites WHERE domain = NEW.domain AND tenant_id <> owner) THEN
        RAISE EXCEPTION 'hostname % belongs to another tenant', NEW.domain
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'hostname_owner';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER tenants_hostname_owner BEFORE INSERT OR UPDATE OF domain ON configvault.tenants
    FOR EACH ROW EXECUTE FUNCTION configvault.claim_hostname();
CREATE TRIGGER sites_hostname_owner BEFORE INSERT OR UPDATE OF domain ON configvault.sites
    FOR EACH ROW EXECUTE FUNCTION configvault.claim_hostname();

-- +goose Down
DROP TRIGGER sites_hostname_owner ON configvault.sites;
DROP TRIGGER tenants_hostname_owner ON configvault.tenants;
DROP FUNCTION configvault.claim_hostname();
