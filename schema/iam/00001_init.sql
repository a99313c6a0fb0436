-- +goose Up
CREATE SCHEMA IF NOT EXISTS iam;

-- IAM: machine clients, refresh tokens and sign-in throttling. Tenants and
-- users live in Config Vault and UAM; this schema holds their ids only (no SQL
-- across schemas). Tenant-owned tables lead their keys with tenant_id
-- (ARCHITECTURE.md §6).

-- Machine clients of a tenant (OAuth 2.0 client credentials).
CREATE TABLE iam.clients (
    tenant_id         uuid        NOT NULL,
    id                uuid        NOT NULL,
    name              text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    -- SHA-256 of a 256-bit random secret. A fast hash is right for a secret
    -- with that much entropy: nothing can be guessed, so there is nothing for a
    -- slow hash to slow down. The secret itself is shown once and never stored.
    secret_hash       bytea       NOT NULL CHECK (octet_length(secret_hash) = 32),
    -- Permission names the client may ask for.
    scopes            text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(scopes) <= 200),
    is_active         boolean     NOT NULL DEFAULT true,
    version           bigint      NOT NULL DEFAULT 1,
    secret_rotated_at timestamptz NOT NULL DEFAULT now(),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    -- The token endpoint knows the client id alone (HTTP Basic), not the
    -- tenant: ids are UUIDv7, unique across tenants, and looked up by this key.
    CONSTRAINT clients_id_key UNIQUE (id)
);

-- Refresh tokens: opaque 256-bit values, stored only as their SHA-256.
--
-- A family is every token descended by rotation from one sign-in (or one
-- grant). Rotating marks the presented token used (used_at) and inserts its
-- successor in the same family, with the family's absolute expiry and a new
-- idle expiry. At most one token of a family is live: unused and unrevoked.
--
-- A family is revoked as soon as any of its rows has revoked_at set: rotation
-- refuses a token with a revoked sibling. Revoking marks every unrevoked row
-- it sees, used ones included, so a rotation racing with a revocation cannot
-- leave a live successor behind: either the revocation locks the token before
-- the rotation does (the rotation then finds it revoked), or it waits for the
-- rotation and then marks the spent token, which condemns the successor the
-- revocation's snapshot could not see.
CREATE TABLE iam.refresh_tokens (
    tenant_id         uuid        NOT NULL,
    id                uuid        NOT NULL,
    family_id         uuid        NOT NULL,
    token_hash        bytea       NOT NULL CHECK (octet_length(token_hash) = 32),
    -- The subject: a user of the tenant, or a machine client of it.
    user_id           uuid,
    client_id         uuid,
    -- Space-separated permissions granted with the token.
    scope             text        NOT NULL DEFAULT '' CHECK (octet_length(scope) <= 16384),
    issued_at         timestamptz NOT NULL,
    -- Unused for this long: expired (moves on with every rotation).
    idle_expires_at   timestamptz NOT NULL,
    -- The family's absolute end, the same on every token of the family.
    family_expires_at timestamptz NOT NULL,
    used_at           timestamptz,
    revoked_at        timestamptz,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT refresh_tokens_subject_check CHECK ((user_id IS NULL) <> (client_id IS NULL)),
    CONSTRAINT refresh_tokens_expiry_check CHECK (idle_expires_at <= family_expires_at),
    -- A client's tokens go with the client.
    FOREIGN KEY (tenant_id, client_id) REFERENCES iam.clients (tenant_id, id) ON DELETE CASCADE
);
-- Revoking a family: its unrevoked rows.
CREATE INDEX refresh_tokens_family_idx ON iam.refresh_tokens (tenant_id, family_id) WHERE revoked_at IS NULL;
-- Rotation's "no revoked sibling" check: the revoked rows of a family.
CREATE INDEX refresh_tokens_family_revoked_idx ON iam.refresh_tokens (tenant_id, family_id) WHERE revoked_at IS NOT NULL;
-- Revoking all of a user's or a client's tokens (password change, disabling).
CREATE INDEX refresh_tokens_user_idx ON iam.refresh_tokens (tenant_id, user_id) WHERE user_id IS NOT NULL AND revoked_at IS NULL;
CREATE INDEX refresh_tokens_client_idx ON iam.refresh_tokens (tenant_id, client_id) WHERE client_id IS NOT NULL AND revoked_at IS NULL;
-- Purging families past their absolute expiry.
CREATE INDEX refresh_tokens_family_expires_idx ON iam.refresh_tokens (family_expires_at);

-- Failed sign-ins, for throttling per account and per source address.
--
-- Throttling delays; it never locks an account:
--   * the first free_attempts failures of a key cost nothing; each further one
--     blocks the key for base * 2^(n-1) (n = failures beyond the free ones),
--     capped (15 minutes by default), so a block always ends by itself soon;
--   * attempts refused while a key is blocked are not checked and not counted,
--     so hammering a blocked key neither extends nor deepens the block;
--   * a successful sign-in resets the account's counter, and a key quiet for
--     forget_after starts again from zero.
-- An attacker can therefore cost a victim at most one capped delay per failed
-- attempt the attacker makes, and those attempts are throttled per address too.
-- account keys: the lower-cased login name, whether or not the account exists
-- (so throttling reveals nothing). address keys: the IPv4 address, or the /64
-- of an IPv6 one. Both are per tenant: the tenant the sign-in was for.
CREATE TABLE iam.login_failures (
    tenant_id      uuid        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('account', 'address')),
    key            text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 320),
    failures       integer     NOT NULL CHECK (failures > 0),
    last_failed_at timestamptz NOT NULL,
    blocked_until  timestamptz,
    PRIMARY KEY (tenant_id, kind, key)
);
CREATE INDEX login_failures_last_failed_idx ON iam.login_failures (last_failed_at);

-- +goose Down
DROP SCHEMA iam CASCADE;
