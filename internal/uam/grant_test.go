package uam_test

import (
	"net/http"
	"reflect"
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

// stamp is the grant's security_stamp.
func (e *env) stamp(tenant, user uuid.UUID) *time.Time {
	e.t.Helper()
	r := e.grant(tenant, user)
	if r.JSON200 == nil {
		e.t.Fatalf("grant: %d %s", r.StatusCode(), r.Body)
	}
	return r.JSON200.SecurityStamp
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
		!slices.Equal(check.JSON200.Roles, g.Roles) || !equalStamps(check.JSON200.SecurityStamp, g.SecurityStamp) {
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

// The security stamp moves whenever a password is set, by an administrator
// or by the user: a hash upgrade keeps the password, and the stamp.
func TestStampMovesWithEveryPasswordChange(t *testing.T) {
	stronger := password.Params{Memory: password.DefaultParams().Memory, Time: 3, Threads: 1}
	e := newEnv(t, func(o *envOptions) { o.params = stronger })
	tenant := e.tenant()

	none := e.user(tenant, "nopw@example.com", "")
	if s := e.stamp(tenant, none.Id); s != nil {
		t.Errorf("a user without a password has a security stamp %v", s)
	}
	u := e.user(tenant, "ada@example.com", goodPassword)
	created := e.stamp(tenant, u.Id)
	if created == nil {
		t.Fatal("no security stamp for a user created with a password")
	}

	e.c.UpdateUserWithResponse(ctx, tenant, u.Id, nil, client.UserUpdate{EmailVerified: ptr(true)})
	if s := e.stamp(tenant, u.Id); !equalStamps(s, created) {
		t.Errorf("an update without a password moved the stamp: %v -> %v", created, s)
	}

	if r, _ := e.c.SetUserPasswordWithResponse(ctx, tenant, u.Id, client.PasswordSet{Password: "another fine passphrase"}); r.StatusCode() != http.StatusNoContent {
		t.Fatalf("set: %d %s", r.StatusCode(), r.Body)
	}
	reset := e.stamp(tenant, u.Id)
	if reset == nil || !reset.After(*created) {
		t.Errorf("an administrator's reset left the stamp at %v (was %v)", reset, created)
	}

	me := e.as(tenant, u.Id)
	if r, _ := e.c.ChangeMyPasswordWithResponse(ctx, client.PasswordChange{CurrentPassword: "another fine passphrase",
		NewPassword: goodPassword}, me); r.StatusCode() != http.StatusNoContent {
		t.Fatalf("change: %d %s", r.StatusCode(), r.Body)
	}
	changed := e.stamp(tenant, u.Id)
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
	if s := e.stamp(tenant, u.Id); !equalStamps(s, changed) {
		t.Errorf("a hash upgrade moved the stamp: %v -> %v", changed, s)
	}
}

func equalStamps(a, b *time.Time) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}

// The stamp also moves when the status moves to disabled or locked, so that
// IAM ends the sessions even if the user is active again before they refresh;
// becoming active again, or a change of email or profile, leaves it.
func TestStampMovesWhenAccessIsTakenAway(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	u := e.user(tenant, "ada@example.com", goodPassword)
	stamp := e.stamp(tenant, u.Id)

	update := func(change client.UserUpdate) {
		t.Helper()
		if r, _ := e.c.UpdateUserWithResponse(ctx, tenant, u.Id, nil, change); r.JSON200 == nil {
			t.Fatalf("update: %d %s", r.StatusCode(), r.Body)
		}
	}
	for _, status := range []client.UserStatus{client.Disabled, client.Locked} {
		update(client.UserUpdate{Status: ptr(status)})
		moved := e.stamp(tenant, u.Id)
		if moved == nil || equalStamps(moved, stamp) {
			t.Errorf("%s: the stamp stayed at %v", status, stamp)
		}
		update(client.UserUpdate{Status: ptr(status)})
		if s := e.stamp(tenant, u.Id); !equalStamps(s, moved) {
			t.Errorf("%s again: the stamp moved from %v to %v", status, moved, s)
		}
		stamp = moved
		update(client.UserUpdate{Status: ptr(client.Active)})
		if s := e.stamp(tenant, u.Id); !equalStamps(s, stamp) {
			t.Errorf("active again: the stamp moved from %v to %v", stamp, s)
		}
	}

	update(client.UserUpdate{Email: ptr("ada.l@example.com"), EmailVerified: ptr(true)})
	if r, _ := e.c.UpdateUserProfileWithResponse(ctx, tenant, u.Id, nil, client.ProfileUpdate{DisplayName: ptr("Ada")}); r.JSON200 == nil {
		t.Fatalf("profile: %d %s", r.StatusCode(), r.Body)
	}
	if s := e.stamp(tenant, u.Id); !equalStamps(s, stamp) {
		t.Errorf("an email or profile change moved the stamp from %v to %v", stamp, s)
	}
}

// The grant's one query answers exactly what the credential check's three
// do: roles, tenant-wide permissions, and per site only what the tenant-wide
// roles lack, in the same order.
func TestUserGrantMatchesTheCredentialCheck(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	site1, site2 := e.site(tenant), e.site(tenant)
	u := e.user(tenant, "grace@example.com", goodPassword)
	e.c.AssignRoleWithResponse(ctx, tenant, u.Id, viewerRole, nil)
	e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, &client.AssignRoleParams{SiteId: &site1})
	e.c.AssignRoleWithResponse(ctx, tenant, u.Id, viewerRole, &client.AssignRoleParams{SiteId: &site2})
	e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, &client.AssignRoleParams{SiteId: &site2})

	r := e.grant(tenant, u.Id)
	check := e.check(tenant, "grace@example.com", goodPassword)
	if r.JSON200 == nil || check.JSON200 == nil {
		t.Fatalf("grant %d %s, check %d %s", r.StatusCode(), r.Body, check.StatusCode(), check.Body)
	}
	g, c := r.JSON200, check.JSON200
	if len(g.Permissions.Sites) != 2 || len(g.Permissions.TenantWide) == 0 {
		t.Fatalf("grant permissions = %+v, want tenant-wide ones and two sites", g.Permissions)
	}
	if !slices.Equal(g.Roles, c.Roles) || !reflect.DeepEqual(g.Permissions, c.Permissions) {
		t.Errorf("the grant and the credential check disagree:\n%s\n%s", r.Body, check.Body)
	}

	// A user without roles: empty lists, not nulls.
	v := e.user(tenant, "vera@example.com", goodPassword)
	if r := e.grant(tenant, v.Id); r.JSON200 == nil || r.JSON200.Roles == nil || len(r.JSON200.Roles) != 0 ||
		r.JSON200.Permissions.TenantWide == nil || len(r.JSON200.Permissions.Sites) != 0 {
		t.Errorf("grant of a user without roles: %d %s", r.StatusCode(), r.Body)
	}
}
