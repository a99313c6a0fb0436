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
	"github.com/jackc/pgx/v5/pgxpool"

	cvapi "github.com/saasplatform/saas/gen/api/configvault"
	api "github.com/saasplatform/saas/gen/api/uam"
	cvclient "github.com/saasplatform/saas/gen/client/configvault"
	client "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/authn"
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
// fresh database, reached through the generated clients, with every response
// checked against the specs.
type env struct {
	t      testing.TB
	pool   *pgxpool.Pool
	url    string
	c      *client.ClientWithResponses
	vault  *cvclient.ClientWithResponses
	svc    *uam.Service
	hasher *password.Hasher
}

// principalHeader stands in for the access token until the IAM service turns
// authentication on: "tenant-id/user-id" becomes the request's principal.
const principalHeader = "X-Test-Principal"

func asPrincipal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get(principalHeader); v != "" {
			tenant, user, _ := strings.Cut(v, "/")
			p := authn.Principal{TenantID: uuid.MustParse(tenant), Subject: user}
			if user != "" {
				id := uuid.MustParse(user)
				p.UserID = &id
			}
			r = r.WithContext(authn.WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
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
	o := envOptions{params: password.DefaultParams(), concurrency: 4}
	for _, f := range opts {
		f(&o)
	}
	pool := dbtest.New(t, idempotency.Migrations, configvault.Migrations, uam.Migrations)
	kr, err := keycrypto.NewKeyring(newMasterKey(t))
	if err != nil {
		t.Fatal(err)
	}
	idem := idempotency.New(pool, func(*http.Request) string { return "test" }, idempotency.Options{})
	vaultAPI := configvault.NewAPI(configvault.NewService(pool, kr, nil), idem)

	// UAM reaches Config Vault in-process, as `saas serve` does by default.
	local := &svcclient.Local{}
	server, hc := svcclient.New("", configvault.Prefix, local.Handler, 5*time.Second)
	inner, err := cvclient.NewClientWithResponses(server, cvclient.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	hasher := password.NewHasher(o.params, o.concurrency, 5*time.Second)
	svc := uam.NewService(pool, uam.NewConfigVault(inner, time.Minute), hasher, o.opts)
	root, err := httpapi.Root([]httpapi.API{vaultAPI, uam.NewAPI(svc, idem)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	local.Set(root)
	srv := httptest.NewServer(asPrincipal(root))
	t.Cleanup(srv.Close)

	uamSpec, err := api.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewClientWithResponses(srv.URL+uam.Prefix,
		client.WithHTTPClient(contract.NewTransport(t, uamSpec, uam.Prefix).Client()))
	if err != nil {
		t.Fatal(err)
	}
	vaultSpec, err := cvapi.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	vault, err := cvclient.NewClientWithResponses(srv.URL+configvault.Prefix,
		cvclient.WithHTTPClient(contract.NewTransport(t, vaultSpec, configvault.Prefix).Client()))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, pool: pool, url: srv.URL, c: c, vault: vault, svc: svc, hasher: hasher}
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

// as makes a request act for a user, as a user's access token will.
func as(tenant, user uuid.UUID) client.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set(principalHeader, tenant.String()+"/"+user.String())
		return nil
	}
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
