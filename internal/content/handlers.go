package content

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	api "github.com/saasplatform/saas/gen/api/content"
	"github.com/saasplatform/saas/internal/platform/etag"
	"github.com/saasplatform/saas/internal/platform/page"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// Prefix is where the service's API lives; it is the spec's server URL.
const Prefix = "/content/v1"

// handlers adapts the generated strict server interface to the Service: they
// translate API <-> domain and call one method each. Errors are rendered as
// problem+json by the strict server's error handler.
type handlers struct{ svc *Service }

var _ api.StrictServerInterface = handlers{}

func summaryOut(i Item) api.ItemSummary {
	return api.ItemSummary{Id: i.ID, TenantId: i.TenantID, SiteId: i.SiteID, Type: i.Type, Locale: i.Locale, Slug: i.Slug,
		Title: i.Title, Summary: i.Summary, Data: i.Data, Tags: i.Tags, AuthorId: i.AuthorID,
		Status: api.ItemStatus(i.Status), Revision: i.Revision, HasUnpublishedChanges: i.HasUnpublishedChanges(),
		LiveRevision: i.LiveRevision, PublishedAt: i.PublishedAt, PublishAt: i.PublishAt,
		ScheduledRevision: i.ScheduledRevision, ScheduleError: i.ScheduleError, CreatedAt: i.CreatedAt,
		UpdatedAt: i.UpdatedAt, DeletedAt: i.DeletedAt, PurgeAt: i.PurgeAt, Rank: i.Rank, Snippet: i.Snippet}
}

func itemOut(i Item) api.Item {
	s := summaryOut(i)
	return api.Item{Id: s.Id, TenantId: s.TenantId, SiteId: s.SiteId, Type: s.Type, Locale: s.Locale, Slug: s.Slug,
		Title: s.Title, Summary: s.Summary, Body: i.Body, Data: s.Data, Tags: s.Tags, AuthorId: s.AuthorId,
		Status: api.ItemStatus(i.Status), Revision: s.Revision, HasUnpublishedChanges: s.HasUnpublishedChanges,
		LiveRevision: s.LiveRevision, PublishedAt: s.PublishedAt, PublishAt: s.PublishAt,
		ScheduledRevision: s.ScheduledRevision, ScheduleError: s.ScheduleError, CreatedAt: s.CreatedAt,
		UpdatedAt: s.UpdatedAt, DeletedAt: s.DeletedAt, PurgeAt: s.PurgeAt}
}

func revisionSummaryOut(r Revision) api.RevisionSummary {
	changed := make([]api.RevisionSummaryChanged, len(r.Changed))
	for i, c := range r.Changed {
		changed[i] = api.RevisionSummaryChanged(c)
	}
	return api.RevisionSummary{ItemId: r.ItemID, Number: r.Number, Action: api.RevisionSummaryAction(r.Action),
		RestoredFrom: r.RestoredFrom, Changed: changed, AuthorId: r.AuthorID, CreatedAt: r.CreatedAt, Slug: r.Slug,
		Title: r.Title, Summary: r.Summary, Data: r.Data, Tags: r.Tags}
}

func revisionOut(r Revision) api.Revision {
	changed := make([]api.RevisionChanged, len(r.Changed))
	for i, c := range r.Changed {
		changed[i] = api.RevisionChanged(c)
	}
	return api.Revision{ItemId: r.ItemID, Number: r.Number, Action: api.RevisionAction(r.Action),
		RestoredFrom: r.RestoredFrom, Changed: changed, AuthorId: r.AuthorID, CreatedAt: r.CreatedAt, Slug: r.Slug,
		Title: r.Title, Summary: r.Summary, Body: r.Body, Data: r.Data, Tags: r.Tags}
}

func publishedSummaryOut(p Published) api.PublishedSummary {
	return api.PublishedSummary{Id: p.ID, SiteId: p.SiteID, Type: p.Type, Locale: p.Locale, Slug: p.Slug, Title: p.Title,
		Summary: p.Summary, Data: p.Data, Tags: p.Tags, AuthorId: p.AuthorID, Revision: p.Revision,
		PublishedAt: p.PublishedAt, Rank: p.Rank, Snippet: p.Snippet}
}

func publishedOut(p Published) api.PublishedItem {
	return api.PublishedItem{Id: p.ID, SiteId: p.SiteID, Type: p.Type, Locale: p.Locale, Slug: p.Slug, Title: p.Title,
		Summary: p.Summary, Body: p.Body, Data: p.Data, Tags: p.Tags, AuthorId: p.AuthorID, Revision: p.Revision,
		PublishedAt: p.PublishedAt}
}

func settingsOut(s Settings) api.SiteSettings {
	return api.SiteSettings{SiteId: s.SiteID, DefaultLocale: s.DefaultLocale, UpdatedAt: s.UpdatedAt}
}

func itemLocation(i Item) string {
	return Prefix + "/tenants/" + i.TenantID.String() + "/sites/" + i.SiteID.String() + "/items/" + i.ID.String()
}

// filter validates the list filters the spec cannot check in full: the
// locale is compared in its canonical spelling, and a query is bounded.
func filter(typ, locale, tag, q *string, author *uuid.UUID) (Filter, error) {
	var errs fields
	f := Filter{Type: typ, Tag: tag, AuthorID: author}
	if locale != nil {
		l, err := ParseLocale("query.locale", *locale)
		errs.add(err)
		f.Locale = &l
	}
	if q != nil {
		s, err := ParseQuery("query.q", *q)
		errs.add(err)
		f.Query = &s
	}
	return f, errs.err()
}

// Settings

func (h handlers) GetSiteSettings(ctx context.Context, r api.GetSiteSettingsRequestObject) (api.GetSiteSettingsResponseObject, error) {
	s, err := h.svc.Settings(ctx, r.TenantId, r.SiteId)
	if err != nil {
		return nil, err
	}
	return api.GetSiteSettings200JSONResponse{Body: settingsOut(s), Headers: api.GetSiteSettings200ResponseHeaders{ETag: etag.Of(s.Version)}}, nil
}

func (h handlers) UpdateSiteSettings(ctx context.Context, r api.UpdateSiteSettingsRequestObject) (api.UpdateSiteSettingsResponseObject, error) {
	if r.Body.DefaultLocale == nil {
		return nil, problem.Field("body.default_locale", "is required") // the only field, and minProperties is 1
	}
	locale, err := ParseLocale("body.default_locale", *r.Body.DefaultLocale)
	if err != nil {
		return nil, err
	}
	s, err := h.svc.UpdateSettings(ctx, r.TenantId, r.SiteId, locale, etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.UpdateSiteSettings200JSONResponse{Body: settingsOut(s), Headers: api.UpdateSiteSettings200ResponseHeaders{ETag: etag.Of(s.Version)}}, nil
}

// Items

func (h handlers) CreateItem(ctx context.Context, r api.CreateItemRequestObject) (api.CreateItemResponseObject, error) {
	b := r.Body
	n, err := ParseNewItem(ItemInput{Type: b.Type, Locale: b.Locale, DraftInput: DraftInput{Slug: &b.Slug, Title: &b.Title,
		Summary: b.Summary, Body: b.Body, Data: b.Data, Tags: b.Tags}})
	if err != nil {
		return nil, err
	}
	it, err := h.svc.CreateItem(ctx, r.TenantId, r.SiteId, n)
	if err != nil {
		return nil, err
	}
	return api.CreateItem201JSONResponse{Body: itemOut(it), Headers: api.CreateItem201ResponseHeaders{
		Location: itemLocation(it), ETag: etag.Of(it.Version)}}, nil
}

func (h handlers) ListItems(ctx context.Context, r api.ListItemsRequestObject) (api.ListItemsResponseObject, error) {
	p := r.Params
	f, err := filter(p.Type, p.Locale, p.Tag, p.Q, p.AuthorId)
	if err != nil {
		return nil, err
	}
	if p.Status != nil {
		st := Status(*p.Status)
		f.Status = &st
	}
	f.UpdatedSince = p.UpdatedSince
	items, next, err := h.svc.Items(ctx, r.TenantId, r.SiteId, f, p.Cursor, page.Limit(p.Limit))
	if err != nil {
		return nil, err
	}
	return api.ListItems200JSONResponse{Items: mapRows(items, summaryOut), NextCursor: next}, nil
}

func (h handlers) GetItem(ctx context.Context, r api.GetItemRequestObject) (api.GetItemResponseObject, error) {
	it, err := h.svc.Item(ctx, r.TenantId, r.SiteId, r.ItemId)
	if err != nil {
		return nil, err
	}
	return api.GetItem200JSONResponse{Body: itemOut(it), Headers: api.GetItem200ResponseHeaders{ETag: etag.Of(it.Version)}}, nil
}

func (h handlers) UpdateItem(ctx context.Context, r api.UpdateItemRequestObject) (api.UpdateItemResponseObject, error) {
	b := r.Body
	patch, err := ParseDraftPatch("body", DraftInput{Slug: b.Slug, Title: b.Title, Summary: b.Summary, Body: b.Body,
		Data: b.Data, Tags: b.Tags})
	if err != nil {
		return nil, err
	}
	it, err := h.svc.UpdateItem(ctx, r.TenantId, r.SiteId, r.ItemId, patch, etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.UpdateItem200JSONResponse{Body: itemOut(it), Headers: api.UpdateItem200ResponseHeaders{ETag: etag.Of(it.Version)}}, nil
}

func (h handlers) DeleteItem(ctx context.Context, r api.DeleteItemRequestObject) (api.DeleteItemResponseObject, error) {
	permanent := r.Params.Permanent != nil && *r.Params.Permanent
	if err := h.svc.DeleteItem(ctx, r.TenantId, r.SiteId, r.ItemId, permanent, etag.Expected(r.Params.IfMatch)); err != nil {
		return nil, err
	}
	return api.DeleteItem204Response{}, nil
}

// Publishing

func (h handlers) PublishItem(ctx context.Context, r api.PublishItemRequestObject) (api.PublishItemResponseObject, error) {
	it, err := h.svc.Publish(ctx, r.TenantId, r.SiteId, r.ItemId, publishAt(r.Body), etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.PublishItem200JSONResponse{Body: itemOut(it), Headers: api.PublishItem200ResponseHeaders{ETag: etag.Of(it.Version)}}, nil
}

func publishAt(b *api.PublishRequest) *time.Time {
	if b == nil {
		return nil
	}
	return b.PublishAt
}

func (h handlers) UnpublishItem(ctx context.Context, r api.UnpublishItemRequestObject) (api.UnpublishItemResponseObject, error) {
	it, err := h.svc.Unpublish(ctx, r.TenantId, r.SiteId, r.ItemId, etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.UnpublishItem200JSONResponse{Body: itemOut(it), Headers: api.UnpublishItem200ResponseHeaders{ETag: etag.Of(it.Version)}}, nil
}

// Revisions

func (h handlers) ListRevisions(ctx context.Context, r api.ListRevisionsRequestObject) (api.ListRevisionsResponseObject, error) {
	revs, next, err := h.svc.Revisions(ctx, r.TenantId, r.SiteId, r.ItemId, r.Params.Cursor, page.Limit(r.Params.Limit))
	if err != nil {
		return nil, err
	}
	return api.ListRevisions200JSONResponse{Items: mapRows(revs, revisionSummaryOut), NextCursor: next}, nil
}

func (h handlers) GetRevision(ctx context.Context, r api.GetRevisionRequestObject) (api.GetRevisionResponseObject, error) {
	rev, err := h.svc.Revision(ctx, r.TenantId, r.SiteId, r.ItemId, int(r.Revision))
	if err != nil {
		return nil, err
	}
	return api.GetRevision200JSONResponse(revisionOut(rev)), nil
}

func (h handlers) RestoreRevision(ctx context.Context, r api.RestoreRevisionRequestObject) (api.RestoreRevisionResponseObject, error) {
	it, err := h.svc.RestoreRevision(ctx, r.TenantId, r.SiteId, r.ItemId, int(r.Revision), etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.RestoreRevision200JSONResponse{Body: itemOut(it), Headers: api.RestoreRevision200ResponseHeaders{ETag: etag.Of(it.Version)}}, nil
}

// Trash

func (h handlers) ListTrash(ctx context.Context, r api.ListTrashRequestObject) (api.ListTrashResponseObject, error) {
	items, next, err := h.svc.Trash(ctx, r.TenantId, r.SiteId, r.Params.Cursor, page.Limit(r.Params.Limit))
	if err != nil {
		return nil, err
	}
	return api.ListTrash200JSONResponse{Items: mapRows(items, summaryOut), NextCursor: next}, nil
}

func (h handlers) RestoreItem(ctx context.Context, r api.RestoreItemRequestObject) (api.RestoreItemResponseObject, error) {
	it, err := h.svc.RestoreItem(ctx, r.TenantId, r.SiteId, r.ItemId, etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.RestoreItem200JSONResponse{Body: itemOut(it), Headers: api.RestoreItem200ResponseHeaders{ETag: etag.Of(it.Version)}}, nil
}

// Delivery

func (h handlers) GetPublished(ctx context.Context, r api.GetPublishedRequestObject) (api.GetPublishedResponseObject, error) {
	var locale *string
	if r.Params.Locale != nil {
		l, err := ParseLocale("query.locale", *r.Params.Locale)
		if err != nil {
			return nil, err
		}
		locale = &l
	}
	p, err := h.svc.PublishedItem(ctx, r.SiteId, r.Type, r.Slug, locale)
	if err != nil {
		return nil, err
	}
	tag := p.ETag()
	if noneMatch(r.Params.IfNoneMatch, tag) {
		return api.GetPublished304Response{Headers: api.GetPublished304ResponseHeaders{ETag: tag}}, nil
	}
	return api.GetPublished200JSONResponse{Body: publishedOut(p), Headers: api.GetPublished200ResponseHeaders{ETag: tag}}, nil
}

func (h handlers) ListPublished(ctx context.Context, r api.ListPublishedRequestObject) (api.ListPublishedResponseObject, error) {
	p := r.Params
	f, err := filter(p.Type, p.Locale, p.Tag, p.Q, p.AuthorId)
	if err != nil {
		return nil, err
	}
	f.UpdatedSince = p.UpdatedSince
	items, next, err := h.svc.PublishedItems(ctx, r.SiteId, f, p.Cursor, page.Limit(p.Limit))
	if err != nil {
		return nil, err
	}
	tag := listETag(items, next)
	if noneMatch(p.IfNoneMatch, tag) {
		return api.ListPublished304Response{Headers: api.ListPublished304ResponseHeaders{ETag: tag}}, nil
	}
	return api.ListPublished200JSONResponse{Body: api.PublishedList{Items: mapRows(items, publishedSummaryOut), NextCursor: next},
		Headers: api.ListPublished200ResponseHeaders{ETag: tag}}, nil
}

// listETag identifies a page of a delivery list: for the same request (the
// URL fixes filters, query and cursor), the page is the same exactly when it
// lists the same publications in the same order with the same next cursor.
func listETag(items []Published, next *string) string {
	h := sha256.New()
	for _, it := range items {
		h.Write(it.ID[:])
		h.Write([]byte(strconv.FormatInt(it.LiveVersion, 10) + ";"))
	}
	if next != nil {
		h.Write([]byte(*next))
	}
	return `"l` + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18]) + `"`
}

// noneMatch reports whether an If-None-Match header names current (RFC 9110
// §13.1.2: "*" matches any current representation; tags compare weakly). A
// malformed header matches nothing, so the representation is sent.
func noneMatch(header *string, current string) bool {
	if header == nil {
		return false
	}
	h := strings.TrimSpace(*header)
	if h == "*" {
		return true
	}
	for h != "" {
		h = strings.TrimLeft(h, " \t,")
		if h == "" {
			break
		}
		h = strings.TrimPrefix(h, "W/")
		if !strings.HasPrefix(h, `"`) {
			return false
		}
		end := strings.IndexByte(h[1:], '"')
		if end < 0 {
			return false
		}
		if h[:end+2] == current {
			return true
		}
		h = h[end+2:]
	}
	return false
}
