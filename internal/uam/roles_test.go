package uam_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/platform/authtest"
	"github.com/saasplatform/saas/internal/platform/idempotency"
	"github.com/saasplatform/saas/internal/platform/testkit"
	"github.com/saasplatform/saas/internal/uam"
)

// The built-in roles exist in every tenant with the same ids, in id order
// before the tenant's own, with the permission sets the migration gives them.
func TestBuiltinRolesInEveryTenant(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant(), e.tenant()
	e.role(a, "Auditor", "users:read")

	want := []struct {
		id    uuid.UUID
		name  string
		perms []string
	}{
		{tenantAdminRole, "tenant-admin", tenantLevelPerms},
		{editorRole, "editor", editorPerms},
		{viewerRole, "viewer", viewerPerms},
	}
	listed := map[uuid.UUID][]client.Role{}
	for _, tenant := range []uuid.UUID{a, b} {
		roles, _ := e.rolesPaged(tenant, 50)
		if len(roles) < 3 {
			t.Fatalf("tenant %s lists %d roles, want the 3 built-in ones first", tenant, len(roles))
		}
		for i, w := range want {
			r := roles[i]
			if r.Id != w.id || r.Name != w.name || !r.BuiltIn || r.TenantId != nil {
				t.Errorf("tenant %s role %d = %s %q built_in=%v tenant=%v, want built-in %s %q without a tenant",
					tenant, i, r.Id, r.Name, r.BuiltIn, r.TenantId, w.id, w.name)
			}
			if !slices.Equal(r.Permissions, w.perms) {
				t.Errorf("tenant %s: %s grants %v, want %v", tenant, w.name, r.Permissions, w.perms)
			}
			got, tag := e.getRole(tenant, w.id)
			if got.Name != w.name || !got.BuiltIn || !slices.Equal(got.Permissions, w.perms) || tag == "" {
				t.Errorf("tenant %s: GET %s = %+v (ETag %q)", tenant, w.name, got, tag)
			}
		}
		listed[tenant] = roles
	}
	// The other tenant's custom role is not listed in b.
	if n := len(listed[b]); n != 3 {
		t.Errorf("tenant b lists %d roles, want only the 3 built-in ones: %+v", n, listed[b])
	}
	if n := len(listed[a]); n != 4 || listed[a][3].Name != "Auditor" {
		t.Errorf("tenant a lists %+v, want the built-in roles then Auditor", listed[a])
	}

	// viewer is read-only: exactly the tenant-level *:read permissions of the
	// catalogue, so a new read permission without the viewer is noticed.
	catalogue, _ := e.cataloguePaged(500)
	var reads []string
	for _, p := range catalogue {
		if p.Level == client.Tenant && strings.HasSuffix(p.Name, ":read") {
			reads = append(reads, p.Name)
		}
	}
	if !slices.Equal(reads, viewerPerms) {
		t.Errorf("tenant-level read permissions of the catalogue %v, viewer grants %v", reads, viewerPerms)
	}
	// tenant-admin: every tenant-level permission of the catalogue, no platform one.
	var tenantLevel []string
	for _, p := range catalogue {
		if p.Level == client.Tenant {
			tenantLevel = append(tenantLevel, p.Name)
		}
	}
	if !slices.Equal(tenantLevel, tenantLevelPerms) {
		t.Errorf("tenant-level catalogue %v, tenant-admin grants %v", tenantLevel, tenantLevelPerms)
	}
}

// tenant-admin grants the tenant's own permissions too, as soon as they
// exist, and only in that tenant.
func TestTenantAdminIncludesTenantPermissions(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant(), e.tenant()
	e.tenantPermission(a, "invoices:read", "Read invoices.")
	e.tenantPermission(a, "zeta:write", "")

	wantA := sortedCopy(append(slices.Clone(tenantLevelPerms), "invoices:read", "zeta:write"))
	if got, _ := e.getRole(a, tenantAdminRole); !slices.Equal(got.Permissions, wantA) {
		t.Errorf("tenant-admin in a grants %v, want %v", got.Permissions, wantA)
	}
	roles, _ := e.rolesPaged(a, 50)
	if !slices.Equal(roles[0].Permissions, wantA) {
		t.Errorf("listed tenant-admin in a grants %v, want %v", roles[0].Permissions, wantA)
	}
	if got, _ := e.getRole(b, tenantAdminRole); !slices.Equal(got.Permissions, tenantLevelPerms) {
		t.Errorf("tenant-admin in b grants %v, want only the built-in ones %v", got.Permissions, tenantLevelPerms)
	}
	for _, id := range []uuid.UUID{editorRole, viewerRole} {
		if got, _ := e.getRole(a, id); slices.Contains(got.Permissions, "invoices:read") {
			t.Errorf("%s grants the tenant's own invoices:read: %v", got.Name, got.Permissions)
		}
	}

	// A holder's effective permissions follow.
	u := e.user(a, "admin@example.com", "")
	e.assignAt(a, u.Id, tenantAdminRole, nil)
	if got := e.effectiveOf(a, u.Id); !slices.Equal(got.TenantWide, wantA) || len(got.Sites) != 0 {
		t.Errorf("tenant-admin holder has %+v, want tenant-wide %v", got, wantA)
	}
}

// Built-in roles cannot be changed or deleted, whatever the request, and a
// refused request changes nothing.
func TestBuiltinRolesAreReadOnly(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	for _, id := range []uuid.UUID{tenantAdminRole, editorRole, viewerRole} {
		before, tag := e.getRole(tenant, id)

		name, desc := "renamed-"+before.Name, "changed"
		perms := []string{"users:write"}
		up, err := e.c.UpdateRoleWithResponse(ctx, tenant, id, nil, client.RoleUpdate{Name: &name, Description: &desc, Permissions: &perms})
		expectStatus(t, "PUT "+before.Name, up, up.Body, err, http.StatusConflict)
		up, err = e.c.UpdateRoleWithResponse(ctx, tenant, id, &client.UpdateRoleParams{IfMatch: &tag}, client.RoleUpdate{Description: &desc})
		expectStatus(t, "PUT "+before.Name+" with If-Match", up, up.Body, err, http.StatusConflict)

		del, err := e.c.DeleteRoleWithResponse(ctx, tenant, id, nil)
		expectStatus(t, "DELETE "+before.Name, del, del.Body, err, http.StatusConflict)
		del, err = e.c.DeleteRoleWithResponse(ctx, tenant, id, &client.DeleteRoleParams{IfMatch: &tag})
		expectStatus(t, "DELETE "+before.Name+" with If-Match", del, del.Body, err, http.StatusConflict)

		add, err := e.c.AddRolePermissionWithResponse(ctx, tenant, id, "users:write", nil)
		expectStatus(t, "add users:write to "+before.Name, add, add.Body, err, http.StatusConflict)
		rm, err := e.c.RemoveRolePermissionWithResponse(ctx, tenant, id, before.Permissions[0], nil)
		expectStatus(t, "remove "+before.Permissions[0]+" from "+before.Name, rm, rm.Body, err, http.StatusConflict)

		after, tagAfter := e.getRole(tenant, id)
		if tagAfter != tag || after.Name != before.Name || after.Description != before.Description ||
			!slices.Equal(after.Permissions, before.Permissions) || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("refused changes changed %s: %+v %s -> %+v %s", before.Name, before, tag, after, tagAfter)
		}
	}
	// Nor through another tenant: the built-in roles are the same everywhere.
	other := e.tenant()
	if got, _ := e.getRole(other, editorRole); !slices.Equal(got.Permissions, editorPerms) {
		t.Errorf("editor in another tenant grants %v, want %v", got.Permissions, editorPerms)
	}
}

func TestCreateRole(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()

	desc := "Reads people and writes content."
	perms := []string{"users:read", "content:write", "roles:read", "content:delete"}
	r, err := e.c.CreateRoleWithResponse(ctx, tenant, nil, client.RoleCreate{Name: "Publisher", Description: &desc, Permissions: &perms})
	expectStatus(t, "create role", r, r.Body, err, http.StatusCreated)
	role := *r.JSON201
	if role.Name != "Publisher" || role.Description != desc || role.BuiltIn || role.TenantId == nil || *role.TenantId != tenant {
		t.Errorf("created %+v", role)
	}
	if want := []string{"content:delete", "content:write", "roles:read", "users:read"}; !slices.Equal(role.Permissions, want) {
		t.Errorf("permissions %v, want them in name order %v", role.Permissions, want)
	}
	if v, err := uuid.Parse(role.Id.String()); err != nil || v.Version() != 7 {
		t.Errorf("role id %s is not a UUIDv7", role.Id)
	}
	wantLoc := uam.Prefix + "/tenants/" + tenant.String() + "/roles/" + role.Id.String()
	if loc := r.HTTPResponse.Header.Get("Location"); loc != wantLoc {
		t.Errorf("Location %q, want %q", loc, wantLoc)
	}
	got, tag := e.getRole(tenant, role.Id)
	if created := r.HTTPResponse.Header.Get("ETag"); created == "" || created != tag {
		t.Errorf("ETag on create %q, on read %q", created, tag)
	}
	if got.Name != role.Name || !slices.Equal(got.Permissions, role.Permissions) || got.Description != desc {
		t.Errorf("read back %+v, created %+v", got, role)
	}

	// No permissions: an empty set, not null.
	bare := e.bareRole(tenant, "Bare")
	if bare.Permissions == nil || len(bare.Permissions) != 0 || bare.Description != "" {
		t.Errorf("role without permissions: %+v", bare)
	}

	// The contract (PermissionSet: uniqueItems) refuses a repeated permission.
	dup := []string{"users:read", "content:read", "users:read"}
	d, err := e.c.CreateRoleWithResponse(ctx, tenant, nil, client.RoleCreate{Name: "Dup", Permissions: &dup})
	expectStatus(t, "create with a repeated permission", d, d.Body, err, http.StatusBadRequest)
	if !namesField(d.ApplicationproblemJSON400, "body.permissions") {
		t.Errorf("repeated permission: fields %v, want body.permissions", fieldErrors(d.ApplicationproblemJSON400))
	}

	// A tenant that does not exist has no roles to create.
	nt, err := e.c.CreateRoleWithResponse(ctx, uuid.Must(uuid.NewV7()), nil, client.RoleCreate{Name: "Ghost"})
	expectStatus(t, "create role in an unknown tenant", nt, nt.Body, err, http.StatusNotFound)
}

func TestRoleNames(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant(), e.tenant()
	auditor := e.role(a, "Auditor", "users:read")

	create := func(tenant uuid.UUID, name string) (*client.CreateRoleResponse, error) {
		return e.c.CreateRoleWithResponse(ctx, tenant, nil, client.RoleCreate{Name: name})
	}
	for _, name := range []string{"Auditor", "auditor", "AUDITOR"} {
		r, err := create(a, name)
		expectStatus(t, "create "+name+" again", r, r.Body, err, http.StatusConflict)
	}
	for _, name := range []string{"Editor", "editor", "TENANT-ADMIN", "Viewer"} {
		r, err := create(a, name)
		expectStatus(t, "create built-in name "+name, r, r.Body, err, http.StatusConflict)
	}
	// Names are per tenant.
	r, err := create(b, "Auditor")
	expectStatus(t, "Auditor in another tenant", r, r.Body, err, http.StatusCreated)
	r, err = create(b, "aUdItOr")
	expectStatus(t, "aUdItOr in the other tenant", r, r.Body, err, http.StatusConflict)

	for _, name := range []string{"-lead", ".x", "with space", "ünï", strings.Repeat("a", 65)} {
		r, err := create(a, name)
		expectStatus(t, "create "+name, r, r.Body, err, http.StatusBadRequest)
		if !namesField(r.ApplicationproblemJSON400, "body.name") {
			t.Errorf("bad name %q: fields %v, want body.name", name, fieldErrors(r.ApplicationproblemJSON400))
		}
	}
	r, err = create(a, strings.Repeat("a", 64))
	expectStatus(t, "64-character name", r, r.Body, err, http.StatusCreated)

	// Renaming follows the same rules.
	other := e.bareRole(a, "Other")
	for _, name := range []string{"AUDITOR", "Editor", "viewer"} {
		up, err := e.c.UpdateRoleWithResponse(ctx, a, other.Id, nil, client.RoleUpdate{Name: &name})
		expectStatus(t, "rename Other to "+name, up, up.Body, err, http.StatusConflict)
	}
	if got, _ := e.getRole(a, other.Id); got.Name != "Other" {
		t.Errorf("refused renames renamed the role to %q", got.Name)
	}
	// A role may change the case of its own name.
	name := "AUDITOR"
	up, err := e.c.UpdateRoleWithResponse(ctx, a, auditor.Id, nil, client.RoleUpdate{Name: &name})
	expectStatus(t, "rename Auditor to AUDITOR", up, up.Body, err, http.StatusOK)
	if up.JSON200.Name != "AUDITOR" || !slices.Equal(up.JSON200.Permissions, []string{"users:read"}) {
		t.Errorf("renamed role %+v", up.JSON200)
	}
}

func TestRolePermissionValidation(t *testing.T) {
	e := newEnv(t)
	tenant, other := e.tenant(), e.tenant()
	e.tenantPermission(other, "invoices:read", "")

	for _, tc := range []struct {
		perms  []string
		fields []string
	}{
		{[]string{"users:read", "nope:read"}, []string{"body.permissions.1"}},
		{[]string{"nope:read", "users:read", "nope:write"}, []string{"body.permissions.0", "body.permissions.2"}},
		// Platform-level permissions are not granted in an ordinary tenant.
		{[]string{"content:read", "tenants:write"}, []string{"body.permissions.1"}},
		{[]string{"credentials:verify"}, []string{"body.permissions.0"}},
		// Nor is another tenant's own permission.
		{[]string{"users:read", "roles:read", "invoices:read"}, []string{"body.permissions.2"}},
		// Malformed names are refused as such.
		{[]string{"Users:Read"}, []string{"body.permissions.0"}},
		{[]string{"users:read", "users"}, []string{"body.permissions.1"}},
	} {
		perms := tc.perms
		r, err := e.c.CreateRoleWithResponse(ctx, tenant, nil, client.RoleCreate{Name: "Custom", Permissions: &perms})
		expectStatus(t, "create with "+strings.Join(perms, ","), r, r.Body, err, http.StatusBadRequest)
		if got := fieldErrors(r.ApplicationproblemJSON400); !slices.Equal(sortedCopy(got), tc.fields) {
			t.Errorf("create with %v: fields %v, want %v", perms, got, tc.fields)
		}
	}
	if roles, _ := e.rolesPaged(tenant, 50); len(roles) != 3 {
		t.Errorf("refused creates left roles behind: %+v", roles)
	}

	// The same on update, which then changes nothing.
	role := e.role(tenant, "Custom", "users:read")
	_, tag := e.getRole(tenant, role.Id)
	perms := []string{"roles:read", "tenants:write"}
	up, err := e.c.UpdateRoleWithResponse(ctx, tenant, role.Id, nil, client.RoleUpdate{Permissions: &perms})
	expectStatus(t, "update with tenants:write", up, up.Body, err, http.StatusBadRequest)
	if got := fieldErrors(up.ApplicationproblemJSON400); !slices.Equal(got, []string{"body.permissions.1"}) {
		t.Errorf("update fields %v, want body.permissions.1", got)
	}
	if got, tagAfter := e.getRole(tenant, role.Id); !slices.Equal(got.Permissions, []string{"users:read"}) || tagAfter != tag {
		t.Errorf("refused update changed the role: %v %s (was %s)", got.Permissions, tagAfter, tag)
	}
	// One at a time: an unknown or ungrantable permission is 404.
	for _, name := range []string{"nope:read", "tenants:write", "credentials:verify", "invoices:read"} {
		add, err := e.c.AddRolePermissionWithResponse(ctx, tenant, role.Id, name, nil)
		expectStatus(t, "add "+name, add, add.Body, err, http.StatusNotFound)
	}
	if got, tagAfter := e.getRole(tenant, role.Id); !slices.Equal(got.Permissions, []string{"users:read"}) || tagAfter != tag {
		t.Errorf("refused additions changed the role: %v %s (was %s)", got.Permissions, tagAfter, tag)
	}
}

// The platform tenant's roles may hold platform-level permissions; other
// tenants' roles may not, in the same deployment. In the platform tenant, as
// anywhere, they are granted only by whoever holds them.
func TestPlatformPermissionsInPlatformTenant(t *testing.T) {
	e := newEnv(t)
	platform := authtest.PlatformTenantID
	e.platformTenant(platform)
	ordinary := e.tenant()
	// An administrator as Bootstrap makes the first one: tenant-admin and
	// platform-admin (tenants:write).
	admin := e.with(authtest.Grant{Tenant: platform, Scopes: append(e.tenantAdmin(platform).Scopes, "tenants:write")})

	perms := []string{"tenants:write", "tenants:read"}
	r, err := e.c.CreateRoleWithResponse(ctx, platform, nil, client.RoleCreate{Name: "Operator", Permissions: &perms}, admin)
	expectStatus(t, "platform role with platform permissions", r, r.Body, err, http.StatusCreated)
	if want := []string{"tenants:read", "tenants:write"}; !slices.Equal(r.JSON201.Permissions, want) {
		t.Errorf("platform role grants %v, want %v", r.JSON201.Permissions, want)
	}
	op := *r.JSON201

	other := e.role(platform, "Support", "users:read")
	add, err := e.c.AddRolePermissionWithResponse(ctx, platform, other.Id, "tenants:write", nil, admin)
	expectStatus(t, "add tenants:write in the platform tenant", add, add.Body, err, http.StatusOK)
	if want := []string{"tenants:write", "users:read"}; !slices.Equal(add.JSON200.Permissions, want) {
		t.Errorf("after adding: %v, want %v", add.JSON200.Permissions, want)
	}
	upPerms := []string{"tenants:write"}
	up, err := e.c.UpdateRoleWithResponse(ctx, platform, other.Id, nil, client.RoleUpdate{Permissions: &upPerms}, admin)
	expectStatus(t, "set tenants:write in the platform tenant", up, up.Body, err, http.StatusOK)
	if !slices.Equal(up.JSON200.Permissions, upPerms) {
		t.Errorf("after replacing: %v, want %v", up.JSON200.Permissions, upPerms)
	}
	// Service-only permissions are the platform tenant's to grant, but no
	// token ever holds them, so no request grants them: 403, not 400.
	svcOnly := []string{"credentials:verify"}
	up, err = e.c.UpdateRoleWithResponse(ctx, platform, other.Id, nil, client.RoleUpdate{Permissions: &svcOnly}, admin)
	expectStatus(t, "set credentials:verify in the platform tenant", up, up.Body, err, http.StatusForbidden)

	u := e.user(platform, "operator@example.com", "")
	as, err := e.c.AssignRoleWithResponse(ctx, platform, u.Id, op.Id, nil, admin)
	expectStatus(t, "assign Operator", as, as.Body, err, http.StatusCreated)
	if got := e.effectiveOf(platform, u.Id); !slices.Equal(got.TenantWide, op.Permissions) {
		t.Errorf("operator's effective permissions %v, want %v", got.TenantWide, op.Permissions)
	}
	// tenant-admin stays tenant-level, even in the platform tenant.
	if got, _ := e.getRole(platform, tenantAdminRole); !slices.Equal(got.Permissions, tenantLevelPerms) {
		t.Errorf("platform tenant's tenant-admin grants %v, want %v", got.Permissions, tenantLevelPerms)
	}

	// Another tenant of the same deployment still may not, not even when a
	// platform administrator asks.
	perms = []string{"tenants:write", "credentials:verify", "tenants:read"}
	for who, caller := range map[string]client.RequestEditorFn{"its administrator": e.with(e.tenantAdmin(ordinary)), "a platform administrator": admin} {
		r, err = e.c.CreateRoleWithResponse(ctx, ordinary, nil, client.RoleCreate{Name: "Operator", Permissions: &perms}, caller)
		expectStatus(t, "ordinary role with platform permissions by "+who, r, r.Body, err, http.StatusBadRequest)
		if got := sortedCopy(fieldErrors(r.ApplicationproblemJSON400)); !slices.Equal(got, []string{"body.permissions.0", "body.permissions.1"}) {
			t.Errorf("%s: fields %v, want body.permissions.0 and .1", who, got)
		}
	}
	plain := e.bareRole(ordinary, "Plain")
	add, err = e.c.AddRolePermissionWithResponse(ctx, ordinary, plain.Id, "tenants:write", nil, admin)
	expectStatus(t, "add tenants:write in an ordinary tenant", add, add.Body, err, http.StatusNotFound)
	add, err = e.c.AddRolePermissionWithResponse(ctx, ordinary, plain.Id, "tenants:access", nil, admin)
	expectStatus(t, "add tenants:access in an ordinary tenant", add, add.Body, err, http.StatusNotFound)
}

func TestUpdateRole(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	role := e.role(tenant, "Writer", "content:read", "users:read")
	_, tag1 := e.getRole(tenant, role.Id)

	// permissions replace the whole set.
	desc := "Writes."
	perms := []string{"roles:read", "content:write"}
	up, err := e.c.UpdateRoleWithResponse(ctx, tenant, role.Id, &client.UpdateRoleParams{IfMatch: &tag1},
		client.RoleUpdate{Description: &desc, Permissions: &perms})
	expectStatus(t, "update with the current ETag", up, up.Body, err, http.StatusOK)
	if want := []string{"content:write", "roles:read"}; !slices.Equal(up.JSON200.Permissions, want) || up.JSON200.Description != desc {
		t.Errorf("updated %+v, want permissions %v and the new description", up.JSON200, want)
	}
	tag2 := up.HTTPResponse.Header.Get("ETag")
	if tag2 == "" || tag2 == tag1 {
		t.Errorf("ETag after update %q, before %q", tag2, tag1)
	}
	if _, tag := e.getRole(tenant, role.Id); tag != tag2 {
		t.Errorf("read ETag %q, update answered %q", tag, tag2)
	}

	// A stale ETag is refused and changes nothing.
	stale := []string{"users:write"}
	staleName := "Stale"
	up, err = e.c.UpdateRoleWithResponse(ctx, tenant, role.Id, &client.UpdateRoleParams{IfMatch: &tag1},
		client.RoleUpdate{Name: &staleName, Permissions: &stale})
	expectStatus(t, "update with a stale ETag", up, up.Body, err, http.StatusPreconditionFailed)
	got, tag := e.getRole(tenant, role.Id)
	if tag != tag2 || got.Name != "Writer" || !slices.Equal(got.Permissions, []string{"content:write", "roles:read"}) {
		t.Errorf("stale update changed the role: %+v %s", got, tag)
	}

	// Omitted permissions stay; several ETags may be listed.
	desc2 := "Still writes."
	both := tag1 + ", " + tag2
	up, err = e.c.UpdateRoleWithResponse(ctx, tenant, role.Id, &client.UpdateRoleParams{IfMatch: &both}, client.RoleUpdate{Description: &desc2})
	expectStatus(t, "update the description", up, up.Body, err, http.StatusOK)
	if !slices.Equal(up.JSON200.Permissions, []string{"content:write", "roles:read"}) || up.JSON200.Description != desc2 {
		t.Errorf("description update: %+v", up.JSON200)
	}

	// An empty set empties the role.
	empty := []string{}
	up, err = e.c.UpdateRoleWithResponse(ctx, tenant, role.Id, nil, client.RoleUpdate{Permissions: &empty})
	expectStatus(t, "update to no permissions", up, up.Body, err, http.StatusOK)
	if len(up.JSON200.Permissions) != 0 {
		t.Errorf("emptied role grants %v", up.JSON200.Permissions)
	}

	// An unknown role is 404.
	up, err = e.c.UpdateRoleWithResponse(ctx, tenant, uuid.Must(uuid.NewV7()), nil, client.RoleUpdate{Description: &desc})
	expectStatus(t, "update an unknown role", up, up.Body, err, http.StatusNotFound)
}

func TestAddRemoveRolePermission(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.tenantPermission(tenant, "invoices:read", "")
	role := e.role(tenant, "Clerk", "users:read")
	_, tag1 := e.getRole(tenant, role.Id)

	add, err := e.c.AddRolePermissionWithResponse(ctx, tenant, role.Id, "content:read", &client.AddRolePermissionParams{IfMatch: &tag1})
	expectStatus(t, "add content:read", add, add.Body, err, http.StatusOK)
	if want := []string{"content:read", "users:read"}; !slices.Equal(add.JSON200.Permissions, want) {
		t.Errorf("after adding: %v, want %v", add.JSON200.Permissions, want)
	}
	tag2 := add.HTTPResponse.Header.Get("ETag")
	if tag2 == "" || tag2 == tag1 {
		t.Errorf("adding left the ETag at %q (was %q)", tag2, tag1)
	}

	// Stale ETags are refused, with nothing changed.
	add, err = e.c.AddRolePermissionWithResponse(ctx, tenant, role.Id, "roles:read", &client.AddRolePermissionParams{IfMatch: &tag1})
	expectStatus(t, "add with a stale ETag", add, add.Body, err, http.StatusPreconditionFailed)
	rm, err := e.c.RemoveRolePermissionWithResponse(ctx, tenant, role.Id, "users:read", &client.RemoveRolePermissionParams{IfMatch: &tag1})
	expectStatus(t, "remove with a stale ETag", rm, rm.Body, err, http.StatusPreconditionFailed)
	if got, tag := e.getRole(tenant, role.Id); tag != tag2 || !slices.Equal(got.Permissions, []string{"content:read", "users:read"}) {
		t.Errorf("stale changes changed the role: %v %s", got.Permissions, tag)
	}

	// Adding one it has keeps the set.
	add, err = e.c.AddRolePermissionWithResponse(ctx, tenant, role.Id, "content:read", nil)
	expectStatus(t, "add content:read again", add, add.Body, err, http.StatusOK)
	if want := []string{"content:read", "users:read"}; !slices.Equal(add.JSON200.Permissions, want) {
		t.Errorf("after adding again: %v, want %v", add.JSON200.Permissions, want)
	}
	// The tenant's own permissions can be added.
	add, err = e.c.AddRolePermissionWithResponse(ctx, tenant, role.Id, "invoices:read", nil)
	expectStatus(t, "add invoices:read", add, add.Body, err, http.StatusOK)
	if want := []string{"content:read", "invoices:read", "users:read"}; !slices.Equal(add.JSON200.Permissions, want) {
		t.Errorf("after adding the tenant's own: %v, want %v", add.JSON200.Permissions, want)
	}
	_, tag3 := e.getRole(tenant, role.Id)

	rm, err = e.c.RemoveRolePermissionWithResponse(ctx, tenant, role.Id, "users:read", &client.RemoveRolePermissionParams{IfMatch: &tag3})
	expectStatus(t, "remove users:read", rm, rm.Body, err, http.StatusOK)
	if want := []string{"content:read", "invoices:read"}; !slices.Equal(rm.JSON200.Permissions, want) {
		t.Errorf("after removing: %v, want %v", rm.JSON200.Permissions, want)
	}
	if tag4 := rm.HTTPResponse.Header.Get("ETag"); tag4 == "" || tag4 == tag3 {
		t.Errorf("removing left the ETag at %q (was %q)", tag4, tag3)
	}
	// Removing one it lacks (or that does not exist) keeps the set.
	for _, name := range []string{"users:read", "keys:write", "nope:read"} {
		rm, err = e.c.RemoveRolePermissionWithResponse(ctx, tenant, role.Id, name, nil)
		expectStatus(t, "remove "+name+" again", rm, rm.Body, err, http.StatusOK)
		if want := []string{"content:read", "invoices:read"}; !slices.Equal(rm.JSON200.Permissions, want) {
			t.Errorf("after removing %s: %v, want %v", name, rm.JSON200.Permissions, want)
		}
	}
	// A malformed name is refused by the contract.
	rm, err = e.c.RemoveRolePermissionWithResponse(ctx, tenant, role.Id, "Users:Read", nil)
	expectStatus(t, "remove Users:Read", rm, rm.Body, err, http.StatusBadRequest)
}

// Another tenant's role does not exist as far as this tenant is concerned.
func TestRolesOfAnotherTenant(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant(), e.tenant()
	role := e.role(a, "Private", "users:read")
	_, tag := e.getRole(a, role.Id)
	userB := e.user(b, "bee@example.com", "")

	for _, id := range []uuid.UUID{role.Id, uuid.Must(uuid.NewV7())} {
		get, err := e.c.GetRoleWithResponse(ctx, b, id)
		expectStatus(t, "GET", get, get.Body, err, http.StatusNotFound)
		name := "Taken"
		up, err := e.c.UpdateRoleWithResponse(ctx, b, id, nil, client.RoleUpdate{Name: &name})
		expectStatus(t, "PUT", up, up.Body, err, http.StatusNotFound)
		up, err = e.c.UpdateRoleWithResponse(ctx, b, id, &client.UpdateRoleParams{IfMatch: &tag}, client.RoleUpdate{Name: &name})
		expectStatus(t, "PUT with If-Match", up, up.Body, err, http.StatusNotFound)
		add, err := e.c.AddRolePermissionWithResponse(ctx, b, id, "users:write", nil)
		expectStatus(t, "add permission", add, add.Body, err, http.StatusNotFound)
		rm, err := e.c.RemoveRolePermissionWithResponse(ctx, b, id, "users:read", nil)
		expectStatus(t, "remove permission", rm, rm.Body, err, http.StatusNotFound)
		as, err := e.c.AssignRoleWithResponse(ctx, b, userB.Id, id, nil)
		expectStatus(t, "assign", as, as.Body, err, http.StatusNotFound)
		del, err := e.c.DeleteRoleWithResponse(ctx, b, id, nil)
		expectStatus(t, "DELETE", del, del.Body, err, http.StatusNotFound)
		del, err = e.c.DeleteRoleWithResponse(ctx, b, id, &client.DeleteRoleParams{IfMatch: &tag})
		expectStatus(t, "DELETE with If-Match", del, del.Body, err, http.StatusNotFound)
	}
	if roles, _ := e.rolesPaged(b, 50); len(roles) != 3 {
		t.Errorf("tenant b lists %d roles, want the 3 built-in ones", len(roles))
	}
	got, tagAfter := e.getRole(a, role.Id)
	if tagAfter != tag || got.Name != "Private" || !slices.Equal(got.Permissions, []string{"users:read"}) {
		t.Errorf("another tenant's requests changed the role: %+v %s", got, tagAfter)
	}
	// b may still use the name.
	e.bareRole(b, "Private")
}

func TestDeleteRole(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	site := e.site(tenant)
	role := e.role(tenant, "Doomed", "users:write", "keys:write")
	u := e.user(tenant, "held@example.com", "")
	e.assignAt(tenant, u.Id, viewerRole, nil)
	e.assignAt(tenant, u.Id, role.Id, nil)
	e.assignAt(tenant, u.Id, role.Id, &site)

	before := e.effectiveOf(tenant, u.Id)
	if !slices.Contains(before.TenantWide, "users:write") || !slices.Contains(before.TenantWide, "keys:write") {
		t.Fatalf("effective before delete %v lacks the role's permissions", before.TenantWide)
	}
	_, tag := e.getRole(tenant, role.Id)

	stale := `"v999"`
	del, err := e.c.DeleteRoleWithResponse(ctx, tenant, role.Id, &client.DeleteRoleParams{IfMatch: &stale})
	expectStatus(t, "delete with a stale ETag", del, del.Body, err, http.StatusPreconditionFailed)
	if got := e.effectiveOf(tenant, u.Id); !slices.Equal(got.TenantWide, before.TenantWide) {
		t.Errorf("refused delete changed effective permissions: %v", got.TenantWide)
	}

	del, err = e.c.DeleteRoleWithResponse(ctx, tenant, role.Id, &client.DeleteRoleParams{IfMatch: &tag})
	expectStatus(t, "delete", del, del.Body, err, http.StatusNoContent)
	get, err := e.c.GetRoleWithResponse(ctx, tenant, role.Id)
	expectStatus(t, "GET deleted role", get, get.Body, err, http.StatusNotFound)

	if got := e.effectiveOf(tenant, u.Id); !slices.Equal(got.TenantWide, viewerPerms) || len(got.Sites) != 0 {
		t.Errorf("after delete: %+v, want only the viewer's %v", got, viewerPerms)
	}
	lr, err := e.c.ListUserRolesWithResponse(ctx, tenant, u.Id, nil)
	expectStatus(t, "list user roles", lr, lr.Body, err, http.StatusOK)
	if len(lr.JSON200.Items) != 1 || lr.JSON200.Items[0].RoleId != viewerRole {
		t.Errorf("user roles after delete: %+v, want only viewer", lr.JSON200.Items)
	}
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM uam.role_assignments WHERE role_id = $1`, role.Id).Scan(&n); err != nil || n != 0 {
		t.Errorf("assignments of the deleted role: %d %v", n, err)
	}
	if holders := e.holders(tenant, role.Id); len(holders) != 0 {
		t.Errorf("users still listed as holders: %v", holders)
	}

	del, err = e.c.DeleteRoleWithResponse(ctx, tenant, role.Id, nil)
	expectStatus(t, "delete again", del, del.Body, err, http.StatusNotFound)
	// The name is free again.
	e.bareRole(tenant, "Doomed")
}

func TestCreateRoleIdempotent(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	key := "role-" + uuid.NewString()
	perms := []string{"users:read"}
	body := client.RoleCreate{Name: "Once", Permissions: &perms}

	first, err := e.c.CreateRoleWithResponse(ctx, tenant, &client.CreateRoleParams{IdempotencyKey: &key}, body)
	expectStatus(t, "first create", first, first.Body, err, http.StatusCreated)
	if first.HTTPResponse.Header.Get(idempotency.ReplayedHeader) != "" {
		t.Errorf("first answer marked replayed")
	}
	again, err := e.c.CreateRoleWithResponse(ctx, tenant, &client.CreateRoleParams{IdempotencyKey: &key}, body)
	expectStatus(t, "retry", again, again.Body, err, http.StatusCreated)
	if again.HTTPResponse.Header.Get(idempotency.ReplayedHeader) != "true" {
		t.Errorf("retry not marked %s: %v", idempotency.ReplayedHeader, again.HTTPResponse.Header)
	}
	if string(again.Body) != string(first.Body) || again.JSON201.Id != first.JSON201.Id {
		t.Errorf("retry answered %s, first %s", again.Body, first.Body)
	}
	for _, h := range []string{"Location", "ETag"} {
		if again.HTTPResponse.Header.Get(h) != first.HTTPResponse.Header.Get(h) {
			t.Errorf("%s: retry %q, first %q", h, again.HTTPResponse.Header.Get(h), first.HTTPResponse.Header.Get(h))
		}
	}

	perms2 := []string{"users:write"}
	other, err := e.c.CreateRoleWithResponse(ctx, tenant, &client.CreateRoleParams{IdempotencyKey: &key},
		client.RoleCreate{Name: "Once", Permissions: &perms2})
	expectStatus(t, "same key, other body", other, other.Body, err, http.StatusUnprocessableEntity)

	roles, _ := e.rolesPaged(tenant, 50)
	if len(roles) != 4 || roles[3].Id != first.JSON201.Id || !slices.Equal(roles[3].Permissions, perms) {
		t.Errorf("roles after retries: %+v", roles)
	}
	// Another key is another request: the name is taken now.
	key2 := key + "-2"
	dup, err := e.c.CreateRoleWithResponse(ctx, tenant, &client.CreateRoleParams{IdempotencyKey: &key2}, body)
	expectStatus(t, "another key", dup, dup.Body, err, http.StatusConflict)
}

func TestListRolesPagination(t *testing.T) {
	e := newEnv(t)
	tenant, other := e.tenant(), e.tenant()
	var created []uuid.UUID
	for _, name := range []string{"r1", "r2", "r3", "r4", "r5"} {
		created = append(created, e.role(tenant, name, "users:read").Id)
		e.bareRole(other, name) // same names elsewhere, never listed here
	}

	all, _ := e.rolesPaged(tenant, 500)
	want := append([]uuid.UUID{tenantAdminRole, editorRole, viewerRole}, created...)
	ids := func(rs []client.Role) []uuid.UUID {
		out := make([]uuid.UUID, len(rs))
		for i, r := range rs {
			out[i] = r.Id
		}
		return out
	}
	if got := ids(all); !slices.Equal(got, want) {
		t.Fatalf("one page: %v, want built-in then created order %v", got, want)
	}

	paged, pages := e.rolesPaged(tenant, 2)
	if got := ids(paged); !slices.Equal(got, want) {
		t.Errorf("pages of 2: %v, want %v", got, want)
	}
	if pages != 4 {
		t.Errorf("8 roles in pages of 2 took %d pages, want 4", pages)
	}
	for i, r := range paged {
		if !slices.Equal(r.Permissions, all[i].Permissions) {
			t.Errorf("role %s: %v paged, %v unpaged", r.Name, r.Permissions, all[i].Permissions)
		}
	}

	// A page that ends exactly at the end has no next cursor.
	limit := 8
	r, err := e.c.ListRolesWithResponse(ctx, tenant, &client.ListRolesParams{Limit: &limit})
	expectStatus(t, "list 8", r, r.Body, err, http.StatusOK)
	if len(r.JSON200.Items) != 8 || r.JSON200.NextCursor != nil {
		t.Errorf("a full last page: %d items, next %v", len(r.JSON200.Items), r.JSON200.NextCursor)
	}

	for _, c := range []string{"garbage", "AQ", strings.Repeat("A", 23)} {
		r, err := e.c.ListRolesWithResponse(ctx, tenant, &client.ListRolesParams{Cursor: &c})
		expectStatus(t, "forged cursor "+c, r, r.Body, err, http.StatusBadRequest)
		if !namesField(r.ApplicationproblemJSON400, "query.cursor") {
			t.Errorf("forged cursor %q: fields %v", c, fieldErrors(r.ApplicationproblemJSON400))
		}
	}
	unknown, err := e.c.ListRolesWithResponse(ctx, uuid.Must(uuid.NewV7()), nil)
	expectStatus(t, "list roles of an unknown tenant", unknown, unknown.Body, err, http.StatusNotFound)
}

// Concurrent creates of one name (in any case) end with one role.
func TestConcurrentCreateRoleSameName(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	names := []string{"Racer", "racer", "RACER", "rAcEr"}
	const n = 8
	codes := testkit.Concurrently(n, func(i int) int {
		perms := []string{"users:read"}
		r, err := e.c.CreateRoleWithResponse(ctx, tenant, nil, client.RoleCreate{Name: names[i%len(names)], Permissions: &perms})
		if err != nil {
			t.Error(err)
			return 0
		}
		return r.StatusCode()
	})
	if got := testkit.Tally(codes); got[http.StatusCreated] != 1 || got[http.StatusConflict] != n-1 {
		t.Errorf("statuses %v, want one 201 and %d 409", got, n-1)
	}
	roles, _ := e.rolesPaged(tenant, 50)
	if len(roles) != 4 || !strings.EqualFold(roles[3].Name, "racer") || !slices.Equal(roles[3].Permissions, []string{"users:read"}) {
		t.Errorf("roles after the race: %+v", roles)
	}
}
