-- Every query answering an item returns the same columns in the same order
-- (lists with an empty body), so that the store converts each generated row
-- type to one.

-- name: CreateItem :one
-- The item and its first revision, in one statement.
WITH ins AS (
    INSERT INTO content.items (tenant_id, site_id, id, type, locale, author_id, slug, title, summary, body, data, tags)
    VALUES (@tenant_id, @site_id, @id, @type, @locale, @author_id, @slug, @title, @summary, @body, @data, @tags::text[])
    RETURNING *
), rev AS (
    INSERT INTO content.revisions (tenant_id, item_id, number, action, changed, author_id, created_at,
                                   slug, title, summary, body, data, tags)
    SELECT ins.tenant_id, ins.id, ins.revision, 'create',
           ARRAY['slug', 'title', 'summary', 'body', 'data', 'tags']::text[], ins.author_id, ins.created_at,
           ins.slug, ins.title, ins.summary, ins.body, ins.data, ins.tags
    FROM ins
)
SELECT ins.tenant_id, ins.site_id, ins.id, ins.type, ins.locale, ins.author_id, ins.slug, ins.title, ins.summary,
       ins.body, ins.data, ins.tags, ins.revision, ins.live_revision, ins.published_at, ins.publish_at,
       ins.publish_revision, ins.schedule_error, ins.status, ins.deleted_at, ins.version, ins.created_at, ins.updated_at
FROM ins;

-- name: GetItem :one
SELECT tenant_id, site_id, id, type, locale, author_id, slug, title, summary, body, data, tags, revision,
       live_revision, published_at, publish_at, publish_revision, schedule_error, status, deleted_at, version,
       created_at, updated_at
FROM content.items
WHERE tenant_id = @tenant_id AND site_id = @site_id AND id = @id AND deleted_at IS NULL;

-- name: ItemState :one
-- Whether an item exists (in the trash or not), and its version: why a
-- conditional change touched nothing.
SELECT version, (deleted_at IS NOT NULL)::boolean AS trashed
FROM content.items
WHERE tenant_id = @tenant_id AND site_id = @site_id AND id = @id;

-- name: UpdateDraft :one
-- Changes the fields given (NULL: unchanged) if the version is expected and
-- something differs, and stores the new draft as a revision naming what
-- changed, in one statement. No row back: not found, stale or no change.
WITH cur AS (
    SELECT c.tenant_id, c.id, c.version,
           array_remove(ARRAY[
               CASE WHEN sqlc.narg(slug)::text <> c.slug THEN 'slug' END,
               CASE WHEN sqlc.narg(title)::text <> c.title THEN 'title' END,
               CASE WHEN sqlc.narg(summary)::text <> c.summary THEN 'summary' END,
               CASE WHEN sqlc.narg(body)::text <> c.body THEN 'body' END,
               CASE WHEN sqlc.narg(data)::jsonb <> c.data THEN 'data' END,
               CASE WHEN sqlc.narg(tags)::text[] <> c.tags THEN 'tags' END], NULL)::text[] AS changed
    FROM content.items c
    WHERE c.tenant_id = @tenant_id AND c.site_id = @site_id AND c.id = @id AND c.deleted_at IS NULL
    FOR UPDATE
), upd AS (
    UPDATE content.items i SET
        slug       = coalesce(sqlc.narg(slug)::text, i.slug),
        title      = coalesce(sqlc.narg(title)::text, i.title),
        summary    = coalesce(sqlc.narg(summary)::text, i.summary),
        body       = coalesce(sqlc.narg(body)::text, i.body),
        data       = coalesce(sqlc.narg(data)::jsonb, i.data),
        tags       = coalesce(sqlc.narg(tags)::text[], i.tags),
        revision   = i.revision + 1,
        version    = i.version + 1,
        updated_at = now()
    FROM cur
    WHERE i.tenant_id = cur.tenant_id AND i.id = cur.id AND cardinality(cur.changed) > 0
      AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR cur.version = ANY (sqlc.narg(expected_versions)::bigint[]))
    RETURNING i.tenant_id, i.site_id, i.id, i.type, i.locale, i.author_id, i.slug, i.title, i.summary, i.body, i.data,
              i.tags, i.revision, i.live_revision, i.published_at, i.publish_at, i.publish_revision, i.schedule_error,
              i.status, i.deleted_at, i.version, i.created_at, i.updated_at, cur.changed
), rev AS (
    INSERT INTO content.revisions (tenant_id, item_id, number, action, changed, author_id, created_at,
                                   slug, title, summary, body, data, tags)
    SELECT upd.tenant_id, upd.id, upd.revision, 'update', upd.changed, @author_id, upd.updated_at,
           upd.slug, upd.title, upd.summary, upd.body, upd.data, upd.tags
    FROM upd
)
SELECT upd.tenant_id, upd.site_id, upd.id, upd.type, upd.locale, upd.author_id, upd.slug, upd.title, upd.summary,
       upd.body, upd.data, upd.tags, upd.revision, upd.live_revision, upd.published_at, upd.publish_at,
       upd.publish_revision, upd.schedule_error, upd.status, upd.deleted_at, upd.version, upd.created_at, upd.updated_at
FROM upd;

-- name: RestoreRevision :one
-- Makes a revision's content the draft, as a new revision naming it, if the
-- version is expected and something differs. No row back: not found, stale
-- or no change.
WITH cur AS (
    SELECT i.tenant_id, i.id, i.version, r.number AS restored, r.slug, r.title, r.summary, r.body, r.data, r.tags,
           array_remove(ARRAY[
               CASE WHEN r.slug <> i.slug THEN 'slug' END,
               CASE WHEN r.title <> i.title THEN 'title' END,
               CASE WHEN r.summary <> i.summary THEN 'summary' END,
               CASE WHEN r.body <> i.body THEN 'body' END,
               CASE WHEN r.data <> i.data THEN 'data' END,
               CASE WHEN r.tags <> i.tags THEN 'tags' END], NULL)::text[] AS changed
    FROM content.items i
    JOIN content.revisions r ON r.tenant_id = i.tenant_id AND r.item_id = i.id AND r.number = @number
    WHERE i.tenant_id = @tenant_id AND i.site_id = @site_id AND i.id = @id AND i.deleted_at IS NULL
    FOR UPDATE OF i
), upd AS (
    UPDATE content.items i SET
        slug = cur.slug, title = cur.title, summary = cur.summary, body = cur.body, data = cur.data, tags = cur.tags,
        revision   = i.revision + 1,
        version    = i.version + 1,
        updated_at = now()
    FROM cur
    WHERE i.tenant_id = cur.tenant_id AND i.id = cur.id AND cardinality(cur.changed) > 0
      AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR cur.version = ANY (sqlc.narg(expected_versions)::bigint[]))
    RETURNING i.tenant_id, i.site_id, i.id, i.type, i.locale, i.author_id, i.slug, i.title, i.summary, i.body, i.data,
              i.tags, i.revision, i.live_revision, i.published_at, i.publish_at, i.publish_revision, i.schedule_error,
              i.status, i.deleted_at, i.version, i.created_at, i.updated_at, cur.changed, cur.restored
), rev AS (
    INSERT INTO content.revisions (tenant_id, item_id, number, action, restored_from, changed, author_id, created_at,
                                   slug, title, summary, body, data, tags)
    SELECT upd.tenant_id, upd.id, upd.revision, 'restore', upd.restored, upd.changed, @author_id, upd.updated_at,
           upd.slug, upd.title, upd.summary, upd.body, upd.data, upd.tags
    FROM upd
)
SELECT upd.tenant_id, upd.site_id, upd.id, upd.type, upd.locale, upd.author_id, upd.slug, upd.title, upd.summary,
       upd.body, upd.data, upd.tags, upd.revision, upd.live_revision, upd.published_at, upd.publish_at,
       upd.publish_revision, upd.schedule_error, upd.status, upd.deleted_at, upd.version, upd.created_at, upd.updated_at
FROM upd;

-- name: TrashItem :execrows
-- Into the trash: out of delivery at once, any schedule cancelled.
UPDATE content.items SET deleted_at = now(), publish_at = NULL, publish_revision = NULL,
    version = version + 1, updated_at = now()
WHERE tenant_id = @tenant_id AND site_id = @site_id AND id = @id AND deleted_at IS NULL
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]));

-- name: RestoreItem :one
UPDATE content.items SET deleted_at = NULL, version = version + 1, updated_at = now()
WHERE tenant_id = @tenant_id AND site_id = @site_id AND id = @id AND deleted_at IS NOT NULL
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]))
RETURNING tenant_id, site_id, id, type, locale, author_id, slug, title, summary, body, data, tags, revision,
          live_revision, published_at, publish_at, publish_revision, schedule_error, status, deleted_at, version,
          created_at, updated_at;

-- name: DeleteItem :execrows
-- For good, in the trash or not; the revisions go with it (ON DELETE CASCADE).
DELETE FROM content.items
WHERE tenant_id = @tenant_id AND site_id = @site_id AND id = @id
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]));

-- name: PurgeTrash :execrows
-- One batch of the items in the trash since before cutoff, of every tenant.
DELETE FROM content.items
WHERE (tenant_id, id) IN (
    SELECT t.tenant_id, t.id FROM content.items t
    WHERE t.deleted_at < @cutoff
    ORDER BY t.deleted_at
    LIMIT @batch_size);

-- name: ListItems :many
SELECT tenant_id, site_id, id, type, locale, author_id, slug, title, summary, ''::text AS body, data, tags, revision,
       live_revision, published_at, publish_at, publish_revision, schedule_error, status, deleted_at, version,
       created_at, updated_at
FROM content.items
WHERE tenant_id = @tenant_id AND site_id = @site_id AND deleted_at IS NULL
  AND (sqlc.narg(after)::uuid IS NULL OR id > sqlc.narg(after)::uuid)
  AND (sqlc.narg(type)::text IS NULL OR type = sqlc.narg(type)::text)
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (sqlc.narg(locale)::text IS NULL OR locale = sqlc.narg(locale)::text)
  AND (sqlc.narg(tag)::text IS NULL OR tags @> ARRAY[sqlc.narg(tag)::text])
  AND (sqlc.narg(author_id)::uuid IS NULL OR author_id = sqlc.narg(author_id)::uuid)
  AND (sqlc.narg(updated_since)::timestamptz IS NULL OR updated_at >= sqlc.narg(updated_since)::timestamptz)
ORDER BY id
LIMIT @row_limit;

-- name: SearchItems :many
-- The drafts matching query with the filters, best first (rank, then id, as
-- the cursor's key). The snippet is computed for the page's rows only.
WITH q AS (
    SELECT websearch_to_tsquery('simple'::regconfig, @query::text) AS query
), hits AS (
    SELECT i.tenant_id, i.id, ts_rank(i.search, q.query, 1)::real AS rank
    FROM content.items i, q
    WHERE i.tenant_id = @tenant_id AND i.site_id = @site_id AND i.deleted_at IS NULL AND i.search @@ q.query
      AND (sqlc.narg(type)::text IS NULL OR i.type = sqlc.narg(type)::text)
      AND (sqlc.narg(status)::text IS NULL OR i.status = sqlc.narg(status)::text)
      AND (sqlc.narg(locale)::text IS NULL OR i.locale = sqlc.narg(locale)::text)
      AND (sqlc.narg(tag)::text IS NULL OR i.tags @> ARRAY[sqlc.narg(tag)::text])
      AND (sqlc.narg(author_id)::uuid IS NULL OR i.author_id = sqlc.narg(author_id)::uuid)
      AND (sqlc.narg(updated_since)::timestamptz IS NULL OR i.updated_at >= sqlc.narg(updated_since)::timestamptz)
), page AS (
    SELECT h.tenant_id, h.id, h.rank FROM hits h
    WHERE sqlc.narg(after_rank)::real IS NULL
       OR (h.rank, h.id) < (sqlc.narg(after_rank)::real, sqlc.narg(after_id)::uuid)
    ORDER BY h.rank DESC, h.id DESC
    LIMIT @row_limit
)
SELECT i.tenant_id, i.site_id, i.id, i.type, i.locale, i.author_id, i.slug, i.title, i.summary, ''::text AS body,
       i.data, i.tags, i.revision, i.live_revision, i.published_at, i.publish_at, i.publish_revision, i.schedule_error,
       i.status, i.deleted_at, i.version, i.created_at, i.updated_at, page.rank::real AS rank,
       ts_headline('simple'::regconfig, left(i.summary || E'\n\n' || i.body, 20000), q.query,
                   'StartSel=' || chr(2) || ', StopSel=' || chr(3) ||
                   ', MaxFragments=2, MaxWords=25, MinWords=8, FragmentDelimiter=" … "')::text AS snippet
FROM page
JOIN content.items i ON i.tenant_id = page.tenant_id AND i.id = page.id
CROSS JOIN q
ORDER BY page.rank DESC, page.id DESC;

-- name: ListTrash :many
SELECT tenant_id, site_id, id, type, locale, author_id, slug, title, summary, ''::text AS body, data, tags, revision,
       live_revision, published_at, publish_at, publish_revision, schedule_error, status, deleted_at, version,
       created_at, updated_at
FROM content.items
WHERE tenant_id = @tenant_id AND site_id = @site_id AND deleted_at IS NOT NULL
  AND (sqlc.narg(after_time)::timestamptz IS NULL
       OR (deleted_at, id) < (sqlc.narg(after_time)::timestamptz, sqlc.narg(after_id)::uuid))
ORDER BY deleted_at DESC, id DESC
LIMIT @row_limit;
