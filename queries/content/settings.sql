-- name: GetSiteSettings :one
SELECT * FROM content.site_settings WHERE tenant_id = @tenant_id AND site_id = @site_id;

-- name: PutSiteSettings :one
-- A site without a row has the defaults at version 1: the first change
-- inserts the row (version 2) if the caller expects version 1 or any; later
-- ones update it if the caller expects its version or any. No row back means
-- the expectation failed.
INSERT INTO content.site_settings (tenant_id, site_id, default_locale)
SELECT @tenant_id, @site_id, @default_locale::text
WHERE sqlc.narg(expected_versions)::bigint[] IS NULL OR 1 = ANY (sqlc.narg(expected_versions)::bigint[])
ON CONFLICT (tenant_id, site_id) DO UPDATE SET
    default_locale = excluded.default_locale,
    version        = content.site_settings.version + 1,
    updated_at     = now()
WHERE sqlc.narg(expected_versions)::bigint[] IS NULL
   OR content.site_settings.version = ANY (sqlc.narg(expected_versions)::bigint[])
RETURNING *;
