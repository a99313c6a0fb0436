// Package pg is the platform's one way into PostgreSQL: opening a pool with
// settings that suit a long-running service, creating the database on first
// start, running each service's migrations in its own schema, the single
// transaction helper, and the translation of PostgreSQL errors into problem
// kinds so that database constraints, not check-then-write races, decide
// conflicts (ARCHITECTURE §8).
package pg

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saasplatform/saas/internal/platform/tracing"
)

// connectTimeout bounds each connection attempt unless the URL sets
// connect_timeout: an unreachable server should fail a start or a readiness
// probe within seconds, not after the kernel's TCP timeout.
//
// A server that hangs rather than refuses (stopped, stuck on I/O) is not
// this package's to bound: its kernel still completes handshakes and
// acknowledges every byte, so TCP keepalive and tcp_user_timeout never
// fire, and it enforces no statement_timeout while it does not run. Work
// on an open connection ends with its caller's context (pgx then closes
// the connection); httpapi gives every request a deadline for that.
const connectTimeout = 5 * time.Second

// Option adjusts Open.
type Option func(*pgxpool.Config)

// MaxConns sets the pool size explicitly, overriding the URL's pool_max_conns
// and the default; n <= 0 keeps them. It exists so the size comes from the
// caller's validated configuration rather than from the environment behind
// its back.
func MaxConns(n int32) Option {
	return func(c *pgxpool.Config) {
		if n > 0 {
			c.MaxConns = n
		}
	}
}

// Open parses url, builds a pool and pings the server once, so that a wrong
// URL or an unreachable server is reported at start rather than on the first
// request. Without MaxConns or pool_max_conns in the URL the pool holds
// 4*GOMAXPROCS connections, at least 8: request handlers mostly wait on the
// database, so a few connections per core keep the CPU busy. Error messages
// never contain the URL's password. When tracing is on, every query run within
// a traced request gets a span.
func Open(ctx context.Context, databaseURL string, opts ...Option) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("pg: invalid database URL: %s", redact(err.Error(), databaseURL))
	}
	// pgxpool has already applied pool_max_conns if the URL sets it.
	if !strings.Contains(databaseURL, "pool_max_conns") {
		cfg.MaxConns = max(8, 4*int32(runtime.GOMAXPROCS(0)))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	// Recycle connections so server-side memory and DNS changes (failover)
	// are picked up; the jitter keeps them from all reconnecting at once.
	cfg.MaxConnLifetime = time.Hour
	cfg.MaxConnLifetimeJitter = 5 * time.Minute
	cfg.MaxConnIdleTime = 15 * time.Minute
	cfg.HealthCheckPeriod = 30 * time.Second
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		registerUUID(c.TypeMap())
		return nil
	}
	for _, o := range opts {
		o(cfg)
	}
	if tracing.Enabled() {
		cfg.ConnConfig.Tracer = newQueryTracer(cfg.ConnConfig.Config)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pg: open pool for %s: %w", describe(cfg.ConnConfig.Config), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pg: connect to %s: %w", describe(cfg.ConnConfig.Config), err)
	}
	return pool, nil
}

// EnsureDatabase creates the database named in url if it does not exist yet,
// connecting to the "postgres" maintenance database of the same server (one
// cannot connect to a database that is missing). It lets a fresh installation
// start with nothing but a server. Several processes may call it at once: the
// loser of the race sees duplicate_database, which counts as success.
func EnsureDatabase(ctx context.Context, databaseURL string) error {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("pg: invalid database URL: %s", redact(err.Error(), databaseURL))
	}
	name := cfg.Database
	if name == "" {
		return errors.New("pg: the database URL names no database")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	// The usual case first: the database exists, and the login may not be
	// allowed into the maintenance database at all (managed servers, poolers).
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name: it does not exist
		return fmt.Errorf("pg: connect to %s: %w", describe(cfg.Config), err)
	}
	cfg.Database = "postgres"
	conn, err = pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("pg: connect to %s: %w", describe(cfg.Config), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("pg: look up database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if err != nil && !isDuplicateDatabase(err) {
		return fmt.Errorf("pg: create database %q: %w", name, err)
	}
	return nil
}

// isDuplicateDatabase reports a lost creation race. PostgreSQL answers
// duplicate_database when the other creator committed first and a unique
// violation on pg_database's name index when both were in flight.
func isDuplicateDatabase(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505")
}

// describe names a server and database for error messages, without secrets.
func describe(c pgconn.Config) string {
	return fmt.Sprintf("database %q on %s:%d as user %q", c.Database, c.Host, c.Port, c.User)
}

var passwordParam = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)`)

// redact removes the password of raw (URL or key=value form) from msg. pgx
// redacts too, but only on a best-effort basis for strings it cannot parse,
// and those are exactly the ones that end up in parse errors.
func redact(msg, raw string) string {
	var secrets []string
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			secrets = append(secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
	} else if i, j := strings.Index(raw, "://"), strings.LastIndex(raw, "@"); i >= 0 && j > i {
		// An unparsable URL: everything after the first ':' of the user info.
		if _, pw, ok := strings.Cut(raw[i+3:j], ":"); ok {
			secrets = append(secrets, pw)
		}
	}
	// key=value form, or a password in the URL's query.
	for _, m := range passwordParam.FindAllStringSubmatch(raw, -1) {
		secrets = append(secrets, m[1], strings.Trim(m[1], "'"))
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}
