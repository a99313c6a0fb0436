-- +goose Up
-- Refresh tokens are issued to users' sign-ins only: a machine client signs
-- in again with its secret (RFC 6749 §4.4.3), so no client ever held one.
-- And a refresh reads the user's permissions from UAM again every time, so
-- the permissions stored at sign-in were never read: they only went stale.
-- Dropping client_id drops its foreign key, index and the subject check.
DELETE FROM iam.refresh_tokens WHERE user_id IS NULL;
ALTER TABLE iam.refresh_tokens
    DROP COLUMN client_id,
    DROP COLUMN scope,
    ALTER COLUMN user_id SET NOT NULL;

-- A client's scopes, space-separated, take at most 4096 bytes: with every
-- other claim and the largest signature, its access token then stays well
-- under the 8 KiB every service accepts (authn.MaxTokenSize).
ALTER TABLE iam.clients
    ADD CONSTRAINT clients_scopes_length_check CHECK (octet_length(array_to_string(scopes, ' ')) <= 4096);

-- +goose Down
ALTER TABLE iam.clients DROP CONSTRAINT clients_scopes_length_check;
ALTER TABLE iam.refresh_tokens
    ALTER COLUMN user_id DROP NOT NULL,
    ADD COLUMN client_id uuid,
    ADD COLUMN scope text NOT NULL DEFAULT '' CHECK (octet_length(scope) <= 16384),
    ADD CONSTRAINT refresh_tokens_subject_check CHECK ((user_id IS NULL) <> (client_id IS NULL)),
    ADD FOREIGN KEY (tenant_id, client_id) REFERENCES iam.clients (tenant_id, id) ON DELETE CASCADE;
CREATE INDEX refresh_tokens_client_idx ON iam.refresh_tokens (tenant_id, client_id) WHERE client_id IS NOT NULL AND revoked_at IS NULL;
