package uam_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	cvapi "github.com/saasplatform/saas/gen/api/configvault"
	api "github.com/saasplatform/saas/gen/api/uam"
	cvclient "github.com/saasplatform/saas/gen/client/configvault"
	client "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/authtest"
	"github.com/saasplatform/saas/internal/platform/contract"
	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/idempotency"
	"github.com/saasplatform/saas/internal/platform/svcclient"
	"github.com/saasplatform/saas/internal/platform/testkit"
	"github.com/saasplatform/saas/internal/uam"
	"github.com/saasplatform/saas/internal/uam/password"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

var ctx = context.Background()

func ptr[T any](v T) *T { return &v }

// env is the UAM service and a real Config Vault in one handler chain over a
// fresh database, both behind the platform's authentication and authorization
// as they are mounted in production (tokens signed by is), reached through the
// generated clients, with every response checked against the specs.
type env struct {
	t    testing.TB
	pool *pgxpool.Pool
	url  string
	is   *authtest.Issuer
	// c calls UAM as the operation's usual caller (see callerFor) unless a
	// request names its own (e.as, e.with, anonymous).
	c *client.ClientWithResponses
	// vault calls Config Vault as a platform administrator.
	vault  *cvclient.ClientWithResponses
	svc    *uam.Service
	hasher *password.Hasher
}

type envOptions struct {
	params      password.Params
	concurrency int
	opts        uam.Options
}

func newEnv(t *testing.T, opts ...func(*envOptions)) *env {
	t.Helper()
	t.Parallel()
	return setupEnv(t, opts...)
}

// setupEnv is newEnv for benchmarks, which do not run in parallel.
func setupEnv(t testing.TB, opts ...func(*envOptions)) *env {
	t.Helper()
	// The platform tenant is the one the Issuer's authorization knows, as in
	// production, where both come from the same configuration.
	o := envOptions{params: password.DefaultParams(), concurrency: 4, opts: uam.Options{PlatformTenantID: authtest.PlatformTenantID}}
	for _, f := range opts {
		f(&o)
	}
	pool := dbtest.New(t, idempotency.Migrations, configvault.Migrations, uam.Migrations)
	kr, err := keycrypto.NewKeyring(newMasterKey(t))
	if err != nil {
		t.Fatal(err)
	}
	is := authtest.New(t)
	idem := idempotency.New(pool, func(*http.Request) string { return "test" }, idempotency.Options{})
	vaultAPI := is.Protect(t, configvault.NewAPI(configvault.NewService(pool, kr, nil), idem))

	// UAM reaches Config Vault in-process, as `saas serve` does by default,
	// with its own service credential.
	local := &svcclient.Local{}
	server, hc := svcclient.New("", configvault.Prefix, local.Handler, 5*time.Second)
	hc.Transport = is.Transport(t, "uam", "config-vault", hc.Transport)
	inner, err := cvclient.NewClientWithResponses(server, cvclient.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	hasher := password.NewHasher(o.params, o.concurrency, 5*time.Second)
	svc := uam.NewService(pool, uam.NewConfigVault(inner, time.Minute), hasher, o.opts)
	root, err := httpapi.Root([]httpapi.API{vaultAPI, is.Protect(t, uam.NewAPI(svc, idem))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	local.Set(root)
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	e := &env{t: t, pool: pool, url: srv.URL, is: is, svc: svc, hasher: hasher}

	uamSpec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	e.c, err = client.NewClientWithResponses(srv.URL+uam.Prefix,
		client.WithHTTPClient(contract.NewTransport(t, uamSpec, uam.Prefix).Client()),
		client.WithRequestEditorFn(e.callerFor))
	if err != nil {
		t.Fatal(err)
	}
	vaultSpec, err := cvapi.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	// Creating tenants is for platform administrators; sites are created in
	// tenants of all kinds, so the same administrator does that too.
	vaultAdmin := e.with(authtest.Grant{Tenant: authtest.PlatformTenantID,
		Scopes: []string{"tenants:read", "tenants:write", "sites:read", "sites:write"}})
	e.vault, err = cvclient.NewClientWithResponses(srv.URL+configvault.Prefix,
		cvclient.WithHTTPClient(contract.NewTransport(t, vaultSpec, configvault.Prefix).Client()),
		cvclient.WithRequestEditorFn(cvclient.RequestEditorFn(vaultAdmin)))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// callerFor signs each request of e.c that names no caller of its own with
// the token that the operation's usual caller holds, so that tests read as
// before authentication and name a caller only where the caller matters:
//
//   - /tenants/{tenant_id}/...: an administrator of that tenant (tenantAdmin);
//   - /internal/...: the IAM service's credential, as IAM alone calls them;
//   - /me...: nobody, as these act on the token's user, whom the test names
//     (e.as); without it they answer 401;
//   - anything else (the catalogue): an administrator of a tenant of its own.
//
// A request editor passed to a call runs after it and replaces the token.
func (e *env) callerFor(_ context.Context, req *http.Request) error {
	rest := strings.TrimPrefix(req.URL.Path, uam.Prefix)
	var token string
	switch {
	case strings.HasPrefix(rest, "/internal/"):
		var err error
		if token, _, err = e.is.Services().Mint("iam", "uam"); err != nil {
			return err
		}
	case rest == "/me" || strings.HasPrefix(rest, "/me/"):
		return nil
	case strings.HasPrefix(rest, "/tenants/"):
		id, _, _ := strings.Cut(strings.TrimPrefix(rest, "/tenants/"), "/")
		tenant, err := uuid.Parse(id)
		if err != nil {
			return nil // not a tenant: let validation answer, as it would anyone
		}
		token = e.is.Token(e.t, e.tenantAdmin(tenant))
	default:
		token = e.is.Token(e.t, e.tenantAdmin(uuid.New()))
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return nil
}

// tenantAdmin is the grant of an administrator of tenant as IAM would issue
// it now: everything the built-in tenant-admin role grants there, which is
// every tenant-level permission, the tenant's own included. It is read at
// each request, so that permissions a test creates are held at once.
func (e *env) tenantAdmin(tenant uuid.UUID) authtest.Grant {
	e.t.Helper()
	rows, err := e.pool.Query(ctx, `SELECT name FROM uam.permissions
		WHERE level = 'tenant' AND (tenant_id IS NULL OR tenant_id = $1)`, tenant)
	if err != nil {
		e.t.Fatalf("tenant-admin's permissions: %v", err)
	}
	perms, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatalf("tenant-admin's permissions: %v", err)
	}
	return authtest.Grant{Tenant: tenant, Scopes: perms}
}

// as makes a request act for user of tenant, holding scopes tenant-wide (the
// /me operations need none).
func (e *env) as(tenant, user uuid.UUID, scopes ...string) client.RequestEditorFn {
	return e.with(authtest.Grant{Tenant: tenant, User: user, Scopes: scopes})
}

// with makes a request with an access token of g.
func (e *env) with(g authtest.Grant) client.RequestEditorFn {
	return bearer(e.is.Token(e.t, g))
}

// bearer makes a request with token.
func bearer(token string) client.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// anonymous makes a request without a token.
func anonymous(_ context.Context, req *http.Request) error {
	req.Header.Del("Authorization")
	return nil
}

func newMasterKey(t testing.TB) keycrypto.MasterKey {
	t.Helper()
	mk, err := keycrypto.ParseMasterKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if err != nil {
		t.Fatal(err)
	}
	return mk
}

func uniqueDomain(prefix string) string {
	return fmt.Sprintf("%s-%s.example.com", prefix, strings.ReplaceAll(uuid.NewString()[:8], "-", ""))
}

// tenant creates a tenant in Config Vault.
func (e *env) tenant() uuid.UUID {
	e.t.Helper()
	r, err := e.vault.CreateTenantWithResponse(ctx, nil, cvclient.TenantCreate{Name: "Acme", Domain: uniqueDomain("acme")})
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("create tenant: %v %s", err, r.Body)
	}
	return r.JSON201.Id
}

// site creates a site of the tenant in Config Vault.
func (e *env) site(tenant uuid.UUID) uuid.UUID {
	e.t.Helper()
	r, err := e.vault.CreateSiteWithResponse(ctx, nil, cvclient.SiteCreate{TenantId: tenant, Name: "Blog", Domain: uniqueDomain("blog")})
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("create site: %v %s", err, r.Body)
	}
	return r.JSON201.Id
}

// user creates a user; pw may be empty for none.
func (e *env) user(tenant uuid.UUID, email, pw string) client.User {
	e.t.Helper()
	body := client.UserCreate{Email: email}
	if pw != "" {
		body.Password = &pw
	}
	r, err := e.c.CreateUserWithResponse(ctx, tenant, nil, body)
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("create user %s: %v %s", email, err, r.Body)
	}
	return *r.JSON201
}

// role creates a role with the given permissions.
func (e *env) role(tenant uuid.UUID, name string, perms ...string) client.Role {
	e.t.Helper()
	body := client.RoleCreate{Name: name}
	if len(perms) > 0 {
		body.Permissions = &perms
	}
	r, err := e.c.CreateRoleWithResponse(ctx, tenant, nil, body)
	if err != nil || r.JSON201 == nil {
		e.t.Fatalf("create role %s: %v %s", name, err, r.Body)
	}
	return *r.JSON201
}

// Built-in roles have the same id in every tenant.
var (
	tenantAdminRole = uuid.MustParse("00000000-0000-7000-8000-000000000201")
	editorRole      = uuid.MustParse("00000000-0000-7000-8000-000000000202")
	viewerRole      = uuid.MustParse("00000000-0000-7000-8000-000000000203")
)

// fieldErrors returns the fields a problem response names.
func fieldErrors(p *client.Problem) []string {
	if p == nil || p.Errors == nil {
		return nil
	}
	var out []string
	for _, f := range *p.Errors {
		out = append(out, f.Field)
	}
	return out
}
