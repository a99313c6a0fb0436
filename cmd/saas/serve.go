package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	cvclient "github.com/saasplatform/saas/gen/client/configvault"
	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/platform/docspage"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/idempotency"
	"github.com/saasplatform/saas/internal/platform/metrics"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/svcclient"
	"github.com/saasplatform/saas/internal/uam"
	"github.com/saasplatform/saas/internal/uam/password"
)

// service is one runnable part of the platform.
type service struct {
	name       string
	migrations pg.Migrations
	build      func(ctx context.Context, deps deps) (httpapi.API, error)
}

// deps is what services are built from.
type deps struct {
	cfg         config
	pool        *pgxpool.Pool
	idempotency *idempotency.Middleware
	// local serves calls to services that run in this process; it is set
	// once the root handler exists.
	local *svcclient.Local
	// selected are the services this process runs.
	selected []service
}

// callTimeout bounds one call to another service.
const callTimeout = 5 * time.Second

// client returns the server URL and HTTP client for calling the named
// service: over the network when SAAS_<SERVICE>_URL is set, else in this
// process, which then must run it.
func (d deps) client(name, prefix string) (string, *http.Client, error) {
	base := d.cfg.ServiceURLs[name]
	if base == "" && !slices.ContainsFunc(d.selected, func(s service) bool { return s.name == name }) {
		return "", nil, fmt.Errorf("needs %s: run it in this process (--services) or set %s", name, serviceURLVar(name))
	}
	server, hc := svcclient.New(base, prefix, d.local.Handler, callTimeout)
	return server, hc, nil
}

var services = []service{
	{name: "config-vault", migrations: configvault.Migrations, build: buildConfigVault},
	{name: "uam", migrations: uam.Migrations, build: buildUAM},
}

func buildConfigVault(ctx context.Context, d deps) (httpapi.API, error) {
	var keygen *keycrypto.Pool
	if d.cfg.RSAPoolSize > 0 {
		var err error
		if keygen, err = keycrypto.NewPool(map[int]int{2048: d.cfg.RSAPoolSize}); err != nil {
			return httpapi.API{}, err
		}
		keygen.Start(ctx)
	}
	svc := configvault.NewService(d.pool, d.cfg.Keyring, keygen)
	// A master key that cannot open the stored keys would only surface when
	// IAM asks for a signature; refuse to start instead.
	if err := svc.CheckKeyring(ctx); err != nil {
		return httpapi.API{}, err
	}
	return configvault.NewAPI(svc, d.idempotency), nil
}

// tenantCacheTTL bounds how long UAM trusts that a tenant or site exists.
const tenantCacheTTL = 30 * time.Second

func buildUAM(_ context.Context, d deps) (httpapi.API, error) {
	server, hc, err := d.client("config-vault", configvault.Prefix)
	if err != nil {
		return httpapi.API{}, err
	}
	vault, err := cvclient.NewClientWithResponses(server, cvclient.WithHTTPClient(hc))
	if err != nil {
		return httpapi.API{}, err
	}
	// A caller waits at most this long for a hashing slot before a 503.
	const hashWait = 2 * time.Second
	hasher := password.NewHasher(d.cfg.Argon2, d.cfg.HashConcurrency, hashWait)
	svc := uam.NewService(d.pool, uam.NewConfigVault(vault, tenantCacheTTL), hasher,
		uam.Options{PlatformTenantID: d.cfg.PlatformTenantID})
	return uam.NewAPI(svc, d.idempotency), nil
}

func selectServices(list string) ([]service, error) {
	if strings.TrimSpace(list) == "" {
		return services, nil
	}
	var out []service
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(services, func(s service) bool { return s.name == name })
		if i < 0 {
			var known []string
			for _, s := range services {
				known = append(known, s.name)
			}
			return nil, fmt.Errorf("--services: unknown service %q (known: %s)", name, strings.Join(known, ", "))
		}
		if !slices.ContainsFunc(out, func(s service) bool { return s.name == name }) {
			out = append(out, services[i])
		}
	}
	return out, nil
}

func migrationsOf(selected []service) []pg.Migrations {
	sets := []pg.Migrations{idempotency.Migrations}
	for _, s := range selected {
		sets = append(sets, s.migrations)
	}
	return sets
}

// openDatabase creates the database if needed, connects and migrates.
func openDatabase(ctx context.Context, cfg config, selected []service) (*pgxpool.Pool, error) {
	if err := pg.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	pool, err := pg.Open(ctx, cfg.DatabaseURL, pg.MaxConns(cfg.DBMaxConns))
	if err != nil {
		return nil, err
	}
	if err := pg.Migrate(ctx, pool, migrationsOf(selected)...); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

func serve(ctx context.Context, cfg config, selected []service) error {
	stopTracing, err := startTracing(ctx, selected)
	if err != nil {
		return err
	}
	defer stopTracing() // last: after the server has drained and the pool closed
	pool, err := openDatabase(ctx, cfg, selected)
	if err != nil {
		return err
	}
	defer pool.Close()
	stopPoolStats, err := observePool(pool)
	if err != nil {
		return err
	}
	defer stopPoolStats()

	// Background work stops with the server, not with the signal: in-flight
	// requests may still need the key pool while draining.
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	idem := idempotency.New(pool, callerScope, idempotency.Options{HashKey: cfg.Keyring.Derive("idempotency")})
	d := deps{cfg: cfg, pool: pool, idempotency: idem,
		local: &svcclient.Local{}, selected: selected}
	go purgeEvery(bg, d.idempotency, time.Hour)

	var apis []httpapi.API
	for _, s := range selected {
		api, err := s.build(bg, d)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		apis = append(apis, api)
	}
	extra := httpapi.Health(readiness(pool, migrationsOf(selected)))
	extra["/metrics"] = metrics.Handler()
	for pattern, h := range docsRoutes(apis) {
		extra[pattern] = h
	}
	handler, err := httpapi.Root(apis, extra)
	if err != nil {
		return err
	}
	d.local.Set(handler)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	return listenAndServe(ctx, cfg, handler, ln)
}

// callerScope separates Idempotency-Keys of different callers. Until the IAM
// service turns authentication on, every caller is the same anonymous one.
func callerScope(*http.Request) string { return "anonymous" }

// purgeEvery drops expired idempotency records; any replica may do it.
func purgeEvery(ctx context.Context, m *idempotency.Middleware, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := m.Purge(ctx); err != nil {
				slog.Warn("purging idempotency records failed", "error", err.Error())
			} else if n > 0 {
				slog.Info("purged idempotency records", "count", n)
			}
		}
	}
}

func readiness(pool *pgxpool.Pool, sets []pg.Migrations) func(context.Context) error {
	return func(ctx context.Context) error {
		current, err := pg.Current(ctx, pool, sets...)
		if err != nil {
			return errors.New("database unreachable")
		}
		if !current {
			return errors.New("database migrations pending")
		}
		return nil
	}
}

// listenAndServe serves until ctx ends (SIGTERM or SIGINT), then stops
// accepting connections and lets in-flight requests finish within the
// shutdown timeout.
func listenAndServe(ctx context.Context, cfg config, handler http.Handler, ln net.Listener) error {
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	slog.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Requests still running past the grace period are cut off, so that
		// closing the pool does not wait on them until the process is killed.
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	slog.Info("stopped")
	return nil
}

func rotateMasterKey(ctx context.Context, cfg config) error {
	vault, err := selectServices("config-vault")
	if err != nil {
		return err
	}
	pool, err := openDatabase(ctx, cfg, vault)
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := configvault.NewService(pool, cfg.Keyring, nil).RotateMasterKey(ctx)
	if err != nil {
		return err
	}
	slog.Info("master key rotated", "keys_resealed", n)
	return nil
}

// docsRoutes serves Swagger UI and ReDoc over the specs of the running services.
func docsRoutes(apis []httpapi.API) map[string]http.Handler {
	var specs []docspage.Spec
	for _, a := range apis {
		specs = append(specs, docspage.Spec{Name: a.Name, URL: a.Prefix + "/openapi.json"})
	}
	h := docspage.Handler(specs)
	return map[string]http.Handler{docspage.DocsPath: h, docspage.DocsPath + "/": h, docspage.AssetsPath: h,
		docspage.RedocPath: h, docspage.RedocPath + "/": h}
}
