package uam_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/uam/password"
)

const goodPassword = "correct horse battery staple"

func (e *env) check(tenant uuid.UUID, email, pw string) *client.CheckCredentialsResponse {
	e.t.Helper()
	r, err := e.c.CheckCredentialsWithResponse(ctx, client.CredentialCheck{TenantId: tenant, Email: email, Password: pw})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func TestCredentialCheckAnswersWithRolesAndPermissions(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	site := e.site(tenant)
	u := e.user(tenant, "Ada@Example.com", goodPassword)
	e.c.AssignRoleWithResponse(ctx, tenant, u.Id, viewerRole, nil)
	e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, &client.AssignRoleParams{SiteId: &site})

	r := e.check(tenant, "  ada@EXAMPLE.com ", goodPassword)
	if r.JSON200 == nil {
		t.Fatalf("check: %d %s", r.StatusCode(), r.Body)
	}
	got := r.JSON200
	if got.User.Id != u.Id || got.User.LastLoginAt == nil || !slices.Equal(got.Roles, []string{"editor", "viewer"}) {
		t.Errorf("result = %+v", got)
	}
	if !slices.Contains(got.Permissions.TenantWide, "users:read") || slices.Contains(got.Permissions.TenantWide, "content:write") {
		t.Errorf("tenant-wide = %v", got.Permissions.TenantWide)
	}
	if len(got.Permissions.Sites) != 1 || got.Permissions.Sites[0].SiteId != site || !slices.Contains(got.Permissions.Sites[0].Permissions, "content:publish") {
		t.Errorf("sites = %+v", got.Permissions.Sites)
	}
	if strings.Contains(string(r.Body), "argon2") {
		t.Errorf("the hash leaked: %s", r.Body)
	}
}

// Unknown email, wrong password, disabled, locked and password-less users all
// get the same answer; only the status and body are compared here (timing is
// the same by construction: every path hashes once, see CheckCredentials).
func TestCredentialCheckFailuresAreIndistinguishable(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "ada@example.com", goodPassword)
	disabled := e.user(tenant, "dis@example.com", goodPassword)
	locked := e.user(tenant, "lock@example.com", goodPassword)
	e.user(tenant, "nopw@example.com", "")
	e.c.UpdateUserWithResponse(ctx, tenant, disabled.Id, nil, client.UserUpdate{Status: ptr(client.Disabled)})
	e.c.UpdateUserWithResponse(ctx, tenant, locked.Id, nil, client.UserUpdate{Status: ptr(client.Locked)})

	cases := map[string][2]string{
		"unknown email":   {"nobody@example.com", goodPassword},
		"wrong password":  {"ada@example.com", goodPassword + "!"},
		"disabled user":   {"dis@example.com", goodPassword},
		"locked user":     {"lock@example.com", goodPassword},
		"no password set": {"nopw@example.com", goodPassword},
		"malformed email": {"not an email", goodPassword},
	}
	var bodies []string
	for name, c := range cases {
		r := e.check(tenant, c[0], c[1])
		if r.StatusCode() != http.StatusUnauthorized || r.ApplicationproblemJSON401 == nil {
			t.Errorf("%s: %d %s", name, r.StatusCode(), r.Body)
			continue
		}
		p := r.ApplicationproblemJSON401
		bodies = append(bodies, p.Type+"|"+p.Title+"|"+*p.Detail)
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("answers differ: %q vs %q", b, bodies[0])
		}
	}
	// Another tenant's user does not sign in here either.
	if r := e.check(e.tenant(), "ada@example.com", goodPassword); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("other tenant: %d", r.StatusCode())
	}
	var logins int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM uam.users WHERE last_login_at IS NOT NULL").Scan(&logins); err != nil || logins != 0 {
		t.Errorf("failed checks recorded %d logins (%v)", logins, err)
	}
}

// A hash made with older parameters is replaced by one at the configured
// parameters on the next successful check, and still verifies.
func TestCredentialCheckUpgradesOldHashes(t *testing.T) {
	stronger := password.Params{Memory: password.DefaultParams().Memory, Time: 3, Threads: 1}
	e := newEnv(t, func(o *envOptions) { o.params = stronger })
	tenant := e.tenant()
	u := e.user(tenant, "ada@example.com", "")
	old, err := password.NewHasher(password.DefaultParams(), 1, 0).Hash(ctx, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, "UPDATE uam.users SET password_hash = $1 WHERE id = $2", old, u.Id); err != nil {
		t.Fatal(err)
	}
	if r := e.check(tenant, "ada@example.com", "wrong password here"); r.StatusCode() != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.StatusCode())
	}
	stored := func() string {
		var h string
		if err := e.pool.QueryRow(ctx, "SELECT password_hash FROM uam.users WHERE id = $1", u.Id).Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	if stored() != old {
		t.Fatal("a failed check changed the hash")
	}
	if r := e.check(tenant, "ada@example.com", goodPassword); r.StatusCode() != http.StatusOK {
		t.Fatalf("old hash: %d %s", r.StatusCode(), r.Body)
	}
	upgraded := stored()
	if upgraded == old || !strings.Contains(upgraded, "m=19456,t=3,p=1") {
		t.Fatalf("hash not upgraded: %s", upgraded)
	}
	if r := e.check(tenant, "ada@example.com", goodPassword); r.StatusCode() != http.StatusOK {
		t.Errorf("upgraded hash: %d %s", r.StatusCode(), r.Body)
	}
	if stored() != upgraded {
		t.Error("a current hash was replaced again")
	}
}

func TestAdministratorSetsPassword(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	u := e.user(tenant, "ada@example.com", "")
	if u.HasPassword {
		t.Fatal("has_password without one")
	}
	if r := e.check(tenant, "ada@example.com", goodPassword); r.StatusCode() != http.StatusUnauthorized {
		t.Fatalf("before: %d", r.StatusCode())
	}
	bad, _ := e.c.SetUserPasswordWithResponse(ctx, tenant, u.Id, client.PasswordSet{Password: "qwertyuiop"})
	if bad.StatusCode() != http.StatusBadRequest || !slices.Contains(fieldErrors(bad.ApplicationproblemJSON400), "body.password") {
		t.Errorf("common password: %d %s", bad.StatusCode(), bad.Body)
	}
	if r, _ := e.c.SetUserPasswordWithResponse(ctx, tenant, u.Id, client.PasswordSet{Password: goodPassword}); r.StatusCode() != http.StatusNoContent {
		t.Fatalf("set: %d %s", r.StatusCode(), r.Body)
	}
	if r := e.check(tenant, "ada@example.com", goodPassword); r.StatusCode() != http.StatusOK {
		t.Errorf("after: %d %s", r.StatusCode(), r.Body)
	}
	if g, _ := e.c.GetUserWithResponse(ctx, tenant, u.Id); !g.JSON200.HasPassword {
		t.Error("has_password false after setting one")
	}
}

func TestSelfService(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	u := e.user(tenant, "ada@example.com", goodPassword)
	e.c.AssignRoleWithResponse(ctx, tenant, u.Id, viewerRole, nil)

	// Without a token the operations are declared but refuse.
	if r, _ := e.c.GetMeWithResponse(ctx); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("anonymous /me: %d %s", r.StatusCode(), r.Body)
	}
	me := e.as(tenant, u.Id)
	r, err := e.c.GetMeWithResponse(ctx, me)
	if err != nil || r.JSON200 == nil {
		t.Fatalf("/me: %v %d %s", err, r.StatusCode(), r.Body)
	}
	if r.JSON200.User.Id != u.Id || len(r.JSON200.Roles) != 1 || r.JSON200.Roles[0].RoleName != "viewer" ||
		!slices.Contains(r.JSON200.Permissions.TenantWide, "users:read") {
		t.Errorf("/me = %+v", r.JSON200)
	}
	// A token of another tenant names no user here.
	if r, _ := e.c.GetMeWithResponse(ctx, e.as(e.tenant(), u.Id)); r.StatusCode() != http.StatusNotFound {
		t.Errorf("/me in another tenant: %d", r.StatusCode())
	}

	p, _ := e.c.UpdateMyProfileWithResponse(ctx, nil, client.ProfileUpdate{DisplayName: ptr("Ada L.")}, me)
	if p.JSON200 == nil || *p.JSON200.DisplayName != "Ada L." {
		t.Errorf("my profile: %d %s", p.StatusCode(), p.Body)
	}

	wrong, _ := e.c.ChangeMyPasswordWithResponse(ctx, client.PasswordChange{CurrentPassword: "not it at all", NewPassword: "another fine passphrase"}, me)
	if wrong.StatusCode() != http.StatusBadRequest || !slices.Contains(fieldErrors(wrong.ApplicationproblemJSON400), "body.current_password") {
		t.Errorf("wrong current password: %d %s", wrong.StatusCode(), wrong.Body)
	}
	common, _ := e.c.ChangeMyPasswordWithResponse(ctx, client.PasswordChange{CurrentPassword: goodPassword, NewPassword: "iloveyou1"}, me)
	if common.StatusCode() != http.StatusBadRequest || !slices.Contains(fieldErrors(common.ApplicationproblemJSON400), "body.new_password") {
		t.Errorf("common new password: %d %s", common.StatusCode(), common.Body)
	}
	ok, _ := e.c.ChangeMyPasswordWithResponse(ctx, client.PasswordChange{CurrentPassword: goodPassword, NewPassword: "another fine passphrase"}, me)
	if ok.StatusCode() != http.StatusNoContent {
		t.Fatalf("change: %d %s", ok.StatusCode(), ok.Body)
	}
	if r := e.check(tenant, "ada@example.com", goodPassword); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("old password still works: %d", r.StatusCode())
	}
	if r := e.check(tenant, "ada@example.com", "another fine passphrase"); r.StatusCode() != http.StatusOK {
		t.Errorf("new password: %d", r.StatusCode())
	}
}
