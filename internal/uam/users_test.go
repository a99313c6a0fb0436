package uam_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/platform/testkit"
)

func TestCreateAndReadUser(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	meta := json.RawMessage(`{"plan":"pro","n":12345678901234567890}`)
	r, err := e.c.CreateUserWithResponse(ctx, tenant, nil, client.UserCreate{
		Email: "  Ada.Lovelace@Example.com ", EmailVerified: ptr(true), Password: ptr("correct horse battery staple"),
		Profile: &client.ProfileUpdate{DisplayName: ptr("Ada"), Locale: ptr("en-gb"), Timezone: ptr("Europe/London"),
			Phone: ptr("+442071234567"), AvatarUrl: ptr("https://example.com/ada.png"), Metadata: &meta},
	})
	if err != nil || r.JSON201 == nil {
		t.Fatalf("create: %v %d %s", err, r.StatusCode(), r.Body)
	}
	u := *r.JSON201
	if u.Email != "Ada.Lovelace@Example.com" || !u.EmailVerified || u.Status != client.Active || !u.HasPassword || u.LastLoginAt != nil {
		t.Errorf("created user = %+v", u)
	}
	if want := "/uam/v1/tenants/" + tenant.String() + "/users/" + u.Id.String(); r.HTTPResponse.Header.Get("Location") != want {
		t.Errorf("Location = %q, want %q", r.HTTPResponse.Header.Get("Location"), want)
	}
	if strings.Contains(string(r.Body), "argon2") || strings.Contains(string(r.Body), "password_hash") {
		t.Errorf("the response reveals the password hash: %s", r.Body)
	}

	g, err := e.c.GetUserWithResponse(ctx, tenant, u.Id)
	if err != nil || g.JSON200 == nil || g.JSON200.Email != u.Email || g.HTTPResponse.Header.Get("ETag") != `"v1"` {
		t.Fatalf("get: %v %d %s", err, g.StatusCode(), g.Body)
	}
	p, err := e.c.GetUserProfileWithResponse(ctx, tenant, u.Id)
	if err != nil || p.JSON200 == nil {
		t.Fatalf("profile: %v %s", err, p.Body)
	}
	prof := *p.JSON200
	if *prof.DisplayName != "Ada" || *prof.Locale != "en-GB" || *prof.Timezone != "Europe/London" || *prof.Phone != "+442071234567" ||
		prof.GivenName != nil || !strings.Contains(string(prof.Metadata), "12345678901234567890") {
		t.Errorf("profile = %+v metadata %s (locale canonical, big numbers intact, unset fields absent)", prof, prof.Metadata)
	}
}

func TestCreateUserRefusesBadInputWithEveryField(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	big := json.RawMessage(`{"x":"` + strings.Repeat("a", 16<<10) + `"}`)
	cases := []struct {
		name   string
		body   client.UserCreate
		fields []string
	}{
		{"email without domain", client.UserCreate{Email: "ada"}, []string{"body.email"}},
		{"email with display name", client.UserCreate{Email: "Ada <ada@example.com>"}, []string{"body.email"}},
		{"email with a dotless domain", client.UserCreate{Email: "ada@localhost"}, []string{"body.email"}},
		{"blank email", client.UserCreate{Email: "   "}, []string{"body.email"}},
		{"short password", client.UserCreate{Email: "a@example.com", Password: ptr("1234567")}, []string{"body.password"}},
		{"long password", client.UserCreate{Email: "a@example.com", Password: ptr(strings.Repeat("x", 129))}, []string{"body.password"}},
		{"common password", client.UserCreate{Email: "a@example.com", Password: ptr("baseball1")}, []string{"body.password"}},
		{"common password in other case", client.UserCreate{Email: "a@example.com", Password: ptr("PASSWORD1")}, []string{"body.password"}},
		// The spec's checks (the phone pattern) come first; the domain's
		// checks then report every other bad field at once.
		{"phone", client.UserCreate{Email: "a@example.com", Profile: &client.ProfileUpdate{Phone: ptr("+0123")}},
			[]string{"body.profile.phone"}},
		{"every other profile field", client.UserCreate{Email: "a@example.com", Profile: &client.ProfileUpdate{
			Locale: ptr("not a locale!"), Timezone: ptr("Mars/Olympus"), AvatarUrl: ptr("javascript:alert(1)"),
			DisplayName: ptr("Ada\u202eevil"), Metadata: &big}},
			[]string{"body.profile.display_name", "body.profile.avatar_url", "body.profile.locale", "body.profile.timezone",
				"body.profile.metadata"}},
		{"Local time zone", client.UserCreate{Email: "a@example.com", Profile: &client.ProfileUpdate{Timezone: ptr("Local")}},
			[]string{"body.profile.timezone"}},
		{"avatar with credentials", client.UserCreate{Email: "a@example.com", Profile: &client.ProfileUpdate{AvatarUrl: ptr("https://u:p@example.com/a.png")}},
			[]string{"body.profile.avatar_url"}},
		{"email and password at once", client.UserCreate{Email: "nope", Password: ptr("short")}, []string{"body.email", "body.password"}},
	}
	for _, c := range cases {
		r, err := e.c.CreateUserWithResponse(ctx, tenant, nil, c.body)
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode() != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400: %s", c.name, r.StatusCode(), r.Body)
			continue
		}
		got := fieldErrors(r.ApplicationproblemJSON400)
		for _, f := range c.fields {
			if !slices.Contains(got, f) {
				t.Errorf("%s: fields %v lack %s", c.name, got, f)
			}
		}
	}
	// Nothing was written.
	var n int
	if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM uam.users").Scan(&n); err != nil || n != 0 {
		t.Errorf("users after refused creates: %d %v", n, err)
	}
}

// Passwords are measured in characters, not bytes, and never truncated.
func TestPasswordLengthInCharacters(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	ok := map[string]string{
		"eight two-byte characters":      strings.Repeat("é", 8),
		"128 four-byte characters":       strings.Repeat("😀", 128),
		"128 characters exactly":         strings.Repeat("ab", 64),
		"spaces count, nothing stripped": "   a b c   ",
	}
	i := 0
	for name, pw := range ok {
		i++
		r, err := e.c.CreateUserWithResponse(ctx, tenant, nil, client.UserCreate{Email: fmt.Sprintf("u%d@example.com", i), Password: &pw})
		if err != nil || r.StatusCode() != http.StatusCreated {
			t.Errorf("%s: %v %d %s", name, err, r.StatusCode(), r.Body)
		}
	}
	// The 129th character is not ignored: a password one longer is refused.
	r, err := e.c.CreateUserWithResponse(ctx, tenant, nil, client.UserCreate{Email: "long@example.com", Password: ptr(strings.Repeat("😀", 129))})
	if err != nil || r.StatusCode() != http.StatusBadRequest || !slices.Contains(fieldErrors(r.ApplicationproblemJSON400), "body.password") {
		t.Errorf("129 characters: %v %d %s", err, r.StatusCode(), r.Body)
	}
}

func TestUserOfUnknownTenantIsNotFound(t *testing.T) {
	e := newEnv(t)
	unknown := uuid.Must(uuid.NewV7())
	r, err := e.c.CreateUserWithResponse(ctx, unknown, nil, client.UserCreate{Email: "a@example.com"})
	if err != nil || r.StatusCode() != http.StatusNotFound {
		t.Errorf("create in unknown tenant: %v %d %s", err, r.StatusCode(), r.Body)
	}
	l, err := e.c.ListUsersWithResponse(ctx, unknown, nil)
	if err != nil || l.StatusCode() != http.StatusNotFound {
		t.Errorf("list in unknown tenant: %v %d %s", err, l.StatusCode(), l.Body)
	}
}

func TestDuplicateEmailConcurrently(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	const n = 12
	codes := testkit.Concurrently(n, func(i int) int {
		email := "Grace@Example.com"
		if i%2 == 1 {
			email = "  grace@example.COM"
		}
		r, err := e.c.CreateUserWithResponse(ctx, tenant, nil, client.UserCreate{Email: email})
		if err != nil {
			t.Error(err)
			return 0
		}
		return r.StatusCode()
	})
	if got := testkit.Tally(codes); got[201] != 1 || got[409] != n-1 {
		t.Errorf("statuses = %v, want one 201 and %d 409", got, n-1)
	}
	// Another tenant may use the same address.
	other := e.tenant()
	e.user(other, "grace@example.com", "")
}

func TestUserOfAnotherTenantIsNotFound(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant(), e.tenant()
	u := e.user(a, "ada@example.com", "")
	codes := map[string]int{}
	g, _ := e.c.GetUserWithResponse(ctx, b, u.Id)
	codes["get"] = g.StatusCode()
	up, _ := e.c.UpdateUserWithResponse(ctx, b, u.Id, nil, client.UserUpdate{Status: ptr(client.Disabled)})
	codes["update"] = up.StatusCode()
	p, _ := e.c.GetUserProfileWithResponse(ctx, b, u.Id)
	codes["profile"] = p.StatusCode()
	pu, _ := e.c.UpdateUserProfileWithResponse(ctx, b, u.Id, nil, client.ProfileUpdate{DisplayName: ptr("x")})
	codes["profile update"] = pu.StatusCode()
	pw, _ := e.c.SetUserPasswordWithResponse(ctx, b, u.Id, client.PasswordSet{Password: "correct horse battery"})
	codes["password"] = pw.StatusCode()
	perms, _ := e.c.GetUserPermissionsWithResponse(ctx, b, u.Id)
	codes["permissions"] = perms.StatusCode()
	as, _ := e.c.AssignRoleWithResponse(ctx, b, u.Id, viewerRole, nil)
	codes["assign"] = as.StatusCode()
	d, _ := e.c.DeleteUserWithResponse(ctx, b, u.Id, nil)
	codes["delete"] = d.StatusCode()
	for op, code := range codes {
		if code != http.StatusNotFound {
			t.Errorf("%s across tenants: %d, want 404", op, code)
		}
	}
	if g, _ := e.c.GetUserWithResponse(ctx, a, u.Id); g.JSON200 == nil || g.JSON200.Status != client.Active {
		t.Errorf("the user changed through another tenant: %s", g.Body)
	}
}

func TestUpdateUserWithETags(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	u := e.user(tenant, "ada@example.com", "")
	e.user(tenant, "grace@example.com", "")
	r, err := e.c.UpdateUserWithResponse(ctx, tenant, u.Id, &client.UpdateUserParams{IfMatch: ptr(`"v1"`)},
		client.UserUpdate{Status: ptr(client.Locked), EmailVerified: ptr(true)})
	if err != nil || r.JSON200 == nil || r.JSON200.Status != client.Locked || !r.JSON200.EmailVerified || r.HTTPResponse.Header.Get("ETag") != `"v2"` {
		t.Fatalf("update: %v %d %s", err, r.StatusCode(), r.Body)
	}
	stale, _ := e.c.UpdateUserWithResponse(ctx, tenant, u.Id, &client.UpdateUserParams{IfMatch: ptr(`"v1"`)}, client.UserUpdate{Status: ptr(client.Active)})
	if stale.StatusCode() != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match: %d %s", stale.StatusCode(), stale.Body)
	}
	clash, _ := e.c.UpdateUserWithResponse(ctx, tenant, u.Id, nil, client.UserUpdate{Email: ptr("GRACE@example.com")})
	if clash.StatusCode() != http.StatusConflict {
		t.Errorf("email clash: %d %s", clash.StatusCode(), clash.Body)
	}
	bad, _ := e.c.UpdateUserWithResponse(ctx, tenant, u.Id, nil, client.UserUpdate{Email: ptr("not-an-email")})
	if bad.StatusCode() != http.StatusBadRequest || !slices.Contains(fieldErrors(bad.ApplicationproblemJSON400), "body.email") {
		t.Errorf("bad email: %d %s", bad.StatusCode(), bad.Body)
	}
	if g, _ := e.c.GetUserWithResponse(ctx, tenant, u.Id); g.JSON200.Status != client.Locked || g.JSON200.Email != "ada@example.com" {
		t.Errorf("refused updates changed the user: %s", g.Body)
	}
}

func TestUpdateProfile(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	u := e.user(tenant, "ada@example.com", "")
	r, err := e.c.UpdateUserProfileWithResponse(ctx, tenant, u.Id, &client.UpdateUserProfileParams{IfMatch: ptr(`"v1"`)},
		client.ProfileUpdate{GivenName: ptr("Ada"), FamilyName: ptr("Lovelace"), Timezone: ptr("America/New_York")})
	if err != nil || r.JSON200 == nil || r.HTTPResponse.Header.Get("ETag") != `"v2"` {
		t.Fatalf("update: %v %d %s", err, r.StatusCode(), r.Body)
	}
	// Omitted fields stay; "" clears one.
	r, _ = e.c.UpdateUserProfileWithResponse(ctx, tenant, u.Id, nil, client.ProfileUpdate{GivenName: ptr("")})
	if p := r.JSON200; p == nil || p.GivenName != nil || p.FamilyName == nil || *p.FamilyName != "Lovelace" {
		t.Fatalf("clear given name: %s", r.Body)
	}
	stale, _ := e.c.UpdateUserProfileWithResponse(ctx, tenant, u.Id, &client.UpdateUserProfileParams{IfMatch: ptr(`"v1"`)}, client.ProfileUpdate{GivenName: ptr("X")})
	if stale.StatusCode() != http.StatusPreconditionFailed {
		t.Errorf("stale: %d", stale.StatusCode())
	}
	notObject := json.RawMessage(`[1,2]`)
	bad, _ := e.c.UpdateUserProfileWithResponse(ctx, tenant, u.Id, nil, client.ProfileUpdate{Metadata: &notObject})
	if bad.StatusCode() != http.StatusBadRequest {
		t.Errorf("array metadata: %d %s", bad.StatusCode(), bad.Body)
	}
	limit := json.RawMessage(`{"x":"` + strings.Repeat("a", 16<<10-8) + `"}`) // exactly 16 KiB compact
	if ok, _ := e.c.UpdateUserProfileWithResponse(ctx, tenant, u.Id, nil, client.ProfileUpdate{Metadata: &limit}); ok.StatusCode() != http.StatusOK {
		t.Errorf("16 KiB metadata: %d %s", ok.StatusCode(), ok.Body)
	}
}

func TestListUsersWithFiltersAndPages(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	var ids []uuid.UUID
	for _, email := range []string{"ann@a.example", "Anna@b.example", "bob@a.example", "an_x@c.example", "anxy@c.example"} {
		ids = append(ids, e.user(tenant, email, "").Id)
	}
	if _, err := e.c.UpdateUserWithResponse(ctx, tenant, ids[2], nil, client.UserUpdate{Status: ptr(client.Disabled)}); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.c.AssignRoleWithResponse(ctx, tenant, ids[1], viewerRole, nil); r.StatusCode() != http.StatusCreated {
		t.Fatalf("assign: %s", r.Body)
	}
	emails := func(p *client.ListUsersParams) []string {
		r, err := e.c.ListUsersWithResponse(ctx, tenant, p)
		if err != nil || r.JSON200 == nil {
			t.Fatalf("list %+v: %v %s", p, err, r.Body)
		}
		var out []string
		for _, u := range r.JSON200.Items {
			out = append(out, u.Email)
		}
		return out
	}
	if got := emails(&client.ListUsersParams{Email: ptr("AN")}); !slices.Equal(got, []string{"ann@a.example", "Anna@b.example", "an_x@c.example", "anxy@c.example"}) {
		t.Errorf("prefix AN = %v", got)
	}
	// LIKE's wildcards in the filter match only themselves.
	if got := emails(&client.ListUsersParams{Email: ptr("an_")}); !slices.Equal(got, []string{"an_x@c.example"}) {
		t.Errorf("prefix an_ = %v", got)
	}
	if got := emails(&client.ListUsersParams{Status: ptr(client.UserStatus("disabled"))}); !slices.Equal(got, []string{"bob@a.example"}) {
		t.Errorf("disabled = %v", got)
	}
	if got := emails(&client.ListUsersParams{RoleId: &viewerRole}); !slices.Equal(got, []string{"Anna@b.example"}) {
		t.Errorf("viewers = %v", got)
	}
	// Pages of two cover everyone once, in creation order.
	var seen []uuid.UUID
	var cursor *string
	for {
		r, err := e.c.ListUsersWithResponse(ctx, tenant, &client.ListUsersParams{Limit: ptr(2), Cursor: cursor})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("page: %v %s", err, r.Body)
		}
		for _, u := range r.JSON200.Items {
			seen = append(seen, u.Id)
		}
		if cursor = r.JSON200.NextCursor; cursor == nil {
			break
		}
	}
	if !slices.Equal(seen, ids) {
		t.Errorf("pages = %v, want %v", seen, ids)
	}
	bad, _ := e.c.ListUsersWithResponse(ctx, tenant, &client.ListUsersParams{Cursor: ptr("forged")})
	if bad.StatusCode() != http.StatusBadRequest {
		t.Errorf("forged cursor: %d", bad.StatusCode())
	}
}

func TestDeleteUserRemovesProfileAndAssignments(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	u := e.user(tenant, "ada@example.com", "")
	if r, _ := e.c.AssignRoleWithResponse(ctx, tenant, u.Id, editorRole, nil); r.StatusCode() != http.StatusCreated {
		t.Fatalf("assign: %s", r.Body)
	}
	if r, _ := e.c.DeleteUserWithResponse(ctx, tenant, u.Id, &client.DeleteUserParams{IfMatch: ptr(`"v9"`)}); r.StatusCode() != http.StatusPreconditionFailed {
		t.Errorf("stale delete: %d", r.StatusCode())
	}
	if r, _ := e.c.DeleteUserWithResponse(ctx, tenant, u.Id, &client.DeleteUserParams{IfMatch: ptr(`"v1"`)}); r.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.StatusCode(), r.Body)
	}
	for _, table := range []string{"uam.users WHERE id", "uam.profiles WHERE user_id", "uam.role_assignments WHERE user_id"} {
		var n int
		if err := e.pool.QueryRow(ctx, "SELECT count(*) FROM "+table+" = $1", u.Id).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d rows left (%v)", table, n, err)
		}
	}
	if r, _ := e.c.GetUserProfileWithResponse(ctx, tenant, u.Id); r.StatusCode() != http.StatusNotFound {
		t.Errorf("profile after delete: %d", r.StatusCode())
	}
}

func TestIdempotentCreateUser(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	key := &client.CreateUserParams{IdempotencyKey: ptr("create-ada-1")}
	first, err := e.c.CreateUserWithResponse(ctx, tenant, key, client.UserCreate{Email: "ada@example.com"})
	if err != nil || first.JSON201 == nil {
		t.Fatalf("first: %v %s", err, first.Body)
	}
	again, _ := e.c.CreateUserWithResponse(ctx, tenant, key, client.UserCreate{Email: "ada@example.com"})
	if again.JSON201 == nil || again.JSON201.Id != first.JSON201.Id || again.HTTPResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %d %s", again.StatusCode(), again.Body)
	}
	other, _ := e.c.CreateUserWithResponse(ctx, tenant, key, client.UserCreate{Email: "grace@example.com"})
	if other.StatusCode() != http.StatusUnprocessableEntity {
		t.Errorf("same key, other body: %d", other.StatusCode())
	}
}
