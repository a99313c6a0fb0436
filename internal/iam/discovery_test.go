package iam_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"

	client "github.com/saasplatform/saas/gen/client/iam"
	uamclient "github.com/saasplatform/saas/gen/client/uam"
)

func TestDiscoveryMetadataAndKeys(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	e.user(tenant, "ada@example.com", viewerRole)
	e.signIn(tenant, "ada@example.com") // the tenant's first token creates its key

	r, err := e.iam.OpenidConfigurationWithResponse(ctx, tenant)
	if err != nil || r.JSON200 == nil {
		t.Fatalf("metadata: %v %d %s", err, r.StatusCode(), r.Body)
	}
	m := r.JSON200
	iss := e.p.URL + "/iam/v1/tenants/" + tenant.String()
	api := e.p.URL + "/iam/v1"
	if m.Issuer != iss || m.JwksUri != iss+"/jwks.json" || m.TokenEndpoint != api+"/oauth2/token" ||
		*m.RevocationEndpoint != api+"/oauth2/revoke" || *m.IntrospectionEndpoint != api+"/oauth2/introspect" ||
		*m.UserinfoEndpoint != api+"/userinfo" ||
		!slices.Equal(*m.GrantTypesSupported, []string{"client_credentials", "refresh_token"}) ||
		!slices.Contains(m.IdTokenSigningAlgValuesSupported, "ES256") ||
		!slices.Equal(*m.TokenEndpointAuthMethodsSupported, []string{"client_secret_basic", "client_secret_post"}) {
		t.Errorf("metadata %+v", m)
	}
	if r.HTTPResponse.Header.Get("Cache-Control") == "" {
		t.Error("no Cache-Control")
	}
	// No interactive flows: no authorization endpoint and no response
	// type, said as RFC 8414 allows, rather than promising what is not
	// there (see ProviderMetadata in the spec).
	if m.AuthorizationEndpoint != nil || m.ResponseTypesSupported == nil || len(m.ResponseTypesSupported) != 0 {
		t.Errorf("authorization_endpoint %v, response_types_supported %v", m.AuthorizationEndpoint, m.ResponseTypesSupported)
	}

	keys, err := e.iam.TenantJWKSWithResponse(ctx, tenant)
	if err != nil || keys.JSON200 == nil || len(keys.JSON200.Keys) == 0 {
		t.Fatalf("jwks: %v %d %s", err, keys.StatusCode(), keys.Body)
	}
	direct, _ := e.vault.GetTenantJWKSWithResponse(ctx, tenant)
	var passed, published any
	must(t, json.Unmarshal(keys.Body, &passed))
	must(t, json.Unmarshal(direct.Body, &published))
	if !reflect.DeepEqual(passed, published) || keys.HTTPResponse.Header.Get("Cache-Control") != direct.HTTPResponse.Header.Get("Cache-Control") {
		t.Errorf("IAM's key set differs from Config Vault's: %s vs %s", keys.Body, direct.Body)
	}

	unknown := uuid.Must(uuid.NewV7())
	if r, _ := e.iam.OpenidConfigurationWithResponse(ctx, unknown); r.StatusCode() != http.StatusNotFound {
		t.Errorf("metadata of an unknown tenant: %d", r.StatusCode())
	}
	if r, _ := e.iam.TenantJWKSWithResponse(ctx, unknown); r.StatusCode() != http.StatusNotFound {
		t.Errorf("keys of an unknown tenant: %d", r.StatusCode())
	}
}

// A standard library discovers a tenant's issuer and verifies its access
// tokens with nothing but the issuer URL and the audience.
func TestGoOIDCVerifiesAccessTokens(t *testing.T) {
	e := newEnv(t)
	tenant, other := e.tenant(), e.tenant()
	user := e.user(tenant, "ada@example.com", viewerRole)
	e.user(other, "bob@example.com", viewerRole)
	ada := e.signIn(tenant, "ada@example.com")
	bob := e.signIn(other, "bob@example.com")

	octx := oidc.ClientContext(ctx, e.http)
	provider, err := oidc.NewProvider(octx, e.p.URL+"/iam/v1/tenants/"+tenant.String())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: e.p.URL})
	tok, err := verifier.Verify(octx, ada.AccessToken)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var claims struct {
		TenantID string `json:"tenant_id"`
		Scope    string `json:"scope"`
	}
	if err := tok.Claims(&claims); err != nil || tok.Subject != user.String() || claims.TenantID != tenant.String() || claims.Scope == "" {
		t.Errorf("token %+v %+v %v", tok, claims, err)
	}
	if _, err := verifier.Verify(octx, bob.AccessToken); err == nil {
		t.Error("another tenant's token verified against this issuer")
	}
	if _, err := verifier.Verify(octx, ada.AccessToken[:len(ada.AccessToken)-4]+"AAAA"); err == nil {
		t.Error("a tampered token verified")
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: "another-audience"}).Verify(octx, ada.AccessToken); err == nil {
		t.Error("a token verified for another audience")
	}
}

func TestUserInfo(t *testing.T) {
	e := newEnv(t)
	tenant := e.tenant()
	user := e.user(tenant, "ada@example.com", viewerRole)
	if r, _ := e.uam.UpdateUserProfileWithResponse(ctx, tenant, user, nil, uamclient.ProfileUpdate{DisplayName: ptr("Ada L."),
		Locale: ptr("en-GB"), Timezone: ptr("Europe/London")}, bearer(e.admin)); r.JSON200 == nil {
		t.Fatalf("profile: %d %s", r.StatusCode(), r.Body)
	}
	tok := e.signIn(tenant, "ada@example.com")

	r, err := e.iam.UserInfoWithResponse(ctx, bearer(tok.AccessToken))
	if err != nil || r.JSON200 == nil {
		t.Fatalf("userinfo: %v %d %s", err, r.StatusCode(), r.Body)
	}
	want := client.UserInfo{Sub: user.String(), TenantId: tenant, Email: ptr("ada@example.com"), EmailVerified: ptr(false),
		Name: ptr("Ada L."), Locale: ptr("en-GB"), Zoneinfo: ptr("Europe/London")}
	if !reflect.DeepEqual(*r.JSON200, want) {
		t.Errorf("userinfo %s", r.Body)
	}

	if r, _ := e.iam.UserInfoWithResponse(ctx); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("without a token: %d", r.StatusCode())
	}
	c := e.registerClient(tenant, "sites:read")
	cc := e.clientToken(c)
	// Refusals challenge as RFC 6750 §3 says.
	if r, _ := e.iam.UserInfoWithResponse(ctx, bearer(cc)); r.StatusCode() != http.StatusForbidden ||
		r.HTTPResponse.Header.Get("WWW-Authenticate") != `Bearer error="insufficient_scope"` {
		t.Errorf("a client's token: %d %v %s", r.StatusCode(), r.HTTPResponse.Header, r.Body)
	}
	e.uam.UpdateUserWithResponse(ctx, tenant, user, nil, uamclient.UserUpdate{Status: ptr(uamclient.Disabled)}, bearer(e.admin))
	if r, _ := e.iam.UserInfoWithResponse(ctx, bearer(tok.AccessToken)); r.StatusCode() != http.StatusUnauthorized ||
		r.HTTPResponse.Header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Errorf("a disabled user: %d %v %s", r.StatusCode(), r.HTTPResponse.Header, r.Body)
	}
}
