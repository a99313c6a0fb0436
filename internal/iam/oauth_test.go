package iam_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	client "github.com/saasplatform/saas/gen/client/iam"
	uamclient "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/iam"
)

// The client-credentials grant with each way of authenticating, scope
// narrowing, and the token at work in another service.
func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	c := e.registerClient(tenant, "sites:read", "tenants:read")
	id := c.ClientId.String()

	for name, auth := range map[string]struct {
		form  url.Values
		basic *[2]string
	}{
		"basic": {url.Values{}, &[2]string{id, c.ClientSecret}},
		"post":  {url.Values{"client_id": {id}, "client_secret": {c.ClientSecret}}, nil},
	} {
		auth.form.Set("grant_type", "client_credentials")
		resp, body := e.postForm("/oauth2/token", auth.form, auth.basic)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", name, resp.StatusCode, body)
		}
		if resp.Header.Get("Cache-Control") != "no-store" || body["token_type"] != "Bearer" || body["expires_in"] != 900.0 ||
			body["scope"] != "sites:read tenants:read" || body["refresh_token"] != nil {
			t.Errorf("%s: %v %v", name, resp.Header, body)
		}
		access := body["access_token"].(string)
		_, claims := claimsOf(t, access)
		if claims["sub"] != id || claims["client_id"] != id || claims["sub_type"] != "client" || claims["tenant_id"] != tenant.String() {
			t.Errorf("%s: claims %v", name, claims)
		}
		if r, _ := e.vault.ListTenantSitesWithResponse(ctx, tenant, nil, bearer(access)); r.JSON200 == nil {
			t.Errorf("%s: the client's token at Config Vault: %d %s", name, r.StatusCode(), r.Body)
		}
	}

	narrow := url.Values{"grant_type": {"client_credentials"}, "scope": {"sites:read"}}
	if resp, body := e.postForm("/oauth2/token", narrow, &[2]string{id, c.ClientSecret}); resp.StatusCode != http.StatusOK ||
		body["scope"] != "sites:read" {
		t.Errorf("narrowed: %d %v", resp.StatusCode, body)
	}
	wider := url.Values{"grant_type": {"client_credentials"}, "scope": {"sites:read sites:write"}}
	if resp, body := e.postForm("/oauth2/token", wider, &[2]string{id, c.ClientSecret}); resp.StatusCode != http.StatusBadRequest ||
		body["error"] != "invalid_scope" {
		t.Errorf("beyond the allowed scopes: %d %v", resp.StatusCode, body)
	}

	// x/oauth2 obtains a token, and its client uses it.
	cfg := clientcredentials.Config{ClientID: id, ClientSecret: c.ClientSecret, TokenURL: e.p.URL + "/iam/v1/oauth2/token",
		Scopes: []string{"tenants:read"}}
	octx := context.WithValue(ctx, oauth2.HTTPClient, e.http)
	tok, err := cfg.Token(octx)
	if err != nil {
		t.Fatalf("clientcredentials: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken != "" || !tok.Valid() || scopeOf(t, tok.AccessToken)["sites:read"] {
		t.Errorf("token %+v", tok)
	}
	// The token comes through the IAM contract check; the call to Config
	// Vault goes over a plain transport.
	resp, err := oauth2.NewClient(ctx, cfg.TokenSource(octx)).Get(e.p.URL + "/config-vault/v1/tenants/" + tenant.String())
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the library's client at Config Vault: %v %v", err, resp)
	}
	if resp != nil {
		resp.Body.Close()
	}
	bad := cfg
	bad.ClientSecret = "wrong"
	var re *oauth2.RetrieveError
	if _, err := bad.Token(octx); !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Errorf("wrong secret through the library: %v", err)
	}
}

// RFC 6749 §5.2 errors; every invalid_client 401 carries the Basic
// challenge, whichever way the client tried to authenticate.
func TestTokenEndpointErrors(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	c := e.registerClient(tenant, "sites:read")
	id := c.ClientId.String()
	good := &[2]string{id, c.ClientSecret}
	cc := func(extra ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Add(extra[i], extra[i+1])
		}
		return v
	}
	for name, tc := range map[string]struct {
		form   url.Values
		basic  *[2]string
		status int
		code   string
	}{
		"no grant_type":          {url.Values{}, good, 400, "invalid_request"},
		"unknown grant_type":     {url.Values{"grant_type": {"password"}}, good, 400, "unsupported_grant_type"},
		"repeated field":         {cc("scope", "sites:read", "scope", "sites:read"), good, 400, "invalid_request"},
		"no client":              {cc(), nil, 401, "invalid_client"},
		"wrong secret (basic)":   {cc(), &[2]string{id, "nope"}, 401, "invalid_client"},
		"wrong secret (post)":    {cc("client_id", id, "client_secret", c.ClientSecret+"x"), nil, 401, "invalid_client"},
		"unknown client":         {cc(), &[2]string{uuid.NewString(), c.ClientSecret}, 401, "invalid_client"},
		"malformed client id":    {cc(), &[2]string{"ci", c.ClientSecret}, 401, "invalid_client"},
		"two authentications":    {cc("client_id", id, "client_secret", c.ClientSecret), good, 400, "invalid_request"},
		"refresh without token":  {url.Values{"grant_type": {"refresh_token"}}, nil, 400, "invalid_request"},
		"refresh, unknown token": {url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, nil, 400, "invalid_grant"},
		"service-only scope":     {cc("scope", "tokens:sign"), good, 400, "invalid_scope"},
	} {
		resp, body := e.postForm("/oauth2/token", tc.form, tc.basic)
		if resp.StatusCode != tc.status || body["error"] != tc.code || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %v", name, resp.StatusCode, body)
		}
		if got := resp.Header.Get("WWW-Authenticate"); (got == `Basic realm="iam"`) != (tc.status == http.StatusUnauthorized) {
			t.Errorf("%s: WWW-Authenticate %q", name, got)
		}
	}
}

// The refresh_token grant rotates a sign-in's refresh token as /auth/refresh
// does; scope narrows the new access token; a registered client cannot use
// a sign-in's refresh token.
func TestRefreshTokenGrant(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "ada@example.com", viewerRole)
	tok := e.signIn(tenant, "ada@example.com")

	resp, body := e.postForm("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		"scope": {"users:read sites:read"}}, nil)
	if resp.StatusCode != http.StatusOK || body["scope"] != "sites:read users:read" || body["refresh_token"] == nil {
		t.Fatalf("refresh grant: %d %v", resp.StatusCode, body)
	}
	if scope := scopeOf(t, body["access_token"].(string)); len(scope) != 2 {
		t.Errorf("narrowed token's scope %v", scope)
	}
	next := body["refresh_token"].(string)

	resp, body = e.postForm("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next},
		"scope": {"users:write"}}, nil)
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_scope" {
		t.Errorf("a permission the user lacks: %d %v", resp.StatusCode, body)
	}
	c := e.registerClient(tenant, "sites:read")
	resp, body = e.postForm("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next}}, &[2]string{c.ClientId.String(), c.ClientSecret})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("a client presenting a sign-in's refresh token: %d %v", resp.StatusCode, body)
	}
	// The refused attempts left the token usable.
	if r := e.refresh(next); r.JSON200 == nil {
		t.Errorf("after refused grants: %d %s", r.StatusCode(), r.Body)
	}
}

// Deactivating, rotating the secret and deleting take effect at once.
func TestClientLifecycleStopsTokens(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	c := e.registerClient(tenant, "sites:read")
	token := func(secret string) int {
		resp, _ := e.postForm("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, &[2]string{c.ClientId.String(), secret})
		return resp.StatusCode
	}
	if got := token(c.ClientSecret); got != http.StatusOK {
		t.Fatalf("active: %d", got)
	}
	u, _ := e.iam.UpdateClientWithResponse(ctx, tenant, c.ClientId, nil, client.ClientUpdate{IsActive: ptr(false)}, bearer(e.admin))
	if u.JSON200 == nil || u.JSON200.IsActive {
		t.Fatalf("deactivate: %d %s", u.StatusCode(), u.Body)
	}
	if got := token(c.ClientSecret); got != http.StatusUnauthorized {
		t.Errorf("inactive: %d", got)
	}
	e.iam.UpdateClientWithResponse(ctx, tenant, c.ClientId, nil, client.ClientUpdate{IsActive: ptr(true)}, bearer(e.admin))

	r, _ := e.iam.RotateClientSecretWithResponse(ctx, tenant, c.ClientId, nil, bearer(e.admin))
	if r.JSON200 == nil || r.JSON200.ClientSecret == c.ClientSecret || r.HTTPResponse.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotate: %d %s", r.StatusCode(), r.Body)
	}
	if got := token(c.ClientSecret); got != http.StatusUnauthorized {
		t.Errorf("old secret: %d", got)
	}
	if got := token(r.JSON200.ClientSecret); got != http.StatusOK {
		t.Errorf("new secret: %d", got)
	}
	if d, _ := e.iam.DeleteClientWithResponse(ctx, tenant, c.ClientId, nil, bearer(e.admin)); d.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete: %d %s", d.StatusCode(), d.Body)
	}
	if got := token(r.JSON200.ClientSecret); got != http.StatusUnauthorized {
		t.Errorf("deleted: %d", got)
	}
}

// Introspection: an authenticated client learns about tokens of its own
// tenant only.
func TestIntrospection(t *testing.T) {
	e := newEnv(t)
	tenant, other := e.tenant(), e.tenant()
	site := e.site(tenant)
	user := e.user(tenant, "ada@example.com", viewerRole)
	e.assign(tenant, user, editorRole, &site)
	e.user(other, "bob@example.com", viewerRole)
	c := e.registerClient(tenant, "sites:read")
	creds := &[2]string{c.ClientId.String(), c.ClientSecret}
	introspect := func(token string, basic *[2]string) (*http.Response, map[string]any) {
		return e.postForm("/oauth2/introspect", url.Values{"token": {token}}, basic)
	}

	ada := e.signIn(tenant, "ada@example.com")
	resp, body := introspect(ada.AccessToken, creds)
	if resp.StatusCode != http.StatusOK || body["active"] != true || body["sub"] != user.String() ||
		body["tenant_id"] != tenant.String() || body["token_type"] != "Bearer" || body["iss"] == nil || body["exp"] == nil ||
		body["aud"] != e.p.URL || !strings.Contains(body["scope"].(string), "users:read") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("a user's access token: %d %v", resp.StatusCode, body)
	}
	if sites, _ := body["site_scope"].(map[string]any); sites[site.String()] == nil {
		t.Errorf("site_scope %v", body["site_scope"])
	}
	if _, body := introspect(ada.RefreshToken, creds); body["active"] != true || body["token_type"] != "refresh_token" ||
		body["sub"] != user.String() {
		t.Errorf("a refresh token: %v", body)
	}
	_, cc := e.postForm("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, creds)
	if _, body := introspect(cc["access_token"].(string), creds); body["active"] != true || body["client_id"] != c.ClientId.String() {
		t.Errorf("the client's own token: %v", body)
	}

	bob := e.signIn(other, "bob@example.com")
	for name, token := range map[string]string{
		"another tenant's access token":  bob.AccessToken,
		"another tenant's refresh token": bob.RefreshToken,
		"garbage":                        "garbage",
		"a tampered token":               ada.AccessToken[:len(ada.AccessToken)-4] + "AAAA",
	} {
		resp, body := introspect(token, creds)
		if resp.StatusCode != http.StatusOK || len(body) != 1 || body["active"] != false {
			t.Errorf("%s: %d %v", name, resp.StatusCode, body)
		}
	}
	// A logged-out session's refresh token is inactive.
	e.iam.LogoutWithResponse(ctx, client.RefreshRequest{RefreshToken: ada.RefreshToken})
	if _, body := introspect(ada.RefreshToken, creds); body["active"] != false {
		t.Errorf("after logout: %v", body)
	}
	if resp, body := introspect(ada.AccessToken, nil); resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Errorf("without client authentication: %d %v", resp.StatusCode, body)
	}
	if resp, body := e.postForm("/oauth2/introspect", url.Values{}, creds); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Errorf("without a token: %d %v", resp.StatusCode, body)
	}
}

// Revocation (RFC 7009) ends a refresh token's session; access tokens are
// unsupported_token_type; unknown tokens are fine.
func TestRevocation(t *testing.T) {
	e := newEnv(t)
	tenant, other := e.tenant(), e.tenant()
	e.user(tenant, "ada@example.com", viewerRole)
	foreign := e.registerClient(other, "sites:read")
	revoke := func(token string, basic *[2]string) (*http.Response, map[string]any) {
		return e.postForm("/oauth2/revoke", url.Values{"token": {token}}, basic)
	}

	tok := e.signIn(tenant, "ada@example.com")
	if resp, body := revoke(tok.RefreshToken, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d %v", resp.StatusCode, body)
	}
	if r := e.refresh(tok.RefreshToken); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("refresh after revocation: %d", r.StatusCode())
	}
	if resp, body := revoke(tok.AccessToken, nil); resp.StatusCode != http.StatusBadRequest || body["error"] != "unsupported_token_type" {
		t.Errorf("an access token: %d %v", resp.StatusCode, body)
	}
	if resp, _ := revoke("unknown", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("an unknown token: %d", resp.StatusCode)
	}
	if resp, body := revoke("unknown", &[2]string{foreign.ClientId.String(), "wrong"}); resp.StatusCode != http.StatusUnauthorized ||
		body["error"] != "invalid_client" || resp.Header.Get("WWW-Authenticate") != `Basic realm="iam"` {
		t.Errorf("a wrong client secret: %d %v %v", resp.StatusCode, body, resp.Header)
	}
}

// Introspection answers inactive for tokens that no longer stand for
// anyone: a deleted or deactivated client's, a disabled user's (access and
// refresh tokens alike), although their signatures and lifetimes are fine.
func TestIntrospectionOfTokensWhoseSubjectIsGone(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	ada := e.user(tenant, "ada@example.com", viewerRole)
	asker := e.registerClient(tenant, "sites:read")
	creds := &[2]string{asker.ClientId.String(), asker.ClientSecret}
	active := func(token string) bool {
		t.Helper()
		resp, body := e.postForm("/oauth2/introspect", url.Values{"token": {token}}, creds)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("introspect: %d %v", resp.StatusCode, body)
		}
		return body["active"] == true
	}

	deleted, deactivated := e.registerClient(tenant, "sites:read"), e.registerClient(tenant, "sites:read")
	deletedToken, deactivatedToken := e.clientToken(deleted), e.clientToken(deactivated)
	tok := e.signIn(tenant, "ada@example.com")
	for name, token := range map[string]string{"client": deletedToken, "user's access": tok.AccessToken, "user's refresh": tok.RefreshToken} {
		if !active(token) {
			t.Fatalf("%s token inactive to begin with", name)
		}
	}
	if d, _ := e.iam.DeleteClientWithResponse(ctx, tenant, deleted.ClientId, nil, bearer(e.admin)); d.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete: %d %s", d.StatusCode(), d.Body)
	}
	if u, _ := e.iam.UpdateClientWithResponse(ctx, tenant, deactivated.ClientId, nil, client.ClientUpdate{IsActive: ptr(false)}, bearer(e.admin)); u.JSON200 == nil {
		t.Fatalf("deactivate: %d %s", u.StatusCode(), u.Body)
	}
	if r, _ := e.uam.UpdateUserWithResponse(ctx, tenant, ada, nil, uamclient.UserUpdate{Status: ptr(uamclient.Disabled)}, bearer(e.admin)); r.JSON200 == nil {
		t.Fatalf("disable: %d %s", r.StatusCode(), r.Body)
	}
	for name, token := range map[string]string{
		"a deleted client's token":     deletedToken,
		"a deactivated client's token": deactivatedToken,
		"a disabled user's access":     tok.AccessToken,
		"a disabled user's refresh":    tok.RefreshToken,
	} {
		if active(token) {
			t.Errorf("%s is active", name)
		}
	}
}

// Introspection tells, it never acts: a spent refresh token presented there,
// by a client of its tenant or of another, is inactive and ends nothing
// (presenting it to refresh would end the session).
func TestIntrospectionHasNoSideEffects(t *testing.T) {
	e := newEnv(t)
	tenant, other := e.tenant(), e.tenant()
	e.user(tenant, "ada@example.com", viewerRole)
	own, foreign := e.registerClient(tenant, "sites:read"), e.registerClient(other, "sites:read")
	first := e.signIn(tenant, "ada@example.com")
	second := e.refresh(first.RefreshToken).JSON200 // first is spent now

	for _, c := range []client.ClientWithSecret{foreign, own} {
		resp, body := e.postForm("/oauth2/introspect", url.Values{"token": {first.RefreshToken}}, &[2]string{c.ClientId.String(), c.ClientSecret})
		if resp.StatusCode != http.StatusOK || body["active"] != false {
			t.Errorf("a spent token: %d %v", resp.StatusCode, body)
		}
	}
	if r := e.refresh(second.RefreshToken); r.JSON200 == nil {
		t.Errorf("introspecting a spent token ended the session: %d %s", r.StatusCode(), r.Body)
	}
}

// Presenting a refresh token at the revocation endpoint is logging out:
// the token is the proof, so whoever presents it ends its session, whether
// they also authenticate as a client and whatever its tenant, and whatever
// the token's state (a spent one ends the session too, as at
// /auth/logout); credentials that are sent must be right.
func TestRevocationIsLogout(t *testing.T) {
	e := newEnv(t)
	tenant, other := e.tenant(), e.tenant()
	e.user(tenant, "ada@example.com", viewerRole)
	foreign := e.registerClient(other, "sites:read")
	for name, tc := range map[string]struct {
		basic *[2]string
		spent bool
	}{
		"unauthenticated":                        {nil, false},
		"unauthenticated, a spent token":         {nil, true},
		"another tenant's client":                {&[2]string{foreign.ClientId.String(), foreign.ClientSecret}, false},
		"another tenant's client, a spent token": {&[2]string{foreign.ClientId.String(), foreign.ClientSecret}, true},
	} {
		first := e.signIn(tenant, "ada@example.com")
		second := e.refresh(first.RefreshToken).JSON200
		presented := second.RefreshToken
		if tc.spent {
			presented = first.RefreshToken
		}
		if resp, body := e.postForm("/oauth2/revoke", url.Values{"token": {presented}}, tc.basic); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", name, resp.StatusCode, body)
		}
		if r := e.refresh(second.RefreshToken); r.StatusCode() != http.StatusUnauthorized {
			t.Errorf("%s: the session lives on: %d", name, r.StatusCode())
		}
	}
	tok := e.signIn(tenant, "ada@example.com")
	if resp, body := e.postForm("/oauth2/revoke", url.Values{"token": {tok.RefreshToken}}, &[2]string{foreign.ClientId.String(), "wrong"}); resp.StatusCode != http.StatusUnauthorized ||
		body["error"] != "invalid_client" {
		t.Errorf("wrong credentials: %d %v", resp.StatusCode, body)
	}
	if r := e.refresh(tok.RefreshToken); r.JSON200 == nil {
		t.Errorf("a refused revocation revoked: %d %s", r.StatusCode(), r.Body)
	}
}

// What request validation refuses at the OAuth endpoints is an RFC 6749
// invalid_request, with Cache-Control: no-store, as every other error there:
// a too long field, a malformed form, another media type.
func TestOAuthEndpointsAnswerValidationAsRFC6749(t *testing.T) {
	e := newEnv(t)
	post := func(path, contentType, body string) (*http.Response, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, e.p.URL+"/iam/v1"+path, strings.NewReader(body))
		must(t, err)
		req.Header.Set("Content-Type", contentType)
		resp, err := e.http.Do(req)
		must(t, err)
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp, out
	}
	const form = "application/x-www-form-urlencoded"
	for _, path := range []string{"/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"} {
		for name, tc := range map[string]struct{ contentType, body string }{
			"a too long client_secret": {form, "client_id=x&client_secret=" + strings.Repeat("s", 300)},
			"a bad escape":             {form, "grant_type=client_credentials&client_id=%zz"},
			"JSON":                     {"application/json", `{"grant_type":"client_credentials"}`},
		} {
			resp, body := post(path, tc.contentType, tc.body)
			if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" || body["error_description"] == nil ||
				resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s, %s: %d %v %v", path, name, resp.StatusCode, resp.Header, body)
			}
		}
	}
	if resp, body := post("/oauth2/token", form, "grant_type=client_credentials&scope="+strings.Repeat("a", 5000)); resp.StatusCode != http.StatusBadRequest ||
		body["error"] != "invalid_request" || !strings.Contains(body["error_description"].(string), "scope") {
		t.Errorf("a too long scope: %d %v", resp.StatusCode, body)
	}
}

// Client authentication details: every invalid_client 401 challenges
// (RFC 7235 requires it, RFC 6749 §5.2 names Basic), and a client_id in
// the form beside HTTP Basic is fine when it names the same client.
func TestClientAuthenticationDetails(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	c := e.registerClient(tenant, "sites:read")
	id := c.ClientId.String()
	cc := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {"wrong"}}
	if resp, body := e.postForm("/oauth2/token", cc, nil); resp.StatusCode != http.StatusUnauthorized ||
		resp.Header.Get("WWW-Authenticate") != `Basic realm="iam"` {
		t.Errorf("client_secret_post, wrong secret: %d %v %v", resp.StatusCode, resp.Header, body)
	}
	same := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}}
	if resp, body := e.postForm("/oauth2/token", same, &[2]string{id, c.ClientSecret}); resp.StatusCode != http.StatusOK {
		t.Errorf("Basic with the same client_id in the form: %d %v", resp.StatusCode, body)
	}
	otherID := url.Values{"grant_type": {"client_credentials"}, "client_id": {uuid.NewString()}}
	if resp, body := e.postForm("/oauth2/token", otherID, &[2]string{id, c.ClientSecret}); resp.StatusCode != http.StatusBadRequest ||
		body["error"] != "invalid_request" {
		t.Errorf("Basic with another client_id in the form: %d %v", resp.StatusCode, body)
	}
}

// A user's access token names the client it was issued to (RFC 9068 §2.2):
// the platform's own sign-in.
func TestUserTokensNameTheSignInClient(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "ada@example.com", viewerRole)
	tok := e.signIn(tenant, "ada@example.com")
	_, claims := claimsOf(t, tok.AccessToken)
	if claims["client_id"] != iam.SignInClientID {
		t.Errorf("client_id %v, want %q", claims["client_id"], iam.SignInClientID)
	}
	// Every service accepts it.
	if r, _ := e.vault.GetTenantWithResponse(ctx, tenant, bearer(tok.AccessToken)); r.JSON200 == nil {
		t.Errorf("Config Vault: %d %s", r.StatusCode(), r.Body)
	}
	if r := e.refresh(tok.RefreshToken); r.JSON200 == nil {
		t.Fatalf("refresh: %d", r.StatusCode())
	} else if _, claims := claimsOf(t, r.JSON200.AccessToken); claims["client_id"] != iam.SignInClientID {
		t.Errorf("refreshed client_id %v", claims["client_id"])
	}
}
