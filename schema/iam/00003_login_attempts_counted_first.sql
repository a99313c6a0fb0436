-- +goose Up
-- Sign-in throttling, as it is now (these rules replace those of 00001). The
-- table is throttling state only, so it is recreated rather than converted:
-- the keys in it at the upgrade start again from zero.
--
-- Every attempt counts as a failure from the start: it is counted before its
-- password is checked, in the statement that also refuses it while one of its
-- keys is blocked, so concurrent guesses cannot all pass a check made before
-- any of them failed. Only a right password takes the attempt back; one that
-- ends otherwise (wrong password, 503, a request cut short) stays counted,
-- since UAM may have checked the password before the answer was lost.
--
-- An attempt has up to three keys, each with its own policy:
--   * pair: the account and the source address together. Guessing from one
--     address escalates here, up to the long cap (15 minutes by default), and
--     holds back that address only: a victim elsewhere is not locked out.
--   * account: the account from anywhere, for guessing spread over many
--     addresses. Its blocks are capped short (30 s by default), so no one can
--     keep the account's owner out for long.
--   * address: the source address for every account, in every tenant: a global
--     key, so that changing tenant_id gains nothing (up to 15 minutes).
-- An attempt without a known address has its account key only.
--
-- For each key: the first free_attempts attempts cost nothing; each further
-- one blocks the key for base * 2^(n-1), capped (n = attempts beyond the free
-- ones). While any key of an attempt is blocked, the attempt is refused
-- unchecked and counted nowhere, so hammering neither extends nor deepens a
-- block. A right password resets the account and pair keys and takes back the
-- one attempt from the address (an address signing in to an account of its own
-- between guesses at others' does not clear the guesses); the address is
-- unblocked once no attempt beyond its free ones is left. A key quiet for
-- forget_after starts again from zero.
--
-- Rows: one per key. Refused attempts write nothing, so a source adds at most
-- three rows per attempt its blocks let through; quiet keys are purged.
-- account keys: the lower-cased login name, whether or not the account exists
-- (so throttling reveals nothing); address keys: the IPv4 address, or the /64
-- of an IPv6 one; pair keys: "<address> <account>".
DROP TABLE iam.login_failures;

CREATE TABLE iam.login_failures (
    -- The tenant signed into, for account and pair keys. NULL for address
    -- keys, which are global: an address is the same in every tenant.
    tenant_id      uuid,
    kind           text        NOT NULL CHECK (kind IN ('account', 'pair', 'address')),
    key            text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 400),
    -- Attempts counted since the key started from zero, less those taken back.
    failures       integer     NOT NULL CHECK (failures >= 0),
    -- When the last attempt was counted.
    last_failed_at timestamptz NOT NULL,
    blocked_until  timestamptz,
    -- Led by kind and key, which every lookup has; the tenant may be NULL.
    CONSTRAINT login_failures_key UNIQUE NULLS NOT DISTINCT (kind, key, tenant_id),
    CONSTRAINT login_failures_tenant_check CHECK ((tenant_id IS NULL) = (kind = 'address'))
);
CREATE INDEX login_failures_last_failed_idx ON iam.login_failures (last_failed_at);

-- +goose Down
DROP TABLE iam.login_failures;
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
