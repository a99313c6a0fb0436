-- name: CreateProfile :one
INSERT INTO uam.profiles (tenant_id, user_id, display_name, given_name, family_name, avatar_url, locale, timezone, phone, metadata)
VALUES (@tenant_id, @user_id, @display_name, @given_name, @family_name, @avatar_url, @locale, @timezone, @phone, @metadata)
RETURNING *;

-- name: GetProfile :one
SELECT * FROM uam.profiles WHERE tenant_id = @tenant_id AND user_id = @user_id;

-- name: UpdateProfile :one
UPDATE uam.profiles SET
    display_name = coalesce(sqlc.narg(display_name), display_name),
    given_name   = coalesce(sqlc.narg(given_name), given_name),
    family_name  = coalesce(sqlc.narg(family_name), family_name),
    avatar_url   = coalesce(sqlc.narg(avatar_url), avatar_url),
    locale       = coalesce(sqlc.narg(locale), locale),
    timezone     = coalesce(sqlc.narg(timezone), timezone),
    phone        = coalesce(sqlc.narg(phone), phone),
    metadata     = coalesce(sqlc.narg(metadata), metadata),
    version      = version + 1,
    updated_at   = now()
WHERE tenant_id = @tenant_id AND user_id = @user_id
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]))
RETURNING *;
