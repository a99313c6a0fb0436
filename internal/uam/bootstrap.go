package uam

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/google/uuid"

	db "github.com/saasplatform/saas/gen/db/uam"
	"github.com/saasplatform/saas/internal/uam/password"
)

// Fixed ids of what Bootstrap creates, so that every replica racing to
// bootstrap writes the same rows and all but one find them there.
var (
	tenantAdminRoleID   = uuid.MustParse("00000000-0000-7000-8000-000000000201")
	platformAdminRoleID = uuid.MustParse("00000000-0000-7000-8000-000000000301")
)

// PlatformAdminRole is the role Bootstrap gives the first administrator
// beside tenant-admin: the platform-level permissions a person may hold.
const PlatformAdminRole = "platform-admin"

// Bootstrap gives a platform tenant without users its first administrator:
// a user with email and password holding tenant-admin (every tenant-level
// permission) and platform-admin (tenants:write, which makes the holder a
// platform administrator: its tenant-level permissions then reach every
// tenant). An empty password means a generated one,
// which is returned so that the caller can show it once. A tenant that has
// any user already is left alone (created is false): the administrator may
// since have been renamed or replaced, and a restart must not undo that.
func (s *Service) Bootstrap(ctx context.Context, tenantID uuid.UUID, email, pw string) (generated string, created bool, err error) {
	// Checked first: the settings only matter, and are only validated, on a
	// tenant that has no user yet.
	if users, err := s.store.q.ListUsers(ctx, db.ListUsersParams{TenantID: tenantID, RowLimit: 1}); err != nil || len(users) > 0 {
		return "", false, err
	}
	if email, err = ParseEmail("SAAS_BOOTSTRAP_ADMIN_EMAIL", email); err != nil {
		return "", false, err
	}
	if pw == "" {
		generated = rand.Text() // 26 base32 characters: 130 bits
		pw = generated
	} else if err := password.Check("SAAS_BOOTSTRAP_ADMIN_PASSWORD", pw); err != nil {
		return "", false, err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return "", false, err
	}
	err = s.store.inTx(ctx, func(q *db.Queries) error {
		// Under the advisory lock of the tenant's first user, checked again:
		// replicas starting together create one administrator.
		if err := q.LockTenantBootstrap(ctx, tenantID); err != nil {
			return err
		}
		if users, err := q.ListUsers(ctx, db.ListUsersParams{TenantID: tenantID, RowLimit: 1}); err != nil || len(users) > 0 {
			return errors.Join(err, errBootstrapped)
		}
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		if _, err := q.CreateUser(ctx, db.CreateUserParams{TenantID: tenantID, ID: id, Email: email,
			EmailVerified: true, Status: string(UserActive), PasswordHash: &hash}); err != nil {
			return classify(err)
		}
		if _, err := q.CreateProfile(ctx, db.CreateProfileParams{TenantID: tenantID, UserID: id,
			DisplayName: "Platform administrator", Metadata: []byte("{}")}); err != nil {
			return classify(err)
		}
		if err := q.EnsureTenantRole(ctx, db.EnsureTenantRoleParams{ID: platformAdminRoleID, TenantID: &tenantID,
			Name: PlatformAdminRole, Description: "Platform-level permissions: creating and deleting tenants."}); err != nil {
			return classify(err)
		}
		if err := s.grant(ctx, q, tenantID, platformAdminRoleID, []string{"tenants:write"}); err != nil {
			return err
		}
		for _, role := range []uuid.UUID{tenantAdminRoleID, platformAdminRoleID} {
			aid, err := uuid.NewV7()
			if err != nil {
				return err
			}
			if _, err := q.AssignRole(ctx, db.AssignRoleParams{TenantID: tenantID, ID: aid, RoleID: role, UserID: id}); err != nil {
				return fmt.Errorf("assigning role %s: %w", role, classify(err))
			}
		}
		return nil
	})
	if errors.Is(err, errBootstrapped) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return generated, true, nil
}

var errBootstrapped = errors.New("the tenant has users already")
