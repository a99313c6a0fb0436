package iam_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"

	cvapi "github.com/saasplatform/saas/gen/api/configvault"
	iamapi "github.com/saasplatform/saas/gen/api/iam"
	uamapi "github.com/saasplatform/saas/gen/api/uam"
	cvclient "github.com/saasplatform/saas/gen/client/configvault"
	client "github.com/saasplatform/saas/gen/client/iam"
	uamclient "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/app/apptest"
	"github.com/saasplatform/saas/internal/platform/contract"
	"github.com/saasplatform/saas/internal/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

var ctx = context.Background()

func ptr[T any](v T) *T { return &v }

const goodPassword = "correct horse battery staple"

// Built-in roles have the same id in every tenant.
var (
	tenantAdminRole = uuid.MustParse("00000000-0000-7000-8000-000000000201")
	editorRole      = uuid.MustParse("00000000-0000-7000-8000-000000000202")
	viewerRole      = uuid.MustParse("00000000-0000-7000-8000-000000000203")
)

// env is the whole platform (apptest) reached through the generated clients,
// every answer checked against its spec, and the platform administrator's
// token for setting things up.
type env struct {
	t     testing.TB
	p     *apptest.Platform
	iam   *client.ClientWithResponses
	uam   *uamclient.ClientWithResponses
	vault *cvclient.ClientWithResponses
	http  *http.Client // validates IAM's answers, for requests the generated client cannot make
	admin string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	return startEnv(t, apptest.Start(t))
}

func startEnv(t *testing.T, p *apptest.Platform) *env {
	t.Helper()
	iamSpec, err := iamapi.GetSwagger()
	must(t, err)
	uamSpec, err := uamapi.GetSwagger()
	must(t, err)
	cvSpec, err := cvapi.GetSwagger()
	must(t, err)
	// The contract transports route by the full base URL: a client's
	// requests carry scheme and host, which a path-only server URL never
	// matches, and an unmatched request goes unchecked.
	e := &env{t: t, p: p, http: contract.NewTransport(t, iamSpec, "/iam/v1").Client()}
	e.iam, err = client.NewClientWithResponses(p.URL+"/iam/v1", client.WithHTTPClient(e.http))
	must(t, err)
	e.uam, err = uamclient.NewClientWithResponses(p.URL+"/uam/v1",
		uamclient.WithHTTPClient(contract.NewTransport(t, uamSpec, "/uam/v1").Client()))
	must(t, err)
	e.vault, err = cvclient.NewClientWithResponses(p.URL+"/config-vault/v1",
		cvclient.WithHTTPClient(contract.NewTransport(t, cvSpec, "/config-vault/v1").Client()))
	must(t, err)
	e.admin = p.AdminToken(t)
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func bearer(token string) func(context.Context, *http.Request) error { return apptest.Bearer(token) }

func uniqueDomain(prefix string) string {
	return fmt.Sprintf("%s-%s.example.com", prefix, strings.ReplaceAll(uuid.NewString()[:8], "-", ""))
}

// tenant creates a tenant as the platform administrator.
func (e *env) tenant() uuid.UUID {
	e.t.Helper()
	r, err := e.vault.CreateTenantWithResponse(ctx, nil, cvclient.TenantCreate{Name: "Acme", Domain: uniqueDomain("acme")}, bearer(e.admin))
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("create tenant: %v %s", err, r.Body)
	}
	return r.JSON201.Id
}

// site creates a site of the tenant.
func (e *env) site(tenant uuid.UUID) uuid.UUID {
	e.t.Helper()
	r, err := e.vault.CreateSiteWithResponse(ctx, nil, cvclient.SiteCreate{TenantId: tenant, Name: "Blog", Domain: uniqueDomain("blog")}, bearer(e.admin))
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("create site: %v %s", err, r.Body)
	}
	return r.JSON201.Id
}

// user creates a user with a password and the given built-in or tenant
// roles, tenant-wide.
func (e *env) user(tenant uuid.UUID, email string, roles ...uuid.UUID) uuid.UUID {
	e.t.Helper()
	pw := goodPassword
	r, err := e.uam.CreateUserWithResponse(ctx, tenant, nil, uamclient.UserCreate{Email: email, Password: &pw}, bearer(e.admin))
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("create user %s: %v %s", email, err, r.Body)
	}
	for _, role := range roles {
		e.assign(tenant, r.JSON201.Id, role, nil)
	}
	return r.JSON201.Id
}

func (e *env) assign(tenant, user, role uuid.UUID, site *uuid.UUID) {
	e.t.Helper()
	r, err := e.uam.AssignRoleWithResponse(ctx, tenant, user, role, &uamclient.AssignRoleParams{SiteId: site}, bearer(e.admin))
	if err != nil || r.StatusCode() >= 300 {
		e.t.Fatalf("assign role: %v %s", err, r.Body)
	}
}

// role creates a role of the tenant with the given permissions.
func (e *env) role(tenant uuid.UUID, name string, perms ...string) uuid.UUID {
	e.t.Helper()
	r, err := e.uam.CreateRoleWithResponse(ctx, tenant, nil, uamclient.RoleCreate{Name: name, Permissions: &perms}, bearer(e.admin))
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("create role %s: %v %s", name, err, r.Body)
	}
	return r.JSON201.Id
}

func (e *env) login(tenant *uuid.UUID, email, pw string) *client.LoginResponse {
	e.t.Helper()
	r, err := e.iam.LoginWithResponse(ctx, client.LoginRequest{TenantId: tenant, Email: email, Password: pw})
	must(e.t, err)
	return r
}

// signIn logs in and returns the tokens, failing the test otherwise.
func (e *env) signIn(tenant uuid.UUID, email string) client.TokenResponse {
	e.t.Helper()
	r := e.login(&tenant, email, goodPassword)
	if r.JSON200 == nil {
		e.t.Fatalf("login %s: %d %s", email, r.StatusCode(), r.Body)
	}
	return *r.JSON200
}

func (e *env) refresh(token string) *client.RefreshResponse {
	e.t.Helper()
	r, err := e.iam.RefreshWithResponse(ctx, client.RefreshRequest{RefreshToken: token})
	must(e.t, err)
	return r
}

// registerClient registers a machine client of the tenant as the platform
// administrator.
func (e *env) registerClient(tenant uuid.UUID, scopes ...string) client.ClientWithSecret {
	e.t.Helper()
	r, err := e.iam.CreateClientWithResponse(ctx, tenant, client.ClientCreate{Name: "ci", Scopes: append([]string{}, scopes...)}, bearer(e.admin))
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("register client: %v %s", err, r.Body)
	}
	return *r.JSON201
}

// clientToken obtains an access token with the client's credentials.
func (e *env) clientToken(c client.ClientWithSecret) string {
	e.t.Helper()
	resp, body := e.postForm("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, &[2]string{c.ClientId.String(), c.ClientSecret})
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("client credentials: %d %v", resp.StatusCode, body)
	}
	return body["access_token"].(string)
}

// postForm posts a form to an IAM endpoint; basic, when not nil, holds the
// client id and secret for HTTP Basic.
func (e *env) postForm(path string, form url.Values, basic *[2]string) (*http.Response, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.p.URL+"/iam/v1"+path, strings.NewReader(form.Encode()))
	must(e.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := e.http.Do(req)
	must(e.t, err)
	defer resp.Body.Close()
	var body map[string]any
	if resp.ContentLength != 0 {
		_ = json.NewDecoder(resp.Body).Decode(&body)
	}
	return resp, body
}

// claimsOf decodes a JWT's header and payload, unverified.
func claimsOf(t testing.TB, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	for i, into := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		must(t, err)
		must(t, json.Unmarshal(raw, into))
	}
	return header, claims
}

// scopeOf is a token's scope claim as a set.
func scopeOf(t testing.TB, token string) map[string]bool {
	t.Helper()
	_, c := claimsOf(t, token)
	set := map[string]bool{}
	s, _ := c["scope"].(string)
	for _, p := range strings.Fields(s) {
		set[p] = true
	}
	return set
}
