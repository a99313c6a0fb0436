package pg_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/problem"
)

func TestClassifyCodes(t *testing.T) {
	code := func(c string) error { return fmt.Errorf("store: %w", &pgconn.PgError{Code: c}) }
	already := problem.Conflict("already classified")
	plain := errors.New("plain")
	tests := []struct {
		name string
		err  error
		want problem.Kind
		same bool // returned unchanged
	}{
		{"no rows", fmt.Errorf("get: %w", pgx.ErrNoRows), problem.KindNotFound, false},
		{"unique violation", code("23505"), problem.KindConflict, false},
		{"exclusion violation", code("23P01"), problem.KindConflict, false},
		{"foreign key violation", code("23503"), problem.KindInvalid, false},
		{"check violation", code("23514"), problem.KindInvalid, false},
		{"invalid text representation", code("22P02"), problem.KindInvalid, false},
		{"string too long", code("22001"), problem.KindInvalid, false},
		{"serialization failure", code("40001"), problem.KindConflict, false},
		{"deadlock", code("40P01"), problem.KindConflict, false},
		{"admin shutdown", code("57P01"), problem.KindUnavailable, false},
		{"cannot connect now", code("57P03"), problem.KindUnavailable, false},
		{"connection failure", code("08006"), problem.KindUnavailable, false},
		{"closed connection", fmt.Errorf("q: %w", pgconn.ErrConnClosed), problem.KindUnavailable, false},
		{"connection closed by the server mid-message", fmt.Errorf("q: %w", io.ErrUnexpectedEOF), problem.KindUnavailable, false},
		{"connection closed by the server", fmt.Errorf("q: %w", io.EOF), problem.KindUnavailable, false},
		{"not null violation stays a bug", code("23502"), problem.KindInternal, true},
		{"syntax error", code("42601"), problem.KindInternal, true},
		{"query deadline", fmt.Errorf("q: %w", context.DeadlineExceeded), problem.KindInternal, true},
		{"plain error", plain, problem.KindInternal, true},
		{"already a problem", already, problem.KindConflict, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pg.Classify(tt.err)
			if k := problem.KindOf(got); k != tt.want {
				t.Errorf("kind %v, want %v", k, tt.want)
			}
			if (got == tt.err) != tt.same {
				t.Errorf("returned unchanged = %v, want %v", got == tt.err, tt.same)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("the cause was lost: %v", got)
			}
		})
	}
	if pg.Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
}

func TestClassifyRealViolations(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `
		CREATE TABLE parent (id int PRIMARY KEY);
		CREATE TABLE child (
			id int PRIMARY KEY,
			parent_id int REFERENCES parent,
			name text CONSTRAINT child_name_key UNIQUE,
			qty int CONSTRAINT child_qty_positive CHECK (qty > 0));
		INSERT INTO parent VALUES (1);
		INSERT INTO child VALUES (1, 1, 'taken', 1);`)
	if err != nil {
		t.Fatal(err)
	}
	store := pg.Constraints{
		"child_name_key":         problem.Conflict("a child with this name already exists"),
		"child_parent_id_fkey":   problem.NotFound("the parent does not exist"),
		"child_qty_positive":     problem.Field("body.qty", "must be positive"),
		"constraint_not_present": nil, // a nil entry is ignored, not dereferenced
	}
	tests := []struct {
		name       string
		sql        string
		want       problem.Kind
		wantDetail string
	}{
		{"mapped unique", `INSERT INTO child VALUES (2, 1, 'taken', 1)`, problem.KindConflict, "a child with this name already exists"},
		{"unmapped unique (primary key)", `INSERT INTO child VALUES (1, 1, 'other', 1)`, problem.KindConflict, "a resource with these values already exists"},
		{"mapped foreign key", `INSERT INTO child VALUES (3, 99, 'x', 1)`, problem.KindNotFound, "the parent does not exist"},
		{"mapped check", `INSERT INTO child VALUES (4, 1, 'y', 0)`, problem.KindInvalid, "the request is invalid"},
		{"data exception", `SELECT 'nan-number'::int`, problem.KindInvalid, "a value in the request is not acceptable"},
		{"no rows", `SELECT id FROM child WHERE id = -1`, problem.KindNotFound, "the resource was not found"},
		{"syntax error is internal", `SELEC 1`, problem.KindInternal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var id int
			err := pool.QueryRow(ctx, tt.sql).Scan(&id)
			if err == nil {
				t.Fatal("statement succeeded")
			}
			got := store.Classify(err)
			if k := problem.KindOf(got); k != tt.want {
				t.Fatalf("kind %v, want %v (%v)", k, tt.want, err)
			}
			var pe *problem.Error
			if errors.As(got, &pe) && pe.Detail != tt.wantDetail {
				t.Errorf("detail %q, want %q", pe.Detail, tt.wantDetail)
			}
			if !errors.Is(got, err) {
				t.Error("the cause was lost")
			}
		})
	}
	// The map's errors are templates: classifying must not change them.
	if store["child_name_key"].Err != nil {
		t.Error("Classify mutated the Constraints map")
	}
}

func TestClassifyTerminatedConnection(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var pid uint32
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `SELECT 1`)
	if err == nil {
		t.Fatal("query on a terminated connection succeeded")
	}
	if k := problem.KindOf(pg.Classify(err)); k != problem.KindUnavailable {
		t.Errorf("kind %v for %v, want unavailable", k, err)
	}
}
