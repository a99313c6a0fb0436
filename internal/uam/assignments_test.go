package uam_test

import (
	"bytes"
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/platform/testkit"
	"github.com/saasplatform/saas/internal/uam"
)

func TestAssignRoleTenantWide(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	u := e.user(tenant, "ed@example.com", "")

	r, err := e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, nil)
	expectStatus(t, "assign editor", r, r.Body, err, http.StatusCreated)
	a := *r.JSON201
	if a.TenantId != tenant || a.UserId != u.Id || a.RoleId != editorRole || a.RoleName != "editor" || a.SiteId != nil {
		t.Errorf("assignment %+v", a)
	}
	wantLoc := uam.Prefix + "/tenants/" + tenant.String() + "/users/" + u.Id.String() + "/roles/" + editorRole.String()
	if loc := r.HTTPResponse.Header.Get("Location"); loc != wantLoc {
		t.Errorf("Location %q, want %q", loc, wantLoc)
	}

	// Assigning again is answered with the existing assignment.
	r, err = e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, nil)
	expectStatus(t, "assign editor again", r, r.Body, err, http.StatusOK)
	if r.JSON200.Id != a.Id || !r.JSON200.CreatedAt.Equal(a.CreatedAt) || r.JSON200.SiteId != nil {
		t.Errorf("second assign %+v, first %+v", r.JSON200, a)
	}

	lr, err := e.c.ListUserRolesWithResponse(ctx, tenant, u.Id, nil)
	expectStatus(t, "list user roles", lr, lr.Body, err, http.StatusOK)
	if len(lr.JSON200.Items) != 1 || lr.JSON200.Items[0].Id != a.Id || lr.JSON200.NextCursor != nil {
		t.Errorf("user roles %+v", lr.JSON200)
	}
	if got := e.effectiveOf(tenant, u.Id); !slices.Equal(got.TenantWide, editorPerms) || got.Sites == nil || len(got.Sites) != 0 {
		t.Errorf("effective %+v, want tenant-wide %v and no sites", got, editorPerms)
	}
	// A user without roles has nothing, as empty arrays.
	v := e.user(tenant, "nobody@example.com", "")
	if got := e.effectiveOf(tenant, v.Id); got.TenantWide == nil || len(got.TenantWide) != 0 || got.Sites == nil || len(got.Sites) != 0 {
		t.Errorf("effective of a user without roles %+v", got)
	}
}

// A site-scoped role adds on its site only what the tenant-wide roles lack.
func TestAssignRoleOnSite(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	s1, s2 := e.site(tenant), e.site(tenant)
	u := e.user(tenant, "site@example.com", "")

	e.assignAt(tenant, u.Id, viewerRole, nil)
	r, err := e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, &client.AssignRoleParams{SiteId: &s1})
	expectStatus(t, "assign editor on s1", r, r.Body, err, http.StatusCreated)
	onS1 := *r.JSON201
	if onS1.SiteId == nil || *onS1.SiteId != s1 || onS1.RoleName != "editor" {
		t.Errorf("site assignment %+v", onS1)
	}
	wantLoc := uam.Prefix + "/tenants/" + tenant.String() + "/users/" + u.Id.String() + "/roles/" + editorRole.String() + "?site_id=" + s1.String()
	if loc := r.HTTPResponse.Header.Get("Location"); loc != wantLoc {
		t.Errorf("Location %q, want %q", loc, wantLoc)
	}

	got := e.effectiveOf(tenant, u.Id)
	if !slices.Equal(got.TenantWide, viewerPerms) {
		t.Errorf("tenant-wide %v, want the viewer's %v", got.TenantWide, viewerPerms)
	}
	wantS1 := []string{"content:delete", "content:publish", "content:write"}
	if len(got.Sites) != 1 || got.Sites[0].SiteId != s1 || !slices.Equal(got.Sites[0].Permissions, wantS1) {
		t.Errorf("sites %+v, want [{%s %v}]", got.Sites, s1, wantS1)
	}

	// The same role in the same site scope again: the existing one.
	again, code := e.assignAt(tenant, u.Id, editorRole, &s1)
	if code != http.StatusOK || again.Id != onS1.Id {
		t.Errorf("assign editor on s1 again: %d %+v, want 200 with %s", code, again, onS1.Id)
	}
	// The same role on another site is another assignment; sites come in id order.
	custom := e.role(tenant, "Keys", "keys:write", "keys:read", "users:write")
	onS2, code := e.assignAt(tenant, u.Id, custom.Id, &s2)
	if code != http.StatusCreated || onS2.Id == onS1.Id {
		t.Errorf("custom role on s2: %d %+v", code, onS2)
	}
	e.assignAt(tenant, u.Id, editorRole, &s2)
	got = e.effectiveOf(tenant, u.Id)
	wantSites := []client.SitePermissions{
		{SiteId: s1, Permissions: wantS1},
		{SiteId: s2, Permissions: []string{"content:delete", "content:publish", "content:write", "keys:write", "users:write"}},
	}
	if s2.String() < s1.String() {
		wantSites[0], wantSites[1] = wantSites[1], wantSites[0]
	}
	if !slices.EqualFunc(got.Sites, wantSites, func(a, b client.SitePermissions) bool {
		return a.SiteId == b.SiteId && slices.Equal(a.Permissions, b.Permissions)
	}) {
		t.Errorf("sites %+v, want %+v", got.Sites, wantSites)
	}

	// A site role that adds nothing beyond the tenant-wide ones lists no site.
	w := e.user(tenant, "wide@example.com", "")
	e.assignAt(tenant, w.Id, editorRole, nil)
	e.assignAt(tenant, w.Id, viewerRole, &s1)
	e.assignAt(tenant, w.Id, editorRole, &s2)
	got = e.effectiveOf(tenant, w.Id)
	if !slices.Equal(got.TenantWide, editorPerms) {
		t.Errorf("tenant-wide %v, want %v", got.TenantWide, editorPerms)
	}
	wantW := []string{"clients:read", "keys:read", "permissions:read", "roles:read", "tenants:read", "users:read"}
	if len(got.Sites) != 1 || got.Sites[0].SiteId != s1 || !slices.Equal(got.Sites[0].Permissions, wantW) {
		t.Errorf("sites %+v, want only s1 with what viewer adds to editor %v", got.Sites, wantW)
	}

	// Only a site role: tenant-wide empty.
	o := e.user(tenant, "only@example.com", "")
	e.assignAt(tenant, o.Id, editorRole, &s2)
	got = e.effectiveOf(tenant, o.Id)
	if len(got.TenantWide) != 0 || len(got.Sites) != 1 || got.Sites[0].SiteId != s2 || !slices.Equal(got.Sites[0].Permissions, editorPerms) {
		t.Errorf("site-only holder %+v, want editor's %v on %s", got, editorPerms, s2)
	}
}

func TestAssignRoleRefusals(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant(), e.tenant()
	siteB := e.site(b)
	u := e.user(a, "u@example.com", "")
	userB := e.user(b, "b@example.com", "")
	roleB := e.role(b, "Theirs", "users:read")

	for _, tc := range []struct {
		what string
		site uuid.UUID
	}{{"a site of another tenant", siteB}, {"no such site", uuid.Must(uuid.NewV7())}} {
		site := tc.site
		r, err := e.c.AssignRoleWithResponse(ctx, a, u.Id, editorRole, &client.AssignRoleParams{SiteId: &site})
		expectStatus(t, "assign on "+tc.what, r, r.Body, err, http.StatusBadRequest)
		if got := fieldErrors(r.ApplicationproblemJSON400); !slices.Equal(got, []string{"query.site_id"}) {
			t.Errorf("assign on %s: fields %v, want query.site_id", tc.what, got)
		}
	}
	for _, tc := range []struct {
		what       string
		user, role uuid.UUID
	}{
		{"an unknown role", u.Id, uuid.Must(uuid.NewV7())},
		{"another tenant's role", u.Id, roleB.Id},
		{"an unknown user", uuid.Must(uuid.NewV7()), editorRole},
		{"another tenant's user", userB.Id, editorRole},
	} {
		r, err := e.c.AssignRoleWithResponse(ctx, a, tc.user, tc.role, nil)
		expectStatus(t, "assign "+tc.what, r, r.Body, err, http.StatusNotFound)
	}
	// An unknown tenant.
	r, err := e.c.AssignRoleWithResponse(ctx, uuid.Must(uuid.NewV7()), u.Id, editorRole, nil)
	expectStatus(t, "assign in an unknown tenant", r, r.Body, err, http.StatusNotFound)

	lr, err := e.c.ListUserRolesWithResponse(ctx, a, u.Id, nil)
	expectStatus(t, "list user roles", lr, lr.Body, err, http.StatusOK)
	if len(lr.JSON200.Items) != 0 {
		t.Errorf("refused assignments left %+v", lr.JSON200.Items)
	}
	lr, err = e.c.ListUserRolesWithResponse(ctx, b, userB.Id, nil)
	expectStatus(t, "list b's user roles", lr, lr.Body, err, http.StatusOK)
	if len(lr.JSON200.Items) != 0 {
		t.Errorf("refused assignments left %+v in b", lr.JSON200.Items)
	}
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM uam.role_assignments`).Scan(&n); err != nil || n != 0 {
		t.Errorf("role_assignments rows: %d %v, want 0", n, err)
	}
}

func TestUnassignRole(t *testing.T) {
	e := newEnv(t)
	tenant, other := e.tenant(), e.tenant()
	s1, s2 := e.site(tenant), e.site(tenant)
	u := e.user(tenant, "un@example.com", "")
	e.assignAt(tenant, u.Id, editorRole, nil)
	e.assignAt(tenant, u.Id, viewerRole, &s1)

	unassign := func(user, role uuid.UUID, site *uuid.UUID) int {
		t.Helper()
		r, err := e.c.UnassignRoleWithResponse(ctx, tenant, user, role, &client.UnassignRoleParams{SiteId: site})
		if err != nil {
			t.Fatal(err)
		}
		return r.StatusCode()
	}
	// Wrong scope: 404, nothing removed.
	for _, tc := range []struct {
		what string
		role uuid.UUID
		site *uuid.UUID
	}{
		{"tenant-wide editor on a site", editorRole, &s1},
		{"site viewer tenant-wide", viewerRole, nil},
		{"site viewer on the other site", viewerRole, &s2},
		{"a role not held", tenantAdminRole, nil},
		{"an unknown role", uuid.Must(uuid.NewV7()), nil},
	} {
		if code := unassign(u.Id, tc.role, tc.site); code != http.StatusNotFound {
			t.Errorf("unassign %s: %d, want 404", tc.what, code)
		}
	}
	// Another tenant's path to the same user and role.
	r, err := e.c.UnassignRoleWithResponse(ctx, other, u.Id, editorRole, nil)
	expectStatus(t, "unassign through another tenant", r, r.Body, err, http.StatusNotFound)
	if got := e.effectiveOf(tenant, u.Id); !slices.Equal(got.TenantWide, editorPerms) || len(got.Sites) != 1 {
		t.Fatalf("refused unassigns changed %+v", got)
	}

	if code := unassign(u.Id, editorRole, nil); code != http.StatusNoContent {
		t.Errorf("unassign tenant-wide editor: %d, want 204", code)
	}
	if got := e.effectiveOf(tenant, u.Id); len(got.TenantWide) != 0 || len(got.Sites) != 1 || !slices.Equal(got.Sites[0].Permissions, viewerPerms) {
		t.Errorf("after the tenant-wide unassign: %+v, want the viewer's on s1", got)
	}
	if code := unassign(u.Id, viewerRole, &s1); code != http.StatusNoContent {
		t.Errorf("unassign viewer on s1: %d, want 204", code)
	}
	if code := unassign(u.Id, viewerRole, &s1); code != http.StatusNotFound {
		t.Errorf("unassign viewer on s1 again: %d, want 404", code)
	}
	if got := e.effectiveOf(tenant, u.Id); len(got.TenantWide) != 0 || len(got.Sites) != 0 {
		t.Errorf("after both unassigns: %+v", got)
	}
	lr, err := e.c.ListUserRolesWithResponse(ctx, tenant, u.Id, nil)
	expectStatus(t, "list user roles", lr, lr.Body, err, http.StatusOK)
	if len(lr.JSON200.Items) != 0 {
		t.Errorf("assignments left: %+v", lr.JSON200.Items)
	}
	// Assigning again makes a new assignment.
	if _, code := e.assignAt(tenant, u.Id, editorRole, nil); code != http.StatusCreated {
		t.Errorf("reassign: %d, want 201", code)
	}
}

func TestListUserRolesPagination(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	site := e.site(tenant)
	u := e.user(tenant, "many@example.com", "")
	custom := e.role(tenant, "Custom", "users:read")
	var want []uuid.UUID
	for _, step := range []struct {
		role uuid.UUID
		site *uuid.UUID
	}{
		{viewerRole, nil}, {editorRole, &site}, {custom.Id, nil}, {tenantAdminRole, nil}, {custom.Id, &site},
	} {
		a, code := e.assignAt(tenant, u.Id, step.role, step.site)
		if code != http.StatusCreated {
			t.Fatalf("assign %s: %d", step.role, code)
		}
		want = append(want, a.Id)
	}
	other := e.user(tenant, "other@example.com", "")
	e.assignAt(tenant, other.Id, viewerRole, nil)

	var got []uuid.UUID
	var cursor *string
	limit := 2
	pages := 0
	for {
		r, err := e.c.ListUserRolesWithResponse(ctx, tenant, u.Id, &client.ListUserRolesParams{Limit: &limit, Cursor: cursor})
		expectStatus(t, "list user roles", r, r.Body, err, http.StatusOK)
		pages++
		if len(r.JSON200.Items) > limit {
			t.Fatalf("page of %d", len(r.JSON200.Items))
		}
		for _, a := range r.JSON200.Items {
			if a.UserId != u.Id || a.TenantId != tenant {
				t.Errorf("listed another user's assignment %+v", a)
			}
			got = append(got, a.Id)
		}
		if r.JSON200.NextCursor == nil || pages > 10 {
			break
		}
		cursor = r.JSON200.NextCursor
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("assignments in pages of 2: %v (%d pages), want %v in 3 pages", got, pages, want)
	}

	bad := "garbage"
	r, err := e.c.ListUserRolesWithResponse(ctx, tenant, u.Id, &client.ListUserRolesParams{Cursor: &bad})
	expectStatus(t, "forged cursor", r, r.Body, err, http.StatusBadRequest)
	if !namesField(r.ApplicationproblemJSON400, "query.cursor") {
		t.Errorf("forged cursor: fields %v", fieldErrors(r.ApplicationproblemJSON400))
	}
	r, err = e.c.ListUserRolesWithResponse(ctx, tenant, uuid.Must(uuid.NewV7()), nil)
	expectStatus(t, "list an unknown user's roles", r, r.Body, err, http.StatusNotFound)
	r, err = e.c.ListUserRolesWithResponse(ctx, e.tenant(), u.Id, nil)
	expectStatus(t, "list roles through another tenant", r, r.Body, err, http.StatusNotFound)
}

// GET /users?role_id= finds the role's holders, tenant-wide or on a site, once each.
func TestListUsersByRole(t *testing.T) {
	e := newEnv(t)
	tenant, other := e.tenant(), e.tenant()
	site := e.site(tenant)
	wide := e.user(tenant, "wide@example.com", "")
	onSite := e.user(tenant, "onsite@example.com", "")
	both := e.user(tenant, "both@example.com", "")
	viewer := e.user(tenant, "viewer@example.com", "")
	e.user(tenant, "none@example.com", "")
	elsewhere := e.user(other, "elsewhere@example.com", "")
	custom := e.role(tenant, "Custom", "users:read")

	e.assignAt(tenant, wide.Id, editorRole, nil)
	e.assignAt(tenant, onSite.Id, editorRole, &site)
	e.assignAt(tenant, both.Id, editorRole, nil)
	e.assignAt(tenant, both.Id, editorRole, &site)
	e.assignAt(tenant, both.Id, custom.Id, &site)
	e.assignAt(tenant, viewer.Id, viewerRole, nil)
	e.assignAt(other, elsewhere.Id, editorRole, nil)

	for _, tc := range []struct {
		role uuid.UUID
		want []uuid.UUID
	}{
		{editorRole, []uuid.UUID{wide.Id, onSite.Id, both.Id}},
		{viewerRole, []uuid.UUID{viewer.Id}},
		{custom.Id, []uuid.UUID{both.Id}},
		{tenantAdminRole, nil},
		{uuid.Must(uuid.NewV7()), nil},
	} {
		if got := e.holders(tenant, tc.role); !slices.Equal(got, tc.want) {
			t.Errorf("holders of %s: %v, want %v", tc.role, got, tc.want)
		}
	}
	if got := e.holders(other, editorRole); !slices.Equal(got, []uuid.UUID{elsewhere.Id}) {
		t.Errorf("holders of editor in the other tenant: %v", got)
	}
	if got := e.holders(other, custom.Id); len(got) != 0 {
		t.Errorf("holders of a's role in the other tenant: %v", got)
	}
}

// Deleting a user deletes their assignments with them.
func TestDeleteUserRemovesAssignments(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	site := e.site(tenant)
	u := e.user(tenant, "gone@example.com", "")
	keep := e.user(tenant, "keep@example.com", "")
	e.assignAt(tenant, u.Id, editorRole, nil)
	e.assignAt(tenant, u.Id, viewerRole, &site)
	e.assignAt(tenant, keep.Id, editorRole, nil)

	count := func(user uuid.UUID) int {
		t.Helper()
		var n int
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM uam.role_assignments WHERE user_id = $1`, user).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(u.Id); n != 2 {
		t.Fatalf("assignments before delete: %d, want 2", n)
	}

	del, err := e.c.DeleteUserWithResponse(ctx, tenant, u.Id, nil)
	expectStatus(t, "delete user", del, del.Body, err, http.StatusNoContent)
	if n := count(u.Id); n != 0 {
		t.Errorf("assignments of the deleted user: %d, want 0", n)
	}
	if n := count(keep.Id); n != 1 {
		t.Errorf("another user's assignments: %d, want 1", n)
	}
	if got := e.holders(tenant, editorRole); !slices.Equal(got, []uuid.UUID{keep.Id}) {
		t.Errorf("editor holders after delete: %v", got)
	}
	p, err := e.c.GetUserPermissionsWithResponse(ctx, tenant, u.Id)
	expectStatus(t, "permissions of the deleted user", p, p.Body, err, http.StatusNotFound)
	lr, err := e.c.ListUserRolesWithResponse(ctx, tenant, u.Id, nil)
	expectStatus(t, "roles of the deleted user", lr, lr.Body, err, http.StatusNotFound)
	r, err := e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, nil)
	expectStatus(t, "assign to the deleted user", r, r.Body, err, http.StatusNotFound)
}

// Concurrent assigns of one role in one scope: one creates it, the others
// get it back.
func TestConcurrentAssignRole(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	site := e.site(tenant)
	for _, scope := range []*uuid.UUID{nil, &site} {
		for round := range 5 {
			u := e.user(tenant, uuid.NewString()[:8]+"@example.com", "")
			const n = 8
			ids := make([]uuid.UUID, n)
			codes := testkit.Concurrently(n, func(i int) int {
				r, err := e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, &client.AssignRoleParams{SiteId: scope})
				if err != nil {
					t.Error(err)
					return 0
				}
				switch {
				case r.JSON201 != nil:
					ids[i] = r.JSON201.Id
				case r.JSON200 != nil:
					ids[i] = r.JSON200.Id
				}
				return r.StatusCode()
			})
			if got := testkit.Tally(codes); got[http.StatusCreated] != 1 || got[http.StatusOK] != n-1 {
				t.Errorf("scope %v round %d: statuses %v, want one 201 and %d 200", scope, round, got, n-1)
			}
			if len(slices.Compact(sortedIDs(ids))) != 1 || ids[0] == uuid.Nil {
				t.Errorf("scope %v round %d: assignment ids %v, want one", scope, round, ids)
			}
			var count int
			if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM uam.role_assignments WHERE user_id = $1`, u.Id).Scan(&count); err != nil || count != 1 {
				t.Errorf("scope %v round %d: %d assignments (%v), want 1", scope, round, count, err)
			}
		}
	}
}

func sortedIDs(ids []uuid.UUID) []uuid.UUID {
	c := slices.Clone(ids)
	slices.SortFunc(c, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return c
}
