package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/saasplatform/saas/internal/platform/dbtest"
)

// schemaOf is the PostgreSQL schema a service's migrations create (its
// pg.Migrations.Schema: the name without hyphens).
func schemaOf(service string) string { return strings.ReplaceAll(service, "-", "") }

// roles.sql on a real PostgreSQL: each service's group may read and write
// its own schema and the shared platform schema, run the CREATE SCHEMA IF
// NOT EXISTS that `saas serve` issues at start, and nothing else: no other
// service's data, no DDL, no TRUNCATE. Everything happens in one transaction
// that is rolled back, roles included, so the server is left as it was.
func TestDatabaseRolesSeparateServices(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t) // an empty database
	script := readFile(t, filepath.Join("k8s", "base", "database", "roles.sql"))

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// try runs sql in a savepoint and reports its SQLSTATE ("" for success).
	try := func(sql string) string {
		t.Helper()
		exec("SAVEPOINT probe")
		_, err := tx.Exec(ctx, sql)
		if err == nil {
			exec("RELEASE SAVEPOINT probe")
			return ""
		}
		exec("ROLLBACK TO SAVEPOINT probe")
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			t.Fatalf("%s: %v", sql, err)
		}
		return pgErr.Code
	}

	var super bool
	if err := tx.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil || !super {
		t.Fatalf("the test database user must be a superuser to create roles (%v)", err)
	}
	exec(script)
	exec(script) // idempotent

	// Every schema a service migrates (schema/<name>/) is one roles.sql
	// prepares, with a group to use it.
	dirs, err := os.ReadDir(filepath.Join("..", "schema"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, s := range services {
		known[schemaOf(s)] = true
	}
	for _, d := range dirs {
		if d.IsDir() && !known[d.Name()] {
			t.Errorf("schema/%s/ belongs to no service this test knows; add the service to roles.sql and to services", d.Name())
		}
	}

	// Tables as the migrations make them: owned by saas_owner.
	exec("SET LOCAL ROLE saas_owner")
	for _, schema := range append([]string{"platform"}, schemaOfAll()...) {
		exec(fmt.Sprintf("CREATE TABLE %s.probe (id bigserial PRIMARY KEY, v int)", pgx.Identifier{schema}.Sanitize()))
	}
	exec("RESET ROLE")

	for _, s := range services {
		group := "saas_" + dbLogin(s)
		own := pgx.Identifier{schemaOf(s)}.Sanitize()
		exec("SET LOCAL ROLE " + pgx.Identifier{group}.Sanitize())
		for _, sql := range []string{
			"INSERT INTO " + own + ".probe (v) VALUES (1)",
			"UPDATE " + own + ".probe SET v = 2",
			"SELECT count(*) FROM " + own + ".probe",
			"DELETE FROM " + own + ".probe",
			"INSERT INTO platform.probe (v) VALUES (1)",
		} {
			if code := try(sql); code != "" {
				t.Errorf("%s: %s: SQLSTATE %s, want success", group, sql, code)
			}
		}
		denied := []string{
			"DROP TABLE " + own + ".probe",
			"CREATE TABLE " + own + ".extra (i int)",
			"TRUNCATE " + own + ".probe",
			"ALTER TABLE platform.probe ADD COLUMN w int",
			"CREATE SCHEMA squat",
		}
		for _, other := range services {
			if other != s {
				denied = append(denied, "SELECT count(*) FROM "+pgx.Identifier{schemaOf(other)}.Sanitize()+".probe")
			}
		}
		for _, sql := range denied {
			if code := try(sql); code != "42501" {
				t.Errorf("%s: %s: SQLSTATE %q, want 42501 (insufficient privilege)", group, sql, code)
			}
		}
		exec("RESET ROLE")
	}
}

func schemaOfAll() []string {
	var out []string
	for _, s := range services {
		out = append(out, schemaOf(s))
	}
	return out
}

// logins.sh is valid bash and makes each service's login a member of the
// group roles.sql creates for it.
func TestLoginsScript(t *testing.T) {
	file := filepath.Join("k8s", "base", "database", "logins.sh")
	script := readFile(t, file)
	if bash, err := exec.LookPath("bash"); err == nil {
		if out, err := exec.Command(bash, "-n", file).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", file, err, out)
		}
	}
	if info, err := os.Stat(file); err != nil || info.Mode()&0o111 == 0 {
		t.Errorf("%s must be executable (the postgres image runs it rather than sourcing it into its entrypoint)", file)
	}
	roles := readFile(t, filepath.Join("k8s", "base", "database", "roles.sql"))
	for _, s := range services {
		pair := fmt.Sprintf("('%s', 'saas_%s')", dbLogin(s), dbLogin(s))
		if !strings.Contains(script, pair) {
			t.Errorf("logins.sh does not create login %s in group saas_%s", dbLogin(s), dbLogin(s))
		}
		if !strings.Contains(roles, "'saas_"+dbLogin(s)+"'") {
			t.Errorf("roles.sql does not create group saas_%s", dbLogin(s))
		}
		env := "SAAS_DB_" + strings.ToUpper(dbLogin(s)) + "_PASSWORD"
		if !strings.Contains(script, env) {
			t.Errorf("logins.sh does not read %s", env)
		}
	}
}
