package iam_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	client "github.com/saasplatform/saas/gen/client/iam"
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

// RFC 6749 §5.2 errors, with the Basic challenge for a client that used
// HTTP Basic.
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
		form      url.Values
		basic     *[2]string
		status    int
		code      string
		challenge bool
	}{
		"no grant_type":          {url.Values{}, good, 400, "invalid_request", false},
		"unknown grant_type":     {url.Values{"grant_type": {"password"}}, good, 400, "unsupported_grant_type", false},
		"repeated field":         {cc("scope", "sites:read", "scope", "sites:read"), good, 400, "invalid_request", false},
		"no client":              {cc(), nil, 401, "invalid_client", false},
		"wrong secret (basic)":   {cc(), &[2]string{id, "nope"}, 401, "invalid_client", true},
		"wrong secret (post)":    {cc("client_id", id, "client_secret", c.ClientSecret+"x"), nil, 401, "invalid_client", false},
		"unknown client":         {cc(), &[2]string{uuid.NewString(), c.ClientSecret}, 401, "invalid_client", true},
		"malformed client id":    {cc(), &[2]string{"ci", c.ClientSecret}, 401, "invalid_client", true},
		"two authentications":    {cc("client_id", id, "client_secret", c.ClientSecret), good, 400, "invalid_request", false},
		"refresh without token":  {url.Values{"grant_type": {"refresh_token"}}, nil, 400, "invalid_request", false},
		"refresh, unknown token": {url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, nil, 400, "invalid_grant", false},
		"service-only scope":     {cc("scope", "tokens:sign"), good, 400, "invalid_scope", false},
	} {
		resp, body := e.postForm("/oauth2/token", tc.form, tc.basic)
		if resp.StatusCode != tc.status || body["error"] != tc.code || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %v", name, resp.StatusCode, body)
		}
		if got := resp.Header.Get("WWW-Authenticate"); (got == `Basic realm="iam"`) != tc.challenge {
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
	if resp, _ := revoke(tok.RefreshToken, &[2]string{foreign.ClientId.String(), foreign.ClientSecret}); resp.StatusCode != http.StatusOK {
		t.Errorf("another tenant's client: %d", resp.StatusCode)
	}
	if r := e.refresh(tok.RefreshToken); r.JSON200 == nil {
		t.Fatalf("another tenant's client revoked the session: %d %s", r.StatusCode(), r.Body)
	} else {
		tok = *r.JSON200
	}
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
