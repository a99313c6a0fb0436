// Package apptest runs the whole platform for a test, as `saas serve` does:
// every service in one process over a fresh database, authentication on,
// the platform tenant and its administrator bootstrapped, served on a
// loopback address. Callers sign in through IAM like any client.
package apptest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	iamapi "github.com/saasplatform/saas/gen/api/iam"
	iamclient "github.com/saasplatform/saas/gen/client/iam"
	"github.com/saasplatform/saas/internal/app"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/contract"
	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/uam/password"
)

// AdminPassword is the bootstrap administrator's password in tests.
const AdminPassword = "correct horse battery staple 42"

// Platform is a running platform.
type Platform struct {
	*app.Platform
	// URL is the base URL (http://127.0.0.1:port); the public URL as well.
	URL              string
	Pool             *pgxpool.Pool
	PlatformTenantID uuid.UUID
	AdminEmail       string
	AdminPassword    string
}

// Options adjust the platform a test starts.
type Options struct {
	// Configure may change the configuration before the platform is built.
	Configure func(*app.Config)
	// Services are the services the process runs (default: all). Without
	// some, set their URLs or keep to services that do not call them, and
	// give the process its service keys (Configure).
	Services []app.Service
	// DatabaseURL, when set, is the database the platform runs on, created
	// if missing and migrated as `saas serve` does, instead of a fresh one
	// from dbtest: for a test that runs, stops and restarts a PostgreSQL
	// server of its own. The pool is pg.Open's, as in production.
	DatabaseURL string
}

// Start runs every service; it stops when the test ends.
func Start(t testing.TB) *Platform { return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options) *Platform {
	t.Helper()
	var pool *pgxpool.Pool
	if opts.DatabaseURL != "" {
		pool = openDatabase(t, opts.DatabaseURL)
	} else {
		pool = dbtest.New(t, app.MigrationsOf(app.Services)...)
	}
	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	var mk [32]byte
	_, _ = rand.Read(mk[:])
	master, err := keycrypto.ParseMasterKey(base64.StdEncoding.EncodeToString(mk[:]))
	if err != nil {
		t.Fatal(err)
	}
	keyring, err := keycrypto.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.Config{
		PublicURL:         srv.URL,
		PlatformTenantID:  app.DefaultPlatformTenantID,
		Keyring:           keyring,
		ServiceURLs:       map[string]string{},
		Argon2:            password.DefaultParams(),
		HashConcurrency:   2,
		BootstrapEmail:    app.DefaultBootstrapEmail,
		BootstrapPassword: AdminPassword,
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	selected := opts.Services
	if selected == nil {
		selected = app.Services
	}
	p, err := app.New(ctx, cfg, pool, selected)
	if err != nil {
		t.Fatal(err)
	}
	handler.Store(&p.Handler)
	if err := p.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	return &Platform{Platform: p, URL: srv.URL, Pool: pool, PlatformTenantID: cfg.PlatformTenantID,
		AdminEmail: cfg.BootstrapEmail, AdminPassword: cfg.BootstrapPassword}
}

// openDatabase creates the database at url if needed, connects and
// migrates every service's schema; the pool closes when the test ends.
func openDatabase(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pg.EnsureDatabase(ctx, url); err != nil {
		t.Fatal(err)
	}
	pool, err := pg.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pg.Migrate(ctx, pool, app.MigrationsOf(app.Services)...); err != nil {
		t.Fatal(err)
	}
	return pool
}

// IAM is a client of the IAM service validating every answer against its
// spec.
func (p *Platform) IAM(t testing.TB) *iamclient.ClientWithResponses {
	t.Helper()
	spec, err := iamapi.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	c, err := iamclient.NewClientWithResponses(p.URL+"/iam/v1",
		iamclient.WithHTTPClient(contract.NewTransport(t, spec, "/iam/v1").Client()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Login signs in and returns the access and refresh tokens; tenant nil
// means the platform tenant.
func (p *Platform) Login(t testing.TB, tenant *uuid.UUID, email, pw string) (access, refresh string) {
	t.Helper()
	res, err := p.IAM(t).LoginWithResponse(context.Background(), iamclient.LoginJSONRequestBody{
		TenantId: tenant, Email: email, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON200 == nil {
		t.Fatalf("login as %s: %d %s", email, res.StatusCode(), res.Body)
	}
	return res.JSON200.AccessToken, res.JSON200.RefreshToken
}

// AdminToken is an access token of the platform administrator.
func (p *Platform) AdminToken(t testing.TB) string {
	t.Helper()
	access, _ := p.Login(t, nil, p.AdminEmail, p.AdminPassword)
	return access
}

// Bearer returns a request editor for generated clients that sends token.
func Bearer(token string) func(ctx context.Context, req *http.Request) error {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}
