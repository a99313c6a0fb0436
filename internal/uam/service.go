package uam

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	db "github.com/saasplatform/saas/gen/db/uam"
	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/authz"
	"github.com/saasplatform/saas/internal/platform/etag"
	"github.com/saasplatform/saas/internal/platform/problem"
	"github.com/saasplatform/saas/internal/uam/password"
)

// Service holds the UAM use cases: one method each, with the rules and the
// transactions. Tenants and sites are Config Vault's; the Directory answers
// for them.
type Service struct {
	store  *store
	dir    Directory
	hasher *password.Hasher
	opts   Options
}

// Options tune the service.
type Options struct {
	// PlatformTenantID is the tenant whose roles may hold platform-level
	// permissions (acting across tenants); uuid.Nil means none has.
	PlatformTenantID uuid.UUID
}

// NewService builds the service over its database, the tenant directory and
// the password hasher (which bounds hashes running at once).
func NewService(pool *pgxpool.Pool, dir Directory, hasher *password.Hasher, opts Options) *Service {
	return &Service{store: newStore(pool), dir: dir, hasher: hasher, opts: opts}
}

// errBadCredentials is the one answer to every failed credential check.
var errBadCredentials = problem.New(problem.KindUnauthorized, "the email or password is not correct")

// Users

// NewUser is a user to create, validated by ParseNewUser.
type NewUser struct {
	Email         string
	EmailVerified bool
	Status        UserStatus
	Password      *string
	Profile       ProfilePatch
}

// UserInput is a user as it arrives in a create request.
type UserInput struct {
	Email         string
	EmailVerified *bool
	Status        *string
	Password      *string
	Profile       *ProfileInput
}

// ParseNewUser validates every field, reporting all bad ones at once.
func ParseNewUser(in UserInput) (NewUser, error) {
	var errs fields
	u := NewUser{EmailVerified: in.EmailVerified != nil && *in.EmailVerified, Status: UserActive, Password: in.Password}
	var err error
	u.Email, err = ParseEmail("body.email", in.Email)
	errs.add(err)
	if in.Status != nil {
		u.Status, err = parseUserStatus("body.status", *in.Status)
		errs.add(err)
	}
	if in.Password != nil {
		errs.add(password.Check("body.password", *in.Password))
	}
	if in.Profile != nil {
		u.Profile, err = ParseProfile("body.profile", *in.Profile)
		errs.add(err)
	}
	return u, errs.err()
}

// CreateUser creates a user of an existing tenant with its profile, in one
// transaction; the password is hashed before the transaction starts.
func (s *Service) CreateUser(ctx context.Context, tenantID uuid.UUID, u NewUser) (User, error) {
	if err := s.dir.TenantExists(ctx, tenantID); err != nil {
		return User{}, err
	}
	var hash *string
	if u.Password != nil {
		h, err := s.hasher.Hash(ctx, *u.Password)
		if err != nil {
			return User{}, err
		}
		hash = &h
	}
	id, err := uuid.NewV7()
	if err != nil {
		return User{}, err
	}
	var row db.UamUser
	err = s.store.inTx(ctx, func(q *db.Queries) error {
		var err error
		row, err = q.CreateUser(ctx, db.CreateUserParams{TenantID: tenantID, ID: id, Email: u.Email,
			EmailVerified: u.EmailVerified, Status: string(u.Status), PasswordHash: hash})
		if err != nil {
			return classify(err)
		}
		p := u.Profile
		_, err = q.CreateProfile(ctx, db.CreateProfileParams{TenantID: tenantID, UserID: id,
			DisplayName: deref(p.DisplayName), GivenName: deref(p.GivenName), FamilyName: deref(p.FamilyName),
			AvatarUrl: deref(p.AvatarURL), Locale: deref(p.Locale), Timezone: deref(p.Timezone), Phone: deref(p.Phone),
			Metadata: orEmptyObject(p.Metadata)})
		return classify(err)
	})
	return userFromRow(row), err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func orEmptyObject(raw []byte) []byte {
	if raw == nil {
		return []byte("{}")
	}
	return raw
}

// User reads one user of the tenant.
func (s *Service) User(ctx context.Context, tenantID, id uuid.UUID) (User, error) {
	return s.store.user(ctx, tenantID, id)
}

// UserFilter narrows a user list; zero fields do not filter.
type UserFilter struct {
	EmailPrefix *string
	Status      *UserStatus
	RoleID      *uuid.UUID
}

// likeEscaper makes text match itself literally in LIKE (backslash is the
// default escape character).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Users lists a tenant's users after the given id, oldest first.
func (s *Service) Users(ctx context.Context, tenantID uuid.UUID, f UserFilter, after *uuid.UUID, limit int) ([]User, error) {
	if err := s.dir.TenantExists(ctx, tenantID); err != nil {
		return nil, err
	}
	p := db.ListUsersParams{TenantID: tenantID, After: after, RoleID: f.RoleID, RowLimit: int32(limit)}
	if f.EmailPrefix != nil {
		e := likeEscaper.Replace(*f.EmailPrefix)
		p.EmailPrefix = &e
	}
	if f.Status != nil {
		st := string(*f.Status)
		p.Status = &st
	}
	rows, err := s.store.q.ListUsers(ctx, p)
	return mapRows(rows, userFromRow), err
}

// UserPatch holds validated user changes; nil fields stay unchanged.
type UserPatch struct {
	Email         *string
	EmailVerified *bool
	Status        *UserStatus
}

// UpdateUser applies a patch if the user's version is one of expected (any
// when nil).
func (s *Service) UpdateUser(ctx context.Context, tenantID, id uuid.UUID, p UserPatch, expected []int64) (User, error) {
	if p.Email != nil || p.Status != nil {
		if err := s.mayManage(ctx, tenantID, id); err != nil {
			return User{}, err
		}
	}
	params := db.UpdateUserParams{TenantID: tenantID, ID: id, Email: p.Email, EmailVerified: p.EmailVerified, ExpectedVersions: expected}
	if p.Status != nil {
		st := string(*p.Status)
		params.Status = &st
	}
	row, err := s.store.q.UpdateUser(ctx, params)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, missed(func() error { _, err := s.store.user(ctx, tenantID, id); return err })
	}
	return userFromRow(row), classify(err)
}

// DeleteUser deletes a user with its profile and assignments.
func (s *Service) DeleteUser(ctx context.Context, tenantID, id uuid.UUID, expected []int64) error {
	if err := s.mayManage(ctx, tenantID, id); err != nil {
		return err
	}
	n, err := s.store.q.DeleteUser(ctx, db.DeleteUserParams{TenantID: tenantID, ID: id, ExpectedVersions: expected})
	if err != nil {
		return classify(err)
	}
	if n == 0 {
		return missed(func() error { _, err := s.store.user(ctx, tenantID, id); return err })
	}
	return nil
}

// SetPassword replaces a user's password (an administrator's reset).
func (s *Service) SetPassword(ctx context.Context, tenantID, id uuid.UUID, pw string) error {
	if err := password.Check("body.password", pw); err != nil {
		return err
	}
	// 404 before spending a hash on a user that does not exist.
	if _, err := s.store.user(ctx, tenantID, id); err != nil {
		return err
	}
	if err := s.mayManage(ctx, tenantID, id); err != nil {
		return err
	}
	return s.storePassword(ctx, tenantID, id, pw, nil)
}

// storePassword hashes and stores pw; with old set, only while the stored hash
// is still *old (nil: none), else the password changed meanwhile (409).
func (s *Service) storePassword(ctx context.Context, tenantID, id uuid.UUID, pw string, old **string) error {
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	p := db.SetPasswordHashParams{TenantID: tenantID, ID: id, PasswordHash: &hash, CheckOld: old != nil}
	if old != nil {
		p.OldHash = *old
	}
	_, err = s.store.q.SetPasswordHash(ctx, p)
	if errors.Is(err, pgx.ErrNoRows) && old != nil {
		if _, err := s.store.user(ctx, tenantID, id); err != nil {
			return err
		}
		return problem.Conflict("the password was changed meanwhile; try again with the current one")
	}
	return notFoundOr(err, "user %s not found", id)
}

// Profiles

// Profile reads a user's profile.
func (s *Service) Profile(ctx context.Context, tenantID, userID uuid.UUID) (Profile, error) {
	return s.store.profile(ctx, tenantID, userID)
}

// UpdateProfile applies a validated patch if the profile's version is one of expected.
func (s *Service) UpdateProfile(ctx context.Context, tenantID, userID uuid.UUID, p ProfilePatch, expected []int64) (Profile, error) {
	return s.store.updateProfile(ctx, tenantID, userID, p, expected)
}

// Self-service: the principal's own account.

// me returns the signed-in user's ids: the token's user in the token's
// tenant, the only account these operations reach. A machine client's token
// (or a service's) names no user: that is 403, not 404, because no id of
// anyone else's is involved, so there is nothing to hide and the caller
// learns what it lacks: a user's token. A user the tenant no longer has is 404.
func me(ctx context.Context) (tenantID, userID uuid.UUID, err error) {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return uuid.Nil, uuid.Nil, problem.New(problem.KindUnauthorized, "this operation needs a user's access token")
	}
	if p.UserID == nil {
		return uuid.Nil, uuid.Nil, problem.New(problem.KindForbidden, "this operation is for users; a client's token names no user")
	}
	return p.TenantID, *p.UserID, nil
}

// Me is the signed-in user's account.
type Me struct {
	User        User
	Profile     Profile
	Roles       []Assignment
	Permissions Effective
}

// maxListedRoles bounds the roles /me lists; /users/{id}/roles pages through all.
const maxListedRoles = 500

// Me reads the signed-in user's account.
func (s *Service) Me(ctx context.Context) (Me, error) {
	tenantID, userID, err := me(ctx)
	if err != nil {
		return Me{}, err
	}
	var m Me
	if m.User, err = s.store.user(ctx, tenantID, userID); err != nil {
		return Me{}, err
	}
	if m.Profile, err = s.store.profile(ctx, tenantID, userID); err != nil {
		return Me{}, err
	}
	if m.Roles, err = s.assignments(ctx, tenantID, userID, nil, maxListedRoles); err != nil {
		return Me{}, err
	}
	m.Permissions, err = s.store.effective(ctx, tenantID, userID)
	return m, err
}

// UpdateMyProfile changes the signed-in user's profile.
func (s *Service) UpdateMyProfile(ctx context.Context, p ProfilePatch, expected []int64) (Profile, error) {
	tenantID, userID, err := me(ctx)
	if err != nil {
		return Profile{}, err
	}
	return s.store.updateProfile(ctx, tenantID, userID, p, expected)
}

// ChangeMyPassword replaces the signed-in user's password after checking the
// current one.
func (s *Service) ChangeMyPassword(ctx context.Context, current, next string) error {
	tenantID, userID, err := me(ctx)
	if err != nil {
		return err
	}
	if err := password.Check("body.new_password", next); err != nil {
		return err
	}
	row, err := s.store.userRow(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	if UserStatus(row.Status) != UserActive {
		return problem.New(problem.KindForbidden, "the account is %s", row.Status)
	}
	wrong := problem.Field("body.current_password", "is not the current password")
	if row.PasswordHash == nil {
		if err := s.hasher.VerifyDummy(ctx, current); err != nil {
			return err
		}
		return wrong
	}
	ok, _, err := s.hasher.Verify(ctx, current, *row.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return wrong
	}
	return s.storePassword(ctx, tenantID, userID, next, &row.PasswordHash)
}

// Credentials

// CheckCredentials signs a user in: it answers the user with roles and
// effective permissions, or errBadCredentials. Every failure costs one
// password hash, as success does, so neither the answer nor its timing says
// whether the email exists or the account is disabled.
func (s *Service) CheckCredentials(ctx context.Context, tenantID uuid.UUID, email, pw string) (Login, error) {
	// A deleted tenant's users do not sign in; they fail like unknown ones.
	err := s.dir.TenantExists(ctx, tenantID)
	if err != nil && !problem.Is(err, problem.KindNotFound) {
		return Login{}, err
	}
	var row db.UamUser
	if err == nil {
		row, err = s.store.q.GetUserByEmail(ctx, db.GetUserByEmailParams{TenantID: tenantID, Email: strings.TrimSpace(email)})
	} else {
		err = pgx.ErrNoRows
	}
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && row.PasswordHash == nil) {
		if err := s.hasher.VerifyDummy(ctx, pw); err != nil {
			return Login{}, err
		}
		return Login{}, errBadCredentials
	}
	if err != nil {
		return Login{}, classify(err)
	}
	ok, rehash, err := s.hasher.Verify(ctx, pw, *row.PasswordHash)
	if err != nil {
		return Login{}, err
	}
	if !ok || UserStatus(row.Status) != UserActive {
		return Login{}, errBadCredentials
	}
	if rehash {
		s.upgradeHash(ctx, row, pw)
	}
	// The user, stamped, with roles and effective permissions: one write and
	// one query (UserGrant's). A user deleted since the check fails like an
	// unknown one.
	err = s.store.recordLogin(ctx, tenantID, row.ID)
	var l Login
	if err == nil {
		l, err = s.store.grant(ctx, tenantID, row.ID)
	}
	if problem.Is(err, problem.KindNotFound) {
		return Login{}, errBadCredentials
	}
	return l, err
}

// UserGrant is what a user may do now, for the IAM service refreshing a
// session: like a credential check without the password, and whatever the
// user's status (IAM decides what a disabled user's session is worth). A
// user of a tenant that no longer exists is not found, as it cannot sign in.
func (s *Service) UserGrant(ctx context.Context, tenantID, userID uuid.UUID) (Login, error) {
	if err := s.dir.TenantExists(ctx, tenantID); err != nil {
		return Login{}, err
	}
	// One query for the user, its roles and its permissions (this runs on
	// every refresh), answering as login does.
	return s.store.grant(ctx, tenantID, userID)
}

// upgradeHash re-hashes a password checked against older parameters. It is
// best effort: the sign-in succeeds either way, and a password changed in the
// meantime is never overwritten (the update matches the old hash).
func (s *Service) upgradeHash(ctx context.Context, row db.UamUser, pw string) {
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return
	}
	_, _ = s.store.q.UpgradePasswordHash(ctx, db.UpgradePasswordHashParams{TenantID: row.TenantID, ID: row.ID,
		NewHash: &hash, OldHash: row.PasswordHash})
}

// Roles

// RoleChange is a role create or update; nil fields are absent.
type RoleChange struct {
	Name        *string
	Description *string
	Permissions *[]string
}

// ParseRole validates a role create or update.
func ParseRole(in RoleChange) (RoleChange, error) {
	var errs fields
	var c RoleChange
	if in.Name != nil {
		n, err := parseRoleName("body.name", *in.Name)
		errs.add(err)
		c.Name = &n
	}
	var err error
	c.Description, err = parseDescription("body.description", in.Description)
	errs.add(err)
	if in.Permissions != nil {
		// The spec refuses repeated names (uniqueItems), so each is checked once.
		for i, p := range *in.Permissions {
			_, err := parsePermissionName(fmt.Sprintf("body.permissions.%d", i), p)
			errs.add(err)
		}
		c.Permissions = in.Permissions
	}
	return c, errs.err()
}

// CreateRole creates a role of an existing tenant with its permissions.
func (s *Service) CreateRole(ctx context.Context, tenantID uuid.UUID, c RoleChange) (Role, error) {
	if c.Name == nil {
		return Role{}, problem.Field("body.name", "is required")
	}
	if err := s.dir.TenantExists(ctx, tenantID); err != nil {
		return Role{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Role{}, err
	}
	var role Role
	err = s.store.inTx(ctx, func(q *db.Queries) error {
		_, err := q.CreateRole(ctx, db.CreateRoleParams{ID: id, TenantID: &tenantID, Name: *c.Name, Description: deref(c.Description)})
		if errors.Is(err, pgx.ErrNoRows) {
			return problem.Conflict("%q is the name of a built-in role", *c.Name)
		}
		if err != nil {
			return classify(err)
		}
		if c.Permissions != nil {
			if err := s.grant(ctx, q, tenantID, id, *c.Permissions); err != nil {
				return err
			}
		}
		if role, err = s.store.role(ctx, q, tenantID, id); err != nil {
			return err
		}
		return mayGrant(ctx, tenantID, role.Permissions, nil)
	})
	return role, err
}

// grant adds permissions to a role; each name the tenant cannot grant is a
// field error.
func (s *Service) grant(ctx context.Context, q *db.Queries, tenantID, roleID uuid.UUID, names []string) error {
	if len(names) == 0 {
		return nil
	}
	rows, err := q.GrantablePermissions(ctx, db.GrantablePermissionsParams{Names: names, TenantID: &tenantID,
		AllowPlatform: s.opts.PlatformTenantID != uuid.Nil && tenantID == s.opts.PlatformTenantID})
	if err != nil {
		return err
	}
	found := map[string]bool{}
	for _, r := range rows {
		found[r.Name] = true
	}
	if len(found) < len(names) {
		var errs fields
		for i, n := range names {
			if !found[n] {
				errs.field(fmt.Sprintf("body.permissions.%d", i), fmt.Sprintf("%q is not a permission this tenant can grant", n))
			}
		}
		return errs.err()
	}
	ids := mapRows(rows, func(r db.GrantablePermissionsRow) uuid.UUID { return r.ID })
	return q.AddRolePermissions(ctx, db.AddRolePermissionsParams{RoleID: roleID, PermissionIds: ids})
}

// Role reads a role of the tenant or a built-in one.
func (s *Service) Role(ctx context.Context, tenantID, id uuid.UUID) (Role, error) {
	// Built-in roles exist in every tenant, but not in one that does not exist.
	if err := s.dir.TenantExists(ctx, tenantID); err != nil {
		return Role{}, err
	}
	return s.store.role(ctx, s.store.q, tenantID, id)
}

// Roles lists the built-in roles, then the tenant's, after the given id.
func (s *Service) Roles(ctx context.Context, tenantID uuid.UUID, after *uuid.UUID, limit int) ([]Role, error) {
	if err := s.dir.TenantExists(ctx, tenantID); err != nil {
		return nil, err
	}
	rows, err := s.store.q.ListRoles(ctx, db.ListRolesParams{TenantID: &tenantID, After: after, RowLimit: int32(limit)})
	if err != nil {
		return nil, err
	}
	return s.store.rolesWithPermissions(ctx, s.store.q, tenantID, rows)
}

// changeRole runs fn on a locked, changeable role whose version is one of
// expected, then bumps the version and answers the role as it is now. A
// change that grants (fn adds permissions) must leave a role the caller may
// grant in full (mayGrant), or it is rolled back.
func (s *Service) changeRole(ctx context.Context, tenantID, id uuid.UUID, expected []int64, c RoleChange,
	grants bool, fn func(q *db.Queries) error) (Role, error) {
	if err := s.dir.TenantExists(ctx, tenantID); err != nil {
		return Role{}, err
	}
	var role Role
	err := s.store.inTx(ctx, func(q *db.Queries) error {
		locked, err := q.LockRole(ctx, db.LockRoleParams{TenantID: &tenantID, ID: id})
		if err != nil {
			return notFoundOr(err, "role %s not found", id)
		}
		if locked.TenantID == nil {
			return problem.Conflict("built-in roles cannot be changed")
		}
		if !etag.Matches(expected, locked.Version) {
			return etag.Stale()
		}
		before, err := s.store.role(ctx, q, tenantID, id)
		if err != nil {
			return err
		}
		_, err = q.UpdateRole(ctx, db.UpdateRoleParams{TenantID: &tenantID, ID: id, Name: c.Name, Description: c.Description})
		if errors.Is(err, pgx.ErrNoRows) {
			return problem.Conflict("%q is the name of a built-in role", *c.Name)
		}
		if err != nil {
			return classify(err)
		}
		if fn != nil {
			if err := fn(q); err != nil {
				return err
			}
		}
		if role, err = s.store.role(ctx, q, tenantID, id); err != nil {
			return err
		}
		if err := mayRevoke(ctx, tenantID, authn.PlatformLevelTakenAway(before.Permissions, role.Permissions)); err != nil || !grants {
			return err
		}
		return mayGrant(ctx, tenantID, role.Permissions, nil)
	})
	return role, err
}

// UpdateRole changes a role; Permissions, when present, replaces the set.
func (s *Service) UpdateRole(ctx context.Context, tenantID, id uuid.UUID, c RoleChange, expected []int64) (Role, error) {
	return s.changeRole(ctx, tenantID, id, expected, c, c.Permissions != nil, func(q *db.Queries) error {
		if c.Permissions == nil {
			return nil
		}
		if err := q.ClearRolePermissions(ctx, id); err != nil {
			return err
		}
		return s.grant(ctx, q, tenantID, id, *c.Permissions)
	})
}

// AddRolePermission adds one permission to a role's set.
func (s *Service) AddRolePermission(ctx context.Context, tenantID, roleID uuid.UUID, name string, expected []int64) (Role, error) {
	return s.changeRole(ctx, tenantID, roleID, expected, RoleChange{}, true, func(q *db.Queries) error {
		err := s.grant(ctx, q, tenantID, roleID, []string{name})
		if problem.Is(err, problem.KindInvalid) {
			return problem.NotFound("permission %q not found (or not grantable in this tenant)", name)
		}
		return err
	})
}

// RemoveRolePermission removes one permission from a role's set.
func (s *Service) RemoveRolePermission(ctx context.Context, tenantID, roleID uuid.UUID, name string, expected []int64) (Role, error) {
	return s.changeRole(ctx, tenantID, roleID, expected, RoleChange{}, false, func(q *db.Queries) error {
		rows, err := q.GrantablePermissions(ctx, db.GrantablePermissionsParams{Names: []string{name}, TenantID: &tenantID, AllowPlatform: true})
		if err != nil || len(rows) == 0 {
			return err // not a permission: nothing to remove
		}
		return q.RemoveRolePermission(ctx, db.RemoveRolePermissionParams{RoleID: roleID, PermissionID: rows[0].ID})
	})
}

// DeleteRole deletes a tenant's role and its assignments. A role holding a
// platform-level permission may be deleted only by a holder of it
// (mayRevoke).
func (s *Service) DeleteRole(ctx context.Context, tenantID, id uuid.UUID, expected []int64) error {
	if err := s.mayRevokeRole(ctx, tenantID, id); err != nil {
		return err
	}
	n, err := s.store.q.DeleteRole(ctx, db.DeleteRoleParams{TenantID: &tenantID, ID: id, ExpectedVersions: expected})
	if err != nil || n > 0 {
		return classify(err)
	}
	role, err := s.Role(ctx, tenantID, id)
	switch {
	case err != nil:
		return err
	case role.BuiltIn():
		return problem.Conflict("built-in roles cannot be deleted")
	}
	return etag.Stale()
}

// Permissions

// BuiltinPermissions lists the platform's catalogue in name order.
func (s *Service) BuiltinPermissions(ctx context.Context, after *string, limit int) ([]Permission, error) {
	rows, err := s.store.q.ListBuiltinPermissions(ctx, db.ListBuiltinPermissionsParams{After: after, RowLimit: int32(limit)})
	return mapRows(rows, permissionFromRow), err
}

// TenantPermissions lists a tenant's own permissions in name order.
func (s *Service) TenantPermissions(ctx context.Context, tenantID uuid.UUID, after *string, limit int) ([]Permission, error) {
	if err := s.dir.TenantExists(ctx, tenantID); err != nil {
		return nil, err
	}
	rows, err := s.store.q.ListTenantPermissions(ctx, db.ListTenantPermissionsParams{TenantID: &tenantID, After: after, RowLimit: int32(limit)})
	return mapRows(rows, permissionFromRow), err
}

// CreatePermission adds a permission to a tenant's catalogue.
func (s *Service) CreatePermission(ctx context.Context, tenantID uuid.UUID, name string, description *string) (Permission, error) {
	if err := s.dir.TenantExists(ctx, tenantID); err != nil {
		return Permission{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Permission{}, err
	}
	row, err := s.store.q.CreatePermission(ctx, db.CreatePermissionParams{ID: id, TenantID: &tenantID, Name: name, Description: deref(description)})
	if errors.Is(err, pgx.ErrNoRows) {
		return Permission{}, problem.Conflict("%q is a built-in permission", name)
	}
	return permissionFromRow(row), classify(err)
}

// Permission reads one of a tenant's own permissions.
func (s *Service) Permission(ctx context.Context, tenantID uuid.UUID, name string) (Permission, error) {
	row, err := s.store.q.GetTenantPermission(ctx, db.GetTenantPermissionParams{TenantID: &tenantID, Name: name})
	return permissionFromRow(row), notFoundOr(err, "permission %q not found in this tenant", name)
}

// UpdatePermission changes a tenant permission's description.
func (s *Service) UpdatePermission(ctx context.Context, tenantID uuid.UUID, name string, description *string, expected []int64) (Permission, error) {
	row, err := s.store.q.UpdatePermission(ctx, db.UpdatePermissionParams{TenantID: &tenantID, Name: name, Description: description, ExpectedVersions: expected})
	if errors.Is(err, pgx.ErrNoRows) {
		return Permission{}, missed(func() error { _, err := s.Permission(ctx, tenantID, name); return err })
	}
	return permissionFromRow(row), classify(err)
}

// DeletePermission deletes a tenant permission; roles holding it lose it.
func (s *Service) DeletePermission(ctx context.Context, tenantID uuid.UUID, name string, expected []int64) error {
	n, err := s.store.q.DeletePermission(ctx, db.DeletePermissionParams{TenantID: &tenantID, Name: name, ExpectedVersions: expected})
	if err != nil || n > 0 {
		return classify(err)
	}
	return missed(func() error { _, err := s.Permission(ctx, tenantID, name); return err })
}

// Assignments

// Assign gives a user a role, tenant-wide or on one site of the tenant;
// created says whether it is new. The caller must hold what the role grants,
// in that scope (mayGrant).
func (s *Service) Assign(ctx context.Context, tenantID, userID, roleID uuid.UUID, siteID *uuid.UUID) (a Assignment, created bool, err error) {
	if siteID != nil {
		owner, err := s.dir.SiteTenant(ctx, *siteID)
		if problem.Is(err, problem.KindNotFound) || (err == nil && owner != tenantID) {
			return Assignment{}, false, problem.Field("query.site_id", "no such site in this tenant")
		}
		if err != nil {
			return Assignment{}, false, err
		}
	}
	role, err := s.store.role(ctx, s.store.q, tenantID, roleID)
	if err != nil {
		return Assignment{}, false, err
	}
	if err := mayGrant(ctx, tenantID, role.Permissions, siteID); err != nil {
		return Assignment{}, false, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Assignment{}, false, err
	}
	row, err := s.store.q.AssignRole(ctx, db.AssignRoleParams{TenantID: tenantID, ID: id, UserID: userID, RoleID: roleID, SiteID: siteID})
	if errors.Is(err, pgx.ErrNoRows) {
		// Which one is missing decides the message; both are 404.
		if _, err := s.store.user(ctx, tenantID, userID); err != nil {
			return Assignment{}, false, err
		}
		return Assignment{}, false, problem.NotFound("role %s not found", roleID)
	}
	if err != nil {
		return Assignment{}, false, classify(err)
	}
	return Assignment{ID: row.ID, TenantID: row.TenantID, UserID: row.UserID, RoleID: row.RoleID, RoleName: row.RoleName,
		SiteID: row.SiteID, CreatedAt: row.CreatedAt}, row.Created, nil
}

// Unassign removes a user's role in one scope. A role holding a
// platform-level permission may be taken away only by a holder of it
// (mayRevoke).
func (s *Service) Unassign(ctx context.Context, tenantID, userID, roleID uuid.UUID, siteID *uuid.UUID) error {
	if err := s.mayRevokeRole(ctx, tenantID, roleID); err != nil {
		return err
	}
	n, err := s.store.q.UnassignRole(ctx, db.UnassignRoleParams{TenantID: tenantID, UserID: userID, RoleID: roleID, SiteID: siteID})
	if err != nil {
		return classify(err)
	}
	if n == 0 {
		return problem.NotFound("the user does not hold role %s in this scope", roleID)
	}
	return nil
}

// mayGrant is the one rule against privilege escalation: a caller may give
// only permissions it holds itself. Whoever may write roles or assign them
// could otherwise hand themselves, or an accomplice, anything the tenant has,
// tenant-admin included. So assigning a role, and creating or changing a role
// with permissions, needs every permission in perms (all that the role grants,
// or will grant once changed) held in scope: on site, where tenant-wide
// permissions and those granted on that site count, or tenant-wide (site nil),
// as for a role's own set, which may be assigned tenant-wide later. Only the
// role as a whole counts, not what a change adds: a role cannot be grown by
// someone who could not have made it. What the caller holds is what its
// access token says; permissions granted since count from its next token.
//
// A platform administrator acting in another tenant is exempt: it holds the
// platform tenant's permissions, never another tenant's own, and it must be
// able to give a tenant its first administrator. Within its own tenant the
// rule holds for it as for anyone: there it grants from what it holds, as
// every member of the platform tenant does. A request without a principal
// grants nothing.
func mayGrant(ctx context.Context, tenantID uuid.UUID, perms []string, site *uuid.UUID) error {
	return holdsAll(ctx, tenantID, perms, site, "the role grants %s, which you do not hold %s: you may grant only permissions you hold")
}

// mayRevoke is mayGrant's counterpart for the platform-level permissions
// (authn.PlatformPermissions; tenants:write is the one a person holds):
// taking one away, from a role's set, by deleting a role that holds it or by
// unassigning such a role, needs holding it too. Only its holders may grant
// it, and holding it is what makes a platform administrator (authz), so a
// platform-tenant member with roles:write or roles:assign alone could
// otherwise strip it from every administrator, and no one could give it back
// short of editing the database. Tenant-level permissions are left to the
// ordinary rules: the tenant's administrators can always grant them again.
// taken are the platform-level permissions a change takes away
// (authn.PlatformLevelTakenAway).
func mayRevoke(ctx context.Context, tenantID uuid.UUID, taken []string) error {
	if len(taken) == 0 {
		return nil
	}
	return holdsAll(ctx, tenantID, taken, nil, "taking away %s needs holding it %s: only its holders may take a platform-level permission from others")
}

// mayRevokeRole is mayRevoke for taking a whole role away (deleting it,
// unassigning it). A role that does not exist takes nothing away; the
// operation itself then answers 404.
func (s *Service) mayRevokeRole(ctx context.Context, tenantID, roleID uuid.UUID) error {
	role, err := s.Role(ctx, tenantID, roleID)
	if problem.Is(err, problem.KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return mayRevoke(ctx, tenantID, authn.PlatformLevelTakenAway(role.Permissions, nil))
}

// mayManage applies the same rule to taking over a user: resetting the
// password, changing the email or the status, or deleting a user needs every
// permission the user holds, tenant-wide and on each site, or whoever holds
// users:write could reset an administrator's password and sign in as them.
func (s *Service) mayManage(ctx context.Context, tenantID, userID uuid.UUID) error {
	held, err := s.store.effective(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	const why = "the user holds %s, which you do not hold %s: you may manage only users who hold no more than you"
	if err := holdsAll(ctx, tenantID, held.TenantWide, nil, why); err != nil {
		return err
	}
	for _, site := range held.Sites {
		if err := holdsAll(ctx, tenantID, site.Permissions, &site.SiteID, why); err != nil {
			return err
		}
	}
	return nil
}

// holdsAll is mayGrant's rule for any set of permissions; refusal names the
// first one missing through format (permission, scope).
func holdsAll(ctx context.Context, tenantID uuid.UUID, perms []string, site *uuid.UUID, format string) error {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return problem.New(problem.KindUnauthorized, "granting permissions needs an access token")
	}
	if p.TenantID != tenantID && authz.PlatformAdmin(ctx) {
		return nil
	}
	scope := "tenant-wide"
	if site != nil {
		scope = "tenant-wide or on site " + site.String()
	}
	for _, perm := range perms {
		if !p.Has(perm, site) {
			return problem.New(problem.KindForbidden, format, perm, scope)
		}
	}
	return nil
}

// Assignments lists a user's roles in the order they were assigned.
func (s *Service) Assignments(ctx context.Context, tenantID, userID uuid.UUID, after *uuid.UUID, limit int) ([]Assignment, error) {
	if _, err := s.store.user(ctx, tenantID, userID); err != nil {
		return nil, err
	}
	return s.assignments(ctx, tenantID, userID, after, limit)
}

func (s *Service) assignments(ctx context.Context, tenantID, userID uuid.UUID, after *uuid.UUID, limit int) ([]Assignment, error) {
	rows, err := s.store.q.ListAssignments(ctx, db.ListAssignmentsParams{TenantID: tenantID, UserID: userID, After: after, RowLimit: int32(limit)})
	return mapRows(rows, func(r db.ListAssignmentsRow) Assignment {
		return Assignment{ID: r.ID, TenantID: r.TenantID, UserID: r.UserID, RoleID: r.RoleID, RoleName: r.RoleName,
			SiteID: r.SiteID, CreatedAt: r.CreatedAt}
	}), err
}

// Effective reads a user's effective permissions.
func (s *Service) Effective(ctx context.Context, tenantID, userID uuid.UUID) (Effective, error) {
	if _, err := s.store.user(ctx, tenantID, userID); err != nil {
		return Effective{}, err
	}
	return s.store.effective(ctx, tenantID, userID)
}
