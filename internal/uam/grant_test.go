package uam_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/uam/password"
)

func (e *env) grant(tenant, user uuid.UUID) *client.GetUserGrantResponse {
	e.t.Helper()
	r, err := e.c.GetUserGrantWithResponse(ctx, tenant, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// passwordStamp is the grant's password_changed_at.
func (e *env) passwordStamp(tenant, user uuid.UUID) *time.Time {
	e.t.Helper()
	r := e.grant(tenant, user)
	if r.JSON200 == nil {
		e.t.Fatalf("grant: %d %s", r.StatusCode(), r.Body)
	}
	return r.JSON200.PasswordChangedAt
}

// The grant answers what a credential check answers, without a password and
// whatever the user's status, so that IAM can end the sessions of a disabled
// user.
func TestUserGrantAnswersRolesPermissionsAndStatus(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	site := e.site(tenant)
	u := e.user(tenant, "ada@example.com", goodPassword)
	e.c.AssignRoleWithResponse(ctx, tenant, u.Id, viewerRole, nil)
	e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, &client.AssignRoleParams{SiteId: &site})

	r := e.grant(tenant, u.Id)
	if r.JSON200 == nil {
		t.Fatalf("grant: %d %s", r.StatusCode(), r.Body)
	}
	g := r.JSON200
	if g.User.Id != u.Id || g.User.Status != client.Active || !slices.Equal(g.Roles, []string{"editor", "viewer"}) ||
		!slices.Contains(g.Permissions.TenantWide, "users:read") || len(g.Permissions.Sites) != 1 ||
		g.Permissions.Sites[0].SiteId != site {
		t.Errorf("grant = %+v", g)
	}
	if check := e.check(tenant, "ada@example.com", goodPassword); check.JSON200 == nil ||
		!slices.Equal(check.JSON200.Roles, g.Roles) || !equalStamps(check.JSON200.PasswordChangedAt, g.PasswordChangedAt) {
		t.Errorf("the credential check and the grant disagree: %s vs %s", check.Body, r.Body)
	}

	e.c.UpdateUserWithResponse(ctx, tenant, u.Id, nil, client.UserUpdate{Status: ptr(client.Disabled)})
	if r := e.grant(tenant, u.Id); r.JSON200 == nil || r.JSON200.User.Status != client.Disabled {
		t.Errorf("disabled user's grant: %d %s", r.StatusCode(), r.Body)
	}
}

func TestUserGrantOfUnknownUserOrTenantIsNotFound(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	u := e.user(tenant, "ada@example.com", goodPassword)
	for name, ids := range map[string][2]uuid.UUID{
		"unknown user":   {tenant, uuid.Must(uuid.NewV7())},
		"another tenant": {e.tenant(), u.Id},
		"unknown tenant": {uuid.Must(uuid.NewV7()), u.Id},
	} {
		if r := e.grant(ids[0], ids[1]); r.StatusCode() != http.StatusNotFound {
			t.Errorf("%s: %d %s", name, r.StatusCode(), r.Body)
		}
	}
}

// password_changed_at moves whenever a password is set, by an administrator
// or by the user, and only then: a hash upgrade keeps the password.
func TestPasswordChangedAtMovesWithEveryPasswordChange(t *testing.T) {
	stronger := password.Params{Memory: password.DefaultParams().Memory, Time: 3, Threads: 1}
	e := newEnv(t, func(o *envOptions) { o.params = stronger })
	tenant := e.tenant()

	none := e.user(tenant, "nopw@example.com", "")
	if s := e.passwordStamp(tenant, none.Id); s != nil {
		t.Errorf("a user without a password has password_changed_at %v", s)
	}
	u := e.user(tenant, "ada@example.com", goodPassword)
	created := e.passwordStamp(tenant, u.Id)
	if created == nil {
		t.Fatal("no password_changed_at for a user created with a password")
	}

	e.c.UpdateUserWithResponse(ctx, tenant, u.Id, nil, client.UserUpdate{EmailVerified: ptr(true)})
	if s := e.passwordStamp(tenant, u.Id); !equalStamps(s, created) {
		t.Errorf("an update without a password moved the stamp: %v -> %v", created, s)
	}

	if r, _ := e.c.SetUserPasswordWithResponse(ctx, tenant, u.Id, client.PasswordSet{Password: "another fine passphrase"}); r.StatusCode() != http.StatusNoContent {
		t.Fatalf("set: %d %s", r.StatusCode(), r.Body)
	}
	reset := e.passwordStamp(tenant, u.Id)
	if reset == nil || !reset.After(*created) {
		t.Errorf("an administrator's reset left the stamp at %v (was %v)", reset, created)
	}

	me := e.as(tenant, u.Id)
	if r, _ := e.c.ChangeMyPasswordWithResponse(ctx, client.PasswordChange{CurrentPassword: "another fine passphrase",
		NewPassword: goodPassword}, me); r.StatusCode() != http.StatusNoContent {
		t.Fatalf("change: %d %s", r.StatusCode(), r.Body)
	}
	changed := e.passwordStamp(tenant, u.Id)
	if changed == nil || !changed.After(*reset) {
		t.Errorf("the user's own change left the stamp at %v (was %v)", changed, reset)
	}

	// A hash made with older parameters is upgraded on sign-in: the same
	// password, so the same stamp.
	old, err := password.NewHasher(password.DefaultParams(), 1, 0).Hash(ctx, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, "UPDATE uam.users SET password_hash = $1 WHERE id = $2", old, u.Id); err != nil {
		t.Fatal(err)
	}
	if r := e.check(tenant, "ada@example.com", goodPassword); r.StatusCode() != http.StatusOK {
		t.Fatalf("check: %d %s", r.StatusCode(), r.Body)
	}
	var upgraded string
	if err := e.pool.QueryRow(ctx, "SELECT password_hash FROM uam.users WHERE id = $1", u.Id).Scan(&upgraded); err != nil || upgraded == old {
		t.Fatalf("the hash was not upgraded (%v)", err)
	}
	if s := e.passwordStamp(tenant, u.Id); !equalStamps(s, changed) {
		t.Errorf("a hash upgrade moved the stamp: %v -> %v", changed, s)
	}
}

func equalStamps(a, b *time.Time) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}
