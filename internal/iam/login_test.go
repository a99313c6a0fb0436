package iam_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	cvclient "github.com/saasplatform/saas/gen/client/configvault"
	client "github.com/saasplatform/saas/gen/client/iam"
	uamclient "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/platform/testkit"
)

// Login answers an access token other services accept, with the claims
// authn documents, and a refresh token; the platform tenant by default.
func TestLoginTokenReachesAnotherService(t *testing.T) {
	e := newEnv(t)
	r := e.login(nil, e.p.AdminEmail, e.p.AdminPassword)
	if r.JSON200 == nil {
		t.Fatalf("login: %d %s", r.StatusCode(), r.Body)
	}
	if cc := r.HTTPResponse.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	tok := r.JSON200
	if tok.TokenType != client.TokenResponseTokenTypeBearer || tok.ExpiresIn != 900 || len(tok.RefreshToken) != 43 {
		t.Errorf("token response %+v", tok)
	}
	header, claims := claimsOf(t, tok.AccessToken)
	if header["typ"] != "at+jwt" || header["kid"] == "" || header["alg"] == "" {
		t.Errorf("header %v", header)
	}
	platform := e.p.PlatformTenantID.String()
	for k, want := range map[string]any{"iss": e.p.URL + "/iam/v1/tenants/" + platform, "aud": e.p.URL,
		"tenant_id": platform, "sub_type": "user"} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %v", k, claims[k], want)
		}
	}
	if _, err := uuid.Parse(claims["sub"].(string)); err != nil {
		t.Errorf("sub %v", claims["sub"])
	}
	if jti, err := uuid.Parse(claims["jti"].(string)); err != nil || jti.Version() != 7 {
		t.Errorf("jti %v", claims["jti"])
	}
	iat, exp := claims["iat"].(float64), claims["exp"].(float64)
	if claims["nbf"] != iat || exp-iat != 900 || time.Since(time.Unix(int64(iat), 0)) > time.Minute {
		t.Errorf("iat %v nbf %v exp %v", iat, claims["nbf"], exp)
	}
	scope := scopeOf(t, tok.AccessToken)
	if !scope["tenants:read"] || scope["credentials:verify"] || scope["tokens:sign"] {
		t.Errorf("scope %v", scope)
	}
	if tok.Scope == nil || *tok.Scope != claims["scope"] {
		t.Errorf("answered scope %v, token scope %v", tok.Scope, claims["scope"])
	}

	got, err := e.vault.GetTenantWithResponse(ctx, e.p.PlatformTenantID, bearer(tok.AccessToken))
	if err != nil || got.JSON200 == nil {
		t.Fatalf("Config Vault with the token: %v %d %s", err, got.StatusCode(), got.Body)
	}
	if r, _ := e.vault.GetTenantWithResponse(ctx, e.p.PlatformTenantID); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("without the token: %d", r.StatusCode())
	}
}

// A tenant's user gets the tenant's issuer, tenant-wide permissions in
// scope, site-only ones in site_scope, and reaches its own tenant only.
func TestLoginIntoATenant(t *testing.T) {
	e := newEnv(t)
	tenant, other := e.tenant(), e.tenant()
	site := e.site(tenant)
	user := e.user(tenant, "ada@example.com", viewerRole)
	e.assign(tenant, user, editorRole, &site)

	tok := e.signIn(tenant, "  ADA@example.com ")
	_, claims := claimsOf(t, tok.AccessToken)
	if claims["iss"] != e.p.URL+"/iam/v1/tenants/"+tenant.String() || claims["sub"] != user.String() {
		t.Errorf("claims %v", claims)
	}
	scope := scopeOf(t, tok.AccessToken)
	if !scope["sites:read"] || scope["content:write"] {
		t.Errorf("scope %v", scope)
	}
	siteScope, _ := claims["site_scope"].(map[string]any)
	if s, _ := siteScope[site.String()].(string); s != "content:delete content:publish content:write" {
		t.Errorf("site_scope %v", claims["site_scope"])
	}
	if roles, _ := claims["roles"].([]any); !slices.Equal(roles, []any{"editor", "viewer"}) {
		t.Errorf("roles %v", claims["roles"])
	}

	if r, _ := e.vault.ListTenantSitesWithResponse(ctx, tenant, nil, bearer(tok.AccessToken)); r.JSON200 == nil || len(r.JSON200.Items) != 1 {
		t.Errorf("own tenant's sites: %d %s", r.StatusCode(), r.Body)
	}
	if r, _ := e.vault.ListTenantSitesWithResponse(ctx, other, nil, bearer(tok.AccessToken)); r.StatusCode() != http.StatusNotFound {
		t.Errorf("another tenant's sites: %d", r.StatusCode())
	}
	// The same email in another tenant is another account.
	if r := e.login(&other, "ada@example.com", goodPassword); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("login into a tenant without the user: %d", r.StatusCode())
	}
}

// Unknown email, wrong password, disabled user, unknown tenant: the same
// 401. Failures beyond the free ones are throttled with 429 and
// Retry-After, without checking the password (the right one included).
func TestLoginFailuresAreIdenticalAndThrottled(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "ada@example.com")
	disabled := e.user(tenant, "dis@example.com")
	e.uam.UpdateUserWithResponse(ctx, tenant, disabled, nil, uamclient.UserUpdate{Status: ptr(uamclient.Disabled)}, bearer(e.admin))

	unknownTenant := uuid.Must(uuid.NewV7())
	var bodies []string
	for name, c := range map[string]struct {
		tenant      *uuid.UUID
		email, pass string
	}{
		"unknown email":  {&tenant, "nobody@example.com", goodPassword},
		"wrong password": {&tenant, "ada@example.com", goodPassword + "!"},
		"disabled user":  {&tenant, "dis@example.com", goodPassword},
		"unknown tenant": {&unknownTenant, "ada@example.com", goodPassword},
	} {
		r := e.login(c.tenant, c.email, c.pass)
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

	// The account at this address has 5 free attempts: one is spent above.
	for i := range 5 {
		if r := e.login(&tenant, "Ada@Example.com", "wrong guess"); r.StatusCode() != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+2, r.StatusCode(), r.Body)
		}
	}
	r := e.login(&tenant, "ada@example.com", goodPassword)
	if r.StatusCode() != http.StatusTooManyRequests || r.ApplicationproblemJSON429 == nil {
		t.Fatalf("after 6 failures: %d %s", r.StatusCode(), r.Body)
	}
	if after, err := strconv.Atoi(r.HTTPResponse.Header.Get("Retry-After")); err != nil || after < 1 || after > 2 {
		t.Errorf("Retry-After %q", r.HTTPResponse.Header.Get("Retry-After"))
	}
	// Another account at the same address is not held back by this one.
	if r := e.login(&tenant, "dis@example.com", goodPassword); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("another account: %d", r.StatusCode())
	}
	// The block ends by itself.
	time.Sleep(1100 * time.Millisecond)
	if r := e.login(&tenant, "ada@example.com", goodPassword); r.JSON200 == nil {
		t.Errorf("after the block: %d %s", r.StatusCode(), r.Body)
	}
}

// Refreshing rotates: the new refresh token works, the spent one presented
// again ends the whole session, the new token with it.
func TestRefreshRotationAndReuse(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "ada@example.com", viewerRole)
	first := e.signIn(tenant, "ada@example.com")

	r := e.refresh(first.RefreshToken)
	if r.JSON200 == nil {
		t.Fatalf("refresh: %d %s", r.StatusCode(), r.Body)
	}
	if r.HTTPResponse.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.HTTPResponse.Header.Get("Cache-Control"))
	}
	second := r.JSON200
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh answered the same tokens")
	}
	if r, _ := e.vault.GetTenantWithResponse(ctx, tenant, bearer(second.AccessToken)); r.JSON200 == nil {
		t.Errorf("refreshed access token: %d %s", r.StatusCode(), r.Body)
	}
	third := e.refresh(second.RefreshToken)
	if third.JSON200 == nil {
		t.Fatalf("second refresh: %d %s", third.StatusCode(), third.Body)
	}

	reuse := e.refresh(first.RefreshToken)
	if reuse.StatusCode() != http.StatusUnauthorized {
		t.Fatalf("reused token: %d %s", reuse.StatusCode(), reuse.Body)
	}
	if r := e.refresh(third.JSON200.RefreshToken); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("the session survived reuse: %d", r.StatusCode())
	}
	if r := e.refresh("not-a-token"); r.StatusCode() != http.StatusUnauthorized ||
		*r.ApplicationproblemJSON401.Detail != *reuse.ApplicationproblemJSON401.Detail {
		t.Errorf("garbage: %d %s", r.StatusCode(), r.Body)
	}
}

// Of 20 refreshes with one token at the same instant exactly one succeeds.
func TestConcurrentRefreshesExactlyOneSucceeds(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "ada@example.com", viewerRole)
	tok := e.signIn(tenant, "ada@example.com")

	won := make([]string, 20)
	codes := testkit.Concurrently(20, func(i int) int {
		r := e.refresh(tok.RefreshToken)
		if r.JSON200 != nil {
			won[i] = r.JSON200.RefreshToken
		}
		return r.StatusCode()
	})
	if got := testkit.Tally(codes); got[http.StatusOK] != 1 || got[http.StatusUnauthorized] != 19 {
		t.Fatalf("answers %v, want one 200 and 19 401", got)
	}
	// The strict reading of RFC 9700 (see the operation's description): the
	// others presented a spent token, which revoked the session, so the one
	// success's new refresh token is dead too.
	var winner string
	for _, w := range won {
		winner += w // one is not empty
	}
	if r := e.refresh(winner); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("the winner's refresh token: %d, want 401", r.StatusCode())
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "ada@example.com", viewerRole)
	first := e.signIn(tenant, "ada@example.com")
	other := e.signIn(tenant, "ada@example.com")
	second := e.refresh(first.RefreshToken).JSON200

	r, err := e.iam.LogoutWithResponse(ctx, client.RefreshRequest{RefreshToken: second.RefreshToken})
	if err != nil || r.StatusCode() != http.StatusNoContent {
		t.Fatalf("logout: %v %d %s", err, r.StatusCode(), r.Body)
	}
	if r := e.refresh(second.RefreshToken); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("refresh after logout: %d", r.StatusCode())
	}
	if r := e.refresh(other.RefreshToken); r.JSON200 == nil {
		t.Errorf("logout ended another session: %d %s", r.StatusCode(), r.Body)
	}
	for _, tok := range []string{second.RefreshToken, "unknown"} {
		if r, _ := e.iam.LogoutWithResponse(ctx, client.RefreshRequest{RefreshToken: tok}); r.StatusCode() != http.StatusNoContent {
			t.Errorf("logout of %q: %d", tok, r.StatusCode())
		}
	}
}

// A refresh reads the user again: changed permissions reach the new access
// token; a disabled user loses every session; a changed password ends the
// sessions begun before it, not those begun after.
func TestRefreshFollowsTheUser(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	ada := e.user(tenant, "ada@example.com", viewerRole)
	bob := e.user(tenant, "bob@example.com", viewerRole)

	tok := e.signIn(tenant, "ada@example.com")
	if scopeOf(t, tok.AccessToken)["content:write"] {
		t.Fatal("a viewer can write")
	}
	e.assign(tenant, ada, editorRole, nil)
	r := e.refresh(tok.RefreshToken)
	if r.JSON200 == nil || !scopeOf(t, r.JSON200.AccessToken)["content:write"] {
		t.Fatalf("refresh after a new role: %d %s", r.StatusCode(), r.Body)
	}
	_, claims := claimsOf(t, r.JSON200.AccessToken)
	if roles, _ := claims["roles"].([]any); !slices.Equal(roles, []any{"editor", "viewer"}) {
		t.Errorf("roles %v", claims["roles"])
	}

	// Password changed by an administrator: the older session ends.
	before := e.signIn(tenant, "bob@example.com")
	if r, _ := e.uam.SetUserPasswordWithResponse(ctx, tenant, bob, uamclient.PasswordSet{Password: goodPassword + " too"},
		bearer(e.admin)); r.StatusCode() != http.StatusNoContent {
		t.Fatalf("set password: %d %s", r.StatusCode(), r.Body)
	}
	if r := e.refresh(before.RefreshToken); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("a session begun before the password change: %d %s", r.StatusCode(), r.Body)
	}
	after := e.login(&tenant, "bob@example.com", goodPassword+" too")
	if after.JSON200 == nil {
		t.Fatalf("login with the new password: %d %s", after.StatusCode(), after.Body)
	}
	if r := e.refresh(after.JSON200.RefreshToken); r.JSON200 == nil {
		t.Errorf("a session begun after the password change: %d %s", r.StatusCode(), r.Body)
	}

	// Disabled: both of Ada's sessions end, for good.
	second := e.signIn(tenant, "ada@example.com")
	e.uam.UpdateUserWithResponse(ctx, tenant, ada, nil, uamclient.UserUpdate{Status: ptr(uamclient.Locked)}, bearer(e.admin))
	if r := e.refresh(second.RefreshToken); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("refresh of a locked user: %d %s", r.StatusCode(), r.Body)
	}
	e.uam.UpdateUserWithResponse(ctx, tenant, ada, nil, uamclient.UserUpdate{Status: ptr(uamclient.Active)}, bearer(e.admin))
	if r := e.refresh(second.RefreshToken); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("a locked user's session came back: %d", r.StatusCode())
	}

	// Deleted: the session ends.
	if r, _ := e.uam.DeleteUserWithResponse(ctx, tenant, bob, nil, bearer(e.admin)); r.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.StatusCode(), r.Body)
	}
	if r := e.refresh(after.JSON200.RefreshToken); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("refresh of a deleted user: %d", r.StatusCode())
	}
}

// Without tenant_id, login is into the platform tenant; an inactive tenant
// signs nobody in.
func TestLoginIntoAnInactiveTenantFails(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "ada@example.com", viewerRole)
	tok := e.signIn(tenant, "ada@example.com")
	if r, _ := e.vault.UpdateTenantWithResponse(ctx, tenant, nil, cvclient.TenantUpdate{IsActive: ptr(false)}, bearer(e.admin)); r.JSON200 == nil {
		t.Fatalf("deactivate: %d %s", r.StatusCode(), r.Body)
	}
	if r := e.login(&tenant, "ada@example.com", goodPassword); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("login into an inactive tenant: %d %s", r.StatusCode(), r.Body)
	}
	if r := e.refresh(tok.RefreshToken); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("refresh in an inactive tenant: %d %s", r.StatusCode(), r.Body)
	}
}

// The address a sign-in is throttled by is the connection's: an
// X-Forwarded-For header, whatever the client writes into it, changes
// nothing. 20 failures per address are free, whatever the accounts.
func TestLoginThrottlesTheConnectionsAddress(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "ada@example.com")
	for i := range 21 {
		forwarded := func(_ context.Context, req *http.Request) error {
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
			return nil
		}
		r, err := e.iam.LoginWithResponse(ctx, client.LoginRequest{TenantId: &tenant, Email: fmt.Sprintf("guess%d@example.com", i),
			Password: "wrong"}, forwarded)
		if err != nil || r.StatusCode() != http.StatusUnauthorized {
			t.Fatalf("failure %d: %v %d %s", i+1, err, r.StatusCode(), r.Body)
		}
	}
	if r := e.login(&tenant, "ada@example.com", goodPassword); r.StatusCode() != http.StatusTooManyRequests ||
		r.HTTPResponse.Header.Get("Retry-After") == "" {
		t.Errorf("after 21 failures from one address: %d %s", r.StatusCode(), r.Body)
	}
}

// Disabling or locking a user ends the user's sessions even when the user is
// active again before the next refresh; a change that is not about access,
// such as the profile or the email's verification, ends none.
func TestSessionsEndWithAccessNotWithProfile(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	ada := e.user(tenant, "ada@example.com", viewerRole)

	for _, status := range []uamclient.UserStatus{uamclient.Disabled, uamclient.Locked} {
		tok := e.signIn(tenant, "ada@example.com")
		for _, st := range []uamclient.UserStatus{status, uamclient.Active} {
			if r, _ := e.uam.UpdateUserWithResponse(ctx, tenant, ada, nil, uamclient.UserUpdate{Status: ptr(st)}, bearer(e.admin)); r.JSON200 == nil {
				t.Fatalf("status %s: %d %s", st, r.StatusCode(), r.Body)
			}
		}
		if r := e.refresh(tok.RefreshToken); r.StatusCode() != http.StatusUnauthorized {
			t.Errorf("%s and active again: the session survived (%d)", status, r.StatusCode())
		}
	}

	tok := e.signIn(tenant, "ada@example.com")
	if r, _ := e.uam.UpdateUserProfileWithResponse(ctx, tenant, ada, nil, uamclient.ProfileUpdate{DisplayName: ptr("Ada")},
		bearer(e.admin)); r.JSON200 == nil {
		t.Fatalf("profile: %d %s", r.StatusCode(), r.Body)
	}
	if r, _ := e.uam.UpdateUserWithResponse(ctx, tenant, ada, nil, uamclient.UserUpdate{EmailVerified: ptr(true)}, bearer(e.admin)); r.JSON200 == nil {
		t.Fatalf("email verified: %d %s", r.StatusCode(), r.Body)
	}
	if r := e.refresh(tok.RefreshToken); r.JSON200 == nil {
		t.Errorf("a profile change ended the session: %d %s", r.StatusCode(), r.Body)
	}
}

// Right and wrong passwords for one account from one address at the same
// time: each attempt is counted, or forgiven, without a deadlock between
// the two statements that lock the throttle's rows (a deadlock is answered
// 409 after PostgreSQL's deadlock_timeout).
func TestConcurrentRightAndWrongPasswordsDoNotDeadlock(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "ada@example.com", viewerRole)
	codes := testkit.Concurrently(16, func(i int) int {
		pw := goodPassword
		if i%2 == 1 {
			pw += "-wrong"
		}
		return e.login(&tenant, "ada@example.com", pw).StatusCode()
	})
	for code, n := range testkit.Tally(codes) {
		if code != http.StatusOK && code != http.StatusUnauthorized && code != http.StatusTooManyRequests {
			t.Errorf("%d answers %d", n, code)
		}
	}
}
