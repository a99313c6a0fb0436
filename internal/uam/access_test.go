package uam_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	api "github.com/saasplatform/saas/gen/api/uam"
	client "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/platform/authtest"
	"github.com/saasplatform/saas/internal/platform/authz"
	"github.com/saasplatform/saas/internal/platform/contract"
	"github.com/saasplatform/saas/internal/uam"
)

// Tests that try to get around who may do what: tenants kept apart, the
// caller's own account, the internal operations, and granting only what one
// holds.

// Every operation addressed to tenant A answers 404 to a token of tenant B,
// whatever B holds, and to a member of the platform tenant without the
// permission, and changes nothing in A. The operations come from the spec,
// so that a new one cannot escape; the requests are sent bare (an empty JSON
// body where there is one), as authorization answers before validation.
func TestAnotherTenantsTokenIsNotFound(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant(), e.tenant()
	u := e.user(a, "ada@example.com", goodPassword)
	role := e.role(a, "Private", "users:read")
	e.tenantPermission(a, "invoices:read", "A's.")
	e.assignAt(a, u.Id, role.Id, nil)
	before := e.rowsOf(a)

	spec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	ops, err := authz.Operations(spec)
	if err != nil {
		t.Fatal(err)
	}
	ids := strings.NewReplacer("{tenant_id}", a.String(), "{user_id}", u.Id.String(), "{role_id}", role.Id.String(),
		"{permission}", "invoices:read")
	tokenOfB := e.is.Token(t, authtest.Grant{Tenant: b, Scopes: allBuiltinPerms()})
	callers := map[string]string{
		"tenant B's token holding every permission": tokenOfB,
		"a platform tenant's user holding nothing":  e.is.Token(t, authtest.Grant{Tenant: authtest.PlatformTenantID}),
	}
	hc := contract.NewTransport(t, spec, uam.Prefix).Client()
	tried := map[string]bool{}
	for _, op := range ops {
		if !op.TenantScoped {
			continue
		}
		path := ids.Replace(op.Path)
		if strings.Contains(path, "{") {
			t.Fatalf("%s %s: a path parameter this test has no value for; add one", op.Method, op.Path)
		}
		for who, token := range callers {
			body := ""
			if op.Method == http.MethodPost || op.Method == http.MethodPut {
				body = "{}"
			}
			req, err := http.NewRequestWithContext(ctx, op.Method, e.url+uam.Prefix+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s (%s %s) by %s: %d, want 404", op.OperationID, op.Method, path, who, resp.StatusCode)
			}
		}
		tried[strings.ToLower(op.OperationID)] = true // the embedded spec's ids are capitalised
	}
	// Guard against a test that passes because it tried nothing.
	for _, id := range []string{"createUser", "deleteUser", "assignRole", "updateRole", "addRolePermission", "deletePermission"} {
		if !tried[strings.ToLower(id)] {
			t.Errorf("%s was not tried; tried %v", id, tried)
		}
	}
	if after := e.rowsOf(a); after != before {
		t.Errorf("tenant A changed:\nbefore %s\nafter  %s", before, after)
	}
	// The token itself is good: in its own tenant it reads.
	if r, err := e.c.ListUsersWithResponse(ctx, b, nil, bearer(tokenOfB)); err != nil || r.StatusCode() != http.StatusOK {
		t.Errorf("B's token in B: %v %d %s", err, r.StatusCode(), r.Body)
	}
}

// rowsOf dumps every row of UAM's tables that the tenant owns, to compare.
func (e *env) rowsOf(tenant uuid.UUID) string {
	e.t.Helper()
	var dump string
	err := e.pool.QueryRow(ctx, `SELECT concat_ws(E'\n',
		(SELECT string_agg(x::text, ',' ORDER BY x.id) FROM uam.users x WHERE x.tenant_id = $1),
		(SELECT string_agg(x::text, ',' ORDER BY x.user_id) FROM uam.profiles x WHERE x.tenant_id = $1),
		(SELECT string_agg(x::text, ',' ORDER BY x.id) FROM uam.roles x WHERE x.tenant_id = $1),
		(SELECT string_agg(x::text, ',' ORDER BY x.role_id, x.permission_id) FROM uam.role_permissions x
			JOIN uam.roles r ON r.id = x.role_id WHERE r.tenant_id = $1),
		(SELECT string_agg(x::text, ',' ORDER BY x.id) FROM uam.permissions x WHERE x.tenant_id = $1),
		(SELECT string_agg(x::text, ',' ORDER BY x.id) FROM uam.role_assignments x WHERE x.tenant_id = $1))`,
		tenant).Scan(&dump)
	if err != nil {
		e.t.Fatalf("rows of %s: %v", tenant, err)
	}
	return dump
}

// The /me operations act on the token's user in the token's tenant; a
// client's token or a service's names no user and is refused 403.
func TestSelfServiceNeedsAUsersToken(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "ada@example.com", goodPassword)
	iam := e.is.Credential(t, "iam", "uam")
	for who, caller := range map[string]client.RequestEditorFn{
		"a client's token": e.with(authtest.Grant{Tenant: tenant, Client: "reporting-app", Scopes: allBuiltinPerms()}),
		"IAM's credential": bearer(iam),
	} {
		me, err := e.c.GetMeWithResponse(ctx, caller)
		expectStatus(t, "GET /me with "+who, me, me.Body, err, http.StatusForbidden)
		p, err := e.c.UpdateMyProfileWithResponse(ctx, nil, client.ProfileUpdate{DisplayName: ptr("x")}, caller)
		expectStatus(t, "PUT /me/profile with "+who, p, p.Body, err, http.StatusForbidden)
		pw, err := e.c.ChangeMyPasswordWithResponse(ctx, client.PasswordChange{CurrentPassword: goodPassword,
			NewPassword: "another fine passphrase"}, caller)
		expectStatus(t, "POST /me/password with "+who, pw, pw.Body, err, http.StatusForbidden)
	}
	// A user's token naming a user the tenant does not have (deleted since,
	// or of another tenant) reaches nobody.
	me, err := e.c.GetMeWithResponse(ctx, e.as(tenant, uuid.New()))
	expectStatus(t, "GET /me of an unknown user", me, me.Body, err, http.StatusNotFound)
}

// The credential check answers IAM's service credential alone:
// credentials:verify counts for service credentials only, so no access
// token, a platform administrator's included, gets an answer.
func TestCredentialCheckIsForIAMOnly(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "ada@example.com", goodPassword)
	body := client.CredentialCheck{TenantId: tenant, Email: "ada@example.com", Password: goodPassword}

	uamCred := e.is.Credential(t, "uam", "uam")
	contentCred := e.is.Credential(t, "content", "uam")
	everything := append(allBuiltinPerms(), "credentials:verify")
	for who, caller := range map[string]client.RequestEditorFn{
		"a platform administrator's user token": e.with(authtest.Grant{Tenant: authtest.PlatformTenantID, Scopes: everything}),
		"a user of the tenant":                  e.with(authtest.Grant{Tenant: tenant, Scopes: everything}),
		"a client of the tenant":                e.with(authtest.Grant{Tenant: tenant, Client: "app", Scopes: everything}),
		"UAM's own credential":                  bearer(uamCred),
		"Content's credential":                  bearer(contentCred),
	} {
		r, err := e.c.CheckCredentialsWithResponse(ctx, body, caller)
		expectStatus(t, "credential check by "+who, r, r.Body, err, http.StatusForbidden)
	}
	r, err := e.c.CheckCredentialsWithResponse(ctx, body, anonymous)
	expectStatus(t, "credential check without a token", r, r.Body, err, http.StatusUnauthorized)
	r, err = e.c.CheckCredentialsWithResponse(ctx, body) // IAM's credential
	expectStatus(t, "credential check by IAM", r, r.Body, err, http.StatusOK)
}

// The catalogue holds no tenant's own permissions: every tenant reads the
// same list, and a tenant's own are read in that tenant only.
func TestCatalogueIsTheSameForEveryTenant(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant(), e.tenant()
	e.tenantPermission(a, "invoices:read", "A's.")
	names := func(tenant uuid.UUID) []string {
		t.Helper()
		r, err := e.c.ListPermissionsWithResponse(ctx, &client.ListPermissionsParams{Limit: ptr(500)}, e.with(e.tenantAdmin(tenant)))
		expectStatus(t, "catalogue", r, r.Body, err, http.StatusOK)
		var out []string
		for _, p := range r.JSON200.Items {
			out = append(out, p.Name)
		}
		return out
	}
	if got := names(a); !slices.Equal(got, allBuiltinPerms()) {
		t.Errorf("A's catalogue %v, want the built-in %v", got, allBuiltinPerms())
	}
	if got := names(b); !slices.Equal(got, allBuiltinPerms()) {
		t.Errorf("B's catalogue %v, want the built-in %v", got, allBuiltinPerms())
	}
}

// expectNotHeld fails unless a response is the 403 of granting a permission
// the caller does not hold, naming perm.
func expectNotHeld(t testing.TB, what string, r statusCoder, body []byte, err error, perm string) {
	t.Helper()
	expectStatus(t, what, r, body, err, http.StatusForbidden)
	var p client.Problem
	if err := json.Unmarshal(body, &p); err != nil || p.Detail == nil || !strings.Contains(*p.Detail, "grants "+perm+",") {
		t.Errorf("%s: %s, want a problem naming %s", what, body, perm)
	}
}

// An editor who may also assign and write roles cannot make themselves, or
// anyone, more than an editor: a role is assigned, created or changed only
// by a caller holding everything it grants.
func TestGrantOnlyWhatYouHold(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.tenantPermission(tenant, "invoices:read", "")
	ed := e.user(tenant, "ed@example.com", "")
	other := e.user(tenant, "other@example.com", "")
	e.assignAt(tenant, ed.Id, editorRole, nil)
	editor := e.as(tenant, ed.Id, append(slices.Clone(editorPerms), "roles:assign", "roles:write", "roles:read")...)

	// Assigning: tenant-admin to themselves, viewer to another (it reads
	// users, which an editor does not); editor, which they hold, is fine.
	r, err := e.c.AssignRoleWithResponse(ctx, tenant, ed.Id, tenantAdminRole, nil, editor)
	expectNotHeld(t, "the editor assigns themselves tenant-admin", r, r.Body, err, "clients:read")
	r, err = e.c.AssignRoleWithResponse(ctx, tenant, other.Id, viewerRole, nil, editor)
	expectNotHeld(t, "the editor assigns viewer", r, r.Body, err, "clients:read")
	r, err = e.c.AssignRoleWithResponse(ctx, tenant, other.Id, editorRole, nil, editor)
	expectStatus(t, "the editor assigns editor", r, r.Body, err, http.StatusCreated)
	if got := e.effectiveOf(tenant, ed.Id); !slices.Equal(got.TenantWide, editorPerms) {
		t.Errorf("the editor holds %v after the refusals, want %v", got.TenantWide, editorPerms)
	}

	// Creating a role: only with what they hold.
	perms := []string{"content:read", "users:write"}
	c, err := e.c.CreateRoleWithResponse(ctx, tenant, nil, client.RoleCreate{Name: "Escalator", Permissions: &perms}, editor)
	expectNotHeld(t, "the editor creates a role with users:write", c, c.Body, err, "users:write")
	if roles, _ := e.rolesPaged(tenant, 50); len(roles) != 3 {
		t.Errorf("a refused create left roles: %+v", roles)
	}
	perms = []string{"content:read"}
	c, err = e.c.CreateRoleWithResponse(ctx, tenant, nil, client.RoleCreate{Name: "Reader", Permissions: &perms}, editor)
	expectStatus(t, "the editor creates a role with content:read", c, c.Body, err, http.StatusCreated)
	reader := *c.JSON201

	// Changing a role: neither by replacing its set nor by adding to it.
	_, tag := e.getRole(tenant, reader.Id)
	perms = []string{"content:read", "keys:write"}
	up, err := e.c.UpdateRoleWithResponse(ctx, tenant, reader.Id, nil, client.RoleUpdate{Permissions: &perms}, editor)
	expectNotHeld(t, "the editor puts keys:write into a role", up, up.Body, err, "keys:write")
	add, err := e.c.AddRolePermissionWithResponse(ctx, tenant, reader.Id, "invoices:read", nil, editor)
	expectNotHeld(t, "the editor adds the tenant's own invoices:read", add, add.Body, err, "invoices:read")
	if got, tagAfter := e.getRole(tenant, reader.Id); tagAfter != tag || !slices.Equal(got.Permissions, []string{"content:read"}) {
		t.Errorf("refused changes changed the role: %v %s (was %s)", got.Permissions, tagAfter, tag)
	}
	add, err = e.c.AddRolePermissionWithResponse(ctx, tenant, reader.Id, "content:write", nil, editor)
	expectStatus(t, "the editor adds content:write", add, add.Body, err, http.StatusOK)

	// A role granting more than they hold cannot be grown by them, even with
	// what they hold; taking away, and renaming, grant nothing.
	mixed := e.role(tenant, "Mixed", "content:read", "users:write")
	add, err = e.c.AddRolePermissionWithResponse(ctx, tenant, mixed.Id, "content:publish", nil, editor)
	expectNotHeld(t, "the editor adds content:publish beside users:write", add, add.Body, err, "users:write")
	name := "Renamed"
	up, err = e.c.UpdateRoleWithResponse(ctx, tenant, mixed.Id, nil, client.RoleUpdate{Name: &name}, editor)
	expectStatus(t, "the editor renames the role", up, up.Body, err, http.StatusOK)
	rm, err := e.c.RemoveRolePermissionWithResponse(ctx, tenant, mixed.Id, "users:write", nil, editor)
	expectStatus(t, "the editor removes users:write", rm, rm.Body, err, http.StatusOK)
	add, err = e.c.AddRolePermissionWithResponse(ctx, tenant, mixed.Id, "content:publish", nil, editor)
	expectStatus(t, "the editor adds content:publish now", add, add.Body, err, http.StatusOK)

	// tenant-admin needs every tenant-level permission, the tenant's own
	// included: every built-in one is not enough.
	builtinOnly := e.with(authtest.Grant{Tenant: tenant, Scopes: tenantLevelPerms})
	r, err = e.c.AssignRoleWithResponse(ctx, tenant, other.Id, tenantAdminRole, nil, builtinOnly)
	expectNotHeld(t, "tenant-admin by a holder of the built-in permissions only", r, r.Body, err, "invoices:read")
	r, err = e.c.AssignRoleWithResponse(ctx, tenant, other.Id, tenantAdminRole, nil, e.with(e.tenantAdmin(tenant)))
	expectStatus(t, "tenant-admin by a tenant administrator", r, r.Body, err, http.StatusCreated)
}

// On a site, what the caller holds on that site counts beside what it holds
// tenant-wide; on another site, or tenant-wide, it does not. roles:assign
// itself counts only tenant-wide, as site_id is a query parameter.
func TestGrantOnlyWhatYouHoldOnASite(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	s1, s2 := e.site(tenant), e.site(tenant)
	u := e.user(tenant, "u@example.com", "")

	// Assigns tenant-wide, edits content on s1 only.
	siteEditor := e.with(authtest.Grant{Tenant: tenant, Scopes: []string{"roles:assign"},
		Sites: map[uuid.UUID][]string{s1: editorPerms}})
	r, err := e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, &client.AssignRoleParams{SiteId: &s1}, siteEditor)
	expectStatus(t, "editor on the caller's site", r, r.Body, err, http.StatusCreated)
	r, err = e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, &client.AssignRoleParams{SiteId: &s2}, siteEditor)
	expectNotHeld(t, "editor on another site", r, r.Body, err, "content:delete")
	r, err = e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, nil, siteEditor)
	expectNotHeld(t, "editor tenant-wide", r, r.Body, err, "content:delete")

	// Assigns on s1 only: refused on another site, and on s1 too.
	siteAssigner := e.with(authtest.Grant{Tenant: tenant,
		Sites: map[uuid.UUID][]string{s1: append(slices.Clone(editorPerms), "roles:assign")}})
	for what, site := range map[string]*uuid.UUID{"another site": &s2, "its own site": &s1} {
		r, err := e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, &client.AssignRoleParams{SiteId: site}, siteAssigner)
		expectStatus(t, "a site's roles:assign on "+what, r, r.Body, err, http.StatusForbidden)
		if ch := r.HTTPResponse.Header.Get("WWW-Authenticate"); !strings.Contains(ch, `scope="roles:assign"`) {
			t.Errorf("a site's roles:assign on %s: challenge %q, want it to ask for roles:assign", what, ch)
		}
	}

	got := e.effectiveOf(tenant, u.Id)
	if len(got.TenantWide) != 0 || len(got.Sites) != 1 || got.Sites[0].SiteId != s1 {
		t.Errorf("after the refusals %+v, want editor on %s only", got, s1)
	}
}

// A platform administrator (a member of the platform tenant with a
// platform-level permission) acts in any tenant, and there grants what the
// tenant has though it holds none of the tenant's own permissions: it gives
// tenants their first administrator. A member of the platform tenant with the
// same tenant-level permissions but no platform-level one is an ordinary
// member of the platform tenant: other tenants are 404 to it.
func TestPlatformAdministratorGrantsAcrossTenants(t *testing.T) {
	e := newEnv(t)
	platform := authtest.PlatformTenantID
	e.platformTenant(platform)
	tenant := e.tenant()
	e.tenantPermission(tenant, "invoices:read", "")
	member := e.with(authtest.Grant{Tenant: platform, Scopes: tenantLevelPerms})
	operator := e.with(authtest.Grant{Tenant: platform, Scopes: append(slices.Clone(tenantLevelPerms), "tenants:write")})

	m, err := e.c.CreateUserWithResponse(ctx, tenant, nil, client.UserCreate{Email: "first@example.com"}, member)
	expectStatus(t, "a platform member without platform permissions creates a user in the tenant", m, m.Body, err, http.StatusNotFound)
	ml, err := e.c.ListUsersWithResponse(ctx, tenant, nil, member)
	expectStatus(t, "a platform member without platform permissions lists the tenant's users", ml, ml.Body, err, http.StatusNotFound)

	c, err := e.c.CreateUserWithResponse(ctx, tenant, nil, client.UserCreate{Email: "first@example.com"}, operator)
	expectStatus(t, "the operator creates a user in the tenant", c, c.Body, err, http.StatusCreated)
	first := *c.JSON201
	r, err := e.c.AssignRoleWithResponse(ctx, tenant, first.Id, tenantAdminRole, nil, operator)
	expectStatus(t, "the operator makes them tenant-admin", r, r.Body, err, http.StatusCreated)
	perms := []string{"invoices:read"}
	role, err := e.c.CreateRoleWithResponse(ctx, tenant, nil, client.RoleCreate{Name: "Invoices", Permissions: &perms}, operator)
	expectStatus(t, "the operator creates a role with the tenant's own permission", role, role.Body, err, http.StatusCreated)
	l, err := e.c.ListUsersWithResponse(ctx, tenant, nil, operator)
	expectStatus(t, "the operator lists the tenant's users", l, l.Body, err, http.StatusOK)
	if len(l.JSON200.Items) != 1 || l.JSON200.Items[0].Id != first.Id {
		t.Errorf("the operator lists %+v", l.JSON200.Items)
	}
	if got := e.effectiveOf(tenant, first.Id); !slices.Contains(got.TenantWide, "invoices:read") {
		t.Errorf("the first administrator holds %v", got.TenantWide)
	}

	// At home, a member holding only roles:assign does not make itself an
	// administrator.
	self := e.user(platform, "support@example.com", "")
	r, err = e.c.AssignRoleWithResponse(ctx, platform, self.Id, tenantAdminRole, nil, e.as(platform, self.Id, "roles:assign"))
	expectNotHeld(t, "a platform member assigns itself tenant-admin", r, r.Body, err, "clients:read")
}

// Resetting a password, changing an email or status, or deleting a user
// would let a holder of users:write take over an account that holds more
// than they do: those need everything the user holds, tenant-wide and on
// each of its sites.
func TestManageOnlyUsersWhoHoldNoMore(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	site := e.site(tenant)
	admin := e.user(tenant, "admin@example.com", "")
	e.assignAt(tenant, admin.Id, tenantAdminRole, nil)
	writer := e.user(tenant, "site-writer@example.com", "")
	e.assignAt(tenant, writer.Id, e.role(tenant, "SiteWriter", "content:write").Id, &site)
	peer := e.user(tenant, "peer@example.com", "")
	e.assignAt(tenant, peer.Id, e.role(tenant, "Reader", "users:read").Id, nil)
	hd := e.user(tenant, "helpdesk@example.com", "")
	helpdesk := e.as(tenant, hd.Id, "users:read", "users:write")

	newPassword := client.PasswordSet{Password: "a fresh and unusual passphrase"}
	email := client.Email("taken@example.com")
	disabled := client.UserStatus("disabled")
	for _, target := range []client.User{admin, writer} {
		pw, err := e.c.SetUserPasswordWithResponse(ctx, tenant, target.Id, newPassword, helpdesk)
		expectStatus(t, "reset "+string(target.Email), pw, pw.Body, err, http.StatusForbidden)
		up, err := e.c.UpdateUserWithResponse(ctx, tenant, target.Id, nil, client.UserUpdate{Email: &email}, helpdesk)
		expectStatus(t, "new email for "+string(target.Email), up, up.Body, err, http.StatusForbidden)
		up, err = e.c.UpdateUserWithResponse(ctx, tenant, target.Id, nil, client.UserUpdate{Status: &disabled}, helpdesk)
		expectStatus(t, "disable "+string(target.Email), up, up.Body, err, http.StatusForbidden)
		del, err := e.c.DeleteUserWithResponse(ctx, tenant, target.Id, nil, helpdesk)
		expectStatus(t, "delete "+string(target.Email), del, del.Body, err, http.StatusForbidden)
	}
	// Someone holding no more than the helpdesk is theirs to manage, and
	// marking an email verified takes nothing over.
	pw, err := e.c.SetUserPasswordWithResponse(ctx, tenant, peer.Id, newPassword, helpdesk)
	expectStatus(t, "reset a peer", pw, pw.Body, err, http.StatusNoContent)
	verified := true
	up, err := e.c.UpdateUserWithResponse(ctx, tenant, admin.Id, nil, client.UserUpdate{EmailVerified: &verified}, helpdesk)
	expectStatus(t, "mark the administrator's email verified", up, up.Body, err, http.StatusOK)
	// A holder of content:write on that site manages the site writer.
	siteManager := e.as(tenant, hd.Id, "users:read", "users:write", "content:write")
	pw, err = e.c.SetUserPasswordWithResponse(ctx, tenant, writer.Id, newPassword, siteManager)
	expectStatus(t, "reset the site writer by one holding content:write", pw, pw.Body, err, http.StatusNoContent)
}

// Taking tenants:write away needs holding it, as giving it does: a member of
// the platform tenant with roles:write and roles:assign but not tenants:write
// cannot take it from a role's set (one at a time or by replacing the set),
// delete a role that holds it, or unassign such a role. Otherwise it could
// demote every platform administrator, and since only holders may grant
// tenants:write, no one could restore them. A holder may do all of it.
func TestOnlyHoldersTakePlatformPermissionsAway(t *testing.T) {
	e := newEnv(t)
	platform := authtest.PlatformTenantID
	e.platformTenant(platform)
	admin := e.user(platform, "ops@example.com", "")
	holder := e.as(platform, admin.Id, "roles:read", "roles:write", "roles:assign", "users:read", "tenants:write")
	perms := client.PermissionSet{"tenants:write", "users:read"}
	cr, err := e.c.CreateRoleWithResponse(ctx, platform, nil, client.RoleCreate{Name: "Ops", Permissions: &perms}, holder)
	expectStatus(t, "a holder creates a role with tenants:write", cr, cr.Body, err, http.StatusCreated)
	ops := *cr.JSON201
	as, err := e.c.AssignRoleWithResponse(ctx, platform, admin.Id, ops.Id, nil, holder)
	expectStatus(t, "a holder assigns it", as, as.Body, err, http.StatusCreated)
	refused := func(what string, r statusCoder, body []byte, err error, perm string) {
		t.Helper()
		expectStatus(t, what, r, body, err, http.StatusForbidden)
		var p client.Problem
		if err := json.Unmarshal(body, &p); err != nil || p.Detail == nil || !strings.Contains(*p.Detail, "taking away "+perm+" ") {
			t.Errorf("%s: %s, want a problem naming %s", what, body, perm)
		}
	}
	member := e.user(platform, "member@example.com", "")
	roleAdmin := e.as(platform, member.Id, "roles:read", "roles:write", "roles:assign", "users:read")

	rm, err := e.c.RemoveRolePermissionWithResponse(ctx, platform, ops.Id, "tenants:write", nil, roleAdmin)
	refused("a non-holder removes tenants:write from a role", rm, rm.Body, err, "tenants:write")
	fewer := client.PermissionSet{"users:read"}
	up, err := e.c.UpdateRoleWithResponse(ctx, platform, ops.Id, nil, client.RoleUpdate{Permissions: &fewer}, roleAdmin)
	refused("a non-holder replaces a role's set without tenants:write", up, up.Body, err, "tenants:write")
	del, err := e.c.DeleteRoleWithResponse(ctx, platform, ops.Id, nil, roleAdmin)
	refused("a non-holder deletes a role holding tenants:write", del, del.Body, err, "tenants:write")
	un, err := e.c.UnassignRoleWithResponse(ctx, platform, admin.Id, ops.Id, nil, roleAdmin)
	refused("a non-holder unassigns a role holding tenants:write", un, un.Body, err, "tenants:write")
	if got := e.effectiveOf(platform, admin.Id); !slices.Contains(got.TenantWide, "tenants:write") {
		t.Fatalf("after the refusals the administrator holds %v", got.TenantWide)
	}

	// What holds no platform-level permission stays the ordinary rules' business.
	plain := e.role(platform, "Readers", "users:read")
	e.assignAt(platform, admin.Id, plain.Id, nil)
	un, err = e.c.UnassignRoleWithResponse(ctx, platform, admin.Id, plain.Id, nil, roleAdmin)
	expectStatus(t, "a non-holder unassigns a role without platform permissions", un, un.Body, err, http.StatusNoContent)

	rm, err = e.c.RemoveRolePermissionWithResponse(ctx, platform, ops.Id, "tenants:write", nil, holder)
	expectStatus(t, "a holder removes tenants:write from a role", rm, rm.Body, err, http.StatusOK)
	if got := e.effectiveOf(platform, admin.Id); slices.Contains(got.TenantWide, "tenants:write") {
		t.Fatalf("after the holder's removal the administrator still holds %v", got.TenantWide)
	}
	un, err = e.c.UnassignRoleWithResponse(ctx, platform, admin.Id, ops.Id, nil, holder)
	expectStatus(t, "a holder unassigns the role", un, un.Body, err, http.StatusNoContent)
	del, err = e.c.DeleteRoleWithResponse(ctx, platform, ops.Id, nil, holder)
	expectStatus(t, "a holder deletes the role", del, del.Body, err, http.StatusNoContent)
}
