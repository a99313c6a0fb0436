package pg

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// Migrations is one schema's migration set: goose-format *.sql files
// (-- +goose Up / -- +goose Down) at the root of FS, usually an embed.FS.
// Each schema keeps its own version table, <schema>.goose_db_version, so
// services evolve independently even when they share a database. Migration
// files must schema-qualify the objects they create: they run on pool
// connections with the default search_path.
type Migrations struct {
	Schema string
	FS     fs.FS
}

// schemaName is what a schema may be called: goose puts the version table's
// name into SQL without quoting, so only plain lower-case identifiers are
// safe (and they are the only ones the project uses).
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// migrateLock is the pg_advisory_lock key under which Migrate runs
// ("saas-mig" in ASCII). One key for every schema keeps it simple: migrating
// is rare and quick, so serialising all of it costs nothing.
const migrateLock int64 = 0x736161732d6d6967

// Migrate brings every set up to date, in order. It holds a session-level
// advisory lock for the whole run so that several processes starting at once
// (replicas, or all four services in their own deployments) migrate one after
// the other instead of racing on CREATE SCHEMA and the version tables. It
// needs two connections of the pool: one holding the lock, one for goose.
func Migrate(ctx context.Context, pool *pgxpool.Pool, sets ...Migrations) error {
	if err := validate(sets); err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pg: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
		return fmt.Errorf("pg: migrate: take the migration lock: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, migrateLock); err != nil {
			// The session would keep the lock: it must not go back to the pool.
			_ = conn.Conn().Close(ctx)
		}
	}()

	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	for _, m := range sets {
		// Only when missing: PostgreSQL checks the database's CREATE privilege
		// even for IF NOT EXISTS, and a service's login need not have it.
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT to_regnamespace($1) IS NOT NULL`, pgx.Identifier{m.Schema}.Sanitize()).Scan(&exists); err != nil {
			return fmt.Errorf("pg: migrate: look up schema %q: %w", m.Schema, err)
		}
		if !exists {
			if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{m.Schema}.Sanitize()); err != nil {
				return fmt.Errorf("pg: migrate: create schema %q: %w", m.Schema, err)
			}
		}
		p, err := provider(db, m)
		if err != nil {
			return err
		}
		results, err := p.Up(ctx)
		if err != nil {
			return fmt.Errorf("pg: migrate schema %q: %w", m.Schema, err)
		}
		for _, r := range results {
			slog.InfoContext(ctx, "migration applied", "schema", m.Schema,
				"version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
		}
	}
	return nil
}

// Current reports whether every migration of every set has been applied,
// which is what /readyz needs to know. Unlike goose's own status calls it
// creates nothing: a schema without a version table is simply not current.
func Current(ctx context.Context, pool *pgxpool.Pool, sets ...Migrations) (bool, error) {
	if err := validate(sets); err != nil {
		return false, err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	for _, m := range sets {
		var exists bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, versionTable(m.Schema)).Scan(&exists); err != nil {
			return false, fmt.Errorf("pg: migration status of schema %q: %w", m.Schema, err)
		}
		if !exists {
			return false, nil
		}
		p, err := provider(db, m)
		if err != nil {
			return false, err
		}
		pending, err := p.HasPending(ctx)
		if err != nil {
			return false, fmt.Errorf("pg: migration status of schema %q: %w", m.Schema, err)
		}
		if pending {
			return false, nil
		}
	}
	return true, nil
}

func validate(sets []Migrations) error {
	for _, m := range sets {
		if !schemaName.MatchString(m.Schema) {
			return fmt.Errorf("pg: migrations: schema name %q is not a plain lower-case identifier", m.Schema)
		}
		if m.FS == nil {
			return fmt.Errorf("pg: migrations: schema %q has no files", m.Schema)
		}
	}
	return nil
}

func versionTable(schema string) string { return schema + ".goose_db_version" }

// provider builds a goose provider for one set. Go migrations registered
// globally by any imported package are ignored: a set is exactly its files.
func provider(db *sql.DB, m Migrations) (*goose.Provider, error) {
	p, err := goose.NewProvider(goose.DialectPostgres, db, m.FS,
		goose.WithTableName(versionTable(m.Schema)),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(slog.Default()),
	)
	if err != nil {
		return nil, fmt.Errorf("pg: migrations of schema %q: %w", m.Schema, err)
	}
	return p, nil
}
