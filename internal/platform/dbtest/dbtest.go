// Package dbtest gives every test its own PostgreSQL database, so tests run
// against the real thing (ARCHITECTURE §9) and in parallel without seeing
// each other's rows.
//
// Migrating a database takes far longer than copying one, so each distinct
// set of migrations is applied once, to a template database named after a
// hash of the migration files, and every test database is a CREATE DATABASE
// ... TEMPLATE copy of it. Changed migrations hash to a new name and hence a
// new template; stale ones are harmless and can be dropped by hand
// (saas_tmpl_*).
//
// The server comes from DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable); only the
// database name in it is replaced. Administrative statements run in the
// server's "postgres" database. A server that cannot be reached fails the
// test: a skipped database test looks green and proves nothing.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saasplatform/saas/internal/platform/pg"
)

const defaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// New returns a pool on a fresh database with the given migrations applied.
// The database is dropped when the test ends.
func New(t testing.TB, sets ...pg.Migrations) *pgxpool.Pool {
	t.Helper()
	pool, _ := NewWithURL(t, sets...)
	return pool
}

// NewWithURL is New that also returns the database's URL, for tests that
// hand it to a subprocess or to code that opens its own pool.
func NewWithURL(t testing.TB, sets ...pg.Migrations) (*pgxpool.Pool, string) {
	t.Helper()
	server, err := serverURL()
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	tmpl, err := templateName(sets)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	if err := ensureTemplate(ctx, server, tmpl, sets); err != nil {
		t.Fatalf("dbtest: %v", err)
	}

	name := "saas_test_" + randomHex(8)
	err = admin(ctx, server, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", ident(name), ident(tmpl)))
		return err
	})
	if err != nil {
		t.Fatalf("dbtest: create database %s from template %s: %v", name, tmpl, err)
	}
	dbURL := withDatabase(server, name)
	var pool *pgxpool.Pool
	t.Cleanup(func() {
		if pool != nil {
			pool.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := admin(ctx, server, func(conn *pgx.Conn) error {
			_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)")
			return err
		})
		if err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
	})
	// A small pool: many test databases live at once, and the server's
	// max_connections (100 by default) is shared by all of them.
	pool, err = pg.Open(ctx, dbURL.String(), pg.MaxConns(4))
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return pool, dbURL.String()
}

// serverURL is DATABASE_URL or the default, which must be a URL (not the
// key=value form) so that its database name can be replaced.
func serverURL() (*url.URL, error) {
	raw := os.Getenv("DATABASE_URL")
	if raw == "" {
		raw = defaultURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("DATABASE_URL must be a postgres:// URL")
	}
	return u, nil
}

func withDatabase(server *url.URL, name string) *url.URL {
	u := *server
	u.Path, u.RawPath = "/"+name, ""
	return &u
}

// admin runs fn on a connection to the server's maintenance database.
func admin(ctx context.Context, server *url.URL, fn func(*pgx.Conn) error) error {
	u := withDatabase(server, "postgres")
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return fmt.Errorf("DATABASE_URL %s: %w", u.Redacted(), err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("cannot reach PostgreSQL at %s (start it, set DATABASE_URL, or run scripts/dev-postgres.sh): %w",
			u.Redacted(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return fn(conn)
}

// templateName derives the template's name from everything that shapes its
// contents: each set's schema and the names and bytes of its *.sql files, in
// order (the order of sets is the order they are applied in).
func templateName(sets []pg.Migrations) (string, error) {
	h := sha256.New()
	field := func(b []byte) {
		_ = binary.Write(h, binary.BigEndian, uint64(len(b)))
		h.Write(b)
	}
	for _, m := range sets {
		field([]byte(m.Schema))
		if m.FS == nil {
			continue // pg.Migrate reports it
		}
		files, err := fs.Glob(m.FS, "*.sql")
		if err != nil {
			return "", fmt.Errorf("migrations of schema %q: %w", m.Schema, err)
		}
		for _, f := range files {
			b, err := fs.ReadFile(m.FS, f)
			if err != nil {
				return "", fmt.Errorf("migrations of schema %q: %w", m.Schema, err)
			}
			field([]byte(f))
			field(b)
		}
	}
	return "saas_tmpl_" + hex.EncodeToString(h.Sum(nil))[:20], nil
}

// built remembers, per template name, that this process has made sure the
// template exists, so that only the first test of a package pays for it.
var built sync.Map // template name -> func() error

func ensureTemplate(ctx context.Context, server *url.URL, name string, sets []pg.Migrations) error {
	once, _ := built.LoadOrStore(name, sync.OnceValue(func() error {
		return buildTemplate(ctx, server, name, sets)
	}))
	return once.(func() error)()
}

// buildTemplate creates the template unless it exists. Test processes of
// several packages may try at once, so the work happens under an advisory
// lock, and the database is migrated under a temporary name and renamed
// only when complete: a template with its final name is always whole. A
// leftover temporary from a crashed run is dropped and rebuilt.
func buildTemplate(ctx context.Context, server *url.URL, name string, sets []pg.Migrations) error {
	return admin(ctx, server, func(conn *pgx.Conn) error {
		exists := func() (bool, error) {
			var ok bool
			err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok)
			return ok, err
		}
		if ok, err := exists(); err != nil || ok {
			return err
		}
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext($1))`, name); err != nil {
			return fmt.Errorf("lock template %s: %w", name, err)
		}
		// Closing the connection (deferred by admin) releases the lock too.
		if ok, err := exists(); err != nil || ok {
			return err
		}
		tmp := name + "_tmp"
		for _, stmt := range []string{
			"DROP DATABASE IF EXISTS " + ident(tmp) + " WITH (FORCE)",
			"CREATE DATABASE " + ident(tmp),
		} {
			if _, err := conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("template %s: %w", name, err)
			}
		}
		pool, err := pg.Open(ctx, withDatabase(server, tmp).String(), pg.MaxConns(4))
		if err != nil {
			return err
		}
		err = pg.Migrate(ctx, pool, sets...)
		pool.Close()
		if err != nil {
			return fmt.Errorf("template %s: %w", name, err)
		}
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(tmp)+" RENAME TO "+ident(name)); err != nil {
			return fmt.Errorf("template %s: %w", name, err)
		}
		return nil
	})
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
