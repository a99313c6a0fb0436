package content

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	db "github.com/saasplatform/saas/gen/db/content"
	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/authz"
	"github.com/saasplatform/saas/internal/platform/etag"
	"github.com/saasplatform/saas/internal/platform/page"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// Service holds the content use cases: one method each, with the rules and
// the tenant and site scoping. Sites are Config Vault's; the Directory says
// which tenant each belongs to.
type Service struct {
	store *store
	dir   Directory
	opts  Options
}

// NewService builds the service over its database and the site directory.
func NewService(pool *pgxpool.Pool, dir Directory, opts Options) *Service {
	return &Service{store: newStore(pool), dir: dir, opts: opts.withDefaults()}
}

// Site scoping. The authorization middleware has matched the path's
// tenant_id with the caller (or admitted a platform administrator); the site
// must belong to that tenant. Delivery paths name only the site: the caller
// must be allowed to act in the site's tenant. Either way, a site that fails
// is answered exactly like one that does not exist.

func (s *Service) siteOf(ctx context.Context, tenantID, siteID uuid.UUID) error {
	owner, err := s.dir.SiteTenant(ctx, siteID)
	if err != nil {
		return err
	}
	if owner != tenantID {
		return siteNotFound(siteID)
	}
	return nil
}

func (s *Service) deliveryTenant(ctx context.Context, siteID uuid.UUID) (uuid.UUID, error) {
	owner, err := s.dir.SiteTenant(ctx, siteID)
	if err != nil {
		return uuid.Nil, err
	}
	if !authz.MayActIn(ctx, owner) {
		return uuid.Nil, siteNotFound(siteID)
	}
	return owner, nil
}

// caller is who authors a change: the user, or the machine client.
func caller(ctx context.Context) (uuid.UUID, error) {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return uuid.Nil, problem.New(problem.KindUnauthorized, "the request is not authenticated")
	}
	if p.UserID != nil {
		return *p.UserID, nil
	}
	if id, err := uuid.Parse(p.Subject); err == nil {
		return id, nil
	}
	return uuid.Nil, problem.New(problem.KindForbidden, "only users and machine clients change content")
}

// Settings

// Settings reads a site's settings, the defaults if it never changed them.
func (s *Service) Settings(ctx context.Context, tenantID, siteID uuid.UUID) (Settings, error) {
	if err := s.siteOf(ctx, tenantID, siteID); err != nil {
		return Settings{}, err
	}
	return s.settings(ctx, tenantID, siteID)
}

func (s *Service) settings(ctx context.Context, tenantID, siteID uuid.UUID) (Settings, error) {
	row, err := s.store.q.GetSiteSettings(ctx, db.GetSiteSettingsParams{TenantID: tenantID, SiteID: siteID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Settings{SiteID: siteID, DefaultLocale: DefaultLocale, Version: 1}, nil
	}
	if err != nil {
		return Settings{}, classify(err)
	}
	return Settings{SiteID: siteID, DefaultLocale: row.DefaultLocale, Version: row.Version, UpdatedAt: utc(&row.UpdatedAt)}, nil
}

// UpdateSettings sets the site's default locale if its settings are at one
// of the expected versions (any when nil).
func (s *Service) UpdateSettings(ctx context.Context, tenantID, siteID uuid.UUID, defaultLocale string, expected []int64) (Settings, error) {
	if err := s.siteOf(ctx, tenantID, siteID); err != nil {
		return Settings{}, err
	}
	row, err := s.store.q.PutSiteSettings(ctx, db.PutSiteSettingsParams{TenantID: tenantID, SiteID: siteID,
		DefaultLocale: defaultLocale, ExpectedVersions: expected})
	if errors.Is(err, pgx.ErrNoRows) {
		return Settings{}, etag.Stale()
	}
	if err != nil {
		return Settings{}, classify(err)
	}
	return Settings{SiteID: siteID, DefaultLocale: row.DefaultLocale, Version: row.Version, UpdatedAt: utc(&row.UpdatedAt)}, nil
}

// Items

// CreateItem creates an item with its first revision, unpublished; the
// caller is its author, and its locale the site's default unless given.
func (s *Service) CreateItem(ctx context.Context, tenantID, siteID uuid.UUID, n NewItem) (Item, error) {
	if err := s.siteOf(ctx, tenantID, siteID); err != nil {
		return Item{}, err
	}
	author, err := caller(ctx)
	if err != nil {
		return Item{}, err
	}
	locale := n.Locale
	if locale == nil {
		st, err := s.settings(ctx, tenantID, siteID)
		if err != nil {
			return Item{}, err
		}
		locale = &st.DefaultLocale
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Item{}, err
	}
	row, err := s.store.q.CreateItem(ctx, db.CreateItemParams{TenantID: tenantID, SiteID: siteID, ID: id, Type: n.Type,
		Locale: *locale, AuthorID: author, Slug: n.Slug, Title: n.Title, Summary: n.Summary, Body: n.Body,
		Data: n.Data, Tags: nonNil(n.Tags)})
	if err != nil {
		return Item{}, classify(err)
	}
	return itemFromRow(itemRow(row)), nil
}

// Item reads an item outside the trash.
func (s *Service) Item(ctx context.Context, tenantID, siteID, id uuid.UUID) (Item, error) {
	if err := s.siteOf(ctx, tenantID, siteID); err != nil {
		return Item{}, err
	}
	return s.store.item(ctx, itemKey{tenantID, siteID, id})
}

// Items lists the site's items outside the trash: in creation order, or with
// a query best match first. It returns the page and the next page's cursor.
func (s *Service) Items(ctx context.Context, tenantID, siteID uuid.UUID, f Filter, cursor *string, limit int) ([]Item, *string, error) {
	if err := s.siteOf(ctx, tenantID, siteID); err != nil {
		return nil, nil, err
	}
	var status *string
	if f.Status != nil {
		status = ptr(string(*f.Status))
	}
	if f.Query != nil {
		after, err := decodeRank(cursor)
		if err != nil {
			return nil, nil, err
		}
		p := db.SearchItemsParams{Query: *f.Query, TenantID: tenantID, SiteID: siteID, Type: f.Type, Status: status,
			Locale: f.Locale, Tag: f.Tag, AuthorID: f.AuthorID, UpdatedSince: f.UpdatedSince, RowLimit: int32(limit + 1)}
		if after != nil {
			p.AfterRank, p.AfterID = &after.rank, &after.id
		}
		rows, err := s.store.q.SearchItems(ctx, p)
		if err != nil {
			return nil, nil, classify(err)
		}
		items := mapRows(rows, func(r db.SearchItemsRow) Item {
			it := itemFromRow(itemRow{TenantID: r.TenantID, SiteID: r.SiteID, ID: r.ID, Type: r.Type, Locale: r.Locale,
				AuthorID: r.AuthorID, Slug: r.Slug, Title: r.Title, Summary: r.Summary, Data: r.Data, Tags: r.Tags,
				Revision: r.Revision, LiveRevision: r.LiveRevision, PublishedAt: r.PublishedAt, PublishAt: r.PublishAt,
				PublishRevision: r.PublishRevision, ScheduleError: r.ScheduleError, Status: r.Status, DeletedAt: r.DeletedAt,
				Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt})
			it.Rank, it.Snippet = ptr(r.Rank), ptr(snippetHTML(r.Snippet))
			return it
		})
		items, next := cutPage(items, limit, func(it Item) string { return encodeRank(rankKey{*it.Rank, it.ID}) })
		return items, next, nil
	}
	after, err := page.Decode(cursor)
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.store.q.ListItems(ctx, db.ListItemsParams{TenantID: tenantID, SiteID: siteID, After: after, Type: f.Type,
		Status: status, Locale: f.Locale, Tag: f.Tag, AuthorID: f.AuthorID, UpdatedSince: f.UpdatedSince,
		RowLimit: int32(limit + 1)})
	if err != nil {
		return nil, nil, classify(err)
	}
	items := mapRows(rows, func(r db.ListItemsRow) Item { return itemFromRow(itemRow(r)) })
	items, next := cutPage(items, limit, func(it Item) string { return page.Encode(it.ID) })
	return items, next, nil
}

// UpdateItem changes the draft's fields in p and stores the result as a
// revision, if the item is at one of the expected versions (any when nil).
// A patch that changes nothing stores nothing and answers the item as it is.
func (s *Service) UpdateItem(ctx context.Context, tenantID, siteID, id uuid.UUID, p DraftPatch, expected []int64) (Item, error) {
	if err := s.siteOf(ctx, tenantID, siteID); err != nil {
		return Item{}, err
	}
	author, err := caller(ctx)
	if err != nil {
		return Item{}, err
	}
	params := db.UpdateDraftParams{TenantID: tenantID, SiteID: siteID, ID: id, ExpectedVersions: expected, AuthorID: author,
		Slug: p.Slug, Title: p.Title, Summary: p.Summary, Body: p.Body, Data: p.Data}
	if p.Tags != nil {
		params.Tags = nonNil(*p.Tags) // an empty list clears the tags; nil would leave them
	}
	row, err := s.store.q.UpdateDraft(ctx, params)
	if errors.Is(err, pgx.ErrNoRows) {
		return s.store.outcome(ctx, itemKey{tenantID, siteID, id}, expected)
	}
	if err != nil {
		return Item{}, classify(err)
	}
	return itemFromRow(itemRow(row)), nil
}

// DeleteItem moves an item to the trash, or deletes it with its revisions
// for good (permanent, in the trash or not).
func (s *Service) DeleteItem(ctx context.Context, tenantID, siteID, id uuid.UUID, permanent bool, expected []int64) error {
	if err := s.siteOf(ctx, tenantID, siteID); err != nil {
		return err
	}
	k := itemKey{tenantID, siteID, id}
	var n int64
	var err error
	var trashed *bool
	if permanent {
		n, err = s.store.q.DeleteItem(ctx, db.DeleteItemParams{TenantID: tenantID, SiteID: siteID, ID: id, ExpectedVersions: expected})
	} else {
		trashed = ptr(false)
		n, err = s.store.q.TrashItem(ctx, db.TrashItemParams{TenantID: tenantID, SiteID: siteID, ID: id, ExpectedVersions: expected})
	}
	if err != nil {
		return classify(err)
	}
	if n == 0 {
		return s.store.missed(ctx, k, trashed)
	}
	return nil
}

// Trash lists the site's items in the trash, most recently deleted first.
func (s *Service) Trash(ctx context.Context, tenantID, siteID uuid.UUID, cursor *string, limit int) ([]Item, *string, error) {
	if err := s.siteOf(ctx, tenantID, siteID); err != nil {
		return nil, nil, err
	}
	after, err := decodeTime(cursor)
	if err != nil {
		return nil, nil, err
	}
	p := db.ListTrashParams{TenantID: tenantID, SiteID: siteID, RowLimit: int32(limit + 1)}
	if after != nil {
		p.AfterTime, p.AfterID = &after.at, &after.id
	}
	rows, err := s.store.q.ListTrash(ctx, p)
	if err != nil {
		return nil, nil, classify(err)
	}
	items := mapRows(rows, func(r db.ListTrashRow) Item {
		it := itemFromRow(itemRow(r))
		if it.DeletedAt != nil {
			it.PurgeAt = ptr(it.DeletedAt.Add(s.opts.TrashRetention))
		}
		return it
	})
	items, next := cutPage(items, limit, func(it Item) string { return encodeTime(timeKey{*it.DeletedAt, it.ID}) })
	return items, next, nil
}

// RestoreItem takes an item out of the trash as it was.
func (s *Service) RestoreItem(ctx context.Context, tenantID, siteID, id uuid.UUID, expected []int64) (Item, error) {
	if err := s.siteOf(ctx, tenantID, siteID); err != nil {
		return Item{}, err
	}
	row, err := s.store.q.RestoreItem(ctx, db.RestoreItemParams{TenantID: tenantID, SiteID: siteID, ID: id, ExpectedVersions: expected})
	if errors.Is(err, pgx.ErrNoRows) {
		return Item{}, s.store.missed(ctx, itemKey{tenantID, siteID, id}, ptr(true))
	}
	if err != nil {
		return Item{}, classify(err)
	}
	return itemFromRow(itemRow(row)), nil
}

// PurgeTrash deletes, with their revisions, the items of every tenant that
// have been in the trash longer than the retention, and reports how many.
// Any replica may run it (internal/app calls it hourly); it deletes in
// batches so that no transaction grows large.
func (s *Service) PurgeTrash(ctx context.Context) (int64, error) {
	cutoff := time.Now().Add(-s.opts.TrashRetention)
	const batch = 1000
	var total int64
	for {
		n, err := s.store.q.PurgeTrash(ctx, db.PurgeTrashParams{Cutoff: &cutoff, BatchSize: batch})
		total += n
		if err != nil {
			return total, classify(err)
		}
		if n < batch {
			return total, nil
		}
	}
}

// Publishing

// Publish makes the draft's current revision live now, or schedules it when
// at is in the future, if the item is at one of the expected versions.
func (s *Service) Publish(ctx context.Context, tenantID, siteID, id uuid.UUID, at *time.Time, expected []int64) (Item, error) {
	if err := s.siteOf(ctx, tenantID, siteID); err != nil {
		return Item{}, err
	}
	k := itemKey{tenantID, siteID, id}
	if at != nil && at.After(time.Now()) {
		row, err := s.store.q.SchedulePublication(ctx, db.SchedulePublicationParams{PublishAt: at, TenantID: tenantID,
			SiteID: siteID, ID: id, ExpectedVersions: expected})
		if errors.Is(err, pgx.ErrNoRows) {
			return Item{}, s.store.missed(ctx, k, ptr(false))
		}
		if err != nil {
			return Item{}, classify(err)
		}
		return itemFromRow(itemRow(row)), nil
	}
	row, err := s.store.q.PublishDraft(ctx, db.PublishDraftParams{TenantID: tenantID, SiteID: siteID, ID: id, ExpectedVersions: expected})
	if errors.Is(err, pgx.ErrNoRows) {
		return s.store.outcome(ctx, k, expected) // or the revision is live already
	}
	if err != nil {
		return Item{}, classify(err)
	}
	published.WithLabelValues(publishedOnRequest).Inc()
	return itemFromRow(itemRow(row)), nil
}

// Unpublish withdraws the live version and cancels any schedule.
func (s *Service) Unpublish(ctx context.Context, tenantID, siteID, id uuid.UUID, expected []int64) (Item, error) {
	if err := s.siteOf(ctx, tenantID, siteID); err != nil {
		return Item{}, err
	}
	row, err := s.store.q.Unpublish(ctx, db.UnpublishParams{TenantID: tenantID, SiteID: siteID, ID: id, ExpectedVersions: expected})
	if errors.Is(err, pgx.ErrNoRows) {
		return s.store.outcome(ctx, itemKey{tenantID, siteID, id}, expected) // or nothing was live
	}
	if err != nil {
		return Item{}, classify(err)
	}
	return itemFromRow(itemRow(row)), nil
}

// Revisions

// Revisions lists an item's revisions, newest first, without bodies.
func (s *Service) Revisions(ctx context.Context, tenantID, siteID, id uuid.UUID, cursor *string, limit int) ([]Revision, *string, error) {
	if err := s.siteOf(ctx, tenantID, siteID); err != nil {
		return nil, nil, err
	}
	before, err := decodeNumber(cursor)
	if err != nil {
		return nil, nil, err
	}
	p := db.ListRevisionsParams{TenantID: tenantID, SiteID: siteID, ItemID: id, RowLimit: int32(limit + 1)}
	if before != nil {
		p.Before = ptr(int32(*before))
	}
	rows, err := s.store.q.ListRevisions(ctx, p)
	if err != nil {
		return nil, nil, classify(err)
	}
	if len(rows) == 0 {
		// Every item has its first revision: no rows means no item here,
		// unless the cursor went past the first one.
		if _, err := s.store.item(ctx, itemKey{tenantID, siteID, id}); err != nil {
			return nil, nil, err
		}
	}
	revs := mapRows(rows, func(r db.ListRevisionsRow) Revision { return revisionFromRow(revisionRow(r)) })
	revs, next := cutPage(revs, limit, func(r Revision) string { return encodeNumber(r.Number) })
	return revs, next, nil
}

// Revision reads one revision of an item outside the trash.
func (s *Service) Revision(ctx context.Context, tenantID, siteID, id uuid.UUID, number int) (Revision, error) {
	if err := s.siteOf(ctx, tenantID, siteID); err != nil {
		return Revision{}, err
	}
	row, err := s.store.q.GetRevision(ctx, db.GetRevisionParams{TenantID: tenantID, SiteID: siteID, ItemID: id, Number: int32(number)})
	if errors.Is(err, pgx.ErrNoRows) {
		return Revision{}, problem.NotFound("revision %d of item %s not found", number, id)
	}
	if err != nil {
		return Revision{}, classify(err)
	}
	return revisionFromRow(row), nil
}

// RestoreRevision makes a revision's content the draft, as a new revision,
// if the item is at one of the expected versions. Restoring what the draft
// holds already changes nothing.
func (s *Service) RestoreRevision(ctx context.Context, tenantID, siteID, id uuid.UUID, number int, expected []int64) (Item, error) {
	if err := s.siteOf(ctx, tenantID, siteID); err != nil {
		return Item{}, err
	}
	author, err := caller(ctx)
	if err != nil {
		return Item{}, err
	}
	row, err := s.store.q.RestoreRevision(ctx, db.RestoreRevisionParams{Number: int32(number), TenantID: tenantID,
		SiteID: siteID, ID: id, ExpectedVersions: expected, AuthorID: author})
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := s.Revision(ctx, tenantID, siteID, id, number); err != nil {
			return Item{}, err
		}
		return s.store.outcome(ctx, itemKey{tenantID, siteID, id}, expected)
	}
	if err != nil {
		return Item{}, classify(err)
	}
	return itemFromRow(itemRow(row)), nil
}

// Delivery

// PublishedItem reads the live version with this type, slug and locale (the
// site's default when nil) of a site of the caller's tenant.
func (s *Service) PublishedItem(ctx context.Context, siteID uuid.UUID, typ, slug string, locale *string) (Published, error) {
	tenantID, err := s.deliveryTenant(ctx, siteID)
	if err != nil {
		return Published{}, err
	}
	row, err := s.store.q.GetPublished(ctx, db.GetPublishedParams{TenantID: tenantID, SiteID: siteID, Type: typ,
		Slug: slug, Locale: locale, DefaultLocale: DefaultLocale})
	if errors.Is(err, pgx.ErrNoRows) {
		in := "the site's default locale"
		if locale != nil {
			in = "locale " + *locale
		}
		return Published{}, problem.NotFound("nothing is published as %s/%s in %s", typ, slug, in)
	}
	if err != nil {
		return Published{}, classify(err)
	}
	return publishedFromRow(row), nil
}

// PublishedItems lists the live versions of a site of the caller's tenant:
// newest publication first, or with a query best match first.
func (s *Service) PublishedItems(ctx context.Context, siteID uuid.UUID, f Filter, cursor *string, limit int) ([]Published, *string, error) {
	tenantID, err := s.deliveryTenant(ctx, siteID)
	if err != nil {
		return nil, nil, err
	}
	if f.Query != nil {
		after, err := decodeRank(cursor)
		if err != nil {
			return nil, nil, err
		}
		p := db.SearchPublishedParams{Query: *f.Query, TenantID: tenantID, SiteID: siteID, Type: f.Type, Locale: f.Locale,
			Tag: f.Tag, AuthorID: f.AuthorID, UpdatedSince: f.UpdatedSince, RowLimit: int32(limit + 1)}
		if after != nil {
			p.AfterRank, p.AfterID = &after.rank, &after.id
		}
		rows, err := s.store.q.SearchPublished(ctx, p)
		if err != nil {
			return nil, nil, classify(err)
		}
		items := mapRows(rows, func(r db.SearchPublishedRow) Published {
			it := publishedFromRow(publishedRow{ID: r.ID, SiteID: r.SiteID, Type: r.Type, Locale: r.Locale,
				AuthorID: r.AuthorID, Slug: r.Slug, Title: r.Title, Summary: r.Summary, Data: r.Data, Tags: r.Tags,
				Revision: r.Revision, PublishedAt: r.PublishedAt, LiveVersion: r.LiveVersion})
			it.Rank, it.Snippet = ptr(r.Rank), ptr(snippetHTML(r.Snippet))
			return it
		})
		items, next := cutPage(items, limit, func(it Published) string { return encodeRank(rankKey{*it.Rank, it.ID}) })
		return items, next, nil
	}
	after, err := decodeTime(cursor)
	if err != nil {
		return nil, nil, err
	}
	p := db.ListPublishedParams{TenantID: tenantID, SiteID: siteID, Type: f.Type, Locale: f.Locale, Tag: f.Tag,
		AuthorID: f.AuthorID, UpdatedSince: f.UpdatedSince, RowLimit: int32(limit + 1)}
	if after != nil {
		p.AfterTime, p.AfterID = &after.at, &after.id
	}
	rows, err := s.store.q.ListPublished(ctx, p)
	if err != nil {
		return nil, nil, classify(err)
	}
	items := mapRows(rows, func(r db.ListPublishedRow) Published { return publishedFromRow(publishedRow(r)) })
	items, next := cutPage(items, limit, func(it Published) string { return encodeTime(timeKey{it.PublishedAt, it.ID}) })
	return items, next, nil
}
