-- +goose Up
CREATE SCHEMA IF NOT EXISTS content;

-- Content: the items of each tenant's sites, each with a draft (what editors
-- change) and at most one live version (what delivery serves), the numbered
-- revisions of the draft, scheduled publications and a trash. Tenants and
-- sites live in Config Vault; this schema holds their ids only (no SQL across
-- schemas), and the service asks Config Vault whether a site belongs to a
-- tenant. Tenant-owned tables lead their keys with tenant_id (ARCHITECTURE.md §6).

-- Per-site settings of the content service; a site without a row has the
-- defaults (which the service knows). version starts at 2: the defaults are
-- version 1, so that an If-Match taken from them is refused once a row exists.
CREATE TABLE content.site_settings (
    tenant_id      uuid        NOT NULL,
    site_id        uuid        NOT NULL,
    default_locale text        NOT NULL CHECK (char_length(default_locale) BETWEEN 2 AND 35),
    version        bigint      NOT NULL DEFAULT 2,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, site_id)
);

CREATE TABLE content.items (
    tenant_id  uuid        NOT NULL,
    site_id    uuid        NOT NULL,
    id         uuid        NOT NULL,
    -- Fixed at creation: another locale is another item.
    type       text        NOT NULL CHECK (type ~ '^[a-z][a-z0-9_-]{0,63}$'),
    locale     text        NOT NULL CHECK (char_length(locale) BETWEEN 2 AND 35),
    author_id  uuid        NOT NULL,

    -- The draft. Its revision is content.revisions' latest row for the item,
    -- which holds the same values.
    slug       text        NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 200),
    title      text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
    summary    text        NOT NULL DEFAULT '' CHECK (char_length(summary) <= 2000),
    body       text        NOT NULL DEFAULT '' CHECK (octet_length(body) <= 1048576),
    data       jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    tags       text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 50),
    revision   integer     NOT NULL DEFAULT 1 CHECK (revision >= 1),
    -- Full-text search over the draft: title weighted highest. The 'simple'
    -- configuration (no stemming, no stop words) suits every language; the
    -- body counts up to 100,000 characters, which keeps every tsvector far
    -- below PostgreSQL's 1 MB limit whatever the text.
    search     tsvector    GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, title), 'A') ||
        setweight(to_tsvector('simple'::regconfig, summary), 'B') ||
        setweight(to_tsvector('simple'::regconfig, left(body, 100000)), 'C')) STORED,

    -- The live version: a copy of one revision, NULL while unpublished.
    live_revision integer,
    live_slug     text,
    live_title    text,
    live_summary  text,
    live_body     text,
    live_data     jsonb,
    live_tags     text[],
    live_search   tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, coalesce(live_title, '')), 'A') ||
        setweight(to_tsvector('simple'::regconfig, coalesce(live_summary, '')), 'B') ||
        setweight(to_tsvector('simple'::regconfig, left(coalesce(live_body, ''), 100000)), 'C')) STORED,
    -- Publications so far: with the id, it makes the delivery ETag, and it
    -- tells an archived item (published once) from a draft.
    live_version  bigint      NOT NULL DEFAULT 0,
    published_at  timestamptz,

    -- A scheduled publication of one revision, and why the last one failed.
    publish_at       timestamptz,
    publish_revision integer,
    schedule_error   text,

    status     text        GENERATED ALWAYS AS (
        CASE WHEN live_revision IS NOT NULL THEN 'published'
             WHEN live_version > 0 THEN 'archived'
             ELSE 'draft' END) STORED,
    -- In the trash since; purged after the configured retention.
    deleted_at timestamptz,
    version    bigint      NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT items_live_whole CHECK (
        (live_revision IS NULL) = (live_slug IS NULL) AND (live_slug IS NULL) = (live_title IS NULL) AND
        (live_title IS NULL) = (live_summary IS NULL) AND (live_summary IS NULL) = (live_body IS NULL) AND
        (live_body IS NULL) = (live_data IS NULL) AND (live_data IS NULL) = (live_tags IS NULL) AND
        (live_tags IS NULL) = (published_at IS NULL)),
    CONSTRAINT items_schedule_whole CHECK ((publish_at IS NULL) = (publish_revision IS NULL))
);

-- A slug names one draft per site, type and locale, and one live version:
-- a draft's slug may change while another item's live version still has it,
-- so publishing checks the live index. Items in the trash hold neither.
CREATE UNIQUE INDEX items_slug_key ON content.items (tenant_id, site_id, type, locale, slug)
    WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX items_live_slug_key ON content.items (tenant_id, site_id, type, locale, live_slug)
    WHERE live_slug IS NOT NULL AND deleted_at IS NULL;
-- The editing list (creation order), the delivery list (newest publication
-- first), the trash (newest deletion first) and the purge.
CREATE INDEX items_site_idx ON content.items (tenant_id, site_id, id) WHERE deleted_at IS NULL;
CREATE INDEX items_live_idx ON content.items (tenant_id, site_id, published_at DESC, id DESC)
    WHERE live_slug IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX items_trash_idx ON content.items (tenant_id, site_id, deleted_at DESC, id DESC)
    WHERE deleted_at IS NOT NULL;
CREATE INDEX items_purge_idx ON content.items (deleted_at) WHERE deleted_at IS NOT NULL;
-- The scheduler's queue: only scheduled items are in it.
CREATE INDEX items_due_idx ON content.items (publish_at) WHERE publish_at IS NOT NULL;
CREATE INDEX items_search_idx ON content.items USING gin (search) WHERE deleted_at IS NULL;
CREATE INDEX items_live_search_idx ON content.items USING gin (live_search)
    WHERE live_slug IS NOT NULL AND deleted_at IS NULL;

-- Every state of every draft: who, when, what changed, and the draft whole.
CREATE TABLE content.revisions (
    tenant_id     uuid        NOT NULL,
    item_id       uuid        NOT NULL,
    number        integer     NOT NULL CHECK (number >= 1),
    action        text        NOT NULL CHECK (action IN ('create', 'update', 'restore')),
    restored_from integer     CHECK ((action = 'restore') = (restored_from IS NOT NULL)),
    changed       text[]      NOT NULL,
    author_id     uuid        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    slug          text        NOT NULL,
    title         text        NOT NULL,
    summary       text        NOT NULL,
    body          text        NOT NULL,
    data          jsonb       NOT NULL,
    tags          text[]      NOT NULL,
    PRIMARY KEY (tenant_id, item_id, number),
    FOREIGN KEY (tenant_id, item_id) REFERENCES content.items (tenant_id, id) ON DELETE CASCADE
);

-- +goose Down
DROP SCHEMA content CASCADE;
