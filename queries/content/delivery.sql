-- The live versions, as delivery serves them. Each query returns the same
-- columns (lists with an empty body); coalesce only makes the types
-- non-null, as every row here has a live version.

-- name: GetPublished :one
-- Without a locale, in the site's default locale (its settings', else
-- default_locale): one round trip either way.
SELECT i.id, i.site_id, i.type, i.locale, i.author_id,
       coalesce(i.live_slug, '')::text AS slug, coalesce(i.live_title, '')::text AS title,
       coalesce(i.live_summary, '')::text AS summary, coalesce(i.live_body, '')::text AS body,
       coalesce(i.live_data, '{}')::jsonb AS data, coalesce(i.live_tags, '{}')::text[] AS tags,
       coalesce(i.live_revision, 0)::integer AS revision,
       coalesce(i.published_at, 'epoch')::timestamptz AS published_at, i.live_version
FROM content.items i
WHERE i.tenant_id = @tenant_id AND i.site_id = @site_id AND i.type = @type AND i.live_slug = @slug::text
  AND i.locale = coalesce(sqlc.narg(locale)::text,
                          (SELECT s.default_locale FROM content.site_settings s
                           WHERE s.tenant_id = @tenant_id AND s.site_id = @site_id),
                          @default_locale::text)
  AND i.deleted_at IS NULL;

-- name: ListPublished :many
-- Newest publication first (published_at, then id, as the cursor's key).
SELECT id, site_id, type, locale, author_id,
       coalesce(live_slug, '')::text AS slug, coalesce(live_title, '')::text AS title,
       coalesce(live_summary, '')::text AS summary, ''::text AS body,
       coalesce(live_data, '{}')::jsonb AS data, coalesce(live_tags, '{}')::text[] AS tags,
       coalesce(live_revision, 0)::integer AS revision,
       coalesce(published_at, 'epoch')::timestamptz AS published_at, live_version
FROM content.items
WHERE tenant_id = @tenant_id AND site_id = @site_id AND live_slug IS NOT NULL AND deleted_at IS NULL
  AND (sqlc.narg(after_time)::timestamptz IS NULL
       OR (published_at, id) < (sqlc.narg(after_time)::timestamptz, sqlc.narg(after_id)::uuid))
  AND (sqlc.narg(type)::text IS NULL OR type = sqlc.narg(type)::text)
  AND (sqlc.narg(locale)::text IS NULL OR locale = sqlc.narg(locale)::text)
  AND (sqlc.narg(tag)::text IS NULL OR live_tags @> ARRAY[sqlc.narg(tag)::text])
  AND (sqlc.narg(author_id)::uuid IS NULL OR author_id = sqlc.narg(author_id)::uuid)
  AND (sqlc.narg(updated_since)::timestamptz IS NULL OR published_at >= sqlc.narg(updated_since)::timestamptz)
ORDER BY published_at DESC, id DESC
LIMIT @row_limit;

-- name: SearchPublished :many
-- The live versions matching query with the filters, best first (rank, then
-- id, as the cursor's key). The snippet is computed for the page's rows only.
WITH q AS (
    SELECT websearch_to_tsquery('simple'::regconfig, @query::text) AS query
), hits AS (
    SELECT i.tenant_id, i.id, ts_rank(i.live_search, q.query, 1)::real AS rank
    FROM content.items i, q
    WHERE i.tenant_id = @tenant_id AND i.site_id = @site_id AND i.live_slug IS NOT NULL AND i.deleted_at IS NULL
      AND i.live_search @@ q.query
      AND (sqlc.narg(type)::text IS NULL OR i.type = sqlc.narg(type)::text)
      AND (sqlc.narg(locale)::text IS NULL OR i.locale = sqlc.narg(locale)::text)
      AND (sqlc.narg(tag)::text IS NULL OR i.live_tags @> ARRAY[sqlc.narg(tag)::text])
      AND (sqlc.narg(author_id)::uuid IS NULL OR i.author_id = sqlc.narg(author_id)::uuid)
      AND (sqlc.narg(updated_since)::timestamptz IS NULL OR i.published_at >= sqlc.narg(updated_since)::timestamptz)
), page AS (
    SELECT h.tenant_id, h.id, h.rank FROM hits h
    WHERE sqlc.narg(after_rank)::real IS NULL
       OR (h.rank, h.id) < (sqlc.narg(after_rank)::real, sqlc.narg(after_id)::uuid)
    ORDER BY h.rank DESC, h.id DESC
    LIMIT @row_limit
)
SELECT i.id, i.site_id, i.type, i.locale, i.author_id,
       coalesce(i.live_slug, '')::text AS slug, coalesce(i.live_title, '')::text AS title,
       coalesce(i.live_summary, '')::text AS summary, ''::text AS body,
       coalesce(i.live_data, '{}')::jsonb AS data, coalesce(i.live_tags, '{}')::text[] AS tags,
       coalesce(i.live_revision, 0)::integer AS revision,
       coalesce(i.published_at, 'epoch')::timestamptz AS published_at, i.live_version, page.rank::real AS rank,
       ts_headline('simple'::regconfig, left(coalesce(i.live_summary, '') || E'\n\n' || coalesce(i.live_body, ''), 20000),
                   q.query, 'StartSel=' || chr(2) || ', StopSel=' || chr(3) ||
                   ', MaxFragments=2, MaxWords=25, MinWords=8, FragmentDelimiter=" … "')::text AS snippet
FROM page
JOIN content.items i ON i.tenant_id = page.tenant_id AND i.id = page.id
CROSS JOIN q
ORDER BY page.rank DESC, page.id DESC;
