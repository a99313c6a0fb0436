package uam

import (
	"context"

	"github.com/google/uuid"

	api "github.com/saasplatform/saas/gen/api/uam"
	"github.com/saasplatform/saas/internal/platform/etag"
	"github.com/saasplatform/saas/internal/platform/page"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// Prefix is where the service's API lives; it is the spec's server URL.
const Prefix = "/uam/v1"

// handlers adapts the generated strict server interface to the Service: they
// translate API <-> domain and call one method each. Errors are rendered as
// problem+json by the strict server's error handler.
type handlers struct{ svc *Service }

var _ api.StrictServerInterface = handlers{}

func userOut(u User) api.User {
	return api.User{Id: u.ID, TenantId: u.TenantID, Email: u.Email, EmailVerified: u.EmailVerified,
		Status: api.UserStatus(u.Status), HasPassword: u.HasPassword, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		LastLoginAt: u.LastLoginAt}
}

// omitEmpty renders an unset profile field as absent rather than "".
func omitEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func profileOut(p Profile) api.Profile {
	return api.Profile{UserId: p.UserID, TenantId: p.TenantID, DisplayName: omitEmpty(p.DisplayName),
		GivenName: omitEmpty(p.GivenName), FamilyName: omitEmpty(p.FamilyName), AvatarUrl: omitEmpty(p.AvatarURL),
		Locale: omitEmpty(p.Locale), Timezone: omitEmpty(p.Timezone), Phone: omitEmpty(p.Phone),
		Metadata: p.Metadata, UpdatedAt: p.UpdatedAt}
}

func profileIn(b *api.ProfileUpdate) ProfileInput {
	return ProfileInput{DisplayName: b.DisplayName, GivenName: b.GivenName, FamilyName: b.FamilyName,
		AvatarURL: b.AvatarUrl, Locale: b.Locale, Timezone: b.Timezone, Phone: b.Phone, Metadata: b.Metadata}
}

func roleOut(r Role) api.Role {
	return api.Role{Id: r.ID, TenantId: r.TenantID, Name: r.Name, Description: r.Description, BuiltIn: r.BuiltIn(),
		Permissions: r.Permissions, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func permissionOut(p Permission) api.Permission {
	return api.Permission{Name: p.Name, Description: p.Description, BuiltIn: p.BuiltIn,
		Level: api.PermissionLevel(p.Level), TenantId: p.TenantID, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func assignmentOut(a Assignment) api.Assignment {
	return api.Assignment{Id: a.ID, TenantId: a.TenantID, UserId: a.UserID, RoleId: a.RoleID, RoleName: a.RoleName,
		SiteId: a.SiteID, CreatedAt: a.CreatedAt}
}

func effectiveOut(e Effective) api.EffectivePermissions {
	out := api.EffectivePermissions{TenantWide: e.TenantWide, Sites: make([]api.SitePermissions, len(e.Sites))}
	for i, s := range e.Sites {
		out.Sites[i] = api.SitePermissions{SiteId: s.SiteID, Permissions: s.Permissions}
	}
	return out
}

func userLocation(u User) string {
	return Prefix + "/tenants/" + u.TenantID.String() + "/users/" + u.ID.String()
}

// pageOf serves one page of a keyset-paginated list: it decodes the cursor,
// fetches one row more than the page to learn whether another follows, and
// cuts the page with the next cursor.
func pageOf[T, K any](cursor *string, limit *int, decode func(*string) (*K, error),
	cut func([]T, int) ([]T, *string), list func(after *K, n int) ([]T, error)) ([]T, *string, error) {
	after, err := decode(cursor)
	if err != nil {
		return nil, nil, err
	}
	n := page.Limit(limit)
	rows, err := list(after, n+1)
	if err != nil {
		return nil, nil, err
	}
	rows, next := cut(rows, n)
	return rows, next, nil
}

// byID pages a list in creation order (time-ordered ids).
func byID[T any](cursor *string, limit *int, id func(T) uuid.UUID, list func(after *uuid.UUID, n int) ([]T, error)) ([]T, *string, error) {
	return pageOf(cursor, limit, page.Decode, func(rows []T, n int) ([]T, *string) { return page.Cut(rows, n, id) }, list)
}

// byName pages permissions in name order.
func byName(cursor *string, limit *int, list func(after *string, n int) ([]Permission, error)) ([]Permission, *string, error) {
	decode := func(c *string) (*string, error) { return page.DecodeText(c, ValidPermissionName) }
	cut := func(rows []Permission, n int) ([]Permission, *string) {
		return page.CutText(rows, n, func(p Permission) string { return p.Name })
	}
	return pageOf(cursor, limit, decode, cut, list)
}

// Users

func (h handlers) CreateUser(ctx context.Context, r api.CreateUserRequestObject) (api.CreateUserResponseObject, error) {
	in := UserInput{Email: r.Body.Email, EmailVerified: r.Body.EmailVerified, Status: (*string)(r.Body.Status), Password: r.Body.Password}
	if r.Body.Profile != nil {
		p := profileIn(r.Body.Profile)
		in.Profile = &p
	}
	nu, err := ParseNewUser(in)
	if err != nil {
		return nil, err
	}
	u, err := h.svc.CreateUser(ctx, r.TenantId, nu)
	if err != nil {
		return nil, err
	}
	return api.CreateUser201JSONResponse{Body: userOut(u), Headers: api.CreateUser201ResponseHeaders{
		Location: userLocation(u), ETag: etag.Of(u.Version)}}, nil
}

func (h handlers) ListUsers(ctx context.Context, r api.ListUsersRequestObject) (api.ListUsersResponseObject, error) {
	f := UserFilter{RoleID: r.Params.RoleId}
	if r.Params.Email != nil {
		prefix, err := parseText("query.email", *r.Params.Email, maxEmailLen, false)
		if err == nil && prefix == "" {
			err = problem.Field("query.email", "must not be blank")
		}
		if err != nil {
			return nil, err
		}
		f.EmailPrefix = &prefix
	}
	if r.Params.Status != nil {
		st, err := parseUserStatus("query.status", string(*r.Params.Status))
		if err != nil {
			return nil, err
		}
		f.Status = &st
	}
	users, next, err := byID(r.Params.Cursor, r.Params.Limit, func(u User) uuid.UUID { return u.ID },
		func(after *uuid.UUID, n int) ([]User, error) { return h.svc.Users(ctx, r.TenantId, f, after, n) })
	if err != nil {
		return nil, err
	}
	return api.ListUsers200JSONResponse{Items: mapRows(users, userOut), NextCursor: next}, nil
}

func (h handlers) GetUser(ctx context.Context, r api.GetUserRequestObject) (api.GetUserResponseObject, error) {
	u, err := h.svc.User(ctx, r.TenantId, r.UserId)
	if err != nil {
		return nil, err
	}
	return api.GetUser200JSONResponse{Body: userOut(u), Headers: api.GetUser200ResponseHeaders{ETag: etag.Of(u.Version)}}, nil
}

func (h handlers) UpdateUser(ctx context.Context, r api.UpdateUserRequestObject) (api.UpdateUserResponseObject, error) {
	var errs fields
	var p UserPatch
	if r.Body.Email != nil {
		e, err := ParseEmail("body.email", *r.Body.Email)
		errs.add(err)
		p.Email = &e
	}
	if r.Body.Status != nil {
		st, err := parseUserStatus("body.status", string(*r.Body.Status))
		errs.add(err)
		p.Status = &st
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	p.EmailVerified = r.Body.EmailVerified
	u, err := h.svc.UpdateUser(ctx, r.TenantId, r.UserId, p, etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.UpdateUser200JSONResponse{Body: userOut(u), Headers: api.UpdateUser200ResponseHeaders{ETag: etag.Of(u.Version)}}, nil
}

func (h handlers) DeleteUser(ctx context.Context, r api.DeleteUserRequestObject) (api.DeleteUserResponseObject, error) {
	if err := h.svc.DeleteUser(ctx, r.TenantId, r.UserId, etag.Expected(r.Params.IfMatch)); err != nil {
		return nil, err
	}
	return api.DeleteUser204Response{}, nil
}

func (h handlers) SetUserPassword(ctx context.Context, r api.SetUserPasswordRequestObject) (api.SetUserPasswordResponseObject, error) {
	if err := h.svc.SetPassword(ctx, r.TenantId, r.UserId, r.Body.Password); err != nil {
		return nil, err
	}
	return api.SetUserPassword204Response{}, nil
}

// Profiles

func (h handlers) GetUserProfile(ctx context.Context, r api.GetUserProfileRequestObject) (api.GetUserProfileResponseObject, error) {
	p, err := h.svc.Profile(ctx, r.TenantId, r.UserId)
	if err != nil {
		return nil, err
	}
	return api.GetUserProfile200JSONResponse{Body: profileOut(p), Headers: api.GetUserProfile200ResponseHeaders{ETag: etag.Of(p.Version)}}, nil
}

func (h handlers) UpdateUserProfile(ctx context.Context, r api.UpdateUserProfileRequestObject) (api.UpdateUserProfileResponseObject, error) {
	patch, err := ParseProfile("body", profileIn(r.Body))
	if err != nil {
		return nil, err
	}
	p, err := h.svc.UpdateProfile(ctx, r.TenantId, r.UserId, patch, etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.UpdateUserProfile200JSONResponse{Body: profileOut(p), Headers: api.UpdateUserProfile200ResponseHeaders{ETag: etag.Of(p.Version)}}, nil
}

// Assignments

func (h handlers) ListUserRoles(ctx context.Context, r api.ListUserRolesRequestObject) (api.ListUserRolesResponseObject, error) {
	items, next, err := byID(r.Params.Cursor, r.Params.Limit, func(a Assignment) uuid.UUID { return a.ID },
		func(after *uuid.UUID, n int) ([]Assignment, error) {
			return h.svc.Assignments(ctx, r.TenantId, r.UserId, after, n)
		})
	if err != nil {
		return nil, err
	}
	return api.ListUserRoles200JSONResponse{Items: mapRows(items, assignmentOut), NextCursor: next}, nil
}

func (h handlers) AssignRole(ctx context.Context, r api.AssignRoleRequestObject) (api.AssignRoleResponseObject, error) {
	a, created, err := h.svc.Assign(ctx, r.TenantId, r.UserId, r.RoleId, r.Params.SiteId)
	if err != nil {
		return nil, err
	}
	if !created {
		return api.AssignRole200JSONResponse(assignmentOut(a)), nil
	}
	loc := Prefix + "/tenants/" + a.TenantID.String() + "/users/" + a.UserID.String() + "/roles/" + a.RoleID.String()
	if a.SiteID != nil {
		loc += "?site_id=" + a.SiteID.String()
	}
	return api.AssignRole201JSONResponse{Body: assignmentOut(a), Headers: api.AssignRole201ResponseHeaders{Location: loc}}, nil
}

func (h handlers) UnassignRole(ctx context.Context, r api.UnassignRoleRequestObject) (api.UnassignRoleResponseObject, error) {
	if err := h.svc.Unassign(ctx, r.TenantId, r.UserId, r.RoleId, r.Params.SiteId); err != nil {
		return nil, err
	}
	return api.UnassignRole204Response{}, nil
}

func (h handlers) GetUserPermissions(ctx context.Context, r api.GetUserPermissionsRequestObject) (api.GetUserPermissionsResponseObject, error) {
	e, err := h.svc.Effective(ctx, r.TenantId, r.UserId)
	if err != nil {
		return nil, err
	}
	return api.GetUserPermissions200JSONResponse(effectiveOut(e)), nil
}

// Roles

func (h handlers) CreateRole(ctx context.Context, r api.CreateRoleRequestObject) (api.CreateRoleResponseObject, error) {
	c, err := ParseRole(RoleChange{Name: &r.Body.Name, Description: r.Body.Description, Permissions: r.Body.Permissions})
	if err != nil {
		return nil, err
	}
	role, err := h.svc.CreateRole(ctx, r.TenantId, c)
	if err != nil {
		return nil, err
	}
	return api.CreateRole201JSONResponse{Body: roleOut(role), Headers: api.CreateRole201ResponseHeaders{
		Location: Prefix + "/tenants/" + r.TenantId.String() + "/roles/" + role.ID.String(), ETag: etag.Of(role.Version)}}, nil
}

func (h handlers) ListRoles(ctx context.Context, r api.ListRolesRequestObject) (api.ListRolesResponseObject, error) {
	roles, next, err := byID(r.Params.Cursor, r.Params.Limit, func(r Role) uuid.UUID { return r.ID },
		func(after *uuid.UUID, n int) ([]Role, error) { return h.svc.Roles(ctx, r.TenantId, after, n) })
	if err != nil {
		return nil, err
	}
	return api.ListRoles200JSONResponse{Items: mapRows(roles, roleOut), NextCursor: next}, nil
}

func (h handlers) GetRole(ctx context.Context, r api.GetRoleRequestObject) (api.GetRoleResponseObject, error) {
	role, err := h.svc.Role(ctx, r.TenantId, r.RoleId)
	if err != nil {
		return nil, err
	}
	return api.GetRole200JSONResponse{Body: roleOut(role), Headers: api.GetRole200ResponseHeaders{ETag: etag.Of(role.Version)}}, nil
}

func (h handlers) UpdateRole(ctx context.Context, r api.UpdateRoleRequestObject) (api.UpdateRoleResponseObject, error) {
	c, err := ParseRole(RoleChange{Name: r.Body.Name, Description: r.Body.Description, Permissions: r.Body.Permissions})
	if err != nil {
		return nil, err
	}
	role, err := h.svc.UpdateRole(ctx, r.TenantId, r.RoleId, c, etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.UpdateRole200JSONResponse{Body: roleOut(role), Headers: api.UpdateRole200ResponseHeaders{ETag: etag.Of(role.Version)}}, nil
}

func (h handlers) DeleteRole(ctx context.Context, r api.DeleteRoleRequestObject) (api.DeleteRoleResponseObject, error) {
	if err := h.svc.DeleteRole(ctx, r.TenantId, r.RoleId, etag.Expected(r.Params.IfMatch)); err != nil {
		return nil, err
	}
	return api.DeleteRole204Response{}, nil
}

func (h handlers) AddRolePermission(ctx context.Context, r api.AddRolePermissionRequestObject) (api.AddRolePermissionResponseObject, error) {
	role, err := h.svc.AddRolePermission(ctx, r.TenantId, r.RoleId, r.Permission, etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.AddRolePermission200JSONResponse{Body: roleOut(role), Headers: api.AddRolePermission200ResponseHeaders{ETag: etag.Of(role.Version)}}, nil
}

func (h handlers) RemoveRolePermission(ctx context.Context, r api.RemoveRolePermissionRequestObject) (api.RemoveRolePermissionResponseObject, error) {
	role, err := h.svc.RemoveRolePermission(ctx, r.TenantId, r.RoleId, r.Permission, etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.RemoveRolePermission200JSONResponse{Body: roleOut(role), Headers: api.RemoveRolePermission200ResponseHeaders{ETag: etag.Of(role.Version)}}, nil
}

// Permissions

func (h handlers) ListPermissions(ctx context.Context, r api.ListPermissionsRequestObject) (api.ListPermissionsResponseObject, error) {
	perms, next, err := byName(r.Params.Cursor, r.Params.Limit, func(after *string, n int) ([]Permission, error) {
		return h.svc.BuiltinPermissions(ctx, after, n)
	})
	if err != nil {
		return nil, err
	}
	return api.ListPermissions200JSONResponse{Items: mapRows(perms, permissionOut), NextCursor: next}, nil
}

func (h handlers) ListTenantPermissions(ctx context.Context, r api.ListTenantPermissionsRequestObject) (api.ListTenantPermissionsResponseObject, error) {
	perms, next, err := byName(r.Params.Cursor, r.Params.Limit, func(after *string, n int) ([]Permission, error) {
		return h.svc.TenantPermissions(ctx, r.TenantId, after, n)
	})
	if err != nil {
		return nil, err
	}
	return api.ListTenantPermissions200JSONResponse{Items: mapRows(perms, permissionOut), NextCursor: next}, nil
}

func (h handlers) CreatePermission(ctx context.Context, r api.CreatePermissionRequestObject) (api.CreatePermissionResponseObject, error) {
	var errs fields
	name, err := parsePermissionName("body.name", r.Body.Name)
	errs.add(err)
	desc, err := parseDescription("body.description", r.Body.Description)
	errs.add(err)
	if err := errs.err(); err != nil {
		return nil, err
	}
	p, err := h.svc.CreatePermission(ctx, r.TenantId, name, desc)
	if err != nil {
		return nil, err
	}
	return api.CreatePermission201JSONResponse{Body: permissionOut(p), Headers: api.CreatePermission201ResponseHeaders{
		Location: Prefix + "/tenants/" + r.TenantId.String() + "/permissions/" + p.Name, ETag: etag.Of(p.Version)}}, nil
}

func (h handlers) GetPermission(ctx context.Context, r api.GetPermissionRequestObject) (api.GetPermissionResponseObject, error) {
	p, err := h.svc.Permission(ctx, r.TenantId, r.Permission)
	if err != nil {
		return nil, err
	}
	return api.GetPermission200JSONResponse{Body: permissionOut(p), Headers: api.GetPermission200ResponseHeaders{ETag: etag.Of(p.Version)}}, nil
}

func (h handlers) UpdatePermission(ctx context.Context, r api.UpdatePermissionRequestObject) (api.UpdatePermissionResponseObject, error) {
	desc, err := parseDescription("body.description", r.Body.Description)
	if err != nil {
		return nil, err
	}
	p, err := h.svc.UpdatePermission(ctx, r.TenantId, r.Permission, desc, etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.UpdatePermission200JSONResponse{Body: permissionOut(p), Headers: api.UpdatePermission200ResponseHeaders{ETag: etag.Of(p.Version)}}, nil
}

func (h handlers) DeletePermission(ctx context.Context, r api.DeletePermissionRequestObject) (api.DeletePermissionResponseObject, error) {
	if err := h.svc.DeletePermission(ctx, r.TenantId, r.Permission, etag.Expected(r.Params.IfMatch)); err != nil {
		return nil, err
	}
	return api.DeletePermission204Response{}, nil
}

// Self-service

func (h handlers) GetMe(ctx context.Context, _ api.GetMeRequestObject) (api.GetMeResponseObject, error) {
	m, err := h.svc.Me(ctx)
	if err != nil {
		return nil, err
	}
	return api.GetMe200JSONResponse{User: userOut(m.User), Profile: profileOut(m.Profile),
		Roles: mapRows(m.Roles, assignmentOut), Permissions: effectiveOut(m.Permissions)}, nil
}

func (h handlers) UpdateMyProfile(ctx context.Context, r api.UpdateMyProfileRequestObject) (api.UpdateMyProfileResponseObject, error) {
	patch, err := ParseProfile("body", profileIn(r.Body))
	if err != nil {
		return nil, err
	}
	p, err := h.svc.UpdateMyProfile(ctx, patch, etag.Expected(r.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.UpdateMyProfile200JSONResponse{Body: profileOut(p), Headers: api.UpdateMyProfile200ResponseHeaders{ETag: etag.Of(p.Version)}}, nil
}

func (h handlers) ChangeMyPassword(ctx context.Context, r api.ChangeMyPasswordRequestObject) (api.ChangeMyPasswordResponseObject, error) {
	if err := h.svc.ChangeMyPassword(ctx, r.Body.CurrentPassword, r.Body.NewPassword); err != nil {
		return nil, err
	}
	return api.ChangeMyPassword204Response{}, nil
}

// Internal

func (h handlers) CheckCredentials(ctx context.Context, r api.CheckCredentialsRequestObject) (api.CheckCredentialsResponseObject, error) {
	l, err := h.svc.CheckCredentials(ctx, r.Body.TenantId, r.Body.Email, r.Body.Password)
	if err != nil {
		return nil, err
	}
	return api.CheckCredentials200JSONResponse(loginOut(l)), nil
}

func (h handlers) GetUserGrant(ctx context.Context, r api.GetUserGrantRequestObject) (api.GetUserGrantResponseObject, error) {
	l, err := h.svc.UserGrant(ctx, r.TenantId, r.UserId)
	if err != nil {
		return nil, err
	}
	return api.GetUserGrant200JSONResponse(loginOut(l)), nil
}

func loginOut(l Login) api.CredentialCheckResult {
	return api.CredentialCheckResult{User: userOut(l.User), Roles: l.Roles, Permissions: effectiveOut(l.Permissions),
		SecurityStamp: l.User.SecurityStamp}
}
