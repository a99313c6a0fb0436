package content_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/content"
)

// Another tenant's items, sites and live versions are answered 404, as is
// an item addressed under another site of its own tenant; a site of
// another tenant under one's own tenant_id is 404 too.
func TestOtherTenantsAndSitesAre404(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	it := e.create(client.ItemCreate{Type: "page", Slug: "secret", Title: "Secret"})
	e.publish(it.Id, nil)
	bTenant, bSite, _, bToken := e.newTenant("b")
	b := e.client(bToken)

	for name, code := range map[string]func() int{
		"A's item under A's tenant": func() int {
			r, _ := b.GetItemWithResponse(ctx(), e.tenant, e.site, it.Id)
			return r.StatusCode()
		},
		"A's site under B's tenant": func() int {
			r, _ := b.GetItemWithResponse(ctx(), bTenant, e.site, it.Id)
			return r.StatusCode()
		},
		"A's site listed under B's tenant": func() int {
			r, _ := b.ListItemsWithResponse(ctx(), bTenant, e.site, nil)
			return r.StatusCode()
		},
		"A's item under B's site": func() int {
			r, _ := b.GetItemWithResponse(ctx(), bTenant, bSite, it.Id)
			return r.StatusCode()
		},
		"create in A's site under B's tenant": func() int {
			r, _ := b.CreateItemWithResponse(ctx(), bTenant, e.site, nil, client.ItemCreate{Type: "page", Slug: "x", Title: "x"})
			return r.StatusCode()
		},
		"A's live version": func() int {
			r, _ := b.GetPublishedWithResponse(ctx(), e.site, "page", "secret", nil)
			return r.StatusCode()
		},
		"A's delivery list": func() int {
			r, _ := b.ListPublishedWithResponse(ctx(), e.site, nil)
			return r.StatusCode()
		},
		"A's item under A's other site": func() int {
			r, _ := e.c.GetItemWithResponse(ctx(), e.tenant, e.site2, it.Id)
			return r.StatusCode()
		},
		"publishing A's item under A's other site": func() int {
			r, _ := e.c.PublishItemWithResponse(ctx(), e.tenant, e.site2, it.Id, nil, client.PublishRequest{})
			return r.StatusCode()
		},
		"deleting A's item under A's other site": func() int {
			r, _ := e.c.DeleteItemWithResponse(ctx(), e.tenant, e.site2, it.Id, &client.DeleteItemParams{Permanent: ptr(true)})
			return r.StatusCode()
		},
		"a site that does not exist": func() int {
			r, _ := e.c.ListItemsWithResponse(ctx(), e.tenant, uuid.New(), nil)
			return r.StatusCode()
		},
		"delivery of a site that does not exist": func() int {
			r, _ := e.c.ListPublishedWithResponse(ctx(), uuid.New(), nil)
			return r.StatusCode()
		},
	} {
		if c := code(); c != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", name, c)
		}
	}
	if got, _ := e.get(it.Id); got.Status != client.Published || got.Revision != 1 {
		t.Errorf("A's item changed: %+v", got)
	}

	// The platform administrator acts across tenants, delivery included.
	admin := e.client(e.admin)
	if r, _ := admin.GetPublishedWithResponse(ctx(), e.site, "page", "secret", nil); r.StatusCode() != http.StatusOK {
		t.Errorf("platform administrator's delivery read: %d", r.StatusCode())
	}
}

// A role held on one site counts on that site's paths only: an editor of
// the first site writes, publishes and reads there, and is refused (403) on
// the second; a user without a content role is refused everywhere.
func TestSiteScopedRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	editor := e.client(e.newUser(e.tenant, fmt.Sprintf("ed%d@example.com", seq.Add(1)), editorRole, &e.site))
	nobody := e.client(e.newUser(e.tenant, fmt.Sprintf("no%d@example.com", seq.Add(1)), "00000000-0000-7000-8000-000000000203", &e.site2))

	created, _ := editor.CreateItemWithResponse(ctx(), e.tenant, e.site, nil, client.ItemCreate{Type: "page", Slug: "mine", Title: "Mine"})
	if created.JSON201 == nil {
		t.Fatalf("an editor of the site creating there: %d %s", created.StatusCode(), created.Body)
	}
	if r, _ := editor.PublishItemWithResponse(ctx(), e.tenant, e.site, created.JSON201.Id, nil, client.PublishRequest{}); r.StatusCode() != http.StatusOK {
		t.Errorf("an editor of the site publishing there: %d", r.StatusCode())
	}
	if r, _ := editor.GetPublishedWithResponse(ctx(), e.site, "page", "mine", nil); r.StatusCode() != http.StatusOK {
		t.Errorf("an editor of the site reading its delivery: %d", r.StatusCode())
	}
	other := e.createIn(e.site2, client.ItemCreate{Type: "page", Slug: "theirs", Title: "Theirs"})
	for name, code := range map[string]func() int{
		"create on the other site": func() int {
			r, _ := editor.CreateItemWithResponse(ctx(), e.tenant, e.site2, nil, client.ItemCreate{Type: "page", Slug: "x", Title: "x"})
			return r.StatusCode()
		},
		"read on the other site": func() int {
			r, _ := editor.GetItemWithResponse(ctx(), e.tenant, e.site2, other.Id)
			return r.StatusCode()
		},
		"delivery of the other site": func() int {
			r, _ := editor.ListPublishedWithResponse(ctx(), e.site2, nil)
			return r.StatusCode()
		},
		"a viewer on the other site writing there": func() int {
			r, _ := nobody.CreateItemWithResponse(ctx(), e.tenant, e.site2, nil, client.ItemCreate{Type: "page", Slug: "y", Title: "y"})
			return r.StatusCode()
		},
		"a viewer on the other site reading the first": func() int {
			r, _ := nobody.ListItemsWithResponse(ctx(), e.tenant, e.site, nil)
			return r.StatusCode()
		},
	} {
		if c := code(); c != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, c)
		}
	}
	if r, _ := nobody.ListItemsWithResponse(ctx(), e.tenant, e.site2, nil); r.StatusCode() != http.StatusOK {
		t.Errorf("a viewer of the site reading there: %d", r.StatusCode())
	}
}
