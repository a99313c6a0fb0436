package uam

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	db "github.com/saasplatform/saas/gen/db/uam"
	"github.com/saasplatform/saas/internal/platform/etag"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/problem"
)

// constraints translates the database's verdicts (the source of truth for
// uniqueness and ownership) into client errors; nothing is checked first.
var constraints = pg.Constraints{
	"users_email_key":             problem.Conflict("a user with this email already exists in the tenant"),
	"roles_tenant_name_key":       problem.Conflict("a role with this name already exists in the tenant"),
	"permissions_tenant_name_key": problem.Conflict("a permission with this name already exists in the tenant"),
}

func classify(err error) error { return constraints.Classify(err) }

// store adapts the sqlc queries to the domain model.
type store struct {
	pool *pgxpool.Pool
	q    *db.Queries
}

func newStore(pool *pgxpool.Pool) *store { return &store{pool: pool, q: db.New(pool)} }

// inTx runs fn with queries bound to one transaction.
func (s *store) inTx(ctx context.Context, fn func(q *db.Queries) error) error {
	return pg.InTx(ctx, s.pool, func(tx pgx.Tx) error { return fn(s.q.WithTx(tx)) })
}

func userFromRow(r db.UamUser) User {
	return User{ID: r.ID, TenantID: r.TenantID, Email: r.Email, EmailVerified: r.EmailVerified,
		Status: UserStatus(r.Status), HasPassword: r.PasswordHash != nil, Version: r.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, LastLoginAt: r.LastLoginAt, SecurityStamp: r.SecurityStamp}
}

func profileFromRow(r db.UamProfile) Profile {
	return Profile{UserID: r.UserID, TenantID: r.TenantID, DisplayName: r.DisplayName, GivenName: r.GivenName,
		FamilyName: r.FamilyName, AvatarURL: r.AvatarUrl, Locale: r.Locale, Timezone: r.Timezone, Phone: r.Phone,
		Metadata: r.Metadata, Version: r.Version, UpdatedAt: r.UpdatedAt}
}

func permissionFromRow(r db.UamPermission) Permission {
	return Permission{Name: r.Name, Description: r.Description, BuiltIn: r.TenantID == nil, Level: r.Level,
		TenantID: r.TenantID, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func roleFromRow(r db.UamRole, perms []string) Role {
	if perms == nil {
		perms = []string{}
	}
	return Role{ID: r.ID, TenantID: r.TenantID, Name: r.Name, Description: r.Description, Permissions: perms,
		Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func mapRows[R, D any](rows []R, f func(R) D) []D {
	out := make([]D, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}

// notFoundOr turns "no rows" into a not-found problem with the given detail.
func notFoundOr(err error, format string, args ...any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return problem.NotFound(format, args...)
	}
	return classify(err)
}

// missed explains why a conditional write touched nothing: the row is gone
// (404) or its version moved on (412). exists re-reads the row.
func missed(exists func() error) error {
	if err := exists(); err != nil {
		return err
	}
	return etag.Stale()
}

// recordLogin stamps last_login_at without waiting for the commit to reach
// disk: every sign-in writes it, and a crash losing the last few stamps loses
// nothing that matters, while a synchronous flush per sign-in would cap the
// sign-in rate at the disk's flush rate. A user gone meanwhile is not found.
func (s *store) recordLogin(ctx context.Context, tenantID, id uuid.UUID) error {
	n, err := s.q.RecordLogin(ctx, db.RecordLoginParams{TenantID: tenantID, ID: id})
	if err == nil && n == 0 {
		err = pgx.ErrNoRows
	}
	return notFoundOr(err, "user %s not found", id)
}

// userRow reads a user with its password hash, for the password operations.
func (s *store) userRow(ctx context.Context, tenantID, id uuid.UUID) (db.UamUser, error) {
	row, err := s.q.GetUser(ctx, db.GetUserParams{TenantID: tenantID, ID: id})
	return row, notFoundOr(err, "user %s not found", id)
}

// grant reads a user with role names and effective permissions in one
// query (what user and effective answer, and the role names), for a
// sign-in (CheckCredentials) and for UserGrant.
func (s *store) grant(ctx context.Context, tenantID, id uuid.UUID) (Login, error) {
	row, err := s.q.UserGrant(ctx, db.UserGrantParams{TenantID: tenantID, UserID: id})
	if err != nil {
		return Login{}, notFoundOr(err, "user %s not found", id)
	}
	l := Login{User: userFromRow(row.UamUser), Roles: row.RoleNames,
		Permissions: Effective{TenantWide: row.TenantWide, Sites: []SitePermissions{}}}
	if l.Roles == nil {
		l.Roles = []string{}
	}
	if l.Permissions.TenantWide == nil {
		l.Permissions.TenantWide = []string{}
	}
	if len(row.SiteIds) != len(row.SiteNames) {
		return Login{}, fmt.Errorf("uam: grant of user %s: %d site ids for %d names", id, len(row.SiteIds), len(row.SiteNames))
	}
	var tenantWide map[string]bool
	if len(row.SiteIds) > 0 {
		tenantWide = make(map[string]bool, len(row.TenantWide))
		for _, n := range row.TenantWide {
			tenantWide[n] = true
		}
	}
	e := &l.Permissions
	for i, site := range row.SiteIds { // ordered by site, then name
		name := row.SiteNames[i]
		if tenantWide[name] {
			continue // a site adds only what the tenant-wide roles lack
		}
		if n := len(e.Sites); n == 0 || e.Sites[n-1].SiteID != site {
			e.Sites = append(e.Sites, SitePermissions{SiteID: site})
		}
		last := &e.Sites[len(e.Sites)-1]
		last.Permissions = append(last.Permissions, name)
	}
	return l, nil
}

func (s *store) user(ctx context.Context, tenantID, id uuid.UUID) (User, error) {
	row, err := s.userRow(ctx, tenantID, id)
	return userFromRow(row), err
}

func (s *store) profile(ctx context.Context, tenantID, userID uuid.UUID) (Profile, error) {
	row, err := s.q.GetProfile(ctx, db.GetProfileParams{TenantID: tenantID, UserID: userID})
	return profileFromRow(row), notFoundOr(err, "user %s not found", userID)
}

func (s *store) updateProfile(ctx context.Context, tenantID, userID uuid.UUID, p ProfilePatch, expected []int64) (Profile, error) {
	row, err := s.q.UpdateProfile(ctx, db.UpdateProfileParams{TenantID: tenantID, UserID: userID,
		DisplayName: p.DisplayName, GivenName: p.GivenName, FamilyName: p.FamilyName, AvatarUrl: p.AvatarURL,
		Locale: p.Locale, Timezone: p.Timezone, Phone: p.Phone, Metadata: p.Metadata, ExpectedVersions: expected})
	if errors.Is(err, pgx.ErrNoRows) {
		return Profile{}, missed(func() error { _, err := s.profile(ctx, tenantID, userID); return err })
	}
	return profileFromRow(row), classify(err)
}

// rolesWithPermissions attaches each role's permission names, in one query
// for the whole page.
func (s *store) rolesWithPermissions(ctx context.Context, q *db.Queries, tenantID uuid.UUID, rows []db.UamRole) ([]Role, error) {
	ids := mapRows(rows, func(r db.UamRole) uuid.UUID { return r.ID })
	names, err := q.RolePermissionNames(ctx, db.RolePermissionNamesParams{TenantID: tenantID, RoleIds: ids})
	if err != nil {
		return nil, err
	}
	byRole := map[uuid.UUID][]string{}
	for _, n := range names {
		byRole[n.RoleID] = append(byRole[n.RoleID], n.Name)
	}
	return mapRows(rows, func(r db.UamRole) Role { return roleFromRow(r, byRole[r.ID]) }), nil
}

func (s *store) role(ctx context.Context, q *db.Queries, tenantID, id uuid.UUID) (Role, error) {
	row, err := q.GetRole(ctx, db.GetRoleParams{TenantID: &tenantID, ID: id})
	if err != nil {
		return Role{}, notFoundOr(err, "role %s not found", id)
	}
	roles, err := s.rolesWithPermissions(ctx, q, tenantID, []db.UamRole{row})
	if err != nil {
		return Role{}, err
	}
	return roles[0], nil
}

// effective reads what a user's roles grant, tenant-wide and per site.
func (s *store) effective(ctx context.Context, tenantID, userID uuid.UUID) (Effective, error) {
	rows, err := s.q.EffectivePermissions(ctx, db.EffectivePermissionsParams{TenantID: tenantID, UserID: userID})
	if err != nil {
		return Effective{}, err
	}
	e := Effective{TenantWide: []string{}, Sites: []SitePermissions{}}
	tenantWide := map[string]bool{}
	for _, r := range rows { // ordered: tenant-wide first, then by site
		if r.SiteID == nil {
			e.TenantWide = append(e.TenantWide, r.Name)
			tenantWide[r.Name] = true
			continue
		}
		if tenantWide[r.Name] {
			continue // a site adds only what the tenant-wide roles lack
		}
		if n := len(e.Sites); n == 0 || e.Sites[n-1].SiteID != *r.SiteID {
			e.Sites = append(e.Sites, SitePermissions{SiteID: *r.SiteID})
		}
		last := &e.Sites[len(e.Sites)-1]
		last.Permissions = append(last.Permissions, r.Name)
	}
	return e, nil
}
