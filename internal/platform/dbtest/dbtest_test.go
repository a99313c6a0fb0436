package dbtest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saasplatform/saas/internal/platform/pg"
)

var demo = pg.Migrations{Schema: "demo", FS: fstest.MapFS{
	"00001_items.sql": {Data: []byte(`-- +goose Up
CREATE TABLE demo.items (id int PRIMARY KEY, name text NOT NULL);
-- +goose Down
DROP TABLE demo.items;
`)},
}}

func scalar[T any](t *testing.T, pool *pgxpool.Pool, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func TestMigrationsAreApplied(t *testing.T) {
	t.Parallel()
	pool := New(t, demo)
	if n := scalar[int64](t, pool, `SELECT max(version_id) FROM demo.goose_db_version`); n != 1 {
		t.Errorf("demo schema at version %d, want 1", n)
	}
	if !scalar[bool](t, pool, `SELECT to_regclass('demo.items') IS NOT NULL`) {
		t.Error("demo.items does not exist")
	}
	ok, err := pg.Current(context.Background(), pool, demo)
	if err != nil || !ok {
		t.Errorf("pg.Current = %v, %v; want true", ok, err)
	}
}

func TestDatabasesAreIsolated(t *testing.T) {
	t.Parallel()
	a, b := New(t, demo), New(t, demo)
	nameA := scalar[string](t, a, `SELECT current_database()`)
	nameB := scalar[string](t, b, `SELECT current_database()`)
	if nameA == nameB {
		t.Fatalf("both pools use database %s", nameA)
	}
	if _, err := a.Exec(context.Background(), `INSERT INTO demo.items VALUES (1, 'only in a')`); err != nil {
		t.Fatal(err)
	}
	if n := scalar[int64](t, a, `SELECT count(*) FROM demo.items`); n != 1 {
		t.Errorf("a has %d items, want 1", n)
	}
	if n := scalar[int64](t, b, `SELECT count(*) FROM demo.items`); n != 0 {
		t.Errorf("b has %d items, want 0: databases are not isolated", n)
	}
}

func TestURLPointsAtTheSameDatabase(t *testing.T) {
	t.Parallel()
	pool, dbURL := NewWithURL(t)
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var viaURL string
	if err := conn.QueryRow(context.Background(), `SELECT current_database()`).Scan(&viaURL); err != nil {
		t.Fatal(err)
	}
	if viaPool := scalar[string](t, pool, `SELECT current_database()`); viaURL != viaPool {
		t.Errorf("URL reaches %s, pool uses %s", viaURL, viaPool)
	}
}

func TestDatabaseIsDroppedAtCleanup(t *testing.T) {
	t.Parallel()
	observer := New(t) // pg_database is shared by all databases of a server
	var name string
	t.Run("inner", func(t *testing.T) {
		name = scalar[string](t, New(t, demo), `SELECT current_database()`)
	})
	if scalar[bool](t, observer, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name) {
		t.Errorf("database %s still exists after its test ended", name)
	}
}

func TestTemplateIsBuiltOnceAndWhole(t *testing.T) {
	t.Parallel()
	pool := New(t, demo)
	tmpl, err := templateName([]pg.Migrations{demo})
	if err != nil {
		t.Fatal(err)
	}
	if n := scalar[int64](t, pool, `SELECT count(*) FROM pg_database WHERE datname = $1`, tmpl); n != 1 {
		t.Errorf("%d databases named %s, want 1", n, tmpl)
	}
	if scalar[bool](t, pool, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tmpl+"_tmp") {
		t.Errorf("%s_tmp was left behind", tmpl)
	}
}

func TestTemplateNameFollowsContents(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	base := []pg.Migrations{{Schema: "a", FS: fstest.MapFS{"1_x.sql": file("x")}}}
	tests := []struct {
		name string
		sets []pg.Migrations
		same bool
	}{
		{"same contents", []pg.Migrations{{Schema: "a", FS: fstest.MapFS{"1_x.sql": file("x")}}}, true},
		{"non-SQL files are ignored", []pg.Migrations{{Schema: "a", FS: fstest.MapFS{"1_x.sql": file("x"), "README": file("hi")}}}, true},
		{"changed contents", []pg.Migrations{{Schema: "a", FS: fstest.MapFS{"1_x.sql": file("y")}}}, false},
		{"renamed file", []pg.Migrations{{Schema: "a", FS: fstest.MapFS{"2_x.sql": file("x")}}}, false},
		{"added file", []pg.Migrations{{Schema: "a", FS: fstest.MapFS{"1_x.sql": file("x"), "2_y.sql": file("y")}}}, false},
		{"other schema", []pg.Migrations{{Schema: "b", FS: fstest.MapFS{"1_x.sql": file("x")}}}, false},
		{"extra set", append([]pg.Migrations{{Schema: "b", FS: fstest.MapFS{}}}, base...), false},
		{"no boundary ambiguity", []pg.Migrations{{Schema: "a", FS: fstest.MapFS{"1_x.sq": file("lx")}}}, false},
	}
	want, err := templateName(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) > 63 {
		t.Fatalf("template name %q is longer than PostgreSQL's 63-byte limit", want)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := templateName(tt.sets)
			if err != nil {
				t.Fatal(err)
			}
			if (got == want) != tt.same {
				t.Errorf("templateName = %s, base = %s, want same=%v", got, want, tt.same)
			}
		})
	}
}

// TestUnreachableServerFails runs itself in a child process whose
// DATABASE_URL points at a closed port: New must fail the test with a clear
// message, never skip it.
func TestUnreachableServerFails(t *testing.T) {
	if os.Getenv("DBTEST_CHILD") == "1" {
		New(t)
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestUnreachableServerFails$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "DBTEST_CHILD=1",
		"DATABASE_URL=postgres://postgres:secret-pw@127.0.0.1:1/postgres?sslmode=disable")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child passed, want failure:\n%s", out)
	}
	for _, want := range []string{"--- FAIL: TestUnreachableServerFails", "cannot reach PostgreSQL at", "127.0.0.1:1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "secret-pw") || strings.Contains(string(out), "SKIP") {
		t.Errorf("child output leaks the password or skips:\n%s", out)
	}
}
