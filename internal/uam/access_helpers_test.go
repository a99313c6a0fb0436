package uam_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/uam"
)

// Helpers of the role, permission, catalogue and assignment tests.

// The built-in catalogue as schema/uam/*.sql declares it, in name
// order. Written out here rather than read from the database, so a migration
// that changes what a built-in role grants fails the tests.
var (
	// tenantLevelPerms: every built-in permission of tenant level.
	tenantLevelPerms = []string{
		"clients:read", "clients:write",
		"content:delete", "content:publish", "content:read", "content:write",
		"keys:read", "keys:write",
		"permissions:read", "permissions:write",
		"roles:assign", "roles:read", "roles:write",
		"sites:read", "sites:write",
		"tenants:read",
		"users:read", "users:write",
	}
	// platformLevelPerms act across tenants; only the platform tenant grants them.
	platformLevelPerms = []string{"credentials:verify", "tenants:access", "tenants:write", "tokens:sign"}
	editorPerms        = []string{"content:delete", "content:publish", "content:read", "content:write", "sites:read"}
	viewerPerms        = []string{
		"clients:read", "content:read", "keys:read", "permissions:read", "roles:read", "sites:read", "tenants:read", "users:read",
	}
)

// allBuiltinPerms is the whole built-in catalogue in name order.
func allBuiltinPerms() []string {
	all := append(slices.Clone(tenantLevelPerms), platformLevelPerms...)
	slices.Sort(all)
	return all
}

// statusCoder is every generated response.
type statusCoder interface{ StatusCode() int }

// expectStatus fails the test unless a response has the status.
func expectStatus(t testing.TB, what string, r statusCoder, body []byte, err error, code int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if r.StatusCode() != code {
		t.Fatalf("%s: status %d, want %d: %s", what, r.StatusCode(), code, body)
	}
}

// namesField reports whether a problem names the field.
func namesField(p *client.Problem, field string) bool { return slices.Contains(fieldErrors(p), field) }

// sortedCopy returns a sorted copy.
func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// getRole reads a role with its ETag.
func (e *env) getRole(tenant, id uuid.UUID) (client.Role, string) {
	e.t.Helper()
	r, err := e.c.GetRoleWithResponse(ctx, tenant, id)
	if err != nil || r.JSON200 == nil {
		e.t.Fatalf("get role %s: %v %d %s", id, err, r.StatusCode(), r.Body)
	}
	tag := r.HTTPResponse.Header.Get("ETag")
	if tag == "" {
		e.t.Fatalf("get role %s: no ETag", id)
	}
	return *r.JSON200, tag
}

// rolesPaged lists every role of a tenant, limit per page, failing on a
// repeated cursor.
func (e *env) rolesPaged(tenant uuid.UUID, limit int) (roles []client.Role, pages int) {
	e.t.Helper()
	var cursor *string
	seen := map[string]bool{}
	for {
		r, err := e.c.ListRolesWithResponse(ctx, tenant, &client.ListRolesParams{Limit: &limit, Cursor: cursor})
		if err != nil || r.JSON200 == nil {
			e.t.Fatalf("list roles: %v %s", err, r.Body)
		}
		pages++
		if len(r.JSON200.Items) > limit {
			e.t.Fatalf("page of %d roles, limit %d", len(r.JSON200.Items), limit)
		}
		roles = append(roles, r.JSON200.Items...)
		if r.JSON200.NextCursor == nil {
			return roles, pages
		}
		if seen[*r.JSON200.NextCursor] || pages > 100 {
			e.t.Fatalf("list roles: cursor %q repeats", *r.JSON200.NextCursor)
		}
		seen[*r.JSON200.NextCursor] = true
		cursor = r.JSON200.NextCursor
	}
}

// cataloguePaged lists the built-in catalogue, limit per page.
func (e *env) cataloguePaged(limit int) (perms []client.Permission, pages int) {
	e.t.Helper()
	var cursor *string
	seen := map[string]bool{}
	for {
		r, err := e.c.ListPermissionsWithResponse(ctx, &client.ListPermissionsParams{Limit: &limit, Cursor: cursor})
		if err != nil || r.JSON200 == nil {
			e.t.Fatalf("list permissions: %v %s", err, r.Body)
		}
		pages++
		if len(r.JSON200.Items) > limit {
			e.t.Fatalf("page of %d permissions, limit %d", len(r.JSON200.Items), limit)
		}
		perms = append(perms, r.JSON200.Items...)
		if r.JSON200.NextCursor == nil {
			return perms, pages
		}
		if seen[*r.JSON200.NextCursor] || pages > 100 {
			e.t.Fatalf("list permissions: cursor %q repeats", *r.JSON200.NextCursor)
		}
		seen[*r.JSON200.NextCursor] = true
		cursor = r.JSON200.NextCursor
	}
}

// tenantPermsPaged lists a tenant's own permissions, limit per page.
func (e *env) tenantPermsPaged(tenant uuid.UUID, limit int) (perms []client.Permission, pages int) {
	e.t.Helper()
	var cursor *string
	for {
		r, err := e.c.ListTenantPermissionsWithResponse(ctx, tenant, &client.ListTenantPermissionsParams{Limit: &limit, Cursor: cursor})
		if err != nil || r.JSON200 == nil {
			e.t.Fatalf("list tenant permissions: %v %s", err, r.Body)
		}
		pages++
		if len(r.JSON200.Items) > limit {
			e.t.Fatalf("page of %d permissions, limit %d", len(r.JSON200.Items), limit)
		}
		perms = append(perms, r.JSON200.Items...)
		if r.JSON200.NextCursor == nil || pages > 100 {
			return perms, pages
		}
		cursor = r.JSON200.NextCursor
	}
}

// tenantPermission creates a tenant permission.
func (e *env) tenantPermission(tenant uuid.UUID, name, description string) client.Permission {
	e.t.Helper()
	r, err := e.c.CreatePermissionWithResponse(ctx, tenant, nil, client.PermissionCreate{Name: name, Description: &description})
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("create permission %s: %v %s", name, err, r.Body)
	}
	return *r.JSON201
}

// effectiveOf reads a user's effective permissions.
func (e *env) effectiveOf(tenant, user uuid.UUID) client.EffectivePermissions {
	e.t.Helper()
	r, err := e.c.GetUserPermissionsWithResponse(ctx, tenant, user)
	if err != nil || r.JSON200 == nil {
		e.t.Fatalf("effective permissions of %s: %v %s", user, err, r.Body)
	}
	return *r.JSON200
}

// assignAt gives a user a role (on a site when site is not nil) and returns
// the assignment and the status (200 or 201).
func (e *env) assignAt(tenant, user, role uuid.UUID, site *uuid.UUID) (client.Assignment, int) {
	e.t.Helper()
	r, err := e.c.AssignRoleWithResponse(ctx, tenant, user, role, &client.AssignRoleParams{SiteId: site})
	if err != nil {
		e.t.Fatalf("assign role %s: %v", role, err)
	}
	switch r.StatusCode() {
	case http.StatusCreated:
		return *r.JSON201, http.StatusCreated
	case http.StatusOK:
		return *r.JSON200, http.StatusOK
	}
	e.t.Fatalf("assign role %s to %s: status %d %s", role, user, r.StatusCode(), r.Body)
	return client.Assignment{}, 0
}

// holders lists the ids of a tenant's users holding a role, following cursors.
func (e *env) holders(tenant, role uuid.UUID) []uuid.UUID {
	e.t.Helper()
	var ids []uuid.UUID
	var cursor *string
	limit := 2
	for range 100 {
		r, err := e.c.ListUsersWithResponse(ctx, tenant, &client.ListUsersParams{RoleId: &role, Limit: &limit, Cursor: cursor})
		if err != nil || r.JSON200 == nil {
			e.t.Fatalf("list users with role %s: %v %s", role, err, r.Body)
		}
		for _, u := range r.JSON200.Items {
			ids = append(ids, u.Id)
		}
		if r.JSON200.NextCursor == nil {
			break
		}
		cursor = r.JSON200.NextCursor
	}
	return ids
}

// platformTenant makes a tenant with a chosen id, for uam.Options.
// PlatformTenantID, which must be known before the service starts. Config
// Vault's API chooses ids itself, so the row goes straight into its table;
// UAM only ever asks Config Vault whether the tenant exists.
func (e *env) platformTenant(id uuid.UUID) {
	e.t.Helper()
	_, err := e.pool.Exec(ctx, `INSERT INTO configvault.tenants (id, name, domain) VALUES ($1, 'Platform', $2)`,
		id, uniqueDomain("platform"))
	if err != nil {
		e.t.Fatalf("platform tenant: %v", err)
	}
}

// bareRole creates a role without permissions. (The shared role helper sends
// "permissions": null when given none, which the contract refuses.)
func (e *env) bareRole(tenant uuid.UUID, name string) client.Role {
	e.t.Helper()
	r, err := e.c.CreateRoleWithResponse(ctx, tenant, nil, client.RoleCreate{Name: name})
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("create role %s: %v %s", name, err, r.Body)
	}
	return *r.JSON201
}
