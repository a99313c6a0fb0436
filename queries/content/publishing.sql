-- name: PublishDraft :one
-- Makes the draft's current revision the live version, in one statement,
-- and cancels any schedule. No row back: not found, stale, or nothing to do
-- (that revision is live and nothing is scheduled).
UPDATE content.items i SET
    live_revision    = r.number,
    live_slug        = r.slug,
    live_title       = r.title,
    live_summary     = r.summary,
    live_body        = r.body,
    live_data        = r.data,
    live_tags        = r.tags,
    live_version     = i.live_version + 1,
    published_at     = now(),
    publish_at       = NULL,
    publish_revision = NULL,
    schedule_error   = NULL,
    version          = i.version + 1,
    updated_at       = now()
FROM content.revisions r
WHERE i.tenant_id = @tenant_id AND i.site_id = @site_id AND i.id = @id AND i.deleted_at IS NULL
  AND (i.live_revision IS DISTINCT FROM i.revision OR i.publish_at IS NOT NULL)
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR i.version = ANY (sqlc.narg(expected_versions)::bigint[]))
  AND r.tenant_id = i.tenant_id AND r.item_id = i.id AND r.number = i.revision
RETURNING i.tenant_id, i.site_id, i.id, i.type, i.locale, i.author_id, i.slug, i.title, i.summary, i.body, i.data,
          i.tags, i.revision, i.live_revision, i.published_at, i.publish_at, i.publish_revision, i.schedule_error,
          i.status, i.deleted_at, i.version, i.created_at, i.updated_at;

-- name: SchedulePublication :one
-- The draft's current revision goes live at publish_at, replacing any
-- earlier schedule.
UPDATE content.items SET
    publish_at       = @publish_at,
    publish_revision = revision,
    schedule_error   = NULL,
    version          = version + 1,
    updated_at       = now()
WHERE tenant_id = @tenant_id AND site_id = @site_id AND id = @id AND deleted_at IS NULL
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]))
RETURNING tenant_id, site_id, id, type, locale, author_id, slug, title, summary, body, data, tags, revision,
          live_revision, published_at, publish_at, publish_revision, schedule_error, status, deleted_at, version,
          created_at, updated_at;

-- name: Unpublish :one
-- Withdraws the live version and cancels any schedule. No row back: not
-- found, stale, or nothing to withdraw.
UPDATE content.items SET
    live_revision    = NULL,
    live_slug        = NULL,
    live_title       = NULL,
    live_summary     = NULL,
    live_body        = NULL,
    live_data        = NULL,
    live_tags        = NULL,
    published_at     = NULL,
    publish_at       = NULL,
    publish_revision = NULL,
    version          = version + 1,
    updated_at       = now()
WHERE tenant_id = @tenant_id AND site_id = @site_id AND id = @id AND deleted_at IS NULL
  AND (live_revision IS NOT NULL OR publish_at IS NOT NULL)
  AND (sqlc.narg(expected_versions)::bigint[] IS NULL OR version = ANY (sqlc.narg(expected_versions)::bigint[]))
RETURNING tenant_id, site_id, id, type, locale, author_id, slug, title, summary, body, data, tags, revision,
          live_revision, published_at, publish_at, publish_revision, schedule_error, status, deleted_at, version,
          created_at, updated_at;

-- name: ClaimDue :many
-- The scheduler's claim: due items, locked for this transaction. Replicas
-- skip each other's locked rows instead of waiting for them, and a published
-- item leaves the queue (publish_at NULL) when the claiming transaction
-- commits, so each scheduled publication happens exactly once.
SELECT tenant_id, id FROM content.items
WHERE publish_at <= now() AND deleted_at IS NULL
ORDER BY publish_at
LIMIT @batch_size
FOR UPDATE SKIP LOCKED;

-- name: PublishScheduled :execrows
-- Makes the scheduled revision live; the row is locked by ClaimDue.
UPDATE content.items i SET
    live_revision    = r.number,
    live_slug        = r.slug,
    live_title       = r.title,
    live_summary     = r.summary,
    live_body        = r.body,
    live_data        = r.data,
    live_tags        = r.tags,
    live_version     = i.live_version + 1,
    published_at     = now(),
    publish_at       = NULL,
    publish_revision = NULL,
    schedule_error   = NULL,
    version          = i.version + 1,
    updated_at       = now()
FROM content.revisions r
WHERE i.tenant_id = @tenant_id AND i.id = @id AND i.publish_at IS NOT NULL
  AND r.tenant_id = i.tenant_id AND r.item_id = i.id AND r.number = i.publish_revision;

-- name: FailSchedule :exec
-- A scheduled publication that cannot happen is cancelled, with the reason.
UPDATE content.items SET
    publish_at       = NULL,
    publish_revision = NULL,
    schedule_error   = @reason,
    version          = version + 1,
    updated_at       = now()
WHERE tenant_id = @tenant_id AND id = @id;
