-- +goose Up
CREATE SCHEMA IF NOT EXISTS configvault;

-- Config Vault: tenants, their sites and their signing keys. Every table that a
-- tenant owns leads its primary key with tenant_id (ARCHITECTURE.md §6); ids are
-- UUIDv7, so ordering by id is creation order for keyset pagination.

CREATE TABLE configvault.tenants (
    id         uuid        PRIMARY KEY,
    name       text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    -- Stored lower-case so the unique constraint compares case-insensitively.
    domain     text        NOT NULL CHECK (domain = lower(domain) AND char_length(domain) BETWEEN 1 AND 253),
    is_active  boolean     NOT NULL DEFAULT true,
    -- Bumped by every change; the ETag is derived from it.
    version    bigint      NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_domain_key UNIQUE (domain)
);

CREATE TABLE configvault.sites (
    tenant_id  uuid        NOT NULL REFERENCES configvault.tenants (id) ON DELETE CASCADE,
    id         uuid        NOT NULL,
    name       text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    -- A hostname belongs to one site, whatever the tenant.
    domain     text        NOT NULL CHECK (domain = lower(domain) AND char_length(domain) BETWEEN 1 AND 253),
    is_active  boolean     NOT NULL DEFAULT true,
    version    bigint      NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT sites_id_key UNIQUE (id),
    CONSTRAINT sites_domain_key UNIQUE (domain)
);

CREATE TABLE configvault.signing_keys (
    tenant_id              uuid        NOT NULL REFERENCES configvault.tenants (id) ON DELETE CASCADE,
    id                     uuid        NOT NULL,
    -- NULL for a tenant-level key. The composite foreign key makes a key for a
    -- site of another tenant impossible, not merely checked.
    site_id                uuid,
    kid                    text        NOT NULL,
    algorithm              text        NOT NULL CHECK (algorithm IN ('RS256', 'PS256', 'ES256', 'EdDSA')),
    key_size               integer     CHECK (key_size IN (2048, 3072, 4096)),
    public_key_pem         text        NOT NULL,
    public_jwk             jsonb       NOT NULL,
    -- AES-256-GCM ciphertext of the PKCS#8 private key, bound to the row id;
    -- master_key_id names the master key that sealed it, for rotation.
    private_key_ciphertext bytea       NOT NULL,
    master_key_id          text        NOT NULL,
    status                 text        NOT NULL CHECK (status IN ('active', 'inactive', 'revoked')),
    expires_at             timestamptz NOT NULL,
    revoked_at             timestamptz,
    version                bigint      NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT signing_keys_id_key UNIQUE (id),
    CONSTRAINT signing_keys_kid_key UNIQUE (kid),
    CONSTRAINT signing_keys_site_fkey FOREIGN KEY (tenant_id, site_id)
        REFERENCES configvault.sites (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT signing_keys_rsa_size CHECK ((algorithm IN ('RS256', 'PS256')) = (key_size IS NOT NULL)),
    CONSTRAINT signing_keys_revoked_at CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);

CREATE INDEX signing_keys_site_idx ON configvault.signing_keys (tenant_id, site_id, id);
CREATE INDEX sites_tenant_idx ON configvault.sites (tenant_id, id);

-- +goose Down
DROP TABLE configvault.signing_keys;
DROP TABLE configvault.sites;
DROP TABLE configvault.tenants;
