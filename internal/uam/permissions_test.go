package uam_test

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/platform/testkit"
	"github.com/saasplatform/saas/internal/uam"
)

func TestListBuiltinPermissions(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.tenantPermission(tenant, "aaa:read", "A tenant's own; never in the built-in catalogue.")

	perms, pages := e.cataloguePaged(5)
	var names []string
	for _, p := range perms {
		names = append(names, p.Name)
		wantLevel := client.Tenant
		if slices.Contains(platformLevelPerms, p.Name) {
			wantLevel = client.Platform
		}
		if !p.BuiltIn || p.TenantId != nil || p.Level != wantLevel || p.Description == "" {
			t.Errorf("catalogue entry %+v, want built in, no tenant, level %s, a description", p, wantLevel)
		}
	}
	if want := allBuiltinPerms(); !slices.Equal(names, want) {
		t.Errorf("catalogue in pages of 5: %v, want %v", names, want)
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("catalogue not sorted and unique: %v", names)
	}
	if want := (len(names) + 4) / 5; pages != want {
		t.Errorf("%d permissions in pages of 5 took %d pages, want %d", len(names), pages, want)
	}
	one, _ := e.cataloguePaged(500)
	if len(one) != len(perms) {
		t.Errorf("one page has %d permissions, pages of 5 %d", len(one), len(perms))
	}

	// Cursors this API did not issue are refused.
	roleLimit := 1
	rl, err := e.c.ListRolesWithResponse(ctx, tenant, &client.ListRolesParams{Limit: &roleLimit})
	expectStatus(t, "list roles", rl, rl.Body, err, http.StatusOK)
	text := func(key string) string { return base64.RawURLEncoding.EncodeToString(append([]byte{2}, key...)) }
	for _, c := range []string{
		"zz",
		"not base64!",
		*rl.JSON200.NextCursor,        // a cursor of the id-ordered lists
		text("Users:Read"),            // not a permission name
		text("users:read' OR 'a'='a"), // nor this
		text("users:read") + "A",      // trailing garbage
		base64.StdEncoding.EncodeToString(append([]byte{2}, "users:read"...)), // another alphabet, padded
	} {
		r, err := e.c.ListPermissionsWithResponse(ctx, &client.ListPermissionsParams{Cursor: &c})
		expectStatus(t, "forged cursor "+c, r, r.Body, err, http.StatusBadRequest)
		if !namesField(r.ApplicationproblemJSON400, "query.cursor") {
			t.Errorf("forged cursor %q: fields %v, want query.cursor", c, fieldErrors(r.ApplicationproblemJSON400))
		}
	}
	for _, limit := range []int{0, 501} {
		r, err := e.c.ListPermissionsWithResponse(ctx, &client.ListPermissionsParams{Limit: &limit})
		expectStatus(t, "limit out of range", r, r.Body, err, http.StatusBadRequest)
		if !namesField(r.ApplicationproblemJSON400, "query.limit") {
			t.Errorf("limit %d: fields %v, want query.limit", limit, fieldErrors(r.ApplicationproblemJSON400))
		}
	}
}

func TestTenantPermissionCRUD(t *testing.T) {
	e := newEnv(t)
	tenant, other := e.tenant(), e.tenant()

	desc := "Read invoices."
	r, err := e.c.CreatePermissionWithResponse(ctx, tenant, nil, client.PermissionCreate{Name: "invoices:read", Description: &desc})
	expectStatus(t, "create invoices:read", r, r.Body, err, http.StatusCreated)
	p := *r.JSON201
	if p.Name != "invoices:read" || p.Description != desc || p.BuiltIn || p.Level != client.Tenant || p.TenantId == nil || *p.TenantId != tenant {
		t.Errorf("created %+v", p)
	}
	if want := uam.Prefix + "/tenants/" + tenant.String() + "/permissions/invoices:read"; r.HTTPResponse.Header.Get("Location") != want {
		t.Errorf("Location %q, want %q", r.HTTPResponse.Header.Get("Location"), want)
	}
	tag1 := r.HTTPResponse.Header.Get("ETag")
	get, err := e.c.GetPermissionWithResponse(ctx, tenant, "invoices:read")
	expectStatus(t, "GET invoices:read", get, get.Body, err, http.StatusOK)
	if get.HTTPResponse.Header.Get("ETag") != tag1 || tag1 == "" || get.JSON200.Description != desc {
		t.Errorf("read %+v with ETag %q, created with %q", get.JSON200, get.HTTPResponse.Header.Get("ETag"), tag1)
	}
	// Without a description it is empty.
	r, err = e.c.CreatePermissionWithResponse(ctx, tenant, nil, client.PermissionCreate{Name: "invoices:approve"})
	expectStatus(t, "create invoices:approve", r, r.Body, err, http.StatusCreated)
	if r.JSON201.Description != "" {
		t.Errorf("no description became %q", r.JSON201.Description)
	}

	// Names: built-in ones are reserved, tenant ones unique per tenant.
	for _, name := range []string{"users:read", "tenants:write", "credentials:verify", "invoices:read"} {
		r, err := e.c.CreatePermissionWithResponse(ctx, tenant, nil, client.PermissionCreate{Name: name})
		expectStatus(t, "create "+name, r, r.Body, err, http.StatusConflict)
	}
	r, err = e.c.CreatePermissionWithResponse(ctx, other, nil, client.PermissionCreate{Name: "invoices:read"})
	expectStatus(t, "invoices:read in another tenant", r, r.Body, err, http.StatusCreated)
	for _, name := range []string{"Users:Read", "users", "a:b:c", "1x:read", "x:1y", ":read", "users:", "in voices:read",
		"a" + strings.Repeat("b", 64) + ":read"} {
		r, err := e.c.CreatePermissionWithResponse(ctx, tenant, nil, client.PermissionCreate{Name: name})
		expectStatus(t, "create "+name, r, r.Body, err, http.StatusBadRequest)
		if !namesField(r.ApplicationproblemJSON400, "body.name") {
			t.Errorf("bad name %q: fields %v, want body.name", name, fieldErrors(r.ApplicationproblemJSON400))
		}
	}
	r, err = e.c.CreatePermissionWithResponse(ctx, tenant, nil, client.PermissionCreate{Name: "a" + strings.Repeat("b", 63) + ":x_y-9"})
	expectStatus(t, "longest resource", r, r.Body, err, http.StatusCreated)

	// The tenant's list, in name order, paged; the other tenant's is its own.
	list, pages := e.tenantPermsPaged(tenant, 1)
	var names []string
	for _, p := range list {
		names = append(names, p.Name)
	}
	if want := []string{"a" + strings.Repeat("b", 63) + ":x_y-9", "invoices:approve", "invoices:read"}; !slices.Equal(names, want) || pages != 3 {
		t.Errorf("tenant permissions in pages of 1: %v (%d pages), want %v", names, pages, want)
	}
	if list, _ := e.tenantPermsPaged(other, 50); len(list) != 1 || *list[0].TenantId != other {
		t.Errorf("other tenant's permissions: %+v", list)
	}
	// Built-in ones are listed at /permissions only, and never as the tenant's own.
	if list, _ := e.cataloguePaged(500); slices.ContainsFunc(list, func(p client.Permission) bool { return !p.BuiltIn }) {
		t.Errorf("the built-in catalogue lists a tenant's permission: %+v", list)
	}

	// Update: description, with If-Match.
	desc2 := "Read and download invoices."
	up, err := e.c.UpdatePermissionWithResponse(ctx, tenant, "invoices:read", &client.UpdatePermissionParams{IfMatch: &tag1},
		client.PermissionUpdate{Description: &desc2})
	expectStatus(t, "update", up, up.Body, err, http.StatusOK)
	tag2 := up.HTTPResponse.Header.Get("ETag")
	if up.JSON200.Description != desc2 || up.JSON200.Name != "invoices:read" || tag2 == "" || tag2 == tag1 {
		t.Errorf("updated %+v, ETag %q (was %q)", up.JSON200, tag2, tag1)
	}
	if !up.JSON200.UpdatedAt.After(p.UpdatedAt) && !up.JSON200.UpdatedAt.Equal(p.UpdatedAt) {
		t.Errorf("updated_at went back: %v -> %v", p.UpdatedAt, up.JSON200.UpdatedAt)
	}
	desc3 := "Stale."
	up, err = e.c.UpdatePermissionWithResponse(ctx, tenant, "invoices:read", &client.UpdatePermissionParams{IfMatch: &tag1},
		client.PermissionUpdate{Description: &desc3})
	expectStatus(t, "stale update", up, up.Body, err, http.StatusPreconditionFailed)
	get, err = e.c.GetPermissionWithResponse(ctx, tenant, "invoices:read")
	expectStatus(t, "GET after stale update", get, get.Body, err, http.StatusOK)
	if get.JSON200.Description != desc2 || get.HTTPResponse.Header.Get("ETag") != tag2 {
		t.Errorf("stale update changed the permission: %+v %s", get.JSON200, get.HTTPResponse.Header.Get("ETag"))
	}
	up, err = e.c.UpdatePermissionWithResponse(ctx, tenant, "nope:read", nil, client.PermissionUpdate{Description: &desc3})
	expectStatus(t, "update unknown", up, up.Body, err, http.StatusNotFound)

	// Built-in permissions are not the tenant's to read, change or delete here.
	for _, name := range []string{"users:read", "tenants:write"} {
		g, err := e.c.GetPermissionWithResponse(ctx, tenant, name)
		expectStatus(t, "GET built-in "+name, g, g.Body, err, http.StatusNotFound)
		u, err := e.c.UpdatePermissionWithResponse(ctx, tenant, name, nil, client.PermissionUpdate{Description: &desc3})
		expectStatus(t, "PUT built-in "+name, u, u.Body, err, http.StatusNotFound)
		d, err := e.c.DeletePermissionWithResponse(ctx, tenant, name, nil)
		expectStatus(t, "DELETE built-in "+name, d, d.Body, err, http.StatusNotFound)
	}
	if list, _ := e.cataloguePaged(500); len(list) != len(allBuiltinPerms()) {
		t.Errorf("built-in catalogue has %d entries after refused deletes", len(list))
	}

	// Delete, with If-Match.
	del, err := e.c.DeletePermissionWithResponse(ctx, tenant, "invoices:read", &client.DeletePermissionParams{IfMatch: &tag1})
	expectStatus(t, "stale delete", del, del.Body, err, http.StatusPreconditionFailed)
	del, err = e.c.DeletePermissionWithResponse(ctx, tenant, "invoices:read", &client.DeletePermissionParams{IfMatch: &tag2})
	expectStatus(t, "delete", del, del.Body, err, http.StatusNoContent)
	get, err = e.c.GetPermissionWithResponse(ctx, tenant, "invoices:read")
	expectStatus(t, "GET deleted", get, get.Body, err, http.StatusNotFound)
	del, err = e.c.DeletePermissionWithResponse(ctx, tenant, "invoices:read", nil)
	expectStatus(t, "delete again", del, del.Body, err, http.StatusNotFound)
	// The other tenant's namesake is untouched, and the name is free again.
	get, err = e.c.GetPermissionWithResponse(ctx, other, "invoices:read")
	expectStatus(t, "GET other tenant's invoices:read", get, get.Body, err, http.StatusOK)
	e.tenantPermission(tenant, "invoices:read", "Again.")

	// An unknown tenant has no catalogue.
	r, err = e.c.CreatePermissionWithResponse(ctx, uuid.Must(uuid.NewV7()), nil, client.PermissionCreate{Name: "x:y"})
	expectStatus(t, "create in an unknown tenant", r, r.Body, err, http.StatusNotFound)
}

func TestTenantPermissionsOfAnotherTenant(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant(), e.tenant()
	e.tenantPermission(a, "invoices:read", "A's.")
	get, err := e.c.GetPermissionWithResponse(ctx, a, "invoices:read")
	expectStatus(t, "GET", get, get.Body, err, http.StatusOK)
	tag := get.HTTPResponse.Header.Get("ETag")

	g, err := e.c.GetPermissionWithResponse(ctx, b, "invoices:read")
	expectStatus(t, "GET from b", g, g.Body, err, http.StatusNotFound)
	desc := "B's now."
	u, err := e.c.UpdatePermissionWithResponse(ctx, b, "invoices:read", &client.UpdatePermissionParams{IfMatch: &tag}, client.PermissionUpdate{Description: &desc})
	expectStatus(t, "PUT from b", u, u.Body, err, http.StatusNotFound)
	d, err := e.c.DeletePermissionWithResponse(ctx, b, "invoices:read", &client.DeletePermissionParams{IfMatch: &tag})
	expectStatus(t, "DELETE from b", d, d.Body, err, http.StatusNotFound)
	if list, _ := e.tenantPermsPaged(b, 50); len(list) != 0 {
		t.Errorf("b lists %+v", list)
	}
	// b's roles cannot grant it.
	perms := []string{"invoices:read"}
	r, err := e.c.CreateRoleWithResponse(ctx, b, nil, client.RoleCreate{Name: "Thief", Permissions: &perms})
	expectStatus(t, "b's role with a's permission", r, r.Body, err, http.StatusBadRequest)
	if !namesField(r.ApplicationproblemJSON400, "body.permissions.0") {
		t.Errorf("fields %v, want body.permissions.0", fieldErrors(r.ApplicationproblemJSON400))
	}

	get, err = e.c.GetPermissionWithResponse(ctx, a, "invoices:read")
	expectStatus(t, "GET after b's attempts", get, get.Body, err, http.StatusOK)
	if get.JSON200.Description != "A's." || get.HTTPResponse.Header.Get("ETag") != tag {
		t.Errorf("b's requests changed a's permission: %+v", get.JSON200)
	}
}

// A tenant permission granted to a role counts in the holder's effective
// permissions, tenant-wide and on a site; tenant-admin holders get it anyway.
func TestTenantPermissionInEffectivePermissions(t *testing.T) {
	e := newEnv(t)
	tenant, other := e.tenant(), e.tenant()
	site := e.site(tenant)
	e.tenantPermission(tenant, "invoices:approve", "")
	e.tenantPermission(tenant, "reports:export", "")
	e.tenantPermission(other, "zzz:other", "") // another tenant's; never counts here

	clerk := e.role(tenant, "Clerk", "users:read", "invoices:approve")
	reporter := e.role(tenant, "Reporter", "reports:export")
	u := e.user(tenant, "clerk@example.com", "")
	e.assignAt(tenant, u.Id, clerk.Id, nil)
	e.assignAt(tenant, u.Id, reporter.Id, &site)

	got := e.effectiveOf(tenant, u.Id)
	if want := []string{"invoices:approve", "users:read"}; !slices.Equal(got.TenantWide, want) {
		t.Errorf("tenant-wide %v, want %v", got.TenantWide, want)
	}
	if len(got.Sites) != 1 || got.Sites[0].SiteId != site || !slices.Equal(got.Sites[0].Permissions, []string{"reports:export"}) {
		t.Errorf("sites %+v, want reports:export on %s", got.Sites, site)
	}

	admin := e.user(tenant, "admin@example.com", "")
	e.assignAt(tenant, admin.Id, tenantAdminRole, nil)
	want := sortedCopy(append(slices.Clone(tenantLevelPerms), "invoices:approve", "reports:export"))
	if got := e.effectiveOf(tenant, admin.Id); !slices.Equal(got.TenantWide, want) {
		t.Errorf("tenant-admin holder: %v, want %v", got.TenantWide, want)
	}
	// A permission created later reaches tenant-admin holders at once.
	e.tenantPermission(tenant, "ledger:close", "")
	want = sortedCopy(append(want, "ledger:close"))
	if got := e.effectiveOf(tenant, admin.Id); !slices.Equal(got.TenantWide, want) {
		t.Errorf("tenant-admin holder after a new permission: %v, want %v", got.TenantWide, want)
	}
}

// Deleting a tenant permission takes it from every role holding it, and so
// from every holder's effective permissions and from tenant-admin.
func TestDeletePermissionRemovesItFromRoles(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	site := e.site(tenant)
	e.tenantPermission(tenant, "reports:export", "")
	wide := e.role(tenant, "Wide", "reports:export", "users:read")
	onSite := e.role(tenant, "OnSite", "reports:export")
	u := e.user(tenant, "reports@example.com", "")
	e.assignAt(tenant, u.Id, wide.Id, nil)
	e.assignAt(tenant, u.Id, onSite.Id, &site)
	v := e.user(tenant, "site@example.com", "")
	e.assignAt(tenant, v.Id, onSite.Id, &site)

	if got := e.effectiveOf(tenant, v.Id); len(got.Sites) != 1 || !slices.Equal(got.Sites[0].Permissions, []string{"reports:export"}) {
		t.Fatalf("before delete: %+v", got)
	}

	del, err := e.c.DeletePermissionWithResponse(ctx, tenant, "reports:export", nil)
	expectStatus(t, "delete reports:export", del, del.Body, err, http.StatusNoContent)

	if got, _ := e.getRole(tenant, wide.Id); !slices.Equal(got.Permissions, []string{"users:read"}) {
		t.Errorf("Wide grants %v after the delete", got.Permissions)
	}
	if got, _ := e.getRole(tenant, onSite.Id); len(got.Permissions) != 0 {
		t.Errorf("OnSite grants %v after the delete", got.Permissions)
	}
	if got, _ := e.getRole(tenant, tenantAdminRole); slices.Contains(got.Permissions, "reports:export") {
		t.Errorf("tenant-admin grants %v after the delete", got.Permissions)
	}
	if got := e.effectiveOf(tenant, u.Id); !slices.Equal(got.TenantWide, []string{"users:read"}) || len(got.Sites) != 0 {
		t.Errorf("u after the delete: %+v", got)
	}
	if got := e.effectiveOf(tenant, v.Id); len(got.TenantWide) != 0 || len(got.Sites) != 0 {
		t.Errorf("v after the delete: %+v", got)
	}
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM uam.role_permissions WHERE role_id = ANY ($1)`,
		[]uuid.UUID{wide.Id, onSite.Id}).Scan(&n); err != nil || n != 1 {
		t.Errorf("role_permissions rows left: %d %v, want 1 (Wide's users:read)", n, err)
	}

	// A permission of the same name made later is a new one: roles do not get it back.
	e.tenantPermission(tenant, "reports:export", "")
	if got, _ := e.getRole(tenant, wide.Id); !slices.Equal(got.Permissions, []string{"users:read"}) {
		t.Errorf("Wide grants %v after the name came back", got.Permissions)
	}
}

func TestConcurrentCreatePermission(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	const n = 8
	codes := testkit.Concurrently(n, func(int) int {
		r, err := e.c.CreatePermissionWithResponse(ctx, tenant, nil, client.PermissionCreate{Name: "race:run"})
		if err != nil {
			t.Error(err)
			return 0
		}
		return r.StatusCode()
	})
	if got := testkit.Tally(codes); got[http.StatusCreated] != 1 || got[http.StatusConflict] != n-1 {
		t.Errorf("statuses %v, want one 201 and %d 409", got, n-1)
	}
	if list, _ := e.tenantPermsPaged(tenant, 50); len(list) != 1 {
		t.Errorf("permissions after the race: %+v", list)
	}
}
