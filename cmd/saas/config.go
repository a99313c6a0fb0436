package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/saasplatform/saas/internal/app"
	"github.com/saasplatform/saas/internal/configvault"
	"github.com/saasplatform/saas/internal/configvault/keycrypto"
	"github.com/saasplatform/saas/internal/content"
	"github.com/saasplatform/saas/internal/platform/authn"
	"github.com/saasplatform/saas/internal/uam"
	"github.com/saasplatform/saas/internal/uam/password"
)

// config is everything the binary reads from its environment, validated at
// start so a mistake is reported before anything listens.
type config struct {
	Addr            string
	DatabaseURL     string
	DBMaxConns      int32
	ShutdownTimeout time.Duration
	LogLevel        slog.Level
	// PprofAddr, when set, is a loopback address serving net/http/pprof.
	PprofAddr string
	// App is what the services are built from.
	App app.Config
}

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/saas?sslmode=disable"

// envDoc lists every variable; `saas help` prints it and the README repeats it.
const envDoc = `Environment:
  SAAS_ADDR                  listen address (default :8000)
  SAAS_SERVICES              comma-separated services to run, like --services (default: all)
  DATABASE_URL               PostgreSQL URL (default ` + defaultDatabaseURL + `);
                             the database is created if missing
  SAAS_DB_MAX_CONNS          connection pool size (default 4 x cores, at least 8)
  SAAS_MASTER_KEY            base64 of 32 random bytes: encrypts private keys at rest and keys the
                             fingerprints of idempotent requests (required, the same for every service)
  SAAS_MASTER_KEY_PREVIOUS   comma-separated earlier master keys, still accepted for decryption
                             until 'saas rotate-master-key' has re-encrypted everything
  SAAS_DEV_MASTER_KEY_FILE   development only: without SAAS_MASTER_KEY, read the master key from
                             this file, creating it with a fresh key if missing ('make run' sets it)
  SAAS_RSA_POOL_SIZE         RSA-2048 keys generated ahead in the background (default 4, 0 = off)
  SAAS_SHUTDOWN_TIMEOUT      how long SIGTERM waits for in-flight requests (default 20s)
  SAAS_LOG_LEVEL             debug, info, warn or error (default info)
  SAAS_PPROF_ADDR            loopback address (such as 127.0.0.1:6060) of a separate listener serving
                             Go's profiler, net/http/pprof, under /debug/pprof/ (default: off); for
                             profiling under load ('make bench'), never to be exposed
  SAAS_SERVICE_KEYS          secret: comma-separated name=<base64 Ed25519 seed>, the private keys of the
                             services this process runs that call others (iam, uam, content), which sign
                             their credentials; give a process only its own services' keys. Make them with
                             'saas gen-service-keys'. Unset and with no SAAS_*_URL in a process running
                             every service: made afresh at each start (development)
  SAAS_SERVICE_PUBLIC_KEYS   comma-separated name=<base64 Ed25519 public key>: the services whose credentials
                             this process's services accept (config-vault: iam, uam, content; uam: iam);
                             not secret. Keys of SAAS_SERVICE_KEYS need not be repeated here; a name
                             may come twice, with its old and new key, while that key is replaced
  SAAS_CONFIG_VAULT_URL, SAAS_UAM_URL, SAAS_IAM_URL, SAAS_CONTENT_URL
                             base URL (such as http://config-vault:8000) of a service that runs
                             in another process; a service this process needs and does not run
                             must have one (default: call it in this process)
  SAAS_ARGON2_PARAMS         argon2id parameters for new password hashes, m=KiB,t=passes,p=lanes
                             (default and minimum m=19456,t=2,p=1); older hashes are upgraded at
                             the next successful sign-in
  SAAS_PUBLIC_URL            the platform's base URL as clients reach it (default http://localhost:<port>):
                             tenant T's token issuer is <it>/iam/v1/tenants/T, and tokens' audience is it;
                             the same for every service
  SAAS_PLATFORM_TENANT_ID    the platform tenant, created at first start: its administrators act across
                             tenants, and only its roles may grant platform-level permissions
                             (default 00000000-0000-7000-8000-000000000001; the same for every service)
  SAAS_PLATFORM_DOMAIN       the platform tenant's domain when it is created (default platform.localhost)
  SAAS_BOOTSTRAP_ADMIN_EMAIL the platform tenant's first administrator, created at first start by the
                             process running uam (default admin@platform.localhost)
  SAAS_BOOTSTRAP_ADMIN_PASSWORD
                             that administrator's password; when unset, one is generated and logged once
  SAAS_ACCESS_TOKEN_TTL      lifetime of access tokens (default 15m, from 1m to 24h)
  SAAS_TRUSTED_PROXIES       comma-separated networks of the proxies in front of IAM (such as
                             10.0.0.0/8): their X-Forwarded-For names the client whose failed sign-ins
                             are throttled; without it every client behind one proxy shares one
                             address (default: none, X-Forwarded-For is ignored)
  SAAS_CONTENT_SCHEDULER_INTERVAL
                             how often the content service looks for due scheduled publications
                             (default 5s, from 10ms to 1h); every replica looks, each item is
                             published once
  SAAS_CONTENT_TRASH_RETENTION
                             how long deleted content stays restorable before it is purged for good
                             (default 30d, from 1m to 3650d)
  SAAS_HASH_CONCURRENCY      password hashes computed at once (default: the number of cores);
                             each takes m KiB of memory, so this bounds their memory
  GOMEMLIMIT                 Go's soft memory limit (such as 512MiB); when unset, 'saas serve' sets
                             64 MiB + SAAS_HASH_CONCURRENCY x argon2 m (102 MiB with the defaults on
                             2 cores), which keeps the peak RSS under 150 MiB; set it from the
                             container's memory limit (about 80 % of it) to use more
  OTEL_EXPORTER_OTLP_ENDPOINT
                             OTLP/HTTP collector (such as http://otel-collector:4318): when set,
                             requests, service calls and queries are traced (default: no tracing);
                             OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, _HEADERS, OTEL_SERVICE_NAME
                             (default saas), OTEL_RESOURCE_ATTRIBUTES and OTEL_TRACES_SAMPLER
                             (default parentbased_always_on) are honoured as usual
`

// loadConfig reads the environment. needKeys: the master key is required;
// serving: the services to serve, whose service keys must then be complete
// (nil: only their form is checked).
func loadConfig(needKeys bool, serving []app.Service) (config, error) {
	c := config{Addr: ":8000", DatabaseURL: defaultDatabaseURL, ShutdownTimeout: 20 * time.Second,
		App: app.Config{RSAPoolSize: 4, ServiceURLs: map[string]string{}, Argon2: password.DefaultParams(),
			PlatformTenantID: app.DefaultPlatformTenantID, BootstrapEmail: app.DefaultBootstrapEmail}}
	var errs []error
	if v := os.Getenv("SAAS_ADDR"); v != "" {
		c.Addr = v
		if _, port, err := net.SplitHostPort(v); err != nil || !validPort(port) {
			errs = append(errs, fmt.Errorf("SAAS_ADDR=%q: want host:port or :port, such as :8000", v))
		}
	}
	if v := os.Getenv("DATABASE_URL"); v != "" {
		c.DatabaseURL = v
	}
	if v := os.Getenv("SAAS_DB_MAX_CONNS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 || n > 1000 {
			errs = append(errs, fmt.Errorf("SAAS_DB_MAX_CONNS=%q: want a number from 1 to 1000", v))
		}
		c.DBMaxConns = int32(n)
	}
	if v := os.Getenv("SAAS_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 10*time.Minute {
			errs = append(errs, fmt.Errorf("SAAS_SHUTDOWN_TIMEOUT=%q: want a duration such as 20s (at most 10m)", v))
		}
		c.ShutdownTimeout = d
	}
	if v := os.Getenv("SAAS_RSA_POOL_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 64 {
			errs = append(errs, fmt.Errorf("SAAS_RSA_POOL_SIZE=%q: want a number from 0 to 64", v))
		}
		c.App.RSAPoolSize = n
	}
	if v := os.Getenv("SAAS_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("SAAS_LOG_LEVEL=%q: want debug, info, warn or error", v))
		}
	}
	if v := os.Getenv("SAAS_PPROF_ADDR"); v != "" {
		c.PprofAddr = v
		if host, port, err := net.SplitHostPort(v); err != nil || !validPort(port) || !isLoopback(host) {
			errs = append(errs, fmt.Errorf("SAAS_PPROF_ADDR=%q: want a loopback host:port, such as 127.0.0.1:6060", v))
		}
	}
	for _, svc := range app.Names(app.Services) {
		name := app.URLVar(svc)
		v := os.Getenv(name)
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" && u.Path != "/" {
			errs = append(errs, fmt.Errorf("%s=%q: want a base URL such as http://%s:8000", name, v, svc))
		}
		c.App.ServiceURLs[svc] = v
	}
	if v := os.Getenv("SAAS_ARGON2_PARAMS"); v != "" {
		p, err := password.ParseParams(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("SAAS_ARGON2_PARAMS=%q: %w", v, err))
		}
		c.App.Argon2 = p
	}
	if v := os.Getenv("SAAS_PLATFORM_TENANT_ID"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil || id == uuid.Nil {
			errs = append(errs, fmt.Errorf("SAAS_PLATFORM_TENANT_ID=%q: want a tenant id (a UUID)", v))
		}
		c.App.PlatformTenantID = id
	}
	if v := os.Getenv("SAAS_HASH_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 256 {
			errs = append(errs, fmt.Errorf("SAAS_HASH_CONCURRENCY=%q: want a number from 1 to 256", v))
		}
		c.App.HashConcurrency = n
	}
	c.App.PublicURL = "http://localhost:" + portOf(c.Addr)
	if v := os.Getenv("SAAS_PUBLIC_URL"); v != "" {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" ||
			u.Port() != "" && !validPort(u.Port()) || u.Path != "" && u.Path != "/" || strings.ContainsAny(v, "?#") || u.User != nil {
			errs = append(errs, fmt.Errorf("SAAS_PUBLIC_URL=%q: want a base URL such as https://api.example.com", v))
		}
		c.App.PublicURL = strings.TrimRight(v, "/")
	}
	// The bootstrap settings are used once, but checked at every start while
	// they are set, so that a mistake shows before anything listens.
	if v := os.Getenv("SAAS_PLATFORM_DOMAIN"); v != "" {
		if _, err := configvault.ParseDomain("SAAS_PLATFORM_DOMAIN", v); err != nil {
			errs = append(errs, fmt.Errorf("SAAS_PLATFORM_DOMAIN=%q: want a hostname such as platform.example.com", v))
		}
		c.App.PlatformDomain = v
	}
	if v := os.Getenv("SAAS_BOOTSTRAP_ADMIN_EMAIL"); v != "" {
		if _, err := uam.ParseEmail("SAAS_BOOTSTRAP_ADMIN_EMAIL", v); err != nil {
			errs = append(errs, fmt.Errorf("SAAS_BOOTSTRAP_ADMIN_EMAIL=%q: want an email address", v))
		}
		c.App.BootstrapEmail = v
	}
	if v := os.Getenv("SAAS_BOOTSTRAP_ADMIN_PASSWORD"); v != "" {
		if err := password.Check("SAAS_BOOTSTRAP_ADMIN_PASSWORD", v); err != nil {
			// The problem's field message, never the password.
			errs = append(errs, errors.New(strings.TrimPrefix(err.Error(), "the request is invalid; ")))
		}
		c.App.BootstrapPassword = v
	}
	if v := os.Getenv("SAAS_TRUSTED_PROXIES"); v != "" {
		for _, cidr := range strings.Split(v, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
			if err != nil {
				errs = append(errs, fmt.Errorf("SAAS_TRUSTED_PROXIES: %q is no network such as 10.0.0.0/8", cidr))
				continue
			}
			c.App.TrustedProxies = append(c.App.TrustedProxies, p.Masked())
		}
	}
	if v := os.Getenv("SAAS_ACCESS_TOKEN_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute || d > 24*time.Hour {
			errs = append(errs, fmt.Errorf("SAAS_ACCESS_TOKEN_TTL=%q: want a duration from 1m to 24h, such as 15m", v))
		}
		c.App.AccessTokenTTL = d
	}
	errs = append(errs, loadServiceKeys(&c.App, serving)...)
	contentOpts, err := content.OptionsFromEnv(os.Getenv)
	errs = append(errs, err)
	c.App.Content = contentOpts
	errs = append(errs, tracingEnvErrors()...)
	if needKeys {
		kr, err := loadKeyring()
		if err != nil {
			errs = append(errs, err)
		}
		c.App.Keyring = kr
	}
	return c, errors.Join(errs...)
}

// loadServiceKeys reads SAAS_SERVICE_KEYS and SAAS_SERVICE_PUBLIC_KEYS and,
// when serving is known, checks that they hold what those services need.
// Keys never appear in an error message.
func loadServiceKeys(cfg *app.Config, serving []app.Service) []error {
	var errs []error
	if v := os.Getenv(app.ServiceKeysVar); v != "" {
		k, err := authn.ParseServicePrivateKeys(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", app.ServiceKeysVar, err))
		}
		cfg.ServiceKeys.Private = k
	}
	if v := os.Getenv(app.ServicePublicKeysVar); v != "" {
		k, err := authn.ParseServicePublicKeys(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", app.ServicePublicKeysVar, err))
		}
		cfg.ServiceKeys.Public = k
	}
	if serving == nil || len(errs) > 0 {
		return errs
	}
	configured := !cfg.ServiceKeys.IsZero()
	keys, err := app.ResolveServiceKeys(cfg.ServiceKeys, serving, cfg.ServiceURLs)
	if err != nil {
		return []error{err}
	}
	if !configured {
		slog.Info("service keys: neither " + app.ServiceKeysVar + " nor " + app.ServicePublicKeysVar +
			" is set and every service runs in this process: made fresh ones for this run")
	}
	cfg.ServiceKeys = keys
	return nil
}

// loadKeyring reads the master key and its predecessors. The key itself never
// appears in an error message.
func loadKeyring() (*keycrypto.Keyring, error) {
	current := os.Getenv("SAAS_MASTER_KEY")
	if current == "" {
		file := os.Getenv("SAAS_DEV_MASTER_KEY_FILE")
		if file == "" {
			return nil, errors.New("SAAS_MASTER_KEY is not set: generate one with 'openssl rand -base64 32' (or 'saas gen-master-key') and keep it secret")
		}
		var err error
		if current, err = devMasterKey(file); err != nil {
			return nil, err
		}
	}
	cur, err := keycrypto.ParseMasterKey(current)
	if err != nil {
		return nil, fmt.Errorf("SAAS_MASTER_KEY: %w", err)
	}
	var previous []keycrypto.MasterKey
	for i, v := range strings.Split(os.Getenv("SAAS_MASTER_KEY_PREVIOUS"), ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		mk, err := keycrypto.ParseMasterKey(v)
		if err != nil {
			return nil, fmt.Errorf("SAAS_MASTER_KEY_PREVIOUS entry %d: %w", i+1, err)
		}
		previous = append(previous, mk)
	}
	return keycrypto.NewKeyring(cur, previous...)
}

// devMasterKey keeps a development master key in a file so `make run` works
// out of the box and restarts can still decrypt the keys they made.
func devMasterKey(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("SAAS_DEV_MASTER_KEY_FILE: %w", err)
	}
	key := newMasterKey()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", fmt.Errorf("SAAS_DEV_MASTER_KEY_FILE: %w", err)
	}
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("SAAS_DEV_MASTER_KEY_FILE: %w", err)
	}
	slog.Warn("SAAS_MASTER_KEY is not set: generated a development master key; set SAAS_MASTER_KEY in production", "file", file)
	return key, nil
}

// portOf is the port of a listen address (":8000" → "8000").
func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// isLoopback reports whether host, of a listen address, is localhost or a
// loopback IP address (not empty: that would listen on every interface).
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

func newMasterKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}
