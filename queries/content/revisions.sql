-- name: ListRevisions :many
-- Newest first, without bodies; the item must be the site's and outside the
-- trash (an empty answer then needs ItemState to tell 404 from no rows,
-- which cannot happen: every item has its first revision).
SELECT r.item_id, r.number, r.action, r.restored_from, r.changed, r.author_id, r.created_at,
       r.slug, r.title, r.summary, ''::text AS body, r.data, r.tags
FROM content.revisions r
JOIN content.items i ON i.tenant_id = r.tenant_id AND i.id = r.item_id
WHERE r.tenant_id = @tenant_id AND r.item_id = @item_id AND i.site_id = @site_id AND i.deleted_at IS NULL
  AND (sqlc.narg(before)::integer IS NULL OR r.number < sqlc.narg(before)::integer)
ORDER BY r.number DESC
LIMIT @row_limit;

-- name: GetRevision :one
SELECT r.item_id, r.number, r.action, r.restored_from, r.changed, r.author_id, r.created_at,
       r.slug, r.title, r.summary, r.body, r.data, r.tags
FROM content.revisions r
JOIN content.items i ON i.tenant_id = r.tenant_id AND i.id = r.item_id
WHERE r.tenant_id = @tenant_id AND r.item_id = @item_id AND i.site_id = @site_id AND i.deleted_at IS NULL
  AND r.number = @number;
