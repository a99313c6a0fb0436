package pg_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/pg"
)

func migration(up string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte("-- +goose Up\n" + up + "\n-- +goose Down\nSELECT 1;\n")}
}

func alphaBeta() (alpha, beta pg.Migrations) {
	alpha = pg.Migrations{Schema: "alpha", FS: fstest.MapFS{
		"00001_things.sql": migration(`CREATE TABLE alpha.things (id int PRIMARY KEY);`),
		"00002_name.sql":   migration(`ALTER TABLE alpha.things ADD COLUMN name text;`),
	}}
	beta = pg.Migrations{Schema: "beta", FS: fstest.MapFS{
		"00001_things.sql": migration(`CREATE TABLE beta.things (id int PRIMARY KEY);`),
	}}
	return alpha, beta
}

func exists(t *testing.T, pool *pgxpool.Pool, regclass string) bool {
	t.Helper()
	var ok bool
	if err := pool.QueryRow(context.Background(), `SELECT to_regclass($1) IS NOT NULL`, regclass).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func version(t *testing.T, pool *pgxpool.Pool, schema string) int64 {
	t.Helper()
	var v int64
	if err := pool.QueryRow(context.Background(), `SELECT max(version_id) FROM `+schema+`.goose_db_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func current(t *testing.T, pool *pgxpool.Pool, sets ...pg.Migrations) bool {
	t.Helper()
	ok, err := pg.Current(context.Background(), pool, sets...)
	if err != nil {
		t.Fatalf("Current: %v", err)
	}
	return ok
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	alpha, beta := alphaBeta()

	if current(t, pool, alpha, beta) {
		t.Fatal("Current before migrating = true")
	}
	if exists(t, pool, "alpha.goose_db_version") {
		t.Fatal("Current created a version table")
	}
	if err := pg.Migrate(ctx, pool, alpha, beta); err != nil {
		t.Fatal(err)
	}
	if v := version(t, pool, "alpha"); v != 2 {
		t.Errorf("alpha at version %d, want 2", v)
	}
	if v := version(t, pool, "beta"); v != 1 {
		t.Errorf("beta at version %d, want 1: each schema must have its own version table", v)
	}
	if !exists(t, pool, "alpha.things") || !exists(t, pool, "beta.things") {
		t.Error("migrated tables are missing")
	}
	if !current(t, pool, alpha, beta) {
		t.Error("Current after migrating = false")
	}
	if err := pg.Migrate(ctx, pool, alpha, beta); err != nil {
		t.Errorf("second Migrate: %v", err)
	}

	// A release that brings a new migration.
	alpha.FS.(fstest.MapFS)["00003_more.sql"] = migration(`CREATE TABLE alpha.more (id int);`)
	if current(t, pool, alpha, beta) {
		t.Error("Current with a new migration pending = true")
	}
	if err := pg.Migrate(ctx, pool, alpha); err != nil {
		t.Fatal(err)
	}
	if !exists(t, pool, "alpha.more") || !current(t, pool, alpha, beta) {
		t.Error("the new migration was not applied")
	}
}

// TestMigrateConcurrently starts several "processes" (pools of their own)
// migrating the same fresh database at once, as replicas do at start.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	pool, dbURL := dbtest.NewWithURL(t)
	alpha, beta := alphaBeta()
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			p, err := pg.Open(context.Background(), dbURL, pg.MaxConns(2))
			if err != nil {
				t.Error(err)
				return
			}
			defer p.Close()
			if err := pg.Migrate(context.Background(), p, alpha, beta); err != nil {
				t.Errorf("process %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	var applied int
	if err := pool.QueryRow(context.Background(),
		`SELECT count(*) FROM alpha.goose_db_version WHERE version_id = 1`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != 1 {
		t.Errorf("migration 1 recorded %d times, want 1", applied)
	}
}

func TestMigrateRejects(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	good := fstest.MapFS{"00001_x.sql": migration(`CREATE TABLE gamma.x (id int);`)}
	tests := []struct {
		name    string
		set     pg.Migrations
		wantErr string
	}{
		{"upper-case schema", pg.Migrations{Schema: "Gamma", FS: good}, "not a plain lower-case identifier"},
		{"quote in schema", pg.Migrations{Schema: `x"; DROP`, FS: good}, "not a plain lower-case identifier"},
		{"empty schema", pg.Migrations{FS: good}, "not a plain lower-case identifier"},
		{"no FS", pg.Migrations{Schema: "gamma"}, "has no files"},
		{"no migrations", pg.Migrations{Schema: "gamma", FS: fstest.MapFS{}}, "no migrations found"},
		{"broken SQL", pg.Migrations{Schema: "delta", FS: fstest.MapFS{
			"00001_ok.sql":  migration(`CREATE TABLE delta.ok (id int);`),
			"00002_bad.sql": migration(`CREATE TABLE delta.bad (id nosuchtype);`),
		}}, `schema "delta"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pg.Migrate(context.Background(), pool, tt.set)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Migrate = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	// The broken migration ran in a transaction: nothing of it is left, the
	// one before it stays applied, and the schema is not current.
	if exists(t, pool, "delta.bad") || !exists(t, pool, "delta.ok") {
		t.Error("a failed migration left partial results")
	}
	broken := tests[len(tests)-1].set
	if current(t, pool, broken) {
		t.Error("Current = true with a failed migration")
	}
}
