// Package app assembles the platform: it builds the selected services over
// one database pool, turns authentication and authorization on for each of
// them, connects them to each other (in this process or over the network),
// bootstraps the platform tenant and its first administrator, and returns
// the root handler. cmd/saas reads the environment and serves it; tests of
// the whole platform (apptest) run the very same assembly.
package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	cvclient "github.com/saasplatform/saas/gen/client/configvault"
	uamclient "github.com/saasplatform/saas/gen/client/uam"
	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/content"
	"github.com/saasplatform/saas/internal/iam"
	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/platform/authz"
	"github.com/saasplatform/saas/internal/platform/docspage"
	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/idempotency"
	"github.com/saasplatform/saas/internal/platform/metrics"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/svcclient"
	"github.com/saasplatform/saas/internal/uam"
	"github.com/saasplatform/saas/internal/uam/password"
)

// DefaultPlatformTenantID is the platform tenant unless configured
// otherwise; every service of a deployment must agree on it.
var DefaultPlatformTenantID = uuid.MustParse("00000000-0000-7000-8000-000000000001")

// Config is what the platform is built from.
type Config struct {
	// PublicURL is the platform's base URL as clients reach it, such as
	// https://api.example.com: issuers and the tokens' audience derive from it.
	PublicURL string
	// PlatformTenantID is the tenant whose administrators act across tenants.
	PlatformTenantID uuid.UUID
	// PlatformDomain names the platform tenant when it is created.
	PlatformDomain string
	// Keyring is the master key: it seals private keys and keys idempotency
	// fingerprints.
	Keyring *keycrypto.Keyring
	// ServiceKeys are the keys of the services' credentials: the private
	// keys of the selected services that call others, the public keys of
	// the services that call selected ones (see ResolveServiceKeys). Left
	// empty in a process that runs every service and reaches none over the
	// network, fresh ones are made for the process's lifetime.
	ServiceKeys authn.ServiceKeys
	// RSAPoolSize RSA-2048 keys are generated ahead (0: none).
	RSAPoolSize int
	// ServiceURLs maps a service to the base URL it is reached at when it
	// runs in another process.
	ServiceURLs     map[string]string
	Argon2          password.Params
	HashConcurrency int
	// AccessTokenTTL is the lifetime of access tokens (0: IAM's default).
	AccessTokenTTL time.Duration
	// CallTimeout bounds one call to another service, in this process or
	// over the network, including reading its answer (0: DefaultCallTimeout).
	// A caller whose callee does not answer within it answers 503.
	CallTimeout time.Duration
	// Content tunes the content service (scheduled publishing, trash).
	Content content.Options
	// TrustedProxies are the networks of the proxies in front of IAM whose
	// X-Forwarded-For names the client, for sign-in throttling.
	TrustedProxies []netip.Prefix
	// BootstrapEmail and BootstrapPassword name the platform tenant's first
	// administrator; an empty password is generated and logged once.
	BootstrapEmail, BootstrapPassword string
}

// DefaultBootstrapEmail is the first administrator's email unless configured.
const DefaultBootstrapEmail = "admin@platform.localhost"

// Service is one runnable part of the platform.
type Service struct {
	Name       string
	Migrations pg.Migrations
	build      func(ctx context.Context, p *Platform) (httpapi.API, error)
	// bootstrap runs once the root handler serves, before the listener opens.
	bootstrap func(ctx context.Context, p *Platform) error
}

// Services are every service, in the order they are built.
var Services = []Service{
	{Name: "config-vault", Migrations: configvault.Migrations, build: buildConfigVault},
	{Name: "uam", Migrations: uam.Migrations, build: buildUAM, bootstrap: bootstrapUAM},
	{Name: "iam", Migrations: iam.Migrations, build: buildIAM},
	{Name: "content", Migrations: content.Migrations, build: buildContent},
}

// Select parses a comma-separated list of service names; empty means all.
func Select(list string) ([]Service, error) {
	if strings.TrimSpace(list) == "" {
		return Services, nil
	}
	var out []Service
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(Services, func(s Service) bool { return s.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown service %q (known: %s)", name, strings.Join(Names(Services), ", "))
		}
		if !slices.ContainsFunc(out, func(s Service) bool { return s.Name == name }) {
			out = append(out, Services[i])
		}
	}
	return out, nil
}

// Names lists the services' names.
func Names(services []Service) []string {
	names := make([]string, len(services))
	for i, s := range services {
		names[i] = s.Name
	}
	return names
}

// MigrationsOf are the schema changes the selected services need.
func MigrationsOf(selected []Service) []pg.Migrations {
	sets := []pg.Migrations{idempotency.Migrations}
	for _, s := range selected {
		sets = append(sets, s.Migrations)
	}
	return sets
}

// Platform is the selected services, built.
type Platform struct {
	cfg      Config
	pool     *pgxpool.Pool
	selected []Service
	local    *svcclient.Local
	services *authn.ServiceCredentials
	jwt      *authn.Verifier
	uam      *uam.Service
	// idem is the shared Idempotency-Key store.
	idem *idempotency.Middleware
	// purges drop expired rows of the services' housekeeping tables.
	purges map[string]func(context.Context) (int64, error)

	// APIs are the mounted services; Handler serves them with health,
	// metrics and the documentation.
	APIs    []httpapi.API
	Handler http.Handler
}

// DefaultCallTimeout bounds one call to another service unless
// Config.CallTimeout says otherwise.
const DefaultCallTimeout = 5 * time.Second

// New builds the selected services over pool, which must be migrated.
// Background work (key generation) lives as long as ctx.
func New(ctx context.Context, cfg Config, pool *pgxpool.Pool, selected []Service) (*Platform, error) {
	if cfg.PlatformTenantID == uuid.Nil {
		cfg.PlatformTenantID = DefaultPlatformTenantID
	}
	if cfg.BootstrapEmail == "" {
		cfg.BootstrapEmail = DefaultBootstrapEmail
	}
	if cfg.PlatformDomain == "" {
		cfg.PlatformDomain = "platform.localhost"
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	keys, err := ResolveServiceKeys(cfg.ServiceKeys, selected, cfg.ServiceURLs)
	if err != nil {
		return nil, err
	}
	services, err := authn.NewServiceCredentials(cfg.PlatformTenantID, keys)
	if err != nil {
		return nil, err
	}
	p := &Platform{cfg: cfg, pool: pool, selected: selected, local: &svcclient.Local{}, services: services}
	p.idem = idempotency.New(pool, callerScope, idempotency.Options{HashKey: cfg.Keyring.Derive("idempotency")})
	p.purges = map[string]func(context.Context) (int64, error){"idempotency records": p.idem.Purge}

	// Every service verifies tokens against the tenants' key sets, which
	// Config Vault publishes without authentication.
	server, hc, err := p.client("config-vault", configvault.Prefix, "")
	if err != nil {
		return nil, err
	}
	vault, err := cvclient.NewClientWithResponses(server, cvclient.WithHTTPClient(hc))
	if err != nil {
		return nil, err
	}
	p.jwt, err = authn.New(authn.Options{
		Keys:         authn.JWKSSource(jwksFetcher(vault)),
		Audience:     cfg.PublicURL,
		IssuerPrefix: authn.DefaultIssuerPrefix(cfg.PublicURL),
	})
	if err != nil {
		return nil, err
	}

	for _, s := range selected {
		api, err := s.build(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		// Each API accepts access tokens, and the credentials of the
		// services that call it made for it alone.
		verifier := services.Verifier(s.Name, callersOf(s.Name), p.jwt)
		a, err := authz.New(api.Spec, authz.Options{Verifier: verifier, PlatformTenantID: cfg.PlatformTenantID})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		api.Authorize = a.Authorize
		p.APIs = append(p.APIs, api)
	}
	extra := httpapi.Health(readiness(pool, MigrationsOf(selected)))
	extra["/metrics"] = metrics.Handler()
	for pattern, h := range docsRoutes(p.APIs) {
		extra[pattern] = h
	}
	if p.Handler, err = httpapi.Root(p.APIs, extra); err != nil {
		return nil, err
	}
	p.local.Set(p.Handler)
	return p, nil
}

// Purge drops expired housekeeping rows (idempotency records, sessions,
// sign-in failures) and logs what went; any replica may call it, hourly is
// plenty.
func (p *Platform) Purge(ctx context.Context) {
	for what, purge := range p.purges {
		if n, err := purge(ctx); err != nil {
			slog.WarnContext(ctx, "purging failed", "what", what, "error", err.Error())
		} else if n > 0 {
			slog.InfoContext(ctx, "purged", "what", what, "count", n)
		}
	}
}

// ServiceCredentials mints the credentials of the services whose private
// keys this process holds, for tools and tests that act as a service would.
func (p *Platform) ServiceCredentials() *authn.ServiceCredentials { return p.services }

// credentialCalls says whom each service calls with its own service
// credential (anonymous calls, such as fetching key sets, are not listed):
// it decides which private keys a process needs and which callers each
// service accepts. A call the table does not declare fails at start.
var credentialCalls = map[string][]string{
	"uam":     {"config-vault"},
	"iam":     {"config-vault", "uam"},
	"content": {"config-vault"},
}

// callersOf lists the services that call service with their credential.
func callersOf(service string) []string {
	var out []string
	for caller, callees := range credentialCalls {
		if slices.Contains(callees, service) {
			out = append(out, caller)
		}
	}
	slices.Sort(out)
	return out
}

// CalledWithCredentials lists the services that other services call with
// their credentials: those whose processes need SAAS_SERVICE_PUBLIC_KEYS.
func CalledWithCredentials() []string {
	var out []string
	for _, s := range Services {
		if len(callersOf(s.Name)) > 0 {
			out = append(out, s.Name)
		}
	}
	return out
}

// ServiceKeysVar and ServicePublicKeysVar are the variables cmd/saas reads
// the service keys from, named in ResolveServiceKeys's errors.
const (
	ServiceKeysVar       = "SAAS_SERVICE_KEYS"
	ServicePublicKeysVar = "SAAS_SERVICE_PUBLIC_KEYS"
)

// ResolveServiceKeys returns the service keys a process running selected
// uses, given keys as configured and the base URLs of the services it
// reaches over the network:
//
//   - no key configured, every service selected and no URL set (`make run`,
//     tests): a fresh key pair for every service, in memory;
//   - otherwise keys must hold the private key of each selected service that
//     calls another, and no other private key (each process holds only its
//     own services'), and the public key of each service that calls a
//     selected one (the public key of a private key it holds counts).
func ResolveServiceKeys(keys authn.ServiceKeys, selected []Service, urls map[string]string) (authn.ServiceKeys, error) {
	runs := func(name string) bool {
		return slices.ContainsFunc(selected, func(s Service) bool { return s.Name == name })
	}
	allInOne := slices.IndexFunc(Services, func(s Service) bool { return !runs(s.Name) }) < 0 &&
		!slices.ContainsFunc(slices.Collect(maps.Values(urls)), func(u string) bool { return u != "" })
	if keys.IsZero() && allInOne {
		return authn.GenerateServiceKeys(), nil
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(keys.Private)) {
		if !runs(name) {
			errs = append(errs, fmt.Errorf("%s holds the private key of %s, which this process does not run: give each process only the keys of its own services",
				ServiceKeysVar, name))
		}
		if pubs := keys.Public[name]; len(pubs) > 0 && len(keys.Private[name]) == ed25519.PrivateKeySize &&
			!slices.ContainsFunc(pubs, func(k ed25519.PublicKey) bool { return k.Equal(keys.Private[name].Public()) }) {
			errs = append(errs, fmt.Errorf("%s: no public key of %s is that of its private key in %s", ServicePublicKeysVar, name, ServiceKeysVar))
		}
	}
	var callers []string
	for _, s := range selected {
		if callees := credentialCalls[s.Name]; len(callees) > 0 && keys.Private[s.Name] == nil {
			errs = append(errs, fmt.Errorf("%s has no private key of %s, which calls %s with its own credential: add %s=<its key> (make the keys with 'saas gen-service-keys')",
				ServiceKeysVar, s.Name, strings.Join(callees, " and "), s.Name))
		}
		for _, c := range callersOf(s.Name) {
			if !slices.Contains(callers, c) {
				callers = append(callers, c)
			}
		}
	}
	slices.Sort(callers)
	for _, c := range callers {
		if len(keys.Public[c]) == 0 && keys.Private[c] == nil {
			var called []string
			for _, callee := range credentialCalls[c] {
				if runs(callee) {
					called = append(called, callee)
				}
			}
			errs = append(errs, fmt.Errorf("%s has no public key of %s, which calls %s: add %s=<its public key> (from 'saas gen-service-keys')",
				ServicePublicKeysVar, c, strings.Join(called, " and "), c))
		}
	}
	return keys, errors.Join(errs...)
}

// Bootstrap creates the platform tenant's first administrator where UAM
// runs, once the handler serves (New already made sure the platform tenant
// exists where Config Vault runs).
func (p *Platform) Bootstrap(ctx context.Context) error {
	for _, s := range p.selected {
		if s.bootstrap == nil {
			continue
		}
		if err := s.bootstrap(ctx, p); err != nil {
			return fmt.Errorf("%s: bootstrap: %w", s.Name, err)
		}
	}
	return nil
}

// URLVar names the variable holding a service's base URL when it runs in
// another process: SAAS_CONFIG_VAULT_URL for config-vault.
func URLVar(service string) string {
	return "SAAS_" + strings.ToUpper(strings.ReplaceAll(service, "-", "_")) + "_URL"
}

// client returns the server URL and HTTP client for calling the named
// service, authenticated as caller ("" for none): over the network when its
// URL is configured, else in this process, which then must run it.
func (p *Platform) client(name, prefix, caller string) (string, *http.Client, error) {
	base := p.cfg.ServiceURLs[name]
	if base == "" && !slices.ContainsFunc(p.selected, func(s Service) bool { return s.Name == name }) {
		return "", nil, fmt.Errorf("needs %s: run it in this process or set %s", name, URLVar(name))
	}
	server, hc := svcclient.New(base, prefix, p.local.Handler, p.cfg.CallTimeout)
	if caller != "" {
		if !slices.Contains(credentialCalls[caller], name) {
			return "", nil, fmt.Errorf("calls %s as %s, which credentialCalls does not declare", name, caller)
		}
		rt, err := p.services.Transport(caller, name, hc.Transport)
		if err != nil {
			return "", nil, err
		}
		hc.Transport = rt
	}
	return server, hc, nil
}

func (p *Platform) vaultClient(caller string) (*cvclient.ClientWithResponses, error) {
	server, hc, err := p.client("config-vault", configvault.Prefix, caller)
	if err != nil {
		return nil, err
	}
	return cvclient.NewClientWithResponses(server, cvclient.WithHTTPClient(hc))
}

// jwksFetcher reads a tenant's key set from Config Vault.
func jwksFetcher(vault *cvclient.ClientWithResponses) func(ctx context.Context, tenant uuid.UUID) ([]byte, error) {
	return func(ctx context.Context, tenant uuid.UUID) ([]byte, error) {
		res, err := vault.GetTenantJWKSWithResponse(ctx, tenant)
		if err != nil {
			return nil, svcclient.Unavailable(err)
		}
		switch res.StatusCode() {
		case http.StatusOK:
			return res.Body, nil
		case http.StatusNotFound:
			// An unknown or inactive tenant verifies nothing; only Config
			// Vault's own 404 says so (svcclient.NotFound).
			if !svcclient.NotFound(res.HTTPResponse) {
				return nil, svcclient.Unavailable(fmt.Errorf("config-vault answered 404 without a problem document for the key set of %s", tenant))
			}
			return []byte(`{"keys":[]}`), nil
		default:
			return nil, fmt.Errorf("config-vault answered %d for the key set of %s", res.StatusCode(), tenant)
		}
	}
}

func buildConfigVault(ctx context.Context, p *Platform) (httpapi.API, error) {
	var keygen *keycrypto.Pool
	if p.cfg.RSAPoolSize > 0 {
		var err error
		if keygen, err = keycrypto.NewPool(map[int]int{2048: p.cfg.RSAPoolSize}); err != nil {
			return httpapi.API{}, err
		}
		keygen.Start(ctx)
	}
	svc := configvault.NewService(p.pool, p.cfg.Keyring, keygen)
	// A master key that cannot open the stored keys would only surface when
	// IAM asks for a signature; refuse to start instead.
	if err := svc.CheckKeyring(ctx); err != nil {
		return httpapi.API{}, err
	}
	if _, err := svc.EnsurePlatformTenant(ctx, p.cfg.PlatformTenantID, "Platform", p.cfg.PlatformDomain); err != nil {
		return httpapi.API{}, err
	}
	return configvault.NewAPI(svc, p.idem), nil
}

// tenantCacheTTL bounds how long UAM trusts that a tenant or site exists.
const tenantCacheTTL = 30 * time.Second

func buildUAM(_ context.Context, p *Platform) (httpapi.API, error) {
	vault, err := p.vaultClient("uam")
	if err != nil {
		return httpapi.API{}, err
	}
	// A caller waits at most this long for a hashing slot before a 503.
	const hashWait = 2 * time.Second
	hasher := password.NewHasher(p.cfg.Argon2, p.cfg.HashConcurrency, hashWait)
	p.uam = uam.NewService(p.pool, uam.NewConfigVault(vault, tenantCacheTTL), hasher,
		uam.Options{PlatformTenantID: p.cfg.PlatformTenantID})
	return uam.NewAPI(p.uam, p.idem), nil
}

func bootstrapUAM(ctx context.Context, p *Platform) error {
	generated, created, err := p.uam.Bootstrap(ctx, p.cfg.PlatformTenantID, p.cfg.BootstrapEmail, p.cfg.BootstrapPassword)
	if err != nil || !created {
		return err
	}
	if generated != "" {
		// Shown once, on purpose: nobody could sign in otherwise. It is the
		// only secret the platform ever logs; set
		// SAAS_BOOTSTRAP_ADMIN_PASSWORD to avoid it.
		// At warning level unless the log shows only errors: lost, the
		// password could not be recovered (the next start skips bootstrap).
		level := slog.LevelWarn
		if !slog.Default().Enabled(ctx, level) {
			level = slog.LevelError
		}
		slog.Log(ctx, level, "created the platform administrator with a generated password: sign in and change it",
			"email", p.cfg.BootstrapEmail, "password", generated, "tenant_id", p.cfg.PlatformTenantID.String())
		return nil
	}
	slog.Info("created the platform administrator", "email", p.cfg.BootstrapEmail, "tenant_id", p.cfg.PlatformTenantID.String())
	return nil
}

func buildIAM(_ context.Context, p *Platform) (httpapi.API, error) {
	vault, err := p.vaultClient("iam")
	if err != nil {
		return httpapi.API{}, err
	}
	server, hc, err := p.client("uam", uam.Prefix, "iam")
	if err != nil {
		return httpapi.API{}, err
	}
	users, err := uamclient.NewClientWithResponses(server, uamclient.WithHTTPClient(hc))
	if err != nil {
		return httpapi.API{}, err
	}
	svc, err := iam.NewService(p.pool, users, vault, iam.Options{
		PublicURL:        p.cfg.PublicURL,
		PlatformTenantID: p.cfg.PlatformTenantID,
		AccessTokenTTL:   p.cfg.AccessTokenTTL,
		Verifier:         p.jwt,
		TrustedProxies:   p.cfg.TrustedProxies,
	})
	if err != nil {
		return httpapi.API{}, err
	}
	p.purges["expired sessions and sign-in failures"] = svc.Purge
	return iam.NewAPI(svc, p.idem), nil
}

// buildContent builds the content service; its scheduler publishes due
// items in the background for as long as ctx lives, and the hourly purge
// empties the trash of what outlived the retention. Its settings come from
// the environment (content.OptionsFromEnv).
func buildContent(ctx context.Context, p *Platform) (httpapi.API, error) {
	vault, err := p.vaultClient("content")
	if err != nil {
		return httpapi.API{}, err
	}
	svc := content.NewService(p.pool, content.NewConfigVault(vault, tenantCacheTTL), p.cfg.Content)
	// Items reach 1 MiB: the shared middleware's 1 MiB limit would refuse
	// creates with an Idempotency-Key that are accepted without one. Same
	// table, key and retention, so the shared purge covers these records.
	idem := idempotency.New(p.pool, callerScope, idempotency.Options{
		HashKey: p.cfg.Keyring.Derive("idempotency"), MaxBody: content.MaxBody})
	go svc.RunScheduler(ctx)
	p.purges["content trash"] = svc.PurgeTrash
	return content.NewAPI(svc, idem), nil
}

// callerScope separates the Idempotency-Keys of different callers: a key is
// the caller's own, so another principal reusing it gets nothing back.
func callerScope(r *http.Request) string {
	p, ok := authn.FromContext(r.Context())
	if !ok {
		return "anonymous"
	}
	return p.TenantID.String() + "/" + p.Subject
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
