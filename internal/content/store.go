package content

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	db "github.com/saasplatform/saas/gen/db/content"
	"github.com/saasplatform/saas/internal/platform/etag"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// constraints translates the database's verdicts (the source of truth for
// uniqueness) into client errors; nothing is checked first.
var constraints = pg.Constraints{
	"items_slug_key":      problem.Conflict("another item of this site with the same type and locale has this slug"),
	"items_live_slug_key": problem.Conflict("another item of this site with the same type and locale is live with this slug"),
}

func classify(err error) error { return constraints.Classify(err) }

// store adapts the sqlc queries to the domain model.
type store struct {
	pool *pgxpool.Pool
	q    *db.Queries
}

func newStore(pool *pgxpool.Pool) *store { return &store{pool: pool, q: db.New(pool)} }

// itemRow is the one shape of every query answering an item (see
// queries/content/items.sql); each generated row type converts to it.
type itemRow = db.GetItemRow

func itemFromRow(r itemRow) Item {
	it := Item{TenantID: r.TenantID, SiteID: r.SiteID, ID: r.ID, Type: r.Type, Locale: r.Locale, AuthorID: r.AuthorID,
		Draft:    Draft{Slug: r.Slug, Title: r.Title, Summary: r.Summary, Body: r.Body, Data: r.Data, Tags: nonNil(r.Tags)},
		Revision: int(r.Revision), LiveRevision: intPtr(r.LiveRevision), PublishedAt: utc(r.PublishedAt),
		PublishAt: utc(r.PublishAt), ScheduledRevision: intPtr(r.PublishRevision), ScheduleError: r.ScheduleError,
		DeletedAt: utc(r.DeletedAt), Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.Status != nil {
		it.Status = Status(*r.Status)
	}
	return it
}

// publishedRow is the one shape of every delivery query (see
// queries/content/delivery.sql).
type publishedRow = db.GetPublishedRow

func publishedFromRow(r publishedRow) Published {
	return Published{ID: r.ID, SiteID: r.SiteID, Type: r.Type, Locale: r.Locale, AuthorID: r.AuthorID,
		Draft:    Draft{Slug: r.Slug, Title: r.Title, Summary: r.Summary, Body: r.Body, Data: r.Data, Tags: nonNil(r.Tags)},
		Revision: int(r.Revision), PublishedAt: r.PublishedAt.UTC(), LiveVersion: r.LiveVersion}
}

type revisionRow = db.GetRevisionRow

func revisionFromRow(r revisionRow) Revision {
	return Revision{ItemID: r.ItemID, Number: int(r.Number), Action: r.Action, RestoredFrom: intPtr(r.RestoredFrom),
		Changed: nonNil(r.Changed), AuthorID: r.AuthorID, CreatedAt: r.CreatedAt.UTC(),
		Draft: Draft{Slug: r.Slug, Title: r.Title, Summary: r.Summary, Body: r.Body, Data: r.Data, Tags: nonNil(r.Tags)}}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func intPtr(v *int32) *int {
	if v == nil {
		return nil
	}
	n := int(*v)
	return &n
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func mapRows[R, D any](rows []R, f func(R) D) []D {
	out := make([]D, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}

// itemKey names an item of a site.
type itemKey struct{ tenant, site, id uuid.UUID }

func (s *store) item(ctx context.Context, k itemKey) (Item, error) {
	row, err := s.q.GetItem(ctx, db.GetItemParams{TenantID: k.tenant, SiteID: k.site, ID: k.id})
	if errors.Is(err, pgx.ErrNoRows) {
		return Item{}, itemNotFound(k.id)
	}
	return itemFromRow(row), classify(err)
}

func itemNotFound(id uuid.UUID) error { return problem.NotFound("item %s not found", id) }

// outcome explains why a conditional change of an item outside the trash
// touched nothing: the item is not there (404), its version moved on (412),
// or there was nothing to change, and then the item is answered as it is.
func (s *store) outcome(ctx context.Context, k itemKey, expected []int64) (Item, error) {
	it, err := s.item(ctx, k)
	if err != nil {
		return Item{}, err
	}
	if !etag.Matches(expected, it.Version) {
		return Item{}, etag.Stale()
	}
	return it, nil
}

// missed explains why a conditional change touched nothing when "nothing to
// change" is not a possible reason: 404 or 412. trashed says whether the
// change needed the item in the trash (true), outside it (false), or either
// (nil).
func (s *store) missed(ctx context.Context, k itemKey, trashed *bool) error {
	st, err := s.q.ItemState(ctx, db.ItemStateParams{TenantID: k.tenant, SiteID: k.site, ID: k.id})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return itemNotFound(k.id)
	case err != nil:
		return classify(err)
	case trashed != nil && st.Trashed != *trashed:
		return itemNotFound(k.id)
	}
	return etag.Stale()
}

func ptr[T any](v T) *T { return &v }
