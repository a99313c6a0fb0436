package content_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/content"
	"github.com/saasplatform/saas/internal/content"
)

// Deleting moves an item to the trash, out of every other path and of
// delivery; restoring brings it back as it was; a permanent delete removes
// it with its revisions; the purge removes what outlived the retention.
func TestTrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	it := e.create(client.ItemCreate{Type: "page", Slug: "contact", Title: "Contact"})
	e.publish(it.Id, nil)
	at := time.Now().Add(time.Hour)
	e.update(it.Id, client.ItemUpdate{Title: ptr("Contact us")})
	e.publish(it.Id, &at) // a schedule, which the trash cancels

	del, _ := e.c.DeleteItemWithResponse(ctx(), e.tenant, e.site, it.Id, nil)
	if del.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete: %d %s", del.StatusCode(), del.Body)
	}
	gone := func(what string) {
		t.Helper()
		if r, _ := e.c.GetItemWithResponse(ctx(), e.tenant, e.site, it.Id); r.StatusCode() != http.StatusNotFound {
			t.Errorf("%s: GET item %d", what, r.StatusCode())
		}
		if _, code := e.live("contact"); code != http.StatusNotFound {
			t.Errorf("%s: delivered %d", what, code)
		}
		if r, _ := e.c.ListItemsWithResponse(ctx(), e.tenant, e.site, nil); len(r.JSON200.Items) != 0 {
			t.Errorf("%s: listed %s", what, r.Body)
		}
		if r, _ := e.c.ListRevisionsWithResponse(ctx(), e.tenant, e.site, it.Id, nil); r.StatusCode() != http.StatusNotFound {
			t.Errorf("%s: revisions %d", what, r.StatusCode())
		}
		if r, _ := e.c.PublishItemWithResponse(ctx(), e.tenant, e.site, it.Id, nil, client.PublishRequest{}); r.StatusCode() != http.StatusNotFound {
			t.Errorf("%s: publish %d", what, r.StatusCode())
		}
	}
	gone("in the trash")
	if again, _ := e.c.DeleteItemWithResponse(ctx(), e.tenant, e.site, it.Id, nil); again.StatusCode() != http.StatusNotFound {
		t.Errorf("deleting what is in the trash: %d", again.StatusCode())
	}
	trash, _ := e.c.ListTrashWithResponse(ctx(), e.tenant, e.site, nil)
	if trash.JSON200 == nil || len(trash.JSON200.Items) != 1 {
		t.Fatalf("trash: %s", trash.Body)
	}
	tr := trash.JSON200.Items[0]
	if tr.Id != it.Id || tr.DeletedAt == nil || tr.PurgeAt == nil ||
		tr.PurgeAt.Sub(*tr.DeletedAt) != content.DefaultTrashRetention || tr.PublishAt != nil {
		t.Errorf("in the trash: %+v", tr)
	}

	// The slug is free while the item is in the trash; restoring it then clashes.
	squatter := e.create(client.ItemCreate{Type: "page", Slug: "contact", Title: "Squatter"})
	if r, _ := e.c.RestoreItemWithResponse(ctx(), e.tenant, e.site, it.Id, nil); r.StatusCode() != http.StatusConflict {
		t.Errorf("restore onto a taken slug: %d %s", r.StatusCode(), r.Body)
	}
	if r, _ := e.c.DeleteItemWithResponse(ctx(), e.tenant, e.site, squatter.Id, &client.DeleteItemParams{Permanent: ptr(true)}); r.StatusCode() != http.StatusNoContent {
		t.Fatalf("permanent delete: %d", r.StatusCode())
	}
	restored, _ := e.c.RestoreItemWithResponse(ctx(), e.tenant, e.site, it.Id, nil)
	if restored.JSON200 == nil || restored.JSON200.Status != client.Published || restored.JSON200.DeletedAt != nil ||
		restored.JSON200.Title != "Contact us" || restored.JSON200.PublishAt != nil {
		t.Fatalf("restored: %d %s", restored.StatusCode(), restored.Body)
	}
	if live, code := e.live("contact"); code != http.StatusOK || live.Title != "Contact" {
		t.Errorf("restored item's live version: %d", code)
	}
	if r, _ := e.c.RestoreItemWithResponse(ctx(), e.tenant, e.site, it.Id, nil); r.StatusCode() != http.StatusNotFound {
		t.Errorf("restoring what is not in the trash: %d", r.StatusCode())
	}

	// Permanently, with the revisions, from outside the trash.
	if r, _ := e.c.DeleteItemWithResponse(ctx(), e.tenant, e.site, it.Id, &client.DeleteItemParams{Permanent: ptr(true)}); r.StatusCode() != http.StatusNoContent {
		t.Fatalf("permanent delete: %d", r.StatusCode())
	}
	gone("deleted")
	var revisions int
	_ = e.p.Pool.QueryRow(ctx(), `SELECT count(*) FROM content.revisions WHERE item_id = $1`, it.Id).Scan(&revisions)
	if revisions != 0 {
		t.Errorf("%d revisions left", revisions)
	}
	if r, _ := e.c.RestoreItemWithResponse(ctx(), e.tenant, e.site, it.Id, nil); r.StatusCode() != http.StatusNotFound {
		t.Errorf("restoring a deleted item: %d", r.StatusCode())
	}

	// The purge: what has been in the trash longer than the retention goes.
	old := e.create(client.ItemCreate{Type: "page", Slug: "old", Title: "Old"})
	recent := e.create(client.ItemCreate{Type: "page", Slug: "recent", Title: "Recent"})
	for _, id := range []uuid.UUID{old.Id, recent.Id} {
		if r, _ := e.c.DeleteItemWithResponse(ctx(), e.tenant, e.site, id, nil); r.StatusCode() != http.StatusNoContent {
			t.Fatalf("delete: %d", r.StatusCode())
		}
	}
	if _, err := e.p.Pool.Exec(context.Background(),
		`UPDATE content.items SET deleted_at = now() - $2::interval WHERE id = $1`, old.Id, "31 days"); err != nil {
		t.Fatal(err)
	}
	e.p.Purge(context.Background())
	left, _ := e.c.ListTrashWithResponse(ctx(), e.tenant, e.site, nil)
	if left.JSON200 == nil || len(left.JSON200.Items) != 1 || left.JSON200.Items[0].Id != recent.Id {
		t.Errorf("after the purge: %s", left.Body)
	}
	if r, _ := e.c.RestoreItemWithResponse(ctx(), e.tenant, e.site, old.Id, nil); r.StatusCode() != http.StatusNotFound {
		t.Errorf("restoring a purged item: %d", r.StatusCode())
	}
}
